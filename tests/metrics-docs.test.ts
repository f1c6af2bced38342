/**
 * docs/observability.md against the registry: every metric the server defines is in its tables with its type and
 * label set, and nothing else is; the example dashboard and alert rules use only those metrics and labels.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { createMetrics, type Metrics } from '../src/metrics/index.js';

interface Row {
  name: string;
  type: string;
  labels: string[];
}

const read = (path: string): string => readFileSync(new URL(`../${path}`, import.meta.url), 'utf8');

/** The rows of the tables under `## <heading>` whose second cell is a metric type. */
function documented(heading: string): Row[] {
  const section =
    read('docs/observability.md')
      .split(/^## /m)
      .find((s) => s.startsWith(`${heading}\n`)) ?? '';
  return [...section.matchAll(/^\| `(\w+)` +\| (counter|gauge|histogram) +\| ([^|]*)\|/gm)].map(
    ([, name, type, cell]) => ({
      name: name!,
      type: type!,
      labels: heading === 'Metrics' ? labelsOf(cell!) : [],
    }),
  );
}

const labelsOf = (cell: string): string[] =>
  cell.trim() === '—'
    ? []
    : cell
        .split(',')
        .map((label) => label.trim().replace(/^`|`$/g, ''))
        .sort();

/** One call of every recording function, so every metric has a sample and shows its labels. */
function recordOneOfEach(metrics: Metrics): void {
  metrics.httpRequest({ route: '/healthz', method: 'GET', status: 200, seconds: 0.001, bytes: 15 });
  metrics.toolCall({ tool: 'change.open', transport: 'invoke_json', code: 'ok', caller: 'alice' });
  metrics.mcpOperation({ method: 'tools/list', transport: 'streamable_http', seconds: 0.01 });
  metrics.streamOpened('events');
  metrics.capRefused({ budget: 'streams', scope: 'client' });
  metrics.heartbeatLag({ kind: 'events', seconds: 0.002 });
  metrics.slowReaderCut('events');
  metrics.rateLimited({ window: 'burst' });
  metrics.authRefused({ status: 401, code: 'EAUTH', credential: 'none' });
  metrics.changeOperation({ operation: 'change.open', outcome: 'ok', seconds: 0.2 });
  metrics.subprocess({ command: 'git', subcommand: 'log', seconds: 0.01 });
  metrics.lockContended('change');
  metrics.archiveRecovered('completed');
  metrics.eventDelivered({ bus: 'memory', seconds: 0.0001 });
  metrics.watchReadiness(async () => ({ draining: 'ok' }));
}

/** Each metric of `metrics` with its type and the label names its samples carry (`le` is the histogram's own). */
async function registered(metrics: Metrics): Promise<Row[]> {
  const all = await metrics.registry.getMetricsAsJSON();
  return all.map((metric) => ({
    name: metric.name,
    type: String(metric.type),
    labels: [...new Set(metric.values.flatMap((value) => Object.keys(value.labels)))].filter((l) => l !== 'le').sort(),
  }));
}

const byName = (rows: Row[]): Row[] => [...rows].sort((a, b) => a.name.localeCompare(b.name));

async function serverMetrics(): Promise<{ ours: Row[]; process: Row[] }> {
  const bare = createMetrics({ callerLabels: false, maxStreams: 10, defaultCollectors: false });
  recordOneOfEach(bare);
  const ours = await registered(bare);
  const full = createMetrics({ callerLabels: false, maxStreams: 10, defaultCollectors: true });
  const names = new Set(ours.map((row) => row.name));
  const process = (await registered(full)).filter((row) => !names.has(row.name)).map((row) => ({ ...row, labels: [] }));
  return { ours, process };
}

describe('docs/observability.md', () => {
  it('names every metric of the server with its type and labels, and no other', async () => {
    const { ours } = await serverMetrics();
    assert.ok(ours.length >= 17);
    assert.deepEqual(byName(documented('Metrics')), byName(ours));
  });

  it("names every process metric of prom-client's default collectors", async () => {
    const { process } = await serverMetrics();
    assert.ok(process.some((row) => row.name === 'nodejs_eventloop_lag_seconds'));
    assert.deepEqual(byName(documented('Process metrics')), byName(process));
  });
});

/** PromQL expressions of the dashboard (panel targets and variable queries) and of the alert rules. */
function examples(): Record<string, string[]> {
  const dashboard = JSON.parse(read('examples/grafana/task-mcp.json')) as {
    panels: Array<{ targets?: Array<{ expr: string }> }>;
    templating: { list: Array<{ definition?: string }> };
  };
  const rules = parse(read('examples/prometheus/task-mcp.rules.yml')) as {
    groups: Array<{ rules: Array<{ expr: string }> }>;
  };
  return {
    dashboard: [
      ...dashboard.panels.flatMap((panel) => (panel.targets ?? []).map((target) => target.expr)),
      ...dashboard.templating.list.flatMap((v) => (v.definition ? [v.definition] : [])),
    ],
    rules: rules.groups.flatMap((group) => group.rules.map((rule) => rule.expr)),
  };
}

/** Label names in `by`/`on`/`without` clauses and selectors; the metric names once those are taken out. */
function namesIn(expr: string): { metrics: string[]; labels: string[] } {
  const labels: string[] = [];
  const bare = expr
    .replace(/\b(?:by|on|without|ignoring)\s*\(([^)]*)\)/g, (_, list: string) => {
      labels.push(...list.split(',').map((l) => l.trim()));
      return '';
    })
    .replace(/\{([^}]*)\}/g, (_, selector: string) => {
      labels.push(...[...selector.matchAll(/(\w+)\s*(?:=~|!~|!=|=)/g)].map((m) => m[1]!));
      return '';
    });
  const metrics = [...bare.matchAll(/\b(?:http_server|mcp_server|task_mcp|process|nodejs)_\w+/g)].map((m) => m[0]);
  return { metrics, labels: labels.filter(Boolean) };
}

describe('the example dashboard and alert rules', () => {
  it('use only metrics and labels the server defines', async () => {
    const { ours, process } = await serverMetrics();
    const rows = new Map([...ours, ...process].map((row) => [row.name, row]));
    const known = (name: string): boolean => {
      const histogram = /^(\w+)_(bucket|count|sum)$/.exec(name)?.[1];
      return rows.has(name) || (histogram !== undefined && rows.get(histogram)?.type === 'histogram');
    };
    const labels = new Set(['job', 'instance', 'le', ...ours.flatMap((row) => row.labels)]);
    for (const [file, exprs] of Object.entries(examples())) {
      assert.ok(exprs.length > 5, file);
      for (const expr of exprs) {
        const found = namesIn(expr);
        assert.ok(found.metrics.length > 0 || /\bup\b/.test(expr), `${file}: no metric in ${expr}`);
        for (const name of found.metrics) assert.ok(known(name), `${file}: ${name} is no metric of the server`);
        for (const label of found.labels) assert.ok(labels.has(label), `${file}: ${label} is no label of the server`);
      }
    }
  });
});
