/**
 * The official MCP conformance suite, run from its pinned copies in tests/conformance/suite (a project of its own,
 * installed by the root postinstall, with the Node ≥ 22 the suite needs), and its per-check results compared with
 * tests/conformance/baseline.json.
 */
import { execFile } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** What a check ended with: `"SUCCESS"`, or the suite's status and message with our reason for it. */
export type Outcome = 'SUCCESS' | { status: string; message: string; reason?: string };

/** The expected outcome of every check of one spec revision, keyed `scenario/check-id` (`… #2` for a repeat). */
export interface RevisionBaseline {
  checks: Record<string, Outcome>;
  /**
   * Checks whose outcome differs over HTTPS (through limits of the suite's own clients), replacing the entry in
   * `checks`; status `NOT RUN` for a check the suite does not reach over HTTPS.
   */
  overHttps: Record<string, Outcome>;
}

/** The suite's package for each spec revision (aliases in tests/conformance/suite/package.json) and its arguments. */
export const SUITES = {
  '2026-07-28': { package: 'conformance-2026-07-28', args: ['--requirements', '2026-07-28'] },
  '2025-11-25': { package: 'conformance-2025-11-25', args: [] },
} as const;

export type Revision = keyof typeof SUITES;

const SUITE_DIR = fileURLToPath(new URL('../conformance/suite/', import.meta.url));
const requireFromSuite = createRequire(join(SUITE_DIR, 'package.json'));

/** The installed file of `pkg` at `path` (from its package.json's directory), or a message saying how to install. */
function suiteFile(pkg: string, path: (manifest: { bin?: Record<string, string> }) => string | undefined): string {
  let manifestPath: string;
  try {
    manifestPath = requireFromSuite.resolve(`${pkg}/package.json`);
  } catch {
    throw new Error(`${pkg} is not installed in tests/conformance/suite: run npm ci (its postinstall installs it)`);
  }
  const manifest = requireFromSuite(manifestPath) as { bin?: Record<string, string> };
  const file = path(manifest);
  if (!file) throw new Error(`${pkg} has no such bin`);
  return join(dirname(manifestPath), file);
}

export interface SuiteRun {
  /** Exit code of the suite (1 when any check failed), or null when it was killed. */
  code: number | null;
  /** The suite's output, for a failure message. */
  output: string;
}

/**
 * Runs the server scenarios of `revision` against `url` and saves their results under `outDir`. `ca` is a PEM
 * file the suite's clients trust besides the system's (the test certificate). Bounded by `timeoutMs`.
 */
export function runSuite(revision: Revision, url: string, outDir: string, ca?: string, timeoutMs = 240_000) {
  const { package: pkg, args } = SUITES[revision];
  const node = suiteFile('node', () => 'bin/node');
  const entry = suiteFile(pkg, (manifest) => manifest.bin?.conformance);
  // A minimal environment: the test runner's own variables (NODE_TEST_CONTEXT…) must not reach the suite's Node.
  const env = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '',
    ...(ca ? { NODE_EXTRA_CA_CERTS: ca } : {}),
  };
  return new Promise<SuiteRun>((resolve) => {
    execFile(
      node,
      [entry, 'server', '--url', url, '--output-dir', outDir, ...args],
      { env, timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 16 << 20 },
      (err, stdout, stderr) => {
        const failed = err as (Error & { code?: number | string; killed?: boolean }) | null;
        const code = !failed ? 0 : failed.killed || typeof failed.code !== 'number' ? null : failed.code;
        resolve({ code, output: stdout + stderr });
      },
    );
  });
}

interface Check {
  id: string;
  status: string;
  errorMessage?: string;
  details?: { message?: unknown; note?: unknown };
}

/** The outcome of every check the suite wrote under `outDir` (one `server-<scenario>-<timestamp>/checks.json` each). */
export async function readResults(outDir: string): Promise<Record<string, Outcome>> {
  const results: Record<string, Outcome> = {};
  for (const name of (await readdir(outDir)).sort()) {
    const scenario = /^server-(.+)-\d{4}-\d{2}-\d{2}T[\d-]+Z$/.exec(name)?.[1];
    if (!scenario) throw new Error(`unexpected entry in the suite's results: ${name}`);
    const checks = JSON.parse(await readFile(join(outDir, name, 'checks.json'), 'utf8')) as Check[];
    const seen = new Map<string, number>();
    for (const check of checks) {
      const key = `${scenario}/${check.id}`;
      const n = (seen.get(key) ?? 0) + 1;
      seen.set(key, n);
      results[n === 1 ? key : `${key} #${n}`] = outcomeOf(check);
    }
  }
  return results;
}

function outcomeOf(check: Check): Outcome {
  if (check.status === 'SUCCESS') return 'SUCCESS';
  const detail = check.details?.message ?? check.details?.note;
  return { status: check.status, message: check.errorMessage ?? (typeof detail === 'string' ? detail : '') };
}

const NOT_RUN = 'NOT RUN';

/** The baseline's expectation for one transport: over HTTPS, `overHttps` replaces the entries it names. */
export function expectedFor(baseline: RevisionBaseline, https: boolean): Record<string, Outcome> {
  if (!https) return baseline.checks;
  const merged = Object.entries({ ...baseline.checks, ...baseline.overHttps });
  return Object.fromEntries(merged.filter(([, outcome]) => outcome === 'SUCCESS' || outcome.status !== NOT_RUN));
}

/** What is wrong with the baseline itself: a check that does not pass without a reason, an override of nothing. */
export function baselineIssues(baseline: RevisionBaseline): string[] {
  const issues: string[] = [];
  for (const [key, outcome] of [...Object.entries(baseline.checks), ...Object.entries(baseline.overHttps)]) {
    if (outcome !== 'SUCCESS' && !outcome.reason?.trim()) issues.push(`${key}: does not pass and gives no reason`);
  }
  for (const key of Object.keys(baseline.overHttps)) {
    if (!(key in baseline.checks)) issues.push(`${key}: overHttps names a check that is not in checks`);
  }
  return issues;
}

const show = (outcome: Outcome): string =>
  outcome === 'SUCCESS' ? 'SUCCESS' : `${outcome.status} ${JSON.stringify(outcome.message)}`;

/** One line per check whose outcome is not the expected one, saying which way it changed; [] when all match. */
export function differences(actual: Record<string, Outcome>, expected: Record<string, Outcome>): string[] {
  const keys = [...new Set([...Object.keys(expected), ...Object.keys(actual)])].sort();
  return keys.flatMap((key) => {
    const want = expected[key];
    const got = actual[key];
    if (want === undefined) return [`${key}: new check, ${show(got!)}: add it to the baseline`];
    if (got === undefined) return [`${key}: expected ${show(want)} but the suite did not run it: remove it`];
    if (got === 'SUCCESS' && want === 'SUCCESS') return [];
    if (got === 'SUCCESS') {
      const { reason } = want as { reason?: string };
      return [`${key}: NEWLY PASSES (baseline: ${show(want)}, because: ${reason}): make it "SUCCESS"`];
    }
    if (want === 'SUCCESS') return [`${key}: NEWLY FAILS: ${show(got)} (baseline: SUCCESS)`];
    if (got.status === want.status && got.message === want.message) return [];
    return [`${key}: still does not pass, but now ${show(got)} (baseline: ${show(want)})`];
  });
}
