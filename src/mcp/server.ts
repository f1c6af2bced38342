/**
 * The MCP server factory. A stateless Streamable HTTP endpoint needs a fresh SDK `Server` per request, so
 * everything that can be built once is: the tool listing with its schemas, the argument validators, the resource
 * listings and the SDK's JSON Schema validator. What remains per request is one `Server` and five handler
 * closures. The low-level `Server` rather than `McpServer`: `McpServer` converts every tool schema again on each
 * listing and cannot accept a second spelling of a tool name (`change.open`) without advertising it.
 */
import type { Server, ServerOptions } from '@modelcontextprotocol/server';
import { AjvJsonSchemaValidator } from '@modelcontextprotocol/server/validators/ajv';
import type { Logger } from 'pino';
import type { Scope } from '../auth/scopes.js';
import type { Contract } from '../contract/index.js';
import type { ProgressFn, ToolPipeline } from '../tools/pipeline.js';
import { ContractServer } from './contract-server.js';
import type { OperationsDeps } from './operations.js';
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

/** The MCP transports, as the tool pipeline names them. */
export type McpTransport = 'mcp' | 'legacy-sse';

/** What a transport knows of the exchange a server is built for. */
export interface ServerSite {
  /** The `MCP-Protocol-Version` an HTTP request named. */
  requestedRevision?: string;
  /** The HTTP+SSE session's id. */
  sessionId?: string;
}

/** Builds one server for `principal` on `transport`. */
export type ServerFactory = (principal: Principal, transport: McpTransport, site?: ServerSite) => Server;

const INSTRUCTIONS =
  'Plan work as OpenSpec changes: call change_open with a title and a kebab-case slug, edit the files it ' +
  'returns, check every task, then call change_archive. Read changes://active for what is open.';

export function createServerFactory(deps: McpServerDeps): ServerFactory {
  const tools = createToolBox(deps.pipeline, deps.contract, deps.toolNames);
  const resources = createResourceBox(deps.resources);
  const info = { name: 'task-mcp', title: 'task-mcp', version: deps.version };
  const options: ServerOptions = {
    capabilities: { tools: { listChanged: false }, resources: { listChanged: false } },
    instructions: INSTRUCTIONS,
    // The SDK builds a validator per Server unless given one; ours never validates (no elicitation), so share it.
    jsonSchemaValidator: new AjvJsonSchemaValidator(),
  };

  return ({ actor, requestId, log }, transport, { requestedRevision, sessionId } = {}) => {
    const observed = deps.observe && { deps: deps.observe, site: { transport, sessionId } };
    const server = new ContractServer(info, options, { requestedRevision, observed });
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
