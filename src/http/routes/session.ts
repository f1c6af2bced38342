/**
 * `POST /v1/session` trades the bearer token for the session cookie `EventSource` can send; `DELETE` clears it.
 * The cookie goes out as a reply header, so these handlers need nothing from Koa's cookie jar.
 */
import { TaskError } from '../../errors.js';
import type { Handler } from '../handler.js';
import type { SessionCookies } from '../session-cookie.js';

export interface SessionRouteDeps {
  cookies: SessionCookies;
  now?: () => Date;
}

/** The `createSession` and `deleteSession` handlers. */
export function sessionRoutes(deps: SessionRouteDeps): {
  createSession: Handler<'createSession'>;
  deleteSession: Handler<'deleteSession'>;
} {
  const { cookies, now = () => new Date() } = deps;
  return {
    async createSession(ctx) {
      const caller = ctx.state.caller;
      if (!caller) throw new TaskError('EAUTH', 'No caller: the route needs the auth middleware in front');
      const { value, expiresAt } = cookies.issue(caller.name, now());
      return {
        status: 200,
        body: { expiresAt: expiresAt.toISOString() },
        headers: { 'Set-Cookie': cookies.setCookieHeader(value, expiresAt), 'Cache-Control': 'no-store' },
      };
    },
    async deleteSession() {
      return { status: 204, body: undefined, headers: { 'Set-Cookie': cookies.clearCookieHeader() } };
    },
  };
}
