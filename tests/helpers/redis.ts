/**
 * A real `redis-server` for a test: started on a free port of 127.0.0.1, with no persistence in a temp directory
 * (or with an append-only file in a directory the test keeps), and stopped or killed by its PID. Needs the Debian
 * package `redis-server`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from './free-port.js';

export interface TestRedis {
  url: string;
  port: number;
  /** Stops the server (SIGTERM to its PID) and waits for it to exit. Safe to call twice. */
  stop(): Promise<void>;
  /** Kills the server (SIGKILL to its PID: no goodbye to its clients) and waits for it to exit. */
  kill(): Promise<void>;
  /** Freezes the server (SIGSTOP): its connections stay open and nothing answers, as with a host lost. */
  freeze(): void;
  /** Lets a frozen server go on (SIGCONT). */
  thaw(): void;
}

export interface RedisOptions {
  /**
   * Keep the data here, written to the append-only file before each reply, so a server started again on this
   * directory (after a kill too) has it all. Default: a temp directory, no persistence, removed on stop.
   */
  persistIn?: string;
}

/** Resolves once the server answers PING. */
async function answersPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.setTimeout(500);
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (data) => (socket.destroy(), resolve(data.toString().startsWith('+PONG'))));
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => (socket.destroy(), resolve(false)));
  });
}

/** Starts `redis-server` on `port` (a free one by default), resolved once it answers PING. */
export async function startRedis(port?: number, { persistIn }: RedisOptions = {}): Promise<TestRedis> {
  const chosen = port ?? (await freePort());
  const dir = persistIn ?? (await mkdtemp(path.join(tmpdir(), 'task-mcp-redis-')));
  const persistence = persistIn ? ['--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no'];
  const args = ['--port', String(chosen), '--bind', '127.0.0.1', '--save', '', ...persistence];
  const child: ChildProcess = spawn('redis-server', [...args, '--daemonize', 'no', '--dir', dir], { stdio: 'ignore' });
  let failure: Error | undefined;
  // `once` rejects on `error` (no redis-server installed): remember it, and say so below.
  const exited = once(child, 'exit').catch((err: Error) => void (failure = err));
  for (let i = 0; !(await answersPing(chosen)); i++) {
    if (failure || child.exitCode !== null || i > 100) {
      throw new Error(`redis-server did not start on port ${chosen} (apt-get install -y redis-server)`, {
        cause: failure,
      });
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  let stopped: Promise<void> | undefined;
  const end = (signal: NodeJS.Signals): Promise<void> =>
    (stopped ??= (async () => {
      if (child.exitCode === null && child.pid !== undefined) process.kill(child.pid, signal);
      await exited;
      if (!persistIn) await rm(dir, { recursive: true, force: true });
    })());
  return {
    url: `redis://127.0.0.1:${chosen}`,
    port: chosen,
    stop: () => end('SIGTERM'),
    kill: () => end('SIGKILL'),
    freeze: () => void process.kill(child.pid!, 'SIGSTOP'),
    thaw: () => void process.kill(child.pid!, 'SIGCONT'),
  };
}

/** Whether Redis stream entry ids (`<ms>-<seq>`) are in the stream's order, each after the one before. */
export function inStreamOrder(ids: readonly string[]): boolean {
  const position = (id: string): [number, number] => id.split('-').map(Number) as [number, number];
  return ids.every((id, i) => {
    if (i === 0) return true;
    const [ms, seq] = position(id);
    const [prevMs, prevSeq] = position(ids[i - 1]!);
    return ms > prevMs || (ms === prevMs && seq > prevSeq);
  });
}
