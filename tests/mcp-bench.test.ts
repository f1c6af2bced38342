/**
 * The hot path, measured (run with MCP_BENCH=1; skipped otherwise, it takes ~45 s): `tools/list` requests per
 * second through our `/mcp` route on the real server (plain HTTP, as behind a TLS-terminating proxy, so the figures
 * compare with the node:http ones; rate limits raised out of the way), through our server factory
 * alone on node:http, through the SDK's reference way of serving statelessly (a fresh McpServer with
 * `fromJsonSchema` tools per request), and from a bare node:http JSON-RPC responder; then the median round trip
 * of `tools/list` and `change_open` over `/mcp`. autocannon runs as its own process, 10 connections, 5 s.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import { it } from 'node:test';
import { createMcpHandler, fromJsonSchema, McpServer } from '@modelcontextprotocol/server';
import { toNodeHandler } from '@modelcontextprotocol/node';
import { pino } from 'pino';
import { createChangeService } from '../src/changes/index.js';
import { loadContract } from '../src/contract/index.js';
import { BODY_CHECKED_ELSEWHERE } from '../src/http/router.js';
import { createServerFactory } from '../src/mcp/server.js';
import { startServer, TOKENS } from './helpers/server.js';

const run = promisify(execFile);
const AUTOCANNON = new URL('../node_modules/autocannon/autocannon.js', import.meta.url).pathname;
const LIST = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} });
const MODERN_LIST = JSON.stringify({
  jsonrpc: '2.0',
  id: 1,
  method: 'tools/list',
  params: {
    _meta: {
      'io.modelcontextprotocol/protocolVersion': '2026-07-28',
      'io.modelcontextprotocol/clientCapabilities': {},
    },
  },
});
const HEADERS = {
  'content-type': 'application/json',
  accept: 'application/json, text/event-stream',
  authorization: `Bearer ${TOKENS.alice}`,
};
const MODERN_HEADERS = { ...HEADERS, 'mcp-protocol-version': '2026-07-28', 'mcp-method': 'tools/list' };

async function reqPerSec(url: string, body: string, headers: Record<string, string>): Promise<number> {
  const args = [AUTOCANNON, '-j', '-c', '10', '-d', '5', '-m', 'POST', '-b', body];
  for (const [k, v] of Object.entries(headers)) args.push('-H', `${k}: ${v}`);
  const { stdout } = await run(process.execPath, [...args, url], { timeout: 60_000, maxBuffer: 8 << 20 });
  const result = JSON.parse(stdout) as { requests: { average: number }; non2xx: number; errors: number };
  assert.equal(result.non2xx + result.errors, 0, `${url}: non-2xx or errors`);
  return Math.round(result.requests.average);
}

const listen = (server: Server): Promise<string> =>
  new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`)),
  );

async function median(n: number, once: (i: number) => Promise<void>): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const start = performance.now();
    await once(i);
    times.push(performance.now() - start);
  }
  return Number(times.sort((a, b) => a - b)[Math.floor(n / 2)]!.toFixed(2));
}

it(
  'measures tools/list throughput and round trips',
  { skip: process.env.MCP_BENCH !== '1', timeout: 300_000 },
  async () => {
    const c = loadContract(BODY_CHECKED_ELSEWHERE);
    const s = await startServer({
      plain: true,
      env: { LOG_LEVEL: 'warn', RATE_LIMIT_BURST: '1000000/1s', RATE_LIMIT_SUSTAINED: '10000000/60s' },
    });
    const mcpUrl = `${s.url}/mcp`;
    const canned = JSON.stringify({ jsonrpc: '2.0', id: 1, result: { tools: [] } });
    const bare = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req
        .on('data', (b: Buffer) => chunks.push(b))
        .on('end', () => {
          JSON.parse(Buffer.concat(chunks).toString());
          res.writeHead(200, { 'content-type': 'application/json' }).end(canned);
        });
    });
    // The SDK's reference shape: everything built per request.
    const reference = createMcpHandler(
      () => {
        const server = new McpServer({ name: 'reference', version: '0' });
        for (const [name, input, output] of [
          ['change_open', 'ChangeOpenInput', 'ChangeOpenResult'],
          ['change_archive', 'ChangeArchiveInput', 'ChangeArchiveResult'],
        ] as const) {
          server.registerTool(
            name,
            { inputSchema: fromJsonSchema(c.schema(input)), outputSchema: fromJsonSchema(c.schema(output)) },
            () => ({ content: [] }),
          );
        }
        return server;
      },
      { legacy: 'stateless' },
    );
    const referenceServer = createServer(toNodeHandler(reference));
    // Our server factory without Koa, auth and contract checks: what the SDK entry itself costs.
    const service = createChangeService({ repoRoot: s.repo.root, events: { emit() {} }, version: '0' });
    const factory = createServerFactory({ service, contract: c, toolNames: 'safe', version: '0' });
    const log = pino({ level: 'silent' });
    const ours = createMcpHandler(() => factory({ actor: 'bench', log }), { legacy: 'stateless' });
    const oursServer = createServer(toNodeHandler(ours));
    try {
      const bareUrl = await listen(bare);
      const referenceUrl = await listen(referenceServer);
      const oursUrl = await listen(oursServer);
      const figures = {
        bareNodeHttp: await reqPerSec(bareUrl, LIST, HEADERS),
        ours2025: await reqPerSec(mcpUrl, LIST, HEADERS),
        ours2026: await reqPerSec(mcpUrl, MODERN_LIST, MODERN_HEADERS),
        oursFactoryBareHttp2026: await reqPerSec(oursUrl, MODERN_LIST, MODERN_HEADERS),
        sdkReference2025: await reqPerSec(referenceUrl, LIST, HEADERS),
        sdkReference2026: await reqPerSec(referenceUrl, MODERN_LIST, MODERN_HEADERS),
      };
      const post = (body: string, headers: Record<string, string>) =>
        fetch(mcpUrl, { method: 'POST', headers, body }).then((r) => r.text());
      const roundTrips = {
        toolsListMs: await median(200, () => post(MODERN_LIST, MODERN_HEADERS).then(() => undefined)),
        changeOpenMs: await median(21, (i) => {
          const call = { ...JSON.parse(MODERN_LIST), method: 'tools/call' };
          call.params = { ...call.params, name: 'change_open', arguments: { title: `Bench ${i}`, slug: `bench-${i}` } };
          return post(JSON.stringify(call), {
            ...MODERN_HEADERS,
            'mcp-method': 'tools/call',
            'mcp-name': 'change_open',
          }).then(() => undefined);
        }),
      };
      console.log(JSON.stringify({ reqPerSec: figures, medianRoundTrip: roundTrips }, null, 2));
      for (const [name, value] of Object.entries(figures)) assert.ok(value > 0, name);
    } finally {
      bare.close();
      referenceServer.close();
      await reference.close();
      await s.stop();
    }
  },
);
