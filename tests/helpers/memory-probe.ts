/**
 * The inside of a server child process that a parent measures (the load test's, the benchmark's): one JSON line
 * per message on stdout, and on SIGUSR2 a garbage collection followed by a line with its memory and handle count.
 * The process must run with `node --expose-gc`.
 */

/** What a child prints on SIGUSR2, after collecting garbage. */
export interface MemorySample {
  rss: number;
  heapUsed: number;
  /** Memory of C++ objects bound to JS ones, socket and stream buffers among them. */
  external: number;
  /** Ref'd resources: sockets, servers, timers. */
  handles: number;
}

/** Prints `value` as one JSON line on stdout: the child's side of the protocol. */
export const printLine = (value: object): void => void process.stdout.write(`${JSON.stringify(value)}\n`);

/**
 * On each SIGUSR2: collects garbage, then prints a `MemorySample` merged with `extra()`. Throws at once when the
 * process was started without `--expose-gc`.
 */
export function reportMemoryOnSignal(extra: () => object = () => ({})): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run with node --expose-gc');
  process.on('SIGUSR2', () => {
    // Twice: the first pass can leave objects that only a second one frees (finalizers, weak references).
    gc();
    gc();
    const { rss, heapUsed, external } = process.memoryUsage();
    const sample: MemorySample = { rss, heapUsed, external, handles: process.getActiveResourcesInfo().length };
    printLine({ ...sample, ...extra() });
  });
}
