/**
 * The read-only resources: `changes://active`, `change://<slug>/proposal|tasks|receipt` and
 * `change://<slug>/delta/<path>`. Every read is confined: the URI's path is decoded once and refused if it has
 * `..`, absolute or empty segments; the file is then resolved to its canonical path (symlinks followed) and must
 * still lie inside the change folder; it is opened without following a final symlink and read up to a size cap.
 */
import { constants } from 'node:fs';
import { lstat, open, readdir, readFile, realpath } from 'node:fs/promises';
import path from 'node:path';
import { FIXED_RESOURCE_URIS, RESOURCE_PATTERNS, type ResourceTemplateName } from '../../generated/resources.gen.js';
import { TaskError } from '../errors.js';
import type { Domain } from './domain.js';
import { assertSlug, isInside, isSlug } from './layout.js';
import { liveChangeLock, LOCK_FILE } from './lock.js';
import { proposalTitle, taskProgress } from './markdown.js';
import { RECEIPT_FILE } from './receipt.js';
import { archivedName, isOpen } from './state.js';
import type { ActiveChange, ActivePage, ResourceContent } from './types.js';

const MAX_BYTES = 256 * 1024;
const DEFAULT_LIMIT = 50;
const MAX_LIMIT = 200;
const ACTIVE_URI = FIXED_RESOURCE_URIS['active-changes'];
const TEMPLATES = Object.entries(RESOURCE_PATTERNS) as Array<[ResourceTemplateName, RegExp]>;

/** Which template `uri` is of, and its variables; undefined when it is of none. */
function matchTemplate(uri: string): { name: ResourceTemplateName; slug: string; path: string } | undefined {
  for (const [name, pattern] of TEMPLATES) {
    const groups = pattern.exec(uri)?.groups;
    if (groups) return { name, slug: groups.slug ?? '', path: groups.path ?? '' };
  }
  return undefined;
}

const escape = (what: string): TaskError =>
  new TaskError('EPATH_ESCAPE', `The ${what} leads outside the change.`, {
    hint: "Use a path relative to the change's specs/ folder, as listed by its delta resources.",
  });

const missing = (message: string, hint?: string): TaskError => new TaskError('ENOCHANGE', message, { hint });

/** The folder of an open change, else of its archived copy; ENOCHANGE when neither exists. */
async function changeFolder(domain: Domain, slug: string): Promise<string> {
  const { layout } = domain;
  const opened = await isOpen(layout, slug);
  const archivedAs = opened ? undefined : await archivedName(layout, slug);
  if (!opened && !archivedAs)
    throw missing(`There is no change "${slug}".`, 'Read changes://active for the open changes.');
  const folder = archivedAs ? layout.archived(archivedAs) : layout.change(slug);
  // openspec/ itself could be a link that leads out of the repository.
  const [real, root] = await Promise.all([realpath(folder), realpath(layout.root)]);
  if (!isInside(root, real)) throw escape('change folder');
  return folder;
}

/** Decodes a delta path and refuses traversal, absolute paths and odd characters before touching the disk. */
function deltaPath(encoded: string): string {
  let decoded: string;
  try {
    decoded = decodeURIComponent(encoded);
  } catch {
    throw escape('path');
  }
  const segments = decoded.split('/');
  const bad = (s: string) => s === '' || s === '.' || s === '..' || /[\\\0]/.test(s);
  if (path.isAbsolute(decoded) || segments.some(bad)) throw escape('path');
  return path.join(...segments);
}

/**
 * Failures that mean the path names nothing: absent, under a file rather than a folder, or longer than any name
 * the disk could hold. Any other failure (EACCES, EMFILE, ELOOP, EIO…) is the server's problem, not "not found".
 */
const NOTHING_THERE = new Set(['ENOENT', 'ENOTDIR', 'ENAMETOOLONG']);

/** `undefined` when `err` says the path names nothing; rethrows anything else. */
function absent(err: unknown): undefined {
  if (NOTHING_THERE.has((err as NodeJS.ErrnoException).code ?? '')) return undefined;
  throw err;
}

/** Reads `file` if its canonical path lies inside `within`, as text of at most MAX_BYTES. */
async function readConfined(file: string, within: string): Promise<string> {
  const [real, root] = await Promise.all([realpath(file).catch(absent), realpath(within)]);
  if (!real) throw missing(`There is no ${path.basename(file)} in this change.`);
  if (!isInside(root, real)) throw escape('path');
  // O_NONBLOCK: opening a FIFO to read would otherwise wait for a writer forever, holding a libuv thread; with it
  // the open returns at once and the FIFO is refused below as not a file. A file removed since realpath is missing.
  const flags = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;
  const handle = await open(real, flags).catch(absent);
  if (!handle) throw missing(`There is no ${path.basename(file)} in this change.`);
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) throw missing(`${path.basename(file)} is not a file.`);
    if (stats.size > MAX_BYTES) {
      throw new TaskError('ETOOLARGE', `The file is over the ${MAX_BYTES / 1024} KiB resource limit.`, {
        details: { size: stats.size, limit: MAX_BYTES },
      });
    }
    return await handle.readFile('utf8');
  } finally {
    await handle.close();
  }
}

/** A slug from a URI: EPATH_ESCAPE when it carries path syntax, ENOCHANGE when it is merely not a slug. */
function uriSlug(raw: string): string {
  if (/[./\\%\0]/.test(raw)) throw escape('slug');
  try {
    assertSlug(raw);
  } catch {
    throw missing(`There is no change "${raw.slice(0, 70)}".`);
  }
  return raw;
}

/** Reads one resource by URI. */
export async function readResource(domain: Domain, uri: string): Promise<ResourceContent> {
  if (uri === ACTIVE_URI || uri.startsWith(`${ACTIVE_URI}?`)) {
    const query = new URLSearchParams(uri.slice(ACTIVE_URI.length + 1));
    const page = await listActive(domain, {
      cursor: query.get('cursor') ?? undefined,
      limit: query.has('limit') ? Number(query.get('limit')) : undefined,
    });
    return { uri, mimeType: 'application/json', text: JSON.stringify(page) };
  }
  const match = matchTemplate(uri);
  if (!match)
    throw missing('No such resource.', 'Use changes://active or change://<slug>/proposal|tasks|receipt|delta/<path>.');
  const slug = uriSlug(match.slug);
  if (match.name === 'change-receipt') {
    return { uri, mimeType: 'application/json', text: await readReceiptText(domain, slug) };
  }
  const folder = await changeFolder(domain, slug);
  if (match.name === 'change-proposal' || match.name === 'change-tasks') {
    const file = match.name === 'change-proposal' ? 'proposal.md' : 'tasks.md';
    return { uri, mimeType: 'text/markdown', text: await readConfined(path.join(folder, file), folder) };
  }
  const relative = deltaPath(match.path);
  const specs = path.join(folder, 'specs');
  const mimeType = relative.endsWith('.md') ? 'text/markdown' : 'text/plain';
  return { uri, mimeType, text: await readConfined(path.join(specs, relative), specs) };
}

async function readReceiptText(domain: Domain, slug: string): Promise<string> {
  const archivedAs = await archivedName(domain.layout, slug);
  if (!archivedAs) throw missing(`The change "${slug}" is not archived, so it has no receipt.`);
  const folder = domain.layout.archived(archivedAs);
  try {
    return await readConfined(path.join(folder, RECEIPT_FILE), folder);
  } catch (err) {
    if (err instanceof TaskError && err.code === 'ENOCHANGE') {
      throw missing(`The archived change "${slug}" has no receipt yet.`, 'Call change.archive on it to write one.');
    }
    throw err;
  }
}

const parseCursor = (cursor: string | undefined): string | undefined => {
  if (cursor === undefined || cursor === '') return undefined;
  const slug = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!isSlug(slug)) {
    throw new TaskError('EBADINPUT', 'The cursor is not one this server gave out.', { details: { field: 'cursor' } });
  }
  return slug;
};

/** One page of the open changes, ordered by slug. */
export async function listActive(domain: Domain, page: { cursor?: string; limit?: number } = {}): Promise<ActivePage> {
  const limit = page.limit ?? DEFAULT_LIMIT;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) {
    throw new TaskError('EBADINPUT', `The limit must be a whole number from 1 to ${MAX_LIMIT}.`, {
      details: { field: 'limit' },
    });
  }
  const after = parseCursor(page.cursor);
  const entries = await readdir(domain.layout.changes, { withFileTypes: true }).catch(() => []);
  const slugs = entries
    .filter((e) => e.isDirectory() && isSlug(e.name))
    .map((e) => e.name)
    .sort()
    .filter((slug) => after === undefined || slug > after);
  const shown = slugs.slice(0, limit);
  const changes = await Promise.all(shown.map((slug) => summarize(domain, slug)));
  const last = shown.at(-1);
  return slugs.length > limit && last ? { changes, nextCursor: Buffer.from(last).toString('base64url') } : { changes };
}

async function summarize(domain: Domain, slug: string): Promise<ActiveChange> {
  const folder = domain.layout.change(slug);
  const read = async (name: string) => {
    const stats = await lstat(path.join(folder, name)).catch(() => undefined);
    return stats?.isFile() && stats.size <= MAX_BYTES ? readFile(path.join(folder, name), 'utf8') : '';
  };
  const [proposal, tasks, lock] = await Promise.all([
    read('proposal.md'),
    read('tasks.md'),
    liveChangeLock(path.join(folder, LOCK_FILE), domain.clock()),
  ]);
  const { done, total } = taskProgress(tasks);
  return { slug, title: proposalTitle(proposal) ?? slug, lock, tasks: { done, total } };
}
