/**
 * The domain's read-only resources as MCP resources and resource templates. Listings are built once; reads go to
 * `ChangeService.readResource`, and a domain refusal becomes a JSON-RPC error with the contract's code for it
 * (for the request's MCP revision: a missing resource is -32002 up to 2025-11-25, -32602 from 2026-07-28).
 */
import type {
  ListResourcesResult,
  ListResourceTemplatesResult,
  ReadResourceResult,
} from '@modelcontextprotocol/server';
import type { Logger } from 'pino';
import type { ChangeService } from '../changes/types.js';
import { isTaskError } from '../errors.js';
import { rpcError } from './contract-server.js';

export interface ResourceBox {
  readonly list: ListResourcesResult;
  readonly templates: ListResourceTemplatesResult;
  read(uri: string, request: { log: Logger; revision: string }): Promise<ReadResourceResult>;
}

const LIST: ListResourcesResult = {
  resources: [
    {
      uri: 'changes://active',
      name: 'active-changes',
      title: 'Active changes',
      description: 'The open changes with their locks and task counts.',
      mimeType: 'application/json',
    },
  ],
};

const TEMPLATES: ListResourceTemplatesResult = {
  resourceTemplates: [
    {
      uriTemplate: 'change://{slug}/proposal',
      name: 'change-proposal',
      title: 'Proposal of a change',
      mimeType: 'text/markdown',
    },
    {
      uriTemplate: 'change://{slug}/tasks',
      name: 'change-tasks',
      title: 'Tasks of a change',
      mimeType: 'text/markdown',
    },
    {
      uriTemplate: 'change://{slug}/delta/{+path}',
      name: 'change-delta',
      title: 'A spec delta of a change',
      mimeType: 'text/markdown',
    },
    {
      uriTemplate: 'change://{slug}/receipt',
      name: 'change-receipt',
      title: 'Receipt of an archived change',
      mimeType: 'application/json',
    },
  ],
};

/** The URIs the domain serves; anything else is refused before it reaches the domain. */
const SERVED = /^(?:changes:\/\/active|change:\/\/[^/]+\/(?:proposal|tasks|receipt|delta\/.+))$/;

export function createResourceBox(service: ChangeService): ResourceBox {
  return {
    list: LIST,
    templates: TEMPLATES,
    async read(uri, { log, revision }) {
      // Every refusal echoes the URI in `data`, as the resources spec's "Error Handling" example does.
      if (!SERVED.test(uri)) throw rpcError(revision, 'ENOCHANGE', `No such resource: ${uri}`, { uri });
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
