/**
 * The metrics of a server that exposes none (no `METRICS_PORT`): every recording is a no-op, so what nobody can
 * scrape costs nothing. (A request's two histogram observations alone were a tenth of a small request's CPU.)
 */
import { Registry } from 'prom-client';
import type { StreamProbe } from '../streaming/stream-writer.js';
import type { Metrics } from './metrics.js';

const ignore = (): void => undefined;
const PROBE_OFF: StreamProbe = { opened: () => ignore, heartbeatLate: ignore };

/** Metrics that record nothing, with an empty registry. */
export function metricsOff(): Metrics {
  const registry = new Registry();
  return {
    httpRequest: ignore,
    mcpOperation: ignore,
    toolCall: ignore,
    streamOpened: () => ignore,
    capRefused: ignore,
    heartbeatLag: ignore,
    slowReaderCut: ignore,
    streamProbe: () => PROBE_OFF,
    rateLimited: ignore,
    authRefused: ignore,
    changeOperation: ignore,
    subprocess: ignore,
    lockContended: ignore,
    archiveRecovered: ignore,
    eventDelivered: ignore,
    watchReadiness: ignore,
    expose: async () => ({ contentType: registry.contentType, body: '' }),
    registry,
  };
}
