/**
 * Where MCP protocol revisions differ in what a server must do, each as the first revision it holds for.
 * Revisions are ISO dates, so their string order is their time order.
 */
export const FROM_REVISION = {
  /** 2025-06-18 removed JSON-RPC batches: a POST "MUST be a single JSON-RPC request, notification, or response". */
  singleMessagePerPost: '2025-06-18',
  /** SEP-1303 (2025-11-25): bad tool arguments are a tool execution error, no longer a protocol error. */
  argumentErrorsAsResults: '2025-11-25',
  /** 2026-07-28 is stateless: no `initialize`; each request carries its revision in `_meta`. */
  stateless: '2026-07-28',
  /**
   * 2026-07-28: an `insufficient_scope` challenge names the scopes the operation needs, and "scope accumulation
   * across operations is a client-side responsibility"; before, clients take its `scope` as the whole set to ask for.
   */
  scopeChallengeNamesTheOperations: '2026-07-28',
} as const;

/** Whether `fact` (a `FROM_REVISION` entry) holds for a request at `revision`. */
export const holds = (fact: keyof typeof FROM_REVISION, revision: string): boolean => revision >= FROM_REVISION[fact];
