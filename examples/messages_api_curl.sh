#!/bin/sh
# Sends examples/messages_api_request.json to the Messages API with the MCP connector beta.
# Replace the url and authorization_token in the JSON first (the url must be public https).
set -eu
cd "$(dirname "$0")"
curl https://api.anthropic.com/v1/messages \
  -H "content-type: application/json" \
  -H "x-api-key: $ANTHROPIC_API_KEY" \
  -H "anthropic-version: 2023-06-01" \
  -H "anthropic-beta: mcp-client-2026-09-15" \
  --data @messages_api_request.json
