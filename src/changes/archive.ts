/**
 * change.archive: validate, merge and move a change with `openspec archive`, then write its receipt. Runs under the
 * repository's archive lock, recovering first from any archive a crash interrupted (see `journal.ts`, `recovery.ts`).
 */
import { access, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { RESOURCE_URIS } from '../../generated/resources.gen.js';
import type { Receipt } from '../../generated/types.gen.js';
import { TaskError } from '../errors.js';
import type { HeldLock } from './archive-lock.js';
import { sweepFolder } from './debris.js';
import type { Domain } from './domain.js';
import { beginJournal, clearJournal, deltaCapabilities, type Intent } from './journal.js';
import { assertSlug } from './layout.js';
import { acquireChangeLock, assertNotLockedByOther, LOCK_FILE, newLock } from './lock.js';
import { readLock } from './lock-file.js';
import { taskProgress, type TaskProgress } from './markdown.js';
import { ownerFor } from './owner.js';
import { reportingContention } from './probe.js';
import type { Validation } from './openspec-cli.js';
import { writeReceipt } from './receipt.js';
import { ensureReceipt, recoverArchive } from './recovery.js';
import { archivedName, baseCommit, isOpen } from './state.js';
import type { CallContext, ChangeArchiveInput, ChangeArchiveResult } from './types.js';

/** The archiving owner's lock through the move: long enough to cover the CLI (a crash gives the old one back). */
const ARCHIVE_LOCK_TTL = 600;
const MAX_LISTED = 20;

/** change.archive. */
export async function archiveChange(
  domain: Domain,
  input: ChangeArchiveInput,
  ctx: CallContext,
): Promise<ChangeArchiveResult> {
  assertSlug(input.slug);
  const { slug } = input;
  const owner = ownerFor(input.owner, ctx.actor);
  await domain.git.assertWorkTree();
  const { layout } = domain;
  const hasChanges = await access(layout.changes).then(
    () => true,
    () => false,
  );
  if (!hasChanges) throw noChange(slug);
  return domain.archiveLock.run(async (held) => {
    await recoverArchive(domain);
    if (await isOpen(layout, slug)) return archiveOpen(domain, held, slug, owner, ctx);
    const archivedAs = await archivedName(layout, slug);
    if (!archivedAs) throw noChange(slug);
    // Archived outside task-mcp (no journal, no receipt): the receipt is made now, by the caller, unvalidated.
    const receipt = await ensureReceipt(domain, archivedAs, {
      slug,
      actor: ctx.actor,
      base: await baseCommit(layout.archived(archivedAs)),
      validation: { checked: false, valid: false, issues: 0 },
    });
    return { archived: true, alreadyArchived: true, archivedAs, receiptUri: receiptUri(slug), receipt };
  });
}

const receiptUri = (slug: string): string => RESOURCE_URIS['change-receipt']({ slug });

const noChange = (slug: string): TaskError =>
  new TaskError('ENOCHANGE', `There is no open or archived change "${slug}".`, {
    hint: 'Open it with change.open first; read changes://active for the open ones.',
    details: { slug },
  });

/**
 * The change's checklist. A change without one cannot show that its work is done ("every task checked" would hold
 * vacuously), so a missing tasks.md, or one that lists no task, is ENOTASKS.
 */
async function readTasks(domain: Domain, slug: string): Promise<TaskProgress> {
  const text = await readFile(path.join(domain.layout.change(slug), 'tasks.md'), 'utf8').catch((err: unknown) => {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  });
  const tasks = text === undefined ? undefined : taskProgress(text);
  if (tasks && tasks.total > 0) return tasks;
  const missing = text === undefined;
  throw new TaskError(
    'ENOTASKS',
    missing ? `The change "${slug}" has no tasks.md.` : `The tasks.md of "${slug}" lists no tasks.`,
    {
      hint: 'List the work in tasks.md as checkboxes ("- [ ] 1.1 …"), check each off when done ("- [x]"), then archive again.',
      details: { slug, tasksFile: missing ? 'missing' : 'empty' },
    },
  );
}

/** Refuses a change without tasks, one that `openspec validate --strict` rejects, or one with open tasks. */
async function assertReady(domain: Domain, slug: string): Promise<Validation> {
  const tasks = await readTasks(domain, slug);
  const validation = await domain.cli.validate(slug);
  if (!validation.valid) {
    throw new TaskError('EBADSHAPE', `The change "${slug}" does not pass strict OpenSpec validation.`, {
      hint:
        'Fix the issues listed in details (each delta needs a "## ADDED|MODIFIED|REMOVED|RENAMED Requirements" ' +
        'section, requirements with SHALL or MUST, and at least one "#### Scenario:").',
      details: { issueCount: validation.issues.length, issues: validation.issues.slice(0, MAX_LISTED) },
    });
  }
  if (tasks.open.length > 0) {
    throw new TaskError('ETASKS_INCOMPLETE', `${tasks.open.length} of ${tasks.total} tasks are still open.`, {
      hint: 'Finish the open tasks and check them off in tasks.md ("- [x]").',
      details: { done: tasks.done, total: tasks.total, open: tasks.open.slice(0, MAX_LISTED) },
    });
  }
  return validation;
}

async function archiveOpen(domain: Domain, held: HeldLock, slug: string, owner: string, ctx: CallContext) {
  const { layout } = domain;
  const folder = layout.change(slug);
  const lockFile = path.join(folder, LOCK_FILE);
  await reportingContention(domain.probe, 'change', assertNotLockedByOther(lockFile, owner, domain.clock()));
  const validation = await assertReady(domain, slug);
  ctx.progress?.('validate', 1, 3);

  const now = domain.clock();
  const intent: Omit<Intent, 'targets'> = {
    slug,
    actor: ctx.actor,
    base: await baseCommit(folder),
    validation: { checked: true, valid: true, issues: validation.issues.length },
    // Recorded first, so that an archive undone after a crash gives the change its lock back as it was.
    lock: { before: (await readLock(lockFile))?.raw ?? null, during: newLock(owner, ARCHIVE_LOCK_TTL, now).text },
  };
  await sweepFolder(folder); // what a crash left there would be archived along with the change
  await beginJournal(layout, intent, await deltaCapabilities(folder));
  const outcome = await moveChange(domain, held, slug, owner, now).catch(async (err: unknown) => {
    await recoverArchive(domain);
    throw err;
  });
  ctx.progress?.('archive', 2, 3);

  await rm(path.join(layout.archived(outcome.archivedAs), LOCK_FILE), { force: true });
  const receipt = await writeReceipt(domain, { ...intent, archivedAs: outcome.archivedAs, totals: outcome.totals });
  await clearJournal(layout);
  ctx.progress?.('receipt', 3, 3);
  emitArchived(domain, receipt);
  return {
    archived: true as const,
    alreadyArchived: false,
    archivedAs: outcome.archivedAs,
    receiptUri: receiptUri(slug),
    receipt,
  };
}

/** Runs `openspec archive`, holding the change's lock through the move so nobody takes it between check and move. */
async function moveChange(domain: Domain, held: HeldLock, slug: string, owner: string, now: Date) {
  const file = path.join(domain.layout.change(slug), LOCK_FILE);
  await reportingContention(domain.probe, 'change', acquireChangeLock(file, owner, ARCHIVE_LOCK_TTL, now));
  return domain.cli.archive(slug, held.adopt);
}

function emitArchived(domain: Domain, receipt: Receipt): void {
  const base = { slug: receipt.slug, actor: receipt.actor, at: receipt.archivedAt };
  domain.events.emit({ ...base, type: 'lock.released' });
  domain.events.emit({ ...base, type: 'change.archived', archivedAs: receipt.archivedAs });
}
