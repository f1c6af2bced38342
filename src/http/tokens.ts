/**
 * Bearer tokens, kept only as SHA-256 digests and compared in constant time: a token is never stored, logged
 * or echoed, and how long a comparison takes says nothing about which token nearly matched.
 */
import { hash, timingSafeEqual } from 'node:crypto';
import { ALL_SCOPES, type Scope } from '../auth/scopes.js';
import type { Token } from '../config/index.js';
import type { Identity } from './handler.js';

export interface TokenStore {
  /** Who the token presented speaks for (its name and scopes), or undefined. */
  identify(presented: string): Identity | undefined;
  /** The scopes of the token named `name` now; undefined when none is configured (its sessions are over). */
  scopesOf(name: string): ReadonlySet<Scope> | undefined;
}

// One-shot: no Hash object per request (every bearer request digests the token it presents).
const digest = (value: string): Buffer => hash('sha256', value, 'buffer');

export function createTokenStore(tokens: readonly Token[]): TokenStore {
  const identities = new Map<string, Identity>(
    tokens.map(({ name, scopes }) => [name, { name, scopes: new Set(scopes ?? ALL_SCOPES) }]),
  );
  const entries = tokens.map(({ name, token }) => ({ identity: identities.get(name)!, digest: digest(token) }));
  return {
    scopesOf: (name) => identities.get(name)?.scopes,
    identify(presented) {
      const candidate = digest(presented);
      let found: Identity | undefined;
      // Visit every entry, whatever matched, so the time taken does not depend on the match.
      for (const entry of entries) {
        if (timingSafeEqual(entry.digest, candidate)) found ??= entry.identity;
      }
      return found;
    },
  };
}
