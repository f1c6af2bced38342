/**
 * `POST /mcp`: MCP Streamable HTTP, stateless, served by the SDK's `createMcpHandler` (2026-07-28 requests, and
 * 2025-era clients through its stateless legacy fallback) and mounted in Koa with `toNodeHandler`. Koa has
 * already authenticated, logged and size-checked the request and parsed its body; the SDK then owns `res`.
 */
import { createMcpHandler } from '@modelcontextprotocol/server';
import type { AuthInfo, McpHttpHandler, McpRequestContext } from '@modelcontextprotocol/server';
import { toNodeHandler } from '@modelcontextprotocol/node';
import type { Logger } from 'pino';
import { TaskError } from '../errors.js';
import { HANDLED, type AppContext, type Handlers } from '../http/handler.js';
import { streamHeaders } from '../streaming/stream-writer.js';
import { findTool } from '../tools/catalog.js';
import type { Guard } from './guard.js';
import { holds } from './revisions.js';
import type { Principal, ServerFactory } from './server.js';

export interface StreamableDeps {
  factory: ServerFactory;
  guard: Guard;
  heartbeatMs: number;
  logger?: Logger;
}

export interface StreamableRoutes {
  handlers: Required<Pick<Handlers, 'postMcp' | 'getMcp' | 'deleteMcp'>>;
  close(): Promise<void>;
}

/** Principals ride to the factory in `AuthInfo.extra`, the SDK's pass-through slot for what the edge verified. */
const PRINCIPAL = 'task-mcp/principal';

export function createStreamableRoutes({ factory, guard, heartbeatMs, logger }: StreamableDeps): StreamableRoutes {
  const handler = createMcpHandler(
    (ctx: McpRequestContext) =>
      factory(principalOf(ctx.authInfo), ctx.requestInfo?.headers.get('mcp-protocol-version') ?? undefined),
    {
      legacy: 'stateless',
      keepAliveMs: heartbeatMs,
      // Rejections the SDK answers itself (wrong protocol version, bad envelope…) are the client's problem.
      onerror: (err) => logger?.debug({ err: err.message }, 'mcp request rejected'),
    },
  );
  const node = toNodeHandler(withStreamHeaders(handler), {
    onerror: (err) => logger?.error({ err }, 'mcp handler failed'),
  });

  const refuse = async (ctx: AppContext) => {
    guard(ctx);
    ctx.state.transport = 'mcp';
    // A stateless server has no stream to offer (GET) and no session to end (DELETE).
    ctx.set('Allow', 'POST');
    throw new TaskError('EMETHOD', `${ctx.method} is not served on /mcp: this server is stateless.`, {
      hint: 'POST one JSON-RPC message per request.',
      details: { allow: 'POST' },
    });
  };

  return {
    handlers: {
      async postMcp(ctx, input) {
        guard(ctx);
        ctx.state.transport = 'mcp';
        const revision = ctx.get('MCP-Protocol-Version');
        // The SDK's 2025-era serving still takes batches.
        if (Array.isArray(input.body) && holds('singleMessagePerPost', revision)) {
          throw new TaskError('EBADINPUT', `MCP ${revision} takes one JSON-RPC message per POST, not a batch.`, {
            hint: 'POST each message on its own; MCP 2025-06-18 removed JSON-RPC batches.',
            details: { protocolVersion: revision },
          });
        }
        ctx.state.tool = toolOf(input.body);
        const principal: Principal = {
          actor: callerOf(ctx),
          requestId: ctx.state.requestId,
          log: ctx.state.log,
          transport: 'mcp',
        };
        const auth: AuthInfo = { token: '', clientId: principal.actor, scopes: [], extra: { [PRINCIPAL]: principal } };
        ctx.respond = false;
        await node(Object.assign(ctx.req, { auth }), ctx.res, input.body);
        return HANDLED;
      },
      getMcp: refuse,
      deleteMcp: refuse,
    },
    close: () => handler.close(),
  };
}

/** The caller's token name; the auth middleware runs first, so its absence is a wiring fault. */
export function callerOf(ctx: AppContext): string {
  if (ctx.state.caller === undefined) throw new TaskError('EAUTH', 'Authentication required.');
  return ctx.state.caller.name;
}

/** The canonical tool name of a `tools/call`, for the request's log line. */
export function toolOf(body: unknown): string | undefined {
  const message = body as { method?: unknown; params?: { name?: unknown } } | null;
  if (message?.method !== 'tools/call' || typeof message.params?.name !== 'string') return undefined;
  return findTool(message.params.name)?.name ?? message.params.name.slice(0, 64);
}

function principalOf(auth: AuthInfo | undefined): Principal {
  const principal = auth?.extra?.[PRINCIPAL] as Principal | undefined;
  // Only postMcp calls this handler, and it always attaches one.
  if (principal === undefined) throw new Error('mcp: request reached the SDK without a principal');
  return principal;
}

/**
 * Gives the SDK's SSE replies the same headers as every other stream of ours (JSON replies are left alone), so
 * proxies never buffer them whatever a future SDK sends.
 */
function withStreamHeaders(handler: McpHttpHandler): Pick<McpHttpHandler, 'fetch'> {
  return {
    async fetch(request, options) {
      const response = await handler.fetch(request, options);
      const type = response.headers.get('content-type');
      if (type?.startsWith('text/event-stream')) {
        // The listener is node:http(s), so every exchange is HTTP/1.x.
        for (const [name, value] of Object.entries(streamHeaders(type, 1))) response.headers.set(name, value);
      }
      return response;
    },
  };
}
