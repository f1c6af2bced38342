/**
 * The `WWW-Authenticate: Bearer` challenge (RFC 6750 §3), written one way for every refusal: a 401 (no token, or
 * one refused: `invalid_token`) and a 403 (`insufficient_scope`, the MCP authorization spec's step-up), with
 * OAuth's RFC 9728 `resource_metadata` when an issuer is configured.
 */

export interface Challenge {
  /** RFC 6750's error code; none when no token was presented. */
  error?: 'invalid_token' | 'insufficient_scope';
  /** Why, for a person: never quotes the token. */
  description?: string;
  /** The scopes to ask for (RFC 6750 `scope`). */
  scope?: readonly string[];
  /** Where the Protected Resource Metadata of the resource is (RFC 9728 §5.1). */
  resourceMetadata?: string;
}

/** The header's value, its parameters in a fixed order. */
export function formatChallenge({ error, description, scope, resourceMetadata }: Challenge): string {
  const params: Array<[string, string | undefined]> = [
    ['realm', 'task-mcp'],
    ['resource_metadata', resourceMetadata],
    ['scope', scope && scope.length > 0 ? scope.join(' ') : undefined],
    ['error', error],
    ['error_description', description],
  ];
  const written = params.filter((param): param is [string, string] => param[1] !== undefined);
  return `Bearer ${written.map(([name, value]) => `${name}="${quoted(value)}"`).join(', ')}`;
}

/** An HTTP quoted-string's content: `\` and `"` escaped, anything outside printable ASCII made a space. */
const quoted = (value: string): string => value.replace(/[\\"]/g, '\\$&').replace(/[^\x20-\x7e]/g, ' ');
