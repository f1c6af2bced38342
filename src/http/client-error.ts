/**
 * The server's `clientError` listener: what Node reports about a connection outside any route. A request not
 * received in time (`requestTimeout`/`headersTimeout`, i.e. RECEIVE_TIMEOUT_MS) gets a 408 problem+json wherever
 * one can still be sent: through its own response once the app has it (so it keeps its request id and log line),
 * or straight onto the socket while its headers are still arriving. Other client errors get Node's own bare
 * answers, as before there was a listener.
 */
import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { TaskError } from '../errors.js';
import { PROBLEM_TYPE, toProblem } from './problem.js';

/**
 * The server's `clientError` listener, told the response in progress on the socket, if any (connections.ts knows
 * which).
 */
export type ClientErrorListener = (err: NodeJS.ErrnoException, socket: Duplex, res: ServerResponse | undefined) => void;

/** Node's answers to the other client errors (`_http_server.js`), kept once we own the listener. */
const NODE_ANSWERS: Record<string, string> = {
  HPE_HEADER_OVERFLOW: '431 Request Header Fields Too Large',
  HPE_CHUNK_EXTENSIONS_OVERFLOW: '413 Payload Too Large',
};

/** `timeoutMs` is RECEIVE_TIMEOUT_MS, for the message. */
export function createClientErrorListener(timeoutMs: number, log: Pick<Logger, 'warn'>): ClientErrorListener {
  const problem = (requestId: string): string => {
    const err = new TaskError('ERECEIVE_TIMEOUT', `The request did not arrive within ${timeoutMs} ms.`, {
      hint: 'Send the headers and the whole body at once; the connection is closed.',
      details: { timeoutMs },
    });
    return JSON.stringify(toProblem(err, requestId));
  };

  return (err, socket, res) => {
    if (err.code !== 'ERR_HTTP_REQUEST_TIMEOUT') return answerLikeNode(err, socket, res);
    if (res && !res.headersSent) {
      // Node ends the socket once this response is sent (`Connection: close`); the app's body read then fails
      // quietly behind it, and the slot it held (a call, a stream) comes back on `close`.
      const body = problem(String(res.getHeader('X-Request-Id') ?? randomUUID()));
      res.writeHead(408, {
        'Content-Type': PROBLEM_TYPE,
        'Content-Length': Buffer.byteLength(body),
        Connection: 'close',
      });
      res.end(body);
    } else if (!res && socket.writable) {
      const requestId = randomUUID();
      const body = problem(requestId);
      log.warn({ reqId: requestId, status: 408 }, 'request headers not received in time');
      socket.end(
        `HTTP/1.1 408 Request Timeout\r\nContent-Type: ${PROBLEM_TYPE}\r\nContent-Length: ${Buffer.byteLength(body)}` +
          `\r\nX-Request-Id: ${requestId}\r\nConnection: close\r\n\r\n${body}`,
        () => socket.destroy(),
      );
    } else socket.destroy(err);
  };
}

function answerLikeNode(err: NodeJS.ErrnoException, socket: Duplex, res: ServerResponse | undefined): void {
  if (socket.writable && !res?.headersSent) {
    socket.write(`HTTP/1.1 ${NODE_ANSWERS[err.code ?? ''] ?? '400 Bad Request'}\r\nConnection: close\r\n\r\n`);
  }
  socket.destroy(err);
}
