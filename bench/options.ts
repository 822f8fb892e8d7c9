// Command-line options of `npm run bench` (bench/performance.ts and its scale curves):
// a flag `--name=value` (or a bare `--name`) wins over the environment variable.

/** `--name=value` → "value", a bare `--name` → "", absent → the environment variable. */
export function rawOption(name: string, envName: string): string | undefined {
  const arg = process.argv.find((a) => a === `--${name}` || a.startsWith(`--${name}=`));
  if (arg !== undefined) return arg.slice(name.length + 3);
  return process.env[envName];
}

export function numberOption(name: string, envName: string, fallback: number): number {
  const raw = rawOption(name, envName);
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0) throw new TypeError(`--${name}: not a number: ${raw}`);
  return value;
}

/** A comma-separated list (`--only=a,b`), or undefined when not given. */
export function listOption(name: string, envName: string): string[] | undefined {
  return rawOption(name, envName)
    ?.split(",")
    .map((s) => s.trim())
    .filter(Boolean);
}

/** Concurrent connections of every load run (the comparison's and the scale curves'). */
export const CONNECTIONS = Math.max(
  1,
  Math.round(numberOption("connections", "BENCH_CONNECTIONS", 10)),
);
