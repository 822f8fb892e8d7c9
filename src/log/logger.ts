import { pino, type Logger as PinoLogger } from "pino";

/** The logger toolgate writes to: pino's API (info/warn/error/child). */
export type Logger = PinoLogger;

/**
 * Default logger: JSON lines on stderr. Stderr, not stdout, because on the stdio
 * transport stdout carries the protocol and one stray log line corrupts it.
 */
export function createLogger(options: { level?: string; name?: string } = {}): Logger {
  return pino(
    {
      name: options.name ?? "toolgate",
      level: options.level ?? process.env["TOOLGATE_LOG_LEVEL"] ?? "info",
      // Error objects are serialized with their stack for the server log only.
      serializers: { err: pino.stdSerializers.err },
    },
    pino.destination({ dest: 2, sync: false }),
  );
}

/** A logger that drops everything: for tests and embedding. */
export function silentLogger(): Logger {
  return pino({ level: "silent" });
}
