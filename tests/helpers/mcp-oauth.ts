/**
 * The OAuth side of a real MCP SDK client, as a test drives it: an `OAuthClientProvider` (the interface the v2
 * `@modelcontextprotocol/client` and the v1 `@modelcontextprotocol/sdk` both take) that keeps what the SDK hands it
 * in memory and plays the user's browser. `redirectToAuthorization` follows the authorization server's redirects
 * (its login and consent finish by themselves, tests/helpers/oidc.ts) to the redirect URI and keeps the callback's
 * parameters, which the test then gives to the transport's `finishAuth`, as an app does when its callback arrives.
 * Everything the SDK asks for is recorded, so a test can show the dance step by step.
 */
import type {
  OAuthClientInformationMixed,
  OAuthClientMetadata,
  OAuthClientProvider,
  OAuthDiscoveryState,
  OAuthTokens,
} from '@modelcontextprotocol/client';
import { REDIRECT_URI, followToRedirect } from './oauth-client.js';

export class TestOAuthProvider implements OAuthClientProvider {
  private client: OAuthClientInformationMixed | undefined;
  private saved: OAuthTokens | undefined;
  private verifier = '';
  private discovery: OAuthDiscoveryState | undefined;
  /** The authorization requests the SDK sent the user to, in order. */
  readonly authorizations: URL[] = [];
  /** The parameters of the last redirect back to the client (`code`, `state`, `iss`), for `finishAuth`. */
  callback: URLSearchParams | undefined;

  readonly redirectUrl = REDIRECT_URI;
  readonly clientMetadata: OAuthClientMetadata = {
    client_name: 'task-mcp test client',
    redirect_uris: [REDIRECT_URI],
    response_types: ['code'],
    token_endpoint_auth_method: 'none',
  };

  /** The client the SDK registered (RFC 7591), once it has. */
  get registered(): OAuthClientInformationMixed | undefined {
    return this.client;
  }

  clientInformation = (): OAuthClientInformationMixed | undefined => this.client;
  saveClientInformation = (client: OAuthClientInformationMixed): void => void (this.client = client);
  tokens = (): OAuthTokens | undefined => this.saved;
  saveTokens = (tokens: OAuthTokens): void => void (this.saved = tokens);
  saveCodeVerifier = (verifier: string): void => void (this.verifier = verifier);
  codeVerifier = (): string => this.verifier;
  saveDiscoveryState = (state: OAuthDiscoveryState): void => void (this.discovery = state);
  discoveryState = (): OAuthDiscoveryState | undefined => this.discovery;

  /** The user's browser: through login and consent to the redirect URI. */
  async redirectToAuthorization(url: URL): Promise<void> {
    this.authorizations.push(url);
    this.callback = (await followToRedirect(url)).searchParams;
  }

  /** The callback's parameters, once: what `finishAuth` takes. */
  takeCallback(): URLSearchParams {
    const callback = this.callback;
    if (!callback) throw new Error('no authorization callback to finish');
    this.callback = undefined;
    return callback;
  }

  /** The access token the SDK holds now (to look at its claims, or to check no log line carries it). */
  get accessToken(): string {
    if (!this.saved) throw new Error('no token yet');
    return this.saved.access_token;
  }
}
