/**
 * The `Tracing` of tracing.ts on the OpenTelemetry SDK: spans batched to the OTLP HTTP exporter (`http/json`),
 * the current span kept in AsyncLocalStorage, W3C Trace Context read from HTTP headers and MCP's `_meta`. Loaded
 * by load.ts, only when tracing is on. Nothing is registered globally (no global tracer provider, context manager
 * or propagator), so two servers in one process trace apart, and a library's own OpenTelemetry use is untouched.
 */
import {
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type Link,
  type Span as OtelSpan,
  type TextMapGetter,
} from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { ExportResultCode, W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BatchSpanProcessor,
  ParentBasedSampler,
  TraceIdRatioBasedSampler,
  TracerProvider,
  type Sampler,
  type SpanExporter,
} from '@opentelemetry/sdk-trace';
import type { TracingConfig } from '../config/index.js';
import type { Span, SpanAttributes, Tracing, TracingOptions } from './tracing.js';

/** Reads a carrier: HTTP headers (lower-case names, a value or several) or an MCP `_meta` object. */
const getter: TextMapGetter<Readonly<Record<string, unknown>>> = {
  keys: (carrier) => Object.keys(carrier),
  get(carrier, key) {
    const value = carrier[key];
    if (typeof value === 'string') return value;
    return Array.isArray(value) && value.every((v) => typeof v === 'string') ? (value as string[]) : undefined;
  },
};

const defined = (attributes: SpanAttributes = {}): Attributes =>
  Object.fromEntries(Object.entries(attributes).filter(([, value]) => value !== undefined)) as Attributes;

function samplerOf({ sampler, samplerRatio }: TracingConfig): Sampler {
  const ratio = new TraceIdRatioBasedSampler(samplerRatio);
  const roots: Record<string, Sampler> = { always_on: new AlwaysOnSampler(), always_off: new AlwaysOffSampler() };
  const root = roots[sampler.replace(/^parentbased_/, '')] ?? ratio;
  return sampler.startsWith('parentbased_') ? new ParentBasedSampler({ root }) : root;
}

/** The exporter, telling `onExportChange` when exports start failing and when they work again. */
function watchedExporter(config: TracingConfig, onExportChange: TracingOptions['onExportChange']): SpanExporter {
  const exporter = new OTLPTraceExporter({ url: config.url, headers: config.headers, timeoutMillis: config.timeoutMs });
  let failing = false;
  return {
    export(spans, done) {
      exporter.export(spans, (result) => {
        const failed = result.code !== ExportResultCode.SUCCESS;
        if (failed !== failing) onExportChange(failed, result.error);
        failing = failed;
        done(result);
      });
    },
    shutdown: () => exporter.shutdown(),
    forceFlush: () => exporter.forceFlush(),
  };
}

/** Starts the SDK for `config`. */
export function createOtelTracing(config: TracingConfig, options: TracingOptions): Tracing {
  const contexts = new AsyncLocalStorageContextManager().enable();
  const propagator = new W3CTraceContextPropagator();
  const provider = new TracerProvider({
    resource: resourceFromAttributes({
      ...config.resourceAttributes,
      'service.name': config.serviceName,
      'service.version': options.version,
    }),
    sampler: samplerOf(config),
    spanProcessors: [
      new BatchSpanProcessor({
        exporter: watchedExporter(config, options.onExportChange),
        scheduledDelayMillis: config.scheduleDelayMs,
      }),
    ],
  });
  const tracer = provider.getTracer('task-mcp', options.version);

  const wrap = (span: OtelSpan, context: Context): Span => {
    const { traceId, spanId } = span.spanContext();
    let ended = false;
    return {
      ids: { trace_id: traceId, span_id: spanId },
      set: (attributes) => void span.setAttributes(defined(attributes)),
      end(error) {
        if (ended) return;
        ended = true;
        if (error) {
          span.setAttribute('error.type', error.type);
          span.setStatus({ code: SpanStatusCode.ERROR, message: error.message });
        }
        span.end();
      },
      run: (fn) => contexts.with(context, fn),
    };
  };

  return {
    start(name, { kind = 'internal', attributes, carrier } = {}) {
      const active = contexts.active();
      const remote = carrier && propagator.extract(ROOT_CONTEXT, carrier, getter);
      const fromRemote = remote !== undefined && trace.getSpanContext(remote) !== undefined;
      const parent = fromRemote ? remote : active;
      const current = fromRemote ? trace.getSpan(active) : undefined;
      const links: Link[] = current ? [{ context: current.spanContext() }] : [];
      const spanKind = kind === 'server' ? SpanKind.SERVER : SpanKind.INTERNAL;
      const span = tracer.startSpan(name, { kind: spanKind, attributes: defined(attributes), links }, parent);
      return wrap(span, trace.setSpan(parent, span));
    },
    logFields() {
      const span = trace.getSpan(contexts.active());
      if (!span) return {};
      const { traceId, spanId } = span.spanContext();
      return { trace_id: traceId, span_id: spanId };
    },
    async shutdown() {
      await provider.shutdown();
      contexts.disable();
    },
  };
}
