/**
 * A change's lock, `openspec/changes/<slug>/.lock` = `{ owner, since, ttl }`: who may work on the change until when.
 * Built on the exclusive create and compare-and-swap of `lock-file.ts`.
 */
import { TaskError } from '../errors.js';
import type { Lock } from './types.js';
import { backoff, createLock, readLock, swapLock } from './lock-file.js';

/** The lock file's name inside a change folder. */
export const LOCK_FILE = '.lock';

const MAX_ATTEMPTS = 40;

interface LockRecord {
  owner: string;
  since: string;
  ttl: number;
}

const parseRecord = (record: Record<string, unknown> | undefined): LockRecord | undefined => {
  if (!record) return undefined;
  const { owner, since, ttl } = record;
  if (typeof owner !== 'string' || typeof since !== 'string' || typeof ttl !== 'number') return undefined;
  return Number.isNaN(Date.parse(since)) ? undefined : { owner, since, ttl };
};

const toLock = ({ owner, since, ttl }: LockRecord): Lock => ({
  owner,
  since,
  ttl,
  expiresAt: new Date(Date.parse(since) + ttl * 1000).toISOString(),
});

const isLive = (lock: Lock, now: Date): boolean => Date.parse(lock.expiresAt) > now.getTime();

const lockedError = (lock: Lock): TaskError =>
  new TaskError('ELOCKED', `The change is locked by "${lock.owner}" until ${lock.expiresAt}.`, {
    hint: 'Wait for the lock to expire, or ask its owner to archive the change.',
    details: { owner: lock.owner, since: lock.since, expiresAt: lock.expiresAt },
  });

/** A lock for `owner` from `now`: the file's text and the contract's view of it. */
export function newLock(owner: string, ttl: number, now: Date): { text: string; lock: Lock } {
  const record: LockRecord = { owner, since: now.toISOString(), ttl };
  return { text: `${JSON.stringify(record)}\n`, lock: toLock(record) };
}

/** The change's lock, expired or not; undefined when there is none (or it is unreadable). */
export async function readChangeLock(file: string): Promise<Lock | undefined> {
  const current = await readLock(file);
  const record = parseRecord(current?.record);
  return record && toLock(record);
}

/** The change's lock if it is still live at `now`, else null. */
export async function liveChangeLock(file: string, now: Date): Promise<Lock | null> {
  const lock = await readChangeLock(file);
  return lock && isLive(lock, now) ? lock : null;
}

/** Throws ELOCKED when a live lock of another owner is on the change. */
export async function assertNotLockedByOther(file: string, owner: string, now: Date): Promise<void> {
  const lock = await liveChangeLock(file, now);
  if (lock && lock.owner !== owner) throw lockedError(lock);
}

/**
 * Takes (or renews) the lock for `owner`. A live lock of another owner → ELOCKED; an expired, unreadable or own lock
 * is replaced by compare-and-swap, so concurrent takers of one stale lock cannot both win.
 */
export async function acquireChangeLock(file: string, owner: string, ttl: number, now: Date): Promise<Lock> {
  const { text, lock } = newLock(owner, ttl, now);
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    // Read first: most calls renew a lock that is there, and a create costs a flushed temp file. The create stays
    // exclusive and the swap compares, so reading first decides nothing a concurrent taker could also win.
    const current = await readLock(file);
    if (!current) {
      if (await createLock(file, text)) return lock;
      continue; // created by someone else between our read and create
    }
    const held = parseRecord(current.record);
    if (held && held.owner !== owner && isLive(toLock(held), now)) throw lockedError(toLock(held));
    if (await swapLock(file, current.raw, text)) return lock;
    // Lost the swap to a concurrent renewal by the same owner: the owner holds a live lock, which is the goal.
    const renewed = parseRecord((await readLock(file))?.record);
    if (renewed && renewed.owner === owner && isLive(toLock(renewed), now)) return toLock(renewed);
    await backoff(attempt);
  }
  const held = await readChangeLock(file);
  throw held ? lockedError(held) : new TaskError('ELOCKED', 'The change lock is contended; try again.');
}
