/**
 * The one error type every layer throws. It carries a stable code from the contract's `ErrorCode`; what each code
 * means for HTTP (status) and JSON-RPC (numeric code) is the contract's `x-error-map`, applied only at the edges.
 */
import type { ErrorCode } from '../generated/types.gen.js';

export type { ErrorCode };

export interface TaskErrorOptions {
  /** What the caller can do about it. */
  hint?: string;
  /** Data about the failure, safe to show the caller (no absolute server paths, no secrets). */
  details?: Record<string, unknown>;
  cause?: unknown;
}

export class TaskError extends Error {
  override readonly name = 'TaskError';
  readonly hint: string | undefined;
  readonly details: Record<string, unknown> | undefined;

  constructor(
    readonly code: ErrorCode,
    message: string,
    options: TaskErrorOptions = {},
  ) {
    super(message, { cause: options.cause });
    this.hint = options.hint;
    this.details = options.details;
  }
}

export const isTaskError = (err: unknown): err is TaskError => err instanceof TaskError;
