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
  let stderr = '';
  let stdout = '';
  let url = '';
  let token = '';
  let dispatcher: Agent;

  before(async () => {
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    while (!/listening on (\S+)/.test(stderr)) {
      if (child.exitCode !== null) throw new Error(`npm start exited: ${stderr}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    url = /listening on (\S+)/.exec(stderr)![1]!;
    token = /development token .*: (\S+)/.exec(stderr)![1]!;
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
    assert.match(stderr, /serving the demo repository .*demo-repo/);
  });

  it('refuses a tool call without the token and answers it, per the contract, with the printed one', async () => {
    const body = JSON.stringify({ title: 'Try the demo', slug: 'try-the-demo' });
    const headers = { 'Content-Type': 'application/json', Accept: 'application/json' };
    const anonymous = await fetch(`${url}/v1/tools/change.open/invoke`, { method: 'POST', headers, body, dispatcher });
    assert.equal(anonymous.status, 401);
    await anonymous.text();
    const res = await fetch(`${url}/v1/tools/change.open/invoke`, {
      method: 'POST',
      headers: { ...headers, Authorization: `Bearer ${token}` },
      body,
      dispatcher,
    });
    const checked = await readChecked('invokeTool', res as unknown as Response);
    assert.deepEqual(checked.issues, []);
    assert.ok(res.status === 200 || res.status === 501, `status ${res.status}`);
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
    assert.equal(stderr.split(token).length, 2, 'the token is printed exactly once');
    assert.match(stdout, /"msg":"request completed"/);
    assert.ok(!stdout.includes(token));
  });

  it('drains on SIGTERM and exits 0', async () => {
    child.kill('SIGTERM');
    const [code] = await once(child, 'exit');
    assert.equal(code, 0);
  });
});
