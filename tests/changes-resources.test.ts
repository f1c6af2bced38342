/**
 * The read-only resources: what they return, and that no URI reads outside its change.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { constants } from 'node:fs';
import { access, mkdir, open, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { TaskError } from '../src/errors.js';
import {
  addedDelta,
  createTempDir,
  createTempRepo,
  rejectsWith,
  serve,
  writeDelta,
  useServedRepo,
} from './helpers/repo.js';
import { within } from './helpers/within.js';

describe('change resources', () => {
  const { repo, h } = useServedRepo();
  let outside: { dir: string; remove(): Promise<void> };
  const changes = () => path.join(repo.root, 'openspec', 'changes');

  before(async () => {
    outside = await createTempDir('task-mcp-outside-');
    await writeFile(path.join(outside.dir, 'secret.md'), 'SECRET\n');
    await h.service.open({ slug: 'read-me', title: 'Read me' }, { actor: 'alice' });
    await h.service.open({ slug: 'second', title: 'Second change' }, { actor: 'bob' });
    await writeDelta(repo.root, 'read-me', 'reading', addedDelta('Read things'));
    await writeDelta(repo.root, 'read-me', 'nested/deeper', '## ADDED Requirements\n');
    // A planted link that leads out of the repository, and a change folder that is itself a link.
    await symlink(path.join(outside.dir, 'secret.md'), path.join(changes(), 'read-me', 'specs', 'leak.md'));
    await symlink(outside.dir, path.join(changes(), 'linked-out'));
  });
  after(() => outside.remove());

  it('reads the proposal, the tasks and a delta file as markdown', async () => {
    const proposal = await h.service.readResource('change://read-me/proposal');
    assert.equal(proposal.mimeType, 'text/markdown');
    assert.match(proposal.text, /^# Read me\n/);
    assert.match((await h.service.readResource('change://read-me/tasks')).text, /- \[ \] 1\.1/);
    const delta = await h.service.readResource('change://read-me/delta/reading/spec.md');
    assert.match(delta.text, /### Requirement: Read things/);
  });

  it('lists open changes with title, live lock and task progress, paged by cursor', async () => {
    const first = await h.service.listActive({ limit: 1 });
    assert.deepEqual(
      first.changes.map((c) => [c.slug, c.title, c.lock?.owner, c.tasks.done, c.tasks.total]),
      [['read-me', 'Read me', 'alice', 0, 6]],
    );
    assert.ok(first.nextCursor);
    const second = await h.service.listActive({ limit: 1, cursor: first.nextCursor });
    assert.deepEqual(
      second.changes.map((c) => c.slug),
      ['second'],
    );
    assert.equal(second.nextCursor, undefined, 'a linked folder is not listed as a change');
    const viaUri = JSON.parse((await h.service.readResource('changes://active')).text) as { changes: unknown[] };
    assert.equal(viaUri.changes.length, 2);
    await rejectsWith(h.service.listActive({ limit: 0 }), 'EBADINPUT');
    await rejectsWith(h.service.listActive({ cursor: '!!not-ours!!' }), 'EBADINPUT');
  });

  it('refuses delta paths that climb, are absolute or are encoded to do either (EPATH_ESCAPE)', async () => {
    const uris = [
      'change://read-me/delta/../proposal.md',
      'change://read-me/delta/reading/../../../../config.yaml',
      'change://read-me/delta/%2e%2e/%2e%2e/%2e%2e/config.yaml',
      'change://read-me/delta/%2E%2E%2F%2E%2E%2Fproposal.md',
      'change://read-me/delta//etc/passwd',
      'change://read-me/delta/%2Fetc%2Fpasswd',
      'change://read-me/delta/reading%5C..%5C..%5Cproposal.md',
      'change://read-me/delta/%E0%A4%A',
    ];
    for (const uri of uris) await rejectsWith(h.service.readResource(uri), 'EPATH_ESCAPE', repo.root);
  });

  it('refuses a symlink planted in specs/ that leads outside the change (EPATH_ESCAPE)', async () => {
    const err = await rejectsWith(h.service.readResource('change://read-me/delta/leak.md'), 'EPATH_ESCAPE', repo.root);
    assert.ok(!err.message.includes('SECRET'));
  });

  it('refuses slugs in URIs that carry path syntax (EPATH_ESCAPE) and unknown changes (ENOCHANGE)', async () => {
    await rejectsWith(h.service.readResource('change://../proposal'), 'EPATH_ESCAPE');
    await rejectsWith(h.service.readResource('change://%2e%2e/tasks'), 'EPATH_ESCAPE');
    await rejectsWith(h.service.readResource('change://linked-out/proposal'), 'ENOCHANGE', repo.root);
    await rejectsWith(h.service.readResource('change://no-such/proposal'), 'ENOCHANGE');
    await rejectsWith(h.service.readResource('change://read-me/secrets'), 'ENOCHANGE');
    await rejectsWith(h.service.readResource('file:///etc/passwd'), 'ENOCHANGE');
    await rejectsWith(h.service.readResource('change://read-me/delta/missing.md'), 'ENOCHANGE', repo.root);
  });

  it('reports a path that names nothing (absent, under a file, too long) as ENOCHANGE', async () => {
    await rejectsWith(h.service.readResource('change://read-me/delta/reading/spec.md/under-a-file.md'), 'ENOCHANGE');
    await rejectsWith(h.service.readResource(`change://read-me/delta/${'n'.repeat(300)}.md`), 'ENOCHANGE');
    await rejectsWith(h.service.readResource(`change://read-me/delta/${'a/'.repeat(2100)}spec.md`), 'ENOCHANGE');
  });

  it('lets any other failure to resolve a file through as itself, not as ENOCHANGE (a symlink loop: ELOOP)', async () => {
    const loop = path.join(changes(), 'second', 'specs', 'loop.md');
    await mkdir(path.dirname(loop), { recursive: true });
    await symlink('loop.md', loop);
    const err = await h.service.readResource('change://second/delta/loop.md').then(
      () => assert.fail('a symlink loop was read'),
      (e: unknown) => e as NodeJS.ErrnoException,
    );
    assert.ok(!(err instanceof TaskError), `a fault reported as a refusal: ${String(err)}`);
    assert.equal(err.code, 'ELOOP');
  });

  it('refuses a FIFO where a file is expected as not a file, at once (opening it to read would wait for a writer)', async () => {
    const fifo = path.join(changes(), 'second', 'specs', 'pipe.md');
    await mkdir(path.dirname(fifo), { recursive: true });
    execFileSync('mkfifo', [fifo]);
    try {
      const read = h.service.readResource('change://second/delta/pipe.md');
      const err = await rejectsWith(within(5000, 'reading a FIFO', read), 'ENOCHANGE');
      assert.match(err.message, /not a file/);
    } finally {
      // A reader stuck in open(2) is released by a writer; without one the test process could never exit.
      await open(fifo, constants.O_WRONLY | constants.O_NONBLOCK).then(
        (writer) => writer.close(),
        () => undefined,
      );
    }
  });

  it('serves no receipt for a change that is still open (ENOCHANGE)', async () => {
    await rejectsWith(h.service.readResource('change://read-me/receipt'), 'ENOCHANGE');
  });

  it('caps the size of a resource read (ETOOLARGE)', async () => {
    const big = path.join(changes(), 'second', 'specs', 'big');
    await mkdir(big, { recursive: true });
    await writeFile(path.join(big, 'spec.md'), 'x'.repeat(300 * 1024));
    await rejectsWith(h.service.readResource('change://second/delta/big/spec.md'), 'ETOOLARGE');
  });
});

describe('repositories that cannot be served', () => {
  it('reports ENOTREPO for a folder that is not a git work tree, and does not git init it', async () => {
    const plain = await createTempDir();
    try {
      const { service } = serve(plain.dir);
      await rejectsWith(service.check(), 'ENOTREPO', plain.dir);
      await rejectsWith(service.open({ slug: 'some-change', title: 'T' }, { actor: 'a' }), 'ENOTREPO', plain.dir);
      await rejectsWith(service.archive({ slug: 'some-change' }, { actor: 'a' }), 'ENOTREPO', plain.dir);
      const missing = serve(path.join(plain.dir, 'does-not-exist'));
      await rejectsWith(missing.service.check(), 'ENOTREPO', plain.dir);
    } finally {
      await plain.remove();
    }
  });

  it('reports EGIT when the repository has no commit to base a change on', async () => {
    const empty = await createTempRepo({ initialCommit: false });
    try {
      const { service } = serve(empty);
      await service.check();
      const err = await rejectsWith(
        service.open({ slug: 'first-change', title: 'T' }, { actor: 'a' }),
        'EGIT',
        empty.root,
      );
      assert.match(err.hint ?? '', /initial commit/);
      await assert.rejects(access(path.join(empty.root, 'openspec')), 'nothing was written');
    } finally {
      await empty.remove();
    }
  });
});
