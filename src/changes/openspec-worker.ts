/**
 * One warm OpenSpec process that runs CLI commands one after another: a Node start and OpenSpec's module load cost
 * ~0.5 s, the commands themselves tens of milliseconds. The process loads OpenSpec once and runs each command
 * through OpenSpec's own CLI program (commander's `parseAsync`, which may be called again and again), in the
 * folder the command names, with its stdout, stderr, exit code and `process.exit` caught for that command alone.
 *
 * What kept each one-shot CLI from writing unseen still holds for the warm one:
 * - it never outlives the server: its stdin is a pipe from the server, and when that ends (the server exited or
 *   was SIGKILLed) it exits at once, even mid-command;
 * - it writes only on a command, and the caller names its pid (in the archive lock) before the command is sent.
 * It is started on the first command, and ends after IDLE_MS without one, on `close()`, or on a command that
 * outlives its timeout (it is then killed; the next command starts a new one). Between commands its working
 * folder is `/`, so an idle worker holds no repository's mount busy.
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';

/** Marks the worker's reply lines, so that nothing else printed on its stdout can pass for one. */
const REPLY = '\u001etask-mcp-openspec-reply ';
/** Captured output past this (per command) fails the command, as the one-shot CLI's `maxBuffer` did. */
const MAX_OUTPUT_BYTES = 8 * 1024 * 1024;
/** The end of the worker's stderr kept to say why it died. */
const STDERR_TAIL = 2000;

/** The worker's program, given OpenSpec's CLI module (a file URL: OpenSpec's exports map hides it). */
const workerSource = (cliModule: string): string =>
  [
    `const REPLY = ${JSON.stringify(REPLY)};`,
    `const MAX = ${MAX_OUTPUT_BYTES};`,
    'const exit = process.exit.bind(process);',
    "process.stdin.on('end', () => exit(1)).on('error', () => exit(1));",
    'const reply = process.stdout.write.bind(process.stdout);',
    `const { program } = await import(${JSON.stringify(cliModule)});`,
    'class Exit { constructor(code) { this.code = code; } }',
    'async function run({ cwd, args }) {',
    "  const out = { stdout: '', stderr: '' };",
    '  const saved = { stdout: process.stdout.write, stderr: process.stderr.write };',
    '  const capture = (name) => (chunk, encoding, done) => {',
    "    out[name] += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString();",
    "    (typeof encoding === 'function' ? encoding : done)?.();",
    '    return true;',
    '  };',
    "  process.stdout.write = capture('stdout');",
    "  process.stderr.write = capture('stderr');",
    '  process.exit = (code) => { throw new Exit(code ?? process.exitCode ?? 0); };',
    '  process.exitCode = undefined;',
    '  let exitCode;',
    '  try {',
    '    process.chdir(cwd);',
    "    await program.parseAsync(['node', 'openspec', ...args]);",
    '    exitCode = process.exitCode ?? 0;',
    '  } catch (err) {',
    '    if (err instanceof Exit) exitCode = Number(err.code) || 0;',
    '    else { out.stderr += String(err?.stack ?? err); exitCode = 1; }',
    '  } finally {',
    '    process.stdout.write = saved.stdout;',
    '    process.stderr.write = saved.stderr;',
    '    process.exit = exit;',
    '    process.exitCode = undefined;',
    "    process.chdir('/');",
    '  }',
    "  if (out.stdout.length + out.stderr.length > MAX) return { error: 'its output passed ' + MAX + ' bytes' };",
    '  return { exitCode, ...out };',
    '}',
    "let pending = '';",
    'let queue = Promise.resolve();',
    "process.stdin.setEncoding('utf8').on('data', (chunk) => {",
    '  pending += chunk;',
    "  for (let end = pending.indexOf('\\n'); end >= 0; end = pending.indexOf('\\n')) {",
    '    const request = JSON.parse(pending.slice(0, end));',
    '    pending = pending.slice(end + 1);',
    "    queue = queue.then(() => run(request)).then((result) => reply(REPLY + JSON.stringify(result) + '\\n'));",
    '  }',
    '});',
  ].join('\n');

/** The worker failed (could not start, died, timed out, printed too much): not its command, nor the caller. */
export class WorkerError extends Error {
  override name = 'WorkerError';
}

/** What one command printed and how it ended. */
export interface CommandResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** Called with the pid of the process about to write for the caller; the command is sent once it resolves. */
export type OnHelper = (pid: number) => Promise<void>;

export interface OpenSpecWorker {
  /**
   * Runs `openspec ...args` in `cwd`. Rejects with a WorkerError when the worker dies, times out or cannot start,
   * and with `onHelper`'s own error when that rejects (the command is then not sent).
   */
  run(cwd: string, args: string[], onHelper?: OnHelper): Promise<CommandResult>;
  /** Ends the worker (it exits once its stdin ends); a later command starts another. */
  close(): void;
}

export interface OpenSpecWorkerOptions {
  /** OpenSpec's CLI module, as a file URL. */
  cliModule: string;
  /** The worker's environment. */
  env: NodeJS.ProcessEnv;
  /** Longest a command may run; the worker is then killed. */
  timeoutMs: number;
  /** How long an unused worker stays. */
  idleMs: number;
}

type Child = ChildProcessByStdio<Writable, Readable, Readable>;

interface Running {
  child: Child;
  /** Settles the command in flight, if any, with its reply line or the worker's end. */
  settle?: (reply: string | Error) => void;
  /** Why the worker is gone, once it is. */
  gone?: Error;
  stderrTail: string;
}

/** A worker that starts on its first command. */
export function createOpenSpecWorker(options: OpenSpecWorkerOptions): OpenSpecWorker {
  const { cliModule, env, timeoutMs, idleMs } = options;
  let running: Running | undefined;
  let idle: NodeJS.Timeout | undefined;
  let queue: Promise<unknown> = Promise.resolve();

  /** Takes `worker` out of use: the next command starts a new one. */
  const retire = (worker: Running): void => {
    if (running === worker) running = undefined;
  };
  const end = (worker: Running): void => {
    retire(worker);
    worker.child.stdin.end();
  };

  const start = (): Running => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', workerSource(cliModule)], {
      cwd: '/',
      env,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const worker: Running = { child, stderrTail: '' };
    let buffered = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      buffered += chunk;
      for (let eol = buffered.indexOf('\n'); eol >= 0; eol = buffered.indexOf('\n')) {
        const line = buffered.slice(0, eol);
        buffered = buffered.slice(eol + 1);
        if (line.startsWith(REPLY)) worker.settle?.(line.slice(REPLY.length));
      }
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      worker.stderrTail = (worker.stderrTail + chunk).slice(-STDERR_TAIL);
    });
    // Writing to a worker that already died fails; its exit is what the command reports.
    child.stdin.on('error', () => undefined);
    const died = (why: string): void => {
      retire(worker);
      worker.gone ??= new WorkerError(`the OpenSpec process ${why}: ${worker.stderrTail.trim().slice(-300)}`);
      worker.settle?.(worker.gone);
    };
    child.once('error', (err) => died(`could not start (${err.message})`));
    child.once('exit', (code, signal) => died(`exited (${signal ?? `code ${code}`})`));
    return worker;
  };

  /** Holds the event loop for a command in flight only: an idle worker must not keep its server's process alive. */
  const hold = ({ child }: Running, held: boolean): void => {
    // The stdio pipes are net.Sockets (typed as plain streams): each is a handle of its own.
    const handles = [child, child.stdin, child.stdout, child.stderr] as Array<
      Partial<Record<'ref' | 'unref', () => void>>
    >;
    for (const handle of handles) {
      if (held) handle.ref?.();
      else handle.unref?.();
    }
  };

  const runOne = async (cwd: string, args: string[], onHelper?: OnHelper): Promise<CommandResult> => {
    clearTimeout(idle);
    const worker = running ?? (running = start());
    hold(worker, true);
    try {
      const pid = worker.child.pid;
      if (pid === undefined) throw new WorkerError('the OpenSpec process could not start');
      await onHelper?.(pid);
      if (worker.gone) throw worker.gone; // died while the caller named it: nobody would answer
      const reply = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => {
          worker.settle = undefined;
          retire(worker);
          worker.child.kill('SIGKILL');
          reject(new WorkerError(`the OpenSpec process took over ${timeoutMs} ms`));
        }, timeoutMs);
        worker.settle = (answer) => {
          clearTimeout(timer);
          worker.settle = undefined;
          if (answer instanceof Error) reject(answer);
          else resolve(answer);
        };
        worker.child.stdin.write(`${JSON.stringify({ cwd, args })}\n`);
      });
      const result = JSON.parse(reply) as CommandResult | { error: string };
      if ('error' in result) throw new WorkerError(`the OpenSpec process failed: ${result.error}`);
      return result;
    } finally {
      if (running === worker) {
        hold(worker, false);
        idle = setTimeout(() => end(worker), idleMs).unref();
      }
    }
  };

  return {
    run(cwd, args, onHelper) {
      const result = queue.then(() => runOne(cwd, args, onHelper));
      queue = result.catch(() => undefined);
      return result;
    },
    close() {
      clearTimeout(idle);
      if (running) end(running);
    },
  };
}
