/**
 * Resuming an open change costs no git process unless the change lacks a scaffold file (its base is then read from
 * HEAD); the answer "this is a git work tree" is not blind to a `.git` removed or made again after it was given.
 * git is counted through a shim first on PATH that logs each call, then runs the real git.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmod, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createTempDir, createTempRepo, rejectsWith, serve, type Harness, type TempRepo } from './helpers/repo.js';

const REAL_GIT = execFileSync('sh', ['-c', 'command -v git'], { encoding: 'utf8' }).trim();

/** A `git` on PATH that appends its arguments to a log and runs the real one; `calls()` reads the log. */
async function countGit(dir: string): Promise<{ calls(): Promise<string[]>; restore(): void }> {
  const log = path.join(dir, 'git.log');
  await writeFile(log, '');
  await writeFile(path.join(dir, 'git'), `#!/bin/sh\necho "$*" >> '${log}'\nexec '${REAL_GIT}' "$@"\n`);
  await chmod(path.join(dir, 'git'), 0o755);
  const saved = process.env.PATH;
  process.env.PATH = `${dir}${path.delimiter}${saved}`;
  return {
    calls: async () => (await readFile(log, 'utf8')).split('\n').filter(Boolean),
    restore: () => void (process.env.PATH = saved),
  };
}

describe('resuming a change', () => {
  let repo: TempRepo;
  let h: Harness;
  let bin: Awaited<ReturnType<typeof createTempDir>>;
  before(async () => {
    repo = await createTempRepo();
    bin = await createTempDir('task-mcp-git-shim-');
    h = serve(repo);
  });
  after(async () => {
    await repo.remove();
    await bin.remove();
  });

  it('runs no git process when the change lacks nothing, and renews the lock', async () => {
    const opened = await h.service.open({ slug: 'quick-resume', title: 'Quick' }, { actor: 'alice' });
    const git = await countGit(bin.dir);
    try {
      h.setNow(new Date(Date.now() + 60_000));
      const resumed = await h.service.open({ slug: 'quick-resume', title: 'Quick' }, { actor: 'alice' });
      assert.equal(resumed.created, false);
      assert.ok(resumed.lock.expiresAt > opened.lock.expiresAt, 'the lock was renewed');
      assert.deepEqual(await git.calls(), []);
    } finally {
      git.restore();
    }
  });

  it('reads HEAD, and only that, to restore a scaffold file the change lacks', async () => {
    await h.service.open({ slug: 'lacks-a-file', title: 'Lacks' }, { actor: 'alice' });
    const proposal = path.join(repo.root, 'openspec', 'changes', 'lacks-a-file', 'proposal.md');
    await rm(proposal);
    const git = await countGit(bin.dir);
    try {
      await h.service.open({ slug: 'lacks-a-file', title: 'Lacks' }, { actor: 'alice' });
      assert.deepEqual(await git.calls(), ['rev-parse --verify HEAD^{commit}']);
      assert.match(await readFile(proposal, 'utf8'), /^# Lacks$/m);
    } finally {
      git.restore();
    }
  });

  it('asks git again once .git is gone (ENOTREPO), and serves the repository made again there', async () => {
    await h.service.open({ slug: 'before-removal', title: 'Before' }, { actor: 'alice' });
    await rm(path.join(repo.root, '.git'), { recursive: true, force: true });
    await rejectsWith(h.service.open({ slug: 'before-removal', title: 'Before' }, { actor: 'alice' }), 'ENOTREPO');
    await rejectsWith(h.service.check(), 'ENOTREPO');
    await repo.git.init();
    await repo.commit('a new history');
    await h.service.check();
    const resumed = await h.service.open({ slug: 'before-removal', title: 'Before' }, { actor: 'alice' });
    assert.equal(resumed.created, false);
  });
});
