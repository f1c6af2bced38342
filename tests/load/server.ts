/**
 * The server under load, in its own process so its memory and handles can be measured alone (the load test and
 * `npm run bench` both run it). Run with `node --expose-gc --import tsx tests/load/server.ts`; the environment is
 * the server's configuration (REPO_ROOT, TLS_CERT…). Prints one JSON line `{ url }` once listening; on SIGUSR2
 * collects garbage and prints `{ rss, heapUsed, external, handles, errors }` (handles: ref'd resources; errors:
 * log lines at level error or above); stops on SIGTERM.
 */
import type * as Compose from '../../src/compose.js';
import { errorCountingSink } from '../helpers/log-sink.js';
import { printLine, reportMemoryOnSignal } from '../helpers/memory-probe.js';

// TASK_MCP_BUILT=1 runs the built server (dist/, as deployed: `npm run bench` builds it first), else the sources.
const entry = process.env.TASK_MCP_BUILT === '1' ? '../../dist/src/compose.js' : '../../src/compose.js';
const { startTaskMcp } = (await import(entry)) as typeof Compose;

const log = errorCountingSink();
reportMemoryOnSignal(() => ({ errors: log.errors() }));

const server = await startTaskMcp(process.env, { logDestination: log.stream });
printLine({ url: server.url });
process.once('SIGTERM', () => void server.stop(2000).then(() => process.exit(0)));
