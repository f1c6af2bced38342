/**
 * The parent's side of a server child process (tests/helpers/memory-probe.ts), for the load test and the bench:
 * spawn it, read its `{ url }`, ask it for memory samples, stop it. A child still running when this process exits
 * is killed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import type { MemorySample } from './memory-probe.js';
import { within } from './within.js';

export interface ServerProcess {
  url: string;
  /** Garbage collection in the child, then its memory. */
  sample(): Promise<MemorySample>;
  /** A sample once closed connections are gone: the handle count holds still across samples 100 ms apart. */
  settled(): Promise<MemorySample>;
  /** SIGTERM, then SIGKILL if it has not exited within 5 s. */
  stop(): Promise<void>;
}

export interface ServerProcessOptions {
  args?: string[];
  env: Record<string, string>;
}

/** Runs `script` (TypeScript, through tsx) with `--expose-gc` and resolves once it printed its URL. */
export async function startServerProcess(
  script: string,
  { args = [], env }: ServerProcessOptions,
): Promise<ServerProcess> {
  const child = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', script, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const kill = (): void => void child.kill('SIGKILL');
  process.once('exit', kill);
  child.once('exit', () => process.off('exit', kill));
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  const nextLine = async (): Promise<Record<string, unknown>> => {
    const { value, done } = await within(15_000, script, lines.next());
    if (done) throw new Error(`${script} exited (${child.exitCode ?? child.signalCode})`);
    return JSON.parse(value as string) as Record<string, unknown>;
  };
  try {
    const { url } = await nextLine();
    if (typeof url !== 'string') throw new Error(`${script} printed no url`);
    return serverProcess(child, url, nextLine);
  } catch (err) {
    await stopChild(child);
    throw err;
  }
}

function serverProcess(
  child: ChildProcess,
  url: string,
  nextLine: () => Promise<Record<string, unknown>>,
): ServerProcess {
  const sample = async (): Promise<MemorySample> => {
    child.kill('SIGUSR2');
    return (await nextLine()) as unknown as MemorySample;
  };
  return {
    url,
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
    stop: () => stopChild(child),
  };
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  try {
    await within(5000, 'stop', exited);
  } catch {
    child.kill('SIGKILL');
    await exited;
  }
}
