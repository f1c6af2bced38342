/**
 * Liveness, readiness and the contract. None needs a token: probes and client generators call them.
 */
import type { CheckState } from '../../../generated/types.gen.js';
import type { Contract } from '../../contract/index.js';
import { TaskError } from '../../errors.js';
import type { Lifecycle } from '../../lifecycle.js';
import type { Handlers } from '../handler.js';
import { toProblem } from '../problem.js';

/** A readiness check: resolves to its state; a rejection counts as `fail`. */
export type ReadinessCheck = () => Promise<CheckState>;

export interface OpsDeps {
  contract: Contract;
  lifecycle: Lifecycle;
  checks: Record<string, ReadinessCheck>;
}

/** Every check's state now, `draining` first; a check that rejects is `fail`. `/readyz` and the metrics read it. */
export async function readinessOf(
  checks: Record<string, ReadinessCheck>,
  lifecycle: Lifecycle,
): Promise<Record<string, CheckState>> {
  const names = Object.keys(checks);
  const states = await Promise.all(names.map((name) => checks[name]!().catch((): CheckState => 'fail')));
  const results: Record<string, CheckState> = { draining: lifecycle.draining ? 'fail' : 'ok' };
  names.forEach((name, i) => (results[name] = states[i]!));
  return results;
}

export function opsHandlers({
  contract,
  lifecycle,
  checks,
}: OpsDeps): Pick<Handlers, 'getHealth' | 'getReadiness' | 'getContract'> {
  return {
    getHealth: async () => ({ status: 200, body: { status: 'ok' } }),

    getContract: async () => ({
      status: 200,
      body: contract.text,
      headers: { 'Content-Type': 'application/yaml; charset=utf-8', 'Cache-Control': 'public, max-age=300' },
    }),

    getReadiness: async (ctx) => {
      const results = await readinessOf(checks, lifecycle);
      const failed = Object.keys(results).filter((name) => results[name] === 'fail');
      if (failed.length === 0) return { status: 200, body: { status: 'ready', checks: results } };
      const err = new TaskError('EUNAVAILABLE', `Not ready: ${failed.join(', ')} failed.`, {
        details: { checks: results },
      });
      return { status: 503, body: toProblem(err, ctx.state.requestId) };
    },
  };
}
