/**
 * change.open's lock on real temp git repos with the real OpenSpec CLI: a live lock of another owner refused with
 * its holder, an expired one taken over (by the injected clock), and races of 10–20 concurrent calls on one slug
 * that end with one owner and one whole change.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { rejectsWith, useServedRepo, type TempRepo } from './helpers/repo.js';

const changeDir = (repo: TempRepo, slug: string) => path.join(repo.root, 'openspec', 'changes', slug);

describe('change locks: ELOCKED, expiry and races', () => {
  const { repo, h } = useServedRepo();

  it('refuses a live lock of another owner with ELOCKED carrying owner, since and expiresAt', async () => {
    const opened = await h.service.open({ slug: 'locked-one', title: 'Locked', ttl: 60 }, { actor: 'alice' });
    const err = await rejectsWith(h.service.open({ slug: 'locked-one', title: 'Locked' }, { actor: 'bob' }), 'ELOCKED');
    assert.deepEqual(err.details, { owner: 'alice', since: opened.lock.since, expiresAt: opened.lock.expiresAt });
    await rejectsWith(h.service.archive({ slug: 'locked-one' }, { actor: 'bob' }), 'ELOCKED');
  });

  it('lets another owner take over a lock once it has expired by the injected clock', async () => {
    const opened = await h.service.open({ slug: 'stale-one', title: 'Stale', ttl: 60 }, { actor: 'alice' });
    h.setNow(new Date(Date.parse(opened.lock.expiresAt) + 1000));
    const taken = await h.service.open({ slug: 'stale-one', title: 'Stale' }, { actor: 'bob' });
    assert.equal(taken.created, false);
    assert.equal(taken.lock.owner, 'bob');
    await rejectsWith(h.service.open({ slug: 'stale-one', title: 'Stale' }, { actor: 'alice' }), 'ELOCKED');
    h.setNow(new Date());
  });

  it('gives an expired lock to exactly one of 20 concurrent takers', async () => {
    const opened = await h.service.open({ slug: 'race-stale', title: 'Race', ttl: 60 }, { actor: 'alice' });
    h.setNow(new Date(Date.parse(opened.lock.expiresAt) + 1000));
    const owners = Array.from({ length: 20 }, (_, i) => `taker-${i}`);
    const results = await Promise.allSettled(
      owners.map((owner) => h.service.open({ slug: 'race-stale', title: 'Race' }, { actor: owner })),
    );
    const won = results.filter((r) => r.status === 'fulfilled');
    assert.equal(won.length, 1, 'exactly one taker wins');
    for (const r of results) if (r.status === 'rejected') assert.equal((r.reason as { code: string }).code, 'ELOCKED');
    const lock = JSON.parse(await readFile(path.join(changeDir(repo, 'race-stale'), '.lock'), 'utf8')) as {
      owner: string;
    };
    assert.equal(lock.owner, won[0]?.status === 'fulfilled' ? won[0].value.lock.owner : '');
    h.setNow(new Date());
  });

  it('20 concurrent opens of a new slug by different owners: one creates and holds the lock, the rest get ELOCKED', async () => {
    const owners = Array.from({ length: 20 }, (_, i) => `agent-${i}`);
    const results = await Promise.allSettled(
      owners.map((owner) =>
        h.service.open(
          { slug: 'race-new', title: `Race by ${owner}`, rationale: `Opened by ${owner}.` },
          { actor: owner },
        ),
      ),
    );
    const won = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    assert.equal(won.length, 1);
    assert.equal(won[0]?.created, true);
    for (const r of results) if (r.status === 'rejected') assert.equal((r.reason as { code: string }).code, 'ELOCKED');
    const winner = won[0]?.lock.owner ?? '';
    const lock = JSON.parse(await readFile(path.join(changeDir(repo, 'race-new'), '.lock'), 'utf8')) as {
      owner: string;
    };
    assert.equal(lock.owner, winner);
    const proposal = await readFile(path.join(changeDir(repo, 'race-new'), 'proposal.md'), 'utf8');
    assert.ok(
      proposal.startsWith(`# Race by ${winner}\n`) && proposal.includes(`Opened by ${winner}.`),
      'one whole proposal',
    );
    const opened = h.events.filter((e) => e.slug === 'race-new' && e.type === 'change.opened');
    assert.equal(opened.length, 1);
  });

  it('20 concurrent opens of a new slug by one owner: one creates, the others resume', async () => {
    const results = await Promise.all(
      Array.from({ length: 20 }, () => h.service.open({ slug: 'race-same', title: 'Same owner' }, { actor: 'carol' })),
    );
    assert.equal(results.filter((r) => r.created).length, 1);
    assert.ok(results.every((r) => r.lock.owner === 'carol'));
  });

  it('resumes an open change for its owner however long its calls keep racing to renew the lock', async () => {
    await h.service.open({ slug: 'race-renew', title: 'Renewals' }, { actor: 'dana' });
    const worker = async (): Promise<void> => {
      for (let i = 0; i < 25; i++) {
        const result = await h.service.open({ slug: 'race-renew', title: 'Renewals' }, { actor: 'dana' });
        assert.ok(!result.created && result.locked && result.lock.owner === 'dana');
      }
    };
    await Promise.all(Array.from({ length: 10 }, worker));
  });
});
