#!/usr/bin/env bash
# `npm run test:container`: builds the image from the unmodified Dockerfile (build.sh, with a local stand-in for
# the base image), then runs it and checks health, an MCP tool call and a clean stop (container.test.ts).
# Needs (Debian, root): apt-get install -y buildah podman runc mmdebstrap
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
start=$SECONDS
bash "$here/build.sh"
echo "container: image built in $((SECONDS - start)) s"
node --import tsx --test "$here/container.test.ts"
# vfs keeps a full copy per image: drop the images each rebuild leaves untagged (the base and the latest stay).
source "$here/podman-env.sh"
pm image prune --force >/dev/null
echo "container: done in $((SECONDS - start)) s"
