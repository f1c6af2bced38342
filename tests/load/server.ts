/**
 * The server under load, in its own process so its memory and handles can be measured alone. Run with
 * `node --expose-gc --import tsx tests/load/server.ts`; the environment is the server's configuration
 * (REPO_ROOT, TLS_CERT…). Prints one JSON line `{ url }` once listening; on SIGUSR2 collects garbage and prints
 * `{ rss, heapUsed, handles, errors }` (handles: ref'd resources; errors: log lines at level error or above);
 * stops on SIGTERM.
 */
import { Writable } from 'node:stream';
import { startTaskMcp } from '../../src/compose.js';

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc');

let errors = 0;
const logSink = new Writable({
  write(chunk: Buffer, _encoding, done) {
    for (const line of chunk.toString().split('\n')) {
      if (!/"level":(50|60)/.test(line)) continue;
      errors++;
      console.error(line);
    }
    done();
  },
});

const server = await startTaskMcp(process.env, { logDestination: logSink });
const print = (value: object) => process.stdout.write(`${JSON.stringify(value)}\n`);
print({ url: server.url });

process.on('SIGUSR2', () => {
  // Twice: the first pass can leave objects that only a second one frees (finalizers, weak references).
  gc();
  gc();
  const { rss, heapUsed } = process.memoryUsage();
  print({ rss, heapUsed, handles: process.getActiveResourcesInfo().length, errors });
});
process.once('SIGTERM', () => void server.stop(2000).then(() => process.exit(0)));
