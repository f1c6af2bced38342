/**
 * Where a measured server child writes its log (the load test's, the benchmark's): in process, so a log line costs
 * the server its serialization and the parent nothing; lines at level error or above are counted and passed on to
 * stderr.
 */
import { Writable } from 'node:stream';

export interface LogSink {
  stream: Writable;
  /** Lines at level error or fatal so far. */
  errors(): number;
}

export function errorCountingSink(): LogSink {
  let errors = 0;
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) {
        if (!/"level":(50|60)/.test(line)) continue;
        errors++;
        console.error(line);
      }
      done();
    },
  });
  return { stream, errors: () => errors };
}
