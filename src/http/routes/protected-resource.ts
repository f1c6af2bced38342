/**
 * RFC 9728 Protected Resource Metadata: where an OAuth client that got a 401 learns which authorization server
 * to ask, for which resource and scopes. Public (no token), like the other discovery documents; 404 while OAuth is
 * not configured, so clients know to use a static token.
 */
import { TaskError } from '../../errors.js';
import type { ProtectedResource } from '../../auth/protected-resource.js';
import type { ResourcePath } from '../../auth/resources.js';
import type { Handlers } from '../handler.js';

type MetadataOperation =
  'getProtectedResourceMetadata' | 'getMcpProtectedResourceMetadata' | 'getSseProtectedResourceMetadata';

export function protectedResourceHandlers(resource: ProtectedResource | undefined): Pick<Handlers, MetadataOperation> {
  const serve = (path: ResourcePath) => async () => {
    if (!resource) {
      throw new TaskError('ENOTFOUND', 'OAuth is not configured here: use a token from TASK_MCP_TOKENS.');
    }
    return {
      status: 200 as const,
      body: resource.metadata(path),
      headers: { 'Cache-Control': 'public, max-age=300' },
    };
  };
  return {
    getProtectedResourceMetadata: serve(''),
    getMcpProtectedResourceMetadata: serve('/mcp'),
    getSseProtectedResourceMetadata: serve('/sse'),
  };
}
