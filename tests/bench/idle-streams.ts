/**
 * Many idle event streams on one process: the server's RSS once they are all open (after garbage collection), and
 * how late their heartbeats arrive (the gap between two heartbeats of one stream, less the heartbeat interval),
 * p50 and p99 over every gap seen in a window of a few heartbeats. The streams are opened and read from this
 * process, so its own lag weighs on the server and the baseline alike.
 */
import type { ServerProcess } from '../helpers/server-process.js';
import { closeAll, openStreams } from './streams.js';

export interface IdleStreams {
  rssBytes: number;
  lagP50Ms: number;
  lagP99Ms: number;
}

/** Holds `count` streams of `path` on `server` for `windowMs` and reports its RSS and the heartbeats' lag. */
export async function idleStreams(
  server: ServerProcess,
  path: string,
  headers: Record<string, string>,
  { count, heartbeatMs, windowMs }: { count: number; heartbeatMs: number; windowMs: number },
): Promise<IdleStreams> {
  const last = new Float64Array(count);
  const lags: number[] = [];
  let measuring = false;
  const onChunk = (stream: number): void => {
    const now = performance.now();
    if (measuring && last[stream]! > 0) lags.push(Math.max(0, now - last[stream]! - heartbeatMs));
    last[stream] = now;
  };
  const streams = await openStreams(`${server.url}${path}`, headers, count, { batch: 100, onChunk });
  try {
    const { rss } = await server.settled();
    last.fill(0); // gaps are counted from the first heartbeat of the window on
    measuring = true;
    await new Promise((resolve) => setTimeout(resolve, windowMs));
    measuring = false;
    if (lags.length === 0) throw new Error(`no heartbeat in ${windowMs} ms on ${count} streams`);
    const sorted = Float64Array.from(lags).sort();
    const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))]!;
    return { rssBytes: rss, lagP50Ms: at(0.5), lagP99Ms: at(0.99) };
  } finally {
    closeAll(streams);
  }
}
