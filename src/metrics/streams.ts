/**
 * Streams and the caps on what a client holds: how many streams are open by kind (against the instance's stream
 * cap), how many requests a cap refused, how late heartbeats go out, and how many slow readers were cut off.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { CloseReason, StreamProbe } from '../streaming/stream-writer.js';

/** What a stream carries: the change feed, an invoke reply (SSE or NDJSON), an MCP reply or legacy session. */
export const STREAM_KINDS = ['events', 'invoke_sse', 'invoke_ndjson', 'mcp_sse', 'legacy_sse'] as const;
export type StreamKind = (typeof STREAM_KINDS)[number];

/**
 * Which cap refused a request: of a budget (`streams`: `MAX_STREAMS_PER_CLIENT`/`MAX_STREAMS`; `calls`:
 * `MAX_CALLS_PER_CLIENT`/`MAX_CALLS`), the client's own or the instance's.
 */
export interface CapRefusal {
  budget: 'streams' | 'calls';
  scope: 'client' | 'instance';
}

export interface StreamMetrics {
  /**
   * Counts a stream open; call the returned function when it closes, with why (idempotent: once per stream; a
   * close for `overflow` is also a slow reader cut).
   */
  streamOpened(kind: StreamKind): (reason?: CloseReason) => void;
  capRefused(refusal: CapRefusal): void;
  /** How much later than scheduled a heartbeat was written (event-loop stalls, a busy process). */
  heartbeatLag(lag: { kind: StreamKind; seconds: number }): void;
  /** A reader that let `STREAM_MAX_BUFFERED_BYTES` pile up was cut off. */
  slowReaderCut(kind: StreamKind): void;
  /** The probe of one stream of `kind`: open and close (a close for `overflow` is a slow reader cut), heartbeats. */
  streamProbe(kind: StreamKind): StreamProbe;
}

const LAG_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

export function streamMetrics(registry: Registry, maxStreams: number): StreamMetrics {
  const open = new Gauge({
    name: 'task_mcp_open_streams',
    help: 'Streams open now, by kind.',
    labelNames: ['kind'],
    registers: [registry],
  });
  // Every kind has a series from the start: a dashboard shows 0, not "no data", before the first stream.
  for (const kind of STREAM_KINDS) open.set({ kind }, 0);
  new Gauge({
    name: 'task_mcp_stream_limit',
    help: 'Open streams this instance holds at most (MAX_STREAMS).',
    registers: [registry],
  }).set(maxStreams);
  const refused = new Counter({
    name: 'task_mcp_cap_refusals_total',
    help: 'Requests refused with 429 at a cap: by budget (streams or calls) and scope (client or instance).',
    labelNames: ['budget', 'scope'],
    registers: [registry],
  });
  const lag = new Histogram({
    name: 'task_mcp_stream_heartbeat_lag_seconds',
    help: 'How much later than scheduled stream heartbeats were written.',
    labelNames: ['kind'],
    buckets: LAG_BUCKETS,
    registers: [registry],
  });
  const cut = new Counter({
    name: 'task_mcp_stream_slow_readers_cut_total',
    help: 'Streams cut off because their reader fell STREAM_MAX_BUFFERED_BYTES behind.',
    labelNames: ['kind'],
    registers: [registry],
  });
  const slowReaderCut = (kind: StreamKind): void => void cut.inc({ kind });
  // One closure a stream holds for its lifetime, which is also its probe's close.
  const streamOpened = (kind: StreamKind): ((reason?: CloseReason) => void) => {
    open.inc({ kind });
    let closed = false;
    return (reason) => {
      if (closed) return;
      closed = true;
      open.dec({ kind });
      if (reason === 'overflow') slowReaderCut(kind);
    };
  };
  return {
    streamOpened,
    capRefused: ({ budget, scope }) => refused.inc({ budget, scope }),
    heartbeatLag: ({ kind, seconds }) => lag.observe({ kind }, seconds),
    slowReaderCut,
    streamProbe: (kind) => ({
      opened: () => streamOpened(kind),
      heartbeatLate: (seconds) => lag.observe({ kind }, seconds),
    }),
  };
}
