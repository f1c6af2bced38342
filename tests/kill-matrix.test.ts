/**
 * kill -9 during change.archive: the real server (`src/main.ts` in a child process) is SIGKILLed at every point of
 * an archive of one change, then restarted on the same repository. The points: each progress event of the archive
 * streamed as NDJSON; the moment `openspec archive` claims its destination (it is then merging specs); and just
 * before each file mutation the server makes for the archive (tests/helpers/crash-at.ts, counted by a first run).
 *
 * After each kill and restart, before any call: the change is open or archived, never both; an archived one has its
 * receipt and its spec merged exactly once, an open one has no merged spec and its lock as it was; no archive lock,
 * journal, CLI claim or temp file is left. Then a JSON archive of that change and of another answers 200 within the
 * default REQUEST_TIMEOUT_MS (a lock left by the dead server made it ETIMEOUT, then ELOCKED for five minutes).
 */
import assert from 'node:assert/strict';
import { watch } from 'node:fs';
import { cp, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import type { Receipt } from '../generated/types.gen.js';
import { parseCrashLog, type Mutation } from './helpers/crash-at.js';
import { invoke, startMain, streamInvoke, untilNoProcessIn } from './helpers/main-process.js';
import {
  addedDelta,
  checkAllTasks,
  createTempDir,
  createTempRepo,
  serve,
  writeDelta,
  type TempRepo,
} from './helpers/repo.js';
import { within } from './helpers/within.js';

const CRASH_AT = './tests/helpers/crash-at.ts';
const KILLED = 'first-change';
const OTHER = 'other-change';
const SEED = 'seed-change';
const CAPABILITY: Record<string, string> = { [KILLED]: 'first-cap', [OTHER]: 'other-cap' };
const DEBRIS = /\.tmp-|\.staging-|\.swap-/;

const openspec = (root: string, ...rel: string[]): string => path.join(root, 'openspec', ...rel);
const exists = (file: string): Promise<boolean> =>
  readdir(path.dirname(file)).then(
    (names) => names.includes(path.basename(file)),
    () => false,
  );

/**
 * A repository with two changes ready to archive, both opened by alice and committed. The killed one adds to a
 * main spec that an earlier archive (`seed-change`) made, so its archive backs that spec up first.
 */
async function makeTemplate(): Promise<TempRepo> {
  const repo = await createTempRepo();
  const { service } = serve(repo);
  const ready = async (slug: string, capability: string): Promise<void> => {
    await service.open({ slug, title: `Change ${slug}` }, { actor: 'alice' });
    await writeDelta(repo.root, slug, capability, addedDelta(`Do ${slug}`));
    await checkAllTasks(repo.root, slug);
  };
  await ready(SEED, CAPABILITY[KILLED]!);
  await service.archive({ slug: SEED }, { actor: 'alice' });
  for (const slug of [KILLED, OTHER]) await ready(slug, CAPABILITY[slug]!);
  await repo.commit('two changes ready to archive');
  return repo;
}

const template = await makeTemplate();
const scratch = await createTempDir('task-mcp-kill-');
after(async () => {
  await template.remove();
  await scratch.remove();
});

/** A fresh copy of the template (work tree, git history and the changes' locks). */
const copyTemplate = async (): Promise<string> => {
  const root = await mkdtemp(path.join(scratch.dir, 'repo-'));
  await cp(template.root, root, { recursive: true });
  return root;
};

const crashEnv = (root: string, log: string, at?: number): Record<string, string> => ({
  CRASH_ROOT: openspec(root),
  CRASH_ARM: String.raw`archive\.lock`,
  CRASH_LOG: log,
  ...(at === undefined ? {} : { CRASH_AT: String(at) }),
});

/** Every file or folder under openspec/ whose name marks it as a temp file, staging folder or swap guard. */
async function debris(root: string): Promise<string[]> {
  const entries = await readdir(openspec(root), { recursive: true });
  return entries.filter((entry) => DEBRIS.test(path.basename(entry)));
}

async function archivedFolder(root: string, slug: string): Promise<string | undefined> {
  const names = await readdir(openspec(root, 'changes', 'archive'));
  return names.find((name) => name.endsWith(`-${slug}`));
}

/** The state rules a restart must leave, before any call. */
async function assertConsistent(root: string): Promise<void> {
  for (const rel of ['.archive.lock', '.archive-journal', 'archive/.openspec-archive.lock'])
    assert.equal(await exists(openspec(root, 'changes', rel)), false, `${rel} survived the restart`);
  assert.deepEqual(await debris(root), [], 'temp files survived the restart');
  for (const slug of [KILLED, OTHER]) {
    const open = await exists(openspec(root, 'changes', slug));
    const archived = await archivedFolder(root, slug);
    assert.ok(open !== (archived !== undefined), `${slug} is open: ${open}, archived as: ${archived}`);
    const spec = await readFile(openspec(root, 'specs', CAPABILITY[slug]!, 'spec.md'), 'utf8').catch(() => '');
    const merged = spec.split(`### Requirement: Do ${slug}`).length - 1;
    if (slug === KILLED)
      assert.equal(spec.split(`### Requirement: Do ${SEED}`).length - 1, 1, 'the spec kept its past');
    if (archived) {
      assert.equal(merged, 1, `${slug}'s spec is merged exactly once`);
      const receipt = JSON.parse(
        await readFile(openspec(root, 'changes', 'archive', archived, 'receipt.json'), 'utf8'),
      ) as Receipt;
      assert.equal(receipt.slug, slug);
      assert.equal(await exists(openspec(root, 'changes', 'archive', archived, '.lock')), false);
    } else {
      assert.equal(merged, 0, `the open ${slug} has no merged spec`);
      const lock = await readFile(openspec(root, 'changes', slug, '.lock'), 'utf8');
      const before = await readFile(openspec(template.root, 'changes', slug, '.lock'), 'utf8');
      assert.equal(lock, before, `${slug} has its lock as it was`);
    }
  }
}

/** Restarts on `root`, checks the state, then archives both changes: each must answer 200. */
async function assertRecovered(root: string): Promise<void> {
  const server = await startMain({ repoRoot: root });
  try {
    await assertConsistent(root);
    for (const slug of [KILLED, OTHER]) {
      const res = await invoke(server, 'change.archive', { slug });
      const body = (await res.json()) as { archived?: boolean; code?: string };
      assert.equal(res.status, 200, `archive of ${slug} after the restart: ${JSON.stringify(body)}`);
      assert.equal(body.archived, true);
    }
    await assertConsistent(root);
  } finally {
    await server.stop();
  }
}

interface KillPoint {
  name: string;
  /** Kill on this progress event of the stream. */
  step?: string;
  /** Kill when `openspec archive` creates its destination claim. */
  claim?: boolean;
  /** Kill just before this mutation (crash-at.ts). */
  mutation?: Mutation;
}

/** One archive under the crash preload, recording its mutations: the kill points of the matrix. */
async function countMutations(): Promise<Mutation[]> {
  const root = await copyTemplate();
  const log = path.join(root, '..', `${path.basename(root)}.log`);
  const server = await startMain({ repoRoot: root, preload: [CRASH_AT], env: crashEnv(root, log) });
  try {
    const res = await invoke(server, 'change.archive', { slug: KILLED });
    assert.equal(res.status, 200, await res.text());
  } finally {
    await server.stop();
  }
  return parseCrashLog(await readFile(log, 'utf8'));
}

/** A path without its random parts (temp tags, guard hashes, the archive date), for a test name. */
const stableName = (target: string): string =>
  target
    .replace(/-\d+-\d+-(?:[0-9a-f]{12}|x)-[0-9a-f]+$/, '-<tag>')
    .replace(/swap-[0-9a-f]{16}$/, 'swap-<hash>')
    .replace(/\d{4}-\d{2}-\d{2}-/, '<date>-');

const mutations = await countMutations();
// Killed before a call that changes nothing, the server leaves what it would leave killed before the next one.
const distinct = mutations.filter((m) => m.changed);
const points: KillPoint[] = [
  ...['validate', 'archive', 'receipt'].map((step) => ({ name: `on the "${step}" progress event`, step })),
  { name: 'while openspec archive merges (its claim appeared)', claim: true },
  ...distinct.map((mutation) => ({
    name: `before mutation ${mutation.n}/${mutations.length}: ${mutation.op} ${stableName(mutation.target)}`,
    mutation,
  })),
];

/** Starts the server, archives under the kill point's trigger, and makes sure it is dead. */
async function killDuringArchive(root: string, point: KillPoint): Promise<void> {
  const log = path.join(root, '..', `${path.basename(root)}.log`);
  const env = point.mutation ? crashEnv(root, log, point.mutation.n) : {};
  const server = await startMain({ repoRoot: root, preload: point.mutation ? [CRASH_AT] : [], env });
  const watcher = point.claim
    ? watch(openspec(root, 'changes', 'archive'), (_type, name) => {
        if (name === '.openspec-archive.lock') void server.kill();
      })
    : undefined;
  try {
    await within(
      60_000,
      point.name,
      streamInvoke(server, 'change.archive', { slug: KILLED }, (event) => {
        if (event.type === 'progress' && event.step === point.step) void server.kill();
      }),
    );
  } finally {
    watcher?.close();
  }
  if (point.mutation) assert.equal(await within(10_000, 'the crash', server.exited), 'SIGKILL', 'crashed at the point');
  await server.kill();
  await within(10_000, 'the CLI to exit with the server', untilNoProcessIn(root));
}

describe('kill -9 during change.archive, then restart', { concurrency: 3 }, () => {
  it('has kill points at every progress event and before every file mutation of the archive', (t) => {
    t.diagnostic(
      `kill points: ${points.length} (${mutations.length} file mutations, ${distinct.length} that change something)`,
    );
    for (const op of ['link', 'rename', 'copyFile'])
      assert.ok(
        mutations.some((m) => m.op === op),
        `the archive's mutations include ${op}`,
      );
    assert.ok(
      mutations.some((m) => m.target.includes('.archive-journal')),
      'the journal steps are counted',
    );
  });

  for (const point of points) {
    it(`leaves a consistent repository and free locks when killed ${point.name}`, { timeout: 180_000 }, async () => {
      const root = await copyTemplate();
      try {
        await killDuringArchive(root, point);
        await assertRecovered(root);
      } finally {
        await rm(root, { recursive: true, force: true });
      }
    });
  }
});

describe('kill -9 during the first change.open (openspec init running), then restart', () => {
  it('finishes the init on the next open and leaves no lock or temp file', { timeout: 120_000 }, async () => {
    const repo = await createTempRepo();
    const root = repo.root;
    try {
      const server = await startMain({ repoRoot: root });
      // Kill as soon as `openspec init` has begun writing: it creates specs/ first and config.yaml last.
      const killed = new Promise<void>((resolve) => {
        const inOpenspec = (): void => {
          const specs = watch(openspec(root), (_type, name) => name === 'specs' && resolve());
          void killed.then(() => specs.close());
          void exists(openspec(root, 'specs')).then((there) => there && resolve());
        };
        const top = watch(root, (_type, name) => name === 'openspec' && (top.close(), inOpenspec()));
      });
      const open = invoke(server, 'change.open', { slug: 'first-open', title: 'First' }).catch(() => undefined);
      await within(60_000, 'openspec init to begin', killed);
      await server.kill();
      await open;
      await within(10_000, 'the CLI to exit with the server', untilNoProcessIn(root));

      const restarted = await startMain({ repoRoot: root });
      try {
        const res = await invoke(restarted, 'change.open', { slug: 'first-open', title: 'First' });
        assert.equal(res.status, 200, await res.text());
        assert.match(await readFile(openspec(root, 'config.yaml'), 'utf8'), /^schema: spec-driven$/m);
        assert.match(await readFile(openspec(root, '.gitignore'), 'utf8'), /^\/changes\/\.archive\.lock$/m);
        assert.equal(await exists(openspec(root, 'changes', '.archive.lock')), false);
        assert.deepEqual(await debris(root), []);
      } finally {
        await restarted.stop();
      }
    } finally {
      await repo.remove();
    }
  });
});
