/**
 * The line reader of the NDJSON client helper (client/ndjson.ts) on its own, over byte streams chunked by hand: the
 * framing every streamed reply of the examples goes through.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { readNdjson } from '../client/ndjson.js';

/** A byte stream that delivers `chunks` one by one, and records whether its reader cancelled it. */
function chunked(chunks: Array<string | Uint8Array>): { body: ReadableStream<Uint8Array>; cancelled: () => boolean } {
  let cancelled = false;
  const queue = chunks.map((c) => (typeof c === 'string' ? new TextEncoder().encode(c) : c));
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      const next = queue.shift();
      if (next) controller.enqueue(next);
      else controller.close();
    },
    cancel() {
      cancelled = true;
    },
  });
  return { body, cancelled: () => cancelled };
}

const collect = async <T>(source: AsyncIterable<T>): Promise<T[]> => {
  const items: T[] = [];
  for await (const item of source) items.push(item);
  return items;
};

describe('readNdjson', () => {
  test('yields one value per line, whatever the chunking, across split multi-byte characters', async () => {
    const euro = new TextEncoder().encode('"€"\n'); // the euro sign is three bytes
    const { body } = chunked(['{"a":1}\n{"b"', ':2}\n', euro.slice(0, 2), euro.slice(2), '[3]\n']);
    assert.deepEqual(await collect(readNdjson(body)), [{ a: 1 }, { b: 2 }, '€', [3]]);
  });

  test('skips blank lines and drops a trailing CR', async () => {
    const { body } = chunked(['1\r\n', '\n', '  \n', '2\n']);
    assert.deepEqual(await collect(readNdjson(body)), [1, 2]);
  });

  test('parses a last line without its newline, and throws for one the connection cut short', async () => {
    assert.deepEqual(await collect(readNdjson(chunked(['1\n2']).body)), [1, 2]);
    await assert.rejects(collect(readNdjson(chunked(['{"type":"start"}\n{"type":"res']).body)), SyntaxError);
  });

  test('leaving the loop early cancels the body', async () => {
    const source = chunked(['1\n', '2\n', '3\n']);
    for await (const value of readNdjson(source.body)) if (value === 1) break;
    assert.equal(source.cancelled(), true);
  });
});
