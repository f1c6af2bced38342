/**
 * Serializes archives (and the first `openspec init`) of one repository across processes:
 * `openspec/changes/.archive.lock`, created exclusively and changed only by compare-and-swap (lock-file.ts). An
 * in-process mutex would not do: several server instances may serve one repository.
 *
 * The record names its holder and the helpers it runs (the OpenSpec CLI processes that write for it), and carries
 * a lease: `{ pid, startTime, scope, host, helpers, since, expiresAt, token }`. A waiter judges it so:
 * - Same scope (same boot, same pid namespace; process-identity.ts): the lock is live while the holder or a helper
 *   runs, and taken over at once when all have exited (pid gone, a zombie, or the pid reused).
 * - Another scope (another host or container sharing the volume): the holder renews the lease every RENEW_MS while
 *   it holds the lock. The lock is taken over once its record has not changed for LEASE_MS by the waiter's own
 *   clock (so clock skew between hosts does not matter), or at once when its `expiresAt` is more than
 *   MAX_CLOCK_SKEW_MS in the past by the waiter's wall clock (a lock left long ago).
 * - Not JSON: damaged (it is written atomically), taken over at once. JSON without a holder of this scope (an
 *   older task-mcp's `{ pid, host, since }`) is judged by its lease, `since` standing in for `expiresAt`.
 * A live holder is waited for up to WAIT_MS, then ELOCKED. A takeover is itself a compare-and-swap, so of several
 * waiters exactly one wins; the winner's caller then recovers through the journal (recovery.ts).
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { TaskError } from '../errors.js';
import { backoff, createLock, type LockFile, readLock, swapLock } from './lock-file.js';
import { isGone, isOwnScope, type ProcessRef, processRef, SELF } from './process-identity.js';

/**
 * A renewal is one small atomic write; five of them per lease mean a holder on another host must miss four in a row
 * (an 8 s stall of its event loop or its disk) before a waiter may take the lock, while a dead one is found within
 * 10 s of being seen, not minutes. An archive takes a fraction of a second, so most never renew at all.
 */
export const LEASE_MS = 10_000;
export const RENEW_MS = 2_000;
/** Hosts' clocks are assumed to agree within this (NTP keeps them within milliseconds). */
const MAX_CLOCK_SKEW_MS = 60_000;
const WAIT_MS = 2 * 60_000;
/** Attempts on a free or abandoned lock that keeps being taken by someone else first. */
const RACE_RETRIES = 10;

interface ArchiveRecord extends ProcessRef {
  scope?: string;
  host: string;
  /** Processes acting for the holder (the OpenSpec CLI): the lock is live while any of them runs. */
  helpers: ProcessRef[];
  since: string;
  expiresAt: string;
  token: string;
}

/** The lock as held by the caller of `run`. */
export interface HeldLock {
  /** Names `pid` (a child just spawned to write for the holder) in the lock; resolves once the record says so. */
  adopt(pid: number): Promise<void>;
}

export interface ArchiveLock {
  /** Runs `fn` holding the lock, waiting for a live holder to finish; ELOCKED after WAIT_MS. */
  run<T>(fn: (held: HeldLock) => Promise<T>): Promise<T>;
  /** Runs `fn` holding the lock if it is free or abandoned right now; undefined, without waiting, otherwise. */
  runIfFree<T>(fn: (held: HeldLock) => Promise<T>): Promise<T | undefined>;
}

const textOf = (record: ArchiveRecord): string => `${JSON.stringify(record)}\n`;

const leased = (record: ArchiveRecord, now: number): ArchiveRecord => ({
  ...record,
  expiresAt: new Date(now + LEASE_MS).toISOString(),
});

function freshRecord(): ArchiveRecord {
  const { pid, startTime, scope, host } = SELF;
  const now = Date.now();
  const since = new Date(now).toISOString();
  return leased({ pid, startTime, scope, host, helpers: [], since, expiresAt: since, token: randomUUID() }, now);
}

const isRef = (value: unknown): value is ProcessRef => {
  const pid = (value as ProcessRef | null)?.pid;
  return typeof pid === 'number' && Number.isSafeInteger(pid) && pid > 0;
};

/** The holder and its helpers, when the record names a holder at all. */
const refsOf = (record: Record<string, unknown>): ProcessRef[] | undefined =>
  isRef(record) ? [record, ...(Array.isArray(record.helpers) ? record.helpers.filter(isRef) : [])] : undefined;

/** Remembers when the waiter first saw the current text of the lock, by its own monotonic clock. */
function createWatch(): (raw: string) => number {
  let seen: { raw: string; at: number } | undefined;
  return (raw) => {
    if (seen?.raw !== raw) seen = { raw, at: performance.now() };
    return performance.now() - seen.at;
  };
}

/** Whether the lock `current` may be taken over now; `unchangedFor` says how long its text has been seen as is. */
function mayTakeOver(current: LockFile, unchangedFor: (raw: string) => number): boolean {
  const { record } = current;
  if (!record) return true;
  const refs = isOwnScope(record.scope) ? refsOf(record) : undefined;
  if (refs) return refs.every(isGone);
  const expires = Date.parse(String(record.expiresAt ?? record.since));
  if (!Number.isNaN(expires) && Date.now() - expires > MAX_CLOCK_SKEW_MS) return true;
  return unchangedFor(current.raw) >= LEASE_MS;
}

/**
 * Takes the lock, trying until a live holder lets go or `waitMs` passes; undefined if it could not. Past `waitMs`
 * (at once when it is 0) it still retries a lock that is free or abandoned but was lost to a concurrent taker.
 */
async function acquire(file: string, waitMs: number): Promise<ArchiveRecord | undefined> {
  const unchangedFor = createWatch();
  const started = performance.now();
  for (let attempt = 0; ; attempt++) {
    const record = freshRecord();
    if (await createLock(file, textOf(record))) return record;
    const current = await readLock(file);
    const takeable = !current || mayTakeOver(current, unchangedFor);
    if (current && takeable && (await swapLock(file, current.raw, textOf(record)))) return record;
    if (performance.now() - started >= waitMs && !(takeable && attempt < RACE_RETRIES)) return undefined;
    await backoff(attempt);
  }
}

/**
 * The holder's side: renews the lease, adds helpers and releases, one change at a time (each is a compare-and-swap
 * on the text the previous one wrote).
 */
function hold(file: string, taken: ArchiveRecord) {
  let record = taken;
  let lost = false;
  let queue: Promise<unknown> = Promise.resolve();
  /** Applies `update` to the record as it is when its turn comes (a renewal must not drop a helper just added). */
  const change = (update: (current: ArchiveRecord) => ArchiveRecord | null): Promise<void> => {
    const step = queue.then(async () => {
      const expected = textOf(record);
      const next = update(record);
      for (let attempt = 0; !lost; attempt++) {
        if (await swapLock(file, expected, next && textOf(next))) {
          if (next) record = next;
          return;
        }
        // A swap also fails while another process holds this generation's guard (for milliseconds, or until a
        // crashed one's guard is found abandoned): retry. Only a changed text means the lock was taken over.
        lost = (await readLock(file))?.raw !== expected;
        if (!lost) await backoff(attempt);
      }
      throw lostError();
    });
    queue = step.catch(() => undefined);
    return step;
  };
  const renew = (): Promise<void> => change((current) => leased(current, Date.now()));
  const timer = setInterval(() => void renew().catch(() => undefined), RENEW_MS);
  timer.unref();
  return {
    held: {
      adopt: (pid: number) => change((current) => ({ ...current, helpers: [...current.helpers, processRef(pid)] })),
    } satisfies HeldLock,
    async release(): Promise<void> {
      clearInterval(timer);
      await change(() => null).catch((err: unknown) => {
        if (!lost) throw err; // lost: the lock is someone else's now, and stays theirs
      });
    },
  };
}

const lostError = (): TaskError =>
  new TaskError('ELOCKED', 'The archive lock was taken over while this archive ran (its lease lapsed).', {
    hint: 'Retry; the interrupted archive is recovered first.',
    details: { owner: 'archive' },
  });

async function runHolding<T>(file: string, taken: ArchiveRecord, fn: (held: HeldLock) => Promise<T>): Promise<T> {
  const { held, release } = hold(file, taken);
  try {
    return await fn(held);
  } finally {
    await release();
  }
}

export interface ArchiveLockOptions {
  /** Told of each call refused because another held the lock past the wait. */
  onContended?: () => void;
  /** How long `run` waits for a live holder before ELOCKED; two minutes unless a test says otherwise. */
  waitMs?: number;
}

/** The archive lock at `file`. */
export function createArchiveLock(
  file: string,
  { onContended, waitMs = WAIT_MS }: ArchiveLockOptions = {},
): ArchiveLock {
  return {
    async run(fn) {
      const taken = await acquire(file, waitMs);
      if (!taken) {
        onContended?.();
        throw new TaskError('ELOCKED', 'Another archive of this repository is still running.', {
          hint: 'Retry in a minute.',
          details: { owner: 'archive' },
        });
      }
      return runHolding(file, taken, fn);
    },
    async runIfFree(fn) {
      const taken = await acquire(file, 0);
      return taken && runHolding(file, taken, fn);
    },
  };
}
