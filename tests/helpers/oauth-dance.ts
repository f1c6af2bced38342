/**
 * What the MCP authorization-dance tests share: task-mcp on a port picked first (so `PUBLIC_URL` is its real URL),
 * with a real oidc-provider on loopback as its `OAUTH_ISSUER`, and how a client's request is named in their logs.
 */
import { freePort } from './free-port.js';
import { startOidc, type OidcServer } from './oidc.js';
import { startServer, type TestServer } from './server.js';

export interface DanceServers {
  as: OidcServer;
  s: TestServer;
  /** The server's URL, which is its `PUBLIC_URL`. */
  url: string;
  stop(): Promise<void>;
}

/** The authorization server (for the server's URL, `/mcp` and `/sse`), then task-mcp trusting it. */
export async function startDanceServers(): Promise<DanceServers> {
  const port = await freePort();
  const url = `https://127.0.0.1:${port}`;
  const as = await startOidc({ resources: [url, `${url}/mcp`, `${url}/sse`] });
  const s = await startServer({ env: { PORT: String(port), PUBLIC_URL: url, OAUTH_ISSUER: as.issuer } });
  return {
    as,
    s,
    url,
    async stop() {
      await s.stop();
      await as.stop();
    },
  };
}

/** A request as the dance tests note it: `METHOD server|issuer|<origin><path>` (never its headers). */
export function stepOf(servers: Pick<DanceServers, 'as' | 'url'>, input: unknown, init?: RequestInit): string {
  const target = new URL(String(input instanceof Request ? input.url : input));
  const origin =
    target.origin === servers.url ? 'server' : target.origin === servers.as.issuer ? 'issuer' : target.origin;
  return `${init?.method ?? 'GET'} ${origin}${target.pathname}`;
}
