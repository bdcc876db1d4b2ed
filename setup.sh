#!/usr/bin/env bash
# Sets Rampart up on a fresh machine: builds the release binary (linked at bin/rampart) and
# trains the text models into the model cache. Safe to run again; it redoes only what is stale.
#
#   RAMPART_MODELS     where models go (default ~/.cache/rampart/models)
#   CARGO_TARGET_DIR   where cargo builds (default ~/.cache/rampart/target, outside the clone)
#   RAMPART_TESTDATA   the shared corpora (default ../shared/testdata)
set -euo pipefail
cd "$(dirname "$0")"

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/rampart/target}"
export RAMPART_MODELS="${RAMPART_MODELS:-$HOME/.cache/rampart/models}"
export RAMPART_TESTDATA="${RAMPART_TESTDATA:-$(cd .. && pwd)/shared/testdata}"

# Debian packages: none are needed for the text engine. Later stages add theirs here, e.g.
#   need_packages ffmpeg libturbojpeg0-dev
need_packages() {
  local missing=()
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  if ((${#missing[@]})); then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
  fi
}

echo "setup: building release binaries (target dir $CARGO_TARGET_DIR)" >&2
cargo build --release --locked -p rampart-cli -p xtask >&2

mkdir -p bin
ln -sf "$CARGO_TARGET_DIR/release/rampart" bin/rampart

# Train the text models once per model code + corpus version; the stamp records both.
stamp="$RAMPART_MODELS/.stamp"
want="$(cat crates/textmodel/src/*.rs xtask/src/train.rs 2>/dev/null | sha256sum | cut -c1-16)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "setup: training text models into $RAMPART_MODELS" >&2
  "$CARGO_TARGET_DIR/release/xtask" train text --out "$RAMPART_MODELS" >&2
  echo "$want" > "$stamp"
fi
echo "setup: done; try  bin/rampart scan text \"you are a f.u.c.k.i.n.g idiot\"" >&2
