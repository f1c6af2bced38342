/**
 * The README's first command on nothing but the embedded defaults: `npm start` builds, serves HTTPS with a
 * self-signed certificate, prints a token once, serves a demo repository, and drains on SIGTERM with exit 0.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Agent, fetch } from 'undici';
import type { ChangeOpenResult } from '../generated/types.gen.js';
import { readVersion } from '../src/package-root.js';
import { collectOutput } from './helpers/child-output.js';
import { readChecked } from './helpers/contract.js';
import { mcpRequest } from './helpers/mcp-request.js';

describe('npm start on the embedded defaults', () => {
  const stateDir = mkdtempSync(join(tmpdir(), 'task-mcp-state-'));
  const child = spawn('npm', ['start', '--silent'], {
    cwd: new URL('..', import.meta.url).pathname,
    // Only what a fresh machine has, plus a free port and a state folder outside the checkout.
    env: { PATH: process.env.PATH, HOME: process.env.HOME, PORT: '0', TASK_MCP_STATE_DIR: stateDir },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const stderr = collectOutput(child, child.stderr);
  const stdout = collectOutput(child, child.stdout);
  let url = '';
  let token = '';
  let dispatcher: Agent;

  before(async () => {
    // `npm start` builds first (tsc): a broken build or start fails here, with its output, not at the suite's timeout.
    url = (await stderr.until(/listening on (\S+)/, 120_000))[1]!;
    token = /development token .*: (\S+)/.exec(stderr.text())![1]!;
    // The client trusts the certificate the server generated, and nothing else.
    dispatcher = new Agent({ connect: { ca: readFileSync(join(stateDir, 'dev-cert.pem'), 'utf8') } });
  });
  after(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
    rmSync(stateDir, { recursive: true, force: true });
  });

  it('serves HTTPS on 127.0.0.1 with its own certificate', async () => {
    assert.match(url, /^https:\/\/127\.0\.0\.1:\d+$/);
    const res = await fetch(`${url}/healthz`, { dispatcher });
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { status: 'ok' });
  });

  it('is ready, serving a demo git repository', async () => {
    const res = await fetch(`${url}/readyz`, { dispatcher });
    assert.equal(res.status, 200);
    assert.match(stderr.text(), /serving the demo repository .*demo-repo/);
  });

  it("answers the README's tool call: 401 EAUTH without the token, the opened change with it", async () => {
    // As the README's curl sends it (curl's default Accept is */*).
    const body = JSON.stringify({ title: 'Add search', slug: 'add-search' });
    const headers = { 'Content-Type': 'application/json', Accept: '*/*' };
    const anonymous = await fetch(`${url}/v1/tools/change.open/invoke`, { method: 'POST', headers, body, dispatcher });
    assert.equal(anonymous.status, 401);
    assert.equal(((await anonymous.json()) as { code: string }).code, 'EAUTH');
    const res = await fetch(`${url}/v1/tools/change.open/invoke`, {
      method: 'POST',
      headers: { ...headers, Authorization: `Bearer ${token}` },
      body,
      dispatcher,
    });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'application/json; charset=utf-8');
    const checked = await readChecked('invokeTool', res as unknown as Response);
    assert.deepEqual(checked.issues, []);
    const { lock, toolVersions, ...change } = checked.body as ChangeOpenResult;
    assert.deepEqual(change, {
      apiVersion: 'task-mcp/v1',
      slug: 'add-search',
      status: 'open',
      created: true,
      locked: true,
      paths: {
        change: 'openspec/changes/add-search',
        proposal: 'openspec/changes/add-search/proposal.md',
        tasks: 'openspec/changes/add-search/tasks.md',
        specs: 'openspec/changes/add-search/specs',
      },
      resourceUris: {
        proposal: 'change://add-search/proposal',
        tasks: 'change://add-search/tasks',
        delta: 'change://add-search/delta',
      },
    });
    // The development token's name holds the lock for the default hour.
    assert.deepEqual([lock.owner, lock.ttl, Date.parse(lock.expiresAt) - Date.parse(lock.since)], ['dev', 3600, 3.6e6]);
    // npm start serves on the Node that runs these tests (no other `node` ahead of it on npm's PATH).
    assert.equal(toolVersions.node, process.versions.node);
    assert.equal(toolVersions.taskMcp, readVersion());
  });

  it('lists the tools over MCP and streams a tool call as NDJSON', async () => {
    const auth = { Authorization: `Bearer ${token}` };
    const list = await fetch(`${url}/mcp`, { ...mcpRequest(token, 'tools/list'), dispatcher });
    assert.equal(list.status, 200);
    assert.match(await list.text(), /"change_open".*"change_archive"|"change_archive".*"change_open"/s);
    const call = await fetch(`${url}/v1/tools/change.open/invoke`, {
      method: 'POST',
      headers: { ...auth, 'Content-Type': 'application/json', Accept: 'application/x-ndjson' },
      body: JSON.stringify({ title: 'Streamed', slug: 'streamed' }),
      dispatcher,
    });
    const types = (await call.text())
      .split('\n')
      .filter(Boolean)
      .map((line) => (JSON.parse(line) as { type: string }).type)
      .filter((type) => type !== 'heartbeat');
    assert.deepEqual([types[0], ...types.slice(-2)], ['start', 'result', 'end']);
  });

  it('prints the token once and never writes it into its JSON log', () => {
    assert.equal(stderr.text().split(token).length, 2, 'the token is printed exactly once');
    assert.match(stdout.text(), /"msg":"request completed"/);
    assert.ok(!stdout.text().includes(token));
  });

  it('drains on SIGTERM and exits 0', async () => {
    child.kill('SIGTERM');
    const [code] = await once(child, 'exit');
    assert.equal(code, 0);
  });
});
