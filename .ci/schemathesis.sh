#!/usr/bin/env bash
# Spec-driven fuzzing: schemathesis over every operation of the running demo's OpenAPI document, checking that no
# answer is a server error and that every answer's status, content type, headers and body conform to the spec.
# Usage: .ci/schemathesis.sh [path to the lotus-rest binary]   (default: target/debug/lotus-rest)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-target/debug/lotus-rest}
port=${SCHEMATHESIS_PORT:-3999}
# schemathesis is pinned in .ci/requirements.txt (what it generates changes with each release).
command -v st >/dev/null || python3 -m pip install --quiet --disable-pip-version-check -r .ci/requirements.txt

work=$(mktemp -d)
. .ci/demo.sh
DEMO_PID=""
trap 'if [ -n "$DEMO_PID" ]; then kill "$DEMO_PID" 2>/dev/null || true; wait "$DEMO_PID" 2>/dev/null || true; fi; rm -rf "$work"' EXIT
start_demo "$bin" "$port" "$work"
admin=$ADMIN_TOKEN
miner_admin=$MINER_ADMIN_TOKEN

checks=not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance
# The live streams never end, so a request to them can only time out; tests/api/streams.rs checks them instead.
run() {
  st run "http://127.0.0.1:$port/openapi.json" --checks "$checks" --max-examples "${SCHEMATHESIS_EXAMPLES:-20}" \
    --request-timeout 10 --seed 1 --generation-deterministic --continue-on-failure --no-color \
    --exclude-path-regex '^/v1/streams/' "$@"
}
# Every pass runs; the script fails if any found a failure. The miner's routes take the miner's tokens, so they get
# a pass of their own with the miner's admin token (the node's token is refused there, as it should be).
status=0
echo "schemathesis with an admin token"
run -H "Authorization: Bearer $admin" || status=$?
# Without a token every route that needs one is refused before its input is read, and the read routes the demo
# lets anonymous callers use behave as they do with the admin token above: this pass checks the refusals and the
# anonymous reads with the specification's examples and a few generated cases per operation, not the whole search.
echo "schemathesis without a token"
run --phases examples,fuzzing --max-examples 5 || status=$?
echo "schemathesis over the miner's routes with the miner's admin token"
run -H "Authorization: Bearer $miner_admin" --include-path-regex '^/v1/miner/' || status=$?
echo "the demo used $(ps -o cputime= -p "$DEMO_PID" | tr -d " ") of CPU time"
exit "$status"
