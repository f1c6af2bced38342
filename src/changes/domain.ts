/**
 * What the domain's operations share: built once per service by `createChangeService`, passed down explicitly.
 */
import type { ToolVersions } from '../../generated/types.gen.js';
import type { ArchiveLock } from './archive-lock.js';
import type { RepoGit } from './git.js';
import type { Layout } from './layout.js';
import type { OpenSpecCli } from './openspec-cli.js';
import type { DomainProbe } from './probe.js';
import type { ChangeEventSink } from './types.js';

export interface Domain {
  layout: Layout;
  git: RepoGit;
  cli: OpenSpecCli;
  /** The repository's archive lock (also taken by the first `openspec init`). */
  archiveLock: ArchiveLock;
  events: ChangeEventSink;
  /** Where the domain reports what it did (metrics, traces). */
  probe: DomainProbe;
  clock: () => Date;
  /** task-mcp, OpenSpec, git and Node versions (git's is read once). */
  toolVersions(): Promise<ToolVersions>;
}
