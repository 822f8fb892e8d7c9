// The development issuer's key material: one ES256 key pair in a JSON file that is
// created on first use, readable only by its owner, and never part of the repository.
import { randomUUID } from "node:crypto";
import { link, mkdir, open, readFile, rename, unlink } from "node:fs/promises";
import path from "node:path";
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK } from "jose";
import type { CryptoKey, JWK, JWK_EC_Private, JWK_EC_Public } from "jose";

/** Where the key file lives unless told otherwise, relative to the working directory. */
export const DEFAULT_DEV_KEY_FILE = ".toolgate/dev-issuer.json";

/**
 * The `iss` of every dev token. A fixed string rather than a server URL so tokens minted
 * by the CLI stay valid whichever port the server picks; it is never fetched.
 */
export const DEV_ISSUER = "http://127.0.0.1/toolgate-dev-issuer";

/** What the key file holds. */
export interface DevKeyFile {
  issuer: string;
  kid: string;
  privateJwk: JWK_EC_Private;
  publicJwk: JWK_EC_Public;
  /** The audience a server last registered, so `toolgate token` can default to it. */
  audience?: string;
}

/** The key file, parsed, checked and with its keys imported. */
export interface DevKeys {
  readonly file: string;
  readonly issuer: string;
  readonly kid: string;
  readonly privateKey: CryptoKey;
  /** Public members only, with `kid`, `alg` and `use` set. */
  readonly publicJwk: Readonly<JWK>;
  readonly audience?: string;
}

/** Reads the key file at `file` (resolved against the cwd), creating it first if absent. */
export async function loadOrCreateDevKeys(file: string = DEFAULT_DEV_KEY_FILE): Promise<DevKeys> {
  const absolute = path.resolve(file);
  const existing = await readKeyFile(absolute);
  if (existing) return existing;
  await createKeyFile(absolute);
  const created = await readKeyFile(absolute);
  if (!created) throw new Error(`Dev issuer key file ${absolute} vanished right after creation.`);
  return created;
}

/** Records `audience` in the key file (creating it if needed) and returns the updated keys. */
export async function rememberAudience(file: string, audience: string): Promise<DevKeys> {
  const keys = await loadOrCreateDevKeys(file);
  if (keys.audience === audience) return keys;
  const contents = JSON.parse(await readFile(keys.file, "utf8")) as DevKeyFile;
  // Temp file + rename replaces the file atomically: a concurrent reader sees the old or
  // the new contents, never a half-written file.
  await writeThenMove({ ...contents, audience }, keys.file, (tmp) => rename(tmp, keys.file));
  return { ...keys, audience };
}

async function createKeyFile(file: string): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  const { privateKey, publicKey } = await generateKeyPair("ES256", { extractable: true });
  const publicJwk = (await exportJWK(publicKey)) as JWK_EC_Public;
  // RFC 7638 thumbprint: a kid derived from the key itself, so it changes when the key does.
  const kid = await calculateJwkThumbprint(publicJwk);
  const contents: DevKeyFile = {
    issuer: DEV_ISSUER,
    kid,
    privateJwk: (await exportJWK(privateKey)) as JWK_EC_Private,
    publicJwk,
  };
  try {
    // link(), unlike rename(), fails when the target exists, so of several processes
    // creating the file at once exactly one wins and the rest read the winner's key.
    await writeThenMove(contents, file, (tmp) => link(tmp, file));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
  }
}

async function writeThenMove(
  contents: DevKeyFile,
  file: string,
  move: (tmp: string) => Promise<void>,
): Promise<void> {
  const tmp = `${file}.${process.pid}.${randomUUID()}.tmp`;
  try {
    // 0600 at creation, not chmod afterwards: the private key is never readable by others.
    const handle = await open(tmp, "wx", 0o600);
    try {
      await handle.writeFile(`${JSON.stringify(contents, null, 2)}\n`, "utf8");
      await handle.sync();
    } finally {
      await handle.close();
    }
    await move(tmp);
  } finally {
    await unlink(tmp).catch(() => undefined);
  }
}

/** The parsed file, or undefined when it does not exist. */
async function readKeyFile(file: string): Promise<DevKeys | undefined> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new Error(`Cannot read dev issuer key file ${file}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    throw malformed(file, "not valid JSON");
  }
  const contents = checkContents(file, data);
  let privateKey: CryptoKey;
  try {
    const key = await importJWK(contents.privateJwk, "ES256");
    if (key instanceof Uint8Array) throw new TypeError("not an asymmetric key");
    privateKey = key;
  } catch {
    throw malformed(file, "privateJwk is not a usable ES256 key");
  }
  const { x, y } = contents.publicJwk;
  const publicJwk: JWK = Object.freeze({
    kty: "EC",
    crv: "P-256",
    x,
    y,
    kid: contents.kid,
    alg: "ES256",
    use: "sig",
  });
  return {
    file,
    issuer: contents.issuer,
    kid: contents.kid,
    privateKey,
    publicJwk,
    ...(contents.audience === undefined ? {} : { audience: contents.audience }),
  };
}

function checkContents(file: string, data: unknown): DevKeyFile {
  if (typeof data !== "object" || data === null || Array.isArray(data)) {
    throw malformed(file, "not a JSON object");
  }
  const record = data as Record<string, unknown>;
  for (const field of ["issuer", "kid"] as const) {
    if (!isNonEmptyString(record[field])) throw malformed(file, `"${field}" is not a string`);
  }
  if (record.audience !== undefined && !isNonEmptyString(record.audience)) {
    throw malformed(file, `"audience" is not a string`);
  }
  const privateJwk = record.privateJwk;
  const publicJwk = record.publicJwk;
  if (!isP256Jwk(privateJwk) || !isNonEmptyString((privateJwk as JWK).d)) {
    throw malformed(file, `"privateJwk" is not a P-256 private key`);
  }
  if (!isP256Jwk(publicJwk) || (publicJwk as JWK).d !== undefined) {
    throw malformed(file, `"publicJwk" is not a P-256 public key`);
  }
  if (publicJwk.x !== privateJwk.x || publicJwk.y !== privateJwk.y) {
    throw malformed(file, `"publicJwk" does not match "privateJwk"`);
  }
  return record as unknown as DevKeyFile;
}

function isP256Jwk(value: unknown): value is JWK_EC_Public {
  if (typeof value !== "object" || value === null) return false;
  const jwk = value as Record<string, unknown>;
  return (
    jwk.kty === "EC" && jwk.crv === "P-256" && isNonEmptyString(jwk.x) && isNonEmptyString(jwk.y)
  );
}

function isNonEmptyString(value: unknown): value is string {
  return typeof value === "string" && value.length > 0;
}

function malformed(file: string, reason: string): Error {
  return new Error(
    `Dev issuer key file ${file} is malformed (${reason}). Delete it to generate new keys; ` +
      "tokens minted with the old keys will stop working.",
  );
}
