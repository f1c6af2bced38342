/**
 * The domain alone, in this process on a small temp repo: the median time of one `change.open` (create, then
 * resume) and one `change.archive`. Archiving is set beside the OpenSpec CLI's own `archive` of an identical change,
 * run as a user runs it (`openspec archive <slug> --yes --json`, a process of its own): what task-mcp wraps, adding
 * strict validation, the lock check, the receipt and the events. Opening has no outside equivalent, so its rows
 * have no baseline.
 */
import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { promisify } from 'node:util';
import { addedDelta, checkAllTasks, createTempRepo, serve, writeDelta } from '../helpers/repo.js';
import type { Row } from './report.js';

/** OpenSpec's `bin/openspec.js`, beside the package's main entry (`dist/index.js`). */
const OPENSPEC_BIN = path.join(
  path.dirname(createRequire(import.meta.url).resolve('@fission-ai/openspec')),
  '..',
  'bin',
  'openspec.js',
);

/** `openspec archive <slug>` in `root`, as its own process (telemetry off, as task-mcp runs it). */
const cliArchive = (root: string, slug: string) =>
  promisify(execFile)(process.execPath, [OPENSPEC_BIN, 'archive', slug, '--yes', '--json'], {
    cwd: root,
    env: { ...process.env, OPENSPEC_TELEMETRY: '0', OPENSPEC_NO_UPDATE_CHECK: '1', NO_COLOR: '1' },
  });

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await fn();
  return performance.now() - started;
}

/** Rows for `runs` changes of each kind; the repository is made here and removed after. */
export async function domainRows(runs: number): Promise<Row[]> {
  const repo = await createTempRepo();
  const { service } = serve(repo);
  try {
    const ctx = { actor: 'bench' };
    await service.open({ slug: 'warm-up', title: 'Warm up' }, ctx); // runs `openspec init` once
    const slugs = (kind: string) => Array.from({ length: runs }, (_, i) => `bench-${kind}-${i}`);
    /** An open change ready to archive: a delta, every task checked, committed. */
    const finished = async (slug: string) => {
      await writeDelta(repo.root, slug, slug, addedDelta(`Bench ${slug}`));
      await checkAllTasks(repo.root, slug);
      await repo.commit(`work on ${slug}`);
    };
    const create: number[] = [];
    const resume: number[] = [];
    const archive: number[] = [];
    const cliArchives: number[] = [];
    for (const slug of slugs('ours')) create.push(await timed(() => service.open({ slug, title: slug }, ctx)));
    for (const slug of slugs('ours')) resume.push(await timed(() => service.open({ slug, title: slug }, ctx)));
    for (const slug of slugs('ours')) {
      await finished(slug);
      archive.push(await timed(() => service.archive({ slug }, ctx)));
    }
    for (const slug of slugs('cli')) {
      await service.open({ slug, title: slug }, ctx);
      await finished(slug);
      cliArchives.push(await timed(() => cliArchive(repo.root, slug)));
    }
    const of = `median of ${runs}`;
    return [
      { name: `Domain \`change.open\`, creating a change (${of})`, unit: 'ms', ours: median(create) },
      { name: `Domain \`change.open\`, resuming it (${of})`, unit: 'ms', ours: median(resume) },
      {
        name: `Domain \`change.archive\` vs the OpenSpec CLI's \`archive\` alone (${of})`,
        unit: 'ms',
        ours: median(archive),
        baseline: median(cliArchives),
      },
    ];
  } finally {
    service.close();
    await repo.remove();
  }
}
