/**
 * This server's OAuth resource identifiers (RFC 8707): the public origin for the REST routes, and one each for the
 * two MCP transports, `/mcp` (Streamable HTTP) and `/sse` (HTTP+SSE, whose `/messages` posts belong to it). The
 * paths are the contract's.
 */
import { operations } from '../../generated/operations.gen.js';

const STREAMABLE = operations.postMcp.path;
const LEGACY_SSE = operations.getLegacySse.path;

/** The paths, under the public URL, that are resources of their own. */
const RESOURCE_PATHS = ['', STREAMABLE, LEGACY_SSE] as const;
export type ResourcePath = (typeof RESOURCE_PATHS)[number];

/** Every identifier of this resource: the audiences a token may name by default. */
export const resourceIdentifiers = (publicUrl: string): string[] => RESOURCE_PATHS.map((path) => publicUrl + path);

/** Which resource a request path belongs to. */
export function resourceOf(requestPath: string): ResourcePath {
  if (requestPath === STREAMABLE) return STREAMABLE;
  if (requestPath === LEGACY_SSE || requestPath === operations.postLegacyMessage.path) return LEGACY_SSE;
  return '';
}
