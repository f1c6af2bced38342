/**
 * The domain's read-only resources as MCP resources and resource templates. Listings are built once; reads go to
 * `ChangeService.readResource`, and a domain refusal becomes a JSON-RPC error with the contract's code for it.
 */
import { ProtocolError, ProtocolErrorCode } from '@modelcontextprotocol/server';
import type {
  ListResourcesResult,
  ListResourceTemplatesResult,
  ReadResourceResult,
} from '@modelcontextprotocol/server';
import type { Logger } from 'pino';
import type { ChangeService } from '../changes/types.js';
import type { ErrorMap } from '../contract/index.js';
import { isTaskError } from '../errors.js';

export interface ResourceBox {
  readonly list: ListResourcesResult;
  readonly templates: ListResourceTemplatesResult;
  read(uri: string, log: Logger): Promise<ReadResourceResult>;
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

export function createResourceBox(service: ChangeService, errorMap: ErrorMap): ResourceBox {
  return {
    list: LIST,
    templates: TEMPLATES,
    async read(uri, log) {
      // -32602 is what the 2026-07-28 revision (and the SDK, for every era) answers for an unknown resource.
      if (!SERVED.test(uri)) {
        throw new ProtocolError(ProtocolErrorCode.InvalidParams, `No such resource: ${uri}`, {
          code: 'ENOTFOUND',
          uri,
        });
      }
      try {
        const content = await service.readResource(uri);
        return { contents: [{ uri: content.uri, mimeType: content.mimeType, text: content.text }] };
      } catch (err) {
        if (isTaskError(err)) {
          const data = {
            code: err.code,
            ...(err.hint && { hint: err.hint }),
            ...(err.details && { details: err.details }),
          };
          throw new ProtocolError(errorMap[err.code].jsonrpc, err.message, data);
        }
        log.error({ err, uri }, 'resource read failed');
        throw new ProtocolError(ProtocolErrorCode.InternalError, 'Internal error');
      }
    },
  };
}
