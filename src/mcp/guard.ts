/**
 * Origin and Host checks for every MCP request. The MCP transport spec says servers MUST validate `Origin` to
 * stop cross-site pages driving a local server, and SHOULD bind loopback and refuse foreign `Host`s against DNS
 * rebinding (a hostile name resolving to 127.0.0.1 still sends its own name as `Host`).
 */
import { isIP } from 'node:net';
import { localhostAllowedHostnames, validateHostHeader } from '@modelcontextprotocol/server';
import { TaskError } from '../errors.js';
import type { AppContext } from '../http/handler.js';

export interface GuardOptions {
  /** The CORS allowlist: full origins (`https://app.example.com:8443`). */
  allowedOrigins: readonly string[];
  /** The address the server listens on; a loopback one turns on the `Host` check. */
  bindHost: string;
}

export type Guard = (ctx: AppContext) => void;

/**
 * Builds the check; it throws `EFORBIDDEN` for a request to refuse. Origins are compared whole (scheme, host and
 * port), as CORS compares them: the SDK's `validateOriginHeader` matches host names only, which would let
 * `http://localhost:1234` (any local page) through an allowlist meant for `https://localhost:8443`.
 */
export function createGuard({ allowedOrigins, bindHost }: GuardOptions): Guard {
  const origins = new Set(allowedOrigins.map(toOrigin));
  const hosts = isLoopback(bindHost) ? [...localhostAllowedHostnames(), bracketed(bindHost)] : undefined;

  return (ctx) => {
    const origin = ctx.get('Origin');
    // A page this server itself serves is same-origin, not cross-origin: CORS has no say, the Host check below does.
    const sameOrigin = origin === `${ctx.protocol}://${ctx.host}`;
    if (origin !== '' && !sameOrigin && !origins.has(parseOrigin(origin) ?? '')) {
      throw new TaskError('EFORBIDDEN', 'This Origin may not call the MCP endpoint.', {
        hint: 'Add the origin to the CORS allowlist, or call from a non-browser client (no Origin header).',
        details: { origin },
      });
    }
    if (hosts !== undefined && !validateHostHeader(ctx.get('Host'), hosts).ok) {
      throw new TaskError('EFORBIDDEN', 'The server listens on loopback and only answers loopback Host names.', {
        details: { host: ctx.get('Host') },
      });
    }
  };
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

function isLoopback(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '');
  return bare === 'localhost' || bare === '::1' || (isIP(bare) === 4 && bare.startsWith('127.'));
}

function bracketed(host: string): string {
  return isIP(host) === 6 ? `[${host}]` : host;
}
