/**
 * Archives interrupted by a crash, and archives racing each other. A crash is reproduced by leaving the repository
 * exactly as a killed process would: the journal committed, then the CLI's work done (or half done) by hand.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { access, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import type { Receipt } from '../generated/types.gen.js';
import { beginJournal, deltaCapabilities, type Intent } from '../src/changes/journal.js';
import { newLock } from '../src/changes/lock.js';
import { createLayout } from '../src/changes/layout.js';
import { addedDelta, checkAllTasks, serve, writeDelta, useServedRepo } from './helpers/repo.js';

const OPENSPEC = path.resolve('node_modules/@fission-ai/openspec/bin/openspec.js');
const exists = (file: string) =>
  access(file).then(
    () => true,
    () => false,
  );

/** Runs the real CLI the way the service does, standing in for the part of an archive that ran before a crash. */
async function openspecArchive(root: string, slug: string): Promise<string> {
  const env = { ...process.env, OPENSPEC_TELEMETRY: '0', OPENSPEC_NO_UPDATE_CHECK: '1', NO_COLOR: '1' };
  const { stdout } = await promisify(execFile)(process.execPath, [OPENSPEC, 'archive', slug, '--yes', '--json'], {
    cwd: root,
    env,
  });
  return (JSON.parse(stdout) as { archive: { archivedAs: string } }).archive.archivedAs;
}

describe('archive crash recovery', () => {
  const { repo, h } = useServedRepo();
  const layout = () => createLayout(repo.root);
  const mainSpec = (capability: string) => path.join(repo.root, 'openspec', 'specs', capability, 'spec.md');

  /** Opens `slug` with one valid ADDED delta per capability and all tasks checked, and commits it. */
  async function readyChange(slug: string, capabilities: string[]): Promise<void> {
    await h.service.open({ slug, title: `Change ${slug}` }, { actor: 'alice' });
    for (const capability of capabilities) await writeDelta(repo.root, slug, capability, addedDelta(`Do ${slug}`));
    await checkAllTasks(repo.root, slug);
    await repo.commit(`work on ${slug}`);
  }

  /** Commits the journal as the service does just before it runs `openspec archive`. */
  async function journal(slug: string, lock?: Intent['lock']): Promise<void> {
    const folder = layout().change(slug);
    const base = (await repo.git.revparse(['HEAD~1'])).trim();
    const intent = { slug, actor: 'crashed-alice', base, validation: { checked: true, valid: true, issues: 0 }, lock };
    await beginJournal(layout(), intent, await deltaCapabilities(folder));
  }

  it('gives an archive that crashed after the move, before its receipt, the receipt on the next call', async () => {
    await readyChange('crash-late', ['late']);
    await journal('crash-late');
    const archivedAs = await openspecArchive(repo.root, 'crash-late');
    const result = await h.service.archive({ slug: 'crash-late' }, { actor: 'bob' });
    assert.equal(result.alreadyArchived, true);
    assert.equal(result.archivedAs, archivedAs);
    assert.equal(result.receipt.actor, 'crashed-alice', 'the receipt is the interrupted archive’s');
    assert.equal(result.receipt.specsUpdated.added, 1);
    const onDisk = JSON.parse(
      await readFile(path.join(layout().archived(archivedAs), 'receipt.json'), 'utf8'),
    ) as Receipt;
    assert.deepEqual(onDisk, result.receipt);
    assert.equal(await exists(path.join(layout().archived(archivedAs), '.lock')), false, 'the moved lock is released');
    assert.equal(await exists(layout().journal), false);
    const resource = await h.service.readResource('change://crash-late/receipt');
    assert.deepEqual(JSON.parse(resource.text), result.receipt);
  });

  it('gives a change archived by hand (no journal, no receipt) a receipt on the next call', async () => {
    await readyChange('by-hand', ['hand']);
    const archivedAs = await openspecArchive(repo.root, 'by-hand');
    const result = await h.service.archive({ slug: 'by-hand' }, { actor: 'bob' });
    assert.equal(result.alreadyArchived, true);
    assert.equal(result.archivedAs, archivedAs);
    assert.equal(result.receipt.actor, 'bob');
    assert.deepEqual(
      result.receipt.validation,
      { checked: false, valid: false, issues: 0 },
      'not validated by task-mcp',
    );
    assert.equal(result.receipt.commits[0]?.subject, 'work on by-hand');
  });

  it('rolls back an archive that crashed between the spec merge and the move, then archives once', async () => {
    await repo.commit('existing spec', 'README.md', 'x\n');
    await mkdir(path.dirname(mainSpec('kept')), { recursive: true });
    const original = (await readFile(mainSpec('late'), 'utf8')).replace('late', 'kept');
    await writeFile(mainSpec('kept'), original);
    await readyChange('crash-mid', ['kept', 'fresh']);
    await journal('crash-mid');
    // What a crash mid-merge leaves: main specs rewritten, a new one created, the CLI's claim, the change not moved.
    await writeFile(mainSpec('kept'), 'HALF-MERGED\n');
    await mkdir(path.dirname(mainSpec('fresh')), { recursive: true });
    await writeFile(mainSpec('fresh'), 'HALF-MERGED\n');
    await writeFile(path.join(layout().archive, '.openspec-archive.lock'), '{"pid":1}');

    const result = await h.service.archive({ slug: 'crash-mid' }, { actor: 'alice' });
    assert.equal(result.alreadyArchived, false);
    const kept = await readFile(mainSpec('kept'), 'utf8');
    assert.ok(!kept.includes('HALF-MERGED'), 'the backup was restored before the merge');
    assert.equal(kept.match(/### Requirement: Do crash-mid/g)?.length, 1, 'merged exactly once');
    assert.ok(kept.includes('### Requirement: Do crash-late'), 'what was there before is kept');
    const fresh = await readFile(mainSpec('fresh'), 'utf8');
    assert.ok(!fresh.includes('HALF-MERGED') && fresh.includes('### Requirement: Do crash-mid'));
    assert.equal(result.receipt.actor, 'alice');
    assert.equal(await exists(layout().journal), false);
  });

  it('gives the change its lock back when it undoes an archive that had taken it; the owner archives at once', async () => {
    await readyChange('lock-back', ['lockback']);
    const lockFile = path.join(layout().change('lock-back'), '.lock');
    const before = await readFile(lockFile, 'utf8');
    const during = newLock('alice', 600, new Date()).text;
    await journal('lock-back', { before, during });
    await writeFile(lockFile, during); // the archive's own lock on the change, as a crash leaves it
    const recovery = await h.service.recover();
    assert.deepEqual(recovery, { archive: 'rolled-back', removed: [] });
    assert.equal(await readFile(lockFile, 'utf8'), before, 'the lock is as it was before the archive');
    const result = await h.service.archive({ slug: 'lock-back' }, { actor: 'alice' });
    assert.equal(result.alreadyArchived, false);
  });

  it('takes over an archive lock left by a crashed process', async () => {
    await readyChange('after-stale', ['stale']);
    const since = new Date(Date.now() - 60 * 60_000).toISOString();
    await writeFile(layout().archiveLock, JSON.stringify({ pid: 999999, host: 'gone', since, token: 'old' }));
    const result = await h.service.archive({ slug: 'after-stale' }, { actor: 'alice' });
    assert.equal(result.alreadyArchived, false);
    assert.equal(await exists(layout().archiveLock), false);
  });

  it('serializes archives from two service instances (as two processes would run them)', async () => {
    await readyChange('left-one', ['left']);
    await readyChange('right-one', ['right']);
    const other = serve(repo);
    const [left, right] = await Promise.all([
      h.service.archive({ slug: 'left-one' }, { actor: 'alice' }),
      other.service.archive({ slug: 'right-one' }, { actor: 'alice' }),
    ]);
    assert.equal(left.alreadyArchived || right.alreadyArchived, false);
    assert.match(await readFile(mainSpec('left'), 'utf8'), /Do left-one/);
    assert.match(await readFile(mainSpec('right'), 'utf8'), /Do right-one/);
    assert.equal(await exists(layout().archiveLock), false);
  });
});
