/**
 * RFC 9457 problem details: every HTTP error leaves through here, with its stable code and the request id.
 */
import { ERROR_MAP } from '../contract/index.js';
import type { ErrorCode, Problem, ValidationIssue } from '../../generated/types.gen.js';
import { TaskError, isTaskError } from '../errors.js';

export const PROBLEM_TYPE = 'application/problem+json';

/** Where a code's documentation lives; stable, so clients may switch on it. */
const typeUri = (code: ErrorCode): string => `https://task-mcp.dev/errors/${code}`;

/** The problem body for `err`. Unknown errors give away nothing but the request id. */
export function toProblem(err: unknown, requestId: string): Problem {
  const error = isTaskError(err)
    ? err
    : new TaskError('EINTERNAL', 'The server failed; the request id finds the cause in its logs.');
  const spec = ERROR_MAP[error.code];
  const problem: Problem = {
    type: typeUri(error.code),
    title: spec.title,
    status: spec.status,
    detail: error.message,
    code: error.code,
    requestId,
  };
  if (error.hint) problem.hint = error.hint;
  const { issues, ...details } = error.details ?? {};
  if (Array.isArray(issues)) problem.errors = issues as ValidationIssue[];
  if (Object.keys(details).length > 0) problem.details = details;
  return problem;
}

/**
 * A TaskError for a request that does not match the contract. A path parameter names a resource, so one the
 * contract does not know (an unknown tool) is a 404; anything else is a 400.
 */
export function invalidRequest(issues: ValidationIssue[]): TaskError {
  const code = issues.some((issue) => issue.location.startsWith('path/')) ? 'ENOTFOUND' : 'EBADINPUT';
  const what = code === 'ENOTFOUND' ? 'No such resource' : 'The request does not match the contract';
  return new TaskError(code, `${what}: ${issues.map(describe).join('; ')}`, { details: { issues } });
}

const describe = (issue: ValidationIssue): string => `${issue.location} ${issue.message}`;
