/**
 * Newline-delimited JSON framing: exactly one JSON value per `\n`-terminated line. `JSON.stringify` escapes
 * every control character inside strings and adds no whitespace without an indent, so its output holds no raw
 * line break; the check below makes that an asserted invariant rather than an assumption.
 */

/** Formats one value as one line. Throws a `TypeError` for a value JSON cannot represent (`undefined`, a function). */
export function formatNdjsonLine(value: unknown): string {
  const json: string | undefined = JSON.stringify(value);
  if (json === undefined) throw new TypeError(`NDJSON cannot encode a ${typeof value}`);
  if (/[\r\n]/.test(json)) throw new TypeError('NDJSON line holds a raw line break');
  return `${json}\n`;
}
