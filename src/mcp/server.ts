/**
 * The MCP server factory. A stateless Streamable HTTP endpoint needs a fresh SDK `Server` per request, so
 * everything that can be built once is: the tool listing with its schemas, the argument validators, the resource
 * listings and the SDK's JSON Schema validator. What remains per request is one `Server` and five handler
 * closures. The low-level `Server` rather than `McpServer`: `McpServer` converts every tool schema again on each
 * listing and cannot accept a second spelling of a tool name (`change.open`) without advertising it.
 */
import type { Server, ServerEventBus, ServerOptions } from '@modelcontextprotocol/server';
import { AjvJsonSchemaValidator } from '@modelcontextprotocol/server/validators/ajv';
import type { Logger } from 'pino';
import type { Scope } from '../auth/scopes.js';
import type { Contract } from '../contract/index.js';
import type { ProgressFn, ToolPipeline } from '../tools/pipeline.js';
import { ContractServer } from './contract-server.js';
import type { OperationsDeps } from './operations.js';
import { serveResourceSubscriptions } from './resource-subscriptions.js';
import { createResourceBox, type ResourceReader } from './resources.js';
import { createToolBox, type ToolNames } from './tools.js';

export interface McpServerDeps {
  /** Where `tools/call` goes. */
  pipeline: ToolPipeline;
  /** Where `resources/read` goes. */
  resources: ResourceReader;
  contract: Pick<Contract, 'schema'>;
  toolNames: ToolNames;
  /** Reported as `serverInfo.version`. */
  version: string;
  /** Where every MCP operation is measured and traced (operations.ts); nowhere when unset. */
  observe?: OperationsDeps;
  /** Where resource changes come from, for the servers that can notify (see `Serving`). */
  changes: ServerEventBus;
}

/**
 * Who a server instance acts for, as the HTTP edge verified it: the caller's name (a token's name or an OAuth
 * caller's), what its token may do, and the request's id and logger (for HTTP+SSE, those of the session's
 * `GET /sse`; each message posted to it brings its own token's scopes).
 */
export interface Principal {
  actor: string;
  scopes: ReadonlySet<Scope>;
  requestId: string;
  log: Logger;
}

/**
 * What a server instance serves: an HTTP+SSE session (its id), or one Streamable HTTP exchange of the SDK's `era`
 * (`modern`: 2026-07-28; `legacy`: a 2025-era request, served statelessly) whose `MCP-Protocol-Version` header
 * named `requestedRevision`.
 */
export type Serving =
  | { transport: 'legacy-sse'; sessionId?: string }
  | { transport: 'mcp'; era: 'modern' | 'legacy'; requestedRevision?: string | undefined };

/** Builds one server for `principal`, for what it serves. */
export type ServerFactory = (principal: Principal, serving: Serving) => Server;

/**
 * Resource change notifications go where a stream can carry them: an HTTP+SSE session (`resources/subscribe`,
 * `list_changed` to every session) and a 2026-07-28 `subscriptions/listen` stream (served by the SDK's handler
 * from the server's capabilities). A 2025-era Streamable HTTP exchange is stateless, and this server serves no GET
 * stream: nothing there could carry a notification, so none is advertised.
 */
const NOTIFYING = { tools: { listChanged: false }, resources: { subscribe: true, listChanged: true } };
const SILENT = { tools: { listChanged: false }, resources: { subscribe: false, listChanged: false } };

const notifies = (serving: Serving): boolean => serving.transport === 'legacy-sse' || serving.era === 'modern';

const INSTRUCTIONS =
  'Plan work as OpenSpec changes: call change_open with a title and a kebab-case slug, edit the files it ' +
  'returns, check every task, then call change_archive. Read changes://active for what is open.';

export function createServerFactory(deps: McpServerDeps): ServerFactory {
  const tools = createToolBox(deps.pipeline, deps.contract, deps.toolNames);
  const resources = createResourceBox(deps.resources);
  const info = { name: 'task-mcp', title: 'task-mcp', version: deps.version };
  // The SDK builds a validator per Server unless given one; ours never validates (no elicitation), so share it.
  const shared = { instructions: INSTRUCTIONS, jsonSchemaValidator: new AjvJsonSchemaValidator() };
  const notifying: ServerOptions = { ...shared, capabilities: NOTIFYING };
  const silent: ServerOptions = { ...shared, capabilities: SILENT };

  return ({ actor, requestId, log }, serving) => {
    const { transport } = serving;
    const requestedRevision = serving.transport === 'mcp' ? serving.requestedRevision : undefined;
    const sessionId = serving.transport === 'legacy-sse' ? serving.sessionId : undefined;
    const observed = deps.observe && { deps: deps.observe, site: { transport, sessionId } };
    const server = new ContractServer(info, notifies(serving) ? notifying : silent, { requestedRevision, observed });
    if (transport === 'legacy-sse') serveResourceSubscriptions(server, deps.changes, () => server.revision());
    server.setRequestHandler('tools/list', () => tools.listing);
    server.setRequestHandler('tools/call', (request, ctx) => {
      const token = request.params._meta?.progressToken;
      const progress: ProgressFn | undefined =
        token === undefined
          ? undefined
          : (step, progress, total, message) => {
              const params = { progressToken: token, progress, total, message: message ?? step };
              // Progress is best effort: a client gone mid-call must not fail the call itself.
              ctx.mcpReq.notify({ method: 'notifications/progress', params }).catch(() => undefined);
            };
      return tools.call(request.params.name, request.params.arguments, {
        caller: actor,
        requestId,
        transport,
        log,
        revision: server.revision(),
        progress,
      });
    });
    server.setRequestHandler('resources/list', () => resources.list);
    server.setRequestHandler('resources/templates/list', () => resources.templates);
    server.setRequestHandler('resources/read', (request) =>
      resources.read(request.params.uri, { log, revision: server.revision() }),
    );
    return server;
  };
}
