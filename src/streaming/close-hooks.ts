/**
 * One `close` listener per emitter (a response, any `Writable`) that runs every hook registered with it, in the
 * order registered. A streamed response used to carry a `close` listener for each part that must know it ended
 * (request metrics, the span, the connection count, the receive-timeout watch, the stream slot, the session's
 * streams, the stream writer): with the request log's and the MCP SDK's that neared Node's limit of ten, past which
 * it warns of a leak (`MaxListenersExceededWarning`), and each listener is held for as long as the stream lives.
 */
import type { EventEmitter } from 'node:events';

/** Where an emitter keeps its hooks: on itself, so they live and die with it. */
const HOOKS = Symbol('closeHooks');

// Set to undefined, never deleted: deleting a property turns a response into a larger dictionary-mode object. Each
// change makes a new array as long as its hooks (`concat`; one grown by `push` or a spread keeps room for 17 or
// more), which a stream holds for its lifetime.
type Hooked = EventEmitter & { [HOOKS]?: readonly CloseHook[] | undefined };

/** A hook, called with the emitter that closed (so one function can serve every emitter). */
export type CloseHook = (target: EventEmitter) => void;

/**
 * Runs `hook` once, when `target` emits `close` (only a `close` still to come: check `closed` first where it may
 * have come already). Returns what unregisters it (`offClose`).
 *
 * @example
 * const forget = onClose(res, () => slot.release());
 */
export function onClose(target: EventEmitter, hook: CloseHook): () => void {
  const hooked = target as Hooked;
  const hooks = hooked[HOOKS];
  if (hooks === undefined) target.on('close', runHooks);
  hooked[HOOKS] = hooks === undefined ? [hook] : hooks.concat(hook);
  return () => offClose(target, hook);
}

/** Unregisters `hook` from `target` (once, if it was registered twice); the last one takes the listener off too. */
export function offClose(target: EventEmitter, hook: CloseHook): void {
  const hooked = target as Hooked;
  const hooks = hooked[HOOKS];
  const at = hooks?.indexOf(hook) ?? -1;
  if (hooks === undefined || at === -1) return;
  if (hooks.length > 1) {
    hooked[HOOKS] = hooks.toSpliced(at, 1);
    return;
  }
  hooked[HOOKS] = undefined;
  target.off('close', runHooks);
}

/** The one listener of every emitter: shared, it finds the hooks on the emitter it is called on. */
function runHooks(this: Hooked): void {
  const hooks = this[HOOKS] ?? [];
  this[HOOKS] = undefined;
  this.off('close', runHooks);
  for (const hook of hooks) hook(this);
}
