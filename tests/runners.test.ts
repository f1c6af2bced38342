/**
 * The bun runner serves the same app: `npm run start:bun` (bun on the TypeScript sources), started as a user
 * starts it, through npm, must answer health, an MCP `tools/list`, a streamed NDJSON tool call, and stop cleanly
 * (exit 0) on SIGTERM. `npm start` (Node) gets the same checks in main.test.ts, on the embedded defaults; one
 * file per runner keeps two `tsc` builds from writing dist/ at once.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createTempRepo } from './helpers/repo.js';
import { TOKENS } from './helpers/server.js';
import { testCertificate } from './helpers/tls.js';
import { mcpRequest } from './helpers/mcp-request.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm';

interface Running {
  child: ChildProcess;
  url: string;
  output(): string;
}

/** Starts `npm run <script>` on a free port and waits for its "listening on" line. */
async function start(script: string, env: Record<string, string>): Promise<Running> {
  const child = spawn(NPM, ['run', '--silent', script], {
    cwd: ROOT,
    env: { ...process.env, ...env, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const collect = (chunk: Buffer): void => void (output += chunk.toString());
  child.stdout!.on('data', collect);
  child.stderr!.on('data', collect);
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${script} did not start in 120 s:\n${output}`)), 120_000);
    const look = (): void => {
      const match = /listening on (https:\/\/\S+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    };
    child.stderr!.on('data', look);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${script} exited ${code} before listening:\n${output}`));
    });
  });
  return { child, url, output: () => output };
}

const runners = [{ name: 'bun (npm run start:bun)', script: 'start:bun' }];

for (const { name, script } of runners) {
  describe(`${name} serves the app`, { timeout: 240_000 }, () => {
    it('answers health, MCP tools/list and an NDJSON call, and exits 0 on SIGTERM', async () => {
      const repo = await createTempRepo();
      const cert = await testCertificate();
      const { fetch } = cert;
      const running = await start(script, {
        TASK_MCP_TOKENS: `alice:${TOKENS.alice}`,
        REPO_ROOT: repo.root,
        TLS_CERT: cert.certPath,
        TLS_KEY: cert.keyPath,
      });
      const auth = { Authorization: `Bearer ${TOKENS.alice}` };
      try {
        const health = await fetch(`${running.url}/healthz`);
        assert.equal(health.status, 200);
        assert.deepEqual(await health.json(), { status: 'ok' });

        const list = await fetch(`${running.url}/mcp`, mcpRequest(TOKENS.alice, 'tools/list'));
        assert.equal(list.status, 200);
        const listText = await list.text();
        assert.match(listText, /"change_open"/);
        assert.match(listText, /"change_archive"/);

        const call = await fetch(`${running.url}/v1/tools/change.open/invoke`, {
          method: 'POST',
          headers: { ...auth, 'Content-Type': 'application/json', Accept: 'application/x-ndjson' },
          body: JSON.stringify({ title: `Runner ${script}`, slug: `runner-${script.replace(':', '-')}` }),
        });
        assert.equal(call.status, 200);
        assert.equal(call.headers.get('content-type')?.split(';')[0], 'application/x-ndjson');
        const types = (await call.text())
          .split('\n')
          .filter(Boolean)
          .map((line) => (JSON.parse(line) as { type: string }).type)
          .filter((type) => type !== 'heartbeat');
        assert.equal(types[0], 'start');
        assert.deepEqual(types.slice(-2), ['result', 'end']);
      } finally {
        const exited = once(running.child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
        running.child.kill('SIGTERM');
        const [code, signal] = await exited;
        await repo.remove();
        assert.equal(signal, null, `${script} was killed by ${signal}:\n${running.output()}`);
        assert.equal(code, 0, `${script} exited ${code}:\n${running.output()}`);
      }
    });
  });
}
