// A real HTTP server on 127.0.0.1:0 standing in for an authorization server's JWKS or
// introspection endpoint. Tests change `respond` between calls and count `requests`.
import { createServer, type IncomingHttpHeaders, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/** Answers one request. Not ending `res` leaves the client hanging until its timeout. */
export type Responder = (req: RecordedRequest, res: ServerResponse) => void;

export interface StubServer {
  readonly url: string;
  readonly requests: RecordedRequest[];
  respond: Responder;
  close(): Promise<void>;
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = typeof body === "string" ? body : JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json" }).end(text);
}

export async function startStub(path: string, respond: Responder): Promise<StubServer> {
  const requests: RecordedRequest[] = [];
  const stub = { respond };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const recorded: RecordedRequest = {
        method: req.method ?? "",
        path: req.url ?? "",
        headers: req.headers,
        body: Buffer.concat(chunks).toString("utf8"),
      };
      requests.push(recorded);
      stub.respond(recorded, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  let closed = false;
  return {
    url: `http://127.0.0.1:${port}${path}`,
    requests,
    get respond() {
      return stub.respond;
    },
    set respond(value: Responder) {
      stub.respond = value;
    },
    close: async () => {
      if (closed) return;
      closed = true;
      // Hanging requests and keep-alive sockets would otherwise hold close() open.
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A URL on which nothing listens: a server is started, its port noted, and closed. */
export async function deadUrl(path: string): Promise<string> {
  const stub = await startStub(path, (_req, res) => res.end());
  await stub.close();
  return stub.url;
}
