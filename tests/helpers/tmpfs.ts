/**
 * A real small file system for full-disk tests: a tmpfs mounted on a fresh temp folder (needs root), filled page by
 * page. tmpfs charges file data by the 4 KiB page and nothing for folders or empty files, so "one page left" is
 * exact: one small file more fits, the next write fails with ENOSPC.
 */
import { execFile } from 'node:child_process';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { createTempDir } from './repo.js';

const run = promisify(execFile);
const PAGE = 4096;

export interface Tmpfs {
  /** The mount point (a canonical path). */
  dir: string;
  /** Fills every page but `pagesLeft`. */
  fill(pagesLeft?: number): Promise<void>;
  /** Frees what `fill` took. */
  free(): Promise<void>;
  unmount(): Promise<void>;
}

/** Mounts a tmpfs of `size` bytes. */
export async function mountTmpfs(size: number): Promise<Tmpfs> {
  const temp = await createTempDir('task-mcp-tmpfs-');
  await run('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', temp.dir]);
  const fillers = path.join(temp.dir, '.fill');
  return {
    dir: temp.dir,
    async fill(pagesLeft = 0) {
      await mkdir(fillers, { recursive: true });
      const page = Buffer.alloc(PAGE);
      let n = 0;
      try {
        for (; ; n++) await writeFile(path.join(fillers, String(n)), page);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
      }
      // The write that failed may have left an empty file: it takes no page.
      for (let i = 1; i <= pagesLeft; i++) await rm(path.join(fillers, String(n - i)));
    },
    free: () => rm(fillers, { recursive: true, force: true }),
    async unmount() {
      await run('umount', [temp.dir]);
      await temp.remove();
    },
  };
}
