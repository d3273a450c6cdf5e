#!/bin/sh
# The load harness in one command: builds the release binaries (the gateway, its provider modules,
# the mock upstream and the harness), then runs the harness. Options go to the harness; see
# `benches/run.sh --help`. Needs nginx and wrk on the PATH (apt-get install -y nginx wrk).
set -eu
cd "$(dirname "$0")/.."
cargo build --release --quiet
cargo build --release --quiet -p ai-gateway-benches --bins
exec target/release/load "$@"
