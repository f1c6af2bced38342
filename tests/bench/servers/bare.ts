/**
 * The baseline of `npm run bench`: node:http alone, answering what task-mcp answers on the measured routes and
 * nothing more (no auth, no rate limit, no logging, no contract checks). `GET /healthz` sends the same JSON;
 * `POST /mcp` parses the JSON-RPC request and answers with the listing task-mcp sent (`BENCH_LISTING`, the
 * `tools/list` result); `GET /v1/events` holds an SSE stream open with a heartbeat timer, as task-mcp does.
 * HTTPS when `TLS_CERT` and `TLS_KEY` are set. Run with `node --expose-gc`; speaks the memory-probe protocol.
 */
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { printLine, reportMemoryOnSignal } from '../../helpers/memory-probe.js';

reportMemoryOnSignal();
const listing = process.env.BENCH_LISTING;
if (!listing) throw new Error('BENCH_LISTING must be the tools/list result as JSON');
const heartbeatMs = Number(process.env.HEARTBEAT_MS ?? 25_000);
const HEALTH = JSON.stringify({ status: 'ok' });

function answerJsonRpc(req: IncomingMessage, res: ServerResponse): void {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    const { id } = JSON.parse(Buffer.concat(chunks).toString()) as { id: number | string };
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(`{"result":${listing},"jsonrpc":"2.0","id":${JSON.stringify(id)}}`);
  });
}

function holdEvents(req: IncomingMessage, res: ServerResponse): void {
  req.socket.setTimeout(0);
  req.socket.setNoDelay(true);
  req.socket.setKeepAlive(true);
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  res.write('retry: 3000\n\n');
  const heartbeat = setInterval(() => res.write(': ping\n\n'), heartbeatMs).unref();
  const cleanup = (): void => {
    clearInterval(heartbeat);
    res.end();
  };
  res.on('close', cleanup);
  res.on('error', cleanup);
}

function route(req: IncomingMessage, res: ServerResponse): void {
  if (req.method === 'GET' && req.url === '/healthz') {
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' }).end(HEALTH);
  } else if (req.method === 'POST' && req.url === '/mcp') {
    answerJsonRpc(req, res);
  } else if (req.method === 'GET' && req.url === '/v1/events') {
    holdEvents(req, res);
  } else {
    res.writeHead(404).end();
  }
}

const { TLS_CERT, TLS_KEY } = process.env;
const tls = TLS_CERT && TLS_KEY ? { cert: readFileSync(TLS_CERT), key: readFileSync(TLS_KEY) } : undefined;
const server = tls ? createHttpsServer(tls, route) : createHttpServer(route);
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo;
  printLine({ url: `${tls ? 'https' : 'http'}://127.0.0.1:${port}` });
});
process.once('SIGTERM', () => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
});
