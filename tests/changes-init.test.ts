/**
 * The first `change.open` of a repository runs `openspec init`; an init that a crash or a full disk cut short is
 * finished by the next open, and of many racing first opens exactly one runs it.
 */
import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { createLayout } from '../src/changes/layout.js';
import { SELF } from '../src/changes/process-identity.js';
import { createTempRepo, rejectsWith, serve, type TempRepo } from './helpers/repo.js';
import { mountTmpfs } from './helpers/tmpfs.js';
import { within } from './helpers/within.js';

const at = (repo: TempRepo, ...rel: string[]) => path.join(repo.root, 'openspec', ...rel);

/** Opens `slug` and returns the progress steps it reported. */
async function openSteps(repo: TempRepo, slug: string): Promise<string[]> {
  const steps: string[] = [];
  await serve(repo).service.open({ slug, title: `Open ${slug}` }, { actor: 'alice', progress: (s) => steps.push(s) });
  return steps;
}

/** The state a complete init leaves: OpenSpec's config and folders, and task-mcp's ignore rules. */
async function assertInitialized(repo: TempRepo): Promise<void> {
  const config = parse(await readFile(at(repo, 'config.yaml'), 'utf8')) as { schema?: string };
  assert.equal(config.schema, 'spec-driven');
  await readFile(at(repo, 'specs', '.gitkeep'));
  await readFile(at(repo, 'changes', 'archive', '.gitkeep'));
  assert.match(await readFile(at(repo, '.gitignore'), 'utf8'), /^\/changes\/\.archive\.lock$/m);
}

describe('openspec init on first open', () => {
  it('finishes an init that a crash cut short (openspec/changes/ and the dead process’s lock left, no config)', async () => {
    const repo = await createTempRepo();
    try {
      await mkdir(at(repo, 'changes'), { recursive: true });
      // Above the kernel's largest pid (2^22), so no process has it.
      const since = new Date().toISOString();
      const deadLock = { pid: 2 ** 22 + 1, startTime: '1', scope: SELF.scope, host: 'here', since, expiresAt: since };
      await writeFile(createLayout(repo.root).archiveLock, JSON.stringify(deadLock));
      const steps = await within(60_000, 'the open', openSteps(repo, 'after-crash'));
      assert.deepEqual(steps, ['init', 'scaffold', 'lock']);
      await assertInitialized(repo);
    } finally {
      await repo.remove();
    }
  });

  it('redoes an init whose config.yaml a crash left empty', async () => {
    const repo = await createTempRepo();
    try {
      await mkdir(at(repo, 'specs'), { recursive: true });
      await mkdir(at(repo, 'changes', 'archive'), { recursive: true });
      await writeFile(at(repo, 'config.yaml'), '');
      assert.deepEqual(await openSteps(repo, 'empty-config'), ['init', 'scaffold', 'lock']);
      await assertInitialized(repo);
    } finally {
      await repo.remove();
    }
  });

  it('leaves an initialised repository’s own config alone (config.yml), running no init', async () => {
    const repo = await createTempRepo();
    try {
      await mkdir(at(repo, 'changes'), { recursive: true });
      const mine = 'schema: spec-driven\ncontext: Our own words.\n';
      await writeFile(at(repo, 'config.yml'), mine);
      assert.deepEqual(await openSteps(repo, 'own-config'), ['scaffold', 'lock']);
      assert.equal(await readFile(at(repo, 'config.yml'), 'utf8'), mine);
      await assert.rejects(readFile(at(repo, 'config.yaml')), { code: 'ENOENT' });
    } finally {
      await repo.remove();
    }
  });

  it('runs openspec init once for 20 concurrent first opens, all of which succeed', async () => {
    const repo = await createTempRepo();
    try {
      const { service } = serve(repo);
      let inits = 0;
      const progress = (step: string) => void (step === 'init' && inits++);
      const opens = Array.from({ length: 20 }, (_, i) =>
        service.open({ slug: `first-${i}`, title: `First ${i}` }, { actor: 'alice', progress }),
      );
      const results = await Promise.all(opens);
      assert.ok(results.every((r) => r.created));
      assert.equal(inits, 1);
      await assertInitialized(repo);
    } finally {
      await repo.remove();
    }
  });

  it('initialises fully once there is space again after a first open failed on a full disk', async () => {
    const disk = await mountTmpfs(4 * 1024 * 1024);
    try {
      const repo = await createTempRepo({ parent: disk.dir });
      await disk.fill();
      const open = serve(repo).service.open({ slug: 'full-disk', title: 'Full' }, { actor: 'alice' });
      await rejectsWith(open, 'ENOSPACE', repo.root);
      await disk.free();
      assert.deepEqual(await openSteps(repo, 'full-disk'), ['init', 'scaffold', 'lock']);
      await assertInitialized(repo);
    } finally {
      await disk.unmount();
    }
  });
});
