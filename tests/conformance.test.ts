/**
 * The official MCP conformance suite's server scenarios, against our server, for both spec revisions we serve, over
 * the default HTTPS setup and over plain HTTP (`TLS=off`). The suite runs from its pinned copies in
 * tests/conformance/suite under the Node ≥ 22 installed there (no download at test time). Every check it records
 * must end as tests/conformance/baseline.json says: a check that newly fails, newly passes, fails differently,
 * appears or disappears fails the test, naming the check, until the baseline says so.
 */
import assert from 'node:assert/strict';
import { readFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startAuthProxy, type AuthProxy } from './helpers/auth-proxy.js';
import {
  baselineIssues,
  differences,
  expectedFor,
  readResults,
  runSuite,
  SUITES,
  type Revision,
  type RevisionBaseline,
} from './helpers/conformance.js';
import { startServer, TOKENS, type TestServer } from './helpers/server.js';
import { testCertificate } from './helpers/tls.js';

const REVISIONS = Object.keys(SUITES) as Revision[];
const baseline = JSON.parse(await readFile(new URL('./conformance/baseline.json', import.meta.url), 'utf8')) as Record<
  Revision,
  RevisionBaseline
>;

it('has a baseline that gives a reason for every check that does not pass', () => {
  assert.deepEqual(
    REVISIONS.flatMap((revision) => baselineIssues(baseline[revision]).map((i) => `${revision}: ${i}`)),
    [],
  );
});

for (const transport of [
  { name: 'HTTPS', plain: false },
  { name: 'plain HTTP', plain: true },
]) {
  describe(`MCP conformance over ${transport.name}`, { timeout: 600_000 }, () => {
    let s: TestServer;
    let proxy: AuthProxy;
    before(async () => {
      // The suite's scenarios come in quick bursts from one client; the rate limits are not what is tested here.
      s = await startServer({
        plain: transport.plain,
        env: { RATE_LIMIT_BURST: '100000/1s', RATE_LIMIT_SUSTAINED: '1000000/60s' },
      });
      proxy = await startAuthProxy(s.url, TOKENS.alice, transport.plain ? undefined : await testCertificate());
    });
    after(async () => {
      await proxy?.stop();
      await s?.stop();
    });

    for (const revision of REVISIONS) {
      it(`ends every ${revision} check as the baseline says`, async () => {
        const dir = await mkdtemp(join(tmpdir(), 'task-mcp-conformance-'));
        try {
          const ca = transport.plain ? undefined : (await testCertificate()).certPath;
          const run = await runSuite(revision, `${proxy.url}/mcp`, dir, ca);
          const tail = run.output.split('\n').slice(-30).join('\n');
          assert.notEqual(run.code, null, `the suite did not finish:\n${tail}`);
          const diff = differences(await readResults(dir), expectedFor(baseline[revision], !transport.plain));
          const where = `tests/conformance/baseline.json "${revision}"${transport.plain ? '' : ' (overHttps)'}`;
          assert.ok(
            diff.length === 0,
            `${diff.length} conformance check(s) of ${revision} over ${transport.name} differ from ${where}:\n` +
              `${diff.map((line) => `  - ${line}`).join('\n')}\nThe suite's last lines:\n${tail}`,
          );
        } finally {
          await rm(dir, { recursive: true, force: true });
        }
      });
    }
  });
}
