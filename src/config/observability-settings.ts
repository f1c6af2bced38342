/**
 * The rows of the SETTINGS table (settings.ts) for metrics and traces: the `METRICS_*` listener, and the standard
 * OpenTelemetry variables that turn tracing on and shape it (read by observability.ts).
 */
import {
  boolean,
  flag,
  fraction,
  host,
  int,
  keyValues,
  oneOf,
  optionalHttpUrl,
  optionalPort,
  optionalToken,
  text,
} from './kinds.js';

/** The samplers of `OTEL_TRACES_SAMPLER` this server builds (the OpenTelemetry SDK's standard names). */
export const SAMPLERS = [
  'parentbased_always_on',
  'parentbased_always_off',
  'parentbased_traceidratio',
  'always_on',
  'always_off',
  'traceidratio',
] as const;

export const OBSERVABILITY_SETTINGS = {
  METRICS_PORT: {
    kind: optionalPort,
    default: '',
    description:
      'Port of the separate `GET /metrics` listener (Prometheus text); unset: none, and no metric is recorded; 0 picks a free one',
  },
  METRICS_HOST: {
    kind: host,
    default: '127.0.0.1',
    description: 'Address of the metrics listener: keep it off the interface the API faces the world on',
  },
  METRICS_TOKEN: {
    kind: optionalToken,
    default: '',
    description: 'Bearer token a scrape must send; unset: none asked',
  },
  METRICS_CALLER_LABELS: {
    kind: flag,
    default: '0',
    description: '`1`: refusals and tool calls are labelled with the caller’s name (at most 100 distinct)',
  },
  OTEL_EXPORTER_OTLP_ENDPOINT: {
    kind: optionalHttpUrl,
    default: '',
    description: 'OTLP/HTTP collector (`http://collector:4318`): turns tracing on; spans go to its `/v1/traces`',
  },
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: {
    kind: optionalHttpUrl,
    default: '',
    description: 'The full URL spans are posted to, instead of the one `OTEL_EXPORTER_OTLP_ENDPOINT` gives',
  },
  OTEL_EXPORTER_OTLP_HEADERS: {
    kind: keyValues,
    default: '',
    description: 'Headers of every export, `key=value,…` (values percent-encoded): an API key; never logged',
  },
  OTEL_EXPORTER_OTLP_PROTOCOL: {
    kind: oneOf(['http/json'] as const),
    default: 'http/json',
    description: 'OTLP encoding: `http/json` (the OTLP HTTP exporter; gRPC and protobuf are not built in)',
  },
  OTEL_EXPORTER_OTLP_TIMEOUT: {
    kind: int(100, 120_000),
    default: '10000',
    description: 'Longest wait for one export, in ms',
  },
  OTEL_BSP_SCHEDULE_DELAY: {
    kind: int(10, 600_000),
    default: '5000',
    description: 'How long finished spans wait to be exported together, in ms',
  },
  OTEL_SERVICE_NAME: {
    kind: text,
    default: '',
    description: 'The spans’ `service.name`; unset: the one `OTEL_RESOURCE_ATTRIBUTES` names, else `task-mcp`',
  },
  OTEL_RESOURCE_ATTRIBUTES: {
    kind: keyValues,
    default: '',
    description: 'More resource attributes, `key=value,…` (`deployment.environment.name=prod`)',
  },
  OTEL_TRACES_SAMPLER: {
    kind: oneOf(SAMPLERS),
    default: 'parentbased_always_on',
    description: `Which traces are kept: ${SAMPLERS.map((name) => `\`${name}\``).join(', ')}`,
  },
  OTEL_TRACES_SAMPLER_ARG: {
    kind: fraction,
    default: '1',
    description: 'The ratio of the `traceidratio` samplers',
  },
  OTEL_TRACES_EXPORTER: {
    kind: oneOf(['otlp', 'none'] as const),
    default: 'otlp',
    description: '`none` turns tracing off whatever the endpoint',
  },
  OTEL_SDK_DISABLED: {
    kind: boolean,
    default: 'false',
    description: '`true` turns tracing off whatever the endpoint',
  },
} as const;
