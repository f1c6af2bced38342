/**
 * Putting right what a crash left: an archive interrupted midway (through its journal, journal.ts), a lock whose
 * holder died, and the temp files of writes that never finished. Runs at start (`recoverAtStart`, called once by the
 * composition root) and, for the archive, again under the archive lock before every archive.
 */
import { access, rm } from 'node:fs/promises';
import path from 'node:path';
import type { Receipt } from '../../generated/types.gen.js';
import { sweepDebris } from './debris.js';
import type { Domain } from './domain.js';
import { ensureIgnoreRules } from './ignore-rules.js';
import { clearJournal, type Intent, readJournal, rollBack } from './journal.js';
import type { Layout } from './layout.js';
import { LOCK_FILE } from './lock.js';
import { readLock, swapLock } from './lock-file.js';
import { readReceipt, type ReceiptInput, writeReceipt } from './receipt.js';
import { archivedName, isOpen } from './state.js';
import type { Recovery } from './types.js';

const exists = (file: string): Promise<boolean> =>
  access(file).then(
    () => true,
    () => false,
  );

/** The archived change's receipt, written now if a crash (or an archive outside task-mcp) left it without. */
export async function ensureReceipt(
  domain: Domain,
  archivedAs: string,
  meta: Omit<ReceiptInput, 'archivedAs'>,
): Promise<Receipt> {
  const existing = await readReceipt(domain, archivedAs);
  if (existing) return existing;
  await rm(path.join(domain.layout.archived(archivedAs), LOCK_FILE), { force: true });
  return writeReceipt(domain, { ...meta, archivedAs });
}

/** Gives the change back the lock it had before the archive took it, unless someone has changed it since. */
async function restoreChangeLock(layout: Layout, intent: Intent): Promise<void> {
  if (!intent.lock) return;
  const file = path.join(layout.change(intent.slug), LOCK_FILE);
  if ((await readLock(file))?.raw === intent.lock.during) await swapLock(file, intent.lock.during, intent.lock.before);
}

/** Finishes or undoes the archive a crash interrupted; call it holding the archive lock. */
export async function recoverArchive(domain: Domain): Promise<Recovery['archive']> {
  const { layout } = domain;
  const intent = await readJournal(layout);
  let outcome: Recovery['archive'] = 'none';
  if (intent && (await isOpen(layout, intent.slug))) {
    await rollBack(layout, intent);
    await restoreChangeLock(layout, intent);
    outcome = 'rolled-back';
  } else if (intent) {
    const archivedAs = await archivedName(layout, intent.slug);
    if (archivedAs) await ensureReceipt(domain, archivedAs, intent);
    outcome = 'completed';
  }
  // Every `openspec archive` of ours runs under the archive lock, so a claim left with an intent is a dead CLI's.
  if (intent) await rm(layout.cliClaim, { force: true });
  const debris = !intent && (await exists(layout.journal));
  await clearJournal(layout);
  if (outcome !== 'none') domain.probe.archiveRecovered(outcome === 'rolled-back' ? 'rolled_back' : 'completed');
  else if (debris) domain.probe.archiveRecovered('debris_cleared');
  return outcome;
}

/**
 * Start-up recovery: finishes or undoes an interrupted archive if its lock is free or its holder is dead (a live
 * holder, another instance, recovers its own), sweeps debris, and writes the ignore rules.
 */
export async function recoverAtStart(domain: Domain): Promise<Recovery> {
  const { layout } = domain;
  const pending = (await exists(layout.archiveLock)) || (await exists(layout.journal));
  const archive = pending ? ((await domain.archiveLock.runIfFree(() => recoverArchive(domain))) ?? 'busy') : 'none';
  const removed = await sweepDebris(layout);
  if (await exists(layout.openspec)) await ensureIgnoreRules(layout);
  return { archive, removed };
}
