/**
 * A baseline of `npm run bench`: the floor of the stack task-mcp is built on, Koa with @koa/router and one
 * koa-pino-logger line per request at `info` (the same serializers as task-mcp's, into the same in-process sink),
 * answering `GET /healthz` with the same JSON and nothing more. What task-mcp's own middleware costs is the
 * distance from this row to its own. Run with `node --expose-gc`; speaks the memory-probe protocol.
 */
import type { AddressInfo } from 'node:net';
import Router from '@koa/router';
import Koa from 'koa';
import koaPinoLogger from 'koa-pino-logger';
import { pino } from 'pino';
import { LOG_SERIALIZERS } from '../../../src/http/request-log.js';
import { errorCountingSink } from '../../helpers/log-sink.js';
import { printLine, reportMemoryOnSignal } from '../../helpers/memory-probe.js';

const log = errorCountingSink();
reportMemoryOnSignal(() => ({ errors: log.errors() }));
const logger = pino({ level: 'info', serializers: LOG_SERIALIZERS }, log.stream);

const router = new Router();
router.get('/healthz', (ctx) => {
  ctx.body = { status: 'ok' };
});
const app = new Koa();
app.use(koaPinoLogger({ logger, wrapSerializers: false }));
app.use(router.routes());

const server = app.listen(0, '127.0.0.1', () =>
  printLine({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }),
);
process.once('SIGTERM', () => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
});
