/**
 * Serializes archives of one repository across processes: `openspec/changes/.archive.lock`, created exclusively and
 * taken over by compare-and-swap once older than STALE_MS (an archive takes seconds; a lock that old was left by a
 * crash). An in-process mutex would not do: two server instances may serve the same repository.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { TaskError } from '../errors.js';
import { backoff, createLock, readLock, swapLock } from './lock-file.js';

const STALE_MS = 5 * 60_000;
const WAIT_MS = 2 * 60_000;

const isStale = (record: Record<string, unknown> | undefined, now: Date): boolean => {
  const since = typeof record?.since === 'string' ? Date.parse(record.since) : Number.NaN;
  return Number.isNaN(since) || now.getTime() - since > STALE_MS;
};

/** Takes the lock, waiting for a running archive to finish; returns the text to release it by. */
async function acquire(file: string, clock: () => Date): Promise<string> {
  const text = `${JSON.stringify({ pid: process.pid, host: hostname(), since: clock().toISOString(), token: randomUUID() })}\n`;
  const started = Date.now();
  for (let attempt = 0; Date.now() - started < WAIT_MS; attempt++) {
    if (await createLock(file, text)) return text;
    const current = await readLock(file);
    if (current && isStale(current.record, clock()) && (await swapLock(file, current.raw, text))) return text;
    await backoff(attempt);
  }
  throw new TaskError('ELOCKED', 'Another archive of this repository is still running.', {
    hint: 'Retry in a minute.',
    details: { owner: 'archive' },
  });
}

/** Runs `fn` while holding the repository's archive lock. */
export async function withArchiveLock<T>(file: string, clock: () => Date, fn: () => Promise<T>): Promise<T> {
  const text = await acquire(file, clock);
  try {
    return await fn();
  } finally {
    await swapLock(file, text, null);
  }
}
