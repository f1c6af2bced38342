#!/usr/bin/env bash
# Builds the project's Dockerfile, unmodified, into task-mcp:test with buildah/podman (no Docker engine here):
# vfs storage, chroot isolation, no pulls (the base comes from base-image.sh), docker format so HEALTHCHECK is
# kept. The host's CA bundle is mounted for the build only, for npm behind a TLS-inspecting proxy.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
source "$here/podman-env.sh"
image="${IMAGE:-localhost/task-mcp:test}"
ca=/etc/ssl/certs/ca-certificates.crt

"$here/base-image.sh"
args=(--pull=never --isolation chroot --format docker --layers="${LAYERS:-false}" --tag "$image" --file "$root/Dockerfile")
if [[ -f "$ca" ]]; then
  args+=(--volume "$ca:/run/host-ca.crt:ro" --build-arg NODE_EXTRA_CA_CERTS=/run/host-ca.crt)
fi
pm build "${args[@]}" "$root"
pm image inspect --format 'image: {{.Id}} {{.Size}} bytes' "$image"
