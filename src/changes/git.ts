/**
 * The git operations the domain needs, through simple-git. Failures become ENOTREPO or EGIT with messages scrubbed
 * of server paths.
 */
import { lstat } from 'node:fs/promises';
import path from 'node:path';
import { simpleGit, type SimpleGit } from 'simple-git';
import { TaskError } from '../errors.js';
import type { Layout } from './layout.js';
import { SILENT_PROBE, type DomainProbe } from './probe.js';

/** One commit of a receipt. */
export interface CommitInfo {
  sha: string;
  subject: string;
  author: string;
  date: string;
}

export interface RangeSummary {
  commits: CommitInfo[];
  commitsTruncated: boolean;
  files: string[];
  filesTruncated: boolean;
}

export interface RepoGit {
  /**
   * Throws ENOTREPO unless the root is inside a git work tree. Asks git once; after that, while the work tree's
   * `.git` entry is the very one git was found in (same device and inode), the answer stands without a process.
   */
  assertWorkTree(): Promise<void>;
  /** The full sha of HEAD; EGIT when the repository has no commit yet. */
  head(): Promise<string>;
  /** Whether `rev` names a commit. */
  isCommit(rev: string): Promise<boolean>;
  /** The commits and files of `base..head`, capped. */
  range(base: string, head: string, caps: { commits: number; files: number }): Promise<RangeSummary>;
  /** `git --version`'s number, read once per service. */
  version(): Promise<string>;
}

const FIELD = '\x1f';
const RECORD = '\x1e';

/** A work tree's `.git` (a folder, or the file of a linked work tree) as the file system names it. */
interface GitEntry {
  file: string;
  dev: number;
  ino: number;
}

const gitEntry = (file: string): Promise<GitEntry | undefined> =>
  lstat(file).then(
    ({ dev, ino }) => ({ file, dev, ino }),
    () => undefined,
  );

/** Whether `entry` is still there, unreplaced: `.git` removed, or made again by `git init`, is checked anew. */
const isSameEntry = async (entry: GitEntry): Promise<boolean> => {
  const now = await gitEntry(entry.file);
  return now?.dev === entry.dev && now.ino === entry.ino;
};

const notRepo = (cause?: unknown): TaskError =>
  new TaskError('ENOTREPO', 'The served path is not a git work tree.', {
    hint: 'Point the server at the root of a git repository (run "git init" and commit there first).',
    cause,
  });

/** git bound to the repository at `layout.root`; each run of git is reported to `probe`. */
export function createRepoGit(layout: Layout, probe: DomainProbe = SILENT_PROBE): RepoGit {
  let client: SimpleGit | undefined;
  let versionOnce: Promise<string> | undefined;
  /** The `.git` entry of the work tree git last confirmed; a failed check forgets it. */
  let confirmed: GitEntry | undefined;

  // simple-git throws at construction when the folder does not exist; a server must still start and report it.
  const git = (): SimpleGit => {
    try {
      client ??= simpleGit({ baseDir: layout.root, maxConcurrentProcesses: 4 });
      return client;
    } catch (cause) {
      throw notRepo(cause);
    }
  };

  const run = <T>(subcommand: string, command: () => Promise<T>): Promise<T> =>
    probe.subprocess('git', subcommand, command);

  const gitError = (operation: string, cause: unknown): TaskError =>
    new TaskError(
      'EGIT',
      `git ${operation} failed: ${layout.scrub(String((cause as Error).message ?? cause)).trim()}`,
      {
        details: { operation },
        cause,
      },
    );

  return {
    async assertWorkTree() {
      if (confirmed && (await isSameEntry(confirmed))) return;
      confirmed = undefined;
      // Outside a work tree (a plain folder, a bare repository, inside .git) `--show-toplevel` fails.
      const [inside, top] = await run('rev-parse', () => git().revparse(['--is-inside-work-tree', '--show-toplevel']))
        .then((out) => out.split('\n').map((line) => line.trim()))
        .catch((cause: unknown) => {
          throw notRepo(cause);
        });
      if (inside !== 'true' || !top) throw notRepo();
      confirmed = await gitEntry(path.join(top, '.git'));
    },

    async head() {
      try {
        return (await run('rev-parse', () => git().revparse(['--verify', 'HEAD^{commit}']))).trim();
      } catch (cause) {
        throw new TaskError('EGIT', 'The repository has no commit yet, so a change has no base to start from.', {
          hint: 'Make an initial commit, then open the change again.',
          details: { operation: 'rev-parse HEAD' },
          cause,
        });
      }
    },

    async isCommit(rev) {
      if (!/^[0-9a-f]{7,64}$/.test(rev)) return false;
      return run('rev-parse', () => git().revparse(['--verify', '--quiet', `${rev}^{commit}`])).then(
        () => true,
        () => false,
      );
    },

    async range(base, head, caps) {
      try {
        const log = await run('log', () =>
          git().raw([
            'log',
            `--max-count=${caps.commits + 1}`,
            `--format=%H${FIELD}%s${FIELD}%an${FIELD}%aI${RECORD}`,
            `${base}..${head}`,
          ]),
        );
        const commits = log
          .split(RECORD)
          .map((line) => line.trim())
          .filter(Boolean)
          .map((line) => {
            const [sha = '', subject = '', author = '', date = ''] = line.split(FIELD);
            return { sha, subject, author, date };
          });
        const diff = await run('diff', () => git().raw(['diff', '--name-only', '--no-renames', '-z', base, head]));
        const files = diff.split('\0').filter(Boolean);
        return {
          commits: commits.slice(0, caps.commits),
          commitsTruncated: commits.length > caps.commits,
          files: files.slice(0, caps.files),
          filesTruncated: files.length > caps.files,
        };
      } catch (cause) {
        throw gitError('log', cause);
      }
    },

    version() {
      versionOnce ??= run('version', () => git().version())
        .then(({ major, minor, patch }) => `${major}.${minor}.${patch}`)
        .catch((cause: unknown) => {
          versionOnce = undefined;
          throw gitError('--version', cause);
        });
      return versionOnce;
    },
  };
}
