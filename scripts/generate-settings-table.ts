/**
 * Writes the README's configuration table from the SETTINGS table (src/config/settings.ts): one row per variable,
 * its default, and its description with its kind's bounds. `npm run generate` runs it, then prettier aligns the
 * columns; tests/config.test.ts fails when the README is out of step.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { SETTINGS, describeSetting, type Setting } from '../src/config/index.js';

const README = 'README.md';
const HEADER = '| Variable | Default | Meaning |';

const row = ([name, setting]: [string, Setting]): string =>
  `| \`${name}\` | ${setting.default ? `\`${setting.default}\`` : '—'} | ${describeSetting(setting)} |`;

const lines = readFileSync(README, 'utf8').split('\n');
const start = lines.findIndex((line) => line.replace(/ +/g, ' ').startsWith(HEADER));
if (start < 0) throw new Error(`${README} has no configuration table (a row starting "${HEADER}")`);
let end = start + 1;
while (lines[end]?.startsWith('|')) end++;
const table = [HEADER, '| --- | --- | --- |', ...Object.entries(SETTINGS).map(row)];
lines.splice(start, end - start, ...table);
writeFileSync(README, lines.join('\n'));
