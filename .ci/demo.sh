# Sourced by the CI scripts that check a running demo: start_demo BIN PORT WORKDIR starts `BIN demo` on
# 127.0.0.1:PORT, with its output in WORKDIR/demo.out and WORKDIR/demo.err, and waits (at most DEMO_WAIT seconds,
# default 300: the checks run beside other builds on a busy machine) until it answers /readyz and has printed its
# tokens. It sets DEMO_PID, ADMIN_TOKEN and MINER_ADMIN_TOKEN, and fails, saying why, if the demo does not come up.
start_demo() {
  local bin=$1 port=$2 work=$3 waited=0 limit=${DEMO_WAIT:-300}
  "$bin" demo --listen "127.0.0.1:$port" >"$work/demo.out" 2>"$work/demo.err" &
  DEMO_PID=$!
  until curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 \
    && grep -q '^ *admin token:' "$work/demo.out" && grep -q '^ *miner admin token:' "$work/demo.out"; do
    if ! kill -0 "$DEMO_PID" 2>/dev/null; then
      echo "the demo exited before it was ready:" >&2
      tail -n 20 "$work/demo.err" >&2
      return 1
    fi
    if [ "$waited" -ge "$((limit * 5))" ]; then
      echo "the demo was not ready after $limit s:" >&2
      tail -n 20 "$work/demo.err" >&2
      return 1
    fi
    sleep 0.2
    waited=$((waited + 1))
  done
  ADMIN_TOKEN=$(sed -n 's/^ *admin token: *//p' "$work/demo.out")
  MINER_ADMIN_TOKEN=$(sed -n 's/^ *miner admin token: *//p' "$work/demo.out")
}
