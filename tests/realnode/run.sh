#!/usr/bin/env bash
# The gateway in front of a REAL node: every read operation of the spec, checked against the spec.
#
#   REAL_NODE_API_INFO='<token>:/ip4/127.0.0.1/tcp/2345/http' tests/realnode/run.sh [path to lotus-rest]
#
# REAL_NODE_API_INFO is what FULLNODE_API_INFO would be (a Lotus node, or Forest started by
# ../shared/tools/forest/start.sh); the token should be an admin token so that every read operation is tried. Not
# part of `cargo test`: the normal suite needs no node.
#
# It starts lotus-rest (default target/debug/lotus-rest) on a free loopback port in front of the node and runs
# schemathesis (pinned in .ci/requirements.txt) over every GET operation but the live streams, with the checks that a
# node's dialect can break: every answer's status is documented, its content type is the documented one, and its
# body validates against the documented schema. A node's own failure (a 502 with the node's error) is a documented
# answer; the summary lists which operations the node could answer.
set -euo pipefail
cd "$(dirname "$0")/../.."
: "${REAL_NODE_API_INFO:?set REAL_NODE_API_INFO to TOKEN:MULTIADDR of a real node}"
bin=${1:-target/debug/lotus-rest}
port=${REALNODE_PORT:-3995}
command -v st >/dev/null || python3 -m pip install --quiet --disable-pip-version-check -r .ci/requirements.txt
work=$(mktemp -d)
FULLNODE_API_INFO="$REAL_NODE_API_INFO" LOTUS_PATH="$work/no-repo" LOTUS_MINER_PATH="$work/no-miner" \
  "$bin" run --listen "127.0.0.1:$port" >"$work/gateway.log" 2>&1 &
gateway=$!
trap 'kill $gateway 2>/dev/null || true; wait $gateway 2>/dev/null || true; [ "${status:-1}" = 0 ] || tail -n 20 "$work/gateway.log" >&2; rm -rf "$work"' EXIT
for _ in $(seq 1 100); do
  curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
  sleep 0.2
done
token=${REAL_NODE_API_INFO%%:*}
case "$token" in /*) token="" ;; esac
auth=()
[ -n "$token" ] && auth=(-H "Authorization: Bearer $token")
echo "node: $(curl -fsS "http://127.0.0.1:$port/v1/node/version" "${auth[@]}")"
st run "http://127.0.0.1:$port/openapi.json" "${auth[@]}" \
  --checks status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance \
  --include-method GET --exclude-path-regex '^/v1/(streams|miner)/' \
  --max-examples "${REALNODE_EXAMPLES:-10}" --request-timeout 20 --seed 1 --generation-deterministic \
  --continue-on-failure --no-color --report junit --report-dir "$work/report" | tee "$work/st.log"
status=${PIPESTATUS[0]}
python3 - "$work/report" <<'PY' || true
import glob, sys, xml.etree.ElementTree as ET
for f in glob.glob(sys.argv[1] + "/*.xml"):
    cases = ET.parse(f).getroot().iter("testcase")
    names = [c.get("name") for c in cases]
    print(f"operations exercised: {len(names)}")
PY
exit "$status"
