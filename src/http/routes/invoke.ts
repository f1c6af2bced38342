/**
 * `POST /v1/tools/{tool}/invoke`: a direct tool call whose reply follows `Accept`: one JSON body, an SSE stream
 * or NDJSON lines. Everything that can be refused (tool, media type, body) is refused before a byte streams,
 * as a thrown TaskError the error middleware turns into problem+json. A body that is not JSON is refused
 * (415) by the router's body parser before this handler runs.
 */
import type { ChangeService } from '../../changes/types.js';
import type { Contract } from '../../contract/index.js';
import { TaskError, isTaskError } from '../../errors.js';
import { openKoaStream } from '../../streaming/koa-stream.js';
import { ndjsonInvokeFraming, sseInvokeFraming, streamToolCall } from '../../streaming/invoke-stream.js';
import type { InvokeFraming } from '../../streaming/invoke-stream.js';
import { findTool, parseToolInput } from '../../tools/catalog.js';
import type { ToolSpec } from '../../tools/catalog.js';
import { operations } from '../../../generated/operations.gen.js';
import { HANDLED } from '../handler.js';
import { negotiate, type MediaTypeOf } from '../media.js';
import type { AppContext, Handler } from '../handler.js';
import { invalidRequest, toProblem } from '../problem.js';

export interface InvokeRouteDeps {
  service: ChangeService;
  contract: Pick<Contract, 'schema' | 'validator'>;
  heartbeatMs: number;
  /** Unsent bytes past which a slow stream reader is cut off (default 1 MiB). */
  maxBufferedBytes?: number;
  now?: () => Date;
}

const FRAMINGS: Record<Exclude<MediaTypeOf<'invokeTool'>, 'application/json'>, InvokeFraming> = {
  'text/event-stream': sseInvokeFraming,
  'application/x-ndjson': ndjsonInvokeFraming,
};

/** The `invokeTool` handler. */
export function invokeRoutes(deps: InvokeRouteDeps): { invokeTool: Handler<'invokeTool'> } {
  const { service, contract, heartbeatMs, maxBufferedBytes, now = () => new Date() } = deps;

  const invokeTool: Handler<'invokeTool'> = async (ctx, input) => {
    ctx.state.transport = 'invoke';
    const tool = findTool(input.path.tool);
    if (!tool) throw new TaskError('ENOTFOUND', `No tool named ${JSON.stringify(input.path.tool)}`);
    ctx.state.tool = tool.name;
    const media = negotiate(ctx, 'invokeTool');
    if (media === false) {
      throw new TaskError('ENOTACCEPTABLE', `Accept one of ${operations.invokeTool.produces.join(', ')}`);
    }
    const args = checkInput(contract, tool, input.body);
    const callContext = { actor: actorOf(ctx), requestId: ctx.state.requestId };

    if (media === 'application/json') return { status: 200, body: await tool.run(service, args, callContext) };

    const framing = FRAMINGS[media];
    const { requestId, log } = ctx.state;
    const writer = openKoaStream(ctx, framing.contentType, {
      heartbeatMs,
      heartbeat: () => framing.heartbeat(now()),
      maxBufferedBytes,
      log,
    });
    // Koa starts piping the body only once the handler returns, so the call runs in the background.
    void streamToolCall(writer, framing, {
      tool: tool.name,
      requestId,
      run: (progress) => tool.run(service, args, { ...callContext, progress }),
      toProblem(err) {
        // The error middleware never sees a failure after the headers went out; log unknown ones here, once.
        if (!isTaskError(err)) log.error({ err }, 'tool call failed');
        return toProblem(err, requestId);
      },
    }).catch((err: unknown) => log.error({ err }, 'invoke stream failed'));
    return HANDLED;
  };

  return { invokeTool };
}

/** The body as the tool's arguments; throws EBADINPUT listing every issue as `body/…`. */
function checkInput(contract: InvokeRouteDeps['contract'], tool: ToolSpec, body: unknown): unknown {
  const { input, issues } = parseToolInput(contract, tool, body);
  if (issues.length === 0) return input;
  throw invalidRequest(
    issues.map((issue) => ({ ...issue, location: issue.location === 'request' ? 'body' : `body/${issue.location}` })),
  );
}

function actorOf(ctx: AppContext): string {
  if (!ctx.state.caller) throw new TaskError('EAUTH', 'No caller: the route needs the auth middleware in front');
  return ctx.state.caller.name;
}
