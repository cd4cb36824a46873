#!/usr/bin/env bash
# Clients generated from the committed spec, proven: starts the demo (the binary given, default target/debug/lotus-rest)
# on a free loopback port and runs tests/clients/run.sh against it (TypeScript and Python clients, smoke checks).
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-target/debug/lotus-rest}
port=${CLIENTS_PORT:-3996}
work=$(mktemp -d)
. .ci/demo.sh
DEMO_PID=""
trap 'if [ -n "$DEMO_PID" ]; then kill "$DEMO_PID" 2>/dev/null || true; wait "$DEMO_PID" 2>/dev/null || true; fi; rm -rf "$work"' EXIT
start_demo "$bin" "$port" "$work"
bash tests/clients/run.sh "http://127.0.0.1:$port" "$ADMIN_TOKEN"
