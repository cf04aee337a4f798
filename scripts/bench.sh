#!/usr/bin/env bash
# Every benchmark in one run: the layer (aws-lc-rs backend), its floors, jwt-authorizer, signing,
# allocations per request; then the layer's router cases on RustCrypto; then the table.
set -euo pipefail
cd "$(dirname "$0")/../benches"
cargo bench --bench jwt -- --warm-up-time 1 --measurement-time 5
cargo bench --bench allocations
cargo bench --bench redis
mkdir -p target/criterion-aws && cp -r target/criterion/. target/criterion-aws/
cargo bench --no-default-features -F rust --bench jwt -- --warm-up-time 1 --measurement-time 5 'router/ours'
echo; echo "aws-lc-rs backend (and floors, peers):"; python3 ../scripts/bench-table.py target/criterion-aws
echo; echo "RustCrypto backend (last run of the router cases):"; python3 ../scripts/bench-table.py target/criterion | grep 'router | ours'
echo; python3 ../scripts/bench-chart.py target/criterion-aws ../docs/benchmarks.svg
