/**
 * Calls a tool through the generated SDK's SSE client and prints each event as it arrives: `start`, `progress`…,
 * then `result` or `error`.
 *
 *   TASK_MCP_URL=https://127.0.0.1:8443 TASK_MCP_TOKEN=… npx tsx examples/invoke-sse.ts [slug] [title]
 *
 * Against a server with a self-signed certificate, trust it with NODE_EXTRA_CA_CERTS=path/to/cert.pem.
 * Exits 0 on a `result`, 1 on an `error` event or a refused call.
 */
import type { ChangeOpenInput, InvokeEvent, InvokeToolErrors, ToolName } from '../generated/types.gen.js';
import { clientFromEnv } from './client-from-env.js';

/** What `text/event-stream` carries for a tool call (heartbeats are comments and carry no data). */
type InvokeSseEvent = Exclude<InvokeEvent, { type: 'heartbeat' | 'end' }>;

async function main(): Promise<number> {
  const slug = process.argv[2] ?? 'try-the-sse-client';
  const body: ChangeOpenInput = { slug, title: process.argv[3] ?? `Try the SSE client (${slug})` };
  const tool: ToolName = 'change.open';

  const client = clientFromEnv();

  let failure: unknown;
  // `invokeTool` in the SDK reads one JSON body; the same operation as SSE goes through `client.sse.post`.
  const { stream } = await client.sse.post<{ 200: InvokeSseEvent }, InvokeToolErrors>({
    url: '/v1/tools/{tool}/invoke',
    path: { tool },
    body,
    headers: { 'Content-Type': 'application/json', Accept: 'text/event-stream' },
    security: [{ scheme: 'bearer', type: 'http' }],
    // The SSE client reconnects after a failure, which for a POST would call the tool again: one attempt only.
    sseMaxRetryAttempts: 1,
    onSseError: (error) => (failure = error),
    // Heartbeat comments reach `onSseEvent` with no data, and never the stream.
    onSseEvent: (event) => {
      if (event.data === undefined) console.log(': heartbeat');
    },
  });

  let outcome: InvokeSseEvent['type'] | undefined;
  for await (const event of stream) {
    console.log(`${event.type} ${JSON.stringify(event)}`);
    if (event.type === 'result' || event.type === 'error') outcome = event.type;
  }
  if (failure !== undefined) {
    // A refusal (401, 400, 409 before the stream started…) arrives here as `SSE failed: <status> <text>`.
    console.error(`The call failed: ${failure instanceof Error ? failure.message : String(failure)}`);
    return 1;
  }
  return outcome === 'result' ? 0 : 1;
}

process.exitCode = await main();
