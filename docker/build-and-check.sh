#!/usr/bin/env bash
# Builds the lotus-rest container image from docker/Dockerfile and checks that it works.
#
#   bash docker/build-and-check.sh            (as root, on Debian; installs buildah and podman when missing)
#
# Build: with the whole Dockerfile when the builder image (ARG RUST_IMAGE) can be pulled; otherwise the binary is
# built here, statically, and the Dockerfile's `runtime` stage is built with its `build` stage replaced by a local
# directory (buildah --build-context build=DIR), laid out by the same docker/rootfs.sh the build stage runs.
#
# Check: runs the image's entrypoint with `demo` on loopback and checks /readyz, /v1/chain/head, that the process
# runs as the image's non-root user, the image's HEALTHCHECK command (passing and failing), and a host name looked up
# through /etc/hosts. The container runs under `podman run` when podman can run containers here, otherwise under
# `buildah run --isolation chroot` (which shares the host's network: the gateway then listens on 127.0.0.1:PORT).
#
# Environment: IMAGE (default localhost/lotus-rest:dev), PORT (host loopback port; default: the first free one from
# 3453), BUILD_MODE (auto|full|host, default auto), RUNNER (auto|podman|buildah, default auto).
set -euo pipefail
cd "$(dirname "$0")/.."

IMAGE=${IMAGE:-localhost/lotus-rest:dev}
BUILD_MODE=${BUILD_MODE:-auto}
RUNNER=${RUNNER:-auto}
WAIT_SECONDS=60
NAME=lotus-rest-check-$$
RUST_IMAGE=$(sed -n 's/^ARG RUST_IMAGE=//p' docker/Dockerfile)
started=$SECONDS

step() { printf '\n==> %s\n' "$*"; }
ok() { printf '    ok: %s\n' "$*"; }
fail() {
  printf '\nFAILED: %s\n' "$*" >&2
  exit 1
}

# ---- cleanup, also on failure ----------------------------------------------------------------------------------
workdir=$(mktemp -d)
run_pid=""   # the `buildah run` we started in the background
app_pid=""   # the lotus-rest process inside the container
ctr=""       # the buildah working container
podman_ctr=""
cleanup() {
  local rc=$?
  set +e
  if [ -n "$podman_ctr" ]; then
    if [ "$rc" -ne 0 ]; then podman logs "$podman_ctr" >&2 2>&1 | tail -n 30; fi
    podman rm -f -t 10 "$podman_ctr" >/dev/null 2>&1
  fi
  if [ -n "$app_pid" ] && kill -0 "$app_pid" 2>/dev/null; then
    kill -TERM "$app_pid" 2>/dev/null
    for _ in $(seq 1 20); do kill -0 "$app_pid" 2>/dev/null || break; sleep 0.5; done
    kill -KILL "$app_pid" 2>/dev/null
  fi
  if [ -n "$run_pid" ]; then
    kill -TERM "$run_pid" 2>/dev/null
    wait "$run_pid" 2>/dev/null
  fi
  if [ "$rc" -ne 0 ] && [ -s "$workdir/container.log" ]; then
    echo "--- container output (last 30 lines) ---" >&2
    tail -n 30 "$workdir/container.log" >&2
  fi
  [ -n "$ctr" ] && buildah rm "$ctr" >/dev/null 2>&1
  rm -rf "$workdir"
  if [ "$rc" -eq 0 ]; then echo "cleaned up"; else echo "cleaned up after the failure above" >&2; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- tools -----------------------------------------------------------------------------------------------------
step "tools"
missing=()
command -v buildah >/dev/null || missing+=(buildah)
command -v podman >/dev/null || missing+=(podman)
command -v curl >/dev/null || missing+=(curl)
command -v ss >/dev/null || missing+=(iproute2)
command -v readelf >/dev/null || missing+=(binutils)
command -v python3 >/dev/null || missing+=(python3)
[ -s /etc/ssl/certs/ca-certificates.crt ] || missing+=(ca-certificates)
if [ "${#missing[@]}" -gt 0 ]; then
  [ "$(id -u)" -eq 0 ] || fail "missing ${missing[*]}; run as root to install them"
  echo "installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
ok "$(buildah --version)"

# ---- build -----------------------------------------------------------------------------------------------------
if [ "$BUILD_MODE" = auto ]; then
  step "can the builder image $RUST_IMAGE be pulled?"
  if timeout 300 buildah pull --quiet "$RUST_IMAGE" >/dev/null 2>"$workdir/pull.log"; then
    BUILD_MODE=full
  else
    echo "    no: $(tail -n 1 "$workdir/pull.log")"
    BUILD_MODE=host
  fi
fi

bud=(buildah bud --format docker -f docker/Dockerfile -t "$IMAGE")
case "$BUILD_MODE" in
  full)
    step "building $IMAGE with the whole Dockerfile (builder $RUST_IMAGE)"
    "${bud[@]}" --layers . || fail "the image build failed"
    ;;
  host)
    triple=$(rustc -vV | sed -n 's/^host: //p')
    [ -n "$triple" ] || fail "rustc is not installed: cannot build the binary here"
    bin="${CARGO_TARGET_DIR:-target}/$triple/release/lotus-rest"
    step "building the static binary here (cargo build --release --target $triple, +crt-static)"
    t=$SECONDS
    RUSTFLAGS="-C target-feature=+crt-static" cargo build --release --locked --target "$triple" \
      || fail "cargo build failed"
    ok "$bin ($((SECONDS - t)) s): $(file -b "$bin" 2>/dev/null | cut -d, -f1-4 || true)"
    step "building $IMAGE: the Dockerfile's runtime stage, with stage 'build' taken from a local directory"
    sh docker/rootfs.sh "$workdir/ctx/out" "$bin" || fail "docker/rootfs.sh failed"
    "${bud[@]}" --target runtime --build-context "build=$workdir/ctx" . || fail "the image build failed"
    ;;
  *) fail "BUILD_MODE must be auto, full or host (got $BUILD_MODE)" ;;
esac
size=$(buildah images --format '{{.Size}}' "$IMAGE" | head -n 1)
ok "built $IMAGE ($size)"

# ---- what the image declares ----------------------------------------------------------------------------------
step "image configuration"
buildah inspect --type image "$IMAGE" >"$workdir/inspect.json"
py_config() { python3 -c "import json,sys; c=json.load(open(sys.argv[1]))['Docker']['config']; $1" "$workdir/inspect.json"; }
image_user=$(py_config 'print(c.get("User",""))')
mapfile -t entrypoint < <(py_config 'print("\n".join(c.get("Entrypoint") or []))')
mapfile -t healthcheck < <(py_config 'print("\n".join((c.get("Healthcheck") or {}).get("Test") or []))')
listen_env=$(py_config 'print(next((e for e in c.get("Env",[]) if e.startswith("LOTUS_REST_API_LISTENADDRESS=")), ""))')
ok "User=$image_user Entrypoint=${entrypoint[*]} Healthcheck=${healthcheck[*]} $listen_env"
image_uid=${image_user%%:*}
[[ "$image_uid" =~ ^[0-9]+$ ]] && [ "$image_uid" -ne 0 ] || fail "the image's USER is not a numeric non-root UID: '$image_user'"
[ "${#entrypoint[@]}" -gt 0 ] || fail "the image has no ENTRYPOINT"
[ "${healthcheck[0]:-}" = CMD ] || fail "the image has no HEALTHCHECK in exec form (CMD [...]); got '${healthcheck[*]}'"
[ "$listen_env" = "LOTUS_REST_API_LISTENADDRESS=/ip4/0.0.0.0/tcp/3453/http" ] \
  || fail "the image does not listen on all interfaces on port 3453: '$listen_env'"

# ---- run -------------------------------------------------------------------------------------------------------
if [ -z "${PORT:-}" ]; then
  for p in $(seq 3453 3499); do
    if [ -z "$(ss -Htln "sport = :$p")" ]; then PORT=$p; break; fi
  done
  [ -n "${PORT:-}" ] || fail "no free port from 3453 to 3499 on this machine"
elif [ -n "$(ss -Htln "sport = :$PORT")" ]; then
  fail "port $PORT is already in use here"
fi
base="http://127.0.0.1:$PORT"

if [ "$RUNNER" = auto ]; then
  step "can podman run containers here?"
  if timeout 60 podman run --rm "$IMAGE" --version >"$workdir/podman.log" 2>&1; then
    RUNNER=podman
  else
    echo "    no: $(tail -n 1 "$workdir/podman.log")"
    RUNNER=buildah
  fi
fi

case "$RUNNER" in
  podman)
    step "podman run -p 127.0.0.1:$PORT:3453 $IMAGE demo"
    podman_ctr=$NAME
    podman run -d --name "$podman_ctr" -p "127.0.0.1:$PORT:3453" --add-host lotus-rest-check.test:127.0.0.1 \
      "$IMAGE" demo >/dev/null || fail "podman run failed"
    in_container() { podman exec "$podman_ctr" "$@"; }
    container_alive() { [ "$(podman inspect --format '{{.State.Running}}' "$podman_ctr" 2>/dev/null)" = true ]; }
    inner_port=3453
    ;;
  buildah)
    # chroot isolation shares the host's network, so the gateway listens on loopback here, not on 0.0.0.0.
    listen="/ip4/127.0.0.1/tcp/$PORT/http"
    step "buildah run --isolation chroot: ${entrypoint[*]} demo, with LOTUS_REST_API_LISTENADDRESS=$listen"
    ctr=$(buildah from --name "$NAME" --add-host lotus-rest-check.test:127.0.0.1 "$IMAGE")
    buildah run --isolation chroot -e "LOTUS_REST_API_LISTENADDRESS=$listen" "$ctr" -- "${entrypoint[@]}" demo \
      >"$workdir/container.log" 2>&1 &
    run_pid=$!
    in_container() { buildah run --isolation chroot -e "LOTUS_REST_API_LISTENADDRESS=$listen" "$ctr" -- "$@"; }
    container_alive() { kill -0 "$run_pid" 2>/dev/null; }
    inner_port=$PORT
    ;;
  *) fail "RUNNER must be auto, podman or buildah (got $RUNNER)" ;;
esac

step "waiting for $base/readyz (at most ${WAIT_SECONDS}s)"
deadline=$((SECONDS + WAIT_SECONDS))
until curl -fsS -o /dev/null --max-time 2 "$base/readyz" 2>/dev/null; do
  container_alive || fail "the container exited before it was ready"
  [ "$SECONDS" -lt "$deadline" ] || fail "$base/readyz did not answer 200 within ${WAIT_SECONDS}s"
  sleep 0.5
done
ok "/readyz 200 after $((SECONDS - deadline + WAIT_SECONDS)) s"

# ---- checks ----------------------------------------------------------------------------------------------------
step "HTTP checks"
for path in /healthz /openapi.json /docs/; do
  code=$(curl -sS -o /dev/null -w '%{http_code}' --max-time 5 "$base$path") || code=000
  [ "$code" = 200 ] || fail "GET $path answered $code, expected 200"
  ok "GET $path 200"
done
code=$(curl -sS -o "$workdir/head.json" -w '%{http_code}' --max-time 5 "$base/v1/chain/head") || code=000
[ "$code" = 200 ] || fail "GET /v1/chain/head answered $code, expected 200: $(head -c 300 "$workdir/head.json")"
height=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); h=d["Height"]; assert isinstance(h,int) and d["Cids"]; print(h)' \
  "$workdir/head.json" 2>/dev/null) || fail "GET /v1/chain/head is not a tipset: $(head -c 300 "$workdir/head.json")"
ok "GET /v1/chain/head 200: a tipset at height $height"

step "the process runs as the image's user, not root"
case "$RUNNER" in
  podman) app_pid=$(podman inspect --format '{{.State.Pid}}' "$podman_ctr") ;;
  buildah) app_pid=$(ss -Htlnp "sport = :$PORT" | grep -o 'pid=[0-9]*' | head -n 1 | cut -d= -f2) ;;
esac
[ -n "$app_pid" ] && [ -r "/proc/$app_pid/status" ] || fail "cannot find the container's process"
comm=$(cat "/proc/$app_pid/comm")
read -r _ ruid euid _ < <(grep '^Uid:' "/proc/$app_pid/status")
read -r _ rgid _ < <(grep '^Gid:' "/proc/$app_pid/status")
[ "$comm" = lotus-rest ] || fail "the process listening on $PORT is '$comm', not lotus-rest"
[ "$ruid" -ne 0 ] && [ "$euid" -ne 0 ] || fail "lotus-rest runs as root (uid $ruid/$euid)"
[ "$ruid" = "$image_uid" ] || fail "lotus-rest runs as uid $ruid, the image says $image_uid"
ok "pid $app_pid ($comm): uid $ruid, gid $rgid"

step "the image's HEALTHCHECK: ${healthcheck[*]:1}"
if [ "$RUNNER" = podman ]; then
  podman healthcheck run "$podman_ctr" || fail "podman healthcheck run failed"
else
  in_container "${healthcheck[@]:1}" || fail "the HEALTHCHECK command failed"
fi
ok "healthy"
if in_container "${healthcheck[@]:1}" --url http://127.0.0.1:1/readyz >"$workdir/hc-fail.log" 2>&1; then
  fail "the HEALTHCHECK command passed against a closed port"
fi
ok "and it fails (exit non-zero) when nothing answers"

step "a host name from /etc/hosts resolves inside the image (static glibc, no NSS libraries)"
in_container "${entrypoint[@]}" healthcheck --url "http://lotus-rest-check.test:$inner_port/readyz" \
  || fail "lotus-rest-check.test did not resolve to the gateway inside the container"
ok "http://lotus-rest-check.test:$inner_port/readyz answered"

grep -q 'listening on' "${workdir}/container.log" 2>/dev/null || [ "$RUNNER" = podman ] \
  || fail "the gateway's log did not reach the container's output"

step "graceful stop (SIGTERM, at most 15 s)"
t=$SECONDS
if [ "$RUNNER" = podman ]; then
  podman stop -t 15 "$podman_ctr" >/dev/null || fail "podman stop failed"
  exit_code=$(podman inspect --format '{{.State.ExitCode}}' "$podman_ctr")
else
  kill -TERM "$app_pid"
  exit_code=timeout
  for _ in $(seq 1 30); do
    if ! kill -0 "$app_pid" 2>/dev/null; then
      exit_code=0
      wait "$run_pid" || exit_code=$?
      run_pid=""
      break
    fi
    sleep 0.5
  done
fi
[ "$exit_code" = 0 ] || fail "lotus-rest did not stop cleanly on SIGTERM (exit: $exit_code)"
app_pid=""
ok "stopped with exit code 0 in $((SECONDS - t)) s"

step "summary"
ok "image $IMAGE: $size (build: $BUILD_MODE, run: $RUNNER)"
ok "all checks passed in $((SECONDS - started)) s"
