/**
 * Start-up time: from spawning a server process to its "listening on" line on stderr, the median of several runs.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { within } from '../helpers/within.js';

const LISTENING = /listening on /;

/** Median milliseconds from spawn to "listening on" over `runs` runs of `node ...args`; each is stopped after. */
export async function startupMs(args: string[], env: Record<string, string>, runs: number): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) times.push(await startOnce(args, env));
  return times.sort((a, b) => a - b)[Math.floor(runs / 2)]!;
}

async function startOnce(args: string[], env: Record<string, string>): Promise<number> {
  const started = performance.now();
  const child = spawn(process.execPath, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  const exited = once(child, 'exit');
  const kill = (): void => void child.kill('SIGKILL');
  process.once('exit', kill);
  let stderr = '';
  try {
    return await within(
      20_000,
      `node ${args.join(' ')}`,
      new Promise<number>((resolve, reject) => {
        child.stderr.on('data', (chunk: Buffer) => {
          stderr += chunk.toString();
          if (LISTENING.test(stderr)) resolve(performance.now() - started);
        });
        child.once('exit', (code) => reject(new Error(`exited ${code} before listening: ${stderr}`)));
      }),
    );
  } finally {
    child.kill('SIGTERM');
    await within(5000, 'stop', exited).catch(() => child.kill('SIGKILL'));
    process.off('exit', kill);
  }
}
