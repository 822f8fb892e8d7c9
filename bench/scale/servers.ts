// The servers of the scale curves (bench/scale.ts), started in a child process by
// bench/perf-server.ts like the comparison's contenders (same IPC, same CPU accounting).
// Each imports toolgate's modules itself, so a child holds only what its curve needs.
import * as z from "zod";
import type * as toolgate from "../../src/index.js";
import { READ_SCOPE, type ScaleServerConfig, type ScaleStoreSpec } from "../perf-shared.js";
import { echoTool, listening, recordTool, type Running } from "../bench-tools.js";

type Toolgate = typeof toolgate;

/** The payload curve's tool: rows in, the same rows out (validated both ways, audited). */
const payloadTool = (tg: Toolgate, scopes: string[]) => {
  const items = z.array(z.object({ id: z.number().int(), text: z.string() }));
  return tg.defineTool({
    name: "payload",
    version: "1.0.0",
    description: "Returns its rows.",
    input: z.object({ items }),
    output: z.object({ items }),
    scopes,
    sideEffect: "read",
    handler: ({ items }) => ({ items }),
  });
};

async function storeOf(spec: ScaleStoreSpec) {
  switch (spec.type) {
    case "sqlite":
      return (await import("../../src/stores/index.js")).sqliteStore({ path: spec.file });
    case "redis":
      return (await import("../../src/stores/redis-store.js")).redisStore(
        { url: spec.url },
        { keyPrefix: spec.keyPrefix },
      );
    case "postgres":
      return (await import("../../src/stores/postgres-store.js")).postgresStore(
        { connectionString: spec.url },
        { table: spec.table },
      );
  }
}

export async function startScaleServer(config: ScaleServerConfig): Promise<Running> {
  const [tg, { silentLogger }, { sqliteAuditSink }] = await Promise.all([
    import("../../src/index.js"),
    import("../../src/server/index.js"),
    import("../../src/audit/index.js"),
  ]);
  const logger = silentLogger();
  const audit = (file: string) => ({ sinks: [sqliteAuditSink({ path: file })] });
  const base = { name: "bench-scale", version: "1.0.0", logger };
  switch (config.kind) {
    case "scale-jwt":
      return listening(
        tg.createToolServer({
          ...base,
          tools: [echoTool(tg, "echo", [READ_SCOPE])],
          // Every other option at its default: the principal cache (10 000 entries, 60 s),
          // the JWKS cache, the 3600 s lifetime cap.
          auth: tg.jwtVerifier({
            issuer: config.issuer,
            audience: config.audience,
            jwksUrl: config.jwksUrl,
            algorithms: ["RS256"],
          }),
          audit: audit(config.auditFile),
        }),
      );
    case "scale-tools": {
      const issuer = await tg.devIssuer({ keyFile: config.keyFile });
      const tools = Array.from({ length: config.count }, (_, i) =>
        echoTool(tg, `tool_${String(i).padStart(5, "0")}`, [READ_SCOPE]),
      );
      return listening(
        tg.createToolServer({
          ...base,
          tools,
          auth: issuer.verifier(),
          audit: audit(config.auditFile),
        }),
      );
    }
    case "scale-store": {
      const issuer = await tg.devIssuer({ keyFile: config.keyFile });
      const store = await storeOf(config.store);
      const record = recordTool(tg);
      const limited = tg.defineTool({
        name: "limited",
        version: "1.0.0",
        description: "Returns its message, within a budget.",
        input: z.object({ message: z.string() }),
        output: z.object({ message: z.string() }),
        scopes: [READ_SCOPE],
        sideEffect: "read",
        // One bucket per call, never exhausted: the cost of counting, not of refusing.
        rateLimit: { perPrincipal: "1000000/s" },
        handler: ({ message }) => ({ message }),
      });
      const server = tg.createToolServer({
        ...base,
        tools: [record, limited],
        auth: issuer.verifier(),
        store,
        audit: audit(config.auditFile),
      });
      const running = await listening(server);
      return {
        url: running.url,
        async close() {
          await running.close();
          await store.close();
        },
      };
    }
    case "scale-payload": {
      const issuer = await tg.devIssuer({ keyFile: config.keyFile });
      return listening(
        tg.createToolServer({
          ...base,
          tools: [payloadTool(tg, [READ_SCOPE])],
          auth: issuer.verifier(),
          audit: audit(config.auditFile),
          http: { maxBodyBytes: config.maxBodyBytes },
        }),
      );
    }
    case "scale-payload-upstream":
      return listening(
        tg.createToolServer({
          ...base,
          tools: [payloadTool(tg, [])],
          audit: false,
          http: { maxBodyBytes: config.maxBodyBytes },
        }),
      );
    case "scale-payload-gateway": {
      const [{ createGateway }, { sqliteStore }] = await Promise.all([
        import("../../src/gateway/index.js"),
        import("../../src/stores/index.js"),
      ]);
      const issuer = await tg.devIssuer({ keyFile: config.keyFile });
      return listening(
        await createGateway({
          name: "bench-gateway",
          upstreams: { up: { url: config.upstreamUrl } },
          pinning: { lockFile: config.lockFile },
          auth: issuer.verifier(),
          store: sqliteStore({ path: config.storeFile }),
          audit: audit(config.auditFile),
          logger,
          http: { maxBodyBytes: config.maxBodyBytes },
          maxResultBytes: config.maxResultBytes,
        }),
      );
    }
  }
}
