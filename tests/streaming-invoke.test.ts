import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { afterEach, describe, mock, test } from 'node:test';
import {
  ndjsonInvokeFraming,
  sseInvokeFraming,
  streamToolCall,
  type InvokeFraming,
  type StreamedCall,
} from '../src/http/invoke-stream.js';
import { createStreamWriter } from '../src/streaming/stream-writer.js';
import type { ProgressFn } from '../src/tools/pipeline.js';
import type { InvokeError, InvokeResult, Problem, ToolResult } from '../generated/types.gen.js';

const RESULT = {
  archived: true,
  alreadyArchived: true,
  archivedAs: '2026-11-24-add-x',
  receiptUri: 'change://add-x/receipt',
};
const PROBLEM: Problem = { type: 'about:blank', title: 'Locked', status: 409, code: 'ELOCKED', requestId: 'req-1' };

/** A writer over an in-memory sink, and what reached the sink. */
function memoryStream(framing: InvokeFraming) {
  const chunks: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(chunk.toString());
      callback();
    },
  });
  const writer = createStreamWriter(sink, { heartbeatMs: 1000, heartbeat: () => framing.heartbeat(new Date(0)) });
  return { writer, text: () => chunks.join('') };
}

/** A call that reports two steps, then settles as `outcome` says. */
function call(outcome: 'ok' | 'fail', gate: Promise<void> = Promise.resolve()): StreamedCall & { finished: boolean } {
  const state = {
    tool: 'change.archive' as const,
    requestId: 'req-1',
    finished: false,
    async run(progress: ProgressFn): Promise<InvokeResult | InvokeError> {
      progress('validate', 1, 2);
      await gate;
      progress('archive', 2, 2, 'moved');
      state.finished = true;
      if (outcome === 'fail') return { type: 'error', error: PROBLEM };
      return { type: 'result', result: RESULT as unknown as ToolResult };
    },
  };
  return state;
}

const ndjson = (text: string) =>
  text
    .trimEnd()
    .split('\n')
    .map((line) => JSON.parse(line) as { type: string });

describe('streamToolCall over SSE', () => {
  test('sends start, one progress per step, then result, each with its sequence id', async () => {
    const { writer, text } = memoryStream(sseInvokeFraming);
    await streamToolCall(writer, sseInvokeFraming, call('ok'));
    const start = JSON.stringify({ type: 'start', tool: 'change.archive', requestId: 'req-1' });
    const validate = JSON.stringify({ type: 'progress', step: 'validate', progress: 1, total: 2 });
    const archive = JSON.stringify({ type: 'progress', step: 'archive', progress: 2, total: 2, message: 'moved' });
    assert.equal(
      text(),
      `event: start\nid: 1\ndata: ${start}\n\n` +
        `event: progress\nid: 2\ndata: ${validate}\n\n` +
        `event: progress\nid: 3\ndata: ${archive}\n\n` +
        `event: result\nid: 4\ndata: ${JSON.stringify({ type: 'result', result: RESULT })}\n\n`,
    );
    assert.equal(await writer.done, 'ended');
  });

  test('ends with an error event holding the problem when the call fails', async () => {
    const { writer, text } = memoryStream(sseInvokeFraming);
    await streamToolCall(writer, sseInvokeFraming, call('fail'));
    assert.match(
      text(),
      new RegExp(`event: error\nid: 4\ndata: ${JSON.stringify({ type: 'error', error: PROBLEM })}\n\n$`),
    );
  });
});

describe('streamToolCall over NDJSON', () => {
  afterEach(() => mock.timers.reset());

  test('writes one event a line and ends with end', async () => {
    const { writer, text } = memoryStream(ndjsonInvokeFraming);
    await streamToolCall(writer, ndjsonInvokeFraming, call('ok'));
    assert.deepEqual(
      ndjson(text()).map((e) => e.type),
      ['start', 'progress', 'progress', 'result', 'end'],
    );
  });

  test('after an error still ends with end', async () => {
    const { writer, text } = memoryStream(ndjsonInvokeFraming);
    await streamToolCall(writer, ndjsonInvokeFraming, call('fail'));
    assert.deepEqual(ndjson(text()).slice(-2), [{ type: 'error', error: PROBLEM }, { type: 'end' }]);
  });

  test('sends heartbeat lines while the call runs, and none after it ends', async () => {
    mock.timers.enable({ apis: ['setInterval'] });
    const { writer, text } = memoryStream(ndjsonInvokeFraming);
    let release!: () => void;
    const running = streamToolCall(writer, ndjsonInvokeFraming, call('ok', new Promise((r) => (release = r))));
    mock.timers.tick(2500);
    release();
    await running;
    mock.timers.tick(5000);
    const types = ndjson(text()).map((e) => e.type);
    assert.deepEqual(types, ['start', 'progress', 'heartbeat', 'heartbeat', 'progress', 'result', 'end']);
    assert.deepEqual(ndjson(text())[2], { type: 'heartbeat', at: '1970-01-01T00:00:00.000Z' });
  });
});

test('a call whose client left still runs to the end; its frames are dropped', async () => {
  const { writer, text } = memoryStream(ndjsonInvokeFraming);
  let release!: () => void;
  const tool = call('ok', new Promise((r) => (release = r)));
  const running = streamToolCall(writer, ndjsonInvokeFraming, tool);
  writer.close(); // what a disconnect does to the writer
  const before = text();
  release();
  await running;
  assert.equal(tool.finished, true);
  assert.equal(text(), before);
});
