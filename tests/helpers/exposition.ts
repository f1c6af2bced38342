/**
 * The Prometheus text exposition read back as samples, and one sample looked up by name and labels: what a test
 * asserts on after a scrape.
 */

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const LINE = /^([A-Za-z_:][\w:]*)(?:\{(.*)\})? (\S+)$/;
const LABEL = /(\w+)="((?:[^"\\]|\\.)*)"/g;

/** Every sample of `text` (comments and blank lines skipped). */
export function parseExposition(text: string): Sample[] {
  return text.split('\n').flatMap((line) => {
    const match = LINE.exec(line);
    if (!match) return [];
    const labels = Object.fromEntries([...(match[2] ?? '').matchAll(LABEL)].map(([, k, v]) => [k!, v!]));
    return [{ name: match[1]!, labels, value: Number(match[3]) }];
  });
}

/** The value of the sample named `name` whose labels include `labels`; undefined when there is none. */
export function valueOf(
  samples: readonly Sample[],
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  const matching = samples.filter(
    (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  );
  if (matching.length > 1) throw new Error(`${name} ${JSON.stringify(labels)} matches ${matching.length} samples`);
  return matching[0]?.value;
}

/** Scrapes `metricsUrl` (a server's `metricsUrl`) and reads the samples; fails on anything but a 200. */
export async function scrape(metricsUrl: string | undefined, headers: Record<string, string> = {}): Promise<Sample[]> {
  if (metricsUrl === undefined) throw new Error('the server serves no metrics: start it with METRICS_PORT');
  const res = await fetch(`${metricsUrl}/metrics`, { headers });
  if (res.status !== 200) throw new Error(`scrape: ${res.status} ${await res.text()}`);
  return parseExposition(await res.text());
}
