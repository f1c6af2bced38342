/**
 * The Koa glue of MCP: `POST /mcp` (Streamable HTTP), `GET`/`DELETE /mcp` (405: a stateless server has no stream
 * to offer and no session to end), and the HTTP+SSE transport's `GET /sse` and `POST /messages`. Each hands the
 * request, its parsed body and the verified caller to src/mcp, which answers on Node's `res`; the `Host` check
 * (DNS rebinding) is a router guard in front of all five.
 */
import type { Middleware } from 'koa';
import type { OperationId } from '../../../generated/operations.gen.js';
import { TaskError } from '../../errors.js';
import type { Mcp, Principal } from '../../mcp/index.js';
import { HANDLED, type AppContext, type Handlers, type RequestState } from '../handler.js';

type McpOperation = 'postMcp' | 'getMcp' | 'deleteMcp' | 'getLegacySse' | 'postLegacyMessage';

const MCP_OPERATIONS: ReadonlySet<OperationId> = new Set<McpOperation>([
  'postMcp',
  'getMcp',
  'deleteMcp',
  'getLegacySse',
  'postLegacyMessage',
]);

/** The caller as MCP sees it; the auth middleware runs first, so a missing caller is a wiring fault. */
function principalOf(ctx: AppContext): Principal {
  const { state } = ctx;
  if (state.caller === undefined) throw new TaskError('EAUTH', 'Authentication required.');
  // The request's logger is made when first used (request-log.ts); a listing never uses it.
  return {
    actor: state.caller.name,
    requestId: state.requestId,
    get log() {
      return state.log;
    },
  };
}

/** Loads MCP (once, on the first MCP request: the SDK is a large part of the server to load). */
export type LoadMcp = () => Promise<Mcp>;

/** The MCP handlers; MCP writes the response itself, so Koa stands aside (an error before that is still answered). */
export function mcpHandlers({ mcp: load }: { mcp: LoadMcp }): Pick<Handlers, McpOperation> {
  const refuse = async (ctx: AppContext): Promise<never> => {
    ctx.state.transport = 'mcp';
    ctx.set('Allow', 'POST');
    throw new TaskError('EMETHOD', `${ctx.method} is not served on /mcp: this server is stateless.`, {
      hint: 'POST one JSON-RPC message per request.',
      details: { allow: 'POST' },
    });
  };
  return {
    async postMcp(ctx, input) {
      ctx.state.transport = 'mcp';
      const mcp = await load();
      ctx.state.tool = mcp.toolOf(input.body);
      const principal = principalOf(ctx);
      ctx.respond = false;
      await mcp.streamable.handle(ctx.req, ctx.res, input.body, principal);
      return HANDLED;
    },
    getMcp: refuse,
    deleteMcp: refuse,
    async getLegacySse(ctx) {
      ctx.state.transport = 'sse';
      const principal = principalOf(ctx);
      const mcp = await load();
      ctx.respond = false;
      await mcp.legacySse.open(ctx.req, ctx.res, principal);
      return HANDLED;
    },
    async postLegacyMessage(ctx, input) {
      ctx.state.transport = 'sse';
      const mcp = await load();
      ctx.state.tool = mcp.toolOf(input.body);
      await mcp.legacySse.post(input.query.sessionId, principalOf(ctx).actor, input.body);
      // Accepted with no body: set here, as a reply without a body would read as 204.
      ctx.status = 202;
      return HANDLED;
    },
  };
}

/** The router guard of the MCP routes: the `Host` check, right after authentication. */
export function mcpHostGate(load: LoadMcp): (id: OperationId) => Middleware<RequestState> | undefined {
  const gate: Middleware<RequestState> = async (ctx, next) => {
    const refusal = (await load()).checkHost(ctx.get('Host'));
    if (refusal) throw refusal;
    return next();
  };
  return (id) => (MCP_OPERATIONS.has(id) ? gate : undefined);
}
