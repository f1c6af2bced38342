/**
 * Storage that refuses writes, as typed errors: a read-only file system (EROFS) is EREADONLY, a full disk or an
 * exhausted quota (ENOSPC, EDQUOT) is ENOSPACE. They are the server's problem, not the caller's, but the caller
 * (and the operator reading the log) must learn which. They reach the domain as Node's errno on an fs call, as the
 * cause of a TaskError, or as the text git and the OpenSpec CLI print (their failures arrive as EGIT/EOPENSPEC
 * carrying stderr). Some arrive disguised: `mkdir(…, { recursive: true })` reports ENOENT on a read-only file
 * system. So a failure that would otherwise be a bare 500 is checked against the disk itself before it is let go.
 */
import { access, constants, statfs } from 'node:fs/promises';
import path from 'node:path';
import { TaskError } from '../errors.js';

type Errno = 'EROFS' | 'ENOSPC' | 'EDQUOT';

/** The strerror texts child processes print, with the errno names Node puts in its messages. */
const PRINTED: ReadonlyArray<[RegExp, Errno]> = [
  [/\bEROFS\b|read-only file system/i, 'EROFS'],
  [/\bENOSPC\b|no space left on device/i, 'ENOSPC'],
  [/\bEDQUOT\b|disk quota exceeded/i, 'EDQUOT'],
];

/** TaskErrors that stand for a fault of the server's tools; any other code is a typed answer and stays one. */
const SERVER_FAULTS = new Set(['EGIT', 'EOPENSPEC', 'EINTERNAL']);

const isErrno = (code: unknown): code is Errno => code === 'EROFS' || code === 'ENOSPC' || code === 'EDQUOT';

/** Whether `err` would reach the caller as a fault with no useful code. */
const isServerFault = (err: unknown): boolean => !(err instanceof TaskError) || SERVER_FAULTS.has(err.code);

/** The storage errno behind `err`, looking through its causes; text only where it is a tool's output. */
function errnoOf(err: unknown): Errno | undefined {
  let e: unknown = err;
  for (let depth = 0; e instanceof Error && depth < 8; e = e.cause, depth++) {
    const code = (e as NodeJS.ErrnoException).code;
    if (isErrno(code)) return code;
    if (!isServerFault(e)) continue; // a refusal's message may quote the caller's own content
    const { message } = e;
    const printed = PRINTED.find(([pattern]) => pattern.test(message));
    if (printed) return printed[1];
  }
  return undefined;
}

function typed(errno: Errno, cause: unknown): TaskError {
  if (errno === 'EROFS') {
    return new TaskError('EREADONLY', "The repository's file system is read-only: the call could not write.", {
      hint: 'Retry later: the server operator must remount the repository read-write (GET /readyz reports it).',
      details: { errno },
      cause,
    });
  }
  const what = errno === 'EDQUOT' ? 'over its quota' : 'full';
  return new TaskError('ENOSPACE', `The repository's disk is ${what}: the call could not write.`, {
    hint: "Retry later: the server operator must free space on the repository's disk.",
    details: { errno },
    cause,
  });
}

/** `err` as EREADONLY or ENOSPACE when it says storage refused a write; otherwise undefined. */
export function storageError(err: unknown): TaskError | undefined {
  const errno = errnoOf(err);
  return errno === undefined ? undefined : typed(errno, err);
}

/**
 * Throws unless the repository's root and its git folder accept writes. `access(W_OK)` reports EROFS without
 * writing anything (and EACCES to a user who may not write); a full disk passes: every instance serving it would
 * turn unready at once, while reads still work.
 */
export async function assertWritable(root: string): Promise<void> {
  await access(root, constants.W_OK);
  await access(path.join(root, '.git'), constants.W_OK).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'ENOENT') throw err; // no .git folder: the `repo` check reports that
  });
}

/** Why the disk under `root` refuses writes now, if it does: read-only, or no block left. */
async function diagnose(root: string, cause: unknown): Promise<TaskError | undefined> {
  const readOnly = await assertWritable(root).then(
    () => undefined,
    (err: unknown) => storageError(err),
  );
  if (readOnly) return typed('EROFS', cause);
  const free = await statfs(root).then(
    (stats) => stats.bavail,
    () => undefined,
  );
  return free === 0 ? typed('ENOSPC', cause) : undefined;
}

/** Runs `work` against the repository at `root`, turning a storage refusal into its typed error. */
export async function typingStorageErrors<T>(work: Promise<T>, root: string): Promise<T> {
  try {
    return await work;
  } catch (err) {
    throw storageError(err) ?? (isServerFault(err) ? await diagnose(root, err) : undefined) ?? err;
  }
}
