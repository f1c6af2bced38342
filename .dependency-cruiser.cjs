/**
 * The import rules of the house, checked by `npm run check` (dependency-cruiser). Layers, bottom up:
 *
 *   generated/ ← src/errors, src/contract, src/changes (the domain), src/streaming (framing), src/auth, src/config
 *              ← src/events, src/tools (the catalog and the one tool-call pipeline)
 *              ← src/mcp, src/http (the adapters) ← src/compose.ts (the one composition root) ← src/main.ts
 *
 * and client/ (for users of the generated SDK) beside generated/. Each rule names what it keeps apart and why.
 */
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-cycles',
      comment:
        'A cycle makes two modules one; break it by moving what both need below them. (The fetch client that ' +
        '@hey-api/openapi-ts writes under generated/client and generated/core has a type-only one of its own.)',
      severity: 'error',
      from: { pathNot: '^generated/(client|core)/' },
      to: { circular: true },
    },
    {
      name: 'generated-imports-only-generated',
      comment: 'generated/ is written by `npm run generate` from openapi.yaml: it may lean on nothing hand-written.',
      severity: 'error',
      from: { path: '^generated/' },
      to: { path: '^(src|client|scripts|tests|examples)/' },
    },
    {
      name: 'client-is-not-the-server',
      comment: 'client/ ships to users of the generated SDK: it uses generated/ and nothing of the server.',
      severity: 'error',
      from: { path: '^client/' },
      to: { path: '^(src|scripts|tests|examples)/' },
    },
    {
      name: 'server-stands-alone',
      comment: 'The server (what the image ships) imports no client, test, script or example.',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: '^(client|scripts|tests|examples)/' },
    },
    {
      name: 'domain-knows-no-transport',
      comment:
        'src/changes is the domain: no HTTP, no MCP, no framing, no configuration reader; it gets what it needs ' +
        'passed in (its patterns come from generated/).',
      severity: 'error',
      from: { path: '^src/changes/' },
      to: {
        path: [
          '^src/(http|mcp|streaming|tools|events|config|auth)/',
          '^src/(compose|main|lifecycle|embedded-defaults)\\.ts$',
          'node_modules/(koa|@koa|koa-[^/]+|@modelcontextprotocol|ioredis|pino|ajv)/',
        ],
      },
    },
    {
      name: 'streaming-is-framing-only',
      comment: 'src/streaming frames SSE and NDJSON and writes them with backpressure: it imports nothing above it.',
      severity: 'error',
      from: { path: '^src/streaming/' },
      to: { pathNot: ['^src/streaming/', '^node_modules/@types/node/'], dependencyTypesNot: ['core'] },
    },
    {
      name: 'mcp-knows-no-koa',
      comment: 'src/mcp works on Node req/res and a verified principal; the Koa glue is src/http/routes/mcp.ts.',
      severity: 'error',
      from: { path: '^src/mcp/' },
      to: { path: ['^src/http/', 'node_modules/(koa|@koa|koa-[^/]+)/'] },
    },
    {
      name: 'adapters-reach-the-domain-through-tools',
      comment:
        'http and mcp call tools through src/tools/pipeline.ts and read resources through a narrow type; only ' +
        'type-only imports of the domain are allowed (the composition root builds it).',
      severity: 'error',
      from: { path: '^src/(http|mcp)/' },
      to: { path: '^src/changes/', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'adapters-are-apart',
      comment: 'http hands MCP requests over through src/mcp/index.ts only; MCP never reaches into http.',
      severity: 'error',
      from: { path: '^src/http/' },
      to: { path: '^src/mcp/', pathNot: '^src/mcp/index\\.ts$' },
    },
    {
      name: 'core-knows-no-adapter',
      comment:
        'Below the adapters, nothing imports them: the tools, events, auth, config and contract know no HTTP or MCP.',
      severity: 'error',
      from: {
        path: '^src/(tools|events|auth|config|contract|streaming)/|^src/(errors|lifecycle|redis-connection|redis-pubsub)\\.ts$',
      },
      to: { path: ['^src/(http|mcp)/', '^src/compose\\.ts$', 'node_modules/(koa|@koa|koa-[^/]+)/'] },
    },
    {
      name: 'one-composition-root',
      comment: 'Parts are built and wired in src/compose.ts: only it builds the Koa app; only main.ts starts it.',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/(compose|main)\\.ts$' },
      to: { path: '^src/(compose\\.ts|http/app\\.ts)$' },
    },
    {
      name: 'server-uses-runtime-dependencies',
      comment: 'What src/ imports at run time must be a dependency, not a devDependency: the image has no others.',
      severity: 'error',
      from: { path: '^src/' },
      to: { dependencyTypes: ['npm-dev'], dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'no-unlisted-packages',
      comment: 'Every package imported is in package.json.',
      severity: 'error',
      from: {},
      to: { dependencyTypes: ['npm-no-pkg', 'npm-unknown'] },
    },
    {
      name: 'no-unresolvable',
      comment: 'An import that resolves to nothing is a typo or a missing file.',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
    },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
