#!/usr/bin/env python3
"""Independent reference for crates/textencoder: all-MiniLM-L6-v2 sentence embeddings with a
BERT forward pass written in numpy (float64), reading the same files the Rust crate reads.

It shares no code with the crate: the weights come from the `safetensors` package, the word
pieces from the `tokenizers` package (tokenizer.json, truncated to 128 word pieces with
[CLS]/[SEP], no padding), and the forward pass follows Hugging Face's BertModel (post-norm
layers, exact erf GELU, eps from config.json), then sentence-transformers' mean pooling and L2
normalisation. It prints the first 8 dimensions of each embedding as the Rust constants pinned
in tests/encoder.rs.

    python3 -m venv /tmp/ref && /tmp/ref/bin/pip install -r crates/textencoder/reference/requirements.txt
    /tmp/ref/bin/python crates/textencoder/reference/reference.py [MODEL_DIR]

MODEL_DIR defaults to $RAMPART_MODELS/all-minilm-l6-v2 (RAMPART_MODELS defaults to
~/.cache/rampart/models), as written by scripts/fetch-models.sh.
"""

import json
import math
import os
import sys

import numpy as np
from safetensors.numpy import load_file
from tokenizers import Tokenizer

MAX_TOKENS = 128
SENTENCES = [
    "A man is playing a guitar.",
    "The stock market fell today.",
    "you are a complete idiot and everyone hates you",
    # 270 word pieces: checks the cut to 128 (126 + [CLS] + [SEP]).
    " ".join(["the quick brown fox jumps over the lazy dog"] * 30),
]


def model_dir():
    if len(sys.argv) > 1:
        return sys.argv[1]
    root = os.environ.get("RAMPART_MODELS") or os.path.expanduser("~/.cache/rampart/models")
    return os.path.join(root, "all-minilm-l6-v2")


erf = np.vectorize(math.erf)


def layer_norm(x, w, b, eps):
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * w + b


def embed(ids, weights, cfg):
    p = "bert." if "bert.embeddings.word_embeddings.weight" in weights else ""

    def w(name):
        return weights[p + name].astype(np.float64)

    def dense(x, name):
        return x @ w(name + ".weight").T + w(name + ".bias")

    eps = cfg["layer_norm_eps"]
    heads = cfg["num_attention_heads"]
    n = len(ids)
    x = (
        w("embeddings.word_embeddings.weight")[ids]
        + w("embeddings.token_type_embeddings.weight")[np.zeros(n, dtype=np.int64)]
        + w("embeddings.position_embeddings.weight")[np.arange(n)]
    )
    x = layer_norm(x, w("embeddings.LayerNorm.weight"), w("embeddings.LayerNorm.bias"), eps)
    d = x.shape[1] // heads
    for i in range(cfg["num_hidden_layers"]):
        l = f"encoder.layer.{i}."
        q, k, v = (
            dense(x, l + "attention.self." + t).reshape(n, heads, d).transpose(1, 0, 2)
            for t in ("query", "key", "value")
        )
        scores = q @ k.transpose(0, 2, 1) / math.sqrt(d)
        scores -= scores.max(-1, keepdims=True)
        probs = np.exp(scores)
        probs /= probs.sum(-1, keepdims=True)
        ctx = (probs @ v).transpose(1, 0, 2).reshape(n, heads * d)
        a = layer_norm(
            dense(ctx, l + "attention.output.dense") + x,
            w(l + "attention.output.LayerNorm.weight"),
            w(l + "attention.output.LayerNorm.bias"),
            eps,
        )
        h = dense(a, l + "intermediate.dense")
        h = 0.5 * h * (1.0 + erf(h / math.sqrt(2.0)))
        x = layer_norm(
            dense(h, l + "output.dense") + a,
            w(l + "output.LayerNorm.weight"),
            w(l + "output.LayerNorm.bias"),
            eps,
        )
    pooled = x.mean(0)  # every token is real (no padding), so the masked mean is the mean
    return pooled / max(np.linalg.norm(pooled), 1e-12)


def main():
    root = model_dir()
    with open(os.path.join(root, "config.json")) as f:
        cfg = json.load(f)
    weights = load_file(os.path.join(root, "model.safetensors"))
    tok = Tokenizer.from_file(os.path.join(root, "tokenizer.json"))
    tok.no_padding()
    tok.enable_truncation(max_length=MAX_TOKENS)
    for s in SENTENCES:
        ids = tok.encode(s).ids
        e = embed(np.array(ids), weights, cfg)
        dims = ", ".join(f"{v:.6f}" for v in e[:8])
        shown = s if len(s) < 60 else s[:40] + "..."
        print(f"    // {shown!r}: {len(ids)} word pieces")
        print(f"    ({json.dumps(shown)}, [{dims}]),")


if __name__ == "__main__":
    main()
