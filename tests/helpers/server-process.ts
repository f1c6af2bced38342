/**
 * The parent's side of a server child process: `src/main.ts` itself (for real signals), or a probe script such as
 * tests/helpers/memory-probe.ts (for the load test and the bench). Spawns it, waits for the first line with a
 * `url` (a probe's `{ url }`, or main's `listening` log line), keeps every JSON line it prints, and can signal and
 * stop it. A child still running when this process exits is killed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { MemorySample } from './memory-probe.js';
import { within } from './within.js';

/**
 * How long src/main.ts with WORKERS may take to print its URL, and its workers to listen: each of its processes
 * spends about 1 s of CPU loading the server through tsx, which is 20–25 s for the primary alone (45 s until both
 * workers listen) when the 2 cores run at a load average of 25.
 */
export const CLUSTER_START_MS = 60_000;

/** One JSON line of the child's stdout (a log record, a memory sample). */
export type Line = Record<string, unknown>;

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface ServerProcess {
  url: string;
  pid: number;
  /** Garbage collection in the child, then its memory (probe scripts only). */
  sample(): Promise<MemorySample>;
  /** A sample once closed connections are gone: the handle count holds still across samples 100 ms apart. */
  settled(): Promise<MemorySample>;
  /** SIGTERM, then SIGKILL if it has not exited within 5 s. */
  stop(): Promise<void>;
  /** Sends `signal` (false once the process is gone). */
  signal(signal: NodeJS.Signals): boolean;
  /** Every line printed so far. */
  lines(): Line[];
  /** The first line from index `from` on that `matches`, waiting up to `ms` for it; fails early on exit. */
  line(matches: (line: Line) => boolean, what: string, options?: { from?: number; ms?: number }): Promise<Line>;
  /** Settles once the process has exited and its output has been read. */
  readonly exited: Promise<Exit>;
  /** Its stderr so far, when started with `stderr: 'capture'`. */
  stderr(): string;
}

export interface ServerProcessOptions {
  args?: string[];
  env: Record<string, string>;
  /** `inherit` (default): the child writes to this process's stderr; `capture`: kept for `stderr()`. */
  stderr?: 'inherit' | 'capture';
  /** How long it may take to print its URL; default 15 s. */
  startMs?: number;
}

/** Runs `script` (TypeScript, through tsx) with `--expose-gc` and resolves once it printed its URL. */
export async function startServerProcess(
  script: string,
  { args = [], env, stderr = 'inherit', startMs }: ServerProcessOptions,
): Promise<ServerProcess> {
  const child = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', script, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', stderr === 'capture' ? 'pipe' : 'inherit'],
  });
  const kill = (): void => void child.kill('SIGKILL');
  process.once('exit', kill);
  // `close`, not `exit`: it comes once stdout is drained too, so every line printed is read by then.
  const exited = new Promise<Exit>((resolve) =>
    child.once('close', (code, signal) => {
      process.off('exit', kill);
      resolve({ code, signal });
    }),
  );
  let errText = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (errText += chunk));
  const output = collectLines(child, exited, script);
  try {
    const printed = (line: Line): boolean => typeof line.url === 'string';
    const { url } = await output.line(printed, `${script} printing its url`, { ms: startMs });
    return serverProcess(child, url as string, output, exited, () => errText);
  } catch (err) {
    await stopChild(child, exited);
    throw err;
  }
}

interface Output {
  lines: Line[];
  line: ServerProcess['line'];
}

/** Parses the child's stdout line by line (non-JSON lines are kept as `{ text }`) and serves waits on them. */
function collectLines(child: ChildProcess, exited: Promise<Exit>, script: string): Output {
  const lines: Line[] = [];
  const waiters = new Set<() => void>();
  createInterface({ input: child.stdout! }).on('line', (text) => {
    let line: Line;
    try {
      line = JSON.parse(text) as Line;
    } catch {
      line = { text };
    }
    lines.push(line);
    for (const wake of waiters) wake();
  });
  const line: ServerProcess['line'] = async (matches, what, { from = 0, ms = 15_000 } = {}) => {
    let wake!: () => void;
    try {
      const found = new Promise<Line>((resolve) => {
        wake = () => {
          const hit = lines.slice(from).find(matches);
          if (hit) resolve(hit);
        };
        waiters.add(wake);
        wake();
      });
      const died = exited.then((exit) => {
        const hit = lines.slice(from).find(matches);
        if (hit) return hit;
        throw new Error(`${script} exited (${exit.code ?? exit.signal}) before ${what}`);
      });
      return await within(ms, what, Promise.race([found, died]));
    } finally {
      waiters.delete(wake);
    }
  };
  return { lines, line };
}

function serverProcess(
  child: ChildProcess,
  url: string,
  output: Output,
  exited: Promise<Exit>,
  stderr: () => string,
): ServerProcess {
  const sample = async (): Promise<MemorySample> => {
    const from = output.lines.length;
    child.kill('SIGUSR2');
    return (await output.line((line) => 'rss' in line, 'a memory sample', { from })) as unknown as MemorySample;
  };
  return {
    url,
    pid: child.pid!,
    sample,
    async settled() {
      let previous = await sample();
      for (let i = 0; i < 50; i++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        const next = await sample();
        if (next.handles === previous.handles) return next;
        previous = next;
      }
      return previous;
    },
    stop: () => stopChild(child, exited),
    signal: (signal) => child.exitCode === null && child.signalCode === null && child.kill(signal),
    lines: () => [...output.lines],
    line: output.line,
    exited,
    stderr,
  };
}

async function stopChild(child: ChildProcess, exited: Promise<Exit>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  try {
    await within(5000, 'stop', exited);
  } catch {
    child.kill('SIGKILL');
    await exited;
  }
}
