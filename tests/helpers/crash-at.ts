/**
 * A test-only preload (`node --import tsx --import ./tests/helpers/crash-at.ts src/main.ts`) that makes the server
 * kill itself with SIGKILL just before a chosen file mutation, as a power cut or an OOM kill would stop it there.
 *
 * It wraps the mutating functions of `node:fs/promises` (the module object, then `syncBuiltinESMExports` so that
 * ESM named imports see the wrappers) and counts their calls on paths under CRASH_ROOT, from the first call on a
 * path matching CRASH_ARM on. Each counted call is appended to CRASH_LOG (synchronously: the line survives the
 * kill), and the CRASH_AT-th is never made: the process is killed instead. Without CRASH_AT it only records, which
 * is how a test learns the mutation points of an operation; it then also logs which calls changed nothing (a
 * forced `rm` of a missing path, a `link` onto an existing name), after which the state is the one before them.
 * Child processes (the OpenSpec CLI) are not affected: it is not in NODE_OPTIONS.
 */
import { appendFileSync, lstatSync } from 'node:fs';
import fsp from 'node:fs/promises';
import { syncBuiltinESMExports } from 'node:module';
import path from 'node:path';

/** One line of CRASH_LOG: the count, the function and the path it creates or changes, relative to CRASH_ROOT. */
export interface Mutation {
  n: number;
  op: string;
  target: string;
  /** Recording only: false when the call changed nothing. */
  changed?: boolean;
}

/** Parses CRASH_LOG's text, in call order. */
export const parseCrashLog = (text: string): Mutation[] =>
  text
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Mutation)
    .sort((a, b) => a.n - b.n);

/** Calls that change nothing when their target is missing. */
const REMOVERS = new Set(['rm', 'rmdir', 'unlink']);
/** Calls whose second path is the one they create. */
const CREATES_SECOND = new Set(['copyFile', 'cp', 'link', 'symlink']);

/** Whether anything, a dangling link included, is at `target`. */
const exists = (target: string): boolean => lstatSync(target, { throwIfNoEntry: false }) !== undefined;

const MUTATORS = [
  'appendFile',
  'copyFile',
  'cp',
  'link',
  'mkdir',
  'rename',
  'rm',
  'rmdir',
  'symlink',
  'truncate',
  'unlink',
  'writeFile',
] as const;

/** `open` mutates when its flags create, write or truncate. */
const opensForWriting = (flags: unknown): boolean => typeof flags === 'string' && /[wax+]/.test(flags);

function install(root: string, arm: RegExp, crashAt: number | undefined, log: string | undefined): void {
  let armed = false;
  let count = 0;
  const inside = (target: unknown): target is string =>
    typeof target === 'string' && (target === root || target.startsWith(root + path.sep));
  const write = (entry: Mutation): void => void (log && appendFileSync(log, `${JSON.stringify(entry)}\n`));
  /** Counts a call on `target` (killing the process at CRASH_AT), then makes it. */
  const counted = (op: string, target: unknown, call: () => Promise<unknown>): Promise<unknown> => {
    if (!inside(target) || !(armed ||= arm.test(target))) return call();
    const entry = { n: ++count, op, target: path.relative(root, target) };
    if (crashAt !== undefined) {
      write(entry);
      if (count === crashAt) process.kill(process.pid, 'SIGKILL');
      return call();
    }
    const existed = exists(target);
    return call().then(
      (value) => (write({ ...entry, changed: !REMOVERS.has(op) || existed }), value),
      (err: unknown) => {
        write({ ...entry, changed: false });
        throw err;
      },
    );
  };
  const module = fsp as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
  for (const op of MUTATORS) {
    const real = module[op]!;
    module[op] = (...args: unknown[]) => counted(op, args[CREATES_SECOND.has(op) ? 1 : 0], () => real(...args));
  }
  const realOpen = module.open!;
  module.open = (...args: unknown[]) =>
    opensForWriting(args[1]) ? counted('open', args[0], () => realOpen(...args)) : realOpen(...args);
  syncBuiltinESMExports();
}

const { CRASH_ROOT, CRASH_ARM, CRASH_AT, CRASH_LOG } = process.env;
if (CRASH_ROOT && CRASH_ARM)
  install(CRASH_ROOT, new RegExp(CRASH_ARM), CRASH_AT ? Number(CRASH_AT) : undefined, CRASH_LOG);
