#!/usr/bin/env bash
# Load benchmark of the HTTP API (issue 5) on loopback with wrk: `rampart serve` on SQLite (a
# temporary data dir) and on PostgreSQL (a fresh schema, dropped at the end), the text route
# (rotating short messages, bench/load/text.lua) and the image route (one 256-px JPEG,
# bench/load/image.lua), each at 16 and 128 connections with 2 wrk threads. After each run it
# counts the verdicts stored during the run and compares them with the 2xx responses wrk saw:
# every acknowledged verdict must be stored (more may be stored: requests cut off when wrk
# stops are still committed). Prints one table; exits 1 if a verdict is missing.
#
#   BENCH_DURATION     seconds per measured run (default 15)
#   BENCH_WARMUP       seconds of warm-up before each run, not measured (default 3)
#   BENCH_CONNECTIONS  connection counts (default "16 128")
#   BENCH_THREADS      wrk threads (default 2)
#   BENCH_TIMEOUT      seconds before wrk counts a request as timed out (default 30)
#   BENCH_STORES       "sqlite postgres" (default both)
#   BENCH_ROUTES       "text image" (default both)
#   BENCH_BUILD        1 builds the release binary first (default), 0 uses it as it is
#   BENCH_KEEP         1 keeps the work dir (server logs, raw wrk output)
#   DATABASE_URL       PostgreSQL (default postgres://postgres@127.0.0.1:5432/test)
#   CARGO_TARGET_DIR   where the release binary is (default ~/.cache/rampart/target)
#   RAMPART_TESTDATA   the test fixtures (default data/testdata), for the JPEG
#
# wrk and the server share the machine's cores: figures are for the pair, not the server alone.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/rampart/target}"
export RAMPART_MODELS="${RAMPART_MODELS:-$HOME/.cache/rampart/models}"
export RAMPART_TESTDATA="${RAMPART_TESTDATA:-$root/data/testdata}"
DATABASE_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}"
duration="${BENCH_DURATION:-15}"
warmup="${BENCH_WARMUP:-3}"
connections="${BENCH_CONNECTIONS:-16 128}"
threads="${BENCH_THREADS:-2}"
timeout="${BENCH_TIMEOUT:-30}"
stores="${BENCH_STORES:-sqlite postgres}"
routes="${BENCH_ROUTES:-text image}"
bin="$CARGO_TARGET_DIR/release/rampart"

die() {
  echo "bench-load: $*" >&2
  exit 2
}

# As in setup.sh: Debian packages, installed only when missing; `apt-get update` first.
need_packages() {
  local missing=()
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  if ((${#missing[@]})); then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
  fi
}

# ----- prerequisites -----

need_packages wrk sqlite3 >&2 || echo "bench-load: could not install wrk/sqlite3 with apt-get" >&2
command -v wrk >/dev/null || die "wrk is missing (Debian package wrk: apt-get install wrk)"
command -v sqlite3 >/dev/null || die "sqlite3 is missing (Debian package sqlite3)"
[[ " $stores " == *" postgres "* ]] && { command -v psql >/dev/null || die "psql is missing"; }

# The tree the binary is built from (read before building; the report comes minutes later).
commit="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
[ -n "$(git status --porcelain --untracked-files=no 2>/dev/null)" ] && commit="$commit+changes"

if [ "${BENCH_BUILD:-1}" = 1 ]; then
  command -v cargo >/dev/null || die "cargo is missing; set BENCH_BUILD=0 to use $bin as it is"
  echo "bench-load: building the release binary (target dir $CARGO_TARGET_DIR)" >&2
  cargo build --release --locked -p rampart-cli >&2 || die "cargo build failed"
fi
[ -x "$bin" ] || die "no release binary at $bin (run ./setup.sh, or BENCH_BUILD=1)"

load_before="$(cut -d' ' -f1-3 /proc/loadavg)"
work="$(mktemp -d "${TMPDIR:-/tmp}/rampart-bench-load.XXXXXX")"
server_pid=""
schema=""

stop_server() {
  [ -n "$server_pid" ] || return 0
  if kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$server_pid" 2>/dev/null || true
  fi
  wait "$server_pid" 2>/dev/null || true
  server_pid=""
}

cleanup() {
  stop_server
  if [ -n "$schema" ]; then
    psql "$DATABASE_URL" -q -v ON_ERROR_STOP=1 -c "DROP SCHEMA IF EXISTS $schema CASCADE" \
      >/dev/null 2>&1 || echo "bench-load: could not drop schema $schema" >&2
  fi
  if [ "${BENCH_KEEP:-0}" = 1 ]; then
    echo "bench-load: work dir kept: $work" >&2
  else
    rm -rf "$work"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The image: a 256-px JPEG made once from a test photo (ImageMagick, which setup.sh installs),
# else the 256×256 copy of the same photo that ships with the test data.
photo="$RAMPART_TESTDATA/pdq/reg-test-input/dih/bridge-1-original.jpg"
square="$RAMPART_TESTDATA/pdq/bridge-mods/square-256x256.jpg"
jpeg="$work/bench-256.jpg"
if dpkg -s imagemagick >/dev/null 2>&1 && [ -f "$photo" ]; then
  convert "$photo" -resize 256x256 -quality 90 "$jpeg" || die "convert failed on $photo"
  jpeg_note="$(basename "$photo") resized by ImageMagick to 256 px"
elif [ -f "$square" ]; then
  cp "$square" "$jpeg"
  jpeg_note="bridge-mods/square-256x256.jpg (ImageMagick not installed)"
else
  die "no test photo under $RAMPART_TESTDATA/pdq"
fi
jpeg_note="$jpeg_note, $(stat -c %s "$jpeg") bytes"

# ----- server -----

# start_server NAME DATA_DIR [STORE_URL]: sets server_pid, addr, key.
start_server() {
  local name="$1" data="$2" url="${3:-}" log="$work/server-$1.log"
  local args=(--data "$data" serve --listen 127.0.0.1:0)
  [ -n "$url" ] && args+=(--store "$url")
  # wrk sends everything with one key: no per-key rate limit where the server has one.
  "$bin" serve --help 2>/dev/null | grep -q -- '--rate-limit' && args+=(--rate-limit 0)
  env -u RAMPART_STORE "$bin" "${args[@]}" </dev/null >/dev/null 2>"$log" &
  server_pid=$!
  addr=""
  for _ in $(seq 1200); do
    addr="$(sed -n 's|^rampart: listening on http://||p' "$log" | head -n1)"
    [ -n "$addr" ] && break
    kill -0 "$server_pid" 2>/dev/null || { tail -n 20 "$log" >&2; die "rampart serve ($name) exited"; }
    sleep 0.1
  done
  [ -n "$addr" ] || { tail -n 20 "$log" >&2; die "rampart serve ($name) did not start in 120 s"; }
  key="$(sed -n "s|^rampart: first start: admin key for tenant 'default' (shown once): ||p" "$log" | head -n1)"
  [ -n "$key" ] || die "no first-start admin key on the stderr of rampart serve ($name)"
  if grep -q 'text models not loaded' "$log"; then
    models_note="text models NOT loaded (run ./setup.sh): libraries + PII/ads only"
  else
    models_note="text models loaded"
  fi
}

# count_verdicts NAME: the number of stored verdicts, once it stops moving (requests that wrk
# cut off at its deadline may still be committing).
count_verdicts() {
  local name="$1" previous="" now
  for _ in $(seq 40); do
    if [ "$name" = sqlite ]; then
      now="$(sqlite3 -cmd '.timeout 5000' "$work/data-sqlite/rampart.db" 'SELECT COUNT(*) FROM verdicts')"
    else
      now="$(psql "$DATABASE_URL" -Atq -v ON_ERROR_STOP=1 -c "SELECT COUNT(*) FROM $schema.verdicts")"
    fi
    [ "$now" = "$previous" ] && break
    previous="$now"
    sleep 0.5
  done
  echo "$now"
}

# ----- runs -----

results="$work/results.tsv"
: >"$results"
lost=0
totals=()
acknowledged=0

# field NAME FILE: a number from the RESULT line that bench/load/common.lua prints.
field() { sed -n "s/^RESULT .*\b$1=\([0-9.]*\).*/\1/p" "$2"; }

# run_wrk ROUTE CONNECTIONS SECONDS OUT: adds the run's 2xx to $acknowledged.
run_wrk() {
  local route="$1" conns="$2" secs="$3" out="$4" extra=()
  [ "$route" = image ] && extra=("$jpeg")
  wrk -t"$threads" -c"$conns" -d"${secs}s" --timeout "${timeout}s" --latency \
    -s "$root/bench/load/$route.lua" "http://$addr" -- "$key" "${extra[@]}" >"$out" 2>&1 ||
    { cat "$out" >&2; die "wrk failed"; }
  grep -q '^RESULT ' "$out" || { cat "$out" >&2; die "wrk printed no RESULT line"; }
  acknowledged=$((acknowledged + $(field ok "$out")))
}

bench_store() {
  local name="$1" url=""
  if [ "$name" = postgres ]; then
    pg_isready -d "$DATABASE_URL" -q 2>/dev/null || die "PostgreSQL at $DATABASE_URL is not reachable"
    schema="bench_$$_$(date +%s)"
    psql "$DATABASE_URL" -q -v ON_ERROR_STOP=1 -c "CREATE SCHEMA $schema" >/dev/null
    local sep='?'
    [[ "$DATABASE_URL" == *\?* ]] && sep='&'
    url="${DATABASE_URL}${sep}options=-c%20search_path%3D${schema}"
  fi
  mkdir -p "$work/data-$name"
  start_server "$name" "$work/data-$name" "$url"
  acknowledged=0
  echo "bench-load: $name server at $addr ($models_note)" >&2
  for route in $routes; do
    for conns in $connections; do
      echo "bench-load: $name $route c=$conns: ${warmup}s warm-up, ${duration}s run" >&2
      run_wrk "$route" "$conns" "$warmup" "$work/warmup-$name-$route-$conns.txt"
      local before after out="$work/wrk-$name-$route-$conns.txt"
      before="$(count_verdicts "$name")"
      run_wrk "$route" "$conns" "$duration" "$out"
      after="$(count_verdicts "$name")"
      local rps p50 p99 ok non2xx sock stored check
      # req/s from wrk's own summary; percentiles from the RESULT line (microsecond precision,
      # where --latency's distribution rounds to 2 digits: "2.91s").
      rps="$(awk '/^Requests\/sec:/ { printf "%.0f", $2 }' "$out")"
      p50="$(printf '%.2f' "$(field p50_ms "$out")")"
      p99="$(printf '%.2f' "$(field p99_ms "$out")")"
      ok="$(field ok "$out")"
      non2xx="$(field non2xx "$out")"
      # wrk's "Non-2xx or 3xx" line appears only when there were some; it must agree.
      local wrk_non2xx
      wrk_non2xx="$(awk '/Non-2xx or 3xx responses:/ { print $NF }' "$out")"
      if [ "${wrk_non2xx:-0}" != "$non2xx" ]; then
        echo "bench-load: wrk counted ${wrk_non2xx:-0} non-2xx/3xx, response() counted $non2xx" >&2
      fi
      sock=$(($(field connect "$out") + $(field read "$out") + $(field write "$out") + $(field timeout "$out")))
      stored=$((after - before))
      if ((stored >= ok)); then
        check="ok"
      else
        check="LOST $((ok - stored))"
        lost=1
      fi
      printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$route" "$conns" "$rps" \
        "$p50" "$p99" "$non2xx" "$sock" "$ok" "$stored" "$check" >>"$results"
      if (($(field status5xx "$out") > 0)); then
        echo "bench-load: $(field status5xx "$out") responses were 5xx; server log: $work/server-$name.log" >&2
      fi
    done
  done
  # Every 2xx of every run, warm-ups included, against everything stored once the server has
  # stopped (SIGTERM: in-flight requests finish first).
  stop_server
  local total
  total="$(count_verdicts "$name")"
  if ((total >= acknowledged)); then
    totals+=("$name: $acknowledged verdicts acknowledged with 2xx over all runs (warm-ups included), $total stored: ok")
  else
    totals+=("$name: $acknowledged verdicts acknowledged with 2xx over all runs (warm-ups included), only $total stored: LOST $((acknowledged - total))")
    lost=1
  fi
}

for store in $stores; do
  case "$store" in
    sqlite | postgres) bench_store "$store" ;;
    *) die "unknown store $store (sqlite or postgres)" ;;
  esac
done

# ----- report -----

if [ "${BENCH_BUILD:-1}" = 1 ]; then
  built="built from the tree at commit $commit"
else
  built="as found (built $(date -u -r "$bin" '+%Y-%m-%d %H:%M UTC'); tree now at commit $commit)"
fi
echo
echo "# rampart HTTP load, $(date -u '+%Y-%m-%d %H:%M UTC'); release binary $built"
echo "# machine: $(nproc) cores ($(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -n1)), load average before: $load_before, after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# wrk $(wrk -v 2>&1 | head -n1 | awk '{print $2}'): $threads threads, ${duration}s runs after ${warmup}s warm-up, keep-alive; wrk and the server share the cores"
limit_note="no per-key rate limit"
"$bin" serve --help 2>/dev/null | grep -q -- '--rate-limit' && limit_note="--rate-limit 0"
echo "# server: release build, default policy and settings ($limit_note), logs (info) to a file, $models_note"
echo "# image: $jpeg_note"
echo "# errors = non-2xx / socket errors (connect+read+write+timeout); stored = verdicts committed during the run, must be >= 2xx"
echo
printf '| store | route | connections | req/s | p50 ms | p99 ms | errors | 2xx | stored | stored ≥ 2xx |\n'
printf '|---|---|---:|---:|---:|---:|---:|---:|---:|---|\n'
while IFS=$'\t' read -r name route conns rps p50 p99 non2xx sock ok stored check; do
  printf '| %s | %s | %s | %s | %s | %s | %s / %s | %s | %s | %s |\n' "$name" "$route" "$conns" \
    "$rps" "$p50" "$p99" "$non2xx" "$sock" "$ok" "$stored" "$check"
done <"$results"
echo
printf '%s\n' "${totals[@]}"

if ((lost)); then
  echo "bench-load: FEWER verdicts stored than acknowledged with 2xx: a lost write" >&2
  exit 1
fi
