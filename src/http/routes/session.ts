/**
 * `POST /v1/session` trades the bearer token (static or OAuth) for the session cookie `EventSource` can send, which
 * lives no longer than the token; `DELETE` signs the
 * session out: the cookie it carries is revoked where every instance sees it, the session's open streams on this
 * instance end, and the browser is told to drop the cookie. The cookie goes out as a reply header, so these
 * handlers need nothing from Koa's cookie jar.
 */
import { TaskError } from '../../errors.js';
import type { Identify } from '../auth.js';
import type { Handler } from '../handler.js';
import type { SessionCookies } from '../session-cookie.js';
import type { SessionRevocations } from '../session-revocations.js';
import type { SessionStreams } from '../session-streams.js';

export interface SessionDeps {
  cookies: SessionCookies;
  /** The request's credentials, for the session of the cookie a sign-out carries. */
  identify: Identify;
  revocations: Pick<SessionRevocations, 'revoke'>;
  streams: Pick<SessionStreams, 'end'>;
  now?: () => Date;
}

/** The `createSession` and `deleteSession` handlers. */
export function sessionHandlers(deps: SessionDeps): {
  createSession: Handler<'createSession'>;
  deleteSession: Handler<'deleteSession'>;
} {
  const { cookies, identify, revocations, streams, now = () => new Date() } = deps;
  return {
    async createSession(ctx) {
      const caller = ctx.state.caller;
      if (!caller) throw new TaskError('EAUTH', 'No caller: the route needs the auth middleware in front');
      // Never longer than the credential it was traded for: an OAuth token's `exp` ends the session too.
      const { value, expiresAt } = cookies.issue(caller.name, now(), caller.expiresAt);
      return {
        status: 200,
        body: { expiresAt: expiresAt.toISOString() },
        headers: { 'Set-Cookie': cookies.setCookieHeader(value, expiresAt), 'Cache-Control': 'no-store' },
      };
    },
    async deleteSession(ctx) {
      // Whoever authenticated (by the cookie, or by a token beside it), the session ended is the cookie's.
      const session = identify(ctx).cookie;
      if (session) {
        // First, so that a store that cannot record it leaves everything as it was and the client can retry.
        await revocations.revoke(session.id, session.expiresAt);
        ctx.state.log.info({ streams: streams.end(session.id) }, 'session signed out');
      }
      return {
        status: 204,
        body: undefined,
        headers: { 'Set-Cookie': cookies.clearCookieHeader(), 'Cache-Control': 'no-store' },
      };
    },
  };
}
