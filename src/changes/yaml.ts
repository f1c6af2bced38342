/**
 * YAML for the few files the domain reads and writes (`openspec/config.yaml`, a change's `.openspec.yaml`), with
 * the parser loaded on first use: creating and archiving changes need it, starting the server and resuming a change
 * do not, and it is one of the larger modules a start would otherwise load.
 */

/** Parses `text`; throws on text that is not YAML. */
export async function parseYaml(text: string): Promise<unknown> {
  const { parse } = await import('yaml');
  return parse(text);
}

/** `value` as YAML. */
export async function stringifyYaml(value: unknown): Promise<string> {
  const { stringify } = await import('yaml');
  return stringify(value);
}
