/**
 * From a verified token's claims (a JWT's payload, or an RFC 7662 introspection answer: they share their names)
 * to the principal the rest of the server sees. One reading of subject and scope for both kinds of token.
 */
import { refused } from './errors.js';

/** Who a verified access token speaks for. */
export interface Principal {
  /** `sub`, or `client_id` for a client-credentials token without one. */
  subject: string;
  /** The OAuth client the token was issued to (`client_id`, or `azp`), when the token says. */
  clientId?: string;
  issuer: string;
  /** From `scope` (space-separated) or `scp` (an array, or a space-separated string, as Entra sends it). */
  scopes: string[];
  expiresAt: Date;
}

export type Claims = Record<string, unknown>;

const text = (value: unknown): string | undefined => (typeof value === 'string' && value !== '' ? value : undefined);

export function principalFrom(claims: Claims, issuer: string): Principal {
  const subject = text(claims.sub) ?? text(claims.client_id);
  if (subject === undefined) throw refused('noSubject');
  if (typeof claims.exp !== 'number') throw refused('noExpiry');
  const clientId = text(claims.client_id) ?? text(claims.azp);
  return {
    subject,
    ...(clientId !== undefined ? { clientId } : {}),
    issuer,
    scopes: scopesOf(claims),
    expiresAt: new Date(claims.exp * 1000),
  };
}

function scopesOf(claims: Claims): string[] {
  const granted = claims.scope ?? claims.scp;
  const list = Array.isArray(granted) ? granted : typeof granted === 'string' ? granted.split(' ') : [];
  return list.filter((scope): scope is string => typeof scope === 'string' && scope !== '');
}

/** The checks jose makes on a JWT, made here on an introspection answer: issuer, audience, `exp` and `nbf`. */
export interface ClaimRules {
  issuers: readonly string[];
  audiences: readonly string[];
  clockSkewSeconds: number;
}

/** Checks introspected claims; returns the issuer they belong to (`iss`, else `fallbackIssuer`). */
export function checkClaims(claims: Claims, rules: ClaimRules, nowMs: number, fallbackIssuer: string): string {
  const issuer = claims.iss === undefined ? fallbackIssuer : text(claims.iss);
  if (issuer === undefined || !rules.issuers.includes(issuer)) {
    throw refused('issuer');
  }
  const audiences = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
  if (!audiences.some((aud) => typeof aud === 'string' && rules.audiences.includes(aud))) {
    throw refused('audience');
  }
  const now = nowMs / 1000;
  if (typeof claims.exp === 'number' && claims.exp + rules.clockSkewSeconds <= now) {
    throw refused('expired');
  }
  if (typeof claims.nbf === 'number' && claims.nbf - rules.clockSkewSeconds > now) {
    throw refused('notYetValid');
  }
  return issuer;
}
