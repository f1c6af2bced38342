/**
 * Requests turned away before any work: by the rate limits (which window) and by authentication or the Origin
 * check (401/403, by the contract's error code and the credential presented). Token values never reach a label;
 * the caller's name does only with `METRICS_CALLER_LABELS=1`.
 */
import { Counter, type Registry } from 'prom-client';
import type { ErrorCode } from '../../generated/types.gen.js';
import { outcomeLabel } from './labels.js';

export type RateWindowName = 'burst' | 'sustained';

/** Which credential a refused request presented (its validity is what the refusal says). */
export type Credential = 'bearer' | 'cookie' | 'none';

export interface AuthRefusalRecord {
  status: 401 | 403;
  /** The problem's code: `EAUTH`, `EFORBIDDEN`, `EFOREIGN_OWNER`. */
  code: ErrorCode;
  credential: Credential;
  /** The authenticated caller, when there was one (a 403 after authentication). */
  caller?: string;
}

export interface RefusalMetrics {
  rateLimited(refusal: { window: RateWindowName; caller?: string }): void;
  authRefused(refusal: AuthRefusalRecord): void;
}

export function refusalMetrics(
  registry: Registry,
  callerLabel: (caller: string | undefined) => string,
): RefusalMetrics {
  const limited = new Counter({
    name: 'task_mcp_rate_limit_refusals_total',
    help: 'Requests refused with 429 by a rate-limit window (burst or sustained).',
    labelNames: ['window', 'caller'],
    registers: [registry],
  });
  const refused = new Counter({
    name: 'task_mcp_auth_refusals_total',
    help: 'Requests refused with 401 or 403, by error code and the credential presented.',
    labelNames: ['http_response_status_code', 'reason', 'credential', 'caller'],
    registers: [registry],
  });
  return {
    rateLimited: ({ window, caller }) => limited.inc({ window, caller: callerLabel(caller) }),
    authRefused: ({ status, code, credential, caller }) =>
      refused.inc({
        http_response_status_code: String(status),
        reason: outcomeLabel(code),
        credential,
        caller: callerLabel(caller),
      }),
  };
}
