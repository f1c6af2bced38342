/**
 * The example Messages API request must stay a valid `@anthropic-ai/sdk` beta request. A JSON import widens
 * `"type": "url"` to `string`, so the file's text is compiled as a typed literal instead, by tsc itself.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { it } from 'node:test';
import ts from 'typescript';

const CHECK = (
  json: string,
) => `import type { MessageCreateParamsNonStreaming } from '@anthropic-ai/sdk/resources/beta/messages/messages';
export const request: MessageCreateParamsNonStreaming = ${json};
const toolset = request.tools?.find((t) => 'type' in t && t.type === 'mcp_toolset');
export const names: string[] = toolset && 'configs' in toolset ? Object.keys(toolset.configs ?? {}) : [];
`;

function diagnostics(file: string): string[] {
  const program = ts.createProgram([file], {
    strict: true,
    noEmit: true,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2023,
    skipLibCheck: true,
    types: [],
  });
  return ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
}

it('examples/messages_api_request.json type-checks as a Messages API beta request with an mcp_toolset', async () => {
  const json = await readFile(new URL('../examples/messages_api_request.json', import.meta.url), 'utf8');
  // Inside node_modules so that '@anthropic-ai/sdk' resolves as it does for the project.
  const dir = await mkdtemp(join(process.cwd(), 'node_modules', '.cache', 'mcp-example-'));
  try {
    const file = join(dir, 'check.ts');
    await writeFile(file, CHECK(json));
    assert.deepEqual(diagnostics(file), []);
    // The check itself fails on drift: a wrong connector field does not compile.
    await writeFile(file, CHECK(json.replace('"type": "url"', '"type": "uri"')));
    assert.notDeepEqual(diagnostics(file), []);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

it('examples/messages_api_curl.sh sends the example with the current MCP connector beta', async () => {
  const sh = await readFile(new URL('../examples/messages_api_curl.sh', import.meta.url), 'utf8');
  assert.match(sh, /-H "anthropic-version: 2023-06-01"/);
  assert.match(sh, /-H "anthropic-beta: mcp-client-2026-09-15"/);
  assert.match(sh, /--data @messages_api_request\.json/);
  const betas = await readFile(
    new URL('../node_modules/@anthropic-ai/sdk/resources/beta/beta.d.ts', import.meta.url),
    'utf8',
  );
  const newest = [...betas.matchAll(/'(mcp-client-\d{4}-\d{2}-\d{2})'/g)]
    .map((m) => m[1]!)
    .sort()
    .at(-1);
  assert.equal(newest, 'mcp-client-2026-09-15', 'a newer connector beta exists: update the example');
});

it('examples/demo-messages-api.ts explains what is missing and exits non-zero without credentials', async () => {
  const { execFile } = await import('node:child_process');
  const env = {
    ...process.env,
    ANTHROPIC_API_KEY: '',
    TASK_MCP_PUBLIC_URL: 'https://127.0.0.1:8443',
    TASK_MCP_TOKEN: '',
  };
  const result = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
    const child = execFile(
      process.execPath,
      ['--import', 'tsx', 'examples/demo-messages-api.ts'],
      { env, timeout: 30_000 },
      (_err, _out, stderr) => resolve({ code: child.exitCode, stderr }),
    );
  });
  assert.equal(result.code, 1);
  assert.match(result.stderr, /ANTHROPIC_API_KEY is not set/);
  assert.match(result.stderr, /must be reachable from the internet; 127\.0\.0\.1/);
  assert.match(result.stderr, /TASK_MCP_TOKEN is not set/);
});
