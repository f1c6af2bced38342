/**
 * The domain's probe, built from the metrics and, when tracing is on, the tracing: each subprocess is timed
 * (`task_mcp_subprocess_duration_seconds`) and traced as a child span of whatever span is current (an MCP
 * operation, an invoke's tool call); the rest goes to the metrics as it is.
 */
import type { DomainProbe } from './changes/index.js';
import { isTaskError } from './errors.js';
import type { Metrics } from './metrics/index.js';
import { stopwatch } from './metrics/stopwatch.js';
import { inSpan, type Tracing } from './tracing/tracing.js';

/** A failure's `error.type`: the contract's code, else the error's class name; never its message (paths). */
const errorTypeOf = (err: unknown): string =>
  isTaskError(err) ? err.code : err instanceof Error ? err.name : '_OTHER';

/** The probe the domain reports to. */
export function domainProbe(
  metrics: Pick<Metrics, 'subprocess' | 'changeOperation' | 'lockContended' | 'archiveRecovered'>,
  tracing: Tracing | undefined,
): DomainProbe {
  return {
    async subprocess(command, subcommand, run) {
      const elapsed = stopwatch();
      const span = tracing?.start(`${command} ${subcommand}`, {
        attributes: { 'process.executable.name': command, 'task_mcp.subcommand': subcommand },
      });
      try {
        const result = await inSpan(span, run);
        span?.end();
        return result;
      } catch (err) {
        span?.end({ type: errorTypeOf(err) });
        throw err;
      } finally {
        metrics.subprocess({ command, subcommand, seconds: elapsed() });
      }
    },
    changeOperation: (record) => metrics.changeOperation(record),
    lockContended: (lock) => metrics.lockContended(lock),
    archiveRecovered: (action) => metrics.archiveRecovered(action),
  };
}
