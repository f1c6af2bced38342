/**
 * A tool invoke streamed as events: `start`, one `progress` per step, then `result` or `error` (and `end` where the
 * framing wants one). One driver, two framings: SSE (`text/event-stream`) and NDJSON (`application/x-ndjson`),
 * each written with the framing modules of src/streaming.
 */
import type { InvokeError, InvokeEvent, InvokeHeartbeat, InvokeResult, ToolName } from '../../generated/types.gen.js';
import { formatNdjsonLine } from '../streaming/ndjson.js';
import { SSE_PING, formatSseEvent } from '../streaming/sse.js';
import type { StreamWriter } from '../streaming/stream-writer.js';
import type { ProgressFn } from '../tools/pipeline.js';

/** How a call's events go on the wire. */
export interface InvokeFraming {
  contentType: 'text/event-stream' | 'application/x-ndjson';
  /** One event; `seq` counts this call's events from 1. */
  frame(event: InvokeEvent, seq: number): string;
  /** The frame sent every heartbeat interval while the call runs. */
  heartbeat(now: Date): string;
  /** Whether the stream closes with an `end` event (NDJSON has no other end-of-stream signal than EOF). */
  endEvent: boolean;
}

/** SSE: `event:` is the event's type, `id:` its sequence number, `data:` its JSON; heartbeats are comments. */
export const sseInvokeFraming: InvokeFraming = {
  contentType: 'text/event-stream',
  frame: (event, seq) => formatSseEvent({ event: event.type, id: String(seq), data: JSON.stringify(event) }),
  heartbeat: () => SSE_PING,
  endEvent: false,
};

/** NDJSON: one event a line, heartbeats as `heartbeat` events, ending with `end`. */
export const ndjsonInvokeFraming: InvokeFraming = {
  contentType: 'application/x-ndjson',
  frame: (event) => formatNdjsonLine(event),
  heartbeat: (now) => formatNdjsonLine({ type: 'heartbeat', at: now.toISOString() } satisfies InvokeHeartbeat),
  endEvent: true,
};

/** The call to stream, already validated. */
export interface StreamedCall {
  tool: ToolName;
  requestId: string;
  /** Runs the call, reporting each step to `progress`; resolves with its last event, never rejects. */
  run(progress: ProgressFn): Promise<InvokeResult | InvokeError>;
}

/**
 * Runs `call`, writing its events to `writer`, and closes the stream. The call runs to completion even when the
 * client has gone (frames for a closed stream are dropped), so a disconnect never leaves a change half-written.
 */
export async function streamToolCall(writer: StreamWriter, framing: InvokeFraming, call: StreamedCall): Promise<void> {
  let seq = 0;
  const send = (event: InvokeEvent): boolean => writer.send(framing.frame(event, ++seq));
  try {
    send({ type: 'start', tool: call.tool, requestId: call.requestId });
    send(
      await call.run((step, progress, total, message) => send({ type: 'progress', step, progress, total, message })),
    );
  } finally {
    if (framing.endEvent) send({ type: 'end' });
    writer.close();
  }
}
