/**
 * Lock files shared by processes that share nothing else (two servers may serve one repository).
 *
 * - Creation is exclusive: the record is linked into place (`link` fails with EEXIST exactly like O_EXCL), so a
 *   reader never sees an empty or half-written lock that it could mistake for a corrupt, takeable one.
 * - Changing an existing lock (takeover of a stale one, renewal, release) is a compare-and-swap on its exact text.
 *   Each generation of a lock has its own guard, `<lock>.swap-<hash of its text>`, created exclusively: only the
 *   guard's holder may replace or remove that generation, and it re-reads the lock under the guard, so two takers
 *   of one stale lock cannot both win and nobody can replace a lock that changed since they read it. The
 *   replacement is a rename over the lock, so the lock never disappears during a takeover (a creator could
 *   otherwise slip in). A guard left by a crash is removed at once when its maker (named in it) is a process of
 *   this scope that has exited, else once older than GUARD_STALE_MS (file mtime, real time).
 *   Known limit: if such a leftover guard is cleared by two takers at once, one may delete the other's fresh guard;
 *   that needs a crash mid-swap followed by a race on the same lock generation.
 */
import { createHash } from 'node:crypto';
import { lstat, readFile, rm, symlink, unlink } from 'node:fs/promises';
import { createFileExclusive, writeFileAtomic } from './atomic-write.js';
import { GUARD_MARK, guardMaker, isAbandoned } from './debris.js';
import { SELF } from './process-identity.js';

const GUARD_STALE_MS = 10_000;

export interface LockFile {
  /** The exact text, the identity used for compare-and-swap. */
  raw: string;
  /** The parsed JSON, or undefined when the file is not JSON (a corrupt lock, treated as takeable). */
  record: Record<string, unknown> | undefined;
}

const isMissing = (err: unknown): boolean => (err as NodeJS.ErrnoException).code === 'ENOENT';

/** Removes `file` if it is there: one unlink, where `rm` would stat it first. */
const removeIfThere = (file: string): Promise<void> =>
  unlink(file).catch((err: unknown) => {
    if (!isMissing(err)) throw err;
  });

/** Creates the lock with `text` unless one exists; false when one does. */
export const createLock = (file: string, text: string): Promise<boolean> => createFileExclusive(file, text);

/** Reads a lock file, or undefined when there is none. */
export async function readLock(file: string): Promise<LockFile | undefined> {
  let raw: string;
  try {
    raw = await readFile(file, 'utf8');
  } catch (err) {
    if (isMissing(err)) return undefined;
    throw err;
  }
  try {
    const parsed: unknown = JSON.parse(raw);
    const record = parsed && typeof parsed === 'object' ? (parsed as Record<string, unknown>) : undefined;
    return { raw, record };
  } catch {
    return { raw, record: undefined };
  }
}

/** Takes the guard of one lock generation; false when someone else holds it. */
async function takeGuard(guard: string, retry = true): Promise<boolean> {
  // A symlink to its maker's tag: created exclusively, and with its tag, in one step (a crash between creating a
  // file and writing it would leave an anonymous guard), so a guard left by a crash of a process of this scope is
  // known abandoned at once.
  const made = await symlink(SELF.tag, guard).then(
    () => true,
    (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EEXIST') throw err;
      return false;
    },
  );
  if (made) return true;
  // A guard is held for a few milliseconds; one whose maker exited, or an old one, was left by a crash. Removing it
  // and trying once more is safe: the caller still re-reads the lock under a guard of its own.
  const since = await lstat(guard).then(
    (s) => s.mtimeMs,
    () => Date.now(),
  );
  if (!isAbandoned(await guardMaker(guard), since, GUARD_STALE_MS)) return false;
  await rm(guard, { force: true });
  return retry && takeGuard(guard, false);
}

/**
 * Replaces the lock with `next` (or removes it when `next` is null) if its text is still `expected`.
 * Returns false when the lock changed or another process is swapping the same generation.
 */
export async function swapLock(file: string, expected: string, next: string | null): Promise<boolean> {
  const guard = `${file}${GUARD_MARK}${createHash('sha256').update(expected).digest('hex').slice(0, 16)}`;
  if (!(await takeGuard(guard))) return false;
  try {
    const current = await readLock(file);
    if (current?.raw !== expected) return false;
    if (next === null) await unlink(file);
    else await writeFileAtomic(file, next);
    return true;
  } finally {
    await removeIfThere(guard);
  }
}

/** Waits a few milliseconds, jittered so that contending callers spread out. */
export const backoff = (attempt: number): Promise<void> =>
  new Promise((resolve) => setTimeout(resolve, Math.min(100, 2 + attempt * 3) * (0.5 + Math.random())));
