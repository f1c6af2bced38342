/**
 * The MCP routes of the app: Streamable HTTP on `/mcp`, the 2024-11-05 HTTP+SSE transport on `/sse` and
 * `/messages`, one server factory behind both.
 */
import type { Logger } from 'pino';
import type { ToolPipeline } from '../tools/pipeline.js';
import type { Contract } from '../contract/index.js';
import type { Handlers } from '../http/handler.js';
import { createGuard } from './guard.js';
import { createLegacySseRoutes } from './legacy-sse.js';
import type { ResourceReader } from './resources.js';
import { createServerFactory } from './server.js';
import { createStreamableRoutes } from './streamable.js';
import type { ToolNames } from './tools.js';

export type { ToolNames } from './tools.js';
export { ERROR_META_KEY } from './tools.js';

export interface McpRoutesDeps {
  pipeline: ToolPipeline;
  resources: ResourceReader;
  contract: Pick<Contract, 'schema'>;
  /** `serverInfo.version`. */
  version: string;
  /** `HEARTBEAT_MS`: the comment heartbeat of every SSE stream. */
  heartbeatMs: number;
  /** `STREAM_MAX_BUFFERED_BYTES`: unsent bytes past which an HTTP+SSE reader is cut off (default 1 MiB). */
  maxBufferedBytes?: number;
  /** The listening address; when loopback, non-loopback `Host` headers are refused (DNS rebinding). */
  bindHost: string;
  /** `MCP_TOOL_NAMES`: `safe` advertises `change_open`, `dotted` advertises `change.open`. */
  toolNames: ToolNames;
  logger?: Logger;
}

export type McpHandlers = Required<
  Pick<Handlers, 'postMcp' | 'getMcp' | 'deleteMcp' | 'getLegacySse' | 'postLegacyMessage'>
>;

export interface McpRoutes {
  handlers: McpHandlers;
  /** For shutdown: ends every HTTP+SSE stream (after a `shutdown` event) and aborts in-flight `/mcp` exchanges. */
  closeAll(): Promise<void>;
}

/**
 * Builds everything once: tool definitions with their schemas and validators, listings, guards.
 *
 * @example
 * const mcp = createMcpRoutes({ pipeline, resources: service, contract, version, heartbeatMs: 25_000,
 *   maxBufferedBytes: 1 << 20, bindHost: '127.0.0.1', toolNames: 'safe', logger });
 * const handlers: Handlers = { ...otherHandlers, ...mcp.handlers };
 */
export function createMcpRoutes(deps: McpRoutesDeps): McpRoutes {
  if (!Number.isInteger(deps.heartbeatMs) || deps.heartbeatMs <= 0) {
    throw new Error(`heartbeatMs must be a positive integer of milliseconds, got ${deps.heartbeatMs}`);
  }
  const factory = createServerFactory(deps);
  const guard = createGuard(deps);
  const streamable = createStreamableRoutes({ factory, guard, heartbeatMs: deps.heartbeatMs, logger: deps.logger });
  const legacy = createLegacySseRoutes({
    factory,
    guard,
    heartbeatMs: deps.heartbeatMs,
    maxBufferedBytes: deps.maxBufferedBytes,
  });
  return {
    handlers: { ...streamable.handlers, ...legacy.handlers },
    async closeAll() {
      await legacy.closeAll();
      await streamable.close();
    },
  };
}
