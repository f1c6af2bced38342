/**
 * The `Host` check of every MCP request, as a pure function of the header. The MCP transport spec says servers MUST
 * validate `Origin` (the app's one Origin check does, in front of every route: `src/http/origin-check.ts`) and
 * SHOULD bind loopback and refuse foreign `Host`s against DNS rebinding: a hostile name resolving to 127.0.0.1 still
 * sends its own name as `Host`, and its pages would otherwise pass as same-origin.
 */
import { isIP } from 'node:net';
import { localhostAllowedHostnames, validateHostHeader } from '@modelcontextprotocol/server';
import { TaskError } from '../errors.js';

/** The refusal (`EFORBIDDEN`) of a request with this `Host` header, or undefined when it may pass. */
export type HostCheck = (host: string) => TaskError | undefined;

/** Builds the check for a server listening on `bindHost`; a loopback address turns it on. */
export function createHostCheck(bindHost: string): HostCheck {
  const hosts = isLoopback(bindHost) ? [...localhostAllowedHostnames(), bracketed(bindHost)] : undefined;
  return (host) => {
    if (hosts === undefined || validateHostHeader(host, hosts).ok) return undefined;
    return new TaskError('EFORBIDDEN', 'The server listens on loopback and only answers loopback Host names.', {
      details: { host },
    });
  };
}

function isLoopback(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '');
  return bare === 'localhost' || bare === '::1' || (isIP(bare) === 4 && bare.startsWith('127.'));
}

function bracketed(host: string): string {
  return isIP(host) === 6 ? `[${host}]` : host;
}
