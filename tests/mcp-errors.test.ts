/**
 * How MCP reports a failure, per protocol revision, on the real server: each JSON-RPC error carries the
 * contract's code in `data.code` and the number the contract's `x-error-map` gives that code for the revision
 * the request was made at, over Streamable HTTP (each revision's own headers) and on live HTTP+SSE sessions.
 */
import assert from 'node:assert/strict';
import { mkdir, symlink } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { ERROR_MAP, jsonRpcCode } from '../src/contract/index.js';
import { openSession } from './helpers/legacy-sse.js';
import { rpcAt, STREAMABLE_REVISIONS } from './helpers/mcp-rpc.js';
import { useServer } from './helpers/server.js';

/**
 * A missing resource, from each revision's server/resources.mdx "Error Handling": -32002 up to 2025-11-25;
 * -32602 from 2026-07-28 (SEP-2164), which also says implementations of it MUST NOT send -32002.
 */
const RESOURCE_NOT_FOUND: Record<string, number> = {
  '2024-11-05': -32002,
  '2025-03-26': -32002,
  '2025-06-18': -32002,
  '2025-11-25': -32002,
  '2026-07-28': -32602,
};
/** The conformance suite's own probe (scenario sep-2164-resource-not-found), and a change that does not exist. */
const MISSING = ['test://nonexistent-resource-for-conformance-testing', 'change://no-such-change/proposal'];

describe('MCP errors per protocol revision', () => {
  const s = useServer();

  for (const revision of STREAMABLE_REVISIONS) {
    it(`answers a missing resource with ${RESOURCE_NOT_FOUND[revision]} and its URI at ${revision} (Streamable HTTP)`, async () => {
      for (const uri of MISSING) {
        const { status, messages } = await rpcAt(s, revision, 'resources/read', { uri });
        assert.equal(status, 200);
        assert.equal(messages.length, 1);
        const error = messages[0]?.error;
        assert.ok(error, JSON.stringify(messages));
        assert.equal(error.code, RESOURCE_NOT_FOUND[revision], JSON.stringify(error));
        assert.equal(error.code, jsonRpcCode(ERROR_MAP.ENOCHANGE, revision), 'the wire says what the error map says');
        assert.equal(error.data?.code, 'ENOCHANGE');
        assert.equal(error.data?.uri, uri);
      }
    });

    it(`answers an unknown tool with -32602 (ENOTFOUND, as the error map says) at ${revision}`, async () => {
      const { status, messages } = await rpcAt(s, revision, 'tools/call', { name: 'rm_rf', arguments: {} });
      assert.equal(status, 200);
      assert.deepEqual(messages[0]?.error, {
        code: -32602,
        message: 'Unknown tool: rm_rf',
        data: { code: 'ENOTFOUND' },
      });
      assert.equal(jsonRpcCode(ERROR_MAP.ENOTFOUND, revision), -32602);
    });
  }

  for (const revision of ['2024-11-05', '2025-11-25']) {
    it(`answers a missing resource with -32002 on an HTTP+SSE session initialized at ${revision}`, async () => {
      const session = await openSession(s);
      try {
        assert.equal((await session.initialize(revision)).result?.protocolVersion, revision);
        for (const [n, uri] of MISSING.entries()) {
          const { error } = await session.request({ id: n, method: 'resources/read', params: { uri } });
          assert.ok(error);
          assert.equal(error.code, -32002, JSON.stringify(error));
          assert.equal(error.data?.code, 'ENOCHANGE');
          assert.equal(error.data?.uri, uri);
        }
      } finally {
        await session.cancel();
      }
    });
  }

  it('reports a resource the disk fails to resolve (a symlink loop: ELOOP) as a bare internal error, logged once', async () => {
    const opened = await rpcAt(s, '2026-07-28', 'tools/call', {
      name: 'change_open',
      arguments: { slug: 'looped', title: 'Looped' },
    });
    assert.equal(opened.messages[0]?.result?.isError, undefined);
    const specs = path.join(s.repo.root, 'openspec/changes/looped/specs');
    await mkdir(specs, { recursive: true });
    await symlink('loop.md', path.join(specs, 'loop.md'));
    const uri = 'change://looped/delta/loop.md';
    for (const revision of ['2025-11-25', '2026-07-28'] as const) {
      const { messages } = await rpcAt(s, revision, 'resources/read', { uri });
      assert.deepEqual(messages[0]?.error, { code: -32603, message: 'Internal error', data: { code: 'EINTERNAL' } });
    }
    const logged = s.logs().filter((line) => line.msg === 'resource read failed');
    assert.equal(logged.length, 2, 'one line per failed read');
    for (const line of logged) {
      assert.equal((line.err as { code?: string }).code, 'ELOOP');
      assert.equal(line.uri, uri);
    }
  });
});
