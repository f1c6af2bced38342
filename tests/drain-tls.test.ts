/**
 * A drain ends every open stream cleanly over HTTPS: the real process (`src/main.ts`) on real TLS, SIGTERM, and
 * undici reading `/v1/events` and `/sse` to their end. The client must see each body end (the final empty chunk),
 * not a connection cut after the last event ("terminated"), as it does over plain HTTP.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { Agent, fetch as undiciFetch } from 'undici';
import { createTempRepo, type TempRepo } from './helpers/repo.js';
import { TOKENS } from './helpers/server.js';
import { startServerProcess, type ServerProcess } from './helpers/server-process.js';
import { testCertificate } from './helpers/tls.js';
import { within } from './helpers/within.js';

const MAIN = new URL('../src/main.ts', import.meta.url).pathname;
/** Streams of each kind held open through the drain. */
const EACH = 3;

interface Read {
  text: string;
  /** How the body ended: `end`, or the error undici reported. */
  ending: string;
}

/** Opens `path` on its own connection and reads it to its end, however it ends. */
async function follow(url: string, path: string, ca: string): Promise<{ read: Promise<Read> }> {
  const dispatcher = new Agent({ connect: { ca } });
  const res = await undiciFetch(url + path, {
    headers: { Authorization: `Bearer ${TOKENS.alice}`, Accept: 'text/event-stream' },
    dispatcher,
  });
  assert.equal(res.status, 200);
  const read = (async (): Promise<Read> => {
    const decoder = new TextDecoder();
    let text = '';
    try {
      for await (const chunk of res.body!) text += decoder.decode(chunk, { stream: true });
      return { text, ending: 'end' };
    } catch (err) {
      return { text, ending: (err as Error).message };
    } finally {
      await dispatcher.close();
    }
  })();
  return { read };
}

describe('the drain over HTTPS', () => {
  const started: Array<{ proc: ServerProcess; repo: TempRepo }> = [];
  after(async () => {
    for (const { proc, repo } of started.splice(0)) {
      await proc.stop();
      await repo.remove();
    }
  });

  for (const tls of [true, false]) {
    it(`ends every /v1/events and /sse stream with its last event and a clean end (${tls ? 'TLS' : 'plain HTTP'})`, async () => {
      const cert = await testCertificate();
      const repo = await createTempRepo();
      const proc = await startServerProcess(MAIN, {
        env: {
          HOST: '127.0.0.1',
          PORT: '0',
          REPO_ROOT: repo.root,
          TASK_MCP_TOKENS: `alice:${TOKENS.alice}`,
          LOG_LEVEL: 'info',
          ...(tls ? { TLS_CERT: cert.certPath, TLS_KEY: cert.keyPath } : { TLS: 'off' }),
        },
        stderr: 'capture',
      });
      started.push({ proc, repo });
      const events = await Promise.all(Array.from({ length: EACH }, () => follow(proc.url, '/v1/events', cert.cert)));
      const sessions = await Promise.all(Array.from({ length: EACH }, () => follow(proc.url, '/sse', cert.cert)));
      proc.signal('SIGTERM');
      assert.deepEqual(await within(15_000, 'the drain', proc.exited), { code: 0, signal: null });

      for (const { read } of events) {
        assert.deepEqual(await read, { text: 'retry: 3000\n\n: server shutting down\n\n', ending: 'end' });
      }
      for (const { read } of sessions) {
        const { text, ending } = await read;
        assert.match(text, /^event: endpoint\n/);
        assert.ok(text.endsWith('event: shutdown\ndata: {"reason":"server shutting down"}\n\n'), text);
        assert.equal(ending, 'end');
      }
    });
  }
});
