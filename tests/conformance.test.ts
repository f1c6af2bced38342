/**
 * The official MCP conformance suite's server scenarios, against our server, for both spec revisions we serve.
 * The suite needs Node ≥ 22, so it runs under node@24 from the npm registry. Its expected failures are the
 * suite's fixtures we do not offer, each with its reason, in tests/conformance/baseline.json; every other
 * scenario must pass, and a baseline entry that starts passing fails the run too (the suite checks staleness).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startServer, TOKENS, type TestServer } from './helpers/server.js';

interface Baseline {
  [revision: string]: { package: string; expected: Record<string, string> };
}

/** The suite sends no credentials; this proxy adds a bearer token, as a configured client would. */
function authProxy(target: URL): Promise<Server> {
  const proxy = createServer((req, res) => {
    const upstream = request(
      {
        host: target.hostname,
        port: target.port,
        path: req.url,
        method: req.method,
        headers: { ...req.headers, authorization: `Bearer ${TOKENS.alice}` },
      },
      (reply) => {
        res.writeHead(reply.statusCode!, reply.headers);
        reply.pipe(res);
      },
    );
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  return new Promise((resolve) => proxy.listen(0, '127.0.0.1', () => resolve(proxy)));
}

describe('MCP conformance (server scenarios)', { timeout: 600_000 }, () => {
  let s: TestServer;
  let proxy: Server;
  let dir: string;
  let baseline: Baseline;
  before(async () => {
    baseline = JSON.parse(await readFile(new URL('./conformance/baseline.json', import.meta.url), 'utf8'));
    // Plain HTTP (TLS=off): the suite's scenarios (DNS rebinding among them) are written for a local server
    // without TLS, and a proxy turning http into https would make the suite's own Origin look cross-origin.
    // Its scenarios come in quick bursts from one client; the rate limits are not what is tested here.
    s = await startServer({
      plain: true,
      env: { RATE_LIMIT_BURST: '100000/1s', RATE_LIMIT_SUSTAINED: '1000000/60s' },
    });
    proxy = await authProxy(new URL(s.url));
    dir = await mkdtemp(join(tmpdir(), 'task-mcp-conformance-'));
  });
  after(async () => {
    proxy.closeAllConnections();
    await new Promise((resolve) => proxy.close(resolve));
    await s.stop();
    await rm(dir, { recursive: true, force: true });
  });

  for (const revision of ['2026-07-28', '2025-11-25']) {
    it(`passes every scenario of ${revision} outside the baseline`, async () => {
      const { package: pkg, expected } = baseline[revision]!;
      for (const [entry, reason] of Object.entries(expected)) assert.ok(reason.trim(), `${entry} needs a reason`);
      const file = join(dir, `expected-${revision}.yaml`);
      await writeFile(file, JSON.stringify({ server: Object.keys(expected) })); // JSON is YAML
      const url = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}/mcp`;
      const args = [
        '-y',
        '-p',
        'node@24',
        '-p',
        pkg,
        'conformance',
        'server',
        '--url',
        url,
        '--expected-failures',
        file,
      ];
      if (revision === '2026-07-28') args.push('--requirements', revision);
      const outcome = await new Promise<{ code: number | null; output: string }>((resolve) => {
        execFile('npx', args, { timeout: 540_000, maxBuffer: 16 << 20 }, (err, stdout, stderr) =>
          resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, output: stdout + stderr }),
        );
      });
      assert.equal(outcome.code, 0, outcome.output.split('\n').slice(-40).join('\n'));
      assert.match(outcome.output, /Baseline check passed/);
    });
  }
});
