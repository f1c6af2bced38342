/**
 * The HTTP server span of every request, from one middleware placed right after the request log: named
 * `{method} {route template}` with OpenTelemetry's HTTP server attributes, its parent the caller's span when the
 * request carries a W3C `traceparent` header, and current through everything the request runs (routes, the MCP
 * transports, the tool pipeline), so their spans are its children. It ends when the response closes (a stream:
 * when it ends). Mounted only when tracing is on.
 */
import type { Middleware } from 'koa';
import { onClose } from '../streaming/close-hooks.js';
import type { Tracing } from '../tracing/tracing.js';
import type { RequestState } from './handler.js';
import { routeTemplate } from './route-template.js';

/**
 * Builds the middleware; its span's ids go on the request's log line (`ctx.state.trace`).
 *
 * @example
 * if (tracing) app.use(httpTracing(tracing));
 */
export function httpTracing(tracing: Tracing): Middleware<RequestState> {
  return (ctx, next) => {
    const route = routeTemplate(ctx.path);
    const span = tracing.start(`${ctx.method} ${route}`, {
      kind: 'server',
      carrier: ctx.headers,
      attributes: {
        'http.request.method': ctx.method,
        'http.route': route,
        'url.path': ctx.path,
        'url.scheme': ctx.protocol,
        'network.transport': 'tcp',
        'network.protocol.name': 'http',
        'network.protocol.version': ctx.req.httpVersion,
        'client.address': ctx.state.ip,
        'user_agent.original': ctx.get('User-Agent') || undefined,
      },
    });
    ctx.state.trace = span.ids;
    // The hook holds the span and the response, not the context: a stream's span ends hours on.
    const res = ctx.res;
    onClose(res, () => {
      const status = res.statusCode;
      span.set({ 'http.response.status_code': status });
      span.end(status >= 500 ? { type: String(status) } : undefined);
    });
    return span.run(next);
  };
}
