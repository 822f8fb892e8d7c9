// Types for test-services.mjs, which the unit tests import.
export interface Service {
  readonly name: string;
  readonly variable: string;
  readonly defaultUrl: string;
  readonly probe: (url: string, timeoutMs?: number) => Promise<string | undefined>;
}
export declare const SERVICES: readonly Service[];
export declare function isOff(value: string | undefined): boolean;
export declare function probePostgres(url: string, timeoutMs?: number): Promise<string | undefined>;
export declare function probeRedis(url: string, timeoutMs?: number): Promise<string | undefined>;
export declare function detectServices(
  env: Record<string, string | undefined>,
  timeoutMs?: number,
): Promise<string[]>;
