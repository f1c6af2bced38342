/**
 * Where things live in an OpenSpec 1.x repository, and the guards that keep every path built from caller input
 * inside it. Paths returned here are absolute; `rel()` turns one into the repo-relative form callers may see.
 */
import { realpathSync } from 'node:fs';
import path from 'node:path';
import { SlugSchema } from '../../generated/schemas.gen.js';
import { TaskError } from '../errors.js';

/** The contract's `Slug` pattern; the domain checks it itself because it builds paths from it. */
const SLUG_PATTERN = new RegExp(SlugSchema.pattern, 'u');

/** `openspec/changes/archive` is OpenSpec's own folder, so `archive` can never name a change. */
const RESERVED_SLUGS = new Set(['archive']);

/** An archived change's folder: `YYYY-MM-DD-<slug>`. */
const ARCHIVED_NAME = /^(\d{4}-\d{2}-\d{2})-(.+)$/;

/** Whether `name` can name a change: the contract's `Slug`, and not a name OpenSpec reserves. */
export const isSlug = (name: unknown): name is string =>
  typeof name === 'string' && SLUG_PATTERN.test(name) && !RESERVED_SLUGS.has(name);

/** Throws EBADSLUG unless `slug` is a valid change name. */
export function assertSlug(slug: unknown): asserts slug is string {
  if (!isSlug(slug)) {
    throw new TaskError('EBADSLUG', 'The slug must be 3–64 lowercase letters, digits or hyphens (not "archive").', {
      hint: 'Use a kebab-case name such as "add-login-rate-limit".',
      details: { pattern: SLUG_PATTERN.source },
    });
  }
}

/** True when `name` is an archived folder name for `slug`. */
export const isArchivedNameOf = (name: string, slug: string): boolean => ARCHIVED_NAME.exec(name)?.[2] === slug;

/** True when `child` is `parent` or lies below it (both absolute and normalized). */
export const isInside = (parent: string, child: string): boolean => {
  const relative = path.relative(parent, child);
  return relative === '' || (!relative.startsWith('..') && !path.isAbsolute(relative));
};

export interface Layout {
  root: string;
  openspec: string;
  config: string;
  specs: string;
  changes: string;
  archive: string;
  archiveLock: string;
  journal: string;
  /** OpenSpec's own claim on the archive destination, held while `openspec archive` moves a change. */
  cliClaim: string;
  /** Where the rules that keep task-mcp's working files out of git live. */
  gitignore: string;
  change(slug: string): string;
  archived(name: string): string;
  /** Repo-relative, `/`-separated. */
  rel(absolute: string): string;
  /** Removes absolute server paths from text that may reach a caller. */
  scrub(text: string): string;
}

const tryRealpath = (dir: string): string => {
  try {
    return realpathSync.native(dir);
  } catch {
    return dir; // not there (yet): check() reports it
  }
};

/** The OpenSpec layout under `root` (an absolute path). */
export function createLayout(root: string): Layout {
  const openspec = path.join(root, 'openspec');
  const changes = path.join(openspec, 'changes');
  // Child processes report canonical paths; scrub those too (the root may sit behind a symlink).
  const realRoot = tryRealpath(root);
  return {
    root,
    openspec,
    config: path.join(openspec, 'config.yaml'),
    specs: path.join(openspec, 'specs'),
    changes,
    archive: path.join(changes, 'archive'),
    archiveLock: path.join(changes, '.archive.lock'),
    journal: path.join(changes, '.archive-journal'),
    cliClaim: path.join(changes, 'archive', '.openspec-archive.lock'),
    gitignore: path.join(openspec, '.gitignore'),
    change: (slug) => path.join(changes, slug),
    archived: (name) => path.join(changes, 'archive', name),
    rel: (absolute) => path.relative(root, absolute).split(path.sep).join('/'),
    scrub: (text) =>
      [realRoot, root].reduce(
        (t, r) =>
          t
            .split(r + path.sep)
            .join('')
            .split(r)
            .join('.'),
        text,
      ),
  };
}
