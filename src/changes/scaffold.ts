/**
 * The files of a new change: `.openspec.yaml`, `proposal.md`, `tasks.md` and `specs/`. `openspec new change`
 * writes only the metadata (and refuses existing folders), so the domain writes all of them itself.
 *
 * A new change is assembled in a hidden staging folder beside its final place, lock included, and renamed into
 * place in one step: readers see no change or a whole one, and of two concurrent creators exactly one rename wins
 * (renaming onto a non-empty folder fails), so the creator is also the lock holder. OpenSpec ignores dot-folders.
 */
import { access, mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { ChangeOpenInput } from './types.js';
import { createFileExclusive } from './atomic-write.js';
import { stagingPath } from './debris.js';
import type { Layout } from './layout.js';
import { LOCK_FILE } from './lock.js';
import { parseYaml, stringifyYaml } from './yaml.js';

export type Template = NonNullable<ChangeOpenInput['template']>;

/** The change metadata file OpenSpec reads; `base_commit` is ours (its schema passes unknown keys through). */
export const METADATA_FILE = '.openspec.yaml';

const DEFAULT_SCHEMA = 'spec-driven';

/** The files every change has once `completeChange` ran. */
const SCAFFOLD_NAMES = [METADATA_FILE, 'proposal.md', 'tasks.md', '.gitignore'];

const WHAT: Record<Template, string> = {
  feature: '- New behaviour: describe what users will be able to do.',
  bugfix: '- Fix: describe the wrong behaviour and the expected one.',
  chore: '- No behaviour change intended: describe the upkeep.',
};

const IMPACT: Record<Template, string> = {
  feature: '- Affected code, APIs and dependencies: list them.',
  bugfix: '- Regression risk and affected users: describe them.',
  chore: '- Affected tooling, build or documentation: list it.',
};

const TASKS: Record<Template, [string, string[]][]> = {
  feature: [
    ['Specification', ['Write the spec delta under specs/', 'Review the proposal']],
    ['Implementation', ['Implement the change', 'Add tests for each scenario']],
    ['Verification', ['Run the test suite', 'Update the documentation']],
  ],
  bugfix: [
    ['Reproduce', ['Write a failing test that shows the bug']],
    ['Fix', ['Fix the cause', 'Update the spec delta where behaviour changes']],
    ['Verification', ['Run the test suite']],
  ],
  chore: [
    ['Work', ['Make the change']],
    ['Verification', ['Run the test suite']],
  ],
};

export interface ScaffoldInput {
  title: string;
  rationale: string | undefined;
  template: Template;
  base: string;
  now: Date;
}

/** proposal.md, filled from the title, rationale and template. */
export function proposalMarkdown({ title, rationale, template }: ScaffoldInput): string {
  const why = rationale?.trim() || 'TODO: explain the problem or opportunity this change addresses, and for whom.';
  return [
    `# ${title}`,
    '## Why',
    why,
    '## What Changes',
    `- ${title}\n${WHAT[template]}`,
    '## Capabilities',
    '### New Capabilities\n<!-- One line per new capability: `name`: what it covers (each gets specs/<name>/spec.md). -->',
    '### Modified Capabilities\n<!-- One line per existing capability whose requirements change. -->',
    '## Impact',
    IMPACT[template],
  ].join('\n\n');
}

/** tasks.md: numbered checkbox groups for the template. */
export function tasksMarkdown(template: Template): string {
  const groups = TASKS[template].map(([name, items], g) =>
    [`## ${g + 1}. ${name}`, '', ...items.map((item, i) => `- [ ] ${g + 1}.${i + 1} ${item}`)].join('\n'),
  );
  return `${groups.join('\n\n')}\n`;
}

const localDate = (now: Date): string =>
  [now.getFullYear(), now.getMonth() + 1, now.getDate()].map((n) => String(n).padStart(2, '0')).join('-');

/** The schema named in openspec/config.yaml, else OpenSpec's default. */
async function configuredSchema(layout: Layout): Promise<string> {
  const text = await readFile(layout.config, 'utf8').catch(() => undefined);
  const config: unknown = text === undefined ? undefined : await parseYaml(text);
  const schema = (config as { schema?: unknown } | undefined)?.schema;
  return typeof schema === 'string' && schema ? schema : DEFAULT_SCHEMA;
}

/** The scaffold's files by name, relative to the change folder. */
async function scaffoldFiles(layout: Layout, input: ScaffoldInput): Promise<Record<string, string>> {
  const metadata = { schema: await configuredSchema(layout), created: localDate(input.now), base_commit: input.base };
  return {
    [METADATA_FILE]: await stringifyYaml(metadata),
    'proposal.md': `${proposalMarkdown(input)}\n`,
    'tasks.md': tasksMarkdown(input.template),
    // The lock is working state, not history: keep it (and its swap guards) out of commits.
    '.gitignore': `${LOCK_FILE}\n${LOCK_FILE}.*\n`,
  };
}

/**
 * Creates the change folder with its files and `lockText` as its lock, atomically. False when the folder already
 * exists (another caller created it first); nothing is then written.
 */
export async function createChange(layout: Layout, slug: string, input: ScaffoldInput, lockText: string) {
  const staging = stagingPath(layout.changes, slug);
  await mkdir(path.join(staging, 'specs'), { recursive: true });
  try {
    for (const [name, text] of Object.entries(await scaffoldFiles(layout, input))) {
      await writeFile(path.join(staging, name), text, { flag: 'wx' });
    }
    await writeFile(path.join(staging, LOCK_FILE), lockText, { flag: 'wx' });
    await rename(staging, layout.change(slug));
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOTEMPTY' || code === 'EEXIST') return false;
    throw err;
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

/**
 * Adds whatever scaffold file an existing change lacks (a change made by hand or by `openspec new change`), never
 * overwriting one. `input` is only computed when something is missing: it costs a git call.
 */
export async function completeChange(layout: Layout, slug: string, input: () => Promise<ScaffoldInput>) {
  const dir = layout.change(slug);
  // One listing answers for a whole change (ENOENT if it was archived meanwhile); only what it lacks, or lists as
  // something that may not resolve (a symlink), is looked at again.
  const entries = new Map((await readdir(dir, { withFileTypes: true })).map((entry) => [entry.name, entry]));
  // Not recursive: if the change was archived meanwhile, fail with ENOENT rather than resurrect its folder.
  if (!entries.has('specs')) {
    await mkdir(path.join(dir, 'specs')).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'EEXIST') throw err;
    });
  }
  const isThere = (name: string): Promise<boolean> =>
    entries.get(name)?.isSymbolicLink() === false
      ? Promise.resolve(true)
      : access(path.join(dir, name)).then(
          () => true,
          () => false,
        );
  const present = await Promise.all(SCAFFOLD_NAMES.map(isThere));
  if (present.every(Boolean)) return;
  for (const [name, text] of Object.entries(await scaffoldFiles(layout, await input()))) {
    await createFileExclusive(path.join(dir, name), text);
  }
}
