/**
 * Follows the change feed (`GET /v1/events`) through the generated SDK's `getEvents` and prints each event as it
 * arrives. The SDK's SSE client reconnects after a dropped connection and sends the last `id:` it saw as
 * `Last-Event-ID`, so the server replays what it missed (or sends one `reset`).
 *
 *   TASK_MCP_URL=https://127.0.0.1:8443 TASK_MCP_TOKEN=… npx tsx examples/events-feed.ts [max-events]
 *
 * Against a server with a self-signed certificate, trust it with NODE_EXTRA_CA_CERTS=path/to/cert.pem.
 * Runs until Ctrl-C (or SIGTERM), or until it has printed `max-events` events; then exits 0. Exits 1 when the
 * server refuses the stream (a bad token, say).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { ServerSentEventsOptions } from '../generated/core/serverSentEvents.gen.js';
import { getEvents } from '../generated/sdk.gen.js';
import { clientFromEnv } from './client-from-env.js';

function maxEventsArg(): number {
  const maxEvents = process.argv[2] === undefined ? Infinity : Number(process.argv[2]);
  if (!Number.isInteger(maxEvents) && maxEvents !== Infinity) {
    console.error(`max-events must be a whole number, got ${process.argv[2]}`);
    process.exit(2);
  }
  return maxEvents;
}

async function main(): Promise<number> {
  const client = clientFromEnv();
  const maxEvents = maxEventsArg();

  const stop = new AbortController();
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => stop.abort());
  let refused: string | undefined;
  let frames = 0;

  // The generated SSE client waits (with backoff) before reconnecting; cut that wait short when we stop. It reads
  // `sseSleepFn` from the options it is given, though the SDK's option type leaves it out.
  const cancellableSleep: { sseSleepFn: ServerSentEventsOptions['sseSleepFn'] } = {
    sseSleepFn: (ms) => sleep(ms, undefined, { signal: stop.signal }).catch(() => undefined),
  };
  const { stream } = await getEvents({
    ...(cancellableSleep as object),
    client,
    signal: stop.signal,
    onSseEvent: (event) => {
      // Frames without data are the opening `retry:` and the `: ping` heartbeats; they never reach the stream.
      if (event.data === undefined) console.log(frames === 0 ? `: connected (retry ${event.retry} ms)` : ': heartbeat');
      frames++;
    },
    onSseError: (error) => {
      const message = error instanceof Error ? error.message : String(error);
      console.error(`stream error: ${message}`);
      // A refusal will not heal by retrying; anything else (a dropped connection) is retried with backoff.
      if (/^SSE failed: 4\d\d/.test(message)) {
        refused = message;
        stop.abort();
      }
    },
  });

  let count = 0;
  for await (const event of stream) {
    console.log(`${event.type} ${JSON.stringify(event)}`);
    if (++count >= maxEvents) stop.abort();
  }
  return refused === undefined ? 0 : 1;
}

process.exitCode = await main();
