/**
 * The archive intent journal, `openspec/changes/.archive-journal/`: what makes an archive all-or-nothing across
 * crashes.
 *
 * `openspec archive` first rewrites the main specs (`openspec/specs/<capability>/spec.md`) and then renames the
 * change folder into `archive/`. It rolls its own failures back, but a crash (kill, power loss) between the two
 * steps would leave specs merged for a change that is still open; a second archive would then merge it twice.
 * So, under the repository's archive lock, before running it we:
 *
 *   1. copy every main spec the change can touch into `backup/` (and note which did not exist yet), then
 *   2. write `intent.json` atomically: the commit point. A journal folder without it is debris, simply removed.
 *
 * The server recovers at start, and every archive call first (any process: it all lives in the repository). The
 * folder rename is atomic, so the change is either still open or archived:
 *   - still open → the archive did not happen: restore the backups, delete specs that did not exist, give the
 *     change its lock back as it was; the change is as it was and can be archived again;
 *   - archived → the archive happened: keep the merged specs and write the receipt it may lack.
 * Either way the CLI's destination claim, if a killed CLI left it, is dropped (it would refuse every archive).
 * Then the journal is removed (intent.json first, so a crash during removal leaves debris, not a stale intent).
 */
import { copyFile, mkdir, readdir, readFile, realpath, rm, rmdir } from 'node:fs/promises';
import path from 'node:path';
import type { Receipt } from '../../generated/types.gen.js';
import { writeFileAtomic } from './atomic-write.js';
import { isInside, type Layout } from './layout.js';

export interface Intent {
  slug: string;
  actor: string;
  base: string;
  validation: Receipt['validation'];
  /** Capabilities the change has deltas for, and whether their main spec existed before the archive. */
  targets: { capability: string; existed: boolean }[];
  /** The change's lock before the archive took it (null: none), and the text the archive puts in its place. */
  lock?: { before: string | null; during: string };
}

const INTENT = 'intent.json';
const CAPABILITY = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

const mainSpec = (layout: Layout, capability: string): string => path.join(layout.specs, capability, 'spec.md');
const backupOf = (layout: Layout, capability: string): string =>
  path.join(layout.journal, 'backup', capability, 'spec.md');
const exists = (file: string): Promise<boolean> =>
  readFile(file).then(
    () => true,
    () => false,
  );

/** The capability folders under a change's `specs/` (the main specs its archive may write). */
export async function deltaCapabilities(changeDir: string): Promise<string[]> {
  const entries = await readdir(path.join(changeDir, 'specs'), { withFileTypes: true }).catch(() => []);
  return entries
    .filter((e) => e.isDirectory() && CAPABILITY.test(e.name))
    .map((e) => e.name)
    .sort();
}

/** Backs up the main specs `intent` may touch, then commits the intent. */
export async function beginJournal(layout: Layout, intent: Omit<Intent, 'targets'>, capabilities: string[]) {
  await rm(layout.journal, { recursive: true, force: true });
  await mkdir(path.join(layout.journal, 'backup'), { recursive: true });
  const targets: Intent['targets'] = [];
  for (const capability of capabilities) {
    const existed = await exists(mainSpec(layout, capability));
    if (existed) {
      await mkdir(path.dirname(backupOf(layout, capability)), { recursive: true });
      await copyFile(mainSpec(layout, capability), backupOf(layout, capability));
    }
    targets.push({ capability, existed });
  }
  await writeFileAtomic(path.join(layout.journal, INTENT), `${JSON.stringify({ ...intent, targets })}\n`);
}

/** The committed intent of an interrupted archive, if any. */
export async function readJournal(layout: Layout): Promise<Intent | undefined> {
  const text = await readFile(path.join(layout.journal, INTENT), 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as Intent;
  } catch {
    return undefined; // written atomically, so unreadable means tampered with: treat as debris
  }
}

/** Puts the main specs back as they were before the archive began. */
export async function rollBack(layout: Layout, intent: Intent): Promise<void> {
  const specsRoot = await realpath(layout.specs).catch(() => layout.specs);
  for (const { capability, existed } of intent.targets) {
    if (!CAPABILITY.test(capability)) continue;
    const target = mainSpec(layout, capability);
    const folder = await realpath(path.dirname(target)).catch(() => undefined);
    if (folder && !isInside(specsRoot, folder)) continue; // never write through a link that leads out
    if (existed) {
      await mkdir(path.dirname(target), { recursive: true });
      await writeFileAtomic(target, await readFile(backupOf(layout, capability), 'utf8'));
    } else {
      await rm(target, { force: true });
      await rmdir(path.dirname(target)).catch(() => undefined); // only if the archive created it empty
    }
  }
}

/** Removes the journal, intent first. */
export async function clearJournal(layout: Layout): Promise<void> {
  await rm(path.join(layout.journal, INTENT), { force: true });
  await rm(layout.journal, { recursive: true, force: true });
}
