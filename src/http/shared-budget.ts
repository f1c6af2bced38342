/**
 * The streams budget as one budget for every instance on one `REDIS_URL`. Each instance counts the slots it holds
 * (stream-caps.ts's local budget, the truth about its own slots) and mirrors them into Redis: a hash per instance
 * (client key → slots, and `#` → its total) that lives only while the instance beats. Taking a slot is one script
 * that counts, over the instances whose beat is fresh, the client's slots and all slots, and takes one when both
 * are under their caps; giving it back decrements the hash. Every beat writes the instance's whole count again, so
 * a decrement lost with Redis, or a slot taken while Redis was away, is right again within a beat; an instance that
 * dies stops beating, and its slots stop counting within `LIFETIME_MS` (the next taker deletes its hash).
 *
 * While Redis does not answer, the caps are this instance's alone, as the rate limits are (logged once,
 * `streamCapStore: "degraded"`): never unlimited, never waiting on Redis.
 */
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { CheckState } from '../../generated/types.gen.js';
import { connectRedis } from '../redis-connection.js';
import type { Cap, LocalBudget, SlotBudget, Taken } from './stream-caps.js';

/** How often an instance beats, and how long a beat keeps its slots counted. */
const BEAT_MS = 3000;
export const LIFETIME_MS = 10_000;

/** The hash field of an instance's total; no client key (an address, maybe with a token name) can be it. */
const TOTAL = '#';

/** Milliseconds on Redis's clock, so instances with skewed clocks agree on who is alive. */
const NOW = `local t = redis.call('TIME') local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;

/**
 * KEYS[1] the instances (sorted set, score: when the beat lapses); ARGV: hash prefix, this instance, client key,
 * per-client cap, total cap, lifetime ms. Returns `ok`, `client` or `instance`.
 */
const TAKE = `${NOW}
for _, gone in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now)) do redis.call('DEL', ARGV[1] .. gone) end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[6]), ARGV[2])
local mine, all = 0, 0
for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  mine = mine + tonumber(redis.call('HGET', ARGV[1] .. id, ARGV[3]) or '0')
  all = all + tonumber(redis.call('HGET', ARGV[1] .. id, '${TOTAL}') or '0')
end
if mine >= tonumber(ARGV[4]) then return 'client' end
if all >= tonumber(ARGV[5]) then return 'instance' end
redis.call('HINCRBY', ARGV[1] .. ARGV[2], ARGV[3], 1)
redis.call('HINCRBY', ARGV[1] .. ARGV[2], '${TOTAL}', 1)
redis.call('PEXPIRE', ARGV[1] .. ARGV[2], ARGV[6])
return 'ok'`;

/** KEYS[1] this instance's hash; ARGV: client key. Never below zero. */
const GIVE_BACK = `
for _, field in ipairs({ARGV[1], '${TOTAL}'}) do
  if redis.call('HINCRBY', KEYS[1], field, -1) <= 0 then redis.call('HDEL', KEYS[1], field) end
end`;

/** KEYS[1] the instances, KEYS[2] this instance's hash; ARGV: this instance, lifetime ms, then field, count, … */
const BEAT = `${NOW}
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
redis.call('DEL', KEYS[2])
for i = 3, #ARGV, 2 do redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1]) end
redis.call('PEXPIRE', KEYS[2], ARGV[2])`;

interface Scripts {
  takeSlot(
    instances: string,
    prefix: string,
    me: string,
    key: string,
    per: number,
    all: number,
    ms: number,
  ): Promise<string>;
  giveSlot(hash: string, key: string): Promise<unknown>;
  beat(instances: string, hash: string, me: string, ms: number, ...fields: Array<string | number>): Promise<unknown>;
}

export interface SharedBudgetDeps {
  /** This instance's own slots. */
  local: LocalBudget;
  cap: Cap;
  redisUrl: string;
  /** This instance among the others (the instance bus's id). */
  instanceId: string;
  logger: Logger;
  /** Key namespace; default `task-mcp:caps:streams`. */
  namespace?: string;
}

export interface SharedBudget extends SlotBudget {
  /** `streamCapStore`: `degraded` while the caps are per instance. */
  checks: Record<string, () => Promise<CheckState>>;
  /** Writes this instance's whole count to Redis now, as it does every `BEAT_MS` and on reconnecting. */
  beat(): Promise<void>;
  /** Stops beating and takes this instance's slots out of the budget (they are closing with it). */
  close(): Promise<void>;
}

export function createSharedBudget(deps: SharedBudgetDeps): SharedBudget {
  const { local, cap, instanceId: me, namespace = 'task-mcp:caps:streams' } = deps;
  const redis = connectRedis(deps.redisUrl, deps.logger, {
    name: 'stream-cap store',
    whenUp: 'stream caps are shared',
    whenDown: 'stream caps are per instance',
  });
  const scripts = define(redis.client);
  const instances = `${namespace}:instances`;
  const prefix = `${namespace}:held:`;
  const mine = prefix + me;

  const beat = async (): Promise<void> => {
    const fields = [...local.held()].flatMap(([key, count]) => [key, count]);
    if (local.open > 0) fields.push(TOTAL, local.open);
    await redis.attempt(() => scripts.beat(instances, mine, me, LIFETIME_MS, ...fields));
  };
  const timer = setInterval(() => void beat(), BEAT_MS);
  timer.unref();
  // Back after an outage (or a Redis that lost its data): what this instance holds counts again at once.
  redis.client.on('ready', () => void beat());

  return {
    get open() {
      return local.open;
    },
    async acquire(key) {
      // Counted here while Redis is asked, and until Redis has been told it is given back: a beat always writes this
      // instance's whole count, so one sent in between must not leave a slot out (the total would admit one more).
      const reserved = local.take(key);
      const verdict = await redis.attempt(() =>
        scripts.takeSlot(instances, prefix, me, key, cap.perClient, cap.total, LIFETIME_MS),
      );
      if (verdict !== 'ok') reserved();
      if (verdict === undefined) return local.acquire(key);
      if (verdict !== 'ok') return verdict as Exclude<Taken, () => void>;
      let given = false;
      return () => {
        if (given) return;
        given = true;
        void redis.attempt(() => scripts.giveSlot(mine, key)).finally(reserved);
      };
    },
    checks: { streamCapStore: async () => (redis.ready() ? 'ok' : 'degraded') },
    beat,
    async close() {
      clearInterval(timer);
      await redis.attempt(() => redis.client.multi().zrem(instances, me).del(mine).exec());
      redis.close();
    },
  };
}

function define(client: Redis): Scripts {
  client.defineCommand('takeSlot', { numberOfKeys: 1, lua: TAKE });
  client.defineCommand('giveSlot', { numberOfKeys: 1, lua: GIVE_BACK });
  client.defineCommand('beat', { numberOfKeys: 2, lua: BEAT });
  return client as unknown as Scripts;
}
