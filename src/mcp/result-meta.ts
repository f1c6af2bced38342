/** Where a failing tool call's error travels in its result: `_meta`, not `structuredContent` (see tools.ts). */
export const ERROR_META_KEY = 'task-mcp/error';
