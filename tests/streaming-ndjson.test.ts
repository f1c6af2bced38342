import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { formatNdjsonLine } from '../src/streaming/ndjson.js';

test('writes one JSON value per LF-terminated line', () => {
  assert.equal(formatNdjsonLine({ type: 'end' }), '{"type":"end"}\n');
});

test('escapes line breaks inside strings, so a value never spans two lines', () => {
  const line = formatNdjsonLine({ message: 'a\nb\rc\u2028d' });
  assert.equal(line.indexOf('\n'), line.length - 1);
  assert.ok(!line.includes('\r'));
  assert.deepEqual(JSON.parse(line), { message: 'a\nb\rc\u2028d' });
});

test('any JSON value is exactly one line that parses back to it', () => {
  fc.assert(
    fc.property(fc.jsonValue(), (value) => {
      const line = formatNdjsonLine(value);
      assert.equal(line.split('\n').length, 2);
      assert.ok(line.endsWith('\n') && !line.includes('\r'));
      assert.deepEqual(JSON.parse(line), JSON.parse(JSON.stringify(value)));
    }),
  );
});

test('rejects values JSON cannot represent', () => {
  assert.throws(() => formatNdjsonLine(undefined), TypeError);
  assert.throws(() => formatNdjsonLine(() => 1), TypeError);
});
