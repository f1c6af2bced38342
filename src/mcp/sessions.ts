/**
 * Where the HTTP+SSE transport keeps its sessions and how a posted message reaches one. Here: this process's memory,
 * for as long as a session's stream is open. With `REDIS_URL`, redis-sessions.ts finds a session another instance
 * holds and relays the message to it, behind the same interface.
 */
import type { JSONRPCMessage } from '@modelcontextprotocol/server';
import { TaskError } from '../errors.js';
import type { StreamWriter } from '../streaming/stream-writer.js';

/** A session whose stream this instance holds. */
export interface LocalSession {
  id: string;
  /** The caller that opened it; only it may post to it. */
  owner: string;
  writer: StreamWriter;
  /** Hands a message to the session's MCP server; its reply goes out on the stream. */
  receive(message: JSONRPCMessage): void;
}

/** A session found for a message: wherever it lives, the message is delivered to it. */
export interface SessionHandle {
  /** Resolves once the session has the message; rejects with ENOSESSION when it has gone meanwhile. */
  deliver(message: JSONRPCMessage): Promise<void>;
}

export interface SessionDirectory {
  /** Registers a session of this instance; returns its removal. */
  open(session: LocalSession): () => void;
  /**
   * Session `id`, if `owner` opened it; someone else's session is not found (its id is not confirmed). Rejects
   * with EUNAVAILABLE when where the session lives cannot be known now.
   */
  find(id: string, owner: string): Promise<SessionHandle | undefined>;
  /** The sessions this instance holds (for the drain). */
  local(): Iterable<LocalSession>;
}

/** The refusal of a message for a session that is not there (unknown, someone else's, or ended). */
export const noSession = (): TaskError =>
  new TaskError('ENOSESSION', 'No open SSE session with this id.', {
    hint: 'Open a stream with GET /sse and post to the endpoint its first event names.',
  });

/** The sessions of one process. */
export function createMemorySessionDirectory(): SessionDirectory {
  const sessions = new Map<string, LocalSession>();
  return {
    open(session) {
      sessions.set(session.id, session);
      return () => void (sessions.get(session.id) === session && sessions.delete(session.id));
    },
    async find(id, owner) {
      const session = sessions.get(id);
      if (!session || session.owner !== owner) return undefined;
      return { deliver: async (message) => session.receive(message) };
    },
    local: () => [...sessions.values()],
  };
}
