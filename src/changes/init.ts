/**
 * The first `openspec init` of a repository, and the repair of one that a crash or a full disk cut short.
 *
 * OpenSpec creates `specs/`, `changes/archive/` and their `.gitkeep` files first and `config.yaml` last, with a
 * plain write: a crash can leave it empty or missing, and a failed write (ENOSPC) is not even an error for
 * `openspec init`. So a repository is initialised when its config (`config.yaml`, or the `config.yml` OpenSpec also
 * reads) has content; otherwise init runs, again if need be (OpenSpec completes an existing `openspec/`), under the
 * archive lock so that of many racing first opens one runs it, and it must leave a config behind.
 */
import { mkdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { TaskError } from '../errors.js';
import type { Domain } from './domain.js';
import { ensureIgnoreRules } from './ignore-rules.js';
import type { Layout } from './layout.js';

const configFiles = (layout: Layout): string[] => [layout.config, path.join(layout.openspec, 'config.yml')];

const sizeOf = (file: string): Promise<number | undefined> =>
  stat(file).then(
    (s) => s.size,
    () => undefined,
  );

async function isInitialized(layout: Layout): Promise<boolean> {
  const sizes = await Promise.all(configFiles(layout).map(sizeOf));
  return sizes.some((size) => size !== undefined && size > 0);
}

/** Runs `openspec init` unless the repository is initialised already; true when it ran. */
export async function ensureInitialized(domain: Domain): Promise<boolean> {
  const { layout } = domain;
  if (await isInitialized(layout)) return false;
  await mkdir(layout.changes, { recursive: true }); // where the archive lock lives
  return domain.archiveLock.run(async (held) => {
    if (await isInitialized(layout)) return false;
    // OpenSpec keeps an existing config, even the empty one a cut-short write leaves.
    for (const file of configFiles(layout)) if ((await sizeOf(file)) === 0) await rm(file, { force: true });
    await domain.cli.init(held.adopt);
    if (!(await isInitialized(layout))) {
      throw new TaskError('EOPENSPEC', 'openspec init did not write openspec/config.yaml.', {
        hint: 'Check that the repository has free space and is writable, then open the change again.',
        details: { command: 'openspec init' },
      });
    }
    await ensureIgnoreRules(layout);
    return true;
  });
}
