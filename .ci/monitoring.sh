#!/usr/bin/env bash
# The monitoring that ships in docker/monitoring/: Prometheus's configuration and alert rules pass `promtool check`
# (Debian's `prometheus` package), the rules' unit tests pass (`promtool test rules`), docker/compose.yaml is valid
# with the `monitoring` profile, and, when the lotus-rest binary is there, the demo's /metrics passes
# `promtool check metrics` after some traffic. (tests/api/monitoring.rs checks that every series the dashboard and
# the rules query is exported.)
# Usage: .ci/monitoring.sh [path to the lotus-rest binary]   (default: target/debug/lotus-rest; that step is skipped
# when it does not exist)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-target/debug/lotus-rest}
port=${MONITORING_PORT:-3998}
dir=docker/monitoring

need=()
command -v promtool >/dev/null 2>&1 || need+=(prometheus)
if ! docker compose version >/dev/null 2>&1 && ! command -v docker-compose >/dev/null 2>&1; then
  need+=(docker-compose)
fi
if [ "${#need[@]}" -gt 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
promtool --version | head -n 1

status=0
step() { printf '\n--- %s\n' "$*"; }

step "promtool check config $dir/prometheus.yml"
promtool check config "$dir/prometheus.yml" || status=1
step "promtool check rules $dir/alerts.yml"
promtool check rules "$dir/alerts.yml" || status=1
step "promtool test rules $dir/alerts.test.yml"
promtool test rules "$dir/alerts.test.yml" || status=1

step "docker/compose.yaml with the monitoring profile"
if docker compose version >/dev/null 2>&1; then
  compose=(docker compose)
else
  compose=(docker-compose)
fi
services=$("${compose[@]}" -f docker/compose.yaml --profile monitoring config --services) || status=1
for service in lotus-rest prometheus grafana; do
  grep -qx "$service" <<<"$services" || { echo "no service $service in the monitoring profile"; status=1; }
done
echo "$services" | tr '\n' ' '
echo

step "docker/compose.yaml with the cluster profile"
services=$("${compose[@]}" -f docker/compose.yaml --profile cluster config --services) || status=1
for service in cluster-secret node-0 node-1 redis gateway-0 gateway-1 balancer; do
  grep -qx "$service" <<<"$services" || { echo "no service $service in the cluster profile"; status=1; }
done
echo "$services" | tr '\n' ' '
echo

step "the demo's /metrics passes promtool check metrics"
if [ -x "$bin" ]; then
  work=$(mktemp -d)
  . .ci/demo.sh
  DEMO_PID=""
  trap 'if [ -n "$DEMO_PID" ]; then kill "$DEMO_PID" 2>/dev/null || true; wait "$DEMO_PID" 2>/dev/null || true; fi; rm -rf "$work"' EXIT
  start_demo "$bin" "$port" "$work"
  base="http://127.0.0.1:$port"
  curl -fsS "$base/readyz" >/dev/null
  curl -fsS "$base/v1/chain/head" >/dev/null
  curl -sS -o /dev/null "$base/v1/no-such-route"
  curl -sS -o /dev/null "$base/v1/actors/t0999999"
  curl -fsS -o /dev/null -H 'Content-Type: application/json' \
    -d '{"jsonrpc":"2.0","method":"Filecoin.ChainHead","params":[],"id":1}' "$base/rpc/v1"
  curl -fsS "$base/metrics" >"$work/metrics.txt"
  if promtool check metrics <"$work/metrics.txt"; then
    echo "ok: $(grep -c '^lotus_rest_' "$work/metrics.txt") samples"
  else
    status=1
  fi
else
  echo "skipped: no binary at $bin"
fi

exit "$status"
