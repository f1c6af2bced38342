/**
 * Starts the real server (the same composition as `npm start`) on a free port of 127.0.0.1, with real TLS and a
 * temp git repository, and captures its JSON log lines. Every test stops what it starts: call `stop()`.
 */
import { EventEmitter } from 'node:events';
import { Writable } from 'node:stream';
import type { ChangeService } from '../../src/changes/types.js';
import { startTaskMcp, type TaskMcp } from '../../src/compose.js';
import { fixture } from './fixture.js';
import { createTempRepo, type TempRepo } from './repo.js';
import { testCertificate } from './tls.js';
import { within } from './within.js';

export const TOKENS = { alice: 'alice-token-0123456789abcdef', bob: 'bob-token-0123456789abcdef' } as const;

export interface TestServer {
  url: string;
  server: TaskMcp;
  repo: TempRepo;
  /** `fetch` that trusts the test certificate. */
  fetch: typeof globalThis.fetch;
  /** `fetch` with alice's bearer token. */
  authed(path: string, init?: RequestInit): Promise<Response>;
  /** The server's log records so far. */
  logs(): Array<Record<string, unknown>>;
  /**
   * The first log record `match` accepts, waiting for the server to write it (a request's line comes when its
   * response ends, so it may trail the response); rejects after `ms`.
   */
  waitForLog(match: (record: Record<string, unknown>) => boolean, ms?: number): Promise<Record<string, unknown>>;
  /** The raw log text so far (to check nothing secret is in it). */
  rawLogs(): string;
  stop(): Promise<void>;
}

export interface StartOptions {
  env?: Record<string, string>;
  /** Serve this repository instead of a fresh temp one (it is not removed on stop). */
  repo?: TempRepo;
  /** Plain HTTP (`TLS=off`). */
  plain?: boolean;
  /** Wraps the real domain service (to make it fail in ways a repository cannot). */
  decorateService?: (service: ChangeService) => ChangeService;
}

export async function startServer(options: StartOptions = {}): Promise<TestServer> {
  const cert = await testCertificate();
  const repo = options.repo ?? (await createTempRepo());
  let raw = '';
  const written = new EventEmitter();
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      raw += chunk.toString();
      written.emit('write');
      done();
    },
  });
  const logs = (): Array<Record<string, unknown>> =>
    raw
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  const tls = options.plain ? { TLS: 'off' } : { TLS_CERT: cert.certPath, TLS_KEY: cert.keyPath };
  const server = await startTaskMcp(
    {
      HOST: '127.0.0.1',
      PORT: '0',
      TASK_MCP_TOKENS: `alice:${TOKENS.alice},bob:${TOKENS.bob}`,
      REPO_ROOT: repo.root,
      LOG_LEVEL: 'info',
      ...tls,
      ...options.env,
    },
    { logDestination: sink, decorateService: options.decorateService },
  );
  const fetch = options.plain ? globalThis.fetch : cert.fetch;
  return {
    url: server.url,
    server,
    repo,
    fetch,
    authed: (path, init = {}) =>
      fetch(server.url + path, {
        ...init,
        headers: { Authorization: `Bearer ${TOKENS.alice}`, ...(init.headers as Record<string, string>) },
      }),
    logs,
    waitForLog(match, ms = 5000) {
      const found = (): Record<string, unknown> | undefined => logs().find(match);
      let listener: (() => void) | undefined;
      const arrival = new Promise<Record<string, unknown>>((resolve) => {
        listener = () => {
          const record = found();
          if (record) resolve(record);
        };
        written.on('write', listener);
        listener();
      });
      return within(ms, 'the awaited log line', arrival).finally(() => written.off('write', listener!));
    },
    rawLogs: () => raw,
    async stop() {
      await server.stop(1000);
      if (!options.repo) await repo.remove();
    },
  };
}

/**
 * A server for the tests of the enclosing suite: started before the first, stopped after the last (see `fixture`).
 *
 * @example
 * describe('the routes', () => {
 *   const s = useServer({ env: { HEARTBEAT_MS: '50' } });
 *   it('answers', async () => assert.equal((await s.fetch(`${s.url}/healthz`)).status, 200));
 * });
 */
export const useServer = (options: StartOptions = {}): TestServer =>
  fixture(
    () => startServer(options),
    (s) => s.stop(),
  );

/** `git status --porcelain` of the served repository, untracked files listed one by one: what calls changed. */
export const gitStatus = (repo: TempRepo): Promise<string> =>
  repo.git.raw(['status', '--porcelain', '--untracked-files=all']);
