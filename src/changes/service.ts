/**
 * The change service: change.open, change.archive and the read-only resources over one git repository laid out
 * the OpenSpec 1.x way. Holds no state a second process serving the same repository would need: locks, journal and
 * receipts all live in the repository.
 */
import path from 'node:path';
import type { ToolVersions } from '../../generated/types.gen.js';
import { archiveChange } from './archive.js';
import { createArchiveLock } from './archive-lock.js';
import type { Domain } from './domain.js';
import { createRepoGit } from './git.js';
import { createLayout } from './layout.js';
import { openChange } from './open.js';
import { measuredOperation, SILENT_PROBE, type DomainProbe } from './probe.js';
import { recoverAtStart } from './recovery.js';
import { createOpenSpecCli, OPENSPEC_VERSION } from './openspec-cli.js';
import { listActive, readResource } from './resources.js';
import { assertWritable, typingStorageErrors } from './storage-errors.js';
import type { ChangeEventSink, ChangeService } from './types.js';

export interface ChangeServiceDeps {
  /** The repository's work tree root. */
  repoRoot: string;
  /** Where change events go. */
  events: ChangeEventSink;
  /** The time source for locks, receipts and events; defaults to the system clock. */
  clock?: () => Date;
  /** task-mcp's version, for `toolVersions`. */
  version: string;
  /** Where the domain reports its operations, subprocesses, contention and recoveries; nowhere by default. */
  probe?: DomainProbe;
}

/**
 * Builds the change service for one repository.
 *
 * @example
 * const changes = createChangeService({ repoRoot: '/srv/repo', events: { emit: () => {} }, version: '0.1.0' });
 * await changes.open({ slug: 'add-login', title: 'Add login' }, { actor: 'ci' });
 */
export function createChangeService(deps: ChangeServiceDeps): ChangeService {
  if (typeof deps.repoRoot !== 'string' || deps.repoRoot === '') throw new TypeError('repoRoot must be a path');
  if (typeof deps.events?.emit !== 'function') throw new TypeError('events must have an emit(event) method');
  if (typeof deps.version !== 'string' || deps.version === '') throw new TypeError('version must be a string');
  const layout = createLayout(path.resolve(deps.repoRoot));
  const probe = deps.probe ?? SILENT_PROBE;
  const git = createRepoGit(layout, probe);
  const cli = createOpenSpecCli(layout, probe);
  const domain: Domain = {
    layout,
    git,
    cli,
    archiveLock: createArchiveLock(layout.archiveLock, { onContended: () => probe.lockContended('archive') }),
    events: deps.events,
    probe,
    clock: deps.clock ?? (() => new Date()),
    toolVersions: async (): Promise<ToolVersions> => ({
      taskMcp: deps.version,
      openspec: OPENSPEC_VERSION,
      git: await git.version(),
      node: process.versions.node,
    }),
  };
  return {
    // The one place storage refusals (EROFS, ENOSPC, EDQUOT) become typed errors, wherever in a call they arose.
    open: (input, ctx) =>
      measuredOperation(probe, 'change.open', () => typingStorageErrors(openChange(domain, input, ctx), layout.root)),
    archive: (input, ctx) =>
      measuredOperation(probe, 'change.archive', () =>
        typingStorageErrors(archiveChange(domain, input, ctx), layout.root),
      ),
    listActive: (page) => listActive(domain, page),
    readResource: (uri) => readResource(domain, uri),
    check: () => git.assertWorkTree(),
    checkWritable: () => assertWritable(layout.root),
    recover: () => recoverAtStart(domain),
    close: () => cli.close(),
  };
}
