/**
 * The metrics and tracing settings, read and checked at start (their rows: observability-settings.ts). Every one
 * is checked even when its feature is off: a bad value is a mistake either way.
 */
import type { SAMPLERS } from './observability-settings.js';
import type { SettingReader } from './settings.js';

/** The separate `/metrics` listener. */
export interface MetricsConfig {
  host: string;
  port: number;
  /** A bearer token every scrape must present; unset: none. */
  token: string | undefined;
  /** Label refusals and tool calls with the caller's name (`METRICS_CALLER_LABELS=1`). */
  callerLabels: boolean;
}

/** Traces exported with the OTLP HTTP exporter (`http/json`). */
export interface TracingConfig {
  /** Where spans are posted: `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, or `OTEL_EXPORTER_OTLP_ENDPOINT` + `/v1/traces`. */
  url: string;
  /** Sent with every export (an API key, say): never logged. */
  headers: Record<string, string>;
  timeoutMs: number;
  /** `OTEL_BSP_SCHEDULE_DELAY`: how long finished spans wait to be exported together. */
  scheduleDelayMs: number;
  serviceName: string;
  /** `OTEL_RESOURCE_ATTRIBUTES`. */
  resourceAttributes: Record<string, string>;
  sampler: (typeof SAMPLERS)[number];
  /** The ratio of the `traceidratio` samplers. */
  samplerRatio: number;
}

/** The metrics listener `METRICS_PORT` asks for; undefined when unset. */
export function readMetrics({ value }: SettingReader): MetricsConfig | undefined {
  const host = value('METRICS_HOST');
  const token = value('METRICS_TOKEN');
  const callerLabels = value('METRICS_CALLER_LABELS');
  const port = value('METRICS_PORT');
  return port === undefined ? undefined : { host, port, token, callerLabels };
}

/**
 * Tracing, on when an OTLP endpoint is set (the standard variables), unless `OTEL_SDK_DISABLED=true` or
 * `OTEL_TRACES_EXPORTER=none`; undefined when off.
 */
export function readTracing({ value }: SettingReader): TracingConfig | undefined {
  const base = value('OTEL_EXPORTER_OTLP_ENDPOINT');
  const specific = value('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT');
  const resourceAttributes = value('OTEL_RESOURCE_ATTRIBUTES');
  const config = {
    headers: value('OTEL_EXPORTER_OTLP_HEADERS'),
    timeoutMs: value('OTEL_EXPORTER_OTLP_TIMEOUT'),
    scheduleDelayMs: value('OTEL_BSP_SCHEDULE_DELAY'),
    resourceAttributes,
    serviceName: value('OTEL_SERVICE_NAME') || resourceAttributes['service.name'] || 'task-mcp',
    sampler: value('OTEL_TRACES_SAMPLER'),
    samplerRatio: value('OTEL_TRACES_SAMPLER_ARG'),
  };
  value('OTEL_EXPORTER_OTLP_PROTOCOL'); // checked only: `http/json` is the one encoding built in
  const off = value('OTEL_SDK_DISABLED') || value('OTEL_TRACES_EXPORTER') === 'none';
  // The specification's rule: a signal's own endpoint is used as given; the shared one gets the signal's path.
  const url = specific ?? (base === undefined ? undefined : `${base.replace(/\/+$/, '')}/v1/traces`);
  return off || url === undefined ? undefined : { url, ...config };
}
