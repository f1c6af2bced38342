/**
 * A loopback OTLP/HTTP trace receiver for a test: takes the `http/json` exports the server's real exporter posts
 * to `/v1/traces`, answers 200, and keeps every span with its resource; a test waits for the spans it expects.
 */
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { until } from './within.js';

type AnyValue = { stringValue?: string; intValue?: number | string; boolValue?: boolean; doubleValue?: number };

/** One received span, its attributes flattened to plain values. */
export interface ReceivedSpan {
  name: string;
  kind: number;
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  attributes: Record<string, string | number | boolean>;
  links: Array<{ traceId: string; spanId: string }>;
  status: { code?: number; message?: string };
  resource: Record<string, string | number | boolean>;
}

export interface OtlpReceiver {
  /** `http://127.0.0.1:PORT`: what OTEL_EXPORTER_OTLP_ENDPOINT is set to. */
  endpoint: string;
  spans: ReceivedSpan[];
  /** Resolves with the spans once `done` holds for them (within 15 s). */
  until(what: string, done: (spans: ReceivedSpan[]) => boolean): Promise<ReceivedSpan[]>;
  stop(): Promise<void>;
}

/** OTLP/JSON's numbers may come as strings (int64); bytes as hex ids. */
const valueOf = (v: AnyValue): string | number | boolean =>
  v.stringValue ?? v.boolValue ?? v.doubleValue ?? (v.intValue === undefined ? '' : Number(v.intValue));

const flat = (attributes: Array<{ key: string; value: AnyValue }> = []) =>
  Object.fromEntries(attributes.map(({ key, value }) => [key, valueOf(value)]));

interface Export {
  resourceSpans: Array<{
    resource?: { attributes?: Array<{ key: string; value: AnyValue }> };
    scopeSpans: Array<{ spans: Array<Omit<ReceivedSpan, 'attributes' | 'resource'> & { attributes?: [] }> }>;
  }>;
}

export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const spans: ReceivedSpan[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      if (req.method === 'POST' && req.url === '/v1/traces') {
        for (const { resource, scopeSpans } of (JSON.parse(body) as Export).resourceSpans) {
          for (const { spans: batch } of scopeSpans) {
            for (const span of batch) {
              spans.push({
                ...span,
                attributes: flat(span.attributes),
                links: (span.links ?? []).map(({ traceId, spanId }) => ({ traceId, spanId })),
                status: span.status ?? {},
                resource: flat(resource?.attributes),
              });
            }
          }
        }
      }
      res.writeHead(200, { 'Content-Type': 'application/json' }).end('{}');
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    spans,
    async until(what, done) {
      await until(15_000, what, () => done(spans));
      return [...spans];
    },
    stop: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
