/**
 * The OAuth settings, read and checked at start: `PUBLIC_URL` and the `OAUTH_*` variables (their kinds, defaults
 * and meaning are rows of the SETTINGS table). A bad value stops the server with a message naming the variable and
 * never quoting a secret.
 */
import { defaultLabel, isIssuerLabel } from '../auth/caller-name.js';
import type { IntrospectionOptions } from '../auth/introspection.js';
import { resourceIdentifiers } from '../auth/resources.js';
import { parseUrl } from './kinds.js';
import type { SettingReader } from './settings.js';

export interface OAuthConfig {
  /** The public origin: the resource identifiers are it, it + `/mcp`, it + `/sse`. */
  publicUrl: string;
  issuers: string[];
  /** Each issuer's label: its callers are `<subject>~<label>` (src/auth/caller-name.ts). */
  labels: Record<string, string>;
  /** The `aud` values accepted: the resource identifiers unless `OAUTH_AUDIENCE` says otherwise. */
  audiences: string[];
  introspection: IntrospectionOptions | undefined;
  clockSkewSeconds: number;
  fetchTimeoutMs: number;
  jwksCooldownMs: number;
}

/** `PUBLIC_URL` and, when `OAUTH_ISSUER` is set, the OAuth settings that need it. */
export function readOAuthSettings(read: SettingReader): {
  publicUrl: string | undefined;
  oauth: OAuthConfig | undefined;
} {
  const publicUrl = readPublicUrl(read);
  return { publicUrl, oauth: readOAuthConfig(read, publicUrl) };
}

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]']);

/** `PUBLIC_URL`: a bare origin, `https:` unless on loopback; undefined when unset. */
function readPublicUrl(read: SettingReader): string | undefined {
  const raw = read.value('PUBLIC_URL');
  if (!raw) return undefined;
  const url = parseUrl(raw);
  if (!url || `${url.origin}/` !== url.href.replace(/\/?$/, '/') || !secureOrLoopback(url)) {
    read.fail('PUBLIC_URL must be the public origin, like https://tasks.example.com (https:, no path or query)');
  }
  return url.origin;
}

/** The OAuth settings; undefined when `OAUTH_ISSUER` is unset (then no other `OAUTH_*` string may be set). */
function readOAuthConfig(read: SettingReader, publicUrl: string | undefined): OAuthConfig | undefined {
  const entries = list(read.value('OAUTH_ISSUER'));
  if (entries.length === 0) {
    const stray = (['OAUTH_AUDIENCE', 'OAUTH_INTROSPECTION_URL', 'OAUTH_INTROSPECTION_CLIENT_ID'] as const).find(
      (name) => read.value(name),
    );
    if (stray) read.fail(`${stray} needs OAUTH_ISSUER`);
    return undefined;
  }
  const labelled = entries.map((entry, i) => issuerEntry(read, entry, i + 1));
  const issuers = labelled.map(([, issuer]) => issuer);
  if (new Set(issuers).size !== issuers.length) read.fail('OAUTH_ISSUER names an issuer twice');
  const labels = labelled.map(([label]) => label);
  const shared = labels.findIndex((label, i) => labels.indexOf(label) !== i);
  if (shared >= 0) {
    read.fail(
      `OAUTH_ISSUER entries ${labels.indexOf(labels[shared]!) + 1} and ${shared + 1} both have the label ` +
        `"${labels[shared]}": give each its own, like label=https://…`,
    );
  }
  if (!publicUrl) read.fail('OAUTH_ISSUER needs PUBLIC_URL: the resource that tokens must be issued for');
  const audiences = list(read.value('OAUTH_AUDIENCE'));
  return {
    publicUrl,
    issuers,
    labels: Object.fromEntries(labelled.map(([label, issuer]) => [issuer, label])),
    audiences: audiences.length > 0 ? audiences : resourceIdentifiers(publicUrl),
    introspection: readIntrospection(read),
    clockSkewSeconds: read.value('OAUTH_CLOCK_SKEW_SECONDS'),
    fetchTimeoutMs: read.value('OAUTH_FETCH_TIMEOUT_MS'),
    jwksCooldownMs: read.value('OAUTH_JWKS_COOLDOWN_MS'),
  };
}

function readIntrospection(read: SettingReader): IntrospectionOptions | undefined {
  const url = read.value('OAUTH_INTROSPECTION_URL');
  const clientId = read.value('OAUTH_INTROSPECTION_CLIENT_ID');
  const clientSecret = read.value('OAUTH_INTROSPECTION_CLIENT_SECRET');
  const cacheSeconds = read.value('OAUTH_INTROSPECTION_CACHE_SECONDS');
  if (!url) {
    if (clientId || clientSecret) read.fail('OAUTH_INTROSPECTION_CLIENT_ID/_SECRET need OAUTH_INTROSPECTION_URL');
    return undefined;
  }
  const parsed = parseUrl(url);
  if (!parsed || !secureOrLoopback(parsed)) read.fail('OAUTH_INTROSPECTION_URL must be an https: URL');
  // The secret's message says only that it is missing: its value is never printed.
  if (!clientId || !clientSecret) {
    read.fail('OAUTH_INTROSPECTION_URL needs OAUTH_INTROSPECTION_CLIENT_ID and OAUTH_INTROSPECTION_CLIENT_SECRET');
  }
  return { url, clientId, clientSecret, cacheSeconds };
}

const LABELLED = /^([a-z0-9-]+)=(.*)$/;

/**
 * One `OAUTH_ISSUER` entry, `[label=]issuer`: the issuer identifier (RFC 8414 §2: an `https:` URL, `http:` on
 * loopback, with no query or fragment) and its label, given or its default (caller-name.ts).
 */
function issuerEntry(read: SettingReader, entry: string, position: number): [label: string, issuer: string] {
  const [, given, issuer = entry] = LABELLED.exec(entry) ?? [];
  const url = parseUrl(issuer);
  if (!url || url.search || url.hash || issuer.includes('#') || !secureOrLoopback(url)) {
    read.fail(`OAUTH_ISSUER entry ${position} must be an https: URL with no query or fragment, got "${issuer}"`);
  }
  const label = given ?? defaultLabel(issuer);
  if (label === undefined || !isIssuerLabel(label)) {
    read.fail(
      `OAUTH_ISSUER entry ${position} needs a label of 1–32 characters [a-z0-9-], like label=${issuer}` +
        (given === undefined ? '' : `, got "${given}"`),
    );
  }
  return [label, issuer];
}

const list = (raw: string): string[] =>
  raw
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean);

/** `https:`, or `http:` to this machine (tests, a local issuer): the only places a token may travel in clear. */
const secureOrLoopback = (url: URL): boolean =>
  url.protocol === 'https:' ||
  (url.protocol === 'http:' && (LOOPBACK.has(url.hostname) || url.hostname.startsWith('127.')));
