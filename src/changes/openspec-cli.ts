/**
 * The real OpenSpec CLI (1.13.x), run as a child process for what it owns: `init`, `validate`, `archive`.
 * Each call costs ~0.5 s (Node start + module load), so callers use it only where nothing cheaper will do.
 * No shell: arguments go straight to `execFile`.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { TaskError } from '../errors.js';
import type { Layout } from './layout.js';
import { SILENT_PROBE, type DomainProbe } from './probe.js';

/** The package's root: its exports map hides package.json, so walk up from the main entry to find it. */
function packageRoot(): string {
  let dir = path.dirname(createRequire(import.meta.url).resolve('@fission-ai/openspec'));
  while (!existsSync(path.join(dir, 'package.json')) && path.dirname(dir) !== dir) dir = path.dirname(dir);
  return dir;
}

const ROOT = packageRoot();
const PACKAGE_JSON = path.join(ROOT, 'package.json');
const BIN = path.join(ROOT, 'bin', 'openspec.js');
const TIMEOUT_MS = 120_000;

/**
 * Loaded into every CLI process ahead of OpenSpec (`--import`), so that no CLI writes to the repository unseen:
 * - its stdin is a pipe from the server, which ends when the server dies (a SIGKILL closes it too): the CLI then
 *   exits, rather than go on writing to a repository whose archive lock is about to be taken over;
 * - it waits for one line on stdin before OpenSpec loads: the server first names the CLI's pid in the archive
 *   lock (`onSpawn`), so the lock is never judged abandoned while a CLI it does not name may still write.
 * Bun ignores `--import`: under bun the named pid is the only guard (the lock waits for that process to exit).
 */
const WATCHDOG = `data:text/javascript,${encodeURIComponent(
  [
    "process.stdin.on('end', () => process.exit(1)).on('error', () => process.exit(1));",
    "await new Promise((go) => process.stdin.once('data', go));",
    'process.stdin.unref?.();',
  ].join('\n'),
)}`;

/** The installed OpenSpec version, read from its package.json rather than by running it. */
export const OPENSPEC_VERSION: string = (JSON.parse(readFileSync(PACKAGE_JSON, 'utf8')) as { version: string }).version;

interface RunResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** One issue of `openspec validate --json`. */
export interface ValidationIssue {
  level: string;
  path: string;
  message: string;
}

export interface Validation {
  valid: boolean;
  issues: ValidationIssue[];
}

export interface ArchiveOutcome {
  archivedAs: string;
  totals: { added: number; modified: number; removed: number; renamed: number };
}

/** OpenSpec's archive refusal codes mapped to ours; any other refusal is EOPENSPEC. */
const ARCHIVE_CODES: Record<string, 'ENOCHANGE' | 'EBADSHAPE' | 'ETASKS_INCOMPLETE' | 'EPATH_ESCAPE'> = {
  archive_change_not_found: 'ENOCHANGE',
  archive_validation_failed: 'EBADSHAPE',
  archive_spec_validation_failed: 'EBADSHAPE',
  archive_spec_update_failed: 'EBADSHAPE',
  archive_tasks_incomplete: 'ETASKS_INCOMPLETE',
  archive_change_symlink: 'EPATH_ESCAPE',
  archive_path_outside_root: 'EPATH_ESCAPE',
};

/** Called with the pid of a CLI that writes to the repository, before it may start; it waits for the promise. */
export type OnSpawn = (pid: number) => Promise<void>;

export interface OpenSpecCli {
  init(onSpawn?: OnSpawn): Promise<void>;
  validate(slug: string): Promise<Validation>;
  archive(slug: string, onSpawn?: OnSpawn): Promise<ArchiveOutcome>;
}

/** The CLI bound to one repository; each run is reported to `probe`. */
export function createOpenSpecCli(layout: Layout, probe: DomainProbe = SILENT_PROBE): OpenSpecCli {
  const spawnCli = (args: string[], onSpawn: OnSpawn = async () => {}): Promise<RunResult> =>
    new Promise((resolve, reject) => {
      const env = { ...process.env, OPENSPEC_TELEMETRY: '0', OPENSPEC_NO_UPDATE_CHECK: '1', NO_COLOR: '1' };
      const options = { cwd: layout.root, env, shell: false, timeout: TIMEOUT_MS, maxBuffer: 8 * 1024 * 1024 };
      const child = execFile(process.execPath, ['--import', WATCHDOG, BIN, ...args], options, (err, stdout, stderr) => {
        if (err && typeof err.code !== 'number') reject(cliError(args, layout.scrub(err.message), err));
        else resolve({ exitCode: err ? Number(err.code) : 0, stdout, stderr });
      });
      // Writing "go" to a CLI that already died fails; its exit is what the callback above reports.
      child.stdin?.on('error', () => undefined);
      if (child.pid === undefined) return; // not spawned: the callback reports why
      onSpawn(child.pid).then(
        () => child.stdin?.write('go\n'),
        (err: unknown) => {
          child.kill('SIGKILL');
          reject(err);
        },
      );
    });

  const run = (args: string[], onSpawn?: OnSpawn): Promise<RunResult> =>
    probe.subprocess('openspec', args[0]!, () => spawnCli(args, onSpawn));

  const parseJson = (args: string[], result: RunResult): Record<string, unknown> => {
    try {
      return JSON.parse(result.stdout) as Record<string, unknown>;
    } catch (cause) {
      const said = layout.scrub((result.stderr || result.stdout).trim().split('\n').slice(-3).join(' '));
      throw cliError(args, said || `exit code ${result.exitCode}`, cause);
    }
  };

  return {
    async init(onSpawn) {
      const args = ['init', '--tools', 'none', '--no-animation'];
      const result = await run(args, onSpawn);
      if (result.exitCode !== 0) throw cliError(args, layout.scrub(result.stderr.trim().slice(-300)));
    },

    async validate(slug) {
      const args = ['validate', slug, '--type', 'change', '--strict', '--json', '--no-interactive'];
      const output = parseJson(args, await run(args));
      const item = (output.items as { valid?: boolean; issues?: ValidationIssue[] }[] | undefined)?.[0];
      if (!item) throw cliError(args, 'no validation result');
      const issues = (item.issues ?? []).map(({ level, path: where, message }) => ({
        level,
        path: where,
        message: layout.scrub(message),
      }));
      return { valid: item.valid === true, issues };
    },

    async archive(slug, onSpawn) {
      const args = ['archive', slug, '--yes', '--json'];
      const output = parseJson(args, await run(args, onSpawn));
      const archived = output.archive as Partial<ArchiveOutcome> | null | undefined;
      if (archived?.archivedAs) {
        const totals = { added: 0, modified: 0, removed: 0, renamed: 0, ...archived.totals };
        return { archivedAs: archived.archivedAs, totals };
      }
      const status = (output.status as { code?: string; message?: string }[] | undefined)?.[0];
      const code = (status?.code && ARCHIVE_CODES[status.code]) || 'EOPENSPEC';
      throw new TaskError(code, layout.scrub(status?.message ?? 'openspec archive did not archive the change.'), {
        hint: code === 'EOPENSPEC' ? 'Run "openspec archive <slug>" in the repository to see why.' : undefined,
        details: { openspecCode: status?.code ?? null },
      });
    },
  };
}

const cliError = (args: string[], said: string, cause?: unknown): TaskError =>
  new TaskError('EOPENSPEC', `openspec ${args[0]} failed: ${said}`, {
    hint: 'Check that the repository is a valid OpenSpec layout (openspec/config.yaml).',
    details: { command: `openspec ${args.join(' ')}` },
    cause,
  });
