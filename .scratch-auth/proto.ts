import { jwtVerifier } from "../src/index.js";
import { startStub, sendJson } from "../test/auth/helpers/stub-server.js";
import { makeKey, claims, sign } from "../test/auth/helpers/tokens.js";
import { createAuthTools } from "../test/fixtures/auth-tools.js";
import { freePort, startServerOn, connectClientWithHeaders } from "../test/helpers/server.js";
import { memoryLogger } from "../test/unit/helpers/memory-logger.js";

const rsa = await makeKey("RS256", "rsa-1");
const jwks = await startStub("/jwks", (_r, res) => sendJson(res, 200, { keys: [rsa.jwk] }));
const port = await freePort();
const url = `http://127.0.0.1:${port}/mcp`;
const ISS = "https://auth.example.test";
const { tools, probes } = createAuthTools();
const mem = memoryLogger();
for (const stepUp of [false, true]) {
const p = await freePort();
const u = `http://127.0.0.1:${p}/mcp`;
const verifier = jwtVerifier({ issuer: ISS, audience: u, jwksUrl: jwks.url, jwksCooldownMs: 100 });
const running = await startServerOn(p, tools, { auth: { verifier, stepUp }, logger: mem.log, http: { sessions: true } });
for (const mode of ["legacy", "auto"] as const) {
  const tok = await sign(rsa, claims({ iss: ISS, aud: u, scope: "orders:read" }));
  const c = await connectClientWithHeaders(running.url, mode, { authorization: `Bearer ${tok}` });
  console.log(mode, stepUp, c.client.getNegotiatedProtocolVersion(), c.transport.sessionId);
  console.log(JSON.stringify(await c.client.listTools()).slice(0, 200));
  console.log(JSON.stringify(await c.client.callTool({ name: "whoami", arguments: {} })).slice(0, 400));
  try { console.log(JSON.stringify(await c.client.callTool({ name: "refund_order", arguments: { id: "x" } }))); } catch (e) { console.log("ERR", e); }
  await c.close();
  try {
    await connectClientWithHeaders(running.url, mode, { authorization: `Bearer xx${tok}` });
  } catch (e) { console.log("connect bad", String(e), (e as any).constructor.name); }
  try {
    await connectClientWithHeaders(running.url, mode, {});
  } catch (e) { console.log("connect none", String(e)); }
}
await running.close();
}
console.log(probes.ran);
console.log(mem.lines().map(l => JSON.stringify(l)).join("\n").slice(0, 3000));
await jwks.close();
