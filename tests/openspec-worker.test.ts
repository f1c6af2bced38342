/**
 * The warm OpenSpec process (src/changes/openspec-worker.ts) keeps the guards of the one-shot CLI it replaced: it
 * runs a command only once its caller has named it (the archive lock names it before it may write), it dies with
 * its server, even a SIGKILLed one, and a dead one fails its command with EOPENSPEC and is replaced by the next.
 * Between commands it holds no repository as its working folder. Processes are real; their state is read in /proc.
 */
import assert from 'node:assert/strict';
import { access, readdir, readFile, readlink } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createLayout } from '../src/changes/layout.js';
import { createOpenSpecCli, type OpenSpecCli } from '../src/changes/openspec-cli.js';
import { invoke, startMain } from './helpers/main-process.js';
import { createTempRepo, rejectsWith, type TempRepo } from './helpers/repo.js';
import { until, within } from './helpers/within.js';

const exists = (file: string): Promise<boolean> =>
  access(file).then(
    () => true,
    () => false,
  );
const isRunning = (pid: number): Promise<boolean> => exists(`/proc/${pid}`);
/** The parent pid, from /proc/<pid>/stat (the field after the state, past the parenthesised command name). */
const parentOf = async (pid: number): Promise<number> =>
  Number((await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]!.split(' ')[1]);
/** The worker's command line carries its reply marker. */
const isWorker = async (pid: string): Promise<boolean> =>
  (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).includes('task-mcp-openspec-reply');

/** Resolves with each pid a caller is asked to name, and holds the command until `release()`. */
function heldNaming() {
  const pids: number[] = [];
  let named!: (pid: number) => void;
  let release!: () => void;
  const asked = new Promise<number>((resolve) => (named = resolve));
  const released = new Promise<void>((resolve) => (release = resolve));
  const onHelper = async (pid: number): Promise<void> => {
    pids.push(pid);
    named(pid);
    await released;
  };
  return { pids, asked, release, onHelper };
}

describe('the warm OpenSpec process', () => {
  let repo: TempRepo;
  let cli: OpenSpecCli;
  before(async () => {
    repo = await createTempRepo();
    cli = createOpenSpecCli(createLayout(repo.root));
  });
  after(async () => {
    cli.close();
    await repo.remove();
  });

  it('runs a command only once its caller has named the process, and every command in that one process', async () => {
    const naming = heldNaming();
    const init = cli.init(naming.onHelper);
    const pid = await within(30_000, 'the process to be named', naming.asked);
    assert.equal(await parentOf(pid), process.pid, 'a child of the server');
    assert.equal(await exists(path.join(repo.root, 'openspec')), false, 'nothing written before it was named');
    naming.release();
    await init;
    assert.equal(await exists(path.join(repo.root, 'openspec', 'config.yaml')), true);
    assert.equal(await readlink(`/proc/${pid}/cwd`), '/', 'no repository is its working folder between commands');

    const again = heldNaming();
    again.release();
    await rejectsWith(cli.archive('no-such-change', again.onHelper), 'ENOCHANGE', repo.root);
    assert.deepEqual(again.pids, [pid]);
  });

  it('sends nothing when its caller cannot name it', async () => {
    const refused = new Error('the lock could not name it');
    await assert.rejects(
      cli.archive('no-such-change', async () => {
        throw refused;
      }),
      (err) => err === refused,
    );
  });

  it('fails the command of a process that died with EOPENSPEC, runs the next in a new one, ends on close', async () => {
    let killed = 0;
    const err = await rejectsWith(
      cli.archive('no-such-change', async (pid) => {
        killed = pid;
        process.kill(pid, 'SIGKILL');
      }),
      'EOPENSPEC',
      repo.root,
    );
    assert.match(err.message, /^openspec archive failed: the OpenSpec process exited \(SIGKILL\)/);
    const next = heldNaming();
    next.release();
    await rejectsWith(cli.archive('no-such-change', next.onHelper), 'ENOCHANGE');
    assert.notEqual(next.pids[0], killed);
    cli.close();
    await until(10_000, 'the closed process to exit', async () => !(await isRunning(next.pids[0]!)));
  });
});

describe('the warm OpenSpec process of a server', () => {
  it('exits when its server is SIGKILLed', { timeout: 120_000 }, async () => {
    const repo = await createTempRepo();
    const server = await startMain({ repoRoot: repo.root });
    try {
      // The first open runs `openspec init`, which starts the process.
      const res = await invoke(server, 'change.open', { slug: 'first-open', title: 'First' });
      assert.equal(res.status, 200, await res.text());
      const children: string[] = [];
      for (const pid of (await readdir('/proc')).filter((name) => /^\d+$/.test(name))) {
        if ((await parentOf(Number(pid)).catch(() => 0)) === server.pid && (await isWorker(pid))) children.push(pid);
      }
      assert.equal(children.length, 1, 'one OpenSpec process');
      await server.kill();
      await until(
        10_000,
        'the OpenSpec process to exit with its server',
        async () => !(await isRunning(Number(children[0]))),
      );
    } finally {
      await server.kill();
      await repo.remove();
    }
  });
});
