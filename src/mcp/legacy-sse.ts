/**
 * The 2024-11-05 HTTP+SSE transport, on Node's `req`/`res`: `open` starts a session's stream, whose first event
 * names the POST endpoint, and every reply arrives as a `message` event; `post` only hands a message over, once
 * the SDK's JSON-RPC schemas accept it (else `EBADINPUT`, and the session never sees it). The SDK v2 has no server
 * class for it, so this is a thin `Transport` over the same server factory, writing through the shared stream
 * writer (framing, heartbeats, headers, the slow-reader bound and the one cleanup). Sessions are found through a
 * `SessionDirectory`: this instance's, or with `REDIS_URL` every instance's (the message is relayed).
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { JSONRPCMessage, MessageExtraInfo, Transport } from '@modelcontextprotocol/server';
import { operations } from '../../generated/operations.gen.js';
import type { ValidationIssue } from '../../generated/types.gen.js';
import { TaskError } from '../errors.js';
import { SSE_PING, formatSseEvent } from '../streaming/sse.js';
import { openResponseStream, type StreamProbe, type StreamWriter } from '../streaming/stream-writer.js';
import { messageIssues } from './message-check.js';
import { assertScoped } from './scopes.js';
import type { Principal, ServerFactory } from './server.js';
import { noSession, type SessionDirectory } from './sessions.js';

export interface LegacySseDeps {
  factory: ServerFactory;
  sessions: SessionDirectory;
  heartbeatMs: number;
  /** Unsent bytes past which a slow reader is cut off (default 1 MiB). */
  maxBufferedBytes?: number;
  /** Counts each session's stream (`legacy_sse`): open, heartbeats, slow readers. */
  probe?: StreamProbe;
  /** Where the endpoint event points; relative, so it follows whatever host and prefix the client used. */
  messagesPath?: string;
}

export interface LegacySse {
  /** Opens a session for `principal` and streams it on `res` until either side ends it. */
  open(req: IncomingMessage, res: ServerResponse, principal: Principal): Promise<void>;
  /**
   * Hands `message` to session `sessionId` of `sender.actor`, wherever it lives, who posts it with a token of `sender.scopes` at MCP
   * `revision` (its `MCP-Protocol-Version`); throws ENOSESSION, EBADINPUT or EINSUFFICIENT_SCOPE
   * when it cannot, EUNAVAILABLE when where the session lives cannot be known now.
   */
  post(
    sessionId: string,
    sender: Pick<Principal, 'actor' | 'scopes'>,
    message: unknown,
    revision: string,
  ): Promise<void>;
  /** Tells every open stream of this instance the server is going away, then ends it. */
  closeAll(): void;
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

export function createLegacySse({
  factory,
  sessions,
  heartbeatMs,
  maxBufferedBytes,
  probe,
  messagesPath = operations.postLegacyMessage.path.replace(/^\//, ''),
}: LegacySseDeps): LegacySse {
  return {
    async open(req, res, principal) {
      const id = randomBytes(18).toString('base64url');
      const server = factory(principal, { transport: 'legacy-sse', sessionId: id });
      // Set once the session is registered; the stream may close before that.
      const registration = { forget: (): void => undefined };
      const writer = openResponseStream(req, res, 'text/event-stream', {
        heartbeatMs,
        heartbeat: () => SSE_PING,
        maxBufferedBytes,
        log: principal.log,
        probe,
        onClose: () => {
          registration.forget();
          // Closing the server fires transport.onclose; both ends are done with the session.
          server.close().catch(() => undefined);
        },
      });
      if (writer.closed) return; // the client left before its stream opened
      const transport = new SseTransport(id, writer);
      registration.forget = sessions.open({
        id,
        owner: principal.actor,
        writer,
        receive: (m) => transport.onmessage?.(m),
      });
      // Queued before the server is connected, so it is the first event whatever the server sends.
      writer.send(formatSseEvent({ event: 'endpoint', data: `${messagesPath}?sessionId=${id}` }));
      await server.connect(transport);
    },

    async post(sessionId, { actor, scopes }, message, revision) {
      const session = await sessions.find(sessionId, actor);
      if (session === undefined) throw noSession();
      // Refused before it is accepted: once it is, the only way back to the client would be the stream, and a
      // message without a usable id could not be answered there.
      const issues = messageIssues(message);
      if (issues.length > 0) {
        throw new TaskError('EBADINPUT', `The session cannot take this message: ${issues.map(describe).join('; ')}`, {
          hint: 'Post one JSON-RPC 2.0 request, notification or response; replies arrive on the stream.',
          details: { issues },
        });
      }
      assertScoped(scopes, message, revision);
      await session.deliver(message as JSONRPCMessage);
    },

    closeAll() {
      for (const { writer } of sessions.local()) {
        writer.send(SHUTDOWN);
        writer.close();
      }
    },
  };
}
