/**
 * MCP servers on bare node:http for `npm run bench`, one per process, chosen by the first argument:
 * - `reference`: the SDK's reference way of serving statelessly, everything built per request (a new `McpServer`
 *   whose tools are converted with `fromJsonSchema` from the contract's schemas), listing the same two tools. A
 *   tool does no work: it answers with `REFERENCE_RESULT` when set (a `change.open` result the bench recorded from
 *   task-mcp, so the SDK checks it against the output schema as it checks task-mcp's), else with nothing;
 * - `factory`: task-mcp's own server factory (`createServerFactory`) behind the same SDK handler, without Koa,
 *   auth, rate limits or logging: what the SDK entry itself costs us. Needs `REPO_ROOT` (never touched).
 * Run with `node --expose-gc`; speaks the memory-probe protocol.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { toNodeHandler } from '@modelcontextprotocol/node';
import { createMcpHandler, fromJsonSchema, InMemoryServerEventBus, McpServer } from '@modelcontextprotocol/server';
import { pino } from 'pino';
import { ALL_SCOPES } from '../../../src/auth/scopes.js';
import { createChangeService } from '../../../src/changes/index.js';
import { loadContract, type Contract } from '../../../src/contract/index.js';
import { createServerFactory } from '../../../src/mcp/server.js';
import { createLifecycle } from '../../../src/lifecycle.js';
import { TOOLS } from '../../../src/tools/catalog.js';
import { createToolPipeline } from '../../../src/tools/pipeline.js';
import { printLine, reportMemoryOnSignal } from '../../helpers/memory-probe.js';

reportMemoryOnSignal();
const contract = loadContract();
const recorded = process.env.REFERENCE_RESULT ? (JSON.parse(process.env.REFERENCE_RESULT) as object) : undefined;
const answer = () =>
  recorded
    ? { content: [{ type: 'text' as const, text: 'Opened.' }], structuredContent: { ...recorded } }
    : { content: [] };

function referenceServer(c: Contract): McpServer {
  const server = new McpServer({ name: 'reference', version: '0' });
  for (const tool of TOOLS) {
    server.registerTool(
      tool.safeName,
      {
        title: tool.title,
        description: tool.description,
        inputSchema: fromJsonSchema(c.schema(tool.inputSchema)),
        outputSchema: fromJsonSchema(c.schema(tool.outputSchema)),
      },
      answer,
    );
  }
  return server;
}

function oursWithoutKoa(c: Contract): ReturnType<typeof createMcpHandler> {
  const repoRoot = process.env.REPO_ROOT;
  if (!repoRoot) throw new Error('REPO_ROOT must be set for the factory server');
  const service = createChangeService({ repoRoot, events: { emit() {} }, version: '0' });
  const pipeline = createToolPipeline({ service, contract: c, lifecycle: createLifecycle(), callTimeoutMs: 30_000 });
  const changes = new InMemoryServerEventBus();
  const factory = createServerFactory({
    pipeline,
    resources: service,
    contract: c,
    toolNames: 'safe',
    version: '0',
    changes,
  });
  const log = pino({ level: 'silent' });
  const principal = { actor: 'bench', scopes: new Set(ALL_SCOPES), requestId: 'bench', log };
  return createMcpHandler(({ era }) => factory(principal, { transport: 'mcp', era }), {
    legacy: 'stateless',
    bus: changes,
  });
}

const kind = process.argv[2];
const handler =
  kind === 'reference'
    ? createMcpHandler(() => referenceServer(contract), { legacy: 'stateless' })
    : kind === 'factory'
      ? oursWithoutKoa(contract)
      : undefined;
if (!handler) throw new Error(`the first argument must be reference or factory, got ${String(kind)}`);

const server = createServer(toNodeHandler(handler));
server.listen(0, '127.0.0.1', () => printLine({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }));
process.once('SIGTERM', () => {
  server.closeAllConnections();
  server.close(() => void handler.close().then(() => process.exit(0)));
});
