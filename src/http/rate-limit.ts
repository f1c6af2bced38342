/**
 * Request rate limits (koa-ratelimit): a burst window and a sustained window stacked, counted per client (IP plus
 * token name, or IP alone without a valid credential) before any expensive work. In memory by default (fixed
 * windows); with `REDIS_URL` in Redis (sliding windows), so every instance behind one proxy spends one budget.
 * While Redis is down the limits fall back to this instance's memory (logged, and `degraded` in `/readyz`):
 * never unlimited, never a crash.
 */
import type { Redis } from 'ioredis';
import type { Context, Middleware } from 'koa';
import ratelimit from 'koa-ratelimit';
import type { Logger } from 'pino';
import type { CheckState } from '../../generated/types.gen.js';
import type { RateWindow } from '../config/index.js';
import { TaskError } from '../errors.js';
import { connectRedis } from '../redis-connection.js';
import { clientIp, clientKey } from './client-ip.js';
import type { RequestState } from './handler.js';
import type { Identify } from './auth.js';

export interface RateLimitDeps {
  burst: RateWindow;
  sustained: RateWindow;
  redisUrl?: string | undefined;
  /** The request's credentials: a valid one adds its token name to the client's key. */
  identify: Identify;
  logger: Logger;
  /** Paths never limited (probes). */
  exempt: readonly string[];
  /** Keys the memory store may hold before it forgets the oldest; default 100 000. */
  maxMemoryKeys?: number;
  /** Told of each refusal: which window refused, and the caller's token name when it had a valid one. */
  onRefusal?: (window: WindowName, caller: string | undefined) => void;
}

/** The two windows, in the order a request is counted in them. */
const WINDOWS = ['burst', 'sustained'] as const;
type WindowName = (typeof WINDOWS)[number];

export interface RateLimiter {
  middleware: Middleware<RequestState>;
  /** Readiness checks: with Redis, `rateLimitStore` is `degraded` while limits are per instance. */
  checks: Record<string, () => Promise<CheckState>>;
  /** Stops the sweep timer and the Redis connection. */
  close(): void;
}

type Window = Middleware<RequestState>;

const RESET = 'X-RateLimit-Reset';

export function createRateLimiter(deps: RateLimitDeps): RateLimiter {
  const id = (ctx: Context): string => (ctx.state as RequestState).rateKey ?? clientIp(ctx);
  const memory = createMemoryStore(deps.maxMemoryKeys ?? 100_000, [deps.burst, deps.sustained]);
  /** Burst first, then sustained, each its own koa-ratelimit middleware under its own namespace. */
  const windowsIn = (driver: 'memory' | 'redis', db: Map<string, unknown> | Redis, prefix: string): Window[] =>
    WINDOWS.map((name) =>
      windowOf({ driver, db, namespace: `${prefix}${name}`, max: deps[name].max, duration: deps[name].durationMs, id }),
    );
  const memoryWindows = windowsIn('memory', memory.db, 'rl:');
  const redis = deps.redisUrl
    ? connectRedis(deps.redisUrl, deps.logger, {
        name: 'rate-limit store',
        whenUp: 'limits are shared',
        whenDown: 'limits are per instance',
      })
    : undefined;
  const redisWindows = redis ? windowsIn('redis', redis.client, 'task-mcp:rl:') : [];
  const exempt = new Set(deps.exempt);

  /** The windows this request is counted in: Redis when it answers, else this instance's memory. */
  async function admit(ctx: Context): Promise<Verdict> {
    const shared = await redis?.attempt(() => allFit(redisWindows, ctx));
    if (shared) return shared;
    memory.bound();
    return allFit(memoryWindows, ctx);
  }

  const limit: Middleware<RequestState> = async (ctx, next) => {
    const { bearer, cookie } = deps.identify(ctx);
    // A bad credential is refused later, by auth; here it only means the request is counted by address alone.
    const caller = bearer?.name ?? cookie?.name;
    ctx.state.rateKey = clientKey(ctx.state.ip, caller);
    const verdict = await admit(ctx);
    if (verdict.fitted) return next();
    deps.onRefusal?.(WINDOWS[verdict.window]!, caller);
    throw limited(ctx, verdict.resetMs);
  };
  // Not async itself: a probe, a request every few seconds from every balancer, pays for no promise here.
  const middleware: Middleware<RequestState> = (ctx, next) => (exempt.has(ctx.path) ? next() : limit(ctx, next));

  return {
    middleware,
    checks: redis ? { rateLimitStore: async () => (redis.ready() ? 'ok' : 'degraded') } : {},
    close() {
      memory.stop();
      redis?.close();
    },
  };
}

const windowOf = (options: ratelimit.MiddlewareOptions): Window =>
  ratelimit({ ...options, throw: false }) as unknown as Window;

/** Whether the request fitted every window; when not, which refused (its index) and when it resets (epoch ms). */
type Verdict = { fitted: true } | { fitted: false; window: number; resetMs: number };

/**
 * Runs each koa-ratelimit window alone (its `next` only notes the request fitted, so an error it throws is the
 * store's, never the route's) and stops at the first that refuses. Both drivers report the reset time in epoch
 * seconds, the memory one with a fraction: the header gets whole seconds.
 */
async function allFit(windows: readonly Window[], ctx: Context): Promise<Verdict> {
  for (const [index, window] of windows.entries()) {
    let fitted = false;
    await window(ctx as Parameters<Window>[0], async () => void (fitted = true));
    const resetMs = Number(ctx.response.get(RESET)) * 1000;
    ctx.set(RESET, String(Math.ceil(resetMs / 1000)));
    if (!fitted) return { fitted, window: index, resetMs };
  }
  return { fitted: true };
}

/** ERATELIMIT, with `Retry-After` in whole seconds until the refusing window resets. */
function limited(ctx: Context, resetMs: number): TaskError {
  const retryAfter = Math.max(1, Math.ceil((resetMs - Date.now()) / 1000));
  ctx.set('Retry-After', String(retryAfter));
  return new TaskError('ERATELIMIT', `Too many requests; retry in ${retryAfter} s.`, {
    hint: 'Wait for Retry-After seconds; the X-RateLimit-* headers show the budget.',
    details: { retryAfter, limit: Number(ctx.response.get('X-RateLimit-Limit')) },
  });
}

/**
 * koa-ratelimit's memory driver needs a shared Map and never evicts: expired keys are swept on an unref'd
 * timer, and past `maxKeys` (a flood of distinct addresses) the oldest keys are forgotten.
 */
function createMemoryStore(maxKeys: number, windows: readonly RateWindow[]) {
  const db = new Map<string, { reset: number }>();
  const sweep = (): void => {
    const now = Date.now() / 1000;
    for (const [key, entry] of db) if (entry.reset < now) db.delete(key);
  };
  const every = Math.min(60_000, Math.max(1000, ...windows.map((w) => w.durationMs)));
  const timer = setInterval(sweep, every);
  timer.unref();
  return {
    db,
    bound(): void {
      if (db.size < maxKeys) return;
      sweep();
      for (const key of db.keys()) {
        if (db.size < maxKeys * 0.9) break;
        db.delete(key);
      }
    },
    stop: () => clearInterval(timer),
  };
}
