/**
 * The domain's costs: how long `change.open` and `change.archive` take by outcome, how long the git and
 * OpenSpec subprocesses take, how often a lock is contended, what archive recoveries did, and how far the change
 * feed's delivery trails its publication.
 */
import { Counter, Histogram, type Registry } from 'prom-client';
import type { ContendedLock, RecoveryAction } from '../changes/index.js';
import { OTHER, outcomeLabel, type Outcome } from './labels.js';
import { OPERATION_BUCKETS } from './mcp.js';

export interface DomainMetrics {
  changeOperation(record: { operation: 'change.open' | 'change.archive'; outcome: Outcome; seconds: number }): void;
  /** One run of `git <subcommand>` or `openspec <subcommand>`. */
  subprocess(record: { command: 'git' | 'openspec'; subcommand: string; seconds: number }): void;
  lockContended(lock: ContendedLock): void;
  archiveRecovered(action: RecoveryAction): void;
  /** From an event's publication to its delivery to a subscriber, on the in-process or the Redis feed. */
  eventDelivered(record: { bus: 'memory' | 'redis'; seconds: number }): void;
}

const SUBPROCESS_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const DELIVERY_BUCKETS = [0.0005, 0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/** Subcommands are ours (`log`, `rev-parse`, `validate`), never input; the pattern is a backstop. */
const SUBCOMMAND = /^[a-z][a-z0-9-]{0,31}$/;

export function domainMetrics(registry: Registry): DomainMetrics {
  const operations = new Histogram({
    name: 'task_mcp_change_operation_duration_seconds',
    help: 'Duration of change.open and change.archive in the domain, by outcome (ok or the error code).',
    labelNames: ['operation', 'outcome'],
    buckets: OPERATION_BUCKETS,
    registers: [registry],
  });
  const subprocesses = new Histogram({
    name: 'task_mcp_subprocess_duration_seconds',
    help: 'Duration of git and openspec subprocesses, by subcommand.',
    labelNames: ['command', 'subcommand'],
    buckets: SUBPROCESS_BUCKETS,
    registers: [registry],
  });
  const contended = new Counter({
    name: 'task_mcp_lock_contentions_total',
    help: 'Calls refused with ELOCKED, by the lock found held (change or archive).',
    labelNames: ['lock'],
    registers: [registry],
  });
  const recovered = new Counter({
    name: 'task_mcp_archive_recoveries_total',
    help: 'Recoveries of an interrupted archive, by what they did.',
    labelNames: ['action'],
    registers: [registry],
  });
  const delivered = new Histogram({
    name: 'task_mcp_event_delivery_lag_seconds',
    help: 'Time from a change event being published to its delivery to a subscriber.',
    labelNames: ['bus'],
    buckets: DELIVERY_BUCKETS,
    registers: [registry],
  });
  return {
    changeOperation: ({ operation, outcome, seconds }) =>
      operations.observe({ operation, outcome: outcomeLabel(outcome) }, seconds),
    subprocess: ({ command, subcommand, seconds }) =>
      subprocesses.observe({ command, subcommand: SUBCOMMAND.test(subcommand) ? subcommand : OTHER }, seconds),
    lockContended: (lock) => contended.inc({ lock }),
    archiveRecovered: (action) => recovered.inc({ action }),
    eventDelivered: ({ bus, seconds }) => delivered.observe({ bus }, seconds),
  };
}
