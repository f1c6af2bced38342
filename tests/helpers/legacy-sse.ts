/**
 * A live 2024-11-05 HTTP+SSE session against the real server, spoken by hand: `GET /sse`, the `endpoint` event,
 * then messages posted to it and their replies read off the stream as `message` events.
 */
import { TOKENS, type TestServer } from './server.js';
import { within } from './within.js';

export interface SseStream {
  response: Response;
  /** Reads until `predicate` holds for the text received so far, or the stream ends. */
  until(predicate: (text: string) => boolean): Promise<string>;
  cancel(): Promise<void>;
}

export interface RpcReply {
  id?: unknown;
  result?: Record<string, unknown>;
  error?: { code: number; message: string; data?: Record<string, unknown> };
}

export interface SseSession extends SseStream {
  /** The relative endpoint the first event named (`messages?sessionId=…`). */
  endpoint: string;
  /** POSTs `body` (JSON-encoded, or as given when a string) to the session's endpoint. */
  post(body: unknown, token?: string): Promise<Response>;
  /** The next `message` event not read yet, within a deadline. */
  next(): Promise<RpcReply>;
  /** Posts a request, expects 202, and returns the reply with its id, within a deadline. */
  request(message: { id: number | string; method: string; params?: unknown }): Promise<RpcReply>;
  /** `initialize` at `revision` and the `notifications/initialized` that completes it. */
  initialize(revision: string): Promise<RpcReply>;
}

const WAIT_MS = 5000;

export async function openSse(s: TestServer, token: string = TOKENS.alice): Promise<SseStream> {
  const controller = new AbortController();
  const response = await s.fetch(`${s.url}/sse`, {
    headers: { Authorization: `Bearer ${token}`, Accept: 'text/event-stream' },
    signal: controller.signal,
  });
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  let text = '';
  return {
    response,
    async until(predicate) {
      while (!predicate(text)) {
        const { value, done } = await reader.read();
        if (done) break;
        text += value;
      }
      return text;
    },
    async cancel() {
      controller.abort();
      await reader.cancel().catch(() => undefined);
    },
  };
}

export const endpointOf = (text: string): string => /event: endpoint\ndata: (\S+)\n\n/.exec(text)![1]!;

export const postMessage = (s: TestServer, endpoint: string, body: unknown, token: string = TOKENS.alice) =>
  s.fetch(new URL(endpoint, `${s.url}/sse`), {
    method: 'POST',
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });

/** The `message` events of a stream's text, in order. */
const messagesOf = (text: string): RpcReply[] =>
  [...text.matchAll(/^event: message\ndata: (.*)\n\n/gm)].map(([, data]) => JSON.parse(data!) as RpcReply);

/** Opens a stream and waits for its endpoint event. */
export async function openSession(s: TestServer, token: string = TOKENS.alice): Promise<SseSession> {
  const stream = await openSse(s, token);
  const endpoint = endpointOf(await stream.until((t) => t.includes('event: endpoint')));
  let read = 0;
  const session: SseSession = {
    ...stream,
    endpoint,
    post: (body, as = token) => postMessage(s, endpoint, body, as),
    async next() {
      const text = await within(
        WAIT_MS,
        'the next message event',
        stream.until((t) => messagesOf(t).length > read),
      );
      const message = messagesOf(text)[read];
      if (message === undefined) throw new Error('the stream ended');
      read++;
      return message;
    },
    async request(message) {
      const res = await session.post({ jsonrpc: '2.0', ...message });
      if (res.status !== 202) throw new Error(`${message.method}: ${res.status} ${await res.text()}`);
      const text = await within(
        WAIT_MS,
        `the reply to ${message.method}`,
        stream.until((t) => messagesOf(t).some((m) => m.id === message.id)),
      );
      read = messagesOf(text).length;
      return messagesOf(text).find((m) => m.id === message.id)!;
    },
    async initialize(revision) {
      const params = { protocolVersion: revision, capabilities: {}, clientInfo: { name: 'raw-sse', version: '1' } };
      const reply = await session.request({ id: `init-${revision}`, method: 'initialize', params });
      const res = await session.post({ jsonrpc: '2.0', method: 'notifications/initialized' });
      if (res.status !== 202) throw new Error(`notifications/initialized: ${res.status}`);
      return reply;
    },
  };
  return session;
}
