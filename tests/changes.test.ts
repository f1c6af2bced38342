/**
 * change.open and change.archive on real temp git repos with the real OpenSpec CLI: a change's life from the first
 * open to its receipt, and each refusal on the way. Locks and races: tests/changes-locks.test.ts.
 */
import assert from 'node:assert/strict';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import type { Receipt } from '../generated/types.gen.js';
import { addedDelta, checkAllTasks, rejectsWith, writeDelta, type TempRepo, useServedRepo } from './helpers/repo.js';

const changeDir = (repo: TempRepo, slug: string) => path.join(repo.root, 'openspec', 'changes', slug);
const read = (repo: TempRepo, rel: string) => readFile(path.join(repo.root, rel), 'utf8');
/** Every path under openspec/ with its content: what an archive would move or write. */
const snapshot = async (repo: TempRepo): Promise<Record<string, string>> => {
  const root = path.join(repo.root, 'openspec');
  const entries = await readdir(root, { recursive: true, withFileTypes: true });
  const files = entries.filter((e) => e.isFile()).map((e) => path.join(e.parentPath, e.name));
  return Object.fromEntries(
    await Promise.all(files.map(async (f) => [path.relative(root, f), await readFile(f, 'utf8')])),
  );
};

describe('change.open and change.archive', () => {
  const { repo, h } = useServedRepo();

  it('initializes a repo without openspec/ and scaffolds the change with its base commit', async () => {
    const head = (await repo.git.revparse(['HEAD'])).trim();
    const result = await h.service.open(
      { slug: 'add-greeting', title: 'Add a greeting', rationale: 'Users want to be greeted when they arrive.' },
      { actor: 'alice' },
    );
    assert.equal(result.created, true);
    assert.equal(result.locked, true);
    assert.equal(result.lock.owner, 'alice');
    assert.equal(result.lock.ttl, 3600);
    assert.deepEqual(result.paths, {
      change: 'openspec/changes/add-greeting',
      proposal: 'openspec/changes/add-greeting/proposal.md',
      tasks: 'openspec/changes/add-greeting/tasks.md',
      specs: 'openspec/changes/add-greeting/specs',
    });
    assert.equal(result.resourceUris.delta, 'change://add-greeting/delta');
    assert.equal(result.toolVersions.openspec, '1.13.2');
    assert.ok(JSON.stringify(result).length < 2048, 'the result stays compact');
    assert.match(await read(repo, 'openspec/config.yaml'), /schema: spec-driven/);
    const metadata = parse(await read(repo, 'openspec/changes/add-greeting/.openspec.yaml')) as Record<string, string>;
    assert.equal(metadata.schema, 'spec-driven');
    assert.equal(metadata.base_commit, head);
    assert.match(metadata.created ?? '', /^\d{4}-\d{2}-\d{2}$/);
    const proposal = await read(repo, result.paths.proposal);
    for (const section of ['## Why', '## What Changes', '## Capabilities', '## Impact'])
      assert.ok(proposal.includes(section));
    assert.ok(proposal.includes('Users want to be greeted when they arrive.'));
    assert.match(await read(repo, result.paths.tasks), /^## 1\. .+\n\n- \[ \] 1\.1 /);
    assert.deepEqual(h.events.at(-1), {
      type: 'change.opened',
      slug: 'add-greeting',
      actor: 'alice',
      at: result.lock.since,
    });
  });

  it('resumes an open change without overwriting any file', async () => {
    const proposal = path.join(changeDir(repo, 'add-greeting'), 'proposal.md');
    await writeFile(proposal, '# Edited by hand\n');
    const result = await h.service.open(
      { slug: 'add-greeting', title: 'Another title', template: 'chore' },
      { actor: 'alice' },
    );
    assert.equal(result.created, false);
    assert.equal(await readFile(proposal, 'utf8'), '# Edited by hand\n');
    assert.equal(h.events.at(-1)?.type, 'change.resumed');
  });

  it('refuses to archive a change whose tasks are open (ETASKS_INCOMPLETE with the open items)', async () => {
    await writeDelta(repo.root, 'add-greeting', 'greeting', addedDelta('Greet the user'));
    const err = await rejectsWith(
      h.service.archive({ slug: 'add-greeting' }, { actor: 'alice' }),
      'ETASKS_INCOMPLETE',
      repo.root,
    );
    assert.equal(err.details?.done, 0);
    assert.equal(err.details?.total, 6);
    assert.equal((err.details?.open as unknown[]).length, 6);
  });

  it('archives: merges the delta into openspec/specs and writes a receipt listing the real commits', async () => {
    const base = (await repo.git.revparse(['HEAD'])).trim();
    const first = await repo.commit('feat: greet users', 'greet.txt', 'hello\n');
    await checkAllTasks(repo.root, 'add-greeting');
    const second = await repo.commit('docs: tasks done');
    const steps: string[] = [];
    const result = await h.service.archive(
      { slug: 'add-greeting' },
      { actor: 'alice', progress: (step, n, total) => steps.push(`${step} ${n}/${total}`) },
    );
    assert.deepEqual(steps, ['validate 1/3', 'archive 2/3', 'receipt 3/3']);
    assert.equal(result.alreadyArchived, false);
    assert.match(result.archivedAs, /^\d{4}-\d{2}-\d{2}-add-greeting$/);
    assert.equal(result.receiptUri, 'change://add-greeting/receipt');
    assert.match(await read(repo, 'openspec/specs/greeting/spec.md'), /### Requirement: Greet the user/);
    const receipt = JSON.parse(
      await read(repo, `openspec/changes/archive/${result.archivedAs}/receipt.json`),
    ) as Receipt;
    assert.deepEqual(receipt, result.receipt);
    assert.equal(receipt.gitRange.head, second);
    assert.deepEqual(
      receipt.commits.map((c) => c.sha),
      [second, first],
    );
    assert.deepEqual(
      receipt.commits.map((c) => c.subject),
      ['docs: tasks done', 'feat: greet users'],
    );
    assert.equal(receipt.commits[0]?.author, 'Test Author');
    assert.ok(receipt.filesTouched.includes('greet.txt'));
    assert.ok(receipt.gitRange.base.length === 40 && base !== second);
    assert.deepEqual(receipt.specsUpdated, {
      capabilities: ['greeting'],
      added: 1,
      modified: 0,
      removed: 0,
      renamed: 0,
    });
    assert.deepEqual(receipt.validation, { checked: true, valid: true, issues: 0 });
    assert.equal(receipt.actor, 'alice');
    assert.equal(receipt.toolVersions.node, process.versions.node);
    assert.deepEqual(
      h.events.slice(-2).map((e) => e.type),
      ['lock.released', 'change.archived'],
    );
    assert.equal(h.events.at(-1)?.archivedAs, result.archivedAs);
    await assert.rejects(readFile(path.join(repo.root, 'openspec/changes/archive', result.archivedAs, '.lock')));
    await assert.rejects(readFile(path.join(repo.root, 'openspec/changes/.archive.lock')));
  });

  it('re-archiving an archived change returns its receipt instead of failing', async () => {
    const again = await h.service.archive({ slug: 'add-greeting' }, { actor: 'bob' });
    assert.equal(again.alreadyArchived, true);
    assert.equal(again.receipt.actor, 'alice');
    assert.equal(again.receiptUri, 'change://add-greeting/receipt');
  });

  it('refuses to open an archived slug (EARCHIVED)', async () => {
    await rejectsWith(
      h.service.open({ slug: 'add-greeting', title: 'Again' }, { actor: 'alice' }),
      'EARCHIVED',
      repo.root,
    );
  });

  it('refuses to archive a change that strict validation rejects (EBADSHAPE with the CLI issues)', async () => {
    await h.service.open({ slug: 'no-deltas', title: 'No deltas' }, { actor: 'alice' });
    await checkAllTasks(repo.root, 'no-deltas');
    const err = await rejectsWith(h.service.archive({ slug: 'no-deltas' }, { actor: 'alice' }), 'EBADSHAPE', repo.root);
    const issues = err.details?.issues as { message: string }[];
    assert.ok(issues.some((i) => /delta/i.test(i.message)));
  });

  it('refuses to archive a change whose tasks.md is missing or lists no task (ENOTASKS), moving nothing', async () => {
    await h.service.open({ slug: 'no-tasks', title: 'No tasks' }, { actor: 'alice' });
    await writeDelta(repo.root, 'no-tasks', 'tasks-gone', addedDelta('Keep a checklist'));
    const tasks = path.join(changeDir(repo, 'no-tasks'), 'tasks.md');
    await rm(tasks);
    const before = await snapshot(repo);
    const missing = await rejectsWith(
      h.service.archive({ slug: 'no-tasks' }, { actor: 'alice' }),
      'ENOTASKS',
      repo.root,
    );
    assert.deepEqual(missing.details, { slug: 'no-tasks', tasksFile: 'missing' });
    assert.deepEqual(await snapshot(repo), before, 'nothing moved');
    await writeFile(tasks, '# Tasks\n\nNothing to do, really.\n');
    const empty = await rejectsWith(h.service.archive({ slug: 'no-tasks' }, { actor: 'alice' }), 'ENOTASKS', repo.root);
    assert.deepEqual(empty.details, { slug: 'no-tasks', tasksFile: 'empty' });
    await rm(tasks);
    assert.deepEqual(await snapshot(repo), before, 'nothing moved');
  });

  it('maps an OpenSpec archive refusal it has no code for to EOPENSPEC', async () => {
    await h.service.open({ slug: 'clash', title: 'Clash' }, { actor: 'alice' });
    await writeDelta(repo.root, 'clash', 'clash', addedDelta('Clash politely'));
    await checkAllTasks(repo.root, 'clash');
    // `openspec archive` names the folder by the local date and refuses an existing one.
    const now = new Date();
    const day = [now.getFullYear(), now.getMonth() + 1, now.getDate()].map((n) => String(n).padStart(2, '0')).join('-');
    await writeDelta(repo.root, `archive/${day}-clash`, 'x', 'taken\n');
    const err = await rejectsWith(h.service.archive({ slug: 'clash' }, { actor: 'alice' }), 'EOPENSPEC', repo.root);
    assert.equal(err.details?.openspecCode, 'archive_target_exists');
    await assert.rejects(readFile(path.join(repo.root, 'openspec/specs/clash/spec.md')), 'no spec merged');
    await assert.rejects(readFile(path.join(repo.root, 'openspec/changes/.archive-journal/intent.json')));
  });

  it('refuses to archive an unknown slug (ENOCHANGE)', async () => {
    await rejectsWith(h.service.archive({ slug: 'never-opened' }, { actor: 'alice' }), 'ENOCHANGE', repo.root);
  });

  it('refuses slugs that are not change names or try to escape (EBADSLUG)', async () => {
    for (const slug of ['../../etc', 'Add_Thing', 'a', '/abs/path', 'archive', 'x%2F..', 'ok-slug/../x']) {
      await rejectsWith(h.service.open({ slug, title: 'Bad' }, { actor: 'alice' }), 'EBADSLUG');
      await rejectsWith(h.service.archive({ slug }, { actor: 'alice' }), 'EBADSLUG');
    }
  });

  it('refuses a malformed owner itself, whoever calls it (EBADINPUT)', async () => {
    await rejectsWith(
      h.service.open({ slug: 'bad-input', title: 'T', owner: 'alice/../x' }, { actor: 'alice' }),
      'EBADINPUT',
    );
  });
});
