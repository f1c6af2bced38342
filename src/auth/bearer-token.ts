/**
 * What a bearer token looks like to this server: 16 to 512 visible ASCII characters (RFC 6750's `b64token` is a
 * subset). The `Authorization` parser and the configuration both read it from here, so the server cannot start
 * with a token that its own parser would refuse and that would therefore answer 401 forever.
 */

/** Shortest token accepted: shorter ones are guessable. */
export const MIN_TOKEN_LENGTH = 16;
/** Longest token accepted: bounds the work a header can cause. */
export const MAX_TOKEN_LENGTH = 512;

const BEARER = new RegExp(`^Bearer ([\\x21-\\x7e]{${MIN_TOKEN_LENGTH},${MAX_TOKEN_LENGTH}})$`, 'i');

/** The token of an `Authorization: Bearer <token>` value, or undefined when the value carries no usable token. */
export const bearerToken = (authorization: string): string | undefined => BEARER.exec(authorization)?.[1];

/**
 * Why `token` can never authenticate, in words that never quote it (it is a secret); undefined when it can.
 *
 * @example
 * tokenFault('short') // 'is 5 characters long, fewer than 16'
 */
export function tokenFault(token: string): string | undefined {
  if (bearerToken(`Bearer ${token}`) === token) return undefined;
  const at = [...token].findIndex((char) => !/^[\x21-\x7e]$/.test(char));
  if (at >= 0) return `has ${kindOf([...token][at]!)} at character ${at + 1}`;
  return token.length < MIN_TOKEN_LENGTH
    ? `is ${token.length} characters long, fewer than ${MIN_TOKEN_LENGTH}`
    : `is ${token.length} characters long, more than ${MAX_TOKEN_LENGTH}`;
}

function kindOf(char: string): string {
  const code = char.codePointAt(0)!;
  if (code > 0x7f) return 'a non-ASCII character';
  return /\s/.test(char) ? 'white space' : 'a control character';
}
