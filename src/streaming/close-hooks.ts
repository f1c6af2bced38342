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

/** An emitter's hooks and the one listener that runs them. */
interface Hooks {
  list: Array<() => void>;
  run: () => void;
}

// Set to undefined, never deleted: deleting a property turns a response into a larger dictionary-mode object.
type Hooked = EventEmitter & { [HOOKS]?: Hooks | undefined };

/**
 * Runs `hook` once, when `target` emits `close` (only a `close` still to come: check `closed` first where it may
 * have come already). Returns what unregisters it; the last hook unregistered takes the listener off too.
 *
 * @example
 * const forget = onClose(res, () => slot.release());
 */
export function onClose(target: EventEmitter, hook: () => void): () => void {
  const hooked = target as Hooked;
  const hooks = hooked[HOOKS] ?? listen(hooked);
  hooks.list.push(hook);
  return () => {
    const at = hooks.list.indexOf(hook);
    if (at === -1) return;
    hooks.list.splice(at, 1);
    if (hooks.list.length > 0 || hooked[HOOKS] !== hooks) return;
    hooked[HOOKS] = undefined;
    target.off('close', hooks.run);
  };
}

function listen(target: Hooked): Hooks {
  const list: Array<() => void> = [];
  const run = (): void => {
    target[HOOKS] = undefined;
    for (const hook of list.splice(0)) hook();
  };
  target.once('close', run);
  return (target[HOOKS] = { list, run });
}
