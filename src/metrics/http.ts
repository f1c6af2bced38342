/**
 * HTTP server metrics, named after OpenTelemetry's `http.server.request.duration` and
 * `http.server.response.body.size` (with their attributes as labels).
 */
import { Histogram, type Registry } from 'prom-client';
import { httpMethodLabel } from './labels.js';

/** One request, recorded when its response ended (for a stream, when the stream ended). */
export interface HttpRequestRecord {
  /** The contract's path template (`/v1/tools/{tool}/invoke`) or `unmatched`; never a raw path. */
  route: string;
  method: string;
  status: number;
  seconds: number;
  /** Body bytes written to the client. */
  bytes: number;
}

export interface HttpMetrics {
  httpRequest(record: HttpRequestRecord): void;
}

const LABELS = ['http_route', 'http_request_method', 'http_response_status_code'] as const;

/** OpenTelemetry's advised boundaries for `http.server.request.duration`. */
const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];
/** 64 B to 16 MiB, by fours. */
const SIZE_BUCKETS = [64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216];

export function httpMetrics(registry: Registry): HttpMetrics {
  const duration = new Histogram({
    name: 'http_server_request_duration_seconds',
    help: 'Duration of HTTP server requests (OpenTelemetry http.server.request.duration); a stream counts until it ends.',
    labelNames: LABELS,
    buckets: DURATION_BUCKETS,
    registers: [registry],
  });
  const size = new Histogram({
    name: 'http_server_response_body_size_bytes',
    help: 'Size of HTTP server response bodies as sent (OpenTelemetry http.server.response.body.size).',
    labelNames: LABELS,
    buckets: SIZE_BUCKETS,
    registers: [registry],
  });
  return {
    httpRequest({ route, method, status, seconds, bytes }) {
      const labels = {
        http_route: route,
        http_request_method: httpMethodLabel(method),
        http_response_status_code: String(status),
      };
      duration.observe(labels, seconds);
      size.observe(labels, bytes);
    },
  };
}
