/**
 * Which media types each route answers in, and whether an answer is a stream: decided here, once, from the media
 * types the contract declares for each operation's success replies (`generated/operations.gen.ts`) and one `Accept`
 * negotiation. The stream caps, the invoke route and the tool-call deadline all ask here.
 */
import type { ParameterizedContext } from 'koa';
import { operations, type OperationId } from '../../generated/operations.gen.js';

/** The media types an operation answers in. */
export type MediaTypeOf<Op extends OperationId> = (typeof operations)[Op]['produces'][number];

const STREAM_TYPES: ReadonlySet<string> = new Set(['text/event-stream', 'application/x-ndjson']);

/** Whether a reply in `type` is a stream of events rather than one body. */
export const isStreamType = (type: string): boolean => STREAM_TYPES.has(type);

/** Whether operation `id` answers with a long-lived stream: every reply it has is one (`GET /v1/events`, `GET /sse`). */
export function holdsStream(id: OperationId): boolean {
  const { produces } = operations[id];
  return produces.length > 0 && produces.every(isStreamType);
}

/**
 * Whether operation `id` is an exchange that may stream but ends with its answer (a tool invoke, `POST /mcp`): some
 * of its replies are streams, some one body.
 */
export function streamsAnAnswer(id: OperationId): boolean {
  const { produces } = operations[id];
  return produces.some(isStreamType) && !holdsStream(id);
}

/**
 * The media type to answer operation `id` in: the best match for the request's `Accept` among the types the
 * contract declares, in the contract's order when several fit equally (or `Accept` is absent); false when none fits.
 */
export function negotiate<Op extends OperationId>(
  ctx: Pick<ParameterizedContext, 'accepts'>,
  id: Op,
): MediaTypeOf<Op> | false {
  // `accepts` answers one of the types it was given, or false.
  return ctx.accepts(...operations[id].produces) as MediaTypeOf<Op> | false;
}
