/**
 * A writer for long-lived responses (SSE, NDJSON): one frame at a time onto any `Writable`, with backpressure,
 * a bound on unsent bytes, a heartbeat, and one `cleanup()` for every way the stream can end.
 *
 * The target is the response itself (`http.ServerResponse`; see `openResponseStream`, and `openKoaStream` for a
 * Koa route), or any other `Writable`. `target.writableLength` counts what the client has not taken yet, so the
 * bound holds.
 */
import { once, type EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Writable } from 'node:stream';
import { offClose as offTargetClosed, onClose as onTargetClosed } from './close-hooks.js';

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
  const { heartbeatMs, maxBufferedBytes = DEFAULT_MAX_BUFFERED_BYTES } = options;
  if (!(heartbeatMs > 0)) throw new RangeError(`heartbeatMs must be a positive number, got ${heartbeatMs}`);
  if (!(maxBufferedBytes > 0)) throw new RangeError(`maxBufferedBytes must be positive, got ${maxBufferedBytes}`);
  return new Writer(target, options, maxBufferedBytes);
}

/** The heartbeat timer's callback, which gets its writer as an argument instead of a closure of its own. */
const beat = (writer: Writer): void => writer.beat();

/** Where a target keeps its writer, for the target's listeners, which every writer shares. */
const WRITER = Symbol('streamWriter');
type Target = Writable & { [WRITER]?: Writer };

/** The target's close hook. */
const targetClosed = (target: EventEmitter): void => (target as Target)[WRITER]?.cleanup('client-closed');

/** The target's `error` listener, called on the target. */
function targetFailed(this: Target, err: NodeJS.ErrnoException): void {
  this[WRITER]?.cleanup(err.code !== undefined && DISCONNECT_CODES.has(err.code) ? 'client-closed' : 'error', err);
}

/**
 * One object per stream, its methods on the prototype: a stream may stay open for hours, and a closure for each
 * method, with the context they share, was several times the size of one object's fields.
 */
class Writer implements StreamWriter {
  closed = false;
  private reason: CloseReason | undefined;
  private settle: ((reason: CloseReason) => void) | undefined;
  private settled: Promise<CloseReason> | undefined;
  // Aborts the pending `drain` wait so no listener outlives the stream; made for the first wait (most streams never
  // wait, and an idle stream would hold it for hours).
  private aborter: AbortController | undefined;
  // The one wait every write behind a full buffer shares: writes come many at once (an MCP session's replies and
  // notifications), and a `drain` listener each would pass Node's limit of ten and warn of a leak. Made in `write`,
  // so a stream that never waits holds nothing for it.
  private drained: Promise<void> | undefined;
  // Node schedules each beat an interval after the previous one ran, so lateness is measured beat to beat.
  private lastBeat = performance.now();
  private readonly heartbeatMs: number;
  private readonly heartbeat: () => string;
  private readonly log: StreamLog | undefined;
  private readonly onClose: ((reason: CloseReason) => void) | undefined;
  private readonly probe: StreamProbe | undefined;
  private readonly closedProbe: ((reason: CloseReason) => void) | undefined;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly target: Writable,
    options: StreamWriterOptions,
    private readonly maxBufferedBytes: number,
  ) {
    this.heartbeatMs = options.heartbeatMs;
    this.heartbeat = options.heartbeat;
    this.log = options.log;
    this.onClose = options.onClose;
    this.probe = options.probe;
    this.closedProbe = options.probe?.opened();
    this.timer = setInterval(beat, this.heartbeatMs, this);
    this.timer.unref();
    (target as Target)[WRITER] = this;
    // Among the target's other close hooks (close-hooks.ts), not a listener of its own.
    onTargetClosed(target, targetClosed);
    target.on('error', targetFailed);
    if (target.destroyed) this.cleanup('client-closed');
  }

  /** Settles once the stream is cleaned up; made when first asked for (most streams' is never read). */
  get done(): Promise<CloseReason> {
    return (this.settled ??=
      this.reason === undefined
        ? new Promise<CloseReason>((resolve) => (this.settle = resolve))
        : Promise.resolve(this.reason));
  }

  send(frame: string): boolean {
    this.push(frame);
    return !this.closed;
  }

  async write(frame: string): Promise<boolean> {
    if (!this.push(frame) && !this.closed) {
      const { signal } = (this.aborter ??= new AbortController());
      await (this.drained ??= once(this.target, 'drain', { signal }).then(
        () => void (this.drained = undefined),
        () => undefined,
      ));
    }
    return !this.closed;
  }

  close(): void {
    this.cleanup('ended');
  }

  /** One heartbeat (the timer's). */
  beat(): void {
    const now = performance.now();
    this.probe?.heartbeatLate(Math.max(0, now - this.lastBeat - this.heartbeatMs) / 1000);
    this.lastBeat = now;
    this.push(this.heartbeat());
  }

  /** Ends the stream, once, however it ended (`close`, the target's listeners, an overflow). */
  cleanup(reason: CloseReason, err?: Error): void {
    if (this.closed) return;
    const target = this.target;
    this.closed = true;
    this.reason = reason;
    clearInterval(this.timer);
    offTargetClosed(target, targetClosed);
    target.off('error', targetFailed);
    this.aborter?.abort();
    if (reason === 'ended') target.end();
    else target.destroy();
    logClose(this.log, reason, target.writableLength, err);
    this.closedProbe?.(reason);
    this.onClose?.(reason);
    this.settle?.(reason);
  }

  private push(frame: string): boolean {
    if (this.closed) return false;
    const ready = this.target.write(frame);
    // A reader that lets this much pile up is cut off, so a stalled client costs a bounded amount of memory.
    if (this.target.writableLength > this.maxBufferedBytes) this.cleanup('overflow');
    return ready;
  }
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
  dropSentHeaders(res);
  return createStreamWriter(res, options);
}

/**
 * Lets go of the copy Node keeps of every header a response set (`setHeader`: the request id, the rate-limit
 * headers, `Vary`, the stream headers) once they are sent: a dictionary with an array for each, about 1 KiB that a
 * stream would hold for hours, for `getHeader` calls nothing makes once a stream's headers are out. Node has no
 * public way to drop them (`removeHeader` throws once they are sent), so this clears its own symbol-keyed store,
 * found by name: `getHeader` answers `undefined` after it. A response without that store is left as it is.
 */
export function dropSentHeaders(res: ServerResponse): void {
  if (!res.headersSent) return;
  const store = Object.getOwnPropertySymbols(res).find((symbol) => symbol.description === 'kOutHeaders');
  if (store) (res as unknown as Record<symbol, unknown>)[store] = null;
}
