/**
 * Assertions for refused OAuth tokens: the exact RFC 6750 description, and the token nowhere in the error (its
 * message, its JSON, its inspected form with every nested cause).
 */
import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import { InvalidTokenError, IssuerUnavailableError } from '../../src/auth/oauth-verifier.js';

/** Fails unless `text` is free of every token given. */
export function assertNoToken(text: string, ...tokens: string[]): void {
  for (const token of tokens) assert.ok(!text.includes(token), 'a token appears where it must not');
}

const everyForm = (err: unknown): string => [inspect(err, { depth: 10 }), JSON.stringify(err), String(err)].join('\n');

/** Resolves when `verifying` rejects with InvalidTokenError saying `description`, and not quoting `token`. */
export async function assertRefused(verifying: Promise<unknown>, token: string, description: string): Promise<void> {
  const err = await verifying.then(
    () => assert.fail(`accepted a token that should be refused (${description})`),
    (caught: unknown) => caught,
  );
  assert.ok(err instanceof InvalidTokenError, `expected InvalidTokenError, got ${String(err)}`);
  assert.equal(err.description, description);
  assertNoToken(everyForm(err), token);
}

/** Resolves when `verifying` rejects with IssuerUnavailableError for `issuer` (and `reason`), not quoting `token`. */
export async function assertUnavailable(
  verifying: Promise<unknown>,
  token: string,
  issuer: string,
  reason?: RegExp,
): Promise<void> {
  const err = await verifying.then(
    () => assert.fail('accepted a token while its issuer is unreachable'),
    (caught: unknown) => caught,
  );
  assert.ok(err instanceof IssuerUnavailableError, `expected IssuerUnavailableError, got ${String(err)}`);
  assert.equal(err.issuer, issuer);
  assert.equal(err.retryAfterSeconds, 5);
  if (reason) assert.match(err.message, reason);
  assertNoToken(everyForm(err), token);
}
