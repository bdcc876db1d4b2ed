#!/usr/bin/env python3
"""pdqhash + Pillow side of `cargo xtask bench pdq` (see xtask/src/bench_pdq.rs).

Usage: pdqhash_bench.py N:FILE [N:FILE ...]

For each FILE, times N iterations (after 2 untimed warm-ups) of four things, one thread:

* `nn_total`:   Pillow decode (`Image.open(path).convert("RGB")`, `np.asarray`, the file read
                included) + the reference's 512x512 nearest-neighbour pre-resize, emulated
                with numpy indexing (`dst[y][x] = src[y*H//512][x*W//512]`, only when a side is
                over 512) + `pdqhash.compute`. This is the faithful peer of the reference
                (`pdq-photo-hasher`) and of `rampart hash pdq`.
* `nn_hash`:    the pre-resize + `pdqhash.compute` alone, on the already decoded array.
* `full_total`: decode + `pdqhash.compute` on the full image (what a naive user does; its
                hash differs from the reference's for images over 512 px).
* `full_hash`:  `pdqhash.compute` on the full, already decoded array.
* `decode`:     the Pillow decode alone.

Prints one JSON line per file: the sorted samples in milliseconds, both hashes (64 hex
digits in the reference's format), both qualities, and whether Pillow's own
`resize((512, 512), Image.NEAREST)` samples the same pixels as the reference's resize (it is
not used for the timings either way). A last JSON line gives the versions.
"""

import json
import platform
import sys
import time

import numpy as np
import PIL
from PIL import Image, features
import pdqhash

PRE_RESIZE = 512
WARMUP = 2


def decode(path):
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"))


def nn512(a):
    """The reference's pre-resize: exactly 512x512, nearest neighbour without centring,
    aspect ratio not kept, only when a side is over 512."""
    h, w = a.shape[:2]
    if h <= PRE_RESIZE and w <= PRE_RESIZE:
        return a
    ys = (np.arange(PRE_RESIZE) * h) // PRE_RESIZE
    xs = (np.arange(PRE_RESIZE) * w) // PRE_RESIZE
    return a[np.ix_(ys, xs)]


def to_hex(bits):
    # pdqhash returns bit 255 first, bit 0 last: packing big-endian gives the reference's
    # text format (w[15] .. w[0], each %04x).
    return np.packbits(np.asarray(bits, dtype=np.uint8)).tobytes().hex()


def timed(n, f):
    for _ in range(WARMUP):
        f()
    out = []
    for _ in range(n):
        t = time.perf_counter_ns()
        f()
        out.append((time.perf_counter_ns() - t) / 1e6)
    out.sort()
    return out


def pillow_nearest_matches(path, a):
    h, w = a.shape[:2]
    if h <= PRE_RESIZE and w <= PRE_RESIZE:
        return None
    with Image.open(path) as im:
        p = np.asarray(im.convert("RGB").resize((PRE_RESIZE, PRE_RESIZE), Image.NEAREST))
    return bool(np.array_equal(p, nn512(a)))


def bench(n, path):
    a = decode(path)
    h, w = a.shape[:2]
    nn_bits, nn_quality = pdqhash.compute(nn512(a))
    full_bits, full_quality = pdqhash.compute(a)

    def nn_total():
        return pdqhash.compute(nn512(decode(path)))

    def full_total():
        return pdqhash.compute(decode(path))

    return {
        "file": path,
        "width": w,
        "height": h,
        "n": n,
        "nn_hash_hex": to_hex(nn_bits),
        "nn_quality": int(nn_quality),
        "full_hash_hex": to_hex(full_bits),
        "full_quality": int(full_quality),
        "pillow_nearest_matches_reference": pillow_nearest_matches(path, a),
        "decode": timed(n, lambda: decode(path)),
        "nn_total": timed(n, nn_total),
        "nn_hash": timed(n, lambda: pdqhash.compute(nn512(a))),
        "full_total": timed(n, full_total),
        "full_hash": timed(n, lambda: pdqhash.compute(a)),
    }


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    for arg in sys.argv[1:]:
        n, path = arg.split(":", 1)
        print(json.dumps(bench(int(n), path)), flush=True)
    print(
        json.dumps(
            {
                "versions": {
                    "python": platform.python_version(),
                    "pdqhash": getattr(pdqhash, "__version__", "?"),
                    "pillow": PIL.__version__,
                    "libjpeg_turbo": features.version("libjpeg_turbo"),
                    "zlib": features.version("zlib"),
                    "numpy": np.__version__,
                }
            }
        ),
        flush=True,
    )


if __name__ == "__main__":
    main()
