/**
 * Where the HTTP+SSE transport keeps its sessions and how a posted message reaches one. Here: this process's memory,
 * for as long as a session's stream is open. Behind this interface a shared bus can find a session another instance
 * holds and relay the message to it, without the transport changing.
 */
import type { JSONRPCMessage } from '@modelcontextprotocol/server';
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
  deliver(message: JSONRPCMessage): void;
}

export interface SessionDirectory {
  /** Registers a session of this instance; returns its removal. */
  open(session: LocalSession): () => void;
  /** Session `id`, if `owner` opened it; someone else's session is not found (its id is not confirmed). */
  find(id: string, owner: string): Promise<SessionHandle | undefined>;
  /** The sessions this instance holds (for the drain). */
  local(): Iterable<LocalSession>;
}

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
      return session && session.owner === owner ? { deliver: (message) => session.receive(message) } : undefined;
    },
    local: () => [...sessions.values()],
  };
}
