/**
 * Callers' names. A static token's caller is its name (`alice`); an OAuth token's is its verified subject with the
 * label of the issuer that vouched for it, `<subject>~<label>` (`carol~auth0`). The name is what lock owners,
 * receipts and events record and what rate limits, stream caps and log lines key on, so it must fit the contract's
 * `Owner` pattern and never be another caller's:
 *
 * - no static name has a `~`, so no OAuth caller is ever a static one;
 * - issuers' labels differ (checked at start), so one subject from two issuers is two callers;
 * - a subject is kept as it is when it is made of `A–Z a–z 0–9 . @ -`; any other character is escaped as `_` and
 *   two hex digits per UTF-8 byte, and `_` itself as `__` (Auth0's `auth0|64f1` is `auth0_7c64f1`). Read left to
 *   right this decodes to one subject only, so two subjects never share a name;
 * - a subject too long for the pattern (64 characters) once escaped, or not well-formed text (a lone UTF-16
 *   surrogate, which UTF-8 cannot hold), keeps a prefix and ends `_z` plus 20 hex digits of its SHA-256: `_z` is no
 *   escape, so it is never an escaped subject, and two such subjects share a name only if their hashes' first 80
 *   bits do.
 */
import { createHash } from 'node:crypto';
import { isActorName } from '../changes/owner.js';

/** Between an OAuth caller's subject and its issuer's label. */
const ISSUER_MARK = '~';

/** Whether `name` can be a static token's name: an actor name with no issuer label. */
export const isTokenName = (name: string): boolean => isActorName(name) && !name.includes(ISSUER_MARK);

/** Whether `label` can be an issuer's label (the contract's pattern says what may follow the mark). */
export const isIssuerLabel = (label: string): boolean => isActorName(`x${ISSUER_MARK}${label}`);

/** The label of an OAuth caller's issuer; undefined for a static token's name. */
export function labelOf(name: string): string | undefined {
  const at = name.indexOf(ISSUER_MARK);
  return at < 0 ? undefined : name.slice(at + 1);
}

const KEPT = /^[A-Za-z0-9.@-]$/;
const LONE_SURROGATE = /\p{Cs}/u;
const HASH_MARK = '_z';

/** `subject` escaped, one token per character: itself, `__`, or `_xx` per UTF-8 byte. */
function escapedTokens(subject: string): string[] {
  return [...subject].map((char) => {
    if (KEPT.test(char)) return char;
    if (char === '_') return '__';
    return [...Buffer.from(char, 'utf8')].map((byte) => `_${byte.toString(16).padStart(2, '0')}`).join('');
  });
}

/**
 * The caller an OAuth token of `subject`, vouched for by the issuer labelled `label`, acts as.
 *
 * @example
 * callerName('auth0|64f1', 'auth0') // 'auth0_7c64f1~auth0'
 */
export function callerName(subject: string, label: string): string {
  const suffix = `${ISSUER_MARK}${label}`;
  const tokens = escapedTokens(subject);
  const escaped = tokens.join('');
  if (!LONE_SURROGATE.test(subject) && isActorName(escaped + suffix)) return escaped + suffix;
  // UTF-16 code units, as JSON gave them: every string hashes apart, lone surrogates too.
  const digest = createHash('sha256').update(Buffer.from(subject, 'utf16le')).digest('hex');
  const hashed = `${HASH_MARK}${digest.slice(0, 20)}${suffix}`;
  // The longest prefix of whole tokens that still fits: a readable start, and no escape cut in two.
  let prefix = '';
  for (const token of tokens) {
    if (!isActorName(prefix + token + hashed)) break;
    prefix += token;
  }
  return prefix + hashed;
}

/**
 * The label an issuer gets when `OAUTH_ISSUER` gives it none: the first label of its host name (`tenant` for
 * `https://tenant.auth0.com/`), or its whole address for an IP (`127-0-0-1`); undefined when that is no label.
 */
export function defaultLabel(issuer: string): string | undefined {
  const host = new URL(issuer).hostname.replace(/^\[|\]$/g, '').toLowerCase();
  const label = (/^[\d.]+$|:/.test(host) ? host : host.split('.')[0]!).replace(/[^a-z0-9-]/g, '-');
  return isIssuerLabel(label) ? label : undefined;
}
