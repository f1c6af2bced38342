/**
 * The real server as `npm start` runs it (`src/main.ts`, through tsx), in a child process a test can SIGKILL: plain
 * HTTP on a free port of 127.0.0.1, alice's and bob's tokens, a given repository. Preloads (`--import`) go before
 * the entry point; a child still running when this process exits is killed.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readdir, readlink } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { TOKENS } from './server.js';
import { within } from './within.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface MainProcess {
  url: string;
  pid: number;
  /** The JSON log lines so far. */
  logs(): Array<Record<string, unknown>>;
  /** Resolves with the signal (or exit code) once the process has exited. */
  exited: Promise<NodeJS.Signals | number | null>;
  /** SIGKILL, then waits for the exit. */
  kill(): Promise<void>;
  /** SIGTERM, then waits for the exit. */
  stop(): Promise<void>;
}

export interface MainOptions {
  repoRoot: string;
  env?: Record<string, string>;
  /** Modules for `--import`, loaded after tsx. */
  preload?: string[];
}

/** Starts the server and resolves once it logged `listening`. */
export async function startMain({ repoRoot, env = {}, preload = [] }: MainOptions): Promise<MainProcess> {
  const args = ['--import', 'tsx', ...preload.flatMap((file) => ['--import', file]), 'src/main.ts'];
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env: {
      ...process.env,
      HOST: '127.0.0.1',
      PORT: '0',
      TLS: 'off',
      TASK_MCP_TOKENS: `alice:${TOKENS.alice},bob:${TOKENS.bob}`,
      REPO_ROOT: repoRoot,
      LOG_LEVEL: 'info',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const kill = (): void => void child.kill('SIGKILL');
  process.once('exit', kill);
  const exited = once(child, 'exit').then(([code, signal]) => {
    process.off('exit', kill);
    return (signal ?? code) as NodeJS.Signals | number | null;
  });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => void (stderr += chunk.toString()));
  const records: Array<Record<string, unknown>> = [];
  const listening = new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (!line.startsWith('{')) return; // not a log record
      const record = JSON.parse(line) as Record<string, unknown>;
      records.push(record);
      if (record.msg === 'listening') resolve(String(record.url));
    });
    void exited.then((how) => reject(new Error(`the server exited (${String(how)}) before listening:\n${stderr}`)));
  });
  const url = await within(30_000, 'the server to listen', listening).catch(async (err: unknown) => {
    child.kill('SIGKILL');
    await exited;
    throw err;
  });
  const signal = async (name: NodeJS.Signals): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill(name);
    await within(30_000, `the server to exit on ${name}`, exited);
  };
  return {
    url,
    pid: child.pid!,
    logs: () => records,
    exited,
    kill: () => signal('SIGKILL'),
    stop: () => signal('SIGTERM'),
  };
}

/** `fetch` of a tool call with alice's token. */
export const invoke = (
  server: Pick<MainProcess, 'url'>,
  tool: string,
  body: unknown,
  accept = 'application/json',
): Promise<Response> =>
  fetch(`${server.url}/v1/tools/${tool}/invoke`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${TOKENS.alice}`, 'Content-Type': 'application/json', Accept: accept },
    body: JSON.stringify(body),
  });

/** Calls `tool` with `Accept: application/x-ndjson`, passing each event to `onEvent`, until the stream ends or breaks. */
export async function streamInvoke(
  server: Pick<MainProcess, 'url'>,
  tool: string,
  body: unknown,
  onEvent: (event: { type: string; step?: string }) => void,
): Promise<void> {
  const res = await invoke(server, tool, body, 'application/x-ndjson').catch(() => undefined);
  if (!res?.body) return;
  const reader = res.body.getReader();
  let buffered = '';
  try {
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
      buffered += Buffer.from(chunk.value).toString();
      for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
        onEvent(JSON.parse(buffered.slice(0, nl)) as { type: string; step?: string });
        buffered = buffered.slice(nl + 1);
      }
    }
  } catch {
    // the server died mid-stream: what the callers of this helper do to it
  }
}

/** Resolves once no process has its working folder in `root` (an OpenSpec CLI that outlived its server would). */
export async function untilNoProcessIn(root: string): Promise<void> {
  for (;;) {
    const pids = (await readdir('/proc')).filter((name) => /^\d+$/.test(name));
    const cwds = await Promise.all(pids.map((pid) => readlink(`/proc/${pid}/cwd`).catch(() => '')));
    if (!cwds.includes(root)) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
