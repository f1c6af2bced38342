/**
 * Every request this server makes to an authorization server goes through here: bounded by a timeout, and
 * remembered per issuer, so readiness can say `degraded` while one cannot be reached (and `ok` again as soon as
 * one answers). Nothing here sees a token: the callers never put one in a URL, and bodies are not logged.
 */
import type { CheckState } from '../../generated/types.gen.js';
import { IssuerUnavailableError } from './errors.js';

export interface IssuerContactOptions {
  fetchTimeoutMs: number;
  retryAfterSeconds: number;
  /** The platform's `fetch` unless given. */
  fetch?: typeof fetch;
}

export interface IssuerContact {
  /**
   * Fetches `url` for `issuer` within the timeout. Any answer is returned (a 5xx also counts the issuer as down);
   * no answer (refused, reset, timed out) throws IssuerUnavailableError.
   */
  fetch(issuer: string, url: string | URL, init?: RequestInit): Promise<Response>;
  /** The same fetch in the shape jose's `customFetch` takes, for one issuer's JWKS. */
  fetcherFor(issuer: string): typeof fetch;
  /** Counts the issuer as down and builds the error to throw. */
  unavailable(issuer: string, reason: string): IssuerUnavailableError;
  /** `degraded` while the last contact with some issuer failed. */
  state(): CheckState;
}

export function createIssuerContact(options: IssuerContactOptions): IssuerContact {
  const platformFetch = options.fetch ?? globalThis.fetch;
  const down = new Set<string>();
  const unavailable = (issuer: string, reason: string): IssuerUnavailableError => {
    down.add(issuer);
    return new IssuerUnavailableError(issuer, reason, options.retryAfterSeconds);
  };
  const tracked = async (issuer: string, url: string | URL | Request, init: RequestInit = {}): Promise<Response> => {
    let response: Response;
    try {
      // A caller's own signal (jose passes one) is kept; ours bounds the wait either way.
      const timeout = AbortSignal.timeout(options.fetchTimeoutMs);
      const signal = init.signal ? AbortSignal.any([init.signal, timeout]) : timeout;
      response = await platformFetch(url, { ...init, signal });
    } catch (err) {
      throw unavailable(issuer, describe(err));
    }
    if (response.status >= 500) down.add(issuer);
    else down.delete(issuer);
    return response;
  };
  return {
    fetch: tracked,
    fetcherFor: (issuer) => (url, init) => tracked(issuer, url, init),
    unavailable,
    state: () => (down.size > 0 ? 'degraded' : 'ok'),
  };
}

/** Why a fetch got no answer, in words fit for a log line: the error's name and its cause's code. */
function describe(err: unknown): string {
  const { name, cause } = err as { name?: string; cause?: { code?: string } };
  if (name === 'TimeoutError' || name === 'AbortError') return 'no answer within the fetch timeout';
  return cause?.code ? `the connection failed (${cause.code})` : `the request failed (${name ?? 'error'})`;
}
