/**
 * The shared streams budget (src/http/shared-budget.ts) against a real `redis-server`, when a beat goes out while a
 * slot is being taken: the beat rewrites the instance's whole count in Redis, so the slot must be in it, or the
 * shared total admits one stream more than its cap. One connection carries both, so Redis runs them in the order
 * sent: the take, then the beat.
 */
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { pino } from 'pino';
import { createSharedBudget, type SharedBudget } from '../src/http/shared-budget.js';
import { createLocalBudget } from '../src/http/stream-caps.js';
import { startRedis, type TestRedis } from './helpers/redis.js';
import { until } from './helpers/within.js';

const CAP = { perClient: 5, total: 1 };
let redis: TestRedis;
const budgets: SharedBudget[] = [];

const instance = (instanceId: string): SharedBudget => {
  const budget = createSharedBudget({
    local: createLocalBudget(CAP),
    cap: CAP,
    redisUrl: redis.url,
    instanceId,
    logger: pino({ level: 'silent' }),
  });
  budgets.push(budget);
  return budget;
};

before(async () => {
  redis = await startRedis();
});
after(async () => {
  await Promise.all(budgets.map((budget) => budget.close()));
  await redis?.stop();
});

it('counts a slot in a beat sent while Redis is still taking it, so the total cap holds across instances', async () => {
  const a = instance('a');
  const b = instance('b');
  const up = async (budget: SharedBudget) => (await budget.checks.streamCapStore!()) === 'ok';
  await until(5000, 'both instances on Redis', async () => (await up(a)) && (await up(b)));
  // Loads the scripts, so the take below is sent once (a first EVALSHA would be retried as EVAL, after the beat).
  const warm = await a.acquire('alice');
  assert.equal(typeof warm, 'function');
  (warm as () => void)();
  // The slot counts here until Redis has been told it is back: only then does a beat leave it out.
  await until(5000, 'the warm-up slot given back', async () => a.open === 0);
  await a.beat();

  const taking = a.acquire('alice');
  await a.beat();
  const release = await taking;
  assert.equal(typeof release, 'function', 'the slot was taken');
  assert.equal(await b.acquire('bob'), 'instance', 'the other instance sees the one slot the cap allows as taken');
  (release as () => void)();
});
