/**
 * Sends examples/messages_api_request.json to the Messages API with the MCP connector, pointed at a running
 * task-mcp, and prints the streamed `mcp_tool_use` / `mcp_tool_result` blocks and the model's text.
 *
 *   ANTHROPIC_API_KEY=…  TASK_MCP_PUBLIC_URL=https://tasks.example.com  TASK_MCP_TOKEN=…  npm run demo:messages-api
 *
 * The API calls our server from Anthropic's side, so the URL must be public https (a tunnel works), not loopback.
 */
import { readFile } from 'node:fs/promises';
import Anthropic from '@anthropic-ai/sdk';
import type { MessageCreateParamsNonStreaming } from '@anthropic-ai/sdk/resources/beta/messages/messages';

const BETA = 'mcp-client-2026-09-15';

function missing(): string[] {
  const problems: string[] = [];
  if (!process.env.ANTHROPIC_API_KEY) problems.push('ANTHROPIC_API_KEY is not set (an Anthropic API key).');
  const url = process.env.TASK_MCP_PUBLIC_URL;
  if (!url) problems.push('TASK_MCP_PUBLIC_URL is not set (the public https base URL of this server).');
  else {
    const parsed = URL.canParse(url) ? new URL(url) : undefined;
    if (parsed?.protocol !== 'https:') problems.push(`TASK_MCP_PUBLIC_URL must be an https URL, got ${url}.`);
    else if (/^(localhost|127\.|\[::1\]|10\.|192\.168\.)/.test(parsed.hostname)) {
      problems.push(`TASK_MCP_PUBLIC_URL must be reachable from the internet; ${parsed.hostname} is not.`);
    }
  }
  if (!process.env.TASK_MCP_TOKEN) problems.push('TASK_MCP_TOKEN is not set (a token from TASK_MCP_TOKENS).');
  return problems;
}

async function main(): Promise<number> {
  const problems = missing();
  if (problems.length > 0) {
    console.error(['Cannot send the demo request:', ...problems.map((p) => `  - ${p}`)].join('\n'));
    return 1;
  }
  const request = JSON.parse(
    await readFile(new URL('./messages_api_request.json', import.meta.url), 'utf8'),
  ) as MessageCreateParamsNonStreaming;
  const server = request.mcp_servers![0]!;
  server.url = new URL('/mcp', process.env.TASK_MCP_PUBLIC_URL).href;
  server.authorization_token = process.env.TASK_MCP_TOKEN!;

  const client = new Anthropic();
  const stream = client.beta.messages.stream({ ...request, betas: [BETA] });
  stream.on('text', (text) => process.stdout.write(text));
  stream.on('contentBlock', (block) => {
    if (block.type === 'mcp_tool_use') {
      console.log(`\n[mcp_tool_use] ${block.server_name}.${block.name} ${JSON.stringify(block.input)}`);
    } else if (block.type === 'mcp_tool_result') {
      const text = typeof block.content === 'string' ? block.content : block.content.map((c) => c.text).join('\n');
      console.log(`[mcp_tool_result${block.is_error ? ' ERROR' : ''}] ${text}`);
    }
  });
  const message = await stream.finalMessage();
  console.log(`\n[stop_reason] ${message.stop_reason}`);
  return 0;
}

process.exitCode = await main();
