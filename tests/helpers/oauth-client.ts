/**
 * The client side of OAuth, as a test needs it against a real authorization server (tests/helpers/oidc.ts):
 * discovery, dynamic registration (RFC 7591), authorization code with PKCE driven by following the redirects (with
 * a cookie jar, as a browser would), client credentials, and revocation. Endpoints come from the server's metadata.
 */
import { createHash, randomBytes } from 'node:crypto';

export interface RegisteredClient {
  client_id: string;
  client_secret?: string;
  redirect_uris?: string[];
}

export interface TokenRequest {
  /** The RFC 8707 resource indicator: the `aud` the token is for. */
  resource: string;
  /** Space-separated scopes; the server's default when unset. */
  scope?: string;
}

interface Metadata {
  authorization_endpoint: string;
  token_endpoint: string;
  registration_endpoint: string;
  revocation_endpoint: string;
  introspection_endpoint: string;
  jwks_uri: string;
}

/** A native app's loopback redirect (RFC 8252): never connected to, the code is read off the redirect itself. */
export const REDIRECT_URI = 'http://127.0.0.1/callback';

export async function discover(issuer: string): Promise<Metadata> {
  return json(await fetch(`${issuer}/.well-known/openid-configuration`), 'discovery');
}

/** Registers a public client for authorization code + PKCE, as an MCP client does on first contact. */
export async function registerPublicClient(issuer: string): Promise<RegisteredClient> {
  return register(issuer, {
    application_type: 'native',
    redirect_uris: [REDIRECT_URI],
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'none',
  });
}

/** Registers a confidential client (a service, or a resource server that introspects). */
export async function registerConfidentialClient(issuer: string): Promise<RegisteredClient> {
  return register(issuer, {
    redirect_uris: [],
    grant_types: ['client_credentials'],
    response_types: [],
    token_endpoint_auth_method: 'client_secret_basic',
  });
}

async function register(issuer: string, metadata: Record<string, unknown>): Promise<RegisteredClient> {
  const { registration_endpoint } = await discover(issuer);
  const res = await fetch(registration_endpoint, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(metadata),
  });
  return json(res, 'registration');
}

/**
 * Authorization code + PKCE (S256) for `subject`: the authorization request, the server's login and consent
 * interaction (which finishes by itself), the redirect carrying the code, then the token request.
 */
export async function authorizationCodeToken(
  issuer: string,
  client: RegisteredClient,
  request: TokenRequest & { subject?: string },
): Promise<string> {
  const metadata = await discover(issuer);
  const verifier = randomBytes(32).toString('base64url');
  const authorize = new URL(metadata.authorization_endpoint);
  authorize.search = new URLSearchParams({
    response_type: 'code',
    client_id: client.client_id,
    redirect_uri: REDIRECT_URI,
    scope: request.scope ?? 'changes:read changes:write',
    resource: request.resource,
    code_challenge: createHash('sha256').update(verifier).digest('base64url'),
    code_challenge_method: 'S256',
    state: randomBytes(8).toString('hex'),
    ...(request.subject ? { login_hint: request.subject } : {}),
  }).toString();
  const code = await followToCode(authorize);
  return tokenRequest(metadata.token_endpoint, client, {
    grant_type: 'authorization_code',
    code,
    redirect_uri: REDIRECT_URI,
    code_verifier: verifier,
    resource: request.resource,
  });
}

/** The client credentials grant, authenticated with the client's secret (HTTP Basic). */
export async function clientCredentialsToken(
  issuer: string,
  client: RegisteredClient,
  request: TokenRequest,
): Promise<string> {
  const { token_endpoint } = await discover(issuer);
  return tokenRequest(token_endpoint, client, {
    grant_type: 'client_credentials',
    resource: request.resource,
    ...(request.scope ? { scope: request.scope } : {}),
  });
}

/** Revokes an access token (RFC 7009) as the client it was issued to. */
export async function revokeToken(issuer: string, client: RegisteredClient, token: string): Promise<void> {
  const { revocation_endpoint } = await discover(issuer);
  const res = await fetch(revocation_endpoint, {
    method: 'POST',
    headers: { Authorization: basic(client), 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token, token_type_hint: 'access_token' }),
  });
  if (res.status !== 200) throw new Error(`revocation answered ${res.status}: ${await res.text()}`);
}

/** HTTP Basic client authentication (RFC 6749 §2.3.1: each part form-encoded first). */
export const basic = (client: RegisteredClient): string =>
  `Basic ${Buffer.from(`${encodeURIComponent(client.client_id)}:${encodeURIComponent(client.client_secret ?? '')}`).toString('base64')}`;

async function tokenRequest(
  endpoint: string,
  client: RegisteredClient,
  params: Record<string, string>,
): Promise<string> {
  const headers: Record<string, string> = { 'Content-Type': 'application/x-www-form-urlencoded' };
  const body = new URLSearchParams(params);
  if (client.client_secret) headers.Authorization = basic(client);
  else body.set('client_id', client.client_id);
  const { access_token } = await json<{ access_token: string }>(
    await fetch(endpoint, { method: 'POST', headers, body }),
    'token',
  );
  return access_token;
}

/** Follows the authorization server's redirects to the redirect URI; the code it carries. */
async function followToCode(start: URL): Promise<string> {
  const landed = await followToRedirect(start);
  const code = landed.searchParams.get('code');
  if (!code) throw new Error(`authorization failed: ${landed.searchParams.get('error_description')}`);
  return code;
}

/**
 * A browser's part of an authorization request: follows the authorization server's redirects, keeping its cookies,
 * until one lands on the redirect URI, and returns that URL (the code, or the error, is in its query).
 */
export async function followToRedirect(start: URL): Promise<URL> {
  const jar = new Map<string, string>();
  let url = start;
  for (let hop = 0; hop < 10; hop++) {
    const cookie = [...jar].map(([name, value]) => `${name}=${value}`).join('; ');
    const res = await fetch(url, { redirect: 'manual', headers: cookie ? { Cookie: cookie } : {} });
    for (const line of res.headers.getSetCookie()) {
      const [pair = ''] = line.split(';');
      const eq = pair.indexOf('=');
      const [name, value] = [pair.slice(0, eq).trim(), pair.slice(eq + 1).trim()];
      if (value) jar.set(name, value);
      else jar.delete(name);
    }
    const location = res.headers.get('Location');
    if (!location) throw new Error(`authorization stopped at ${res.status}: ${await res.text()}`);
    url = new URL(location, url);
    if (url.href.startsWith(REDIRECT_URI)) return url;
  }
  throw new Error('authorization: too many redirects');
}

async function json<T>(res: Response, what: string): Promise<T> {
  const text = await res.text();
  if (!res.ok) throw new Error(`${what} answered ${res.status}: ${text}`);
  return JSON.parse(text) as T;
}
