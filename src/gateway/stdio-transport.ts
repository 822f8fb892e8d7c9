// The SDK client's transport to a stdio upstream, with a bound on one message. It does what
// the SDK's StdioClientTransport does (spawn with a minimal environment, newline-delimited
// JSON-RPC, stdin end -> SIGTERM -> SIGKILL on close), except reading: a line longer than
// `maxMessageBytes` is discarded as it streams (bounded-lines.ts), and the request it
// answered fails with an error that carries RESULT_TOO_LARGE (upstream.ts turns it into
// UpstreamResultTooLarge). The child keeps running and every other call carries on; the
// SDK's own reader closes the whole transport instead (and only past 10 MiB).
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { PassThrough } from "node:stream";
import {
  deserializeMessage,
  serializeMessage,
  type JSONRPCMessage,
  type Transport,
} from "@modelcontextprotocol/client";
import { getDefaultEnvironment } from "@modelcontextprotocol/client/stdio";
import { BoundedLineReader, type OversizedLine } from "./bounded-lines.js";

/** `error.data` key of the error a too-large answer fails its request with. */
export const RESULT_TOO_LARGE = "toolgate/resultTooLarge";
// JSON-RPC internal error: the code matters less than the data key, which only we set.
const INTERNAL_ERROR = -32603;
/** How long each step of closing (stdin end, SIGTERM) may take before the next. */
const CLOSE_STEP_MS = 2_000;

export interface BoundedStdioOptions {
  readonly command: string;
  readonly args?: readonly string[];
  /** Added to the SDK's default inherited variables (PATH, HOME, ...). */
  readonly env?: Readonly<Record<string, string>>;
  readonly cwd?: string;
  readonly maxMessageBytes: number;
  /** Told about every discarded message (for the log). */
  readonly onOversized?: (line: OversizedLine) => void;
}

export class BoundedStdioTransport implements Transport {
  onclose?: (() => void) | undefined;
  onerror?: ((error: Error) => void) | undefined;
  onmessage?: ((message: JSONRPCMessage) => void) | undefined;
  /** The child's stderr, available before start (the SDK transport's `stderr: "pipe"`). */
  readonly stderr = new PassThrough();
  #child: ChildProcess | undefined;
  readonly #reader: BoundedLineReader;
  /** Ids of requests sent and not answered yet: only those can be failed on our side. */
  readonly #pending = new Set<number | string>();

  constructor(private readonly options: BoundedStdioOptions) {
    this.#reader = new BoundedLineReader(options.maxMessageBytes, {
      line: (text) => this.#line(text),
      oversized: (line) => this.#oversized(line),
    });
  }

  get pid(): number | null {
    return this.#child?.pid ?? null;
  }

  start(): Promise<void> {
    if (this.#child) throw new Error("BoundedStdioTransport already started.");
    const { command, args, env, cwd } = this.options;
    return new Promise((resolve, reject) => {
      const child = spawn(command, [...(args ?? [])], {
        env: { ...getDefaultEnvironment(), ...env },
        stdio: ["pipe", "pipe", "pipe"],
        shell: false,
        ...(cwd === undefined ? {} : { cwd }),
      });
      this.#child = child;
      child.on("error", (error) => {
        reject(error);
        this.onerror?.(error);
      });
      child.on("spawn", () => resolve());
      child.on("close", () => {
        this.#child = undefined;
        this.#reader.clear();
        this.#pending.clear();
        this.onclose?.();
      });
      child.stdin?.on("error", (error) => this.onerror?.(error));
      child.stdout?.on("data", (chunk: Buffer) => this.#reader.push(chunk));
      child.stdout?.on("error", (error) => this.onerror?.(error));
      child.stderr?.pipe(this.stderr);
    });
  }

  send(message: JSONRPCMessage): Promise<void> {
    const stdin = this.#child?.stdin;
    if (!stdin || stdin.destroyed) return Promise.reject(new Error("Not connected"));
    if ("method" in message && "id" in message) this.#pending.add(message.id);
    return new Promise((resolve) => {
      if (stdin.write(serializeMessage(message))) resolve();
      else stdin.once("drain", resolve);
    });
  }

  async close(): Promise<void> {
    const child = this.#child;
    if (!child) return;
    this.#child = undefined;
    const closed = once(child, "close").then(() => true);
    const step = () =>
      new Promise<boolean>((resolve) => setTimeout(resolve, CLOSE_STEP_MS, false).unref());
    child.stdin?.end();
    if (await Promise.race([closed, step()])) return;
    child.kill("SIGTERM");
    if (await Promise.race([closed, step()])) return;
    child.kill("SIGKILL");
  }

  #line(text: string): void {
    let message: JSONRPCMessage;
    try {
      message = deserializeMessage(text);
    } catch (error) {
      // Not JSON (a stray print): skipped, as the SDK does. A JSON shape error is reported.
      if (!(error instanceof SyntaxError)) this.onerror?.(error as Error);
      return;
    }
    if (!("method" in message) && "id" in message && message.id !== undefined)
      this.#pending.delete(message.id);
    this.onmessage?.(message);
  }

  #oversized(line: OversizedLine): void {
    this.options.onOversized?.(line);
    const { id } = line;
    if (id === undefined || !this.#pending.delete(id)) return;
    this.onmessage?.({
      jsonrpc: "2.0",
      id,
      error: {
        code: INTERNAL_ERROR,
        message: `The answer is larger than ${this.options.maxMessageBytes} bytes.`,
        data: { [RESULT_TOO_LARGE]: { limitBytes: this.options.maxMessageBytes } },
      },
    });
  }
}
