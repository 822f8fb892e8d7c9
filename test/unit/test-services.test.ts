// The runner's detection of local PostgreSQL and Redis (scripts/test-services.mjs): a closed
// port or a server that never answers is "not found" within the timeout, a real service is
// found, and "off" switches a service off without probing it.
import assert from "node:assert/strict";
import { createServer, type Server, type Socket } from "node:net";
import { after, before, describe, it } from "node:test";
import { detectServices, isOff, probePostgres, probeRedis } from "../../scripts/test-services.mjs";

const probes = { PostgreSQL: probePostgres, Redis: probeRedis };
const schemes = { PostgreSQL: "postgres", Redis: "redis" };

/** A port with nothing listening: listen on 0, then close. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe("test service detection", () => {
  let silent: Server;
  let silentPort = 0;
  const sockets = new Set<Socket>();
  before(async () => {
    // Accepts connections and never says a word: an open port is not a working service.
    silent = createServer((socket) => {
      sockets.add(socket);
      socket.on("error", () => undefined);
    });
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    silentPort = (silent.address() as { port: number }).port;
  });
  after(async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => silent.close(() => resolve()));
  });

  for (const [name, probe] of Object.entries(probes)) {
    const scheme = schemes[name as keyof typeof schemes];

    it(`${name}: a closed port is not found, at once`, async () => {
      const started = Date.now();
      const why = await probe(`${scheme}://127.0.0.1:${await closedPort()}/0`, 2_000);
      assert.match(why ?? "found", /ECONNREFUSED|connect/i);
      assert.ok(Date.now() - started < 1_500, `took ${Date.now() - started} ms`);
    });

    it(`${name}: a port that accepts but never answers is not found, within the timeout`, async () => {
      const started = Date.now();
      const why = await probe(`${scheme}://127.0.0.1:${silentPort}/0`, 300);
      assert.equal(typeof why, "string");
      assert.ok(Date.now() - started < 1_500, `took ${Date.now() - started} ms`);
    });
  }

  const pgUrl = process.env["TOOLGATE_TEST_POSTGRES_URL"];
  it(
    "PostgreSQL: the test server is found",
    { skip: pgUrl ? false : "no PostgreSQL" },
    async () => {
      assert.equal(await probePostgres(pgUrl!), undefined);
    },
  );
  const redisUrl = process.env["TOOLGATE_TEST_REDIS_URL"];
  it("Redis: the test server is found", { skip: redisUrl ? false : "no Redis" }, async () => {
    assert.equal(await probeRedis(redisUrl!), undefined);
  });

  it('"off" and "" switch a service off (the variable is removed) without probing', async () => {
    const env: Record<string, string | undefined> = {
      TOOLGATE_TEST_POSTGRES_URL: "off",
      TOOLGATE_TEST_REDIS_URL: "",
    };
    const lines = await detectServices(env);
    assert.deepEqual(env, {});
    assert.equal(lines.length, 2);
    for (const line of lines) assert.match(line, /^off: /);
    assert.equal(isOff(" OFF "), true);
    assert.equal(isOff("redis://127.0.0.1:6379/15"), false);
    assert.equal(isOff(undefined), false);
  });

  it("a variable that names a server is left alone", async () => {
    const env = {
      TOOLGATE_TEST_REDIS_URL: "redis://127.0.0.1:1/15",
      TOOLGATE_TEST_POSTGRES_URL: "x",
    };
    assert.deepEqual(await detectServices({ ...env }), []);
  });
});
