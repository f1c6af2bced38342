/**
 * The limits around a call, on a server whose REQUEST_TIMEOUT_MS is 1 ms: headers over Node's 8 KiB are a 431 and
 * the server stays up; a JSON call past the deadline is a 503 ETIMEOUT, and the call still completes in full.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { assertRefusal, useHostileServer } from './helpers/hostile.js';

describe('limits around a call', () => {
  const s = useHostileServer({ REQUEST_TIMEOUT_MS: '1' });

  it('answers 431 to headers over 8 KiB, and stays up', async () => {
    const res = await s.fetch(`${s.url}/healthz`, { headers: { 'X-Padding': 'x'.repeat(12 * 1024) } });
    assert.equal(res.status, 431);
    await res.arrayBuffer();
    assert.equal((await s.fetch(`${s.url}/healthz`)).status, 200);
  });

  it('answers ETIMEOUT past REQUEST_TIMEOUT_MS, and the call still completes in full', async () => {
    const res = await s.authed('/v1/tools/change.open/invoke', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ slug: 'slow-change', title: 'Slow' }),
    });
    await assertRefusal(res, 503, 'ETIMEOUT');
    // Streams have no deadline: resuming the change over NDJSON shows the timed-out call finished it.
    let result: { created?: boolean; locked?: boolean } | undefined;
    for (let i = 0; i < 100 && result?.created !== false; i++) {
      const again = await s.authed('/v1/tools/change.open/invoke', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Accept: 'application/x-ndjson' },
        body: JSON.stringify({ slug: 'slow-change', title: 'Slow' }),
      });
      const lines = (await again.text())
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l));
      result = lines.find((l: { type: string }) => l.type === 'result')?.result;
    }
    assert.equal(result?.created, false, 'the change the timed-out call made is resumed, not made again');
    assert.equal(result?.locked, true);
    const folder = path.join(s.repo.root, 'openspec/changes/slow-change');
    for (const file of ['proposal.md', 'tasks.md'])
      assert.ok((await readFile(path.join(folder, file), 'utf8')).length > 0);
  });
});
