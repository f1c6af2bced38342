// koa-pino-logger 5 wraps pino-http 11, whose option types it does not re-export.
declare module 'koa-pino-logger' {
  import type { Middleware } from 'koa';
  import type { Options } from 'pino-http';
  export default function koaPinoLogger(options?: Options): Middleware;
}
