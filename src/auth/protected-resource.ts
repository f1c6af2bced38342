/**
 * This server as an OAuth protected resource: its RFC 9728 metadata documents and the `WWW-Authenticate`
 * challenge that points clients at them. Each of the three resources (resources.ts) has its path-aware document,
 * since RFC 9728 §3.3 has a client refuse a document whose `resource` is not the URL it derived the document's
 * address from.
 */
import { getOAuthProtectedResourceMetadataUrl } from '@modelcontextprotocol/server';
import type { ProtectedResourceMetadata } from '../../generated/types.gen.js';
import { type Challenge, formatChallenge } from './challenge.js';
import { type ResourcePath, resourceOf } from './resources.js';
import { ALL_SCOPES } from './scopes.js';

export interface ProtectedResourceOptions {
  /** The public origin, `https://tasks.example.com` (no trailing slash). */
  publicUrl: string;
  issuers: readonly string[];
}

export interface ProtectedResource {
  /** The RFC 9728 document of one resource. */
  metadata(path: ResourcePath): ProtectedResourceMetadata;
  /**
   * The `WWW-Authenticate` value of a refusal on `requestPath`: `challenge` with the metadata URL of the resource the
   * path belongs to, and, unless it names its own (a 403's), every scope.
   */
  challenge(requestPath: string, challenge: Challenge): string;
}

/**
 * The SDK's `buildOAuthProtectedResourceMetadata` takes one authorization server's full RFC 8414 metadata (which
 * would tie start-up to the issuer being up) and names only that one; its challenge formatter is not exported.
 * Its metadata URL rule is used here; the document is the contract's `ProtectedResourceMetadata`.
 */
export function createProtectedResource({ publicUrl, issuers }: ProtectedResourceOptions): ProtectedResource {
  const scopes = [...ALL_SCOPES];
  const metadataUrl = (path: ResourcePath): string => getOAuthProtectedResourceMetadataUrl(new URL(publicUrl + path));
  return {
    metadata: (path) => ({
      resource: publicUrl + path,
      authorization_servers: [...issuers],
      scopes_supported: scopes,
      bearer_methods_supported: ['header'],
      resource_name: 'task-mcp',
    }),
    challenge: (requestPath, challenge) =>
      formatChallenge({ scope: scopes, ...challenge, resourceMetadata: metadataUrl(resourceOf(requestPath)) }),
  };
}
