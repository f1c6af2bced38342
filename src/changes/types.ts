/**
 * The domain's public surface. Inputs and results are the contract's types; nothing here knows of HTTP or MCP.
 */
import type {
  ChangeArchiveInput,
  ChangeArchiveResult,
  ChangeEvent,
  ChangeOpenInput,
  ChangeOpenResult,
  Lock,
  ProgressStep,
} from '../../generated/types.gen.js';

export type { ChangeArchiveInput, ChangeArchiveResult, ChangeEvent, ChangeOpenInput, ChangeOpenResult, Lock };

/** Reports one step of a long call: `progress` of `total` steps done. */
export type ProgressFn = (step: ProgressStep, progress: number, total: number, message?: string) => void;

export interface CallContext {
  /** The caller's token name; the default owner and the receipt's actor. */
  actor: string;
  progress?: ProgressFn;
  /** The request this call serves: names the call in logs (a drain's list of cut calls); the domain ignores it. */
  requestId?: string;
}

/** Where the domain publishes change events; the HTTP layer's feed is one sink. */
export interface ChangeEventSink {
  emit(event: ChangeEvent): void;
}

export interface ActiveChange {
  slug: string;
  title: string;
  lock: Lock | null;
  tasks: { done: number; total: number };
}

export interface ActivePage {
  changes: ActiveChange[];
  nextCursor?: string;
}

export interface ResourceContent {
  uri: string;
  mimeType: string;
  text: string;
}

/** What start-up recovery did, for the log. */
export interface Recovery {
  /** The interrupted archive: none, undone, finished, or left to its live holder (`busy`). */
  archive: 'none' | 'rolled-back' | 'completed' | 'busy';
  /** The leftovers removed, repo-relative. */
  removed: string[];
}

export interface ChangeService {
  open(input: ChangeOpenInput, ctx: CallContext): Promise<ChangeOpenResult>;
  archive(input: ChangeArchiveInput, ctx: CallContext): Promise<ChangeArchiveResult>;
  listActive(page?: { cursor?: string; limit?: number }): Promise<ActivePage>;
  /** Reads `changes://active`, `change://<slug>/proposal|tasks|receipt` or `change://<slug>/delta/<path>`. */
  readResource(uri: string): Promise<ResourceContent>;
  /** Readiness: throws a TaskError when the repository cannot be served. */
  check(): Promise<void>;
  /** Readiness: throws (EREADONLY on a read-only file system) when the repository cannot be written. */
  checkWritable(): Promise<void>;
  /**
   * Puts right what a crash left (an interrupted archive, a dead process's archive lock, temp files) and writes
   * the ignore rules; the composition root calls it once at start.
   */
  recover(): Promise<Recovery>;
  /** Ends the warm OpenSpec process the service runs its CLI commands in, if one runs (a later command starts one). */
  close(): void;
}
