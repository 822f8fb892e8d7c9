import path from "node:path";

/**
 * Where the embedded defaults keep their files (idempotency records, audit log):
 * `$TOOLGATE_DATA_DIR`, or `.toolgate` in the working directory.
 */
export function dataDir(env: NodeJS.ProcessEnv = process.env): string {
  const configured = env["TOOLGATE_DATA_DIR"];
  return configured === undefined || configured === "" ? ".toolgate" : configured;
}

export function dataFile(name: string, env: NodeJS.ProcessEnv = process.env): string {
  return path.join(dataDir(env), name);
}
