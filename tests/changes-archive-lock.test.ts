/**
 * The archive lock's liveness: a lock whose holder is provably dead (this host, pid gone or reused) is taken over at
 * once; a lock of another host follows its lease; a live holder, or a helper it runs, is waited for. Records are
 * written by hand, as a crashed process (or another host) would have left them; processes are real.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createArchiveLock, LEASE_MS, RENEW_MS } from '../src/changes/archive-lock.js';
import { writeFileAtomic } from '../src/changes/atomic-write.js';
import { createLayout } from '../src/changes/layout.js';
import { processRef, SELF } from '../src/changes/process-identity.js';
import { addedDelta, checkAllTasks, createTempDir, writeDelta, useServedRepo } from './helpers/repo.js';
import { within } from './helpers/within.js';

const OTHER_SCOPE = '00000000-0000-4000-8000-000000000000/pid:[4026531836]';

interface Holder {
  pid: number;
  startTime?: string;
  scope?: string;
  helpers?: { pid: number; startTime?: string }[];
  expiresAt?: string;
}

/** A lock record as a holder writes it. */
const record = ({ pid, startTime, scope = SELF.scope, helpers = [], expiresAt }: Holder): string =>
  `${JSON.stringify({
    pid,
    startTime,
    scope,
    host: 'somewhere',
    helpers,
    since: new Date().toISOString(),
    expiresAt: expiresAt ?? new Date(Date.now() + 60 * 60_000).toISOString(),
    token: `hand-made-${Math.random()}`,
  })}\n`;

/** A process that runs until killed. */
const sleeper = (): ChildProcess => spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)']);

/** The pid of a process that has exited. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '']);
  await once(child, 'exit');
  return child.pid!;
}

/** Whether `promise` is still unsettled after `ms`: how to see that something waits. */
const stillPending = (promise: Promise<unknown>, ms: number): Promise<boolean> =>
  Promise.race([
    promise.then(
      () => false,
      () => false,
    ),
    new Promise<boolean>((resolve) => setTimeout(() => resolve(true), ms)),
  ]);

describe('archive lock liveness (change.archive)', () => {
  const { repo, h } = useServedRepo();
  const lockFile = () => createLayout(repo.root).archiveLock;

  async function ready(slug: string): Promise<void> {
    await h.service.open({ slug, title: `Change ${slug}` }, { actor: 'alice' });
    await writeDelta(repo.root, slug, slug, addedDelta(`Do ${slug}`));
    await checkAllTasks(repo.root, slug);
  }

  it('takes over at once a lock whose holder on this host has exited', async () => {
    await ready('dead-holder');
    await writeFile(lockFile(), record({ pid: await deadPid(), startTime: '1' }));
    const result = await within(60_000, 'the archive', h.service.archive({ slug: 'dead-holder' }, { actor: 'alice' }));
    assert.equal(result.alreadyArchived, false);
    await assert.rejects(readFile(lockFile()), { code: 'ENOENT' });
  });

  it('takes over at once a lock whose pid now belongs to a process started at another time', async () => {
    await ready('reused-pid');
    await writeFile(lockFile(), record({ pid: process.pid, startTime: '1' }));
    const result = await within(60_000, 'the archive', h.service.archive({ slug: 'reused-pid' }, { actor: 'alice' }));
    assert.equal(result.alreadyArchived, false);
  });

  it('takes over a lock of another host whose lease has expired', async () => {
    await ready('expired-lease');
    const expiresAt = new Date(Date.now() - 60 * 60_000).toISOString();
    await writeFile(lockFile(), record({ pid: 1, startTime: '1', scope: OTHER_SCOPE, expiresAt }));
    const result = await within(
      60_000,
      'the archive',
      h.service.archive({ slug: 'expired-lease' }, { actor: 'alice' }),
    );
    assert.equal(result.alreadyArchived, false);
  });

  it('waits for a live holder on this host, and takes over once it exits', async () => {
    await ready('live-holder');
    const holder = sleeper();
    await writeFile(lockFile(), record(processRef(holder.pid!)));
    const archive = h.service.archive({ slug: 'live-holder' }, { actor: 'alice' });
    assert.equal(await stillPending(archive, 1500), true, 'the archive waits');
    holder.kill('SIGKILL');
    const result = await within(60_000, 'the archive', archive);
    assert.equal(result.alreadyArchived, false);
  });
});

describe('archive lock records and leases', () => {
  let dir: { dir: string; remove(): Promise<void> };
  const children: ChildProcess[] = [];
  const file = () => path.join(dir.dir, 'changes', '.archive.lock');
  before(async () => {
    dir = await createTempDir();
    await mkdir(path.join(dir.dir, 'changes'));
  });
  after(async () => {
    for (const child of children) child.kill('SIGKILL');
    await dir.remove();
  });
  const live = (): ChildProcess => {
    const child = sleeper();
    children.push(child);
    return child;
  };

  it('waits while a helper of a dead holder (its CLI) still runs', async () => {
    const helper = live();
    await writeFile(file(), record({ pid: await deadPid(), startTime: '1', helpers: [processRef(helper.pid!)] }));
    const run = createArchiveLock(file()).run(async () => 'ran');
    assert.equal(await stillPending(run, 1500), true, 'the lock waits for the helper');
    helper.kill('SIGKILL');
    assert.equal(await within(30_000, 'the lock', run), 'ran');
  });

  it('names the helpers its holder adopts, with their start time', async () => {
    const helper = live();
    await createArchiveLock(file()).run(async (held) => {
      await held.adopt(helper.pid!);
      const written = JSON.parse(await readFile(file(), 'utf8')) as Holder;
      assert.equal(written.pid, process.pid);
      assert.equal(written.scope, SELF.scope);
      assert.deepEqual(written.helpers, [processRef(helper.pid!)]);
      assert.match(written.helpers?.[0]?.startTime ?? '', /^\d+$/);
    });
    await assert.rejects(readFile(file()), { code: 'ENOENT' }, 'released');
  });

  it('renews its lease while it holds the lock, keeping the helpers it named', async () => {
    const helper = live();
    await createArchiveLock(file()).run(async (held) => {
      await held.adopt(helper.pid!);
      const first = JSON.parse(await readFile(file(), 'utf8')) as Holder;
      const renewed = async (): Promise<Holder> => {
        for (;;) {
          const now = JSON.parse(await readFile(file(), 'utf8')) as Holder;
          if (now.expiresAt !== first.expiresAt) return now;
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      };
      const next = await within(RENEW_MS * 3, 'a renewal', renewed());
      assert.ok(Date.parse(next.expiresAt!) > Date.parse(first.expiresAt!));
      assert.deepEqual(next.helpers, first.helpers);
    });
  });

  it('does not wait for a live holder when asked to run only if free', async () => {
    const holder = live();
    await writeFile(file(), record(processRef(holder.pid!)));
    let ran = false;
    const result = await createArchiveLock(file()).runIfFree(async () => (ran = true));
    assert.equal(result, undefined);
    assert.equal(ran, false);
    holder.kill('SIGKILL');
    await once(holder, 'exit');
    assert.equal(await createArchiveLock(file()).runIfFree(async () => 'ran'), 'ran', 'free once its holder exited');
  });

  it('waits for another host while it renews its lease, and takes over within a lease once renewals stop', async () => {
    // Atomically, as a holder writes it: a reader must never see a half-written record.
    const renew = (): Promise<void> => writeFileAtomic(file(), record({ pid: 1, scope: OTHER_SCOPE }));
    await renew();
    const renewals = setInterval(() => void renew(), 500);
    const run = createArchiveLock(file()).run(async () => 'ran');
    try {
      assert.equal(await stillPending(run, LEASE_MS + 2000), true, 'a renewed lease is waited for past its length');
    } finally {
      clearInterval(renewals);
    }
    assert.equal(await within(LEASE_MS + 10_000, 'the takeover', run), 'ran');
  });
});
