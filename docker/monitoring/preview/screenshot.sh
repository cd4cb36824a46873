#!/usr/bin/env bash
# Makes docker/monitoring/dashboard.png: the demo with rate limits on and traffic from traffic.py, a Prometheus of
# its own scraping it every 5 s (with alerts.yml), and the dashboard preview (index.html, the dashboard's own
# queries) drawn by headless Chromium. Needs prometheus (Debian's package), chromium, python3 and curl.
# Usage: docker/monitoring/preview/screenshot.sh [path to the lotus-rest binary] [minutes of traffic]
set -euo pipefail
cd "$(dirname "$0")/../../.."
bin=${1:-target/debug/lotus-rest}
minutes=${2:-15}
port=${DEMO_PORT:-3997}
prom_port=${PROMETHEUS_PORT:-9097}
out=${OUT:-docker/monitoring/dashboard.png}
work=$(mktemp -d)
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"' EXIT

LOTUS_REST_RATELIMIT_PERTOKEN=2 LOTUS_REST_RATELIMIT_PERIP=400 \
  "$bin" demo --listen "127.0.0.1:$port" >"$work/demo.out" 2>"$work/demo.err" &
pids+=($!)
for _ in $(seq 1 100); do
  curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
  sleep 0.2
done
curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null || { cat "$work/demo.err"; exit 1; }
read_token=$(sed -n 's/^ *read token: *//p' "$work/demo.out")

mkdir "$work/assets"
cp docker/monitoring/preview/index.html docker/monitoring/grafana/dashboards/lotus-rest.json "$work/assets/"
cp docker/monitoring/alerts.yml "$work/"
sed -e "s/lotus-rest:3453/127.0.0.1:$port/" -e 's/scrape_interval: 15s/scrape_interval: 5s/' -e 's/scrape_timeout: 10s/scrape_timeout: 4s/' \
  -e 's/evaluation_interval: 15s/evaluation_interval: 5s/' docker/monitoring/prometheus.yml >"$work/prometheus.yml"
prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/data" \
  --web.listen-address="127.0.0.1:$prom_port" --web.user-assets="$work/assets" >"$work/prometheus.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do
  curl -fsS "http://127.0.0.1:$prom_port/-/ready" >/dev/null 2>&1 && break
  sleep 0.2
done
curl -fsS "http://127.0.0.1:$prom_port/-/ready" >/dev/null || { cat "$work/prometheus.log"; exit 1; }

echo "traffic for $minutes minutes against the demo at 127.0.0.1:$port; Prometheus at 127.0.0.1:$prom_port"
python3 docker/monitoring/preview/traffic.py "http://127.0.0.1:$port" "$read_token" "$((minutes * 60))"
# The range drawn ends as the traffic does (after one more scrape), so that its last minute is not a falling edge.
end=$(date +%s)
sleep 6

chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking \
  --disable-component-update --disable-sync --hide-scrollbars --user-data-dir="$work/chromium" \
  --virtual-time-budget=30000 --window-size=1600,2300 --screenshot="$work/dashboard.png" \
  "http://127.0.0.1:$prom_port/user/index.html?minutes=$minutes&end=$end&rate=1m" >"$work/chromium.log" 2>&1 ||
  { cat "$work/chromium.log"; exit 1; }
[ -s "$work/dashboard.png" ] || { cat "$work/chromium.log"; exit 1; }
cp "$work/dashboard.png" "$out"
echo "wrote $out"
echo "alerts firing at the end:"
curl -fsS "http://127.0.0.1:$prom_port/api/v1/alerts" | python3 -c \
  'import json,sys; [print(" ", a["labels"]["alertname"], a["state"]) for a in json.load(sys.stdin)["data"]["alerts"]] or print("  none")'
