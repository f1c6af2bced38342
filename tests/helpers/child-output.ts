/**
 * The text a child process writes to one of its streams, and a bounded wait for a line in it: a child that exits
 * or stays silent fails the wait at once or at its deadline, with what it printed.
 */
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import type { Readable } from 'node:stream';
import { within } from './within.js';

export interface ChildOutput {
  /** Everything written so far. */
  text(): string;
  /** The first match of `pattern` in the output, waiting up to `ms` for it; rejects if the child exits first. */
  until(pattern: RegExp, ms: number): Promise<RegExpExecArray>;
}

/** Starts collecting `stream` of `child` (call it before the child can have written anything). */
export function collectOutput(child: ChildProcess, stream: Readable): ChildOutput {
  let text = '';
  stream.on('data', (chunk: Buffer) => (text += chunk.toString()));
  const gone = (): boolean => child.exitCode !== null || child.signalCode !== null;
  return {
    text: () => text,
    async until(pattern, ms) {
      let onData: (() => void) | undefined;
      const matched = new Promise<RegExpExecArray>((resolve) => {
        onData = () => {
          const match = pattern.exec(text);
          if (match) resolve(match);
        };
        stream.on('data', onData);
        onData();
      });
      const exited = gone() ? Promise.resolve() : once(child, 'exit');
      const died = exited.then(() => {
        throw new Error(`exited (${child.exitCode ?? child.signalCode}) before printing ${pattern}:\n${text}`);
      });
      try {
        return await within(ms, `${pattern}`, Promise.race([matched, died])).catch((err: Error) => {
          throw err.message.startsWith('exited') ? err : new Error(`${err.message}; it printed:\n${text}`);
        });
      } finally {
        stream.off('data', onData!);
      }
    },
  };
}
