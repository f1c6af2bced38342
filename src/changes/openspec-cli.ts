/**
 * The real OpenSpec CLI (1.13.x), for what it owns: `init`, `validate`, `archive`. Its commands run in one warm
 * OpenSpec process per repository (openspec-worker.ts): a fresh CLI process costs ~0.5 s (Node start + module
 * load), a command in the warm one tens of milliseconds. Arguments go to OpenSpec's own command parser, no shell.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { TaskError } from '../errors.js';
import type { Layout } from './layout.js';
import { createOpenSpecWorker, WorkerError, type CommandResult, type OnHelper } from './openspec-worker.js';
import { SILENT_PROBE, type DomainProbe } from './probe.js';

/** The package's root: its exports map hides package.json, so walk up from the main entry to find it. */
function packageRoot(): string {
  let dir = path.dirname(createRequire(import.meta.url).resolve('@fission-ai/openspec'));
  while (!existsSync(path.join(dir, 'package.json')) && path.dirname(dir) !== dir) dir = path.dirname(dir);
  return dir;
}

const ROOT = packageRoot();
const PACKAGE_JSON = path.join(ROOT, 'package.json');
/** The module `bin/openspec.js` runs: it exports the CLI's commander program. */
const CLI_MODULE = pathToFileURL(path.join(ROOT, 'dist', 'cli', 'index.js')).href;
const TIMEOUT_MS = 120_000;
/** An archive every few minutes keeps the worker warm; an unused one gives its memory back. */
const IDLE_MS = 5 * 60_000;

/** The installed OpenSpec version, read from its package.json rather than by running it. */
export const OPENSPEC_VERSION: string = (JSON.parse(readFileSync(PACKAGE_JSON, 'utf8')) as { version: string }).version;

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

/** `onHelper` is told the pid of the process about to write to the repository (for the archive lock). */
export interface OpenSpecCli {
  init(onHelper?: OnHelper): Promise<void>;
  validate(slug: string): Promise<Validation>;
  archive(slug: string, onHelper?: OnHelper): Promise<ArchiveOutcome>;
  /** Ends the warm OpenSpec process, if one runs. */
  close(): void;
}

/** The CLI bound to one repository; each command is reported to `probe`. */
export function createOpenSpecCli(layout: Layout, probe: DomainProbe = SILENT_PROBE): OpenSpecCli {
  const worker = createOpenSpecWorker({
    cliModule: CLI_MODULE,
    env: { ...process.env, OPENSPEC_TELEMETRY: '0', OPENSPEC_NO_UPDATE_CHECK: '1', NO_COLOR: '1' },
    timeoutMs: TIMEOUT_MS,
    idleMs: IDLE_MS,
  });
  const run = (args: string[], onHelper?: OnHelper): Promise<CommandResult> =>
    probe.subprocess('openspec', args[0]!, () =>
      worker.run(layout.root, args, onHelper).catch((err: unknown) => {
        throw err instanceof WorkerError ? cliError(args, layout.scrub(err.message), err) : err;
      }),
    );

  const parseJson = (args: string[], result: CommandResult): Record<string, unknown> => {
    try {
      return JSON.parse(result.stdout) as Record<string, unknown>;
    } catch (cause) {
      const said = layout.scrub((result.stderr || result.stdout).trim().split('\n').slice(-3).join(' '));
      throw cliError(args, said || `exit code ${result.exitCode}`, cause);
    }
  };

  return {
    async init(onHelper) {
      const args = ['init', '--tools', 'none', '--no-animation'];
      const result = await run(args, onHelper);
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

    async archive(slug, onHelper) {
      const args = ['archive', slug, '--yes', '--json'];
      const output = parseJson(args, await run(args, onHelper));
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

    close: () => worker.close(),
  };
}

const cliError = (args: string[], said: string, cause?: unknown): TaskError =>
  new TaskError('EOPENSPEC', `openspec ${args[0]} failed: ${said}`, {
    hint: 'Check that the repository is a valid OpenSpec layout (openspec/config.yaml).',
    details: { command: `openspec ${args.join(' ')}` },
    cause,
  });
