/**
 * The drain's view of the change service: every `open` and `archive` is tracked by the lifecycle from the moment it
 * starts until it settles, on whichever transport it came and whether or not its caller still waits (an NDJSON
 * client that went away, a JSON caller already answered ETIMEOUT). Reads are not tracked: they write nothing.
 */
import type { CallContext, ChangeService } from './changes/types.js';
import type { Lifecycle } from './lifecycle.js';

/** `service`, with its writing calls tracked by `lifecycle`. */
export function trackCalls(service: ChangeService, lifecycle: Pick<Lifecycle, 'track'>): ChangeService {
  const label = (tool: string, ctx: CallContext) => ({ tool, reqId: ctx.requestId ?? '-', caller: ctx.actor });
  return {
    ...service,
    open: (input, ctx) => lifecycle.track(service.open(input, ctx), label('change.open', ctx)),
    archive: (input, ctx) => lifecycle.track(service.archive(input, ctx), label('change.archive', ctx)),
  };
}
