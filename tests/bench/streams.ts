/**
 * Memory per open SSE stream: the server's memory after garbage collection with `count` streams open, minus its
 * memory with none, divided by `count`. The streams are opened from this process; the server is a child process
 * that reports its own memory (tests/helpers/memory-probe.ts).
 */
import { request, type ClientRequest } from 'node:http';
import type { ServerProcess } from '../helpers/server-process.js';
import { within } from '../helpers/within.js';

export interface PerStream {
  heapBytes: number;
  rssBytes: number;
}

/** Opens `count` streams of `path` on `server` and reports what each one costs it. */
export async function memoryPerStream(
  server: ServerProcess,
  path: string,
  headers: Record<string, string>,
  count: number,
): Promise<PerStream> {
  // Warm-up: the first streams load code and grow pools that later ones reuse.
  closeAll(await openStreams(`${server.url}${path}`, headers, 10));
  const before = await server.settled();
  const streams = await openStreams(`${server.url}${path}`, headers, count);
  try {
    const after = await server.settled();
    return {
      heapBytes: Math.round((after.heapUsed - before.heapUsed) / count),
      rssBytes: Math.round((after.rss - before.rss) / count),
    };
  } finally {
    closeAll(streams);
  }
}

/** Ends every stream from the client's side. */
export const closeAll = (streams: ClientRequest[]): void => streams.forEach((stream) => stream.destroy());

/** Told of every chunk after a stream's first (heartbeats, on an idle stream), with the stream's index. */
export type OnChunk = (stream: number) => void;

/**
 * Opens `count` streams, `batch` at a time, each on its own connection; resolves once each sent its first bytes.
 */
export async function openStreams(
  url: string,
  headers: Record<string, string>,
  count: number,
  { batch = 20, onChunk = () => undefined }: { batch?: number; onChunk?: OnChunk } = {},
): Promise<ClientRequest[]> {
  const streams: ClientRequest[] = [];
  try {
    for (let i = 0; i < count; i += batch) {
      const opening = Array.from({ length: Math.min(batch, count - i) }, (_, j) => {
        const onData = () => onChunk(i + j);
        return within(30_000, url, openStream(url, headers, streams, onData));
      });
      await Promise.all(opening);
    }
    return streams;
  } catch (err) {
    closeAll(streams);
    throw err;
  }
}

function openStream(
  url: string,
  headers: Record<string, string>,
  opened: ClientRequest[],
  onChunk: () => void,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers, agent: false });
    opened.push(req);
    req.on('error', reject);
    req.on('response', (res) => {
      if (res.statusCode !== 200) return reject(new Error(`${url}: status ${res.statusCode}`));
      // Read every chunk (heartbeats) so the server never sees a slow reader.
      res.once('data', () => {
        resolve();
        res.on('data', onChunk);
      });
    });
    req.end();
  });
}
