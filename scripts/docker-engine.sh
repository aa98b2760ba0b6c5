#!/usr/bin/env bash
# Start (or reuse) a local Docker engine and image registry for the test suite, and cache base images.
# Prints `export DOCKER_HOST=...` lines; use as:  eval "$(bash scripts/docker-engine.sh)"
# Needs root and Debian's packages (installs them when missing). Idempotent.
set -euo pipefail

STATE_DIR=${SHEPARD_DOCKER_DIR:-/tmp/shepard-docker}
CACHE_DIR=${SHEPARD_CACHE_DIR:-$HOME/.cache/shepard}
SOCK="$STATE_DIR/docker.sock"
REGISTRY_ADDR=${SHEPARD_REGISTRY_ADDR:-127.0.0.1:5000}
BASE_IMAGE=local/bookworm-py:1
BUSYBOX_IMAGE=local/busybox:1

log() { printf '[docker-engine] %s\n' "$*" >&2; }

need_pkgs=()
command -v dockerd >/dev/null 2>&1 || need_pkgs+=(docker.io)
command -v docker-registry >/dev/null 2>&1 || need_pkgs+=(docker-registry)
dpkg -s busybox-static >/dev/null 2>&1 || need_pkgs+=(busybox-static)
command -v debootstrap >/dev/null 2>&1 || need_pkgs+=(debootstrap)
command -v curl >/dev/null 2>&1 || need_pkgs+=(curl)
if [ ${#need_pkgs[@]} -gt 0 ]; then
  log "installing ${need_pkgs[*]}"
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_pkgs[@]}" >"$STATE_DIR.apt.log" 2>&1 \
    || { tail -20 "$STATE_DIR.apt.log" >&2; exit 1; }
fi

mkdir -p "$STATE_DIR" "$CACHE_DIR"
export DOCKER_HOST="unix://$SOCK"

if ! docker version >/dev/null 2>&1; then
  driver=overlay2
  for attempt in overlay2 vfs; do
    driver=$attempt
    log "starting dockerd (storage driver $driver)"
    dockerd --storage-driver="$driver" --iptables=false --ip6tables=false --bridge=none \
      --data-root "$STATE_DIR/data-$driver" --exec-root "$STATE_DIR/exec" --pidfile "$STATE_DIR/dockerd.pid" \
      -H "$DOCKER_HOST" >"$STATE_DIR/dockerd.log" 2>&1 &
    # Up to 2 minutes: on a busy machine overlay2 can take a while, and vfs is several times slower.
    for _ in $(seq 1 480); do
      docker version >/dev/null 2>&1 && break
      kill -0 $! 2>/dev/null || break
      sleep 0.25
    done
    if docker version >/dev/null 2>&1 && docker info 2>/dev/null | grep -q "Storage Driver: $driver"; then
      break
    fi
    log "dockerd with $driver did not come up:"; tail -5 "$STATE_DIR/dockerd.log" >&2 || true
    kill $! 2>/dev/null || true; sleep 1
  done
  docker version >/dev/null 2>&1 || { log "no Docker engine could be started"; exit 1; }
fi

if ! curl -sf "http://$REGISTRY_ADDR/v2/" >/dev/null 2>&1; then
  log "starting docker-registry on $REGISTRY_ADDR"
  printf 'version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: %s/registry\nhttp:\n  addr: %s\n' \
    "$STATE_DIR" "$REGISTRY_ADDR" >"$STATE_DIR/registry.yml"
  nohup docker-registry serve "$STATE_DIR/registry.yml" >"$STATE_DIR/registry.log" 2>&1 &
  for _ in $(seq 1 80); do curl -sf "http://$REGISTRY_ADDR/v2/" >/dev/null 2>&1 && break; sleep 0.25; done
  curl -sf "http://$REGISTRY_ADDR/v2/" >/dev/null || { log "registry did not start"; exit 1; }
fi

if ! docker image inspect "$BUSYBOX_IMAGE" >/dev/null 2>&1; then
  log "building $BUSYBOX_IMAGE from busybox-static"
  ctx=$(mktemp -d)
  cp /bin/busybox "$ctx/busybox"
  printf 'FROM scratch\nCOPY busybox /bin/busybox\nRUN ["/bin/busybox", "--install", "-s", "/bin"]\nENV PATH=/bin\nCMD ["/bin/sh"]\n' >"$ctx/Dockerfile"
  docker build -q -t "$BUSYBOX_IMAGE" "$ctx" >&2
  rm -rf "$ctx"
fi

if ! docker image inspect "$BASE_IMAGE" >/dev/null 2>&1; then
  tarball="$CACHE_DIR/bookworm-py.tar"
  if [ ! -s "$tarball" ]; then
    log "debootstrapping a Python-capable rootfs (about a minute; cached at $tarball)"
    rootfs=$(mktemp -d)
    debootstrap --variant=minbase --include=python3,ca-certificates bookworm "$rootfs" \
      >"$STATE_DIR/debootstrap.log" 2>&1 || { tail -20 "$STATE_DIR/debootstrap.log" >&2; exit 1; }
    rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
    tar -C "$rootfs" -cf "$tarball.tmp" . && mv "$tarball.tmp" "$tarball"
    rm -rf "$rootfs"
  fi
  log "importing $BASE_IMAGE"
  docker import -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' "$tarball" "$BASE_IMAGE" >&2
fi

echo "export DOCKER_HOST=$DOCKER_HOST"
echo "export SHEPARD_TEST_REGISTRY=$REGISTRY_ADDR"
echo "export SHEPARD_BASE_IMAGE=$BASE_IMAGE"
echo "export SHEPARD_BUSYBOX_IMAGE=$BUSYBOX_IMAGE"
