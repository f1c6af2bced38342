/**
 * Bearer tokens, kept only as SHA-256 digests and compared in constant time: a token is never stored, logged
 * or echoed, and how long a comparison takes says nothing about which token nearly matched.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Token } from '../config/index.js';

export interface TokenStore {
  /** The name of the token presented, or undefined. */
  identify(presented: string): string | undefined;
  /** Whether a token of this name is configured (a session of a removed token is over). */
  knows(name: string): boolean;
}

const digest = (value: string): Buffer => createHash('sha256').update(value, 'utf8').digest();

export function createTokenStore(tokens: readonly Token[]): TokenStore {
  const entries = tokens.map(({ name, token }) => ({ name, digest: digest(token) }));
  const names = new Set(tokens.map((t) => t.name));
  return {
    knows: (name) => names.has(name),
    identify(presented) {
      const candidate = digest(presented);
      let found: string | undefined;
      // Visit every entry, whatever matched, so the time taken does not depend on the match.
      for (const entry of entries) {
        if (timingSafeEqual(entry.digest, candidate)) found ??= entry.name;
      }
      return found;
    },
  };
}
