/**
 * `openspec/.gitignore`: keeps what task-mcp writes for itself out of git, so that an agent's `git add -A` never
 * commits a lock, the archive journal or a temp file, and a receipt's `filesTouched` never lists one. It sits at
 * `openspec/` (not `openspec/changes/`) because a rolled-back archive also writes temp files beside the main
 * specs. Written at start and after `openspec init`, idempotently: rules it lacks are appended, and nothing else in
 * the file is touched, so a team may keep rules of its own there. The file is meant to be committed.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { writeFileAtomic } from './atomic-write.js';
import { STAGING_MARK, TEMP_MARK } from './debris.js';
import type { Layout } from './layout.js';
import { LOCK_FILE } from './lock.js';

const HEADER = "# task-mcp's working files (locks, the archive journal, temp files): never commit them.";

/** The rules, relative to `openspec/`: anchored where the file has one place, unanchored where it recurs. */
function rules(layout: Layout): string[] {
  const anchored = (file: string): string => `/${path.relative(layout.openspec, file).split(path.sep).join('/')}`;
  return [
    anchored(layout.archiveLock),
    `${anchored(layout.archiveLock)}.*`,
    `${anchored(layout.journal)}/`,
    anchored(layout.cliClaim),
    LOCK_FILE,
    `${LOCK_FILE}.*`,
    `.*${TEMP_MARK}*`,
    `.*${STAGING_MARK}*`,
  ];
}

/** Adds the rules `openspec/.gitignore` lacks; returns whether it wrote the file. */
export async function ensureIgnoreRules(layout: Layout): Promise<boolean> {
  const text = await readFile(layout.gitignore, 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return '';
    throw err;
  });
  const present = new Set(text.split(/\r?\n/).map((line) => line.trim()));
  const missing = rules(layout).filter((rule) => !present.has(rule));
  if (missing.length === 0) return false;
  const head = text === '' ? '' : `${text.replace(/\n*$/, '\n')}\n`;
  const header = present.has(HEADER) ? [] : [HEADER];
  await writeFileAtomic(layout.gitignore, `${head}${[...header, ...missing].join('\n')}\n`);
  return true;
}
