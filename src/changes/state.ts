/**
 * Where a change stands, read from the file system each time (no cache: another process may have moved it).
 */
import { lstat, readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { isArchivedNameOf, type Layout } from './layout.js';
import { METADATA_FILE } from './scaffold.js';
import { parseYaml } from './yaml.js';

/** True when `openspec/changes/<slug>` is a real folder (a symlink is not a change). */
export async function isOpen(layout: Layout, slug: string): Promise<boolean> {
  const stats = await lstat(layout.change(slug)).catch(() => undefined);
  return stats?.isDirectory() === true;
}

/** The archive folder name of `slug` (`YYYY-MM-DD-<slug>`, the latest if several), or undefined. */
export async function archivedName(layout: Layout, slug: string): Promise<string | undefined> {
  const entries = await readdir(layout.archive, { withFileTypes: true }).catch(() => []);
  return entries
    .filter((e) => e.isDirectory() && isArchivedNameOf(e.name, slug))
    .map((e) => e.name)
    .sort()
    .at(-1);
}

/** The commit a change was opened at, from its `.openspec.yaml` (empty when unknown). */
export async function baseCommit(folder: string): Promise<string> {
  const text = await readFile(path.join(folder, METADATA_FILE), 'utf8').catch(() => undefined);
  const metadata: unknown = text === undefined ? undefined : await parseYaml(text);
  const base = (metadata as { base_commit?: unknown } | undefined)?.base_commit;
  return typeof base === 'string' ? base : '';
}
