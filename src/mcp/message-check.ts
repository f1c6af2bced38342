/**
 * Checks of incoming JSON-RPC with the SDK's own schemas, where the SDK does not make them itself, and what a
 * message says for the log. The SDK's transports validate what they receive; our HTTP+SSE transport is
 * hand-written, and an unchecked message the SDK cannot route (no `method`, a bad `id` or `params`) is dropped
 * without a word, leaving its sender waiting forever.
 */
import { specTypeSchemas } from '@modelcontextprotocol/server';
import type { JSONRPCMessage } from '@modelcontextprotocol/server';
import type { ValidationIssue } from '../../generated/types.gen.js';
import { findTool } from '../tools/catalog.js';

type Schema = (typeof specTypeSchemas)[keyof typeof specTypeSchemas];

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** Which of the SDK's schemas `body` claims to fit, by its members. */
function schemaFor(body: Record<string, unknown>): Schema | undefined {
  if ('method' in body) return 'id' in body ? specTypeSchemas.JSONRPCRequest : specTypeSchemas.JSONRPCNotification;
  if ('result' in body || 'error' in body) return specTypeSchemas.JSONRPCResponse;
  return undefined;
}

/** `schema`'s issues with `value`, each located under `prefix` (`body/id`, `params/clientInfo`). */
function issuesOf(schema: Schema, value: unknown, prefix: string[]): ValidationIssue[] {
  return (schema['~standard'].validate(value).issues ?? []).map((issue) => ({
    location: [...prefix, ...(issue.path ?? []).map((step) => String(typeof step === 'object' ? step.key : step))].join(
      '/',
    ),
    message: issue.message,
  }));
}

/** What keeps `body` from being one JSON-RPC message the SDK can take, located in the body; empty when nothing. */
export function messageIssues(body: unknown): ValidationIssue[] {
  if (Array.isArray(body)) {
    return [{ location: 'body', message: 'is a batch: post one message per request (MCP 2025-06-18 dropped batches)' }];
  }
  const schema = isObject(body) ? schemaFor(body) : undefined;
  if (schema === undefined) {
    return [{ location: 'body', message: 'is not a JSON-RPC 2.0 request, notification or response' }];
  }
  return issuesOf(schema, body, ['body']);
}

/**
 * What is wrong with the params of an `initialize` request (empty for any other message). The SDK answers a bad
 * `initialize` with -32603 and its raw zod issues, where every other method's bad params get -32602.
 */
export function initializeIssues(message: JSONRPCMessage): ValidationIssue[] {
  if (!('method' in message) || message.method !== 'initialize' || !('id' in message)) return [];
  return issuesOf(specTypeSchemas.InitializeRequest, message, []);
}

/** The canonical tool name of a `tools/call` message (for the request's log line); undefined for any other. */
export function toolOf(body: unknown): string | undefined {
  const message = body as { method?: unknown; params?: { name?: unknown } } | null;
  if (message?.method !== 'tools/call' || typeof message.params?.name !== 'string') return undefined;
  return findTool(message.params.name)?.name ?? message.params.name.slice(0, 64);
}
