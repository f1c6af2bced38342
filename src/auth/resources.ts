/**
 * This server's OAuth resource identifiers (RFC 8707): the public origin for the REST routes, and one each for the
 * two MCP transports, `/mcp` (Streamable HTTP) and `/sse` (HTTP+SSE, whose `/messages` posts belong to it).
 */

/** The paths, under the public URL, that are resources of their own. */
export const RESOURCE_PATHS = ['', '/mcp', '/sse'] as const;
export type ResourcePath = (typeof RESOURCE_PATHS)[number];

/** Every identifier of this resource: the audiences a token may name by default. */
export const resourceIdentifiers = (publicUrl: string): string[] => RESOURCE_PATHS.map((path) => publicUrl + path);

/** Which resource a request path belongs to. */
export function resourceOf(requestPath: string): ResourcePath {
  if (requestPath === '/mcp') return '/mcp';
  if (requestPath === '/sse' || requestPath === '/messages') return '/sse';
  return '';
}
