/**
 * What task-mcp writes for itself: temp files removed when a write fails (a real full tmpfs), leftovers of crashed
 * processes swept at start, and all of it kept out of git by `openspec/.gitignore`.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { lstat, mkdir, readdir, readFile, symlink, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import { createFileExclusive, writeFileAtomic } from '../src/changes/atomic-write.js';
import { SELF, tagFor } from '../src/changes/process-identity.js';
import { addedDelta, checkAllTasks, writeDelta, useServedRepo } from './helpers/repo.js';
import { mountTmpfs } from './helpers/tmpfs.js';

/** Whether anything (a file, a folder, a dangling link) is at `file`. */
const exists = (file: string): Promise<boolean> =>
  lstat(file).then(
    () => true,
    () => false,
  );

/** The tag of a process of this host that has exited, as its temp files carry it. */
async function deadTag(): Promise<string> {
  const child = spawn(process.execPath, ['-e', '']);
  await once(child, 'exit');
  return tagFor({ pid: child.pid!, startTime: '1' });
}

describe('temp files of failed writes', () => {
  it('removes the temp file of a write that fails on a full disk', async () => {
    const disk = await mountTmpfs(64 * 1024);
    try {
      await disk.fill();
      const target = path.join(disk.dir, 'target.json');
      await assert.rejects(writeFileAtomic(target, '{"a":1}\n'), { code: 'ENOSPC' });
      await assert.rejects(createFileExclusive(target, '{"a":1}\n'), { code: 'ENOSPC' });
      assert.deepEqual(await readdir(disk.dir), ['.fill'], 'no temp file left');
    } finally {
      await disk.unmount();
    }
  });
});

describe('what task-mcp writes for itself', () => {
  const { repo, h } = useServedRepo();
  const at = (...rel: string[]) => path.join(repo.root, 'openspec', ...rel);

  before(async () => {
    await h.service.open({ slug: 'swept', title: 'Swept' }, { actor: 'alice' });
  });

  it('sweeps at start what crashed processes left, and nothing a live process may still be writing', async () => {
    const dead = await deadTag();
    const unknown = `${process.pid}-1-x`; // a maker of another scope: judged by age only
    const gone = [
      `openspec/changes/swept/..lock.tmp-${dead}-0a`,
      `openspec/changes/.new-one.staging-${dead}-0b`,
      'openspec/changes/.archive.lock.swap-0123456789abcdef',
      `openspec/specs/cap/.spec.md.tmp-${dead}-0c`,
      `openspec/changes/archive/2026-01-01-old/.receipt.json.tmp-${dead}-0d`,
      `openspec/..gitignore.tmp-${dead}-0e`,
      `openspec/changes/swept/..lock.tmp-${unknown}-0f`,
      'openspec/changes/swept/..lock.tmp-0123456789ab', // untagged, from an earlier version
    ];
    const aged = gone.slice(-2);
    const kept = [
      `openspec/changes/swept/..lock.tmp-${SELF.tag}-10`,
      `openspec/changes/swept/..lock.tmp-${unknown}-11`,
      'openspec/changes/swept/notes.tmp-12',
      'openspec/changes/swept/..lock.tmp-ba9876543210',
    ];
    for (const rel of [...gone, ...kept]) {
      // A staging folder is a folder (with what was written of the new change); a guard links to its maker's tag.
      const file = rel.includes('.staging-') ? path.join(repo.root, rel, 'proposal.md') : path.join(repo.root, rel);
      await mkdir(path.dirname(file), { recursive: true });
      await (rel.includes('.swap-') ? symlink(dead, file) : writeFile(file, 'partial'));
    }
    const old = new Date(Date.now() - 5 * 60_000);
    for (const rel of aged) await utimes(path.join(repo.root, rel), old, old);
    // A crash mid-archive also leaves the archive lock of the dead process and a journal without its intent.
    await writeFile(
      at('changes', '.archive.lock'),
      JSON.stringify({ pid: Number(dead.split('-')[0]), scope: SELF.scope }),
    );
    await mkdir(at('changes', '.archive-journal', 'backup'), { recursive: true });

    const recovery = await h.service.recover();
    assert.deepEqual(recovery.removed.sort(), [...gone].sort());
    assert.equal(recovery.archive, 'none', 'no archive was interrupted past its commit point');
    for (const rel of gone) assert.equal(await exists(path.join(repo.root, rel)), false, `${rel} was swept`);
    for (const rel of kept) assert.equal(await exists(path.join(repo.root, rel)), true, `${rel} was kept`);
    assert.equal(await exists(at('changes', '.archive.lock')), false, 'the dead process’s lock is gone');
    assert.equal(await exists(at('changes', '.archive-journal')), false, 'the journal debris is gone');
  });

  it('keeps its working files out of `git add -A` and out of the receipt', async () => {
    await writeDelta(repo.root, 'swept', 'swept', addedDelta('Sweep'));
    await checkAllTasks(repo.root, 'swept');
    const dead = await deadTag();
    const working = [
      'openspec/changes/.archive.lock.swap-0123456789abcdef',
      'openspec/changes/.archive-journal/backup/x/spec.md',
      'openspec/changes/swept/.lock',
      `openspec/changes/swept/..lock.tmp-${SELF.tag}-01`,
      `openspec/changes/swept/..lock.tmp-${dead}-02`,
      `openspec/changes/.other.staging-${SELF.tag}-03/proposal.md`,
      `openspec/specs/swept/.spec.md.tmp-${SELF.tag}-04`,
    ];
    for (const rel of working) {
      await mkdir(path.dirname(path.join(repo.root, rel)), { recursive: true });
      await writeFile(path.join(repo.root, rel), SELF.tag);
    }
    await repo.git.add(['-A']);
    const staged = (await repo.git.raw(['diff', '--cached', '--name-only'])).split('\n').filter(Boolean);
    assert.deepEqual(
      staged.filter((file) => working.includes(file)),
      [],
      `staged: ${staged.join(', ')}`,
    );
    assert.ok(staged.includes('openspec/.gitignore') && staged.includes('openspec/changes/swept/tasks.md'));
    for (const rel of ['openspec/changes/.archive.lock', 'openspec/changes/archive/.openspec-archive.lock']) {
      const ignored = await repo.git.raw(['check-ignore', '--no-index', rel]);
      assert.equal(ignored.trim(), rel, `${rel} is ignored`);
    }
    await repo.git.commit('work on swept');

    const result = await h.service.archive({ slug: 'swept' }, { actor: 'alice' });
    for (const file of result.receipt.filesTouched) assert.ok(!working.includes(file), `${file} in the receipt`);
    const archived = await readdir(at('changes', 'archive', result.archivedAs));
    assert.ok(!archived.some((name) => name.includes(dead)), 'a dead process’s temp file is not archived');
  });

  it('writes its ignore rules idempotently, keeping the lines a team adds', async () => {
    await h.service.recover();
    const written = await readFile(at('.gitignore'), 'utf8');
    await h.service.recover();
    assert.equal(await readFile(at('.gitignore'), 'utf8'), written, 'a second start changes nothing');
    const lines = written.split('\n');
    const dropped = lines.find((line) => line === '.lock');
    assert.ok(dropped, written);
    await writeFile(at('.gitignore'), `${lines.filter((line) => line !== dropped).join('\n')}drafts/\n`);
    await h.service.recover();
    const repaired = await readFile(at('.gitignore'), 'utf8');
    assert.ok(repaired.includes('drafts/\n'), 'the team’s rule is kept');
    assert.ok(repaired.split('\n').includes('.lock'), 'the missing rule is back');
    assert.equal(repaired.split('\n').filter((line) => line.startsWith('# task-mcp')).length, 1, 'one header');
  });
});
