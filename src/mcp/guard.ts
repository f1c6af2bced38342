/**
 * The `Host` check of every MCP request. The MCP transport spec says servers MUST validate `Origin` (the app's
 * one Origin check does, in front of every route: `src/http/origin-check.ts`) and SHOULD bind loopback and refuse
 * foreign `Host`s against DNS rebinding: a hostile name resolving to 127.0.0.1 still sends its own name as `Host`,
 * and its pages would otherwise pass as same-origin.
 */
import { isIP } from 'node:net';
import { localhostAllowedHostnames, validateHostHeader } from '@modelcontextprotocol/server';
import { TaskError } from '../errors.js';
import type { AppContext } from '../http/handler.js';

export interface GuardOptions {
  /** The address the server listens on; a loopback one turns on the `Host` check. */
  bindHost: string;
}

export type Guard = (ctx: AppContext) => void;

/** Builds the check; it throws `EFORBIDDEN` for a request to refuse. */
export function createGuard({ bindHost }: GuardOptions): Guard {
  const hosts = isLoopback(bindHost) ? [...localhostAllowedHostnames(), bracketed(bindHost)] : undefined;

  return (ctx) => {
    if (hosts !== undefined && !validateHostHeader(ctx.get('Host'), hosts).ok) {
      throw new TaskError('EFORBIDDEN', 'The server listens on loopback and only answers loopback Host names.', {
        details: { host: ctx.get('Host') },
      });
    }
  };
}

function isLoopback(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '');
  return bare === 'localhost' || bare === '::1' || (isIP(bare) === 4 && bare.startsWith('127.'));
}

function bracketed(host: string): string {
  return isIP(host) === 6 ? `[${host}]` : host;
}
