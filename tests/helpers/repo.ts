/**
 * Temporary git repositories for tests (real `git`, an initial commit, removed afterwards), and the fixtures the
 * change-domain tests share: a service over such a repo that records its events, and the edits an agent makes to
 * get a change ready to archive.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { simpleGit, type SimpleGit } from 'simple-git';
import { createChangeService, type ChangeEvent, type ChangeService } from '../../src/changes/index.js';
import { TaskError } from '../../src/errors.js';
import { fixture } from './fixture.js';

export interface TempRepo {
  /** The work tree's canonical absolute path. */
  root: string;
  git: SimpleGit;
  /** Writes `text` to the repo-relative `file`, stages everything and commits; returns the new sha. */
  commit(message: string, file?: string, text?: string): Promise<string>;
  remove(): Promise<void>;
}

/** A temp folder (under `parent`, default the system's) that is not a git repository, removed by the returned function. */
export async function createTempDir(
  prefix = 'task-mcp-plain-',
  parent = tmpdir(),
): Promise<{ dir: string; remove(): Promise<void> }> {
  const dir = await realpath(await mkdtemp(path.join(parent, prefix)));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

/**
 * A fresh repository with one commit (`README.md`), or none when `initialCommit` is false; under `parent` (a
 * mount made for the test, say) when given.
 */
export async function createTempRepo(options: { initialCommit?: boolean; parent?: string } = {}): Promise<TempRepo> {
  const { dir: root, remove } = await createTempDir('task-mcp-repo-', options.parent);
  const git = simpleGit({ baseDir: root });
  await git.init();
  await git.addConfig('user.name', 'Test Author');
  await git.addConfig('user.email', 'author@example.test');
  await git.addConfig('commit.gpgsign', 'false');
  const commit = async (message: string, file?: string, text?: string): Promise<string> => {
    if (file) await writeFile(path.join(root, file), text ?? `${message}\n`);
    await git.add(['-A']);
    await git.commit(message, { '--allow-empty': null });
    return (await git.revparse(['HEAD'])).trim();
  };
  if (options.initialCommit !== false) await commit('initial commit', 'README.md', '# test repo\n');
  return { root, git, commit, remove };
}

export interface Harness {
  service: ChangeService;
  events: ChangeEvent[];
  /** Moves the injected clock. */
  setNow(date: Date): void;
}

/** A change service over `repo` with a settable clock. */
export function serve(repo: TempRepo | string, start = new Date()): Harness {
  let now = start;
  const events: ChangeEvent[] = [];
  const service = createChangeService({
    repoRoot: typeof repo === 'string' ? repo : repo.root,
    events: { emit: (event) => events.push(event) },
    clock: () => now,
    version: '0.0.0-test',
  });
  return { service, events, setNow: (date) => (now = date) };
}

/** A temp repository for the tests of the enclosing suite: made before the first, removed after the last. */
export const useTempRepo = (options: Parameters<typeof createTempRepo>[0] = {}): TempRepo =>
  fixture(
    () => createTempRepo(options),
    (repo) => repo.remove(),
  );

/**
 * A temp repository and a change service over it (`serve`) for the tests of the enclosing suite: the setup every
 * domain suite shares. Add a `before` after it for what the suite needs in the repository.
 *
 * @example
 * const { repo, h } = useServedRepo();
 * it('opens', async () => assert.equal((await h.service.open(input, { actor: 'alice' })).created, true));
 */
export function useServedRepo(): { repo: TempRepo; h: Harness } {
  const repo = useTempRepo();
  const h = fixture(
    async () => serve(repo),
    async () => undefined,
  );
  return { repo, h };
}

/** A strict, valid ADDED delta for `capability`. */
export const addedDelta = (requirement: string) =>
  [
    '## ADDED Requirements',
    '',
    `### Requirement: ${requirement}`,
    `The system SHALL ${requirement.toLowerCase()}.`,
    '',
    '#### Scenario: it happens',
    '- **WHEN** a user asks',
    '- **THEN** it happens',
    '',
  ].join('\n');

/** Writes a delta spec into the change, in the repo at `root`. */
export async function writeDelta(root: string, slug: string, capability: string, text: string): Promise<void> {
  const dir = path.join(root, 'openspec', 'changes', slug, 'specs', capability);
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, 'spec.md'), text);
}

/** Checks every task of the change. */
export async function checkAllTasks(root: string, slug: string): Promise<void> {
  const file = path.join(root, 'openspec', 'changes', slug, 'tasks.md');
  await writeFile(file, (await readFile(file, 'utf8')).replaceAll('- [ ]', '- [x]'));
}

/** Asserts that `promise` rejects with a TaskError of `code` that leaks no absolute path; returns the error. */
export async function rejectsWith(promise: Promise<unknown>, code: string, root?: string): Promise<TaskError> {
  const err = await promise.then(
    () => assert.fail(`expected ${code}, got a result`),
    (e: unknown) => e,
  );
  assert.ok(err instanceof TaskError, `expected a TaskError, got ${String(err)}`);
  assert.equal(err.code, code, err.message);
  const exposed = JSON.stringify({ message: err.message, hint: err.hint, details: err.details });
  if (root) assert.ok(!exposed.includes(root), `the error exposes a server path: ${exposed}`);
  assert.ok(!/\n\s+at /.test(exposed), 'the error exposes a stack');
  return err;
}
