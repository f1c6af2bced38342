/**
 * Who holds a lock or left a file behind, named precisely enough to tell whether it still runs.
 *
 * A pid alone names a process only within one pid namespace during one boot: containers that share a volume (and
 * often a hostname) have pid spaces of their own, and pids are reused. So a process is named by its pid, its start
 * time (`/proc/<pid>/stat` field 22, clock ticks since boot: a reused pid has another one) and a scope, the boot
 * (`/proc/sys/kernel/random/boot_id`) and the pid namespace (`readlink /proc/self/ns/pid`, whose inode is unique
 * for the kernel's lifetime). Processes of one scope see the same pids, so one can prove another dead; across
 * scopes only a lease can tell (see archive-lock.ts). The hostname is recorded for people only: it proves nothing.
 * Without /proc (not Linux) there is no scope, and nothing is ever judged dead by its pid.
 */
import { createHash } from 'node:crypto';
import { readFileSync, readlinkSync } from 'node:fs';
import { hostname } from 'node:os';

/** A process of some scope: its pid and, where known, its start time. */
export interface ProcessRef {
  pid: number;
  startTime?: string;
}

export interface ProcessIdentity extends ProcessRef {
  /** The host name, for people reading a lock record. */
  host: string;
  /** The boot and pid namespace; undefined where /proc cannot tell them. */
  scope?: string;
  /** The identity as a file-name part, `<pid>-<start time>-<scope hash>`, carried by the temp files it makes. */
  tag: string;
}

/** The scope hash of a tag made where the scope is unknown: it never matches, so such files age out instead. */
const NO_SCOPE = 'x';
const TAG = /^(\d+)-(\d+)-([0-9a-f]{12}|x)$/;

const tryRead = <T>(read: () => T): T | undefined => {
  try {
    return read();
  } catch {
    return undefined;
  }
};

/** The state (field 3) and start time (field 22) of a process, or undefined when /proc does not show it. */
function procStat(pid: number): { state: string; startTime: string } | undefined {
  const text = tryRead(() => readFileSync(`/proc/${pid}/stat`, 'utf8'));
  if (text === undefined) return undefined;
  // Field 2 is the command name in parentheses, which may itself hold spaces and parentheses.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const [state, startTime] = [fields[0], fields[19]];
  return state && startTime ? { state, startTime } : undefined;
}

const scopeHash = (scope: string | undefined): string =>
  scope === undefined ? NO_SCOPE : createHash('sha256').update(scope).digest('hex').slice(0, 12);

const tagOf = ({ pid, startTime }: ProcessRef, scope: string | undefined): string =>
  `${pid}-${startTime ?? 0}-${scopeHash(scope)}`;

function readSelf(): ProcessIdentity {
  const { pid } = process;
  const startTime = procStat(pid)?.startTime;
  const boot = tryRead(() => readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim());
  const namespace = tryRead(() => readlinkSync('/proc/self/ns/pid'));
  const scope = boot && namespace && startTime ? `${boot}/${namespace}` : undefined;
  return Object.freeze({ pid, startTime, host: hostname(), scope, tag: tagOf({ pid, startTime }, scope) });
}

/** This process. */
export const SELF: ProcessIdentity = readSelf();

/** The tag of `ref`, a process of this scope (as it names its temp files). */
export const tagFor = (ref: ProcessRef): string => tagOf(ref, SELF.scope);

/** `pid` (a process of this scope, such as a child just spawned) with its start time, for a lock record. */
export function processRef(pid: number): ProcessRef {
  const startTime = procStat(pid)?.startTime;
  return startTime === undefined ? { pid } : { pid, startTime };
}

/** Whether `scope`, read from a record, is this process's: only then do its pids mean anything here. */
export const isOwnScope = (scope: unknown): boolean => SELF.scope !== undefined && scope === SELF.scope;

/**
 * Whether `ref`, a process of this scope, has certainly exited: no process has its pid, or it is a zombie, or the
 * pid now belongs to a process started at another time. `kill(pid, 0)` sees every process of the namespace, even
 * where /proc hides other users' (hidepid); a process that exists but that /proc does not show cannot be judged.
 */
export function isGone(ref: ProcessRef): boolean {
  if (!Number.isSafeInteger(ref.pid) || ref.pid <= 0) return false;
  try {
    process.kill(ref.pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return true;
  }
  const now = procStat(ref.pid);
  if (!now) return false;
  return now.state === 'Z' || now.state === 'X' || (ref.startTime !== undefined && now.startTime !== ref.startTime);
}

/** Whether the maker named by `tag` (see ProcessIdentity.tag) is a process of this scope that has exited. */
export function isTagGone(tag: string | undefined): boolean {
  const match = tag === undefined ? null : TAG.exec(tag);
  if (!match || match[3] === NO_SCOPE || match[3] !== scopeHash(SELF.scope)) return false;
  return isGone({ pid: Number(match[1]), startTime: match[2] });
}
