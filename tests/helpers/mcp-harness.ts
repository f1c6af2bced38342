/**
 * A small Koa app around the MCP routes for the MCP tests, until the app's own `tests/helpers/server.ts` lands:
 * bearer auth, JSON body parsing and contract checks, TaskError → problem+json, over HTTP or real TLS.
 * The domain is the real `createChangeService` when it exists, else a stand-in that writes the same files.
 */
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createHttpsServer, request as httpsRequest } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import Koa from 'koa';
import { pino } from 'pino';
import { generate } from 'selfsigned';
import type { ChangeArchiveResult, ChangeOpenResult, ErrorCode } from '../../generated/types.gen.js';
import type { CallContext, ChangeService } from '../../src/changes/types.js';
import { loadContract, toIssues, type Contract } from '../../src/contract/index.js';
import { TaskError, isTaskError } from '../../src/errors.js';
import { HANDLED, type AppContext, type RequestState } from '../../src/http/handler.js';
import { createMcpRoutes, type McpRoutes, type ToolNames } from '../../src/mcp/index.js';

export const TOKENS = { alice: 'alice-token-0123456789abcdef', bob: 'bob-token-0123456789abcdef' } as const;

let contract: Contract | undefined;
export const getContract = (): Contract => (contract ??= loadContract());

let cert: Promise<{ key: string; cert: string }> | undefined;
/** One self-signed certificate for 127.0.0.1/localhost per test process. */
export const testCert = (): Promise<{ key: string; cert: string }> =>
  (cert ??= generate([{ name: 'commonName', value: 'localhost' }], {
    keySize: 2048,
    algorithm: 'sha256',
    extensions: [
      { name: 'basicConstraints', cA: true },
      {
        name: 'subjectAltName',
        altNames: [
          { type: 2, value: 'localhost' },
          { type: 7, ip: '127.0.0.1' },
        ],
      },
    ],
  }).then((pems) => ({ key: pems.private, cert: pems.cert })));

/** A temp git repository with an OpenSpec layout and one commit. */
export async function makeRepo(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'task-mcp-repo-'));
  await mkdir(join(dir, 'openspec', 'changes', 'archive'), { recursive: true });
  await mkdir(join(dir, 'openspec', 'specs'), { recursive: true });
  await writeFile(join(dir, 'openspec', 'project.md'), '# Project\n');
  const git = (...args: string[]) => execFileSync('git', args, { cwd: dir, stdio: 'pipe' });
  git('init', '-q', '-b', 'main');
  git('-c', 'user.name=t', '-c', 'user.email=t@example.com', 'add', '-A');
  git('-c', 'user.name=t', '-c', 'user.email=t@example.com', 'commit', '-q', '-m', 'init');
  return dir;
}

/** `git status --porcelain` of the repo: what calls changed. */
export const gitStatus = (repo: string): string =>
  execFileSync('git', ['status', '--porcelain', '--untracked-files=all'], { cwd: repo, encoding: 'utf8' });

export interface Harness {
  url: string;
  origin: string;
  repo: string;
  routes: McpRoutes;
  ca?: string;
  service: ChangeService;
  close(): Promise<void>;
}

export interface HarnessOptions {
  tls?: boolean;
  toolNames?: ToolNames;
  heartbeatMs?: number;
  allowedOrigins?: string[];
  bindHost?: string;
  /** Wraps the domain (to inject faults). */
  wrap?: (service: ChangeService) => ChangeService;
  /** Use the stand-in domain even when the real one exists (archives without a finished change). */
  standIn?: boolean;
}

export async function startHarness(opts: HarnessOptions = {}): Promise<Harness> {
  const repo = await makeRepo();
  const base = opts.standIn ? standIn(repo) : await createService(repo);
  const service = opts.wrap ? opts.wrap(base) : base;
  const c = getContract();
  const routes = createMcpRoutes({
    service,
    contract: c,
    version: '0.1.0',
    heartbeatMs: opts.heartbeatMs ?? 25_000,
    allowedOrigins: opts.allowedOrigins ?? ['https://app.example.com'],
    bindHost: opts.bindHost ?? '127.0.0.1',
    toolNames: opts.toolNames ?? 'safe',
  });
  const app = createApp(c, routes);
  const tls = opts.tls ? await testCert() : undefined;
  const server: HttpServer = tls ? createHttpsServer(tls, app.callback()) : createHttpServer(app.callback());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const origin = `${tls ? 'https' : 'http'}://127.0.0.1:${port}`;
  return {
    url: `${origin}/mcp`,
    origin,
    repo,
    routes,
    service,
    ...(tls && { ca: tls.cert }),
    async close() {
      await routes.closeAll();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await rm(repo, { recursive: true, force: true });
    },
  };
}

function createApp(c: Contract, routes: McpRoutes): Koa<RequestState> {
  const app = new Koa<RequestState>();
  app.silent = true; // client disconnects surface as premature-close errors: not news.
  const log = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
  const h = routes.handlers;
  // The handlers were type-checked per operation where they were written; here they are all alike.
  type AnyHandler = (ctx: AppContext, input: unknown) => Promise<typeof HANDLED | AnyReply>;
  const table: Record<string, AnyHandler | undefined> = {
    'POST /mcp': h.postMcp as unknown as AnyHandler,
    'GET /mcp': h.getMcp as unknown as AnyHandler,
    'DELETE /mcp': h.deleteMcp as unknown as AnyHandler,
    'GET /sse': h.getLegacySse as unknown as AnyHandler,
    'POST /messages': h.postLegacyMessage as unknown as AnyHandler,
  };
  app.use(async (ctx, next) => {
    ctx.state.requestId = randomUUID();
    ctx.state.log = log;
    try {
      await next();
    } catch (err) {
      if (ctx.headerSent || !ctx.writable) return;
      const e = isTaskError(err) ? err : new TaskError('EINTERNAL', 'Internal error');
      const spec = c.errorMap[e.code];
      ctx.status = spec.status;
      ctx.type = 'application/problem+json';
      ctx.body = {
        type: `https://task-mcp.dev/errors/${e.code}`,
        title: spec.title,
        status: spec.status,
        detail: e.message,
        code: e.code,
        requestId: ctx.state.requestId,
        ...(e.details && { details: e.details }),
      };
    }
  });
  app.use(async (ctx: AppContext) => {
    const handler = table[`${ctx.method} ${ctx.path}`];
    if (!handler) throw new TaskError('ENOTFOUND', 'No such route.');
    const name = Object.entries(TOKENS).find(([, t]) => ctx.get('Authorization') === `Bearer ${t}`)?.[0];
    if (!name) throw new TaskError('EAUTH', 'Authentication required.');
    ctx.state.caller = { name, via: 'bearer' };
    let body: unknown;
    if (ctx.method === 'POST') body = await jsonBody(ctx, c);
    const query = { ...ctx.query };
    if (ctx.path === '/messages') check(c, 'SessionId', query.sessionId, 'query/sessionId');
    const reply = await handler(ctx, { body, query, path: {} });
    if (reply === HANDLED) return;
    ctx.status = reply.status;
    if (reply.headers) ctx.set(reply.headers);
    ctx.body = reply.body;
  });
  return app;
}

type AnyReply = { status: number; body: unknown; headers?: Record<string, string> };

async function jsonBody(ctx: AppContext, c: Contract): Promise<unknown> {
  if (!ctx.is('application/json')) throw new TaskError('EUNSUPPORTED_MEDIA', 'The body must be application/json.');
  const chunks: Buffer[] = [];
  for await (const chunk of ctx.req) chunks.push(chunk as Buffer);
  let body: unknown;
  try {
    body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new TaskError('EBADJSON', 'The body is not valid JSON.');
  }
  check(c, 'JsonRpcMessage', body, 'body');
  return body;
}

function check(c: Contract, schema: string, value: unknown, where: string): void {
  const validate = c.validator(schema);
  if (!validate(value)) {
    const issues = toIssues(validate.errors ?? []).map((i) => ({ ...i, location: `${where}/${i.location}` }));
    throw new TaskError('EBADINPUT', 'The request does not match the contract.', { details: { issues } });
  }
}

async function createService(repoRoot: string): Promise<ChangeService> {
  const path = '../../src/changes/service.js';
  const real = (await import(path).catch(() => undefined)) as
    | { createChangeService(deps: { repoRoot: string; events: { emit(): void }; version: string }): ChangeService }
    | undefined;
  return real ? real.createChangeService({ repoRoot, events: { emit() {} }, version: '0.1.0' }) : standIn(repoRoot);
}

/** The domain's observable behaviour for these tests: scaffold files, lock per owner, archive with progress. */
function standIn(repo: string): ChangeService {
  const locks = new Map<string, string>();
  const fail = (code: ErrorCode, message: string, details?: Record<string, unknown>) => {
    throw new TaskError(code, message, details && { details });
  };
  const versions = { taskMcp: '0.1.0', openspec: 'stand-in' };
  return {
    async open(input, ctx: CallContext): Promise<ChangeOpenResult> {
      const owner = input.owner ?? ctx.actor;
      const holder = locks.get(input.slug);
      if (holder !== undefined && holder !== owner)
        fail('ELOCKED', `${input.slug} is locked by ${holder}.`, { owner: holder });
      const dir = `openspec/changes/${input.slug}`;
      const created = holder === undefined;
      if (created) {
        await mkdir(join(repo, dir, 'specs'), { recursive: true });
        await writeFile(join(repo, dir, 'proposal.md'), `# ${input.title}\n\n## Why\n${input.rationale ?? ''}\n`);
        await writeFile(join(repo, dir, 'tasks.md'), '## 1. Tasks\n- [ ] 1.1 Do it\n');
      }
      locks.set(input.slug, owner);
      const since = new Date();
      const ttl = input.ttl ?? 3600;
      return {
        apiVersion: 'task-mcp/v1',
        slug: input.slug,
        status: 'open',
        created,
        locked: true,
        lock: {
          owner,
          since: since.toISOString(),
          ttl,
          expiresAt: new Date(since.getTime() + ttl * 1000).toISOString(),
        },
        paths: { change: dir, proposal: `${dir}/proposal.md`, tasks: `${dir}/tasks.md`, specs: `${dir}/specs` },
        resourceUris: {
          proposal: `change://${input.slug}/proposal`,
          tasks: `change://${input.slug}/tasks`,
          delta: `change://${input.slug}/delta/{path}`,
        },
        toolVersions: versions,
      };
    },
    async archive(input, ctx): Promise<ChangeArchiveResult> {
      if (!locks.has(input.slug)) fail('ENOCHANGE', `No change ${input.slug}.`);
      ctx.progress?.('validate', 1, 3);
      ctx.progress?.('archive', 2, 3);
      ctx.progress?.('receipt', 3, 3);
      const archivedAs = `2026-11-20-${input.slug}`;
      return {
        archived: true,
        alreadyArchived: false,
        archivedAs,
        receiptUri: `change://${input.slug}/receipt`,
        receipt: {
          slug: input.slug,
          archivedAs,
          archivedAt: new Date().toISOString(),
          actor: ctx.actor,
          gitRange: { base: 'a', head: 'b' },
          commits: [],
          commitsTruncated: false,
          filesTouched: [],
          filesTruncated: false,
          specsUpdated: { capabilities: [], added: 0, modified: 0, removed: 0, renamed: 0 },
          validation: { valid: true, issues: 0 },
          toolVersions: versions,
        },
      };
    },
    async listActive() {
      return {
        changes: [...locks.keys()].map((slug) => ({ slug, title: slug, lock: null, tasks: { done: 0, total: 1 } })),
      };
    },
    async readResource(uri) {
      if (uri === 'changes://active') {
        return { uri, mimeType: 'application/json', text: JSON.stringify(await this.listActive()) };
      }
      const m = /^change:\/\/([^/]+)\/(proposal|tasks)$/.exec(uri);
      if (!m) return fail('ENOTFOUND', `No resource ${uri}.`);
      if (!locks.has(m[1]!)) return fail('ENOCHANGE', `No change ${m[1]}.`);
      const text = await readFile(join(repo, 'openspec/changes', m[1]!, `${m[2]}.md`), 'utf8');
      return { uri, mimeType: 'text/markdown', text };
    },
    async listDeltas() {
      return [];
    },
    async check() {},
  };
}

/**
 * A `fetch` that trusts `ca` for this one client, over node:https: Node's built-in fetch takes no CA option,
 * and turning verification off (or trusting the cert process-wide) would test less than a real client does.
 */
export function fetchTrusting(ca: string): typeof fetch {
  return (input, init) =>
    new Promise<Response>((resolve, reject) => {
      const url = new URL(input instanceof Request ? input.url : String(input));
      const headers = Object.fromEntries(
        new Headers(init?.headers ?? (input instanceof Request ? input.headers : undefined)),
      );
      const method = init?.method ?? 'GET';
      const req = httpsRequest(url, { method, headers, ca, ...(init?.signal && { signal: init.signal }) }, (res) => {
        const out = new Headers();
        for (const [name, value] of Object.entries(res.headers))
          for (const v of [value ?? []].flat()) out.append(name, v);
        const status = res.statusCode ?? 500;
        const empty = status === 204 || status === 304 || method === 'HEAD';
        if (empty) res.resume();
        resolve(
          new Response(empty ? null : (Readable.toWeb(res) as ReadableStream<Uint8Array>), { status, headers: out }),
        );
      });
      req.on('error', reject);
      req.end(typeof init?.body === 'string' ? init.body : undefined);
    });
}
