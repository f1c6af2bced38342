/**
 * Readiness as a gauge, read from the same checks as `/readyz` at each scrape: one series per check and state,
 * 1 for the state the check is in and 0 for the others, so a rule can say "Redis degraded for 5 minutes"
 * (`task_mcp_readiness_check{check="eventBus",state="degraded"} == 1`).
 */
import { Gauge, type Registry } from 'prom-client';
import type { CheckState } from '../../generated/types.gen.js';

/** Every check's state now, as `/readyz` reports them (`draining` included). */
export type ReadinessSource = () => Promise<Record<string, CheckState>>;

export interface ReadinessMetrics {
  /** Reads readiness from `source` at every scrape; there is one source per server (a second call replaces it). */
  watchReadiness(source: ReadinessSource): void;
}

const STATES: readonly CheckState[] = ['ok', 'degraded', 'fail'];

export function readinessMetrics(registry: Registry): ReadinessMetrics {
  let source: ReadinessSource | undefined;
  new Gauge({
    name: 'task_mcp_readiness_check',
    help: 'State of each readiness check of /readyz: 1 for its current state (ok, degraded, fail), 0 for the others.',
    labelNames: ['check', 'state'],
    registers: [registry],
    // Several workers (WORKERS > 1) add up to one `/metrics`: a state is on when any worker is in it.
    aggregator: 'max',
    async collect() {
      this.reset();
      if (!source) return;
      for (const [check, current] of Object.entries(await source())) {
        for (const state of STATES) this.set({ check, state }, state === current ? 1 : 0);
      }
    },
  });
  return {
    watchReadiness(next) {
      source = next;
    },
  };
}
