/**
 * NDJSON for users of the generated SDK. The generated fetch client reads an `application/x-ndjson` reply as one
 * buffered blob (it has no line framing), so a streamed tool call would arrive all at once, at its end. These
 * helpers ask for the raw body (`parseAs: 'stream'`) and yield one parsed value per `\n`-terminated line as it
 * arrives.
 *
 * ```ts
 * import { createClient } from '../generated/client/index.js';
 * import { invokeToolNdjson } from '../client/ndjson.js';
 *
 * const client = createClient({ baseUrl, auth: (a) => (a.scheme === 'bearer' ? token : undefined) });
 * for await (const line of invokeToolNdjson({ client, path: { tool: 'change.open' }, body: { title, slug } })) {
 *   if (line.type === 'result') console.log(line.result);
 * }
 * ```
 */
import type { Options } from '../generated/sdk.gen.js';
import { invokeTool } from '../generated/sdk.gen.js';
import type { InvokeEvent, InvokeToolData, InvokeToolError } from '../generated/types.gen.js';

export const NDJSON_MEDIA_TYPE = 'application/x-ndjson';

/** The server refused the call before streaming (bad input, auth, `Accept`…): its status and problem body. */
export class InvokeRefusedError extends Error {
  override readonly name = 'InvokeRefusedError';
  constructor(
    readonly status: number,
    /** The `application/problem+json` body, when the server sent one. */
    readonly problem: InvokeToolError | undefined,
  ) {
    super(`Tool call refused: ${status}${problem?.detail ? ` ${problem.detail}` : problem ? ` ${problem.title}` : ''}`);
  }
}

/**
 * Yields the JSON value of each line of `body` as it arrives. Blank lines are skipped and a trailing `\r` is
 * dropped; a line that is not JSON throws a `SyntaxError`. Leaving the loop early cancels the body, which closes
 * the connection.
 */
export async function* readNdjson<T = unknown>(body: ReadableStream<Uint8Array>): AsyncGenerator<T, void, undefined> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let pending = '';
  let finished = false;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      // `stream: true` holds back a multi-byte character split across chunks until its last byte arrives.
      pending += decoder.decode(value, { stream: true });
      for (let nl = pending.indexOf('\n'); nl !== -1; nl = pending.indexOf('\n')) {
        const line = pending.slice(0, nl).replace(/\r$/, '');
        pending = pending.slice(nl + 1);
        if (line.trim() !== '') yield JSON.parse(line) as T;
      }
    }
    finished = true;
    pending += decoder.decode();
    // Every line ends with `\n`; text after the last one is a line the connection cut short, and fails to parse.
    if (pending.trim() !== '') yield JSON.parse(pending) as T;
  } finally {
    // On an early exit (break, throw) the body is still open: cancelling it releases the connection.
    if (!finished) await reader.cancel().catch(() => undefined);
    reader.releaseLock();
  }
}

/**
 * `invokeTool` with `Accept: application/x-ndjson`, yielding each line as it arrives: `start`, `progress`…,
 * `heartbeat`s, then `result` or `error`, then `end`. Takes the SDK function's options (pass `client` for a
 * client of your own). Throws an {@link InvokeRefusedError} when the server refuses the call before streaming,
 * and rethrows a network failure as is.
 */
export async function* invokeToolNdjson(
  options: Options<InvokeToolData, false>,
): AsyncGenerator<InvokeEvent, void, undefined> {
  const { response, error } = await invokeTool({
    ...options,
    headers: { ...(options.headers as Record<string, string> | undefined), Accept: NDJSON_MEDIA_TYPE },
    parseAs: 'stream',
  });
  // A failed fetch leaves no response (the SDK's types say otherwise): `error` is then the network error.
  if (!(response as Response | undefined)) throw error;
  if (!response.ok) throw new InvokeRefusedError(response.status, error);
  if (!response.body) throw new TypeError('The NDJSON reply has no body');
  yield* readNdjson<InvokeEvent>(response.body);
}
