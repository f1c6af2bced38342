/**
 * The domain as it was before issue 16's work on it (commit `BEFORE`), for the bench's before/after rows: a
 * worktree of that commit (earlier-builds.ts) whose domain is imported in this process, so both versions run on the
 * same machine in the same run. Without that commit in the clone (a shallow one) there is nothing to compare with
 * and the rows are left out.
 */
import path from 'node:path';
import type { ChangeServiceDeps } from '../../src/changes/index.js';
import { checkoutAt } from './earlier-builds.js';
import type { Scope } from './scope.js';

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
}

/** The old domain from `checkout`'s git history (a worktree removed with `scope`), or undefined without `BEFORE`. */
export async function loadBefore(scope: Scope, checkout: string): Promise<Before | undefined> {
  const tree = await checkoutAt(scope, checkout, BEFORE);
  if (!tree) return undefined;
  return (await import(path.join(tree, 'src', 'changes', 'index.ts'))) as Before;
}
