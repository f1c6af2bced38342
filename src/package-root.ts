/**
 * Files shipped at the package root (`openapi.yaml`, `package.json`), found from `src/` under tsx or bun and
 * from `dist/src/` when built.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The absolute path of `name` in the nearest folder above this module that has it. */
export function packageFile(name: string): string {
  const start = dirname(fileURLToPath(import.meta.url));
  for (let dir = start; dir !== dirname(dir); dir = dirname(dir)) {
    const candidate = join(dir, name);
    if (existsSync(candidate)) return candidate;
  }
  throw new Error(`${name} not found above ${start}`);
}

/** task-mcp's own version, from its package.json. */
export const readVersion = (): string =>
  (JSON.parse(readFileSync(packageFile('package.json'), 'utf8')) as { version: string }).version;
