/**
 * Signed-out sessions, remembered until their cookie would have expired anyway (after that the signature check
 * refuses the cookie on its own, so the entry is no longer needed). Without `REDIS_URL` they live in this process's
 * memory; with it in Redis, one key per session expiring with the cookie, so every instance refuses a cookie that
 * was signed out on any of them.
 *
 * While Redis is down the store fails closed: cookie sessions are refused with `EUNAVAILABLE` (a revoked cookie
 * must never work again because the one place that knows is unreachable; a stream route answers it with a word to
 * come back, see stream-retry.ts, other routes with 503), sign-out answers 503 and changes nothing
 * (the browser keeps its cookie and can retry), bearer tokens are unaffected, and `/readyz` reports
 * `sessionStore: "degraded"` without turning 503.
 */
import type { Logger } from 'pino';
import type { CheckState } from '../../generated/types.gen.js';
import { TaskError } from '../errors.js';
import { connectRedis, type RedisConnection } from '../redis-connection.js';

export interface SessionRevocations {
  /** Remembers that session `id` is over, until `expiresAt`. Throws EUNAVAILABLE when that cannot be stored. */
  revoke(id: string, expiresAt: Date): Promise<void>;
  /** Whether session `id` was signed out. Throws EUNAVAILABLE when the store cannot say. */
  isRevoked(id: string): Promise<boolean>;
  /** Readiness checks: with Redis, `sessionStore` is `degraded` while cookie sessions are refused. */
  checks: Record<string, () => Promise<CheckState>>;
  close(): void;
}

export interface SessionRevocationsDeps {
  /** Set: revocations in Redis, shared by every instance. Unset: in this process's memory. */
  redisUrl?: string | undefined;
  logger: Logger;
  now?: () => number;
}

const KEY_PREFIX = 'task-mcp:session:revoked:';

/** The store `deps` asks for. */
export function createSessionRevocations(deps: SessionRevocationsDeps): SessionRevocations {
  const now = deps.now ?? Date.now;
  if (deps.redisUrl === undefined) return memoryRevocations(now);
  const redis = connectRedis(deps.redisUrl, deps.logger, {
    name: 'session store',
    whenUp: 'sign-outs are shared',
    whenDown: 'cookie sessions are refused until it is back',
  });
  return redisRevocations(redis, now);
}

/** In memory; each sign-out also forgets the entries whose cookies have expired since. */
function memoryRevocations(now: () => number): SessionRevocations {
  const revoked = new Map<string, number>();
  return {
    async revoke(id, expiresAt) {
      for (const [key, until] of revoked) if (until <= now()) revoked.delete(key);
      if (expiresAt.getTime() > now()) revoked.set(id, expiresAt.getTime());
    },
    isRevoked: async (id) => (revoked.get(id) ?? 0) > now(),
    checks: {},
    close: () => revoked.clear(),
  };
}

function redisRevocations(redis: RedisConnection, now: () => number): SessionRevocations {
  /** Runs `command` against Redis, or throws EUNAVAILABLE: never waits on a Redis that is not there. */
  async function attempt<T>(command: () => Promise<T>): Promise<T> {
    const answer = await redis.attempt(command);
    if (answer !== undefined) return answer;
    throw new TaskError('EUNAVAILABLE', 'Cookie sessions are unavailable: the session store does not answer.', {
      hint: 'Retry shortly, or use the bearer token, which does not depend on the session store.',
    });
  }
  return {
    async revoke(id, expiresAt) {
      const ttlMs = expiresAt.getTime() - now();
      if (ttlMs > 0) await attempt(() => redis.client.set(`${KEY_PREFIX}${id}`, '1', 'PX', ttlMs));
    },
    isRevoked: async (id) => (await attempt(() => redis.client.exists(`${KEY_PREFIX}${id}`))) === 1,
    checks: { sessionStore: async () => (redis.ready() ? 'ok' : 'degraded') },
    close: () => redis.close(),
  };
}
