/**
 * The 2024-11-05 HTTP+SSE transport: `GET /sse` opens a stream whose first event names the POST endpoint, and
 * every reply arrives as a `message` event; `POST /messages?sessionId=…` only hands a message over (202), once
 * the SDK's JSON-RPC schemas accept it (else 400 `EBADINPUT`, and the session never sees it). The SDK
 * v2 has no server class for it, so this is a thin `Transport` over the same server factory, writing through the
 * shared stream writer (framing, heartbeats, headers, the slow-reader bound and the one cleanup). A session lives
 * in this process's memory for as long as its stream is open, and nowhere else.
 */
import { randomBytes } from 'node:crypto';
import type { JSONRPCMessage, MessageExtraInfo, Transport } from '@modelcontextprotocol/server';
import type { ValidationIssue } from '../../generated/types.gen.js';
import { TaskError } from '../errors.js';
import { HANDLED, type AppContext, type Handlers } from '../http/handler.js';
import { openKoaStream } from '../streaming/koa-stream.js';
import { SSE_PING, formatSseEvent } from '../streaming/sse.js';
import type { StreamWriter } from '../streaming/stream-writer.js';
import type { Guard } from './guard.js';
import { messageIssues } from './message-check.js';
import type { ServerFactory } from './server.js';
import { callerOf, toolOf } from './streamable.js';

export interface LegacySseDeps {
  factory: ServerFactory;
  guard: Guard;
  heartbeatMs: number;
  /** Unsent bytes past which a slow reader is cut off (default 1 MiB). */
  maxBufferedBytes?: number;
  /** Where the endpoint event points; relative, so it follows whatever host and prefix the client used. */
  messagesPath?: string;
}

export interface LegacySseRoutes {
  handlers: Required<Pick<Handlers, 'getLegacySse' | 'postLegacyMessage'>>;
  /** Tells every open stream the server is going away, then ends it. */
  closeAll(): Promise<void>;
}

interface Session {
  owner: string;
  writer: StreamWriter;
  transport: SseTransport;
}

const describe = (issue: ValidationIssue): string => `${issue.location} ${issue.message}`;

const SHUTDOWN = formatSseEvent({ event: 'shutdown', data: JSON.stringify({ reason: 'server shutting down' }) });

class SseTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage, extra?: MessageExtraInfo) => void;

  constructor(
    readonly sessionId: string,
    private readonly writer: StreamWriter,
  ) {}

  async start(): Promise<void> {}

  /** Waits while the client is behind (backpressure); the writer cuts off one that falls too far behind. */
  async send(message: JSONRPCMessage): Promise<void> {
    if (this.writer.closed) throw new Error('the SSE stream is closed');
    await this.writer.write(formatSseEvent({ event: 'message', data: JSON.stringify(message) }));
  }

  /** Ends the session from the server side; the writer's cleanup does the rest. */
  async close(): Promise<void> {
    this.writer.close();
  }
}

export function createLegacySseRoutes({
  factory,
  guard,
  heartbeatMs,
  maxBufferedBytes,
  messagesPath = 'messages',
}: LegacySseDeps): LegacySseRoutes {
  const sessions = new Map<string, Session>();

  async function open(ctx: AppContext): Promise<void> {
    const owner = callerOf(ctx);
    const log = ctx.state.log;
    const sessionId = randomBytes(18).toString('base64url');
    const server = factory({ actor: owner, requestId: ctx.state.requestId, log, transport: 'legacy-sse' });
    const writer = openKoaStream(ctx, 'text/event-stream', {
      heartbeatMs,
      heartbeat: () => SSE_PING,
      maxBufferedBytes,
      log,
      onClose: () => {
        sessions.delete(sessionId);
        // Closing the server fires transport.onclose; both ends are done with the session.
        server.close().catch(() => undefined);
      },
    });
    // Koa pipes the body only once the middleware chain resolves, and skips it when the client is already gone:
    // then nothing would ever close the body, so the response's own close ends the session too.
    ctx.res.once('close', () => writer.close());
    const transport = new SseTransport(sessionId, writer);
    sessions.set(sessionId, { owner, writer, transport });
    // Queued before the server is connected, so it is the first event whatever the server sends.
    writer.send(formatSseEvent({ event: 'endpoint', data: `${messagesPath}?sessionId=${sessionId}` }));
    await server.connect(transport);
  }

  return {
    handlers: {
      async getLegacySse(ctx) {
        guard(ctx);
        ctx.state.transport = 'sse';
        await open(ctx);
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
        // Refused before it is accepted: once it is, the only way back to the client would be the stream, and a
        // message without a usable id could not be answered there.
        const issues = messageIssues(input.body);
        if (issues.length > 0) {
          throw new TaskError('EBADINPUT', `The session cannot take this message: ${issues.map(describe).join('; ')}`, {
            hint: 'Post one JSON-RPC 2.0 request, notification or response; replies arrive on the stream.',
            details: { issues },
          });
        }
        session.transport.onmessage?.(input.body as JSONRPCMessage);
        ctx.status = 202;
        return HANDLED;
      },
    },
    async closeAll() {
      for (const { writer } of [...sessions.values()]) {
        writer.send(SHUTDOWN);
        writer.close();
      }
    },
  };
}
