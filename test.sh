#!/usr/bin/env bash
# Runs every test: unit, integration and end-to-end tests of the workspace, then the contract
# check of ../shared on the release binary, then the accuracy evaluation (printed; its acceptance
# targets are enforced by the tests themselves). Ends with one summary line.
set -euo pipefail
cd "$(dirname "$0")"
./setup.sh
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/rampart/target}"
export RAMPART_MODELS="${RAMPART_MODELS:-$HOME/.cache/rampart/models}"
export RAMPART_TESTDATA="${RAMPART_TESTDATA:-$(cd .. && pwd)/shared/testdata}"

log="$(mktemp)"
trap 'rm -f "$log"' EXIT
set +e
cargo test --workspace --locked 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e

python3 "$RAMPART_TESTDATA/../checks/contract-check" bin/rampart
bin/rampart eval text
bin/rampart eval image

read -r passed failed < <(awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed;?$/) p += $i; if ($(i+1) ~ /^failed;?$/) f += $i } } END { print p + 0, f + 0 }' "$log")
echo "tests: $passed passed, $failed failed"
exit "$status"
