/**
 * A real OAuth 2.1 / OpenID Connect authorization server for tests: `oidc-provider` (the certified implementation)
 * in this process, on a free port of 127.0.0.1. It offers dynamic client registration (RFC 7591), authorization
 * code with PKCE whose login and consent finish by themselves (the subject is the request's `login_hint`), client
 * credentials, resource indicators (RFC 8707: the access token's `aud` is the requested resource), RFC 7662
 * introspection, revocation, and key rotation mid-run. A test plays the user and the administrator too: who signs in
 * next, which of the resource's scopes are granted, and a token the issuer's key signs with claims of its own choosing
 * (an expired one, say). Every test stops what it starts: call `stop()`.
 */
import { generateKeyPairSync, randomUUID, type KeyObject } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignJWT, type JWTPayload } from 'jose';
import Provider, { errors, type InteractionDetails, type JwtStructuredToken } from 'oidc-provider';
import { createMemoryAdapter } from 'oidc-provider/lib/adapters/memory_adapter.js';

export const DEFAULT_SUBJECT = 'alice';

export interface OidcOptions {
  /** The resource indicators tokens may be asked for; any other is refused with `invalid_target`. */
  resources: readonly string[];
  /** The scopes every resource offers. */
  scopes?: readonly string[];
  /** `jwt` (default): signed access tokens; `opaque`: random strings only introspection can read. */
  accessTokenFormat?: 'jwt' | 'opaque';
  accessTokenTtlSeconds?: number;
}

export interface OidcServer {
  /** The issuer identifier, `http://127.0.0.1:<port>`: the `iss` of its tokens. */
  readonly issuer: string;
  /** Replaces the signing key (and so the JWKS) with a fresh one; earlier tokens keep their old `kid`. */
  rotateKeys(): void;
  /** Who the next login signs in as, when the authorization request names no `login_hint` (alice by default). */
  signInAs(subject: string): void;
  /**
   * The scopes a token for the resources may carry from now on (a user who consents to less, an administrator's
   * policy); a request for others is granted only these. Unset: every scope of `scopes`.
   */
  grantOnly(scopes: readonly string[] | undefined): void;
  /** A JWT signed with the issuer's current key: `iss` is the issuer, the rest is `claims` as given. */
  mint(claims: JWTPayload): Promise<string>;
  /** How many requests a path (`/jwks`, `/token/introspection`, …) has had. */
  hits(path: string): number;
  stop(): Promise<void>;
}

export const DEFAULT_SCOPES = ['changes:read', 'changes:write'] as const;

/** Starts the authorization server; resolves once it listens. */
export async function startOidc(options: OidcOptions): Promise<OidcServer> {
  const hits = new Map<string, number>();
  let handler: ReturnType<Provider['callback']> | undefined;
  const server: Server = createServer((req, res) => handler!(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  // One store for every key generation: clients, grants and opaque tokens outlive a rotation.
  const adapter = createMemoryAdapter();
  const user: User = { subject: DEFAULT_SUBJECT, scopes: options.scopes ?? DEFAULT_SCOPES };
  let key = signingKey();
  const build = (): void => {
    const provider = new Provider(issuer, { ...configuration(options, key.jwk, user), adapter });
    provider.use(async (ctx, next) => {
      hits.set(ctx.path, (hits.get(ctx.path) ?? 0) + 1);
      await next();
    });
    provider.use(finishInteractions(provider, user));
    handler = provider.callback();
  };
  build();
  return {
    issuer,
    rotateKeys() {
      key = signingKey();
      build();
    },
    signInAs: (subject) => void (user.subject = subject),
    grantOnly: (scopes) => void (user.scopes = scopes ?? options.scopes ?? DEFAULT_SCOPES),
    mint: (claims) =>
      new SignJWT(claims)
        .setProtectedHeader({ alg: 'ES256', kid: key.jwk.kid as string, typ: 'at+jwt' })
        .setIssuer(issuer)
        .sign(key.privateKey),
    hits: (path) => hits.get(path) ?? 0,
    async stop() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };
}

/** What the test decides for the next authorization: who signs in, and which scopes the resources grant. */
interface User {
  subject: string;
  scopes: readonly string[];
}

function signingKey(): { jwk: Record<string, unknown>; privateKey: KeyObject } {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { jwk: { ...privateKey.export({ format: 'jwk' }), kid: randomUUID(), alg: 'ES256', use: 'sig' }, privateKey };
}

function configuration(options: OidcOptions, key: Record<string, unknown>, user: User): Record<string, unknown> {
  const ttlSeconds = options.accessTokenTtlSeconds ?? 300;
  return {
    jwks: { keys: [key] },
    // Listed here too, so a client may name them when it registers (MCP SDK clients send the scopes they will ask
    // for, and oidc-provider refuses a registration naming scopes its metadata does not list).
    scopes: ['openid', 'offline_access', ...(options.scopes ?? DEFAULT_SCOPES)],
    // Its one key is an EC key: ID tokens too are signed with ES256 (the default, RS256, would need an RSA key).
    clientDefaults: { id_token_signed_response_alg: 'ES256' },
    cookies: { keys: [randomUUID()] },
    findAccount: async (_ctx: unknown, accountId: string) => ({ accountId, claims: async () => ({ sub: accountId }) }),
    interactions: { url: (_ctx: unknown, interaction: { uid: string }) => `/interaction/${interaction.uid}` },
    pkce: { required: () => true },
    ttl: {
      AccessToken: ttlSeconds,
      ClientCredentials: ttlSeconds,
      AuthorizationCode: 60,
      Grant: 3600,
      Interaction: 600,
      Session: 3600,
      IdToken: 3600,
    },
    features: {
      devInteractions: { enabled: false },
      registration: { enabled: true },
      clientCredentials: { enabled: true },
      introspection: { enabled: true, allowedPolicy: async () => true },
      revocation: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: async (_ctx: unknown, _client: unknown, oneOf?: string) => oneOf,
        useGrantedResource: async () => true,
        getResourceServerInfo: async (_ctx: unknown, resource: string) => {
          if (!options.resources.includes(resource)) throw new errors.InvalidTarget();
          return {
            // Asked per request, so a change of `grantOnly` holds from the next authorization on.
            scope: user.scopes.join(' '),
            audience: resource,
            accessTokenTTL: ttlSeconds,
            accessTokenFormat: options.accessTokenFormat ?? 'jwt',
            jwt: { sign: { alg: 'ES256' } },
          };
        },
      },
    },
    formats: {
      // Many issuers (Entra among them) stamp `nbf`; this one does too, so a verifier's `nbf` check has a claim to read.
      customizers: {
        jwt: async (_ctx: unknown, _token: unknown, jwt: JwtStructuredToken) => {
          jwt.payload.nbf = jwt.payload.iat;
        },
      },
    },
  };
}

/**
 * Answers `/interaction/:uid` at once, as a user who signs in and consents to everything asked would: login as the
 * request's `login_hint` (or `user.subject`), then a grant of every requested resource scope.
 */
function finishInteractions(provider: Provider, user: User) {
  return async (
    ctx: { path: string; req: IncomingMessage; res: ServerResponse; respond?: boolean },
    next: () => Promise<void>,
  ) => {
    if (!/^\/interaction\/[^/]+$/.test(ctx.path)) return next();
    const details = await provider.interactionDetails(ctx.req, ctx.res);
    const result =
      details.prompt.name === 'login'
        ? { login: { accountId: String(details.params.login_hint ?? user.subject) } }
        : { consent: { grantId: await grantAll(provider, details) } };
    await provider.interactionFinished(ctx.req, ctx.res, result, { mergeWithLastSubmission: true });
    ctx.respond = false;
  };
}

async function grantAll(provider: Provider, details: InteractionDetails): Promise<string> {
  const grant =
    (details.grantId ? await provider.Grant.find(details.grantId) : undefined) ??
    new provider.Grant({ accountId: details.session!.accountId, clientId: String(details.params.client_id) });
  const missing = details.prompt.details as {
    missingOIDCScope?: string[];
    missingResourceScopes?: Record<string, string[]>;
  };
  if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
  for (const [resource, scopes] of Object.entries(missing.missingResourceScopes ?? {})) {
    grant.addResourceScope(resource, scopes.join(' '));
  }
  return grant.save();
}
