/** Seconds since it was made, from the monotonic clock (wall-clock steps do not skew a duration). */
export function stopwatch(): () => number {
  const start = process.hrtime.bigint();
  return () => Number(process.hrtime.bigint() - start) / 1e9;
}
