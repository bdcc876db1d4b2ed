#!/usr/bin/env bash
# Runs every test: unit, integration and end-to-end tests of the workspace, then schemathesis
# against `rampart serve` (scripts/schemathesis.sh), then the accuracy evaluation (printed; its
# acceptance targets are enforced by the tests themselves). Ends with one summary line. Needs
# nothing outside the clone; when the project's shared folder is beside it, its contract check
# (../shared/checks) also runs on the release binary.
set -euo pipefail
cd "$(dirname "$0")"
./setup.sh
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/rampart/target}"
export RAMPART_MODELS="${RAMPART_MODELS:-$HOME/.cache/rampart/models}"

# Real services for the storage tests (PostgreSQL now; NATS for scale-out later): started with
# the machine's own commands when they are down, never skipped.
export DATABASE_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}"
export NATS_URL="${NATS_URL:-nats://127.0.0.1:4222}"
if ! pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then
  echo "test: starting PostgreSQL" >&2
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start
  for _ in $(seq 30); do pg_isready -h 127.0.0.1 -p 5432 -q && break; sleep 1; done
fi
if ! (exec 3<>/dev/tcp/127.0.0.1/4222) 2>/dev/null; then
  echo "test: starting NATS" >&2
  start-stop-daemon --start --oknodo --background --exec /usr/sbin/nats-server -- \
    -a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server -l /var/log/nats-server.log
fi

log="$(mktemp)"
trap 'rm -f "$log"' EXIT
set +e
cargo test --workspace --locked 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e

# The contract check of the project's shared folder, when it is beside the clone; the
# repository's own end-to-end tests (crates/cli/tests) cover the same contract.
contract_check="$(cd .. && pwd)/shared/checks/contract-check"
if [ -f "$contract_check" ]; then
  python3 "$contract_check" bin/rampart
else
  echo "test: $contract_check not found: contract check skipped (the end-to-end tests cover it)" >&2
fi
# The HTTP API against its own OpenAPI document (schemathesis: no 5xx, every response as
# documented); counted as one test in the summary line.
api_failed=0
scripts/schemathesis.sh bin/rampart || api_failed=1
bin/rampart eval text
bin/rampart eval image
bin/rampart eval speech

# Browser tests of the review console (Playwright driving Debian's Chromium; screenshots in
# e2e/artifacts/). node:test's TAP summary lines (# pass N, # fail N) count in the summary.
set +e
RAMPART_BIN="$PWD/bin/rampart" node --test e2e/ 2>&1 | tee -a "$log"
e2e_status=${PIPESTATUS[0]}
set -e

read -r passed failed < <(awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed;?$/) p += $i; if ($(i+1) ~ /^failed;?$/) f += $i } }
  /^# pass [0-9]+$/ { p += $3 } /^# fail [0-9]+$/ { f += $3 } END { print p + 0, f + 0 }' "$log")
passed=$((passed + 1 - api_failed))
failed=$((failed + api_failed))
echo "tests: $passed passed, $failed failed"
if ((status == 0 && (api_failed || e2e_status))); then status=1; fi
exit "$status"
