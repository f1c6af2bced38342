/**
 * Earlier builds of task-mcp for a bench row: a detached git worktree of a commit, in a temp directory, sharing
 * this checkout's node_modules (the runtime dependencies of those commits are a subset of today's), removed when
 * the scope closes. Its tests/load/server.ts runs that commit's server as it was.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Scope } from './scope.js';

const git = promisify(execFile);

/**
 * The commits the tracing-off row compares with: main before issue 15 began (no metrics at all), and main with
 * the metrics core but before their recording was wired and tracing added.
 */
export const EARLIER = {
  issue: { commit: '8391bc6', what: 'before issue 15' },
  wiring: { commit: 'f2284c3', what: 'metrics core only, no wiring or tracing' },
} as const;

/** A worktree of `commit` under a temp directory (its root), or undefined when the clone lacks it (a shallow one). */
export async function checkoutAt(scope: Scope, repoRoot: string, commit: string): Promise<string | undefined> {
  const known = await git('git', ['cat-file', '-e', `${commit}^{commit}`], { cwd: repoRoot }).then(
    () => true,
    () => false,
  );
  if (!known) return undefined;
  const dir = path.join(await mkdtemp(path.join(tmpdir(), 'task-mcp-bench-')), 'tree');
  await git('git', ['worktree', 'add', '--detach', dir, commit], { cwd: repoRoot });
  scope.defer(() => git('git', ['worktree', 'remove', '--force', dir], { cwd: repoRoot }));
  await symlink(path.join(repoRoot, 'node_modules'), path.join(dir, 'node_modules'));
  return dir;
}
