/**
 * This server as an OAuth protected resource: its RFC 9728 metadata documents and the `WWW-Authenticate`
 * challenge that points clients at them. Each of the three resources (resources.ts) has its path-aware document,
 * since RFC 9728 §3.3 has a client refuse a document whose `resource` is not the URL it derived the document's
 * address from.
 */
import { getOAuthProtectedResourceMetadataUrl } from '@modelcontextprotocol/server';
import type { ProtectedResourceMetadata } from '../../generated/types.gen.js';
import { SCOPES } from '../../generated/scopes.gen.js';
import type { InvalidTokenError } from './errors.js';
import { type ResourcePath, resourceOf } from './resources.js';

export interface ProtectedResourceOptions {
  /** The public origin, `https://tasks.example.com` (no trailing slash). */
  publicUrl: string;
  issuers: readonly string[];
}

export interface ProtectedResource {
  /** The RFC 9728 document of one resource. */
  metadata(path: ResourcePath): ProtectedResourceMetadata;
  /**
   * The `WWW-Authenticate` value of a 401 on `requestPath`: the metadata URL of the resource the path belongs to,
   * every scope, and, for a refused token, RFC 6750's `error` and `error_description`.
   */
  challenge(requestPath: string, refusal?: InvalidTokenError | 'invalid_token'): string;
}

/**
 * The SDK's `buildOAuthProtectedResourceMetadata` takes one authorization server's full RFC 8414 metadata (which
 * would tie start-up to the issuer being up) and names only that one; its challenge formatter is not exported.
 * Its metadata URL rule is used here; the document is the contract's `ProtectedResourceMetadata`.
 */
export function createProtectedResource({ publicUrl, issuers }: ProtectedResourceOptions): ProtectedResource {
  const scopes = Object.keys(SCOPES);
  const metadataUrl = (path: ResourcePath): string => getOAuthProtectedResourceMetadataUrl(new URL(publicUrl + path));
  return {
    metadata: (path) => ({
      resource: publicUrl + path,
      authorization_servers: [...issuers],
      scopes_supported: scopes,
      bearer_methods_supported: ['header'],
      resource_name: 'task-mcp',
    }),
    challenge(requestPath, refusal) {
      const params: Array<[string, string]> = [
        ['realm', 'task-mcp'],
        ['resource_metadata', metadataUrl(resourceOf(requestPath))],
        ['scope', scopes.join(' ')],
      ];
      if (refusal !== undefined) params.push(['error', 'invalid_token']);
      if (typeof refusal === 'object') params.push(['error_description', refusal.description]);
      return `Bearer ${params.map(([name, value]) => `${name}="${quoted(value)}"`).join(', ')}`;
    },
  };
}

/** An HTTP quoted-string's content: `\` and `"` escaped, anything outside printable ASCII made a space. */
const quoted = (value: string): string => value.replace(/[\\"]/g, '\\$&').replace(/[^\x20-\x7e]/g, ' ');
