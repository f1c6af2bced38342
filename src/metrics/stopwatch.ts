/** Durations from the monotonic clock (wall-clock steps do not skew a duration). */
import { performance } from 'node:perf_hooks';

/** Now, as a monotonic instant in milliseconds, for `secondsSince`. */
export const instant = (): number => performance.now();

/** Seconds since `start` (an `instant()`): a number to keep where a stopwatch, a closure, would be held for hours. */
export const secondsSince = (start: number): number => (performance.now() - start) / 1000;

/** Seconds since it was made. */
export function stopwatch(): () => number {
  const start = instant();
  return () => secondsSince(start);
}
