/**
 * The contract's `x-resources`, read for the generator: the static resources and the URI templates, each template
 * with the TypeScript of a builder (`(p: { slug: string }) => \`change://${p.slug}/proposal\``) and the source of a
 * pattern that matches its URIs, capturing each variable by name. Only the two RFC 6570 forms the contract uses are
 * understood: `{name}`, one path segment, and `{+name}` (reserved expansion), the rest of the URI.
 */

export interface StaticResource {
  uri: string;
  name: string;
  title: string;
  description?: string;
  mimeType: string;
}

export interface ResourceTemplate {
  uriTemplate: string;
  name: string;
  title: string;
  description?: string;
  mimeType: string;
}

const VARIABLE = /\{(\+?)([A-Za-z_][A-Za-z0-9_]*)\}/g;

const escapeRegExp = (text: string): string => text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

/** The source of a pattern matching the template's URIs, capturing each variable under its name. */
export function templatePattern(uriTemplate: string): string {
  let source = '';
  let at = 0;
  for (const match of uriTemplate.matchAll(VARIABLE)) {
    source += escapeRegExp(uriTemplate.slice(at, match.index));
    source += match[1] === '+' ? `(?<${match[2]}>.+)` : `(?<${match[2]}>[^/]+)`;
    at = match.index + match[0].length;
  }
  return `^${source}${escapeRegExp(uriTemplate.slice(at))}$`;
}

/** The TypeScript of a function building one URI of the template from its variables, as given. */
export function templateBuilder(uriTemplate: string): string {
  const names = [...uriTemplate.matchAll(VARIABLE)].map((m) => m[2]!);
  if (/[{}]/.test(uriTemplate.replace(VARIABLE, '')))
    throw new Error(`x-resources: unsupported template ${uriTemplate}`);
  const body = uriTemplate.replace(/`/g, '\\`').replace(VARIABLE, (_, _plus, name: string) => `\${p.${name}}`);
  return `(p: { ${names.map((n) => `${n}: string`).join('; ')} }): string => \`${body}\``;
}

/** The block, checked: a list of resources and of templates, each with a unique name. */
export function readResources(block: unknown): { resources: StaticResource[]; templates: ResourceTemplate[] } {
  const { resources, templates } = (block ?? {}) as { resources?: StaticResource[]; templates?: ResourceTemplate[] };
  if (!Array.isArray(resources) || !Array.isArray(templates)) {
    throw new Error('openapi.yaml: x-resources needs a list of resources and a list of templates');
  }
  const names = [...resources, ...templates].map((r) => r.name);
  const twice = names.find((name, i) => names.indexOf(name) !== i);
  if (twice) throw new Error(`openapi.yaml: x-resources names ${twice} twice`);
  for (const r of [...resources, ...templates]) {
    if (typeof r.name !== 'string' || typeof r.title !== 'string' || typeof r.mimeType !== 'string') {
      throw new Error(`openapi.yaml: x-resources entry ${JSON.stringify(r.name)} needs a name, title and mimeType`);
    }
  }
  return { resources, templates };
}
