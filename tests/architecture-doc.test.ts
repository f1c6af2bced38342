/**
 * docs/architecture.md stays true to the tree: the paths it names exist, its table of import rules is the rule
 * file's, and its diagram draws exactly the imports between parts that the sources make.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { describe, it } from 'node:test';

const root = new URL('..', import.meta.url).pathname;
const page = readFileSync(join(root, 'docs/architecture.md'), 'utf8');

/** Every `code span` of the page that names a file or folder of the repository. */
function namedPaths(): string[] {
  const spans = [...page.matchAll(/`([^`\s]+)`/g)].map(([, span]) => span!);
  return spans.filter((span) => /^(?:src|generated|client|scripts|tests|docs)\/[\w./-]*$|^openapi\.yaml$/.test(span));
}

/** Parts as the diagram draws them: a folder of src/, generated/, client/, or a module of src/ on its own. */
function partOf(file: string): string {
  const top = /^(generated|client)\//.exec(file);
  if (top) return `${top[1]}/`;
  const folder = /^src\/([^/]+)\//.exec(file);
  return folder ? `src/${folder[1]}/` : file;
}

/** The small shared modules the diagram leaves out, as the page says. */
const SHARED = /^src\/(?:errors|lifecycle|package-root|redis-connection|redis-pubsub)\.ts$/;

const sources = (dir: string): string[] =>
  readdirSync(join(root, dir), { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.ts') && !file.endsWith('.d.ts'))
    .map((file) => join(dir, file));

/** Each import between parts in src/ and client/: `from -> to`, `run` when any import of the pair is not type-only. */
function importsBetweenParts(): Map<string, 'run' | 'type'> {
  const edges = new Map<string, 'run' | 'type'>();
  for (const file of [...sources('src'), ...sources('client')]) {
    const text = readFileSync(join(root, file), 'utf8');
    const statements = text.matchAll(/^(?:import|export)\s+(type\s+)?([^;]*?)\s*from\s+'(\.[^']+)';/gms);
    for (const [, typeKeyword, clause, specifier] of statements) {
      const named = /^\{([^}]*)\}$/.exec(clause!.trim())?.[1];
      const typeOnly =
        typeKeyword !== undefined ||
        (named !== undefined && named.split(',').every((name) => /^\s*(?:type\s+\S|$)/.test(name)));
      const target = relative(root, join(root, dirname(file), specifier!.replace(/\.js$/, '.ts')));
      const [from, to] = [partOf(file), partOf(target)];
      if (from === to || SHARED.test(to) || SHARED.test(file) || (to === 'generated/' && from !== 'client/')) continue;
      const key = `${from} -> ${to}`;
      edges.set(key, edges.get(key) === 'run' || !typeOnly ? 'run' : 'type');
    }
  }
  return edges;
}

/** The arrows of the page's Mermaid flowchart, by the labels of their ends. */
function drawnArrows(): Map<string, 'run' | 'type'> {
  const chart = /```mermaid\n([\s\S]*?)```/.exec(page)?.[1];
  assert.ok(chart, 'the page has a mermaid block');
  const labels = new Map([...chart.matchAll(/(\w+)\["([^"]+)"\]/g)].map(([, id, label]) => [id!, label!]));
  const arrows = new Map<string, 'run' | 'type'>();
  for (const line of chart.split('\n').slice(1)) {
    const arrow = /^\s*(\w+)(?:\["[^"]+"\])?\s*(-->|-\.->)\s*(\w+)(?:\["[^"]+"\])?\s*$/.exec(line);
    if (!arrow) continue;
    const [, from, kind, to] = arrow;
    arrows.set(`${labels.get(from!)} -> ${labels.get(to!)}`, kind === '-->' ? 'run' : 'type');
  }
  return arrows;
}

const sorted = (edges: Map<string, string>): string[] => [...edges].map(([edge, kind]) => `${edge} (${kind})`).sort();

describe('docs/architecture.md', () => {
  it('names only paths that exist', () => {
    const paths = namedPaths();
    assert.ok(paths.length > 40, `found only ${paths.length} paths`);
    assert.deepEqual(
      paths.filter((path) => !existsSync(join(root, path))),
      [],
    );
  });

  it("lists exactly the rules of .dependency-cruiser.cjs, in the file's order", () => {
    const rules = createRequire(import.meta.url)(join(root, '.dependency-cruiser.cjs')) as {
      forbidden: { name: string }[];
    };
    const listed = [...page.matchAll(/^\| `([a-z-]+)` +\|/gm)].map(([, name]) => name);
    assert.deepEqual(
      listed,
      rules.forbidden.map((rule) => rule.name),
    );
  });

  it('draws every import between parts the sources make, and no other (dotted: types only)', () => {
    assert.deepEqual(sorted(drawnArrows()), sorted(importsBetweenParts()));
  });
});
