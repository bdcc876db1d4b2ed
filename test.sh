#!/usr/bin/env bash
# Runs every test: unit, integration and end-to-end tests of the workspace, then the contract
# check of ../shared on the release binary, then the accuracy evaluation (printed, and its
# acceptance targets enforced by the tests themselves).
set -euo pipefail
cd "$(dirname "$0")"
./setup.sh
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/rampart/target}"
export RAMPART_MODELS="${RAMPART_MODELS:-$HOME/.cache/rampart/models}"
export RAMPART_TESTDATA="${RAMPART_TESTDATA:-$(cd .. && pwd)/shared/testdata}"

cargo test --workspace --locked
python3 "$RAMPART_TESTDATA/../checks/contract-check" bin/rampart
bin/rampart eval text
