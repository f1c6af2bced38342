/**
 * Server-sent events framing (WHATWG HTML, "Server-sent events", §9.2.6 parsing). A field ends at CR, LF or
 * CRLF, so a raw line break inside `event` or `id` would end the field early and let the rest of the value pose
 * as new fields (a forged `data:` or `id:`). Those values are rejected; multi-line `data` is split into one
 * `data:` line per line, which the client joins back with LF.
 */

/** One event as it goes on the wire. At least one field must be set. */
export interface SseEvent {
  /** The event type; the client dispatches it to `addEventListener(event)`. Defaults to `message`. */
  event?: string;
  /** Becomes the client's last event id, sent back as `Last-Event-ID` when it reconnects. */
  id?: string;
  data?: string;
  /** Reconnection delay in milliseconds. */
  retry?: number;
}

/** A heartbeat: a comment line, ignored by every client, that keeps proxies and idle timers from closing. */
export const SSE_PING = ': ping\n\n';

const LINE_BREAK = /\r\n|\r|\n/;

/** Formats one event. Throws a `TypeError` when `event` or `id` holds CR or LF (or `id` a NUL), or `retry` is not a non-negative integer. */
export function formatSseEvent(message: SseEvent): string {
  const { event, id, data, retry } = message;
  let out = '';
  if (event !== undefined) out += `event: ${field('event', event)}\n`;
  // The spec ignores an `id` holding NUL, which would silently keep the previous id.
  if (id !== undefined) out += `id: ${field('id', id, /[\r\n\0]/)}\n`;
  if (retry !== undefined) {
    if (!Number.isSafeInteger(retry) || retry < 0)
      throw new TypeError(`SSE retry must be a non-negative integer, got ${retry}`);
    out += `retry: ${retry}\n`;
  }
  if (data !== undefined) for (const line of data.split(LINE_BREAK)) out += `data: ${line}\n`;
  if (out === '') throw new TypeError('An SSE event needs at least one of event, id, data or retry');
  return `${out}\n`;
}

/** Formats a comment (`: text`); for heartbeats and padding. Throws a `TypeError` when `text` holds CR or LF. */
export function formatSseComment(text: string): string {
  return `: ${field('comment', text)}\n\n`;
}

function field(name: string, value: string, forbidden = /[\r\n]/): string {
  if (forbidden.test(value)) throw new TypeError(`SSE ${name} must not contain a line break: ${JSON.stringify(value)}`);
  return value;
}
