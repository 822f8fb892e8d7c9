// The tools every toolgate server of the bench serves (the comparison's contenders in
// perf-server.ts, the scale curves' servers in scale/servers.ts), and how each listens:
// one definition, so the contenders and the curves measure the same tools.
import * as z from "zod";
import type * as toolgate from "../src/index.js";
import { WRITE_SCOPE } from "./perf-shared.js";

type Toolgate = Pick<typeof toolgate, "defineTool">;

export interface Running {
  readonly url: string;
  close(): Promise<void>;
}

/** `echo({ message }) -> { message }`, a read: the trivial tool every contender serves. */
export const echoTool = (tg: Toolgate, name: string, scopes: string[]) =>
  tg.defineTool({
    name,
    version: "1.0.0",
    description: "Returns its message.",
    input: z.object({ message: z.string() }),
    output: z.object({ message: z.string() }),
    scopes,
    sideEffect: "read",
    handler: ({ message }) => ({ message }),
  });

/** `record({ message })`, a write: idempotent (the default), every call claims its key. */
export const recordTool = (tg: Toolgate) =>
  tg.defineTool({
    name: "record",
    version: "1.0.0",
    description: "Records its message.",
    input: z.object({ message: z.string() }),
    output: z.object({ message: z.string() }),
    scopes: [WRITE_SCOPE],
    sideEffect: "write",
    handler: ({ message }) => ({ message }),
  });

/** A toolgate server listening on 127.0.0.1, a free port. */
export async function listening(server: {
  listen(options: { port: number; host: string }): Promise<{ url: string }>;
  close(): Promise<void>;
}): Promise<Running> {
  const { url } = await server.listen({ port: 0, host: "127.0.0.1" });
  return { url, close: () => server.close() };
}
