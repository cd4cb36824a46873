#!/usr/bin/env bash
# Generates a TypeScript and a Python client from the committed OpenAPI document (openapi/openapi.json) and runs the
# same smoke checks with each against a running lotus-rest (e.g. `lotus-rest demo`); then real WebSocket clients
# (ethers, viem, js-lotus-client; websocket/clients.mjs) against its ws://.../rpc/v1.
#
# Usage: tests/clients/run.sh BASE_URL ADMIN_TOKEN
#   BASE_URL     the gateway, e.g. http://127.0.0.1:3453
#   ADMIN_TOKEN  a node admin token (the demo prints it as `admin token:`)
#
# Needs node 20+ with npm, and python 3.11+ with venv; installs the rest from the npm registry (npm ci, pinned by
# typescript/package-lock.json and websocket/package-lock.json) and PyPI (python/requirements.txt, into
# python/.venv). Fails on a generator warning,
# a type error, or a failed check.
set -euo pipefail

if [ "$#" -ne 2 ]; then
  echo "usage: $0 BASE_URL ADMIN_TOKEN" >&2
  exit 2
fi
base_url=${1%/}
admin_token=$2
here=$(cd "$(dirname "$0")" && pwd)
spec="$here/../../openapi/openapi.json"
[ -f "$spec" ] || { echo "run.sh: no spec at $spec" >&2; exit 1; }

current="start"
step() {
  current=$1
  echo "==> $1"
}
trap 'rc=$?; if [ "$rc" -ne 0 ]; then echo "==> FAILED (exit $rc) at: $current" >&2; fi' EXIT

# A generator's output must be only its banner lines: anything else (a warning, a skipped operation) fails the run.
only_lines() {
  local file=$1 pattern=$2
  if grep -Ev "$pattern" "$file" | grep -q .; then
    echo "unexpected generator output (warnings?):" >&2
    grep -Ev "$pattern" "$file" >&2
    return 1
  fi
}

step "check that $base_url answers"
python3 - "$base_url" <<'EOF'
import sys, urllib.request
with urllib.request.urlopen(sys.argv[1] + "/healthz", timeout=10) as r:
    assert r.status == 200, r.status
EOF

# ---- TypeScript: openapi-typescript (types) + openapi-fetch (client), checked by tsc --strict ----
cd "$here/typescript"
step "[ts] npm ci"
npm ci --no-audit --no-fund --loglevel=error
step "[ts] generate generated/lotus-rest.d.ts from openapi/openapi.json (openapi-typescript)"
rm -rf generated build && mkdir build
npx --no-install openapi-typescript "$spec" --output generated/lotus-rest.d.ts 2>&1 | tee build/generate.log
only_lines build/generate.log '^(✨ openapi-typescript [0-9.]+|🚀 .* → generated/lotus-rest\.d\.ts \[[0-9.]+m?s\])?$'
step "[ts] type-check: tsc --strict --noEmit"
npx --no-install tsc --strict --noEmit -p tsconfig.json
step "[ts] emit build/smoke.js"
npx --no-install tsc -p tsconfig.json --noEmit false --noCheck --outDir build
step "[ts] smoke test against $base_url"
node build/smoke.js "$base_url" "$admin_token"

# ---- Python: openapi-python-client, smoke.py checked by mypy --strict ----
cd "$here/python"
venv="$here/python/.venv"
want=$(sha256sum requirements.txt | cut -d' ' -f1)
if [ ! -x "$venv/bin/python" ] || [ "$(cat "$venv/.requirements.sha256" 2>/dev/null)" != "$want" ]; then
  step "[py] make the venv $venv and install requirements.txt"
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-input -r requirements.txt
  echo "$want" >"$venv/.requirements.sha256"
else
  step "[py] reuse the venv $venv (requirements.txt unchanged)"
fi
export PATH="$venv/bin:$PATH" # the generator runs ruff from PATH on what it writes
step "[py] generate build/lotus-rest-client from openapi/openapi.json (openapi-python-client)"
rm -rf build && mkdir build
openapi-python-client generate --path "$spec" --output-path build/lotus-rest-client 2>&1 | tee build/generate.log
only_lines build/generate.log '^(Generating .*build/lotus-rest-client)?$'
step "[py] type-check smoke.py against the generated package: mypy --strict"
MYPYPATH=build/lotus-rest-client mypy --strict --follow-imports=silent --cache-dir build/.mypy_cache smoke.py
step "[py] smoke test against $base_url"
PYTHONPATH=build/lotus-rest-client python smoke.py "$base_url" "$admin_token"

# ---- Real WebSocket clients: ethers, viem and js-lotus-client on ws://.../rpc/v1 ----
cd "$here/websocket"
step "[ws] npm ci"
npm ci --no-audit --no-fund --loglevel=error
step "[ws] ethers, viem and js-lotus-client against ${base_url/http/ws}/rpc/v1"
node clients.mjs "$base_url" "$admin_token"

current="done"
echo "==> both clients generated, type-checked and passed their smoke tests, and the WebSocket clients passed theirs, against $base_url"
