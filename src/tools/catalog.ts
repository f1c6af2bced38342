/**
 * The two tools, described once for every transport. Schemas are named, not copied: each transport takes them
 * from the contract (`contract.schema(name)`), so MCP `inputSchema`s, request validation and types agree.
 */
import type { CallContext, ChangeService } from '../changes/types.js';
import { TOOL_SCOPES, type Scope } from '../../generated/scopes.gen.js';
import type {
  ChangeArchiveInput,
  ChangeOpenInput,
  ToolName,
  ToolResult,
  ValidationIssue,
} from '../../generated/types.gen.js';
import { toIssues, type Contract, type JsonSchema } from '../contract/index.js';

/** A tool's canonical, dotted name (`change.open`): the contract's `ToolName`s with a dot. */
export type CanonicalToolName = Extract<ToolName, `${string}.${string}`>;

export interface ToolSpec<Name extends CanonicalToolName = CanonicalToolName> {
  /** The canonical, dotted name (`change.open`). */
  name: Name;
  /** The name safe for Anthropic's tool-name pattern `^[a-zA-Z0-9_-]{1,64}$` (`change_open`): its other `ToolName`. */
  safeName: Exclude<ToolName, CanonicalToolName>;
  title: string;
  description: string;
  /** The scopes a call needs (the contract's `x-required-scopes`). */
  scopes: readonly Scope[];
  /** Component schema names in `openapi.yaml`. */
  inputSchema: 'ChangeOpenInput' | 'ChangeArchiveInput';
  outputSchema: 'ChangeOpenResult' | 'ChangeArchiveResult';
  /** Input is already validated against `inputSchema`. */
  run(service: ChangeService, input: unknown, ctx: CallContext): Promise<ToolResult>;
}

/** What both tools say about `owner`; the domain enforces it (src/changes/owner.ts). */
const OWNER_RULE =
  'The lock is held for `owner`: you (your token name, or `<subject>~<issuer>` for an OAuth token) by default, or ' +
  "a sub-owner of yours such as `<you>/agent-2` to keep your agents apart; another caller's name is refused " +
  '(EFOREIGN_OWNER).';

/** Every tool of the contract, by canonical name: one left out does not compile. */
const SPECS: { [Name in CanonicalToolName]: ToolSpec<Name> } = {
  'change.open': {
    name: 'change.open',
    safeName: 'change_open',
    title: 'Open a change',
    scopes: TOOL_SCOPES['change.open'],
    description:
      'Open (or resume) the OpenSpec change `slug` in the repository: scaffolds proposal.md, tasks.md and specs/, ' +
      'and takes (or renews) its lock for `ttl` seconds. Returns the repo-relative paths and the resource URIs to read. ' +
      OWNER_RULE,
    inputSchema: 'ChangeOpenInput',
    outputSchema: 'ChangeOpenResult',
    run: (service, input, ctx) => service.open(input as ChangeOpenInput, ctx),
  },
  'change.archive': {
    name: 'change.archive',
    safeName: 'change_archive',
    title: 'Archive a change',
    scopes: TOOL_SCOPES['change.archive'],
    description:
      'Validate the change `slug` (strict OpenSpec validation, every task checked), merge its spec deltas into ' +
      'openspec/specs/, move it to the archive and write a receipt of the commits made since it was opened. ' +
      'Archiving an archived change returns its receipt. ' +
      OWNER_RULE,
    inputSchema: 'ChangeArchiveInput',
    outputSchema: 'ChangeArchiveResult',
    run: (service, input, ctx) => service.archive(input as ChangeArchiveInput, ctx),
  },
};

export const TOOLS: readonly ToolSpec[] = Object.values(SPECS);

const byName = new Map<string, ToolSpec>(
  TOOLS.flatMap((tool) => [[tool.name, tool] as const, [tool.safeName, tool] as const]),
);

/** Finds a tool by either spelling (`change.open` or `change_open`). */
export const findTool = (name: string): ToolSpec | undefined => byName.get(name);

/** A tool's input as the domain will get it, and what in it breaks the tool's input schema (empty when it fits). */
export interface ParsedInput {
  input: unknown;
  /** Located inside the input (`slug`, `request` for the whole). */
  issues: ValidationIssue[];
}

/**
 * Reads a tool call's arguments for every transport: an optional field sent as `null` counts as absent, then the
 * rest is checked against the tool's input schema. Strict-mode tool schemas (OpenAI's, and clients that make
 * every optional field required-and-nullable) send `null` for the fields they do not use.
 */
export function parseToolInput(
  contract: Pick<Contract, 'schema' | 'validator'>,
  tool: ToolSpec,
  raw: unknown,
): ParsedInput {
  const input = withoutNullOptionals(contract.schema(tool.inputSchema), raw);
  const validate = contract.validator(tool.inputSchema);
  return { input, issues: validate(input) ? [] : toIssues(validate.errors ?? []) };
}

function withoutNullOptionals(schema: JsonSchema, raw: unknown): unknown {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return raw;
  const properties = (schema.properties ?? {}) as Record<string, unknown>;
  const required = new Set((schema.required ?? []) as string[]);
  const optional = (key: string) => Object.hasOwn(properties, key) && !required.has(key);
  return Object.fromEntries(Object.entries(raw).filter(([key, value]) => !(value === null && optional(key))));
}
