/**
 * Handlers are typed from the contract: a wrong status or body does not compile. `npm run check` type-checks
 * this file, so each `@ts-expect-error` below fails the build the day the typing stops catching its mistake.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import type { Handler } from '../src/http/handler.js';

it('accepts a handler that answers a declared status with its body', () => {
  const health: Handler<'getHealth'> = async () => ({ status: 200, body: { status: 'ok' } });
  assert.equal(typeof health, 'function');
});

it('rejects, at compile time, an undeclared status or a body of the wrong shape', () => {
  // @ts-expect-error 201 is not a status getHealth declares
  const wrongStatus: Handler<'getHealth'> = async () => ({ status: 201, body: { status: 'ok' } });
  // @ts-expect-error getHealth's 200 body is { status: 'ok' }
  const wrongBody: Handler<'getHealth'> = async () => ({ status: 200, body: { status: 'fine' } });
  // @ts-expect-error a 503 from getReadiness carries a Problem, not a Readiness body
  const wrongError: Handler<'getReadiness'> = async () => ({ status: 503, body: { status: 'ready', checks: {} } });
  // @ts-expect-error an invoke body is read as the contract's ToolInput, which has no `name`
  const wrongInput: Handler<'invokeTool'> = async (_ctx, input) => ({ status: 200, body: input.body.name });
  assert.equal([wrongStatus, wrongBody, wrongError, wrongInput].length, 4);
});
