/**
 * Tracing, loaded only when it is on: the OpenTelemetry SDK is imported here, dynamically, so a server with tracing
 * off never loads it (and pays nothing for it but one `undefined` check where a span would start).
 */
import type { TracingConfig } from '../config/index.js';
import type { Tracing, TracingOptions } from './tracing.js';

/** The tracing `config` asks for; undefined when tracing is off. */
export async function loadTracing(
  config: TracingConfig | undefined,
  options: TracingOptions,
): Promise<Tracing | undefined> {
  if (config === undefined) return undefined;
  const { createOtelTracing } = await import('./otel.js');
  return createOtelTracing(config, options);
}
