/**
 * A writer for long-lived responses (SSE, NDJSON): one frame at a time onto any `Writable`, with backpressure,
 * a bound on unsent bytes, a heartbeat, and one `cleanup()` for every way the stream can end.
 *
 * The target is the response itself (`http.ServerResponse`; see `openResponseStream`, and `openKoaStream` for a
 * Koa route), or any other `Writable`. `target.writableLength` counts what the client has not taken yet, so the
 * bound holds.
 */
import { once } from 'node:events';
import { performance } from 'node:perf_hooks';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Writable } from 'node:stream';
import { onClose as onTargetClosed } from './close-hooks.js';

/** Why a stream ended: we ended it, the client went away, the client read too slowly, or the target failed. */
export type CloseReason = 'ended' | 'client-closed' | 'overflow' | 'error';

/** The pino methods the writer uses; a pino `Logger` fits. */
export interface StreamLog {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

/**
 * What a stream tells whoever counts streams (the metrics), so that every stream is counted in one place, here,
 * without this module knowing who listens.
 */
export interface StreamProbe {
  /** The stream opened; the function returned is called once, from cleanup, with why it closed. */
  opened(): (reason: CloseReason) => void;
  /** A heartbeat went out `seconds` later than its interval said (a busy or stalled event loop). */
  heartbeatLate(seconds: number): void;
}

export interface StreamWriterOptions {
  /** Milliseconds between heartbeats. */
  heartbeatMs: number;
  /** The heartbeat frame (an SSE comment, an NDJSON heartbeat line); called at each beat. */
  heartbeat: () => string;
  /** Unsent bytes past which the client is cut off. Default 1 MiB. */
  maxBufferedBytes?: number;
  log?: StreamLog;
  /** Called once, from cleanup, however the stream ends: release subscriptions here. */
  onClose?: (reason: CloseReason) => void;
  probe?: StreamProbe;
}

export interface StreamWriter {
  /**
   * Queues a frame without waiting; for producers that cannot wait (a feed fanning out to many clients).
   * Returns false once the stream is closed (the frame is dropped).
   */
  send(frame: string): boolean;
  /** Writes a frame and waits until the target takes more (`drain`) or closes. Resolves false once closed. */
  write(frame: string): Promise<boolean>;
  /** Ends the stream after what is queued. Idempotent. */
  close(): void;
  readonly closed: boolean;
  /** Settles once the stream is cleaned up, with the reason. */
  readonly done: Promise<CloseReason>;
}

/** Default bound on unsent bytes per stream. */
export const DEFAULT_MAX_BUFFERED_BYTES = 1024 * 1024;

/** Errors that only mean the client went away. */
const DISCONNECT_CODES = new Set(['ERR_STREAM_PREMATURE_CLOSE', 'ECONNRESET', 'EPIPE', 'ERR_STREAM_DESTROYED']);

/** Wraps `target` in a stream writer; starts the heartbeat. */
export function createStreamWriter(target: Writable, options: StreamWriterOptions): StreamWriter {
  const { heartbeatMs, heartbeat, maxBufferedBytes = DEFAULT_MAX_BUFFERED_BYTES, log, onClose, probe } = options;
  if (!(heartbeatMs > 0)) throw new RangeError(`heartbeatMs must be a positive number, got ${heartbeatMs}`);
  if (!(maxBufferedBytes > 0)) throw new RangeError(`maxBufferedBytes must be positive, got ${maxBufferedBytes}`);

  let closed = false;
  const closedProbe = probe?.opened();
  let resolveDone!: (reason: CloseReason) => void;
  const done = new Promise<CloseReason>((resolve) => (resolveDone = resolve));
  // Aborts the pending `drain` wait so no listener outlives the stream; made for the first wait (most streams never
  // wait, and an idle stream would hold it for hours).
  let aborter: AbortController | undefined;
  // The one wait every write behind a full buffer shares: writes come many at once (an MCP session's replies and
  // notifications), and a `drain` listener each would pass Node's limit of ten and warn of a leak. Made in `write`,
  // so a stream that never waits holds nothing for it.
  let drained: Promise<void> | undefined;

  const cleanup = (reason: CloseReason, err?: Error): void => {
    if (closed) return;
    closed = writer.closed = true;
    clearInterval(timer);
    forgetClose();
    target.off('error', onTargetError);
    aborter?.abort();
    if (reason === 'ended') target.end();
    else target.destroy();
    logClose(log, reason, target.writableLength, err);
    closedProbe?.(reason);
    onClose?.(reason);
    resolveDone(reason);
  };
  const onTargetClose = (): void => cleanup('client-closed');
  const onTargetError = (err: NodeJS.ErrnoException): void =>
    cleanup(err.code !== undefined && DISCONNECT_CODES.has(err.code) ? 'client-closed' : 'error', err);

  const push = (frame: string): boolean => {
    if (closed) return false;
    const ready = target.write(frame);
    // A reader that lets this much pile up is cut off, so a stalled client costs a bounded amount of memory.
    if (target.writableLength > maxBufferedBytes) cleanup('overflow');
    return ready;
  };

  // Node schedules each beat an interval after the previous one ran, so lateness is measured beat to beat.
  let lastBeat = performance.now();
  const beat = (): void => {
    const now = performance.now();
    probe?.heartbeatLate(Math.max(0, now - lastBeat - heartbeatMs) / 1000);
    lastBeat = now;
    push(heartbeat());
  };
  const timer = setInterval(beat, heartbeatMs);
  timer.unref();
  // Among the target's other close hooks (close-hooks.ts), not a listener of its own.
  const forgetClose = onTargetClosed(target, onTargetClose);
  target.on('error', onTargetError);
  // `closed` is a plain property, set on cleanup, not a getter: an object literal with an accessor is a
  // dictionary-mode object, several times the size, which a stream holds for hours.
  const writer: StreamWriter & { closed: boolean } = {
    closed: false,
    send(frame) {
      push(frame);
      return !closed;
    },
    async write(frame) {
      if (!push(frame) && !closed) {
        const { signal } = (aborter ??= new AbortController());
        await (drained ??= once(target, 'drain', { signal }).then(
          () => void (drained = undefined),
          () => undefined,
        ));
      }
      return !closed;
    },
    close: () => cleanup('ended'),
    done,
  };
  if (target.destroyed) cleanup('client-closed');
  return writer;
}

function logClose(log: StreamLog | undefined, reason: CloseReason, unsent: number, err?: Error): void {
  if (reason === 'client-closed') log?.debug({ reason }, 'stream closed by the client');
  else if (reason === 'overflow') log?.info({ reason, unsent }, 'slow stream reader cut off');
  // The message only: a failed socket write has no stack worth a log line.
  else if (reason === 'error') log?.warn({ reason, err: err?.message }, 'stream failed');
}

/**
 * Headers for a streamed response. `no-transform` and `X-Accel-Buffering: no` keep proxies (nginx) from
 * buffering or compressing; `Connection` is an HTTP/1.1 header that HTTP/2 forbids (RFC 9113 §8.2.2).
 */
export function streamHeaders(contentType: string, httpVersionMajor: number): Record<string, string> {
  const headers: Record<string, string> = {
    'Content-Type': contentType,
    'Cache-Control': 'no-cache, no-transform',
    'X-Accel-Buffering': 'no',
  };
  if (httpVersionMajor < 2) headers['Connection'] = 'keep-alive';
  return headers;
}

/**
 * Tunes an HTTP/1.x socket for a long-lived stream: no idle timeout (heartbeats prove liveness), no Nagle delay
 * (each frame goes out at once), TCP keep-alive (dead peers are found). HTTP/2 streams share the session's
 * socket, which must not be touched.
 */
export function tuneStreamSocket(req: IncomingMessage): void {
  if (req.httpVersionMajor >= 2) return;
  req.socket.setTimeout(0);
  req.socket.setNoDelay(true);
  req.socket.setKeepAlive(true);
}

/**
 * Starts a streamed response on a bare `node:http` response: status 200, stream headers sent at once, socket
 * tuned. For a Koa route use `openKoaStream`.
 */
export function openResponseStream(
  req: IncomingMessage,
  res: ServerResponse,
  contentType: string,
  options: StreamWriterOptions,
): StreamWriter {
  tuneStreamSocket(req);
  res.writeHead(200, streamHeaders(contentType, req.httpVersionMajor));
  res.flushHeaders();
  return createStreamWriter(res, options);
}
