/**
 * Calling the real server's HTTP routes as a test client does and reading what they answer: a tool invoke with a
 * chosen `Accept`, a streamed body read as far as a test needs, the events of an SSE text, a request's log line.
 */
import { TOKENS, type TestServer } from './server.js';

/** Reads a streamed body until `done(text)` holds or it ends; returns the text so far. */
export async function readUntil(res: Response, done: (text: string) => boolean = () => false): Promise<string> {
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let text = '';
  while (!done(text)) {
    const { value, done: ended } = await reader.read();
    if (ended) break;
    text += decoder.decode(value, { stream: true });
  }
  reader.releaseLock();
  return text;
}

/** The events of an SSE text, as the fields each carries (comments dropped). */
export const sseEvents = (text: string) =>
  text
    .split('\n\n')
    .filter((block) => block !== '' && !block.startsWith(':'))
    .map((block) =>
      Object.fromEntries(
        block.split('\n').map((line) => [line.slice(0, line.indexOf(':')), line.slice(line.indexOf(':') + 2)]),
      ),
    );

/** A tool call through `/v1/tools/{tool}/invoke`, as alice unless told otherwise. */
export const invoke = (
  s: TestServer,
  tool: string,
  accept: string,
  body: unknown,
  options: { token?: string; signal?: AbortSignal } = {},
) =>
  s.fetch(`${s.url}/v1/tools/${tool}/invoke`, {
    method: 'POST',
    headers: {
      Authorization: `Bearer ${options.token ?? TOKENS.alice}`,
      'Content-Type': 'application/json',
      Accept: accept,
    },
    body: typeof body === 'string' ? body : JSON.stringify(body),
    signal: options.signal ?? null,
  });

/** The request's log line (written when its response ends). */
export const logLine = (s: TestServer, reqId: string): Promise<Record<string, unknown>> =>
  s.waitForLog((l) => l.reqId === reqId && l.res !== undefined);
