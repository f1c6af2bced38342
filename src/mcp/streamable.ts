/**
 * MCP Streamable HTTP, stateless, served by the SDK's `createMcpHandler` (2026-07-28 requests, and 2025-era clients
 * through its stateless legacy fallback) on Node's `req`/`res` with `toNodeHandler`. The HTTP edge has already
 * authenticated, logged and size-checked the request and parsed its body; the SDK then owns `res`. A 2026-07-28
 * `subscriptions/listen` is the SDK's too: its stream follows the change bus, and on shutdown it ends each with the
 * graceful `complete` result (a stream cut without it tells the client to listen again).
 */
import { createMcpHandler } from '@modelcontextprotocol/server';
import type { AuthInfo, McpHttpHandler, McpRequestContext, ServerEventBus } from '@modelcontextprotocol/server';
import { toNodeHandler } from '@modelcontextprotocol/node';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { TaskError } from '../errors.js';
import { streamHeaders, type CloseReason, type StreamProbe } from '../streaming/stream-writer.js';
import { holds } from './revisions.js';
import { assertScoped } from './scopes.js';
import type { Principal, ServerFactory } from './server.js';

export interface StreamableDeps {
  factory: ServerFactory;
  heartbeatMs: number;
  /** What the `subscriptions/listen` streams (2026-07-28) follow. */
  changes: ServerEventBus;
  /** `subscriptions/listen` streams this instance holds at most (`MAX_STREAMS`); past it the SDK answers -32603. */
  maxSubscriptions: number;
  logger?: Logger;
  /** Counts the exchanges answered as an SSE stream (`mcp_sse`) while they stream. */
  probe?: StreamProbe;
}

export interface Streamable {
  /**
   * Serves one `POST /mcp` for `principal`. Throws a TaskError before it writes anything when the message cannot be
   * taken at the request's revision (a batch from 2025-06-18 on) or by this principal (EINSUFFICIENT_SCOPE); after
   * that the SDK answers on `res`.
   */
  handle(req: IncomingMessage, res: ServerResponse, body: unknown, principal: Principal): Promise<void>;
  /** Aborts the exchanges in flight (for shutdown). */
  close(): Promise<void>;
}

/** Principals ride to the factory in `AuthInfo.extra`, the SDK's pass-through slot for what the edge verified. */
const PRINCIPAL = 'task-mcp/principal';
/** The exchange's stream, if its reply is one, rides beside it: opened where the reply is known, closed in `handle`. */
const EXCHANGE = 'task-mcp/exchange';

/** One exchange: set when its reply turned out to be a stream, called once the reply has been written out. */
interface Exchange {
  closed?: (reason: CloseReason) => void;
}

export function createStreamable(deps: StreamableDeps): Streamable {
  const { factory, heartbeatMs, changes, maxSubscriptions, logger, probe } = deps;
  const handler = createMcpHandler(
    (ctx: McpRequestContext) =>
      factory(principalOf(ctx.authInfo), {
        transport: 'mcp',
        era: ctx.era,
        requestedRevision: ctx.requestInfo?.headers.get('mcp-protocol-version') ?? undefined,
      }),
    {
      legacy: 'stateless',
      keepAliveMs: heartbeatMs,
      bus: changes,
      maxSubscriptions,
      // Rejections the SDK answers itself (wrong protocol version, bad envelope…) are the client's problem.
      onerror: (err) => logger?.debug({ err: err.message }, 'mcp request rejected'),
    },
  );
  const node = toNodeHandler(withStreamHeaders(handler, probe), {
    onerror: (err) => logger?.error({ err }, 'mcp handler failed'),
  });

  return {
    async handle(req, res, body, principal) {
      const revision = String(req.headers['mcp-protocol-version'] ?? '');
      // The SDK's 2025-era serving still takes batches.
      if (Array.isArray(body) && holds('singleMessagePerPost', revision)) {
        throw new TaskError('EBADINPUT', `MCP ${revision} takes one JSON-RPC message per POST, not a batch.`, {
          hint: 'POST each message on its own; MCP 2025-06-18 removed JSON-RPC batches.',
          details: { protocolVersion: revision },
        });
      }
      assertScoped(principal.scopes, body, revision);
      const exchange: Exchange = {};
      const extra = { [PRINCIPAL]: principal, [EXCHANGE]: exchange };
      const auth: AuthInfo = { token: '', clientId: principal.actor, scopes: [], extra };
      try {
        await node(Object.assign(req, { auth }), res, body);
      } finally {
        exchange.closed?.(res.writableFinished ? 'ended' : 'client-closed');
      }
    },
    close: () => handler.close(),
  };
}

function principalOf(auth: AuthInfo | undefined): Principal {
  const principal = auth?.extra?.[PRINCIPAL] as Principal | undefined;
  // Only `handle` calls this handler, and it always attaches one.
  if (principal === undefined) throw new Error('mcp: request reached the SDK without a principal');
  return principal;
}

/**
 * Gives the SDK's SSE replies the same headers as every other stream of ours (JSON replies are left alone), so
 * proxies never buffer them whatever a future SDK sends, and counts them open while they stream.
 */
function withStreamHeaders(handler: McpHttpHandler, probe: StreamProbe | undefined): Pick<McpHttpHandler, 'fetch'> {
  return {
    async fetch(request, options) {
      const response = await handler.fetch(request, options);
      const type = response.headers.get('content-type');
      if (type?.startsWith('text/event-stream')) {
        // The listener is node:http(s), so every exchange is HTTP/1.x.
        for (const [name, value] of Object.entries(streamHeaders(type, 1))) response.headers.set(name, value);
        const exchange = options?.authInfo?.extra?.[EXCHANGE] as Exchange | undefined;
        if (exchange && probe) exchange.closed = probe.opened();
      }
      return response;
    },
  };
}
