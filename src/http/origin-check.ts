/**
 * The one Origin check, in front of every route and before anything is counted (rate limits, stream caps): a
 * browser request from a site outside `CORS_ORIGINS` is refused with 403 `EFORBIDDEN`. CORS alone only stops a
 * foreign page from reading our replies; with `SameSite=None` cookies its requests still arrive authenticated, so
 * without this check such a page could hold a user's stream slots or spend their budget.
 *
 * A browser names the initiating origin in `Origin` on every CORS request (`fetch`, `EventSource`) and on every
 * non-GET request; a no-cors request (an `<img>`, an `<iframe>`, a link) carries no `Origin` but, in every current
 * browser, `Sec-Fetch-Site`. A request with neither is not from a browser page and passes: non-browser clients
 * (curl, SDKs, agents) send none. This is also the CSRF guard of the cookie-authenticated `DELETE /v1/session`.
 */
import type { Middleware } from 'koa';
import { TaskError } from '../errors.js';
import type { AppContext, RequestState } from './handler.js';

/** `Sec-Fetch-Site` values that say another site or origin started the request. */
const FOREIGN_FETCH_SITES = new Set(['cross-site', 'same-site']);

/**
 * Builds the check; the allowlist is checked now. Origins are compared whole (scheme, host and port), as CORS
 * compares them: matching host names only would let `http://localhost:1234` (any local page) through an allowlist
 * meant for `https://localhost:8443`.
 *
 * @example
 * app.use(originCheck(['https://app.example.com']));
 */
export function originCheck(allowedOrigins: readonly string[]): Middleware<RequestState> {
  const allowed = new Set(allowedOrigins.map(toOrigin));
  return (ctx, next) => {
    const refusal = refusalOf(ctx, allowed);
    if (refusal !== undefined) {
      throw new TaskError('EFORBIDDEN', refusal.message, {
        hint: 'Call from an origin listed in CORS_ORIGINS, or from a non-browser client.',
        details: refusal.details,
      });
    }
    return next();
  };
}

function refusalOf(ctx: AppContext, allowed: ReadonlySet<string>) {
  const origin = ctx.get('Origin');
  if (origin === '') {
    const site = ctx.get('Sec-Fetch-Site');
    if (!FOREIGN_FETCH_SITES.has(site)) return undefined;
    return { message: 'A request started by another site is refused.', details: { secFetchSite: site } };
  }
  // A page this server itself serves is same-origin, not cross-origin: CORS has no say.
  if (origin === `${ctx.protocol}://${ctx.host}` || allowed.has(parseOrigin(origin) ?? '')) return undefined;
  return { message: 'This Origin may not call this server.', details: { origin } };
}

function toOrigin(entry: string): string {
  const origin = parseOrigin(entry);
  const bare = origin !== undefined && new URL(entry).href === `${origin}/`;
  if (!bare) throw new Error(`allowedOrigins: expected origins like https://host[:port], got ${JSON.stringify(entry)}`);
  return origin;
}

/** The serialized origin of `value`, or undefined when it is not one (including the opaque `null`). */
function parseOrigin(value: string): string | undefined {
  try {
    const origin = new URL(value).origin;
    return origin === 'null' ? undefined : origin;
  } catch {
    return undefined;
  }
}
