#!/usr/bin/env bash
# Loopback throughput of the axum example with and without the JWT layer (target: >= 0.85).
#
#   scripts/throughput.sh [seconds per run, default 10] [connections, default 32]
#
# Builds the example in release mode, starts it, and drives two of its routes with wrk (installed
# from Debian if missing): GET /mine behind the layer, with a token, and GET /health, the same
# router and CORS layer without the auth layer. Both handlers answer a small JSON object. The
# server gets one core and one Tokio worker, wrk the other core.
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_PER_RUN="${1:-10}"
CONNECTIONS="${2:-32}"
PORT=38081

if ! command -v wrk >/dev/null 2>&1; then
    (apt-get update -qq && apt-get install -y -qq wrk) >/dev/null
fi
cargo build --quiet --release --example server
SERVER=target/release/examples/server
CORES=$(nproc)
SERVER_CPU=0
LOAD_CPU=$((CORES > 1 ? 1 : 0))

start() { # port, extra args
    BIND="127.0.0.1:$1" JWT_SECRET="throughput-benchmark-secret-32-bytes!" RUST_LOG=warn \
        TOKIO_WORKER_THREADS=1 taskset -c "$SERVER_CPU" "$SERVER" "${@:2}" >/dev/null 2>&1 &
    echo $!
}
wait_up() { for _ in $(seq 50); do curl -sf "http://127.0.0.1:$1/health" >/dev/null && return; sleep 0.1; done; exit 1; }
rps() { # url, header
    taskset -c "$LOAD_CPU" wrk -t1 -c"$CONNECTIONS" -d"${SECONDS_PER_RUN}s" -H "$2" "$1" \
        | awk '/Requests\/sec/ {print $2}'
}

SERVER_PID=$(start $PORT)
trap 'kill $SERVER_PID 2>/dev/null' EXIT
wait_up $PORT
TOKEN=$(curl -sf -X POST "http://127.0.0.1:$PORT/auth" -H 'content-type: application/json' \
    -d '{"user":"admin","password":"admin"}' | sed -E 's/.*"token":"([^"]+)".*/\1/')

echo "warming up..."
rps "http://127.0.0.1:$PORT/mine" "Authorization: Bearer $TOKEN" >/dev/null
rps "http://127.0.0.1:$PORT/health" "Authorization: Bearer $TOKEN" >/dev/null
WITH_RPS=$(rps "http://127.0.0.1:$PORT/mine" "Authorization: Bearer $TOKEN")
WITHOUT_RPS=$(rps "http://127.0.0.1:$PORT/health" "Authorization: Bearer $TOKEN")
echo "with the layer (/mine):      $WITH_RPS requests/s"
echo "without the layer (/health): $WITHOUT_RPS requests/s"
awk -v a="$WITH_RPS" -v b="$WITHOUT_RPS" 'BEGIN { printf "ratio: %.3f (target >= 0.85)\n", a / b }'
