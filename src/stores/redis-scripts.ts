// The Redis store's conditional writes, each one Lua script so Redis runs it atomically.
// https://redis.io/docs/latest/develop/interactive/programmability/eval-intro/
//
// A record is a hash: state, fp, owner, lease, exp, result, created, completed. Times are
// the caller's epoch ms, passed in ARGV and only compared here (never computed in Lua,
// whose numbers print as floats). Expiry is decided by `exp` against the caller's `now`;
// the key's PEXPIRE (retention plus a margin) only collects garbage.
import { createHash } from "node:crypto";

export interface RedisScript {
  readonly lua: string;
  readonly sha: string;
}

function script(lua: string): RedisScript {
  return { lua, sha: createHash("sha1").update(lua).digest("hex") };
}

/**
 * KEYS: key. ARGV: fingerprint, owner, now, leaseExpiresAt, expiresAt, pxMs.
 * Returns 0 (claimed), 1 (claimed, lease taken over) or the live record as HGETALL.
 */
export const CLAIM = script(`
local f = redis.call('HMGET', KEYS[1], 'state', 'fp', 'lease', 'exp')
local now = tonumber(ARGV[3])
local takeover = 0
if f[1] and tonumber(f[4]) > now then
  if f[1] == 'in_progress' and tonumber(f[3]) <= now and f[2] == ARGV[1] then
    takeover = 1
  else
    return redis.call('HGETALL', KEYS[1])
  end
end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'state', 'in_progress', 'fp', ARGV[1], 'owner', ARGV[2],
  'lease', ARGV[4], 'exp', ARGV[5], 'created', ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[6])
return takeover`);

/** KEYS: key. ARGV: owner, result, now, expiresAt, pxMs. Returns 1 when stored. */
export const COMPLETE = script(`
local f = redis.call('HMGET', KEYS[1], 'state', 'owner', 'exp')
if f[1] ~= 'in_progress' or f[2] ~= ARGV[1] or tonumber(f[3]) <= tonumber(ARGV[3]) then
  return 0
end
redis.call('HSET', KEYS[1], 'state', 'completed', 'result', ARGV[2], 'completed', ARGV[3],
  'exp', ARGV[4])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return 1`);

/** KEYS: key. ARGV: owner. Returns 1 when the claim was deleted. */
export const RELEASE = script(`
local f = redis.call('HMGET', KEYS[1], 'state', 'owner')
if f[1] ~= 'in_progress' or f[2] ~= ARGV[1] then
  return 0
end
redis.call('DEL', KEYS[1])
return 1`);

/**
 * One GCRA step (gcraStep of gcra.ts; a bucket is a hash: tat, rem). KEYS: key.
 * ARGV: now, limit, windowMs, marginMs. Returns {allowed (1/0), newTat - now (whole ms),
 * rem}; only an allowed step is stored, and the key expires a margin after its TAT.
 * Every value stays an integer below 2^53, so Lua's doubles compute it exactly.
 */
export const CONSUME = script(`
local now = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
local win = tonumber(ARGV[3])
local f = redis.call('HMGET', KEYS[1], 'tat', 'rem')
local tat = tonumber(f[1])
local rem = 0
if tat and tat >= now then
  rem = math.min(tonumber(f[2]) or 0, limit - 1)
else
  tat = now
end
local sum = rem + win
local newRem = math.fmod(sum, limit)
local ahead = tat + (sum - newRem) / limit - now
if ahead < win or (ahead == win and newRem == 0) then
  redis.call('HSET', KEYS[1], 'tat', string.format('%.0f', now + ahead),
    'rem', string.format('%.0f', newRem))
  local px = ahead + tonumber(ARGV[4])
  if newRem > 0 then px = px + 1 end
  redis.call('PEXPIRE', KEYS[1], string.format('%.0f', px))
  return {1, ahead, newRem}
end
return {0, ahead, newRem}`);
