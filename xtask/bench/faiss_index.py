#!/usr/bin/env python3
"""FAISS side of `cargo xtask bench index` (see xtask/src/bench_index.rs).

Usage: faiss_index.py BASE.u8 QUERIES.u8 TRUTH.u32 N FLAT_SINGLE FLAT_BATCH

BASE and QUERIES are raw 32-byte codes (uint8 [n, 32]); TRUTH holds little-endian uint32
(query, id) pairs: every pair at Hamming distance <= 31. For IndexBinaryMultiHash(256, 16, 16)
with nflip = 1 and IndexBinaryFlat(256), prints one JSON line each with build time, resident
set growth, single-query p50/p99 latency, batch throughput and recall against TRUTH. FAISS's
range_search radius is strict (<), so 32 is passed for <= 31. One thread. The flat index is
timed on the first FLAT_SINGLE queries one by one, and FLAT_BATCH queries as a batch.
"""

import json
import sys
import time

import numpy as np
import faiss

RADIUS = 31


def rss_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096


def pairs(lims, ids, offset=0):
    out = set()
    for q in range(len(lims) - 1):
        for i in ids[lims[q]:lims[q + 1]]:
            out.add((q + offset, int(i)))
    return out


def run(name, make, xb, xq, truth, n_single, n_batch, note):
    rss0 = rss_bytes()
    t = time.perf_counter()
    index = make()
    index.add(xb)
    build_s = time.perf_counter() - t
    memory_mb = (rss_bytes() - rss0) / 1e6

    for q in range(min(10, n_single)):  # warm-up
        index.range_search(xq[q:q + 1], RADIUS + 1)
    lat = []
    found = set()
    for q in range(n_single):
        t = time.perf_counter()
        lims, _, ids = index.range_search(xq[q:q + 1], RADIUS + 1)
        lat.append((time.perf_counter() - t) * 1e6)
        found |= pairs(lims, ids, q)
    lat.sort()
    t = time.perf_counter()
    lims, _, ids = index.range_search(xq[:n_batch], RADIUS + 1)
    batch_qps = n_batch / (time.perf_counter() - t)
    batch_found = pairs(lims, ids)

    # Recall over the queries run one by one and as a batch.
    want_single = {p for p in truth if p[0] < n_single}
    want_batch = {p for p in truth if p[0] < n_batch}
    hit = len(found & want_single) + len(batch_found & want_batch)
    want = len(want_single) + len(want_batch)
    extra = len(found - want_single) + len(batch_found - want_batch)
    if extra:
        note += f", EXTRA {extra}"
    # The index is kept alive (returned), so that the next one's memory is not freed memory
    # reused.
    return index, {
        "index": name,
        "build_s": build_s,
        "memory_mb": memory_mb,
        "p50_us": lat[round((len(lat) - 1) * 0.5)],
        "p99_us": lat[round((len(lat) - 1) * 0.99)],
        "batch_qps": batch_qps,
        "recall": hit / want if want else float("nan"),
        "note": note,
    }


def main():
    base, queries, truth_path = sys.argv[1:4]
    n, flat_single, flat_batch = (int(x) for x in sys.argv[4:7])
    faiss.omp_set_num_threads(1)
    xb = np.fromfile(base, dtype=np.uint8).reshape(-1, 32)
    xq = np.fromfile(queries, dtype=np.uint8).reshape(-1, 32)
    assert len(xb) == n, (len(xb), n)
    t = np.fromfile(truth_path, dtype="<u4").reshape(-1, 2)
    truth = {(int(q), int(i)) for q, i in t}
    nq = len(xq)

    def mih():
        index = faiss.IndexBinaryMultiHash(256, 16, 16)
        index.nflip = 1
        return index

    kept = [
        run("faiss IndexBinaryMultiHash 16x16 nflip=1", mih, xb, xq, truth, nq, nq,
            f"faiss {faiss.__version__}"),
        run("faiss IndexBinaryFlat", lambda: faiss.IndexBinaryFlat(256), xb, xq, truth,
            flat_single, flat_batch,
            f"single: first {flat_single} queries, batch: first {flat_batch}"),
    ]
    for _, row in kept:
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
