/**
 * Who is calling, by address: the key of rate limits and stream caps, and a field of the request's log line.
 */
import { isIP } from 'node:net';
import type { ParameterizedContext } from 'koa';

/**
 * The client's address. Without `TRUST_PROXY` it is the socket's peer. With it, Koa's `ctx.ip` (the app is built
 * with `proxy` and `maxIpsCount` = the number of trusted proxies) is the right-most `X-Forwarded-For` entry that
 * no trusted proxy appended: entries further left are whatever the client sent and are never read. An entry
 * that is not an address (a misconfigured proxy) falls back to the peer rather than keying on arbitrary text.
 */
export function clientIp(ctx: Pick<ParameterizedContext, 'app' | 'ip' | 'req'>): string {
  const peer = ctx.req.socket.remoteAddress ?? '';
  // Without `proxy`, Koa's `ctx.ip` is the peer too, found by way of the `X-Forwarded-For` it then ignores.
  const candidate = ctx.app.proxy && isIP(ctx.ip) ? ctx.ip : peer;
  // One client, one key, whether it arrived over IPv4 or as an IPv4-mapped IPv6 address.
  return candidate.startsWith('::ffff:') && isIP(candidate.slice(7)) === 4 ? candidate.slice(7) : candidate;
}

/** The key limits are counted under: the address, plus the token name once the caller is known. */
export const clientKey = (ip: string, name?: string): string => (name === undefined ? ip : `${ip}|${name}`);
