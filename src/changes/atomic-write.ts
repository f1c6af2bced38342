/**
 * File writes that a reader (or a crash) never sees half done: the bytes go to a temp file beside the target,
 * are flushed, and only then does the file appear under its name (rename or link, atomic within one file system).
 */
import { link, open, rename, rm } from 'node:fs/promises';
import { tempPath } from './debris.js';

/**
 * Writes `data` to a fresh, flushed temp file beside `target` and returns its path. A failed write (a full disk
 * fails `writeFile` or `sync`) removes the temp file; one left by a crash is swept at start (debris.ts).
 */
async function writeTemp(target: string, data: string): Promise<string> {
  const temp = tempPath(target);
  const handle = await open(temp, 'wx', 0o644);
  try {
    await handle.writeFile(data, 'utf8');
    await handle.sync();
    await handle.close();
    return temp;
  } catch (err) {
    await handle.close().catch(() => undefined); // already closed when close itself failed
    await rm(temp, { force: true });
    throw err;
  }
}

/** Replaces `target` with `data` atomically. */
export async function writeFileAtomic(target: string, data: string): Promise<void> {
  const temp = await writeTemp(target, data);
  try {
    await rename(temp, target);
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
}

/**
 * Creates `target` with `data` only if nothing is there yet, returning false otherwise. `link` fails with EEXIST
 * like `open(…, 'wx')` does, and the file appears complete or not at all.
 */
export async function createFileExclusive(target: string, data: string): Promise<boolean> {
  const temp = await writeTemp(target, data);
  try {
    await link(temp, target);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  } finally {
    await rm(temp, { force: true });
  }
}
