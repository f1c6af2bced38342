/**
 * CORS for the listed origins only; @koa/cors alone would reflect any origin once credentials are allowed.
 */
import cors from '@koa/cors';
import type { Middleware } from 'koa';
import type { RequestState } from './handler.js';

/** Headers a browser script may read from our responses. */
const EXPOSED_HEADERS = [
  'X-Request-Id',
  'Retry-After',
  // A browser-based MCP client finds the OAuth metadata through the 401's challenge.
  'WWW-Authenticate',
  'X-RateLimit-Limit',
  'X-RateLimit-Remaining',
  'X-RateLimit-Reset',
];

const ALLOWED_HEADERS = [
  'Authorization',
  'Content-Type',
  'Accept',
  'Last-Event-ID',
  'X-Request-Id',
  'MCP-Protocol-Version',
  'Mcp-Method',
  'Mcp-Name',
];

/** CORS for `origins` (`CORS_ORIGINS`), with credentials. */
export function corsAllowlist(origins: readonly string[]): Middleware<RequestState> {
  const allowed = new Set(origins);
  const crossOrigin = cors({
    origin: (ctx) => (allowed.has(ctx.get('Origin')) ? ctx.get('Origin') : ''),
    credentials: true,
    exposeHeaders: EXPOSED_HEADERS,
    allowHeaders: ALLOWED_HEADERS,
    allowMethods: ['GET', 'POST', 'DELETE', 'OPTIONS'],
    maxAge: 600,
  }) as Middleware<RequestState>;
  // Without `Origin` a request is outside CORS, and all @koa/cors does is add `Vary`: here, without its two awaits.
  return (ctx, next) => {
    if (ctx.get('Origin') !== '') return crossOrigin(ctx, next);
    ctx.vary('Origin');
    return next();
  };
}
