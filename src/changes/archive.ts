/**
 * change.archive: validate, merge and move a change with `openspec archive`, then write its receipt. Runs under the
 * repository's archive lock, recovering first from any archive a crash interrupted (see `journal.ts`).
 */
import { access, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import type { Receipt } from '../../generated/types.gen.js';
import { TaskError } from '../errors.js';
import type { HeldLock } from './archive-lock.js';
import type { Domain } from './domain.js';
import { beginJournal, clearJournal, deltaCapabilities, type Intent, readJournal, rollBack } from './journal.js';
import { assertSlug } from './layout.js';
import { acquireChangeLock, assertNotLockedByOther, LOCK_FILE } from './lock.js';
import { taskProgress, type TaskProgress } from './markdown.js';
import type { Validation } from './openspec-cli.js';
import { readReceipt, type ReceiptInput, writeReceipt } from './receipt.js';
import { archivedName, baseCommit, isOpen } from './state.js';
import type { CallContext, ChangeArchiveInput, ChangeArchiveResult } from './types.js';

/** How long the archiving owner's lock lasts should the archive die midway: long enough to cover the CLI. */
const ARCHIVE_LOCK_TTL = 600;
/** OpenSpec's own claim on the archive destination, stale once the archive it guarded has crashed. */
const CLI_CLAIM = '.openspec-archive.lock';
const MAX_LISTED = 20;

/** change.archive. */
export async function archiveChange(
  domain: Domain,
  input: ChangeArchiveInput,
  ctx: CallContext,
): Promise<ChangeArchiveResult> {
  assertSlug(input.slug);
  const { slug } = input;
  await domain.git.assertWorkTree();
  const { layout } = domain;
  const hasChanges = await access(layout.changes).then(
    () => true,
    () => false,
  );
  if (!hasChanges) throw noChange(slug);
  return domain.archiveLock.run(async (held) => {
    await recover(domain);
    if (await isOpen(layout, slug)) return archiveOpen(domain, held, slug, input.owner ?? ctx.actor, ctx);
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

const receiptUri = (slug: string): string => `change://${slug}/receipt`;

const noChange = (slug: string): TaskError =>
  new TaskError('ENOCHANGE', `There is no open or archived change "${slug}".`, {
    hint: 'Open it with change.open first; read changes://active for the open ones.',
    details: { slug },
  });

/** Finishes or undoes an archive a crash interrupted; a no-op when there is no committed intent. */
async function recover(domain: Domain): Promise<void> {
  const { layout } = domain;
  const intent = await readJournal(layout);
  if (intent && (await isOpen(layout, intent.slug))) {
    await rollBack(layout, intent);
    await rm(path.join(layout.archive, CLI_CLAIM), { force: true });
  } else if (intent) {
    const archivedAs = await archivedName(layout, intent.slug);
    if (archivedAs) await ensureReceipt(domain, archivedAs, intent);
  }
  await clearJournal(layout);
}

/** The archived change's receipt, written now if a crash (or an archive outside task-mcp) left it without. */
async function ensureReceipt(domain: Domain, archivedAs: string, meta: Omit<ReceiptInput, 'archivedAs'>) {
  const existing = await readReceipt(domain, archivedAs);
  if (existing) return existing;
  await rm(path.join(domain.layout.archived(archivedAs), LOCK_FILE), { force: true });
  return writeReceipt(domain, { ...meta, archivedAs });
}

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
  await assertNotLockedByOther(lockFile, owner, domain.clock());
  const validation = await assertReady(domain, slug);
  ctx.progress?.('validate', 1, 3);

  // Hold the lock through the move, so nobody else takes the change between our checks and the archive.
  await acquireChangeLock(lockFile, owner, ARCHIVE_LOCK_TTL, domain.clock());
  const intent: Omit<Intent, 'targets'> = {
    slug,
    actor: ctx.actor,
    base: await baseCommit(folder),
    validation: { checked: true, valid: true, issues: validation.issues.length },
  };
  await beginJournal(layout, intent, await deltaCapabilities(folder));
  const outcome = await domain.cli.archive(slug, held.adopt).catch(async (err: unknown) => {
    await recover(domain);
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

function emitArchived(domain: Domain, receipt: Receipt): void {
  const base = { slug: receipt.slug, actor: receipt.actor, at: receipt.archivedAt };
  domain.events.emit({ ...base, type: 'lock.released' });
  domain.events.emit({ ...base, type: 'change.archived', archivedAs: receipt.archivedAs });
}
