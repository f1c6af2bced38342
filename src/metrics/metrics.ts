/**
 * The server's metrics: one prom-client `Registry` per server (never the global default one, so several servers
 * in one process each count their own), and small typed recording functions, so a call site is one line and
 * never touches prom-client. Knows nothing of Koa or MCP: the adapters call in.
 */
import { Registry, collectDefaultMetrics } from 'prom-client';
import { domainMetrics, type DomainMetrics } from './domain.js';
import { httpMetrics, type HttpMetrics } from './http.js';
import { callerLabeller } from './labels.js';
import { mcpMetrics, type McpMetrics } from './mcp.js';
import { readinessMetrics, type ReadinessMetrics } from './readiness.js';
import { refusalMetrics, type RefusalMetrics } from './refusals.js';
import { streamMetrics, type StreamMetrics } from './streams.js';

export interface MetricsOptions {
  /** `METRICS_CALLER_LABELS=1`: label refusals and tool calls with the caller's name (bounded; never a token). */
  callerLabels: boolean;
  /** The instance's stream cap (`MAX_STREAMS`), exposed so a rule can compare open streams with it. */
  maxStreams: number;
  /**
   * prom-client's process and Node.js collectors (event-loop lag, memory, GC, handles). They cannot be stopped
   * once started (a GC observer, an event-loop monitor), so only a server that exposes its metrics starts them.
   */
  defaultCollectors: boolean;
}

/** The Prometheus text exposition of every metric. */
export interface Exposition {
  contentType: string;
  body: string;
}

export interface Metrics
  extends HttpMetrics, McpMetrics, StreamMetrics, RefusalMetrics, DomainMetrics, ReadinessMetrics {
  /** The registry's current exposition, in the Prometheus text format. */
  expose(): Promise<Exposition>;
  /** The registry itself, for tests that read the metrics as JSON. */
  readonly registry: Registry;
}

/**
 * Builds the metrics of one server.
 *
 * @example
 * const metrics = createMetrics({ callerLabels: false, maxStreams: 1000, defaultCollectors: true });
 * metrics.toolCall({ tool: 'change.open', transport: 'invoke_json', code: 'ok', seconds: elapsed() });
 */
export function createMetrics({ callerLabels, maxStreams, defaultCollectors }: MetricsOptions): Metrics {
  const registry = new Registry();
  if (defaultCollectors) collectDefaultMetrics({ register: registry });
  const callerLabel = callerLabeller(callerLabels);
  return {
    ...httpMetrics(registry),
    ...mcpMetrics(registry, callerLabel),
    ...streamMetrics(registry, maxStreams),
    ...refusalMetrics(registry, callerLabel),
    ...domainMetrics(registry),
    ...readinessMetrics(registry),
    expose: async () => ({ contentType: registry.contentType, body: await registry.metrics() }),
    registry,
  };
}
