/**
 * Third-party clients as users run them: the MCP Inspector CLI (v1) and curl, as separate processes over real
 * TLS. The certificate is trusted per process (NODE_EXTRA_CA_CERTS, --cacert), never by turning checks off.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { gitStatus, startServer, TOKENS, type TestServer } from './helpers/server.js';
import { testCertificate } from './helpers/tls.js';

const run = promisify(execFile);
const INSPECTOR = new URL('../node_modules/@modelcontextprotocol/inspector-cli/build/index.js', import.meta.url)
  .pathname;

describe('inspector-cli and curl against the MCP endpoints', () => {
  let s: TestServer;
  let mcpUrl: string;
  let dir: string;
  let caFile: string;
  before(async () => {
    s = await startServer();
    mcpUrl = `${s.url}/mcp`;
    dir = await mkdtemp(join(tmpdir(), 'task-mcp-cli-'));
    caFile = join(dir, 'ca.pem');
    await writeFile(caFile, (await testCertificate()).cert);
  });
  after(async () => {
    await s.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const inspector = async (url: string, transport: 'http' | 'sse', ...args: string[]) => {
    const { stdout } = await run(
      process.execPath,
      [INSPECTOR, url, '--transport', transport, '--header', `Authorization: Bearer ${TOKENS.alice}`, ...args],
      // Its build finds its own package.json relative to the working directory.
      { cwd: dirname(INSPECTOR), env: { ...process.env, NODE_EXTRA_CA_CERTS: caFile }, timeout: 30_000 },
    );
    return JSON.parse(stdout);
  };

  for (const transport of ['http', 'sse'] as const) {
    it(`lists and calls the tools with --header "Authorization: Bearer …" (${transport})`, async () => {
      const url = transport === 'http' ? mcpUrl : `${s.url}/sse`;
      const listed = await inspector(url, transport, '--method', 'tools/list');
      assert.deepEqual(
        listed.tools.map((t: { name: string }) => t.name),
        ['change_open', 'change_archive'],
      );
      const slug = `cli-${transport}`;
      const called = await inspector(
        url,
        transport,
        '--method',
        'tools/call',
        '--tool-name',
        'change_open',
        '--tool-arg',
        `title=From the CLI`,
        `slug=${slug}`,
      );
      assert.equal(called.structuredContent.slug, slug);
      assert.match(await gitStatus(s.repo), new RegExp(`openspec/changes/${slug}/`));
    });
  }

  it('answers curl: tools/list as JSON-RPC, and a missing token as problem+json 401', async () => {
    const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' });
    const common = [
      '-sS',
      '--max-time',
      '20',
      '--cacert',
      caFile,
      '-H',
      'Content-Type: application/json',
      '-H',
      'Accept: application/json, text/event-stream',
      '--data',
      body,
      mcpUrl,
    ];
    const { stdout } = await run('curl', ['-H', `Authorization: Bearer ${TOKENS.alice}`, ...common], {
      timeout: 30_000,
    });
    const data =
      stdout
        .split('\n')
        .find((line) => line.startsWith('data: '))
        ?.slice(6) ?? stdout;
    assert.deepEqual(
      JSON.parse(data).result.tools.map((t: { name: string }) => t.name),
      ['change_open', 'change_archive'],
    );
    const denied = await run('curl', ['-w', '\n%{http_code} %{content_type}', ...common], { timeout: 30_000 });
    const [json, status] = denied.stdout.split('\n');
    assert.equal(status, '401 application/problem+json');
    assert.equal(JSON.parse(json!).code, 'EAUTH');
  });
});
