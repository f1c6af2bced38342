/** Metrics: the registry and its recording functions, and the listener that serves them. */
export { createMetrics, type Exposition, type Metrics, type MetricsOptions } from './metrics.js';
export { metricsOff } from './off.js';
export { METRICS_PATH, serveMetrics, startMetricsListener, type MetricsListener } from './listener.js';
export { reportToPrimary, workersExposition } from './cluster.js';
export { instant, secondsSince, stopwatch } from './stopwatch.js';
export type { Transport } from './mcp.js';
export type { CapRefusal, StreamKind } from './streams.js';
export type { RateWindowName, Credential } from './refusals.js';
export type { ReadinessSource } from './readiness.js';
