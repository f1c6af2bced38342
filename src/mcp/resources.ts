/**
 * The domain's read-only resources as MCP resources and resource templates (the contract's `x-resources`, through
 * generated/resources.gen.ts). Listings are built once; reads go to
 * `ChangeService.readResource`, and a domain refusal becomes a JSON-RPC error with the contract's code for it
 * (for the request's MCP revision: a missing resource is -32002 up to 2025-11-25, -32602 from 2026-07-28).
 */
import type {
  ListResourcesResult,
  ListResourceTemplatesResult,
  ReadResourceResult,
} from '@modelcontextprotocol/server';
import type { Logger } from 'pino';
import { RESOURCE_PATTERNS, RESOURCE_TEMPLATES, RESOURCES } from '../../generated/resources.gen.js';
import type { ChangeService } from '../changes/types.js';

/** The domain's resource reader. */
export type ResourceReader = Pick<ChangeService, 'readResource'>;
import { isTaskError } from '../errors.js';
import { rpcError } from './contract-server.js';

export interface ResourceBox {
  readonly list: ListResourcesResult;
  readonly templates: ListResourceTemplatesResult;
  read(uri: string, request: { log: Logger; revision: string }): Promise<ReadResourceResult>;
}

const LIST: ListResourcesResult = { resources: [...RESOURCES] };
const TEMPLATES: ListResourceTemplatesResult = { resourceTemplates: [...RESOURCE_TEMPLATES] };

const FIXED: ReadonlySet<string> = new Set(RESOURCES.map((r) => r.uri));
const PATTERNS = Object.values(RESOURCE_PATTERNS);

/**
 * Refuses a `uri` the domain does not serve before it reaches the domain (a read, a subscription), echoing it in
 * `data` as the resources spec's "Error Handling" example does.
 */
export function assertServed(uri: string, revision: string): void {
  if (FIXED.has(uri) || PATTERNS.some((pattern) => pattern.test(uri))) return;
  throw rpcError(revision, 'ENOCHANGE', `No such resource: ${uri}`, { uri });
}

export function createResourceBox(service: ResourceReader): ResourceBox {
  return {
    list: LIST,
    templates: TEMPLATES,
    async read(uri, { log, revision }) {
      // Every refusal echoes the URI in `data`, as the resources spec's "Error Handling" example does.
      assertServed(uri, revision);
      try {
        const content = await service.readResource(uri);
        return { contents: [{ uri: content.uri, mimeType: content.mimeType, text: content.text }] };
      } catch (err) {
        if (isTaskError(err)) {
          throw rpcError(revision, err.code, err.message, {
            uri,
            ...(err.hint && { hint: err.hint }),
            ...(err.details && { details: err.details }),
          });
        }
        log.error({ err, uri }, 'resource read failed');
        throw rpcError(revision, 'EINTERNAL', 'Internal error');
      }
    },
  };
}
