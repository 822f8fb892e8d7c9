import { jwtVerifier } from "../src/index.js";
import { startStub, sendJson } from "../test/auth/helpers/stub-server.js";
import { makeKey, claims, sign, nowSec } from "../test/auth/helpers/tokens.js";
import { createAuthTools } from "../test/fixtures/auth-tools.js";
import { freePort, startServerOn } from "../test/helpers/server.js";
import { rawRequest, MCP_HEADERS, toolsCall, jsonRpc } from "../test/helpers/http.js";
const rsa = await makeKey("RS256", "rsa-1");
const jwks = await startStub("/jwks", (_r, res) => sendJson(res, 200, { keys: [rsa.jwk] }));
const p = await freePort(); const u = `http://127.0.0.1:${p}/mcp`;
const ISS = "https://auth.example.test";
const { tools, probes } = createAuthTools();
const verifier = jwtVerifier({ issuer: ISS, audience: u, jwksUrl: jwks.url });
const running = await startServerOn(p, tools, { auth: verifier });
const tok = await sign(rsa, claims({ iss: ISS, aud: u, scope: "orders:read", iat: nowSec() - 60, exp: nowSec() - 5 }));
for (const body of [toolsCall("list_orders", {}), jsonRpc("tools/list")]) {
  const r = await rawRequest({ port: p, headers: { ...MCP_HEADERS, authorization: `Bearer ${tok}` }, body });
  console.log(r.status, r.headers["www-authenticate"], r.body.slice(0, 400));
}
console.log(probes.ran);
await running.close(); await jwks.close();
