/**
 * Traces, as the rest of the server sees them: spans started, made current, given attributes and ended, with no
 * OpenTelemetry type in sight. The implementation (otel.ts) is loaded only when tracing is on; when it is off
 * there is no `Tracing` at all (callers hold `undefined`), so the hot path pays one `undefined` check.
 */

/** Attribute values of a span; an `undefined` one is left out. */
export type SpanAttributes = Record<string, string | number | boolean | undefined>;

/** The ids of a span, as log lines carry them. */
export interface SpanIds {
  trace_id: string;
  span_id: string;
}

/** How a span ended in failure: OpenTelemetry's `error.type`, and the status description. */
export interface SpanError {
  type: string;
  message?: string;
}

/** A started span. */
export interface Span {
  readonly ids: SpanIds;
  set(attributes: SpanAttributes): void;
  /** Ends the span (once; later calls do nothing); `error` sets `error.type` and the status ERROR. */
  end(error?: SpanError): void;
  /** Runs `fn` with this span current: a span started inside it, however deep in its async work, is its child. */
  run<T>(fn: () => T): T;
}

/** Runs `fn` with `span` current when there is one (tracing on), else just runs it. */
export const inSpan = <T>(span: Span | undefined, fn: () => T): T => (span ? span.run(fn) : fn());

export interface SpanOptions {
  /** `server` for the work of a request from outside; `internal` (the default) for a step inside one. */
  kind?: 'server' | 'internal';
  attributes?: SpanAttributes;
  /**
   * Where a remote parent may be written, as W3C Trace Context (`traceparent`, `tracestate`): HTTP headers, or an
   * MCP request's `params._meta`. A valid one is the parent, and the current span, if any, becomes a link (the
   * MCP conventions: the MCP span is the client's child, linked to the HTTP span that carried it). Without one,
   * the current span is the parent.
   */
  carrier?: Readonly<Record<string, unknown>>;
}

export interface Tracing {
  start(name: string, options?: SpanOptions): Span;
  /** The current span's ids, for a log line; empty outside any span. */
  logFields(): Partial<SpanIds>;
  /** Exports what is buffered and stops. */
  shutdown(): Promise<void>;
}

/** What tracing needs besides its settings. */
export interface TracingOptions {
  /** `service.version`. */
  version: string;
  /** Told when an export fails, and again when exports work after failing (not at every failed batch). */
  onExportChange(failed: boolean, err?: unknown): void;
}
