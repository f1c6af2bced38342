/**
 * One valid instance of every component schema of the contract, for tests/contract.test.ts, each checked at
 * compile time against the type generated from the same schema (`satisfies`). A schema added to the contract
 * without its example here fails that test.
 */
import type * as T from '../../generated/types.gen.js';

const at = '2026-12-01T10:00:00.000Z';
const later = '2026-12-01T11:00:00.000Z';
const toolVersions = { taskMcp: '0.1.0', openspec: '1.13.2', git: '2.39.5', node: '20.20.2' } satisfies T.ToolVersions;
const lock = { owner: 'alice', since: at, ttl: 3600, expiresAt: later } satisfies T.Lock;
const problem = {
  type: 'https://task-mcp.dev/errors/ELOCKED',
  title: 'The change is locked by another owner',
  status: 409,
  detail: 'add-search is locked by bob.',
  code: 'ELOCKED',
  requestId: 'req-1',
  hint: 'Wait for the lock to expire.',
  details: { holder: 'bob' },
  errors: [{ location: 'body/slug', message: 'is required' }],
} satisfies T.Problem;
const openResult = {
  apiVersion: 'task-mcp/v1',
  slug: 'add-search',
  status: 'open',
  created: true,
  locked: true,
  lock,
  paths: {
    change: 'openspec/changes/add-search',
    proposal: 'openspec/changes/add-search/proposal.md',
    tasks: 'openspec/changes/add-search/tasks.md',
    specs: 'openspec/changes/add-search/specs',
  },
  resourceUris: {
    proposal: 'change://add-search/proposal',
    tasks: 'change://add-search/tasks',
    delta: 'change://add-search/delta',
  },
  toolVersions,
} satisfies T.ChangeOpenResult;
const commit = { sha: 'a'.repeat(40), subject: 'feat: search', author: 'Alice', date: at } satisfies T.Commit;
const receipt = {
  slug: 'add-search',
  archivedAs: '2026-12-01-add-search',
  archivedAt: later,
  actor: 'alice',
  gitRange: { base: 'b'.repeat(40), head: 'a'.repeat(40) },
  commits: [commit],
  commitsTruncated: false,
  filesTouched: ['src/search.ts'],
  filesTruncated: false,
  specsUpdated: { capabilities: ['search'], added: 1, modified: 0, removed: 0, renamed: 0 },
  validation: { checked: true, valid: true, issues: 0 },
  toolVersions,
} satisfies T.Receipt;
const archiveResult = {
  archived: true,
  alreadyArchived: false,
  archivedAs: '2026-12-01-add-search',
  receiptUri: 'change://add-search/receipt',
  receipt,
} satisfies T.ChangeArchiveResult;
const changeEvent = { type: 'change.opened', slug: 'add-search', actor: 'alice', at } satisfies T.ChangeEvent;

export const SCHEMA_EXAMPLES: Record<string, unknown> = {
  Health: { status: 'ok' } satisfies T.Health,
  CheckState: 'degraded' satisfies T.CheckState,
  Readiness: { status: 'ready', checks: { repo: 'ok', rateLimitStore: 'degraded' } } satisfies T.Readiness,
  ErrorCode: 'ELOCKED' satisfies T.ErrorCode,
  Problem: problem,
  ValidationIssue: { location: 'body/slug', message: 'is required' } satisfies T.ValidationIssue,
  JsonRpcMessage: { jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} } satisfies T.JsonRpcMessage,
  SessionId: 'AAAAAAAAAAAAAAAAAAAAAAAA' satisfies T.SessionId,
  Slug: 'add-search' satisfies T.Slug,
  Owner: 'alice@example.test' satisfies T.Owner,
  ToolName: 'change.open' satisfies T.ToolName,
  Template: 'bugfix' satisfies T.Template,
  ChangeOpenInput: {
    title: 'Add search',
    slug: 'add-search',
    rationale: 'Users cannot find things.',
    owner: 'alice',
    ttl: 600,
    template: 'feature',
  } satisfies T.ChangeOpenInput,
  ChangeArchiveInput: { slug: 'add-search', owner: 'alice' } satisfies T.ChangeArchiveInput,
  ToolInput: { slug: 'add-search' } satisfies T.ToolInput,
  Lock: lock,
  ToolVersions: toolVersions,
  ChangeOpenResult: openResult,
  Commit: commit,
  Receipt: receipt,
  ChangeArchiveResult: archiveResult,
  ToolResult: archiveResult satisfies T.ToolResult,
  ProgressStep: 'validate' satisfies T.ProgressStep,
  InvokeEvent: { type: 'end' } satisfies T.InvokeEvent,
  InvokeStart: { type: 'start', tool: 'change_archive', requestId: 'req-1' } satisfies T.InvokeStart,
  InvokeProgress: {
    type: 'progress',
    step: 'lock',
    progress: 3,
    total: 3,
    message: 'locked',
  } satisfies T.InvokeProgress,
  InvokeResult: { type: 'result', result: openResult } satisfies T.InvokeResult,
  InvokeError: { type: 'error', error: problem } satisfies T.InvokeError,
  InvokeHeartbeat: { type: 'heartbeat', at } satisfies T.InvokeHeartbeat,
  InvokeEnd: { type: 'end' } satisfies T.InvokeEnd,
  ChangeEventType: 'lock.released' satisfies T.ChangeEventType,
  ChangeEvent: changeEvent,
  ResetEvent: { type: 'reset', at } satisfies T.ResetEvent,
  UnavailableEvent: { type: 'unavailable', at } satisfies T.UnavailableEvent,
  FeedEvent: { ...changeEvent, type: 'change.archived', archivedAs: '2026-12-01-add-search' } satisfies T.FeedEvent,
  Session: { expiresAt: later } satisfies T.Session,
  ProtectedResourceMetadata: {
    resource: 'https://tasks.example.com/mcp',
    authorization_servers: ['https://auth.example.com'],
    scopes_supported: ['changes:read', 'changes:write'],
    bearer_methods_supported: ['header'],
    resource_name: 'task-mcp',
  } satisfies T.ProtectedResourceMetadata,
};
