/**
 * The bench's results as a markdown table, printed and written into docs/benchmarks.md between two markers (the
 * rest of that file is written by hand). The file is formatted with the project's prettier settings, so
 * `npm run check` stays clean after a run.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { availableParallelism, cpus, loadavg, platform, release, totalmem } from 'node:os';
import * as prettier from 'prettier';

export interface Row {
  /** What is measured, and against which baseline. */
  name: string;
  unit: 'req/s' | 'calls/s' | 'ms' | 'B';
  ours: number;
  /** What `ours` is set beside; none for a measure with no outside equivalent. */
  baseline?: number;
}

const BEGIN = '<!-- bench:begin (written by `npm run bench`; edit above or below) -->';
const END = '<!-- bench:end -->';

const formatters: Record<Row['unit'], (value: number) => string> = {
  'req/s': (value) => `${Math.round(value).toLocaleString('en-US')} req/s`,
  'calls/s': (value) => `${Math.round(value).toLocaleString('en-US')} calls/s`,
  ms: (value) => `${value < 10 ? value.toFixed(2) : value.toFixed(1)} ms`,
  B: (value) => (value < 10 * 2 ** 20 ? `${(value / 1024).toFixed(1)} KiB` : `${(value / 2 ** 20).toFixed(0)} MiB`),
};

/** The results as a markdown table: name, task-mcp, baseline, ratio (task-mcp ÷ baseline). */
export function table(rows: Row[]): string {
  const lines = ['| Measure | task-mcp | Baseline | Ratio |', '| --- | ---: | ---: | ---: |'];
  for (const row of rows) {
    const format = formatters[row.unit];
    const { baseline } = row;
    const ratio = baseline !== undefined && baseline > 0 ? `${(row.ours / baseline).toFixed(2)}×` : '—';
    lines.push(`| ${row.name} | ${format(row.ours)} | ${baseline === undefined ? '—' : format(baseline)} | ${ratio} |`);
  }
  return lines.join('\n');
}

/** The load average when the run began: other processes on the machine share its cores. */
export const loadNow = (): string => loadavg()[0]!.toFixed(1);

/** Where and how the figures were taken. */
export function machine(command: string, loadAtStart: string, settings: string): string {
  const cpu = cpus()[0]?.model.trim() ?? 'unknown CPU';
  return [
    `Run ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC with \`${command}\`: ${availableParallelism()}`,
    `cores (nproc), ${cpu}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB, ${platform()} ${release()},`,
    `Node ${process.version}; load average ${loadAtStart} at the start, ${loadNow()} at the end. ${settings}`,
  ].join(' ');
}

/** Replaces the generated section of `file` with `section`, then formats the file with prettier. */
export async function writeSection(file: string, section: string): Promise<void> {
  const text = await readFile(file, 'utf8');
  const begin = text.indexOf(BEGIN);
  const end = text.indexOf(END);
  if (begin < 0 || end < begin) throw new Error(`${file} needs the markers ${BEGIN} and ${END}`);
  const updated = `${text.slice(0, begin + BEGIN.length)}\n\n${section}\n\n${text.slice(end)}`;
  const options = { ...(await prettier.resolveConfig(file)), filepath: file };
  await writeFile(file, await prettier.format(updated, options));
}
