/**
 * A start loads only what every request needs: what only some routes or settings need is loaded on first use
 * (the MCP SDK on the first MCP request, the body parser on the first body, YAML on the first change written,
 * ioredis with REDIS_URL, the OAuth verifier's JOSE library with OAUTH_ISSUER, the certificate generator when
 * one must be made), which keeps start-up near a bare Node start. The server runs as `npm start` does, with a
 * preload that logs each module loaded (tests/helpers/module-log.ts).
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { invoke, startMain, type MainProcess } from './helpers/main-process.js';
import { mcpRequest } from './helpers/mcp-request.js';
import { createTempRepo, type TempRepo } from './helpers/repo.js';
import { TOKENS } from './helpers/server.js';

/** Packages loaded only when needed, by what first needs them. */
const LATER = {
  mcp: /\/node_modules\/(@modelcontextprotocol|zod)\//,
  body: /\/node_modules\/(@koa\/bodyparser|co-body)\//,
  yaml: /\/node_modules\/yaml\//,
  redis: /\/node_modules\/ioredis\//,
  oauth: /\/node_modules\/jose\//,
  certificate: /\/node_modules\/selfsigned\//,
};

describe('start-up', () => {
  let repo: TempRepo;
  let dir: string;
  let server: MainProcess;
  const loaded = async (): Promise<string[]> => (await readFile(path.join(dir, 'modules.log'), 'utf8')).split('\n');
  const has = async (pattern: RegExp): Promise<boolean> => (await loaded()).some((url) => pattern.test(url));
  before(async () => {
    repo = await createTempRepo();
    dir = await mkdtemp(path.join(tmpdir(), 'task-mcp-modules-'));
    const env = { MODULE_LOG: path.join(dir, 'modules.log') };
    server = await startMain({ repoRoot: repo.root, env, preload: ['./tests/helpers/module-log.ts'] });
  });
  after(async () => {
    await server.stop();
    await repo.remove();
    await rm(dir, { recursive: true, force: true });
  });

  it('loads none of what only some routes or settings need', async () => {
    assert.ok(await has(/\/node_modules\/koa\//), 'the log records packages');
    for (const [what, pattern] of Object.entries(LATER)) assert.equal(await has(pattern), false, `${what} at start`);
  });

  it('loads the MCP SDK on the first MCP request, the body parser and YAML on the first change opened', async () => {
    const list = await fetch(`${server.url}/mcp`, mcpRequest(TOKENS.alice, 'tools/list'));
    assert.equal(list.status, 200);
    assert.match(await list.text(), /"change_open"/);
    assert.equal(await has(LATER.mcp), true);
    const open = await invoke(server, 'change.open', { slug: 'first-open', title: 'First' });
    assert.equal(open.status, 200, await open.text());
    assert.equal(await has(LATER.body), true);
    assert.equal(await has(LATER.yaml), true);
  });
});
