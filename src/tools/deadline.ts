/**
 * How long a caller waits for a call. The work is not cancelled at the deadline: a tool call runs to its end in
 * the background (the domain opens a change by one rename and journals an archive, so there is no half-written
 * change to abandon), and what it answers late has nobody to go to but the log.
 */
import { TaskError } from '../errors.js';

/** Resolves as `work` does, or rejects with ETIMEOUT after `ms`; a late failure goes to `onLateFailure`. */
export async function withDeadline<T>(work: Promise<T>, ms: number, onLateFailure: (err: unknown) => void): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  let late = false;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      late = true;
      reject(
        new TaskError('ETIMEOUT', `The call took longer than ${ms} ms.`, {
          hint: 'It may still complete: check its result (e.g. open the change again) before retrying.',
          details: { timeoutMs: ms },
        }),
      );
    }, ms);
  });
  try {
    return await Promise.race([work, expired]);
  } finally {
    clearTimeout(timer);
    if (late) work.catch(onLateFailure);
  }
}
