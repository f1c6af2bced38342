# One image for every deployment: HTTPS with a generated development certificate by default, your certificate via
# TLS_CERT/TLS_KEY, or plain HTTP (TLS=off) behind a TLS-terminating proxy. Configuration is by environment only.
# docs/docker_strategy.md says how it is built, verified and run.
ARG NODE_IMAGE=node:24.21.0-bookworm-slim

FROM ${NODE_IMAGE} AS build
# Builders behind a TLS-inspecting proxy pass its CA bundle (mounted at build time only) for npm.
ARG NODE_EXTRA_CA_CERTS
WORKDIR /app
COPY package.json package-lock.json ./
# No install scripts: nothing the server needs runs one (bun and esbuild are dev-only).
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json openapi.yaml ./
COPY generated ./generated
COPY src ./src
RUN npm run build && npm prune --omit=dev --ignore-scripts --no-audit --no-fund

FROM ${NODE_IMAGE}
# git: simple-git and the OpenSpec CLI shell out to it. tini: PID 1 that forwards SIGTERM and reaps the
# git/openspec children. safe.directory: the served repository is a volume owned by whoever owns it on the host.
RUN apt-get update \
  && apt-get install -y --no-install-recommends git tini \
  && rm -rf /var/lib/apt/lists/* \
  && git config --system --add safe.directory '*' \
  && mkdir -p /repo /var/lib/task-mcp \
  && chown node:node /repo /var/lib/task-mcp
WORKDIR /app
COPY --from=build /app/package.json /app/openapi.yaml ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# NODE_ENV is left unset so a bare `podman run` serves with the development certificate and a printed token;
# deployments set NODE_ENV=production, which refuses to start without TASK_MCP_TOKENS and TLS_CERT/TLS_KEY or TLS=off.
# WORKERS=N (with REDIS_URL) makes one container N server processes on its one port, drained together on SIGTERM:
# give the engine a stop timeout above SHUTDOWN_GRACE_MS + 3 s (docs/scale_out.md).
ENV HOST=0.0.0.0 \
  PORT=8443 \
  REPO_ROOT=/repo \
  TASK_MCP_STATE_DIR=/var/lib/task-mcp \
  OPENSPEC_TELEMETRY=0
USER node
VOLUME ["/repo"]
EXPOSE 8443
# Liveness over whatever the server speaks (HTTPS with any certificate, or TLS=off), on loopback only.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "const off=process.env.TLS==='off';require(off?'http':'https').get({host:'127.0.0.1',port:process.env.PORT,path:'/healthz',rejectUnauthorized:false,timeout:4000},(r)=>process.exit(r.statusCode===200?0:1)).on('error',()=>process.exit(1))"]
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["node", "dist/src/main.js"]
