import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, get, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { afterEach, describe, mock, test } from 'node:test';
import {
  createStreamWriter,
  openResponseStream,
  type StreamLog,
  type StreamWriter,
  type StreamWriterOptions,
} from '../src/streaming/stream-writer.js';

/** A log that records what it was told. */
function recordingLog(): StreamLog & { lines: Array<{ level: string; obj: object; msg: string }> } {
  const lines: Array<{ level: string; obj: object; msg: string }> = [];
  const at = (level: string) => (obj: object, msg: string) => void lines.push({ level, obj, msg });
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn') };
}

/** A sink that keeps what it is given. */
function collector(): Writable & { text: () => string } {
  const chunks: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(chunk.toString());
      callback();
    },
  });
  return Object.assign(sink, { text: () => chunks.join('') });
}

interface Opened {
  writer: StreamWriter;
  res: ServerResponse;
  /** Listener counts on `res` before the writer was attached. */
  baseline: { close: number; error: number; drain: number };
}

/** A real server on 127.0.0.1 that opens a stream for each request and hands it to the test. */
async function streamServer(
  options: StreamWriterOptions,
): Promise<{ url: string; port: number; server: Server; next: () => Promise<Opened> }> {
  const opened: Opened[] = [];
  const waiters: Array<(o: Opened) => void> = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const baseline = {
      close: res.listenerCount('close'),
      error: res.listenerCount('error'),
      drain: res.listenerCount('drain'),
    };
    const item = { writer: openResponseStream(req, res, 'text/event-stream', options), res, baseline };
    const waiter = waiters.shift();
    if (waiter) waiter(item);
    else opened.push(item);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  servers.push(server);
  return {
    url: `http://127.0.0.1:${port}/`,
    port,
    server,
    next: () => new Promise((resolve) => (opened.length > 0 ? resolve(opened.shift()!) : waiters.push(resolve))),
  };
}

const servers: Server[] = [];
afterEach(() => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    server.close();
  }
});

const request = (url: string): Promise<IncomingMessage> =>
  new Promise((resolve, reject) => get(url, resolve).on('error', reject));

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('openResponseStream over a real socket', () => {
  test('sends stream headers at once, before any frame', async () => {
    const { url, next } = await streamServer({ heartbeatMs: 60_000, heartbeat: () => ': ping\n\n' });
    const res = await request(url);
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['content-type'], 'text/event-stream');
    assert.equal(res.headers['cache-control'], 'no-cache, no-transform');
    assert.equal(res.headers['x-accel-buffering'], 'no');
    assert.equal(res.headers['connection'], 'keep-alive');
    assert.equal(res.headers['content-encoding'], undefined);
    (await next()).writer.close();
    res.resume();
    await once(res, 'end');
  });

  test('delivers frames in order and ends the response on close', async () => {
    const { url, next } = await streamServer({ heartbeatMs: 60_000, heartbeat: () => ': ping\n\n' });
    const res = await request(url);
    const { writer } = await next();
    for (const n of [1, 2, 3]) assert.equal(await writer.write(`data: ${n}\n\n`), true);
    writer.close();
    let body = '';
    for await (const chunk of res) body += chunk;
    assert.equal(body, 'data: 1\n\ndata: 2\n\ndata: 3\n\n');
    assert.equal(await writer.done, 'ended');
  });

  test('sends heartbeats every heartbeatMs while open', { timeout: 5000 }, async () => {
    const { url, next } = await streamServer({ heartbeatMs: 20, heartbeat: () => ': ping\n\n' });
    const res = await request(url);
    let body = '';
    for await (const chunk of res) {
      body += String(chunk);
      if (body === ': ping\n\n'.repeat(3)) break;
    }
    assert.equal(body, ': ping\n\n'.repeat(3));
    (await next()).writer.close();
  });

  test('a client disconnect cleans up once: heartbeat stopped, listeners gone, logged at debug without a stack', async () => {
    const log = recordingLog();
    let beats = 0;
    let closes = 0;
    const { url, next } = await streamServer({
      heartbeatMs: 10,
      heartbeat: () => {
        beats++;
        return ': ping\n\n';
      },
      log,
      onClose: () => closes++,
    });
    const res = await request(url);
    const { writer, res: serverRes, baseline } = await next();
    res.destroy();
    assert.equal(await writer.done, 'client-closed');
    const beatsAtClose = beats;
    await sleep(50);
    assert.equal(beats, beatsAtClose, 'no heartbeat after the client left');
    assert.equal(closes, 1);
    assert.equal(writer.closed, true);
    assert.equal(writer.send('data: late\n\n'), false);
    assert.equal(serverRes.listenerCount('close'), baseline.close);
    assert.equal(serverRes.listenerCount('error'), baseline.error);
    assert.equal(serverRes.listenerCount('drain'), baseline.drain);
    assert.deepEqual(
      log.lines.map((l) => [l.level, l.msg]),
      [['debug', 'stream closed by the client']],
    );
    assert.ok(!JSON.stringify(log.lines).includes('stack'));
  });

  test('a writer waiting for drain resolves false when the client goes away, leaving no drain listener', async () => {
    const { port, next } = await streamServer({ heartbeatMs: 60_000, heartbeat: () => ': ping\n\n' });
    const client = connect(port, '127.0.0.1');
    client.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    client.pause(); // never reads
    const { writer, res, baseline } = await next();
    const frame = `data: ${'x'.repeat(64 * 1024)}\n\n`;
    let waiting: Promise<boolean> | undefined;
    // Fill the socket and kernel buffers until a write has to wait for drain: the response then needs one.
    while (!waiting) {
      const pending = writer.write(frame);
      if (res.writableNeedDrain) waiting = pending;
      else assert.equal(await pending, true);
    }
    assert.equal(res.listenerCount('drain'), baseline.drain + 1);
    client.destroy();
    assert.equal(await waiting, false);
    assert.equal(res.listenerCount('drain'), baseline.drain);
  });

  test('cuts off a reader that never reads once unsent bytes pass the bound; memory stays bounded', async () => {
    const maxBufferedBytes = 256 * 1024;
    const log = recordingLog();
    const { port, next } = await streamServer({
      heartbeatMs: 60_000,
      heartbeat: () => ': ping\n\n',
      maxBufferedBytes,
      log,
    });
    const client = connect(port, '127.0.0.1');
    client.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    client.pause(); // never reads: the kernel buffers fill, then Node's
    client.on('error', () => undefined); // the cut may reach it as ECONNRESET
    const { writer, res } = await next();
    const frame = `data: ${'x'.repeat(16 * 1024)}\n\n`;
    let peak = 0;
    let sent = 0;
    // A producer that never waits for drain (like the feed fanning out), so only the bound can stop it. Yielding
    // between frames lets the socket fill the kernel's buffers first, as a real stalled client would.
    while (writer.send(frame)) {
      sent += frame.length;
      peak = Math.max(peak, res.writableLength);
      assert.ok(sent < 256 * 1024 * 1024, 'the bound never triggered');
      await new Promise(setImmediate);
    }
    assert.equal(await writer.done, 'overflow');
    assert.ok(sent > maxBufferedBytes, 'the kernel took some before Node buffered');
    assert.ok(peak <= maxBufferedBytes, `peak unsent ${peak} > ${maxBufferedBytes}`);
    assert.ok(res.writableLength <= maxBufferedBytes + frame.length);
    // The connection is cut: once the client reads again it finds the end (a paused socket notices nothing).
    client.resume();
    await once(client, 'close');
    assert.equal(log.lines.filter((l) => l.level === 'info' && l.msg === 'slow stream reader cut off').length, 1);
  });
});

describe('createStreamWriter with fake timers', () => {
  afterEach(() => mock.timers.reset());

  test('beats every heartbeatMs, and not once after close; close is idempotent', () => {
    mock.timers.enable({ apis: ['setInterval'] });
    const sink = collector();
    const baseline = { close: sink.listenerCount('close'), error: sink.listenerCount('error') };
    let closes = 0;
    const writer = createStreamWriter(sink, { heartbeatMs: 1000, heartbeat: () => 'hb\n', onClose: () => closes++ });
    mock.timers.tick(999);
    assert.equal(sink.text(), '');
    mock.timers.tick(2001);
    assert.equal(sink.text(), 'hb\nhb\nhb\n');
    writer.close();
    writer.close();
    mock.timers.tick(10_000);
    assert.equal(sink.text(), 'hb\nhb\nhb\n');
    assert.equal(closes, 1);
    assert.equal(sink.listenerCount('close'), baseline.close);
    assert.equal(sink.listenerCount('error'), baseline.error);
  });

  test('reports a non-disconnect failure of the target as an error, with its message only', async () => {
    const sink = collector();
    const log = recordingLog();
    const writer = createStreamWriter(sink, { heartbeatMs: 1000, heartbeat: () => '', log });
    sink.destroy(new Error('disk on fire'));
    assert.equal(await writer.done, 'error');
    assert.deepEqual(log.lines, [
      { level: 'warn', obj: { reason: 'error', err: 'disk on fire' }, msg: 'stream failed' },
    ]);
  });

  test('refuses options it cannot honour', () => {
    assert.throws(() => createStreamWriter(collector(), { heartbeatMs: 0, heartbeat: () => '' }), RangeError);
    assert.throws(
      () => createStreamWriter(collector(), { heartbeatMs: 10, heartbeat: () => '', maxBufferedBytes: -1 }),
      RangeError,
    );
  });
});
