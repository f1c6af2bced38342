/**
 * The domain as it was before issue 16's work on it (commit `BEFORE`), for the bench's before/after rows: its
 * sources are taken out of git into a temp directory (beside a link to this checkout's node_modules) and imported
 * in this process, so both versions run on the same machine in the same run. Without that commit in the clone
 * (a shallow one) there is nothing to compare with and the rows are left out.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { ChangeServiceDeps } from '../../src/changes/index.js';

/** The last commit before the change domain's fixed costs were cut (issue 16). */
export const BEFORE = 'f2284c305d6673e24b6fd0171ad1d8ad025a5808';

/** What the rows need of an old domain: opening, archiving and, when it has one, closing. */
export interface OldService {
  open(input: { slug: string; title: string }, ctx: { actor: string }): Promise<unknown>;
  archive(input: { slug: string }, ctx: { actor: string }): Promise<unknown>;
  close?(): void;
}

export interface Before {
  /** The old `createChangeService`. */
  createChangeService(deps: ChangeServiceDeps): OldService;
  /** Removes the temp directory. */
  remove(): Promise<void>;
}

const run = promisify(execFile);

/** The old domain from `checkout`'s git history, or undefined when `BEFORE` is not in it. */
export async function loadBefore(checkout: string): Promise<Before | undefined> {
  const known = await run('git', ['cat-file', '-e', `${BEFORE}^{commit}`], { cwd: checkout }).then(
    () => true,
    () => false,
  );
  if (!known) return undefined;
  const dir = await mkdtemp(path.join(tmpdir(), 'task-mcp-bench-before-'));
  const remove = () => rm(dir, { recursive: true, force: true });
  try {
    const tar = path.join(dir, 'src.tar');
    await run('git', ['archive', '--output', tar, BEFORE, 'src', 'generated', 'package.json'], { cwd: checkout });
    await run('tar', ['-xf', tar, '-C', dir]);
    await symlink(path.join(checkout, 'node_modules'), path.join(dir, 'node_modules'));
    const entry = path.join(dir, 'src', 'changes', 'index.ts');
    const { createChangeService } = (await import(entry)) as Pick<Before, 'createChangeService'>;
    return { createChangeService, remove };
  } catch (err) {
    await remove();
    throw err;
  }
}
