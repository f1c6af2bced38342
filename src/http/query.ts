/** The query parameters of a request, read without making Koa keep them when there are none. */
import type { Context } from 'koa';

/**
 * `ctx.query`, or for a request without a query string a new empty object: Koa caches every parse on the request
 * (`_querycache`, a dictionary), which a stream's request holds for as long as the stream stays open.
 */
export const queryOf = (ctx: Pick<Context, 'query' | 'querystring'>): Context['query'] =>
  ctx.querystring === '' ? {} : ctx.query;
