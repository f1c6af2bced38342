/**
 * Timing of change.open and change.archive on a small repo, reported with `t.diagnostic` (never asserted: machines
 * differ). Run alone: `node --import tsx --test tests/changes-bench.test.ts`.
 */
import { after, before, it } from 'node:test';
import {
  addedDelta,
  checkAllTasks,
  createTempRepo,
  serve,
  writeDelta,
  type Harness,
  type TempRepo,
} from './helpers/repo.js';

const RUNS = 7;

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
};

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await fn();
  return performance.now() - started;
}

let repo: TempRepo;
let h: Harness;
before(async () => {
  repo = await createTempRepo();
  h = serve(repo);
  await h.service.open({ slug: 'warm-up', title: 'Warm up' }, { actor: 'bench' }); // runs `openspec init` once
});
after(() => repo.remove());

it('reports the median time of change.open (create and resume) and change.archive', async (t) => {
  const slugs = Array.from({ length: RUNS }, (_, i) => `bench-${i}`);
  const create: number[] = [];
  const resume: number[] = [];
  const archive: number[] = [];
  for (const slug of slugs) create.push(await timed(() => h.service.open({ slug, title: slug }, { actor: 'bench' })));
  for (const slug of slugs) resume.push(await timed(() => h.service.open({ slug, title: slug }, { actor: 'bench' })));
  for (const slug of slugs) {
    await writeDelta(repo.root, slug, slug, addedDelta(`Bench ${slug}`));
    await checkAllTasks(repo.root, slug);
    await repo.commit(`work on ${slug}`);
    archive.push(await timed(() => h.service.archive({ slug }, { actor: 'bench' })));
  }
  const ms = (values: number[]) => `${median(values).toFixed(1)} ms`;
  t.diagnostic(`change.open (create) median of ${RUNS}: ${ms(create)}`);
  t.diagnostic(`change.open (resume) median of ${RUNS}: ${ms(resume)}`);
  t.diagnostic(`change.archive median of ${RUNS}: ${ms(archive)}`);
});
