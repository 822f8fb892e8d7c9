// A `fetch` for the SDK transports that records every HTTP request the client really
// sends (method, JSON-RPC method, tool name, bearer token, session, status) and emits
// "response" for each, so a test can wait for an answer instead of sleeping.
import { EventEmitter } from "node:events";

export interface RecordedRequest {
  httpMethod: string;
  /** The JSON-RPC method of a POST (first message of a batch). */
  rpcMethod?: string;
  /** `params.name` of a tools/call. */
  tool?: string;
  /** The bearer token it carried. */
  token?: string;
  sessionId?: string;
  status?: number;
}

export interface HttpRecorder {
  fetch: (input: string | URL, init?: RequestInit) => Promise<Response>;
  requests: RecordedRequest[];
  /** The tools/call requests (of `tool`, when named). */
  toolCalls(tool?: string): RecordedRequest[];
  /** Emits "response" with each `RecordedRequest` once its status is known. */
  events: EventEmitter;
}

export function httpRecorder(): HttpRecorder {
  const requests: RecordedRequest[] = [];
  const events = new EventEmitter();
  return {
    requests,
    events,
    toolCalls: (tool) =>
      requests.filter(
        (r) => r.rpcMethod === "tools/call" && (tool === undefined || r.tool === tool),
      ),
    async fetch(input, init) {
      const headers = new Headers(init?.headers);
      const record: RecordedRequest = { httpMethod: init?.method ?? "GET" };
      const authorization = headers.get("authorization");
      if (authorization?.startsWith("Bearer ")) record.token = authorization.slice(7);
      const sessionId = headers.get("mcp-session-id");
      if (sessionId) record.sessionId = sessionId;
      if (typeof init?.body === "string") {
        const [message] = [JSON.parse(init.body) as unknown].flat() as {
          method?: string;
          params?: { name?: unknown };
        }[];
        if (message?.method) record.rpcMethod = message.method;
        if (typeof message?.params?.name === "string") record.tool = message.params.name;
      }
      requests.push(record);
      const response = await fetch(input, init);
      record.status = response.status;
      events.emit("response", record);
      return response;
    },
  };
}
