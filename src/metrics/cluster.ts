/**
 * One `/metrics` for a node:cluster (`WORKERS` > 1), over prom-client's own cluster messages: each worker answers
 * its primary's requests from its registry, and the primary adds the workers' metrics up, each by its aggregator
 * (counters and histograms summed; `task_mcp_readiness_check` by `max`, so a state is on when any worker is in it).
 */
import { AggregatorRegistry, type PrometheusContentType, type Registry } from 'prom-client';
import type { Exposition } from './metrics.js';

/** In a worker: the primary's requests for metrics are answered from `registry` (the server's own). */
export function reportToPrimary(registry: Registry): void {
  // prom-client starts answering the primary only once an AggregatorRegistry is built in the worker.
  new AggregatorRegistry();
  AggregatorRegistry.setRegistries([registry]);
}

/**
 * In the primary: every connected worker's metrics, added up into one exposition (rejects when a worker does not
 * answer within prom-client's 5 s).
 *
 * @example
 * await startMetricsListener({ host, port, token, expose: workersExposition(), onError });
 */
export function workersExposition(): () => Promise<Exposition> {
  // Built at the first scrape: an aggregator listens to every worker's messages, for nothing when none is served.
  let aggregator: AggregatorRegistry<PrometheusContentType> | undefined;
  return async () => {
    aggregator ??= new AggregatorRegistry();
    return { contentType: aggregator.contentType, body: await aggregator.clusterMetrics() };
  };
}
