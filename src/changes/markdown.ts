/**
 * The little the domain reads back from a change's Markdown: the proposal's title, the task checklist and the
 * delta headers. OpenSpec's own parser stays authoritative for validation; these only summarize.
 */

/** One unchecked task, as it reads in tasks.md. */
export interface OpenTask {
  line: number;
  text: string;
}

export interface TaskProgress {
  done: number;
  total: number;
  open: OpenTask[];
}

const TASK = /^\s*[-*]\s+\[( |x|X)\]\s+(.*)$/;

/** Counts the checkbox items of tasks.md (`- [ ]` / `- [x]`, as OpenSpec counts them). */
export function taskProgress(markdown: string): TaskProgress {
  const progress: TaskProgress = { done: 0, total: 0, open: [] };
  markdown.split('\n').forEach((line, index) => {
    const match = TASK.exec(line);
    if (!match) return;
    progress.total++;
    if (match[1] === ' ') progress.open.push({ line: index + 1, text: (match[2] ?? '').trim().slice(0, 200) });
    else progress.done++;
  });
  return progress;
}

/** The proposal's first `# ` heading, or undefined. */
export function proposalTitle(markdown: string): string | undefined {
  const heading = /^#\s+(.+)$/m.exec(markdown)?.[1]?.trim();
  return heading?.replace(/^Change:\s*/i, '').slice(0, 200) || undefined;
}

const REQUIREMENT = /^###\s+Requirement:/;
const RENAMED_FROM = /^\s*-\s*FROM:/i;

export interface DeltaTotals {
  added: number;
  modified: number;
  removed: number;
  renamed: number;
}

/**
 * Counts the requirements of one delta spec by section: `### Requirement:` headers under ADDED, MODIFIED and
 * REMOVED, `FROM:` lines under RENAMED. Used when the receipt is rebuilt after a crash and the CLI's totals are lost.
 */
export function countDeltas(markdown: string): DeltaTotals {
  const totals: DeltaTotals = { added: 0, modified: 0, removed: 0, renamed: 0 };
  let section: keyof DeltaTotals | undefined;
  for (const line of markdown.split('\n')) {
    const header = /^##\s+(ADDED|MODIFIED|REMOVED|RENAMED)\s+Requirements\s*$/i.exec(line)?.[1];
    if (header) section = header.toLowerCase() as keyof DeltaTotals;
    else if (/^##\s/.test(line)) section = undefined;
    else if (section && (section === 'renamed' ? RENAMED_FROM : REQUIREMENT).test(line)) totals[section]++;
  }
  return totals;
}
