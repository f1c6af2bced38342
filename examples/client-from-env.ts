/**
 * The generated client for the examples, from `TASK_MCP_URL` and `TASK_MCP_TOKEN`. Operations that take a bearer
 * token or the session cookie (`/v1/events`) would get a string `auth` as both, the token sent as a cookie too:
 * `auth` answers per scheme.
 */
import { createClient, type Client } from '../generated/client/index.js';
import type { Auth } from '../generated/core/auth.gen.js';

export function clientFromEnv(): Client {
  const baseUrl = process.env.TASK_MCP_URL;
  const token = process.env.TASK_MCP_TOKEN;
  if (!baseUrl || !token) {
    console.error('Set TASK_MCP_URL (e.g. https://127.0.0.1:8443) and TASK_MCP_TOKEN (a token from TASK_MCP_TOKENS).');
    process.exit(2);
  }
  return createClient({ baseUrl, auth: (scheme: Auth) => (scheme.scheme === 'bearer' ? token : undefined) });
}
