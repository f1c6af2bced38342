/**
 * The 2024-11-05 HTTP+SSE transport: `GET /sse` opens a stream whose first event names the POST endpoint, and
 * every reply arrives as a `message` event; `POST /messages?sessionId=…` only hands a message over (202). The SDK
 * v2 has no server class for it, so this is a thin `Transport` over the same server factory. A session lives in
 * this process's memory for as long as its stream is open, and nowhere else.
 */
import { randomBytes } from 'node:crypto';
import { PassThrough } from 'node:stream';
import type { JSONRPCMessage, MessageExtraInfo, Transport } from '@modelcontextprotocol/server';
import type { Logger } from 'pino';
import { TaskError } from '../errors.js';
import { HANDLED, type AppContext, type Handlers } from '../http/handler.js';
import type { Guard } from './guard.js';
import type { ServerFactory } from './server.js';
import { STREAM_HEADERS, callerOf, toolOf } from './streamable.js';

export interface LegacySseDeps {
  factory: ServerFactory;
  guard: Guard;
  heartbeatMs: number;
  /** Where the endpoint event points; relative, so it follows whatever host and prefix the client used. */
  messagesPath?: string;
}

export interface LegacySseRoutes {
  handlers: Required<Pick<Handlers, 'getLegacySse' | 'postLegacyMessage'>>;
  /** Open sessions, for readiness and shutdown logs. */
  size(): number;
  /** Tells every open stream the server is going away, then ends it. */
  closeAll(): Promise<void>;
}

interface Session {
  owner: string;
  stream: PassThrough;
  transport: SseTransport;
  cleanup(): void;
}

/** One SSE event. Its data is JSON, which never holds a raw CR or LF, so one `data:` line carries it. */
export const sseEvent = (event: string, data: string): string => `event: ${event}\ndata: ${data}\n\n`;

class SseTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage, extra?: MessageExtraInfo) => void;

  constructor(
    readonly sessionId: string,
    private readonly stream: PassThrough,
  ) {}

  async start(): Promise<void> {}

  async send(message: JSONRPCMessage): Promise<void> {
    if (this.stream.writableEnded) throw new Error('the SSE stream is closed');
    this.stream.write(sseEvent('message', JSON.stringify(message)));
  }

  /** Ends the session from the server side; the stream's own cleanup does the rest. */
  async close(): Promise<void> {
    this.stream.end();
  }
}

export function createLegacySseRoutes({
  factory,
  guard,
  heartbeatMs,
  messagesPath = 'messages',
}: LegacySseDeps): LegacySseRoutes {
  const sessions = new Map<string, Session>();

  async function open(ctx: AppContext, log: Logger): Promise<PassThrough> {
    const owner = callerOf(ctx);
    const sessionId = randomBytes(18).toString('base64url');
    const stream = new PassThrough();
    const transport = new SseTransport(sessionId, stream);
    const server = factory({ actor: owner, log });

    let cleaned = false;
    const cleanup = () => {
      if (cleaned) return;
      cleaned = true;
      clearInterval(heartbeat);
      sessions.delete(sessionId);
      stream.end();
      // Closing the server fires transport.onclose; both ends are done with the session.
      server.close().catch(() => undefined);
    };
    const heartbeat = setInterval(() => stream.write(': heartbeat\n\n'), heartbeatMs);
    heartbeat.unref();

    sessions.set(sessionId, { owner, stream, transport, cleanup });
    // `res` closes when the client goes away (`req` closes as soon as its empty body is read).
    ctx.res.once('close', cleanup);
    stream.once('close', cleanup);
    // A write after the client vanished errors the stream; it is an ordinary disconnect, logged quietly.
    stream.on('error', (err) => {
      log.debug({ err: err.message, sessionId }, 'sse stream error');
      cleanup();
    });

    await server.connect(transport);
    stream.write(sseEvent('endpoint', `${messagesPath}?sessionId=${sessionId}`));
    return stream;
  }

  return {
    handlers: {
      async getLegacySse(ctx) {
        guard(ctx);
        ctx.state.transport = 'sse';
        ctx.req.socket.setTimeout(0);
        ctx.req.socket.setNoDelay(true);
        ctx.req.socket.setKeepAlive(true);
        ctx.status = 200;
        ctx.type = 'text/event-stream';
        ctx.set(STREAM_HEADERS);
        ctx.set('Connection', 'keep-alive');
        // Koa pipes the body once the middleware chain resolves; events written before then wait in the stream.
        ctx.body = await open(ctx, ctx.state.log);
        return HANDLED;
      },
      async postLegacyMessage(ctx, input) {
        guard(ctx);
        ctx.state.transport = 'sse';
        const session = sessions.get(input.query.sessionId);
        // Someone else's session is reported as missing: its id must not be confirmed to another caller.
        if (session === undefined || session.owner !== callerOf(ctx)) {
          throw new TaskError('ENOSESSION', 'No open SSE session with this id.', {
            hint: 'Open a stream with GET /sse and post to the endpoint its first event names.',
          });
        }
        ctx.state.tool = toolOf(input.body);
        session.transport.onmessage?.(input.body as JSONRPCMessage);
        ctx.status = 202;
        return HANDLED;
      },
    },
    size: () => sessions.size,
    async closeAll() {
      for (const { stream, cleanup } of [...sessions.values()]) {
        stream.write(sseEvent('shutdown', JSON.stringify({ reason: 'server shutting down' })));
        cleanup();
      }
    },
  };
}
