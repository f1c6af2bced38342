/**
 * The short-lived files task-mcp makes beside their targets, and what a crash leaves of them: temp files of atomic
 * writes (`.<name>.tmp-<tag>-<hex>`), staging folders of new changes (`.<slug>.staging-<tag>-<hex>`) and guards
 * of lock swaps (`<lock>.swap-<hash>`, symlinks to their maker's tag).
 *
 * Each carries its maker's tag (process-identity.ts), so a leftover of a process of this scope that has exited is
 * removed at once; one whose maker cannot be checked (another host or container, no /proc) is removed once it is
 * older than any write of ours takes. Removing a live process's file would fail its write, so nothing younger is
 * touched: two instances may serve one repository.
 */
import { randomBytes } from 'node:crypto';
import { lstat, readdir, readlink, rm } from 'node:fs/promises';
import path from 'node:path';
import type { Layout } from './layout.js';
import { isTagGone, SELF } from './process-identity.js';

/** What marks a temp file, a staging folder and a lock's swap guard; the ignore rules are built from these. */
export const TEMP_MARK = '.tmp-';
export const STAGING_MARK = '.staging-';
export const GUARD_MARK = '.swap-';

/** A leftover whose maker cannot be checked is abandoned past this age: our writes take milliseconds. */
const UNCHECKED_STALE_MS = 60_000;

/** Also matches the untagged names of earlier versions (`.<name>.tmp-<hex>`), which can only age out. */
const TAGGED = /^\.(.+)\.(tmp|staging)-(?:(\d+-\d+-(?:[0-9a-f]{12}|x))-)?[0-9a-f]+$/;
const GUARD = /\.swap-[0-9a-f]{16}$/;

const suffix = (): string => `${SELF.tag}-${randomBytes(6).toString('hex')}`;

/** A fresh temp path beside `target`, named for this process. */
export const tempPath = (target: string): string =>
  path.join(path.dirname(target), `.${path.basename(target)}${TEMP_MARK}${suffix()}`);

/** A fresh staging folder path for `slug` in `dir`, named for this process. */
export const stagingPath = (dir: string, slug: string): string => path.join(dir, `.${slug}${STAGING_MARK}${suffix()}`);

/** The maker's tag of a lock's swap guard, or undefined when it names none. */
export const guardMaker = (guard: string): Promise<string | undefined> => readlink(guard).catch(() => undefined);

/** Whether a leftover made by `tag` and last changed at `mtimeMs` is abandoned: its maker exited, or it is old. */
export const isAbandoned = (tag: string | undefined, mtimeMs: number, staleMs = UNCHECKED_STALE_MS): boolean =>
  isTagGone(tag) || Date.now() - mtimeMs > staleMs;

/** The maker's tag of a debris entry named `name` in `dir`; null when the entry is not debris. */
async function makerOf(dir: string, name: string): Promise<string | undefined | null> {
  const tagged = TAGGED.exec(name);
  if (tagged) return tagged[3];
  if (GUARD.test(name)) return guardMaker(path.join(dir, name));
  return null;
}

/** Removes the abandoned debris directly in `dir`; returns the removed paths. */
export async function sweepFolder(dir: string): Promise<string[]> {
  const removed: string[] = [];
  for (const name of await readdir(dir).catch(() => [])) {
    const tag = await makerOf(dir, name);
    if (tag === null) continue;
    const file = path.join(dir, name);
    const stats = await lstat(file).catch(() => undefined);
    if (!stats || !isAbandoned(tag, stats.mtimeMs)) continue;
    await rm(file, { recursive: true, force: true });
    removed.push(file);
  }
  return removed;
}

/** The real subfolders of `dir` (not dot-folders: those are ours, or OpenSpec's own). */
async function subfolders(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isDirectory() && !e.name.startsWith('.')).map((e) => path.join(dir, e.name));
}

/**
 * Removes what crashes left in the places task-mcp writes to: `openspec/`, `openspec/changes/` and each change in
 * it, each archived change and each main spec folder (a rolled-back archive rewrites those). Returns the removed
 * paths, repo-relative.
 */
export async function sweepDebris(layout: Layout): Promise<string[]> {
  const changes = (await subfolders(layout.changes)).filter((dir) => dir !== layout.archive);
  const dirs = [layout.openspec, layout.changes, layout.archive, ...changes];
  dirs.push(...(await subfolders(layout.archive)), ...(await subfolders(layout.specs)));
  const removed: string[] = [];
  for (const dir of dirs) removed.push(...(await sweepFolder(dir)));
  return removed.map((file) => layout.rel(file));
}
