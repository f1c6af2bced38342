/**
 * Calls a tool as NDJSON through the generated SDK (`invokeTool`, via the typed helper in client/ndjson.ts)
 * and prints each line as it arrives: `start`, `progress`…, `heartbeat`s, `result` or `error`, then `end`.
 *
 *   TASK_MCP_URL=https://127.0.0.1:8443 TASK_MCP_TOKEN=… npx tsx examples/invoke-ndjson.ts [slug] [title]
 *
 * Against a server with a self-signed certificate, trust it with NODE_EXTRA_CA_CERTS=path/to/cert.pem.
 * Exits 0 on a `result`, 1 on an `error` line or a refused call.
 */
import type { ChangeOpenInput } from '../generated/types.gen.js';
import { InvokeRefusedError, invokeToolNdjson } from '../client/ndjson.js';
import { clientFromEnv } from './client-from-env.js';

async function main(): Promise<number> {
  const slug = process.argv[2] ?? 'try-the-ndjson-client';
  const body: ChangeOpenInput = { slug, title: process.argv[3] ?? `Try the NDJSON client (${slug})` };

  const client = clientFromEnv();

  let outcome: 'result' | 'error' | undefined;
  try {
    for await (const line of invokeToolNdjson({ client, path: { tool: 'change.open' }, body })) {
      console.log(`${line.type} ${JSON.stringify(line)}`);
      if (line.type === 'result' || line.type === 'error') outcome = line.type;
    }
  } catch (err) {
    if (!(err instanceof InvokeRefusedError)) throw err;
    console.error(`The call was refused: ${err.status} ${err.problem?.code ?? ''} ${err.problem?.detail ?? ''}`);
    return 1;
  }
  return outcome === 'result' ? 0 : 1;
}

process.exitCode = await main();
