# Sourced by the container scripts: podman and buildah as they work on a host without a Docker engine (vfs
# storage, chroot isolation for builds, Debian's runc, explicit ulimits), in a storage root of our own.
export CONTAINER_ROOT="${CONTAINER_ROOT:-/var/tmp/task-mcp-containers}"
mkdir -p "$CONTAINER_ROOT"
pm() {
  podman --root "$CONTAINER_ROOT/storage" --runroot "$CONTAINER_ROOT/run" --storage-driver vfs \
    --runtime runc --cgroup-manager cgroupfs --events-backend file "$@"
}
