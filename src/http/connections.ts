/**
 * The listener's connections, for the drain: which are idle, and closing those gracefully. Node's own
 * `closeIdleConnections` counts a connection idle as soon as its response has called `end()`, and destroys it:
 * over TLS the response's last bytes (the final chunk of a stream) may still be queued in the TLS socket then, so
 * a stream the drain had ended cleanly reached its client cut ("terminated"). Here a connection is idle only once
 * its response has finished (every byte handed to the socket), and it is ended, not destroyed, so what the socket
 * still queues goes out before its FIN.
 */
import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import { onClose } from '../streaming/close-hooks.js';

export interface Connections {
  /** Ends every connection that has no response in progress; the others end when theirs does (during a drain). */
  endIdle(): void;
  /** Connections not yet closed. */
  readonly size: number;
}

/** Tracks the connections of `server` from now on; `tls`: it is an HTTPS server (its sockets are TLS sockets). */
export function trackConnections(server: Server, tls: boolean): Connections {
  /** Each open connection, with the responses in progress on it. */
  const open = new Map<Socket, number>();
  const busy = (socket: Socket, delta: number): void => void open.set(socket, (open.get(socket) ?? 0) + delta);

  // The HTTP layer runs on the TLS socket, not on the TCP socket under it that `connection` announces.
  server.on(tls ? 'secureConnection' : 'connection', (socket: Socket) => {
    open.set(socket, 0);
    // `on`, not `once`: each fires once, and a `once` wrapper is two more objects a long-lived stream holds.
    socket.on('close', () => open.delete(socket));
  });
  server.on('request', (req, res) => {
    const socket = req.socket;
    if (!open.has(socket)) return;
    busy(socket, 1);
    // `finish`: the last byte is handed to the socket; `close` alone: the response was cut (the client left).
    let done = false;
    const settle = (): void => {
      if (done) return;
      done = true;
      if (open.has(socket)) busy(socket, -1);
    };
    res.on('finish', settle);
    onClose(res, settle);
  });

  return {
    endIdle() {
      for (const [socket, responses] of open) if (responses === 0 && !socket.writableEnded) socket.end();
    },
    get size() {
      return open.size;
    },
  };
}
