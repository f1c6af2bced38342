/**
 * MCP, over Node's `req`/`res` and a principal the HTTP edge verified (this folder knows no Koa and nothing of
 * src/http): Streamable HTTP (`POST /mcp`) and the 2024-11-05 HTTP+SSE transport (`GET /sse`, `POST /messages`),
 * one server factory behind both, the resource change notifications both carry (from the change feed), and the
 * `Host` check both need.
 */
import type { Logger } from 'pino';
import type { Contract } from '../contract/index.js';
import type { StreamKind } from '../metrics/index.js';
import type { StreamProbe } from '../streaming/stream-writer.js';
import type { EventFeed } from '../events/feed.js';
import type { ToolPipeline } from '../tools/pipeline.js';
import { createChangeBus } from './change-notifications.js';
import { createHostCheck, type HostCheck } from './host-check.js';
import { createLegacySse, type LegacySse } from './legacy-sse.js';
import type { OperationsDeps } from './operations.js';
import type { ResourceReader } from './resources.js';
import { createServerFactory } from './server.js';
import { createMemorySessionDirectory, type SessionDirectory } from './sessions.js';
import { createStreamable, type Streamable } from './streamable.js';
import type { ToolNames } from './tools.js';

import { toolOf } from './message-check.js';
export type { Principal } from './server.js';
export type { ToolNames } from './tools.js';
export { ERROR_META_KEY } from './result-meta.js';

export interface McpDeps {
  pipeline: ToolPipeline;
  resources: ResourceReader;
  contract: Pick<Contract, 'schema'>;
  /** `serverInfo.version`. */
  version: string;
  /** `HEARTBEAT_MS`: the heartbeat of every SSE stream. */
  heartbeatMs: number;
  /** `STREAM_MAX_BUFFERED_BYTES`: unsent bytes past which an HTTP+SSE reader is cut off (default 1 MiB). */
  maxBufferedBytes?: number;
  /** The change feed: resource change notifications follow it (`subscriptions/listen`, `resources/subscribe`). */
  feed: EventFeed;
  /** `MAX_STREAMS`: the `subscriptions/listen` streams this instance holds at most. */
  maxStreams: number;
  /** The listening address; when loopback, non-loopback `Host` headers are refused (DNS rebinding). */
  bindHost: string;
  /** `MCP_TOOL_NAMES`: `safe` advertises `change_open`, `dotted` advertises `change.open`. */
  toolNames: ToolNames;
  /** Where HTTP+SSE sessions live; this process's memory by default. */
  sessions?: SessionDirectory;
  logger?: Logger;
  /** Where every MCP operation is measured and traced; nowhere when unset. */
  observe?: OperationsDeps;
  /** The probe of each stream MCP opens, by kind (`legacy_sse`, `mcp_sse`). */
  probes?: (kind: StreamKind) => StreamProbe;
}

export interface Mcp {
  /** The tool a JSON-RPC message calls, for the request's log line. */
  toolOf: typeof toolOf;
  streamable: Streamable;
  legacySse: LegacySse;
  /** The refusal of a request whose `Host` could be DNS rebinding, or undefined. */
  checkHost: HostCheck;
  /**
   * For shutdown: ends every HTTP+SSE stream (after a `shutdown` event) and `subscriptions/listen` stream (after its
   * `complete` result), aborts in-flight `/mcp` exchanges and stops following the change feed.
   */
  close(): Promise<void>;
}

/**
 * Builds everything once: tool definitions with their schemas, listings, the server factory, both transports.
 *
 * @example
 * const mcp = createMcp({ pipeline, resources: service, contract, version, heartbeatMs: 25_000,
 *   feed, maxStreams: 1000, bindHost: '127.0.0.1', toolNames: 'safe', logger });
 * await mcp.streamable.handle(req, res, body, { actor: 'alice', requestId, log });
 */
export function createMcp(deps: McpDeps): Mcp {
  const changes = createChangeBus(deps.feed, {
    onListenerError: (err) => deps.logger?.warn({ err }, 'an MCP change listener failed'),
  });
  const factory = createServerFactory({ ...deps, changes });
  const streamable = createStreamable({
    factory,
    heartbeatMs: deps.heartbeatMs,
    changes,
    maxSubscriptions: deps.maxStreams,
    logger: deps.logger,
    probe: deps.probes?.('mcp_sse'),
  });
  const legacySse = createLegacySse({
    factory,
    sessions: deps.sessions ?? createMemorySessionDirectory(),
    heartbeatMs: deps.heartbeatMs,
    maxBufferedBytes: deps.maxBufferedBytes,
    probe: deps.probes?.('legacy_sse'),
  });
  return {
    toolOf,
    streamable,
    legacySse,
    checkHost: createHostCheck(deps.bindHost),
    async close() {
      legacySse.closeAll();
      await streamable.close();
      changes.close();
    },
  };
}
