/**
 * A streamed response held open by a test: its status (and a refusal's problem code and scope), how its body
 * ended, and a way to close it.
 */
export interface Held {
  status: number;
  code?: string;
  scope?: string;
  /** Settles with how the body ended (`end`, or the error's message), once it does. */
  ended: Promise<string>;
  close(): void;
}

/** `GET url` with `headers` through `fetch`, held open until `close()`; a refusal is read and closed at once. */
export async function holdStream(
  fetch: typeof globalThis.fetch,
  url: string,
  headers: Record<string, string>,
): Promise<Held> {
  const abort = new AbortController();
  const res = await fetch(url, { headers, signal: abort.signal });
  if (res.status !== 200) {
    const problem = (await res.json()) as { code: string; details?: { scope?: string } };
    const refused = Promise.resolve('refused');
    return { status: res.status, code: problem.code, scope: problem.details?.scope, ended: refused, close() {} };
  }
  const reader = res.body!.getReader();
  const ended = (async () => {
    try {
      while (!(await reader.read()).done);
      return 'end';
    } catch (err) {
      return (err as Error).message;
    }
  })();
  return { status: 200, ended, close: () => abort.abort() };
}
