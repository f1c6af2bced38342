/**
 * The domain alone, in this process on a small temp repo: the median time of one `change.open` (create, then
 * resume) and one `change.archive`. Archiving is set beside the OpenSpec CLI's own `archive` of an identical change,
 * run as a user runs it (`openspec archive <slug> --yes --json`, a process of its own): what task-mcp wraps, adding
 * strict validation, the lock check, the receipt and the events. Opening has no outside equivalent, so its rows
 * have no baseline. With the domain as it was before issue 16 (before.ts), its archive median is a row too.
 */
import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { promisify } from 'node:util';
import { addedDelta, checkAllTasks, createTempRepo, serve, writeDelta } from '../helpers/repo.js';
import type { Before, OldService } from './before.js';
import { BEFORE } from './before.js';
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
export async function domainRows(runs: number, before?: Before): Promise<Row[]> {
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
    /** Each change opened, finished and archived by `by`: the archive's times. */
    const archived = async (
      by: Pick<OldService, 'open' | 'archive'>,
      kind: string,
      archive: OldService['archive'] = (input, c) => by.archive(input, c),
    ) => {
      const times: number[] = [];
      for (const slug of slugs(kind)) {
        await by.open({ slug, title: slug }, ctx);
        await finished(slug);
        times.push(await timed(() => archive({ slug }, ctx)));
      }
      return times;
    };
    const create: number[] = [];
    const resume: number[] = [];
    for (const slug of slugs('ours')) create.push(await timed(() => service.open({ slug, title: slug }, ctx)));
    for (const slug of slugs('ours')) resume.push(await timed(() => service.open({ slug, title: slug }, ctx)));
    const archive = await archived(service, 'ours');
    const cliArchives = await archived(service, 'cli', ({ slug }) => cliArchive(repo.root, slug));
    const old = before?.createChangeService({ repoRoot: repo.root, events: { emit() {} }, version: '0' });
    const oldArchives = old ? await archived(old, 'before') : [];
    old?.close?.();
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
      ...(old
        ? [
            {
              name: `Domain \`change.archive\` vs itself before issue 16 (${BEFORE.slice(0, 7)}) (${of})`,
              unit: 'ms' as const,
              ours: median(archive),
              baseline: median(oldArchives),
            },
          ]
        : []),
    ];
  } finally {
    service.close();
    await repo.remove();
  }
}
