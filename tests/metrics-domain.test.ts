/**
 * The domain's metrics, recorded through its probe (src/telemetry.ts) on a real repository with the real git and
 * OpenSpec CLI: change.open and change.archive by outcome, each subprocess by command and subcommand, a lock found
 * held (a change's, the archive lock), and what an archive's recovery did.
 */
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createArchiveLock } from '../src/changes/archive-lock.js';
import { createChangeService } from '../src/changes/index.js';
import type { ChangeService } from '../src/changes/types.js';
import { beginJournal, deltaCapabilities } from '../src/changes/journal.js';
import { createLayout } from '../src/changes/layout.js';
import { createMetrics, type Metrics } from '../src/metrics/index.js';
import { domainProbe } from '../src/telemetry.js';
import { parseExposition, valueOf, type Sample } from './helpers/exposition.js';
import { addedDelta, checkAllTasks, createTempRepo, rejectsWith, writeDelta, type TempRepo } from './helpers/repo.js';

const OPERATION = 'task_mcp_change_operation_duration_seconds_count';
const SUBPROCESS = 'task_mcp_subprocess_duration_seconds_count';
const CONTENDED = 'task_mcp_lock_contentions_total';
const RECOVERED = 'task_mcp_archive_recoveries_total';

describe('domain metrics', () => {
  let repo: TempRepo;
  let metrics: Metrics;
  let service: ChangeService;
  const samples = async (): Promise<Sample[]> => parseExposition((await metrics.expose()).body);

  /** Opens `slug` with a valid delta and every task checked, committed: ready to archive. */
  async function readyChange(slug: string): Promise<void> {
    await service.open({ slug, title: `Change ${slug}` }, { actor: 'alice' });
    await writeDelta(repo.root, slug, slug, addedDelta(`Do ${slug}`));
    await checkAllTasks(repo.root, slug);
    await repo.commit(`work on ${slug}`);
  }

  before(async () => {
    repo = await createTempRepo();
    metrics = createMetrics({ callerLabels: false, maxStreams: 10, defaultCollectors: false });
    const probe = domainProbe(metrics, undefined);
    service = createChangeService({ repoRoot: repo.root, events: { emit() {} }, version: '0.0.0-test', probe });
  });
  after(() => repo.remove());

  it('times change.open by outcome, and each git and openspec run it makes', async () => {
    await service.open({ slug: 'add-search', title: 'Add search' }, { actor: 'alice' });
    const after = await samples();
    assert.equal(valueOf(after, OPERATION, { operation: 'change.open', outcome: 'ok' }), 1);
    assert.equal(valueOf(after, SUBPROCESS, { command: 'openspec', subcommand: 'init' }), 1);
    assert.ok(valueOf(after, SUBPROCESS, { command: 'git', subcommand: 'rev-parse' })! >= 2);
    assert.equal(valueOf(after, SUBPROCESS, { command: 'git', subcommand: 'version' }), 1);
  });

  it("counts a change's lock found held, and the refused open under its code", async () => {
    await rejectsWith(service.open({ slug: 'add-search', title: 'Add search' }, { actor: 'bob' }), 'ELOCKED');
    const after = await samples();
    assert.equal(valueOf(after, CONTENDED, { lock: 'change' }), 1);
    assert.equal(valueOf(after, OPERATION, { operation: 'change.open', outcome: 'ELOCKED' }), 1);
  });

  it('times change.archive and its OpenSpec runs (validate, then archive)', async () => {
    await readyChange('ship-it');
    await service.archive({ slug: 'ship-it' }, { actor: 'alice' });
    const after = await samples();
    assert.equal(valueOf(after, OPERATION, { operation: 'change.archive', outcome: 'ok' }), 1);
    assert.equal(valueOf(after, SUBPROCESS, { command: 'openspec', subcommand: 'validate' }), 1);
    assert.equal(valueOf(after, SUBPROCESS, { command: 'openspec', subcommand: 'archive' }), 1);
    assert.equal(valueOf(after, SUBPROCESS, { command: 'git', subcommand: 'log' }), 1);
  });

  it('counts the recovery that rolls back an archive a crash interrupted before the move', async () => {
    await readyChange('crash-mid');
    const layout = createLayout(repo.root);
    const base = (await repo.git.revparse(['HEAD~1'])).trim();
    const intent = { slug: 'crash-mid', actor: 'alice', base, validation: { checked: true, valid: true, issues: 0 } };
    await beginJournal(layout, intent, await deltaCapabilities(layout.change('crash-mid')));
    await service.archive({ slug: 'crash-mid' }, { actor: 'alice' });
    assert.equal(valueOf(await samples(), RECOVERED, { action: 'rolled_back' }), 1);
  });

  it('counts the recovery that clears a journal left without its intent (debris)', async () => {
    await readyChange('after-debris');
    await mkdir(path.join(createLayout(repo.root).journal, 'backup'), { recursive: true });
    await service.archive({ slug: 'after-debris' }, { actor: 'alice' });
    const after = await samples();
    assert.equal(valueOf(after, RECOVERED, { action: 'debris_cleared' }), 1);
    assert.equal(valueOf(after, RECOVERED, { action: 'rolled_back' }), 1, 'the earlier one, not counted again');
  });

  it('tells of an archive refused because another holds the archive lock past the wait', async () => {
    const file = createLayout(repo.root).archiveLock;
    let contended = 0;
    const holder = createArchiveLock(file);
    const waiter = createArchiveLock(file, { waitMs: 50, onContended: () => contended++ });
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let taken!: () => void;
    const holding = new Promise<void>((resolve) => (taken = resolve));
    const running = holder.run(async () => {
      taken();
      await held;
    });
    await holding;
    await rejectsWith(
      waiter.run(async () => undefined),
      'ELOCKED',
    );
    release();
    await running;
    assert.equal(contended, 1);
  });
});
