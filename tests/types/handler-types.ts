/**
 * Handlers are typed from the contract: a wrong status, body or input does not compile. A type test, with no
 * run-time part: `npm run check` (tsc) type-checks this file, and each `@ts-expect-error` below fails the check
 * the day the typing stops catching its mistake (an unused directive is an error).
 */
import type { Handler, Handlers } from '../../src/http/handler.js';

/** A declared status with its body compiles. */
export const _health: Handler<'getHealth'> = async () => ({ status: 200, body: { status: 'ok' } });

/** So does a declared error status with a Problem body. */
export const _notReady: Handler<'getReadiness'> = async () => ({
  status: 503,
  body: { type: 'about:blank', title: 'Not ready', status: 503, code: 'EUNAVAILABLE', requestId: 'r' },
});

// @ts-expect-error 201 is not a status getHealth declares
export const _wrongStatus: Handler<'getHealth'> = async () => ({ status: 201, body: { status: 'ok' } });

// @ts-expect-error getHealth's 200 body is { status: 'ok' }
export const _wrongBody: Handler<'getHealth'> = async () => ({ status: 200, body: { status: 'fine' } });

// @ts-expect-error a 503 from getReadiness carries a Problem, not a Readiness body
export const _wrongError: Handler<'getReadiness'> = async () => ({
  status: 503,
  body: { status: 'ready', checks: {} },
});

// @ts-expect-error an invoke body is read as the contract's ToolInput, which has no `name`
export const _wrongInput: Handler<'invokeTool'> = async (_ctx, input) => ({ status: 200, body: input.body.name });

/** Every operation has its handler. */
declare const allButHealth: Omit<Handlers, 'getHealth'>;
// @ts-expect-error a handler map that leaves an operation out (here getHealth) is not the app's Handlers
export const _incomplete: Handlers = { ...allButHealth };
