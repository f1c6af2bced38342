/**
 * What the domain reports while it works: how long a change operation took and how it ended, each subprocess it
 * ran, each lock it found held, each interrupted archive it put right. The metrics and the traces listen through
 * this (the composition root builds it); the domain knows neither, and reports to nobody when none is given.
 */
import type { ErrorCode } from '../../generated/types.gen.js';
import { isTaskError } from '../errors.js';

/** Which lock a call found held: a change's own, or the repository's archive lock. */
export type ContendedLock = 'change' | 'archive';

/** What recovering an interrupted archive did (see recovery.ts). */
export type RecoveryAction = 'rolled_back' | 'completed' | 'debris_cleared';

export interface DomainProbe {
  /** Runs one subprocess (`git log`, `openspec validate`): `run` is the subprocess, measured and traced. */
  subprocess<T>(command: 'git' | 'openspec', subcommand: string, run: () => Promise<T>): Promise<T>;
  changeOperation(record: {
    operation: 'change.open' | 'change.archive';
    outcome: 'ok' | ErrorCode;
    seconds: number;
  }): void;
  lockContended(lock: ContendedLock): void;
  archiveRecovered(action: RecoveryAction): void;
}

/** The probe of a domain nobody observes. */
export const SILENT_PROBE: DomainProbe = {
  subprocess: (_command, _subcommand, run) => run(),
  changeOperation: () => undefined,
  lockContended: () => undefined,
  archiveRecovered: () => undefined,
};

/** Reports an ELOCKED refusal of `work` as contention of `lock`, and passes the refusal on. */
export async function reportingContention<T>(probe: DomainProbe, lock: ContendedLock, work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (err) {
    if (isTaskError(err) && err.code === 'ELOCKED') probe.lockContended(lock);
    throw err;
  }
}

/** Runs change operation `operation`, reporting its duration and its outcome (`ok` or the error code). */
export async function measuredOperation<T>(
  probe: DomainProbe,
  operation: 'change.open' | 'change.archive',
  work: () => Promise<T>,
): Promise<T> {
  const started = performance.now();
  const report = (outcome: 'ok' | ErrorCode): void =>
    probe.changeOperation({ operation, outcome, seconds: (performance.now() - started) / 1000 });
  try {
    const result = await work();
    report('ok');
    return result;
  } catch (err) {
    report(isTaskError(err) ? err.code : 'EINTERNAL');
    throw err;
  }
}
