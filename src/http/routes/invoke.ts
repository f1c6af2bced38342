/**
 * `POST /v1/tools/{tool}/invoke`: a direct tool call whose reply follows `Accept`: one JSON body, an SSE stream
 * or NDJSON lines. Everything that can be refused (tool, media type, arguments) is refused before a byte streams,
 * as a thrown TaskError the error middleware turns into problem+json. A body that is not JSON is refused
 * (415) by the router's body parser before this handler runs. The call itself goes through the tool pipeline.
 */
import { operations } from '../../../generated/operations.gen.js';
import type { InvokeError, InvokeResult } from '../../../generated/types.gen.js';
import { requireScopes } from '../../auth/scopes.js';
import { TaskError } from '../../errors.js';
import type { StreamKind } from '../../metrics/index.js';
import type { StreamProbe } from '../../streaming/stream-writer.js';
import type { Outcome, ToolPipeline } from '../../tools/pipeline.js';
import { HANDLED } from '../handler.js';
import type { AppContext, Caller, Handler } from '../handler.js';
import { ndjsonInvokeFraming, sseInvokeFraming, streamToolCall, type InvokeFraming } from '../invoke-stream.js';
import { negotiate, type MediaTypeOf } from '../media.js';
import { invalidRequest, toProblem } from '../problem.js';
import { openKoaStream } from '../koa-stream.js';

export interface InvokeDeps {
  pipeline: ToolPipeline;
  heartbeatMs: number;
  /** Unsent bytes past which a slow stream reader is cut off (default 1 MiB). */
  maxBufferedBytes?: number;
  /** The probe of each stream opened, by kind (the metrics' open streams, heartbeats, slow readers). */
  probes?: (kind: StreamKind) => StreamProbe;
  now?: () => Date;
}

type StreamType = Exclude<MediaTypeOf<'invokeTool'>, 'application/json'>;

/** Each streamed reply's framing, and what it counts as among open streams. */
const STREAMED: Record<StreamType, { framing: InvokeFraming; kind: StreamKind }> = {
  'text/event-stream': { framing: sseInvokeFraming, kind: 'invoke_sse' },
  'application/x-ndjson': { framing: ndjsonInvokeFraming, kind: 'invoke_ndjson' },
};

const TRANSPORTS = {
  'application/json': 'invoke-json',
  'text/event-stream': 'invoke-sse',
  'application/x-ndjson': 'invoke-ndjson',
} as const;

/** The server failed: the problem says so and nothing more (the pipeline logged the cause). */
const fault = (): TaskError =>
  new TaskError('EINTERNAL', 'The server failed; the request id finds the cause in its logs.');

/** A call's result, or its refusal thrown for the error responder. */
function resultOf(outcome: Outcome) {
  if (outcome.kind === 'result') return outcome.result;
  throw outcome.kind === 'refused' ? outcome.error : fault();
}

/** A call's outcome as the last event of its stream. */
function lastEvent(outcome: Outcome, requestId: string): InvokeResult | InvokeError {
  if (outcome.kind === 'result') return { type: 'result', result: outcome.result };
  return { type: 'error', error: toProblem(outcome.kind === 'refused' ? outcome.error : fault(), requestId) };
}

/** The `invokeTool` handler. */
export function invokeHandlers(deps: InvokeDeps): { invokeTool: Handler<'invokeTool'> } {
  const { pipeline, heartbeatMs, maxBufferedBytes, probes, now = () => new Date() } = deps;
  // Each kind's probe, made once: every stream of a kind shares it.
  const probeOf = Object.fromEntries(
    Object.entries(STREAMED).map(([type, { kind }]) => [type, probes?.(kind)]),
  ) as Record<StreamType, StreamProbe | undefined>;

  const invokeTool: Handler<'invokeTool'> = async (ctx, input) => {
    ctx.state.transport = 'invoke';
    const media = negotiate(ctx, 'invokeTool');
    // A refusal before any framing is chosen is a JSON problem, so it counts as a JSON invoke.
    const transport = media === false ? 'invoke-json' : TRANSPORTS[media];
    const call = pipeline.prepare(input.path.tool, input.body, { transport, caller: callerOf(ctx).name });
    if (call.status === 'unknown') throw new TaskError('ENOTFOUND', `No tool named ${JSON.stringify(input.path.tool)}`);
    ctx.state.tool = call.tool.name;
    // Before anything streams, so a refusal is a 403 with its step-up challenge.
    requireScopes(callerOf(ctx).scopes, call.tool.scopes);
    if (media === false) {
      throw new TaskError('ENOTACCEPTABLE', `Accept one of ${operations.invokeTool.produces.join(', ')}`);
    }
    if (call.status === 'invalid') {
      const located = (location: string) => (location === 'request' ? 'body' : `body/${location}`);
      throw invalidRequest(call.issues.map((issue) => ({ ...issue, location: located(issue.location) })));
    }
    const { requestId, log } = ctx.state;

    if (media === 'application/json') return { status: 200, body: resultOf(await call.run({ requestId, log })) };

    const { framing } = STREAMED[media];
    const writer = openKoaStream(ctx, framing.contentType, {
      heartbeatMs,
      heartbeat: () => framing.heartbeat(now()),
      maxBufferedBytes,
      log,
      probe: probeOf[media],
    });
    // Koa starts piping the body only once the handler returns, so the call runs in the background.
    void streamToolCall(writer, framing, {
      tool: call.tool.name,
      requestId,
      run: async (progress) => lastEvent(await call.run({ requestId, log, progress }), requestId),
    }).catch((err: unknown) => log.error({ err }, 'invoke stream failed'));
    return HANDLED;
  };

  return { invokeTool };
}

function callerOf(ctx: AppContext): Caller {
  if (!ctx.state.caller) throw new TaskError('EAUTH', 'No caller: the route needs the auth middleware in front');
  return ctx.state.caller;
}
