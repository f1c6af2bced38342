/**
 * MCP on servers configured for one test each (`startServer`): the tool names `MCP_TOOL_NAMES` advertises, a domain
 * fault no repository can be made to produce (through `decorateService`), a call past REQUEST_TIMEOUT_MS, and the
 * options `createMcp` refuses when built.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { ProtocolError } from '@modelcontextprotocol/client';
import { createChangeService } from '../src/changes/index.js';
import type { ChangeService } from '../src/changes/types.js';
import { loadContract } from '../src/contract/index.js';
import { TaskError } from '../src/errors.js';
import { createEventFeed } from '../src/events/feed.js';
import { createLifecycle } from '../src/lifecycle.js';
import { createMcp, ERROR_META_KEY } from '../src/mcp/index.js';
import { createToolPipeline } from '../src/tools/pipeline.js';
import { connect } from './helpers/mcp-client.js';
import { startServer } from './helpers/server.js';

const contract = loadContract();

describe('MCP tool names and faults', () => {
  it('advertises the dotted names with MCP_TOOL_NAMES=dotted', async () => {
    const s = await startServer({ env: { MCP_TOOL_NAMES: 'dotted' } });
    try {
      const client = await connect(s, 'modern');
      assert.deepEqual(
        (await client.listTools()).tools.map((t) => t.name),
        ['change.open', 'change.archive'],
      );
      await client.close();
    } finally {
      await s.stop();
    }
  });

  it('turns an unknown domain fault into -32603 without its message, stack or paths', async () => {
    const decorateService = (service: ChangeService): ChangeService => ({
      ...service,
      open: async () => {
        throw new Error('EACCES: /srv/secret/repo/openspec at Object.open (/app/src/x.ts:1:1)');
      },
      readResource: async () => {
        throw new Error('/srv/secret/repo exploded');
      },
      archive: async () => {
        throw new TaskError('ETASKS_INCOMPLETE', '2 tasks are open.', { details: { open: ['1.1', '1.2'] } });
      },
    });
    const s = await startServer({ decorateService });
    try {
      const client = await connect(s, 'modern');
      await assert.rejects(
        client.callTool({ name: 'change_open', arguments: { title: 'x', slug: 'boom-one' } }),
        (err: ProtocolError) => err.code === -32603 && !/secret|src|EACCES/.test(JSON.stringify(err)),
      );
      await assert.rejects(
        client.readResource({ uri: 'changes://active' }),
        (err: ProtocolError) => err.code === -32603 && !/secret/.test(JSON.stringify(err)),
      );
      const refused = await client.callTool({ name: 'change_archive', arguments: { slug: 'boom-one' } });
      assert.equal(refused.isError, true);
      assert.deepEqual(refused._meta?.[ERROR_META_KEY], {
        code: 'ETASKS_INCOMPLETE',
        message: '2 tasks are open.',
        details: { open: ['1.1', '1.2'] },
      });
      await client.close();
    } finally {
      await s.stop();
    }
  });

  it('answers a tool call past REQUEST_TIMEOUT_MS with an ETIMEOUT result, and the call still completes', async () => {
    let finished: Promise<unknown> | undefined;
    const decorateService = (service: ChangeService): ChangeService => ({
      ...service,
      open: (input, ctx) => {
        const slow = new Promise((resolve) => setTimeout(resolve, 300)).then(() => service.open(input, ctx));
        finished = slow;
        return slow;
      },
    });
    const s = await startServer({ decorateService, env: { REQUEST_TIMEOUT_MS: '100' } });
    try {
      const client = await connect(s, 'modern');
      const late = await client.callTool({ name: 'change_open', arguments: { title: 'Slow', slug: 'slow-one' } });
      assert.equal(late.isError, true);
      assert.equal((late._meta?.[ERROR_META_KEY] as { code: string }).code, 'ETIMEOUT');
      assert.equal(((await finished) as { created: boolean }).created, true, 'the late call completed');
      const proposal = join(s.repo.root, 'openspec/changes/slow-one/proposal.md');
      assert.match(readFileSync(proposal, 'utf8'), /Slow/);
      await client.close();
    } finally {
      await s.stop();
    }
  });

  it('rejects options that cannot work when built', async () => {
    // Nothing is read or served at build time, so the service needs no repository.
    const service = createChangeService({ repoRoot: tmpdir(), events: { emit() {} }, version: '0.0.0-test' });
    const pipeline = createToolPipeline({ service, contract, lifecycle: createLifecycle(), callTimeoutMs: 30_000 });
    const options = {
      pipeline,
      resources: service,
      contract,
      version: '0.0.0-test',
      heartbeatMs: 25_000,
      feed: createEventFeed({ ringSize: 10 }),
      maxStreams: 10,
      bindHost: '127.0.0.1',
      toolNames: 'safe',
    } as const;
    await createMcp(options).close();
    assert.throws(() => createMcp({ ...options, toolNames: 'both' as 'safe' }), /toolNames must be 'safe' or 'dotted'/);
  });
});
