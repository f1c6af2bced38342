/**
 * A test-only preload (`--import ./tests/helpers/module-log.ts`, after tsx) that appends the URL of every module
 * the process loads, ES modules and CommonJS alike, to MODULE_LOG, one per line: how a test learns what a start
 * loaded. ES modules are seen by a load hook (in the loader's thread), CommonJS ones where they are compiled.
 */
import { appendFileSync } from 'node:fs';
import { createRequire, register } from 'node:module';
import { pathToFileURL } from 'node:url';

const log = process.env.MODULE_LOG;
if (log) {
  const hook = [
    "import { appendFileSync } from 'node:fs';",
    'export async function load(url, context, next) {',
    `  appendFileSync(${JSON.stringify(log)}, url + '\\n');`,
    '  return next(url, context);',
    '}',
  ].join('\n');
  register(`data:text/javascript,${encodeURIComponent(hook)}`);
  const cjs = createRequire(import.meta.url)('node:module') as {
    prototype: { _compile(this: unknown, content: string, filename: string): unknown };
  };
  const compile = cjs.prototype._compile;
  cjs.prototype._compile = function (content, filename) {
    appendFileSync(log, `${pathToFileURL(filename).href}\n`);
    return compile.call(this, content, filename);
  };
}
