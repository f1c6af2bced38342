/**
 * The listener's connections, for the drain: which are idle, and closing those gracefully. Node's own
 * `closeIdleConnections` counts a connection idle as soon as its response has called `end()`, and destroys it:
 * over TLS the response's last bytes (the final chunk of a stream) may still be queued in the TLS socket then, so
 * a stream the drain had ended cleanly reached its client cut ("terminated"). Here a connection is idle only once
 * its response has finished (every byte handed to the socket), and it is ended, not destroyed, so what the socket
 * still queues goes out before its FIN. And which response a connection is on, for the receive timeout's 408
 * (client-error.ts).
 */
import type { Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { onClose } from '../streaming/close-hooks.js';

export interface Connections {
  /** Ends every connection that has no response in progress; the others end when theirs does (during a drain). */
  endIdle(): void;
  /** The response in progress on `socket` that came last: the one whose request it may still be receiving. */
  responseOn(socket: Duplex): ServerResponse | undefined;
  /** Connections not yet closed. */
  readonly size: number;
}

/** One open connection: how many responses are in progress on it, and the last of them. */
interface Connection {
  responses: number;
  last: ServerResponse | undefined;
}

/** Tracks the connections of `server` from now on; `tls`: it is an HTTPS server (its sockets are TLS sockets). */
export function trackConnections(server: Server, tls: boolean): Connections {
  const open = new Map<Socket, Connection>();

  // The HTTP layer runs on the TLS socket, not on the TCP socket under it that `connection` announces.
  server.on(tls ? 'secureConnection' : 'connection', (socket: Socket) => {
    open.set(socket, { responses: 0, last: undefined });
    // `on`, not `once`: each fires once, and a `once` wrapper is two more objects a long-lived stream holds.
    socket.on('close', () => open.delete(socket));
  });
  server.on('request', (req, res) => {
    const connection = open.get(req.socket);
    if (connection === undefined) return;
    connection.responses += 1;
    connection.last = res;
    // Once per response: a tick after `finish` (its last byte handed to the socket), or when it was cut.
    onClose(res, () => {
      connection.responses -= 1;
      if (connection.last === res) connection.last = undefined;
    });
  });

  return {
    endIdle() {
      for (const [socket, { responses }] of open) if (responses === 0 && !socket.writableEnded) socket.end();
    },
    responseOn: (socket) => open.get(socket as Socket)?.last,
    get size() {
      return open.size;
    },
  };
}
