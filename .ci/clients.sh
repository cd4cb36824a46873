#!/usr/bin/env bash
# Clients generated from the committed spec, proven: starts the demo (the binary given, default target/debug/lotus-rest)
# on a free loopback port and runs tests/clients/run.sh against it (TypeScript and Python clients, smoke checks).
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-target/debug/lotus-rest}
port=${CLIENTS_PORT:-3996}
work=$(mktemp -d)
"$bin" demo --listen "127.0.0.1:$port" >"$work/demo.out" 2>"$work/demo.err" &
demo=$!
trap 'kill $demo 2>/dev/null || true; wait $demo 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 1 100); do
  curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
  sleep 0.2
done
admin=$(sed -n 's/^ *admin token: *//p' "$work/demo.out")
bash tests/clients/run.sh "http://127.0.0.1:$port" "$admin"
