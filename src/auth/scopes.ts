/**
 * What a caller may do: the contract's scopes (`x-scopes`), which operations, tools and MCP methods need which
 * (generated from the contract), and the one refusal of a request whose token lacks one: 403 EINSUFFICIENT_SCOPE,
 * which the HTTP edge answers with RFC 6750's `insufficient_scope` challenge (the MCP authorization spec's step-up).
 * Scopes imply no others.
 */
import { SCOPES, type Scope } from '../../generated/scopes.gen.js';
import { TaskError } from '../errors.js';

export type { Scope } from '../../generated/scopes.gen.js';

/** Every scope, in the contract's order: what a static token without a list holds. */
export const ALL_SCOPES: readonly Scope[] = Object.keys(SCOPES) as Scope[];

export const isScope = (name: string): name is Scope => Object.hasOwn(SCOPES, name);

/** The scopes among `granted` this server knows (a token may carry others, for other resources). */
export const knownScopes = (granted: readonly string[]): Set<Scope> => new Set(granted.filter(isScope));

/** Those of `required` that `granted` lacks, in `required`'s order. */
export const missingScopes = (granted: ReadonlySet<Scope>, required: readonly Scope[]): Scope[] =>
  required.filter((scope) => !granted.has(scope));

/**
 * The refusal of a request whose token lacks `missing`. `challenge` is what the `WWW-Authenticate` challenge's
 * `scope` names, the scopes to ask for: it travels in `details.scopes`.
 */
export function insufficientScope(missing: readonly Scope[], challenge: readonly Scope[]): TaskError {
  const named = missing.join(' and ');
  return new TaskError(
    'EINSUFFICIENT_SCOPE',
    `This request needs the scope ${named}, which the token does not carry.`,
    {
      hint: `Authorize again asking for ${challenge.join(' ')} (an OAuth client steps up by itself), or use a token with it.`,
      details: { scopes: [...challenge], missing: [...missing] },
    },
  );
}

/** Throws EINSUFFICIENT_SCOPE unless `granted` holds every scope of `required`. */
export function requireScopes(granted: ReadonlySet<Scope>, required: readonly Scope[]): void {
  const missing = missingScopes(granted, required);
  if (missing.length > 0) throw insufficientScope(missing, required);
}
