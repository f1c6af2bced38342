/**
 * An issuer's metadata, found the way RFC 8414 §3 and OpenID Connect Discovery say: first
 * `/.well-known/oauth-authorization-server` inserted before the issuer's path, then `/.well-known/openid-configuration`
 * appended to it. A document whose `issuer` is not the one asked for is not used (RFC 8414 §3.3). Found metadata is
 * kept for an hour; a failure is not kept, so the next token tries again.
 */
import type { IssuerContact } from './issuer-contact.js';

export interface IssuerMetadata {
  issuer: string;
  jwks_uri?: string;
  introspection_endpoint?: string;
}

export type MetadataLookup = (issuer: string) => Promise<IssuerMetadata>;

/** How long found metadata is trusted before it is looked up again. */
const MAX_AGE_MS = 3_600_000;

/** The two discovery URLs of an issuer, in the order they are tried. */
export function discoveryUrls(issuer: string): string[] {
  const url = new URL(issuer);
  const path = url.pathname.replace(/\/$/, '');
  return [
    `${url.origin}/.well-known/oauth-authorization-server${path}`,
    `${url.origin}${path}/.well-known/openid-configuration`,
  ];
}

export function createMetadataLookup(contact: IssuerContact, now: () => number): MetadataLookup {
  const found = new Map<string, { at: number; metadata: Promise<IssuerMetadata> }>();
  return (issuer) => {
    const cached = found.get(issuer);
    if (cached && now() - cached.at < MAX_AGE_MS) return cached.metadata;
    const metadata = discover(contact, issuer);
    found.set(issuer, { at: now(), metadata });
    metadata.catch(() => found.delete(issuer));
    return metadata;
  };
}

async function discover(contact: IssuerContact, issuer: string): Promise<IssuerMetadata> {
  const refused: string[] = [];
  for (const url of discoveryUrls(issuer)) {
    const response = await contact.fetch(issuer, url, { headers: { Accept: 'application/json' } });
    const document = response.ok ? ((await response.json().catch(() => undefined)) as unknown) : undefined;
    if (isMetadataOf(document, issuer)) return document;
    refused.push(`${url} answered ${response.status}${response.ok ? ' with no metadata for this issuer' : ''}`);
  }
  throw contact.unavailable(issuer, `no usable metadata (${refused.join('; ')})`);
}

function isMetadataOf(document: unknown, issuer: string): document is IssuerMetadata {
  return typeof document === 'object' && document !== null && (document as IssuerMetadata).issuer === issuer;
}
