/**
 * Scopes on MCP. What a message needs is the contract's `x-required-scopes`: its tool's for `tools/call`, its
 * method's otherwise (most need none: `tools/list` lists both tools to any caller). A message whose token lacks them
 * is refused before any server sees it, so the HTTP edge answers that one request with 403 and the step-up
 * challenge (the authorization spec's "Runtime Insufficient Scope Errors", 2025-11-25 and 2026-07-28); the session
 * it belongs to, if any, goes on. The challenge's `scope` follows the request's revision: from 2026-07-28 it names
 * the scopes the operation needs and the client adds those it holds; before, clients ask for exactly what it names
 * (the v1 SDK does), so it names those the token holds as well, lest the step-up lose them.
 */
import { MCP_METHOD_SCOPES } from '../../generated/scopes.gen.js';
import { ALL_SCOPES, insufficientScope, missingScopes, type Scope } from '../auth/scopes.js';
import { findTool } from '../tools/catalog.js';
import { holds } from './revisions.js';

/** The scopes one JSON-RPC message (or a batch: each of its messages) needs. */
function scopesNeeded(body: unknown): Scope[] {
  const messages = Array.isArray(body) ? body : [body];
  const needed = new Set(messages.flatMap((message) => [...scopesOf(message)]));
  return ALL_SCOPES.filter((scope) => needed.has(scope));
}

function scopesOf(message: unknown): readonly Scope[] {
  const { method, params } = (message ?? {}) as { method?: unknown; params?: { name?: unknown } };
  if (typeof method !== 'string') return [];
  if (method === 'tools/call') return typeof params?.name === 'string' ? (findTool(params.name)?.scopes ?? []) : [];
  return Object.hasOwn(MCP_METHOD_SCOPES, method) ? MCP_METHOD_SCOPES[method]! : [];
}

/**
 * Throws EINSUFFICIENT_SCOPE, with the challenge `revision` calls for (empty when the request names none: an older
 * one), unless `granted` covers what `body` needs.
 */
export function assertScoped(granted: ReadonlySet<Scope>, body: unknown, revision: string): void {
  const needed = scopesNeeded(body);
  const missing = missingScopes(granted, needed);
  if (missing.length === 0) return;
  const asked = holds('scopeChallengeNamesTheOperations', revision)
    ? needed
    : ALL_SCOPES.filter((scope) => granted.has(scope) || needed.includes(scope));
  throw insufficientScope(missing, asked);
}
