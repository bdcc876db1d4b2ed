#!/usr/bin/env python3
"""Convert a faster-whisper (CTranslate2) Whisper model to the GGML file whisper.cpp loads.

Usage: convert-whisper-ct2-to-ggml.py CT2_MODEL_DIR OUT_FILE

CT2_MODEL_DIR holds `model.bin` (CTranslate2 binary, WhisperSpec, float16 weights) and
`vocabulary.txt` (one GPT-2 byte-level token per line). OUT_FILE is written atomically.

Standard library only (no numpy, no torch): the weights are already float16, so the
conversion copies their bytes, splits the fused attention projections by rows, widens the
few tensors whisper.cpp wants as float32, and computes the Slaney mel filter bank. The output
is deterministic: the same input gives a byte-identical file.

File layout written (whisper.cpp 1.8.x loader, `whisper_model_load`):
  u32 magic 0x67676d6c; 11 x i32 hparams (n_vocab, n_audio_ctx, n_audio_state, n_audio_head,
  n_audio_layer, n_text_ctx, n_text_state, n_text_head, n_text_layer, n_mels, ftype=1);
  i32 n_mel, i32 n_fft_bins, n_mel*n_fft_bins f32 filters; i32 n_tokens, per token i32 len +
  bytes; then per tensor: i32 n_dims, i32 name_len, i32 type (0 f32, 1 f16), dims reversed
  (ne0 = fastest axis), name bytes, data.
"""

import math
import os
import re
import struct
import sys

GGML_MAGIC = 0x67676D6C
CT2_F32, CT2_I8, CT2_I16, CT2_I32, CT2_F16 = 0, 1, 2, 3, 4
GGML_F32, GGML_F16 = 0, 1

SAMPLE_RATE = 16000
N_FFT = 400


class Var:
    """One CTranslate2 variable: shape, dtype code and raw little-endian bytes."""

    def __init__(self, shape, dtype, data):
        self.shape = shape
        self.dtype = dtype
        self.data = data

    def scalar(self):
        fmt = {CT2_I8: "<b", CT2_I16: "<h", CT2_I32: "<i", CT2_F32: "<f"}[self.dtype]
        return struct.unpack(fmt, self.data)[0]


def read_ct2(path):
    """Parse a CTranslate2 model.bin (version 6) into {name: Var}, aliases resolved."""
    with open(path, "rb") as f:
        buf = f.read()
    pos = 0

    def take(fmt):
        nonlocal pos
        values = struct.unpack_from("<" + fmt, buf, pos)
        pos += struct.calcsize("<" + fmt)
        return values

    def string():
        nonlocal pos
        (length,) = take("H")  # includes the trailing NUL
        text = buf[pos : pos + length - 1].decode("utf-8")
        pos += length
        return text

    (version,) = take("I")
    if version != 6:
        sys.exit(f"unsupported CTranslate2 binary version {version} (want 6)")
    spec = string()
    if spec != "WhisperSpec":
        sys.exit(f"not a Whisper model: spec {spec!r}")
    take("I")  # spec revision
    (n_vars,) = take("I")
    variables = {}
    for _ in range(n_vars):
        name = string()
        (rank,) = take("B")
        shape = take(f"{rank}I") if rank else ()
        (dtype,) = take("B")
        (nbytes,) = take("I")
        variables[name] = Var(tuple(shape), dtype, buf[pos : pos + nbytes])
        pos += nbytes
    (n_aliases,) = take("I")
    for _ in range(n_aliases):
        alias, target = string(), string()
        variables[alias] = variables[target]
    if pos != len(buf):
        sys.exit(f"trailing bytes in {path}: parsed {pos} of {len(buf)}")
    return variables


def bytes_to_unicode():
    """GPT-2's reversible byte -> printable character table (as in openai/whisper)."""
    bs = list(range(ord("!"), ord("~") + 1))
    bs += list(range(ord("¡"), ord("¬") + 1))
    bs += list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, (chr(c) for c in cs)))


def read_vocab(path):
    """Token byte strings before `<|endoftext|>`; special tokens are implied by whisper.cpp."""
    decoder = {c: b for b, c in bytes_to_unicode().items()}
    tokens = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            token = line.rstrip("\n")
            if token == "<|endoftext|>":
                return tokens
            tokens.append(bytes(decoder[c] for c in token))
    sys.exit(f"{path}: no <|endoftext|> token")


def linspace(start, stop, num):
    """numpy.linspace(start, stop, num) (endpoint included)."""
    step = (stop - start) / (num - 1)
    values = [i * step + start for i in range(num)]
    values[-1] = stop
    return values


def hz_to_mel(hz):
    """Slaney mel scale (librosa, htk=False)."""
    f_sp = 200.0 / 3
    min_log_hz = 1000.0
    min_log_mel = min_log_hz / f_sp
    logstep = math.log(6.4) / 27.0
    if hz >= min_log_hz:
        return min_log_mel + math.log(hz / min_log_hz) / logstep
    return hz / f_sp


def mel_to_hz(mel):
    f_sp = 200.0 / 3
    min_log_hz = 1000.0
    min_log_mel = min_log_hz / f_sp
    logstep = math.log(6.4) / 27.0
    if mel >= min_log_mel:
        return min_log_hz * math.exp(logstep * (mel - min_log_mel))
    return f_sp * mel


def to_f32(x):
    return struct.unpack("<f", struct.pack("<f", x))[0]


def mel_filters(n_mels):
    """librosa.filters.mel(sr=16000, n_fft=400, n_mels, norm='slaney'), float32, row-major.

    Mirrors librosa's arithmetic, including its float32 storage of the triangle weights
    before the Slaney area normalisation, so the values match Whisper's mel_filters.npz.
    """
    n_bins = N_FFT // 2 + 1
    fft_freqs = linspace(0.0, SAMPLE_RATE / 2, n_bins)
    mel_f = [mel_to_hz(m) for m in linspace(hz_to_mel(0.0), hz_to_mel(SAMPLE_RATE / 2), n_mels + 2)]
    fdiff = [mel_f[i + 1] - mel_f[i] for i in range(n_mels + 1)]
    out = []
    for i in range(n_mels):
        enorm = 2.0 / (mel_f[i + 2] - mel_f[i])
        for f in fft_freqs:
            lower = -(mel_f[i] - f) / fdiff[i]
            upper = (mel_f[i + 2] - f) / fdiff[i + 1]
            weight = to_f32(max(0.0, min(lower, upper)))
            out.append(to_f32(weight * enorm))
    return n_bins, out


def as_f16(var):
    """Raw float16 bytes of a variable."""
    if var.dtype == CT2_F16:
        return var.data
    if var.dtype == CT2_F32:
        n = len(var.data) // 4
        return struct.pack(f"<{n}e", *struct.unpack(f"<{n}f", var.data))
    sys.exit(f"unexpected dtype {var.dtype} for a weight")


def as_f32(var):
    """Raw float32 bytes of a variable."""
    if var.dtype == CT2_F32:
        return var.data
    if var.dtype == CT2_F16:
        n = len(var.data) // 2
        return struct.pack(f"<{n}f", *struct.unpack(f"<{n}e", var.data))
    sys.exit(f"unexpected dtype {var.dtype} for a weight")


class Tensor:
    """One GGML tensor to write: name, numpy-order shape, ggml type, raw bytes."""

    def __init__(self, name, shape, ggml_type, data):
        self.name = name
        self.shape = shape
        self.ggml_type = ggml_type
        self.data = data


def split_rows(var, parts):
    """Split a [parts*n, ...] variable on axis 0 into `parts` Vars of [n, ...]."""
    rows = var.shape[0] // parts
    size = len(var.data) // parts
    shape = (rows,) + var.shape[1:]
    return [Var(shape, var.dtype, var.data[i * size : (i + 1) * size]) for i in range(parts)]


def weight(name, var):
    """A matrix (f16) or a vector (f32), as whisper.cpp declares them."""
    if len(var.shape) >= 2:
        return Tensor(name, var.shape, GGML_F16, as_f16(var))
    return Tensor(name, var.shape, GGML_F32, as_f32(var))


def linear(out, prefix, var_w, var_b):
    out.append(weight(prefix + ".weight", var_w))
    if var_b is not None:
        out.append(weight(prefix + ".bias", var_b))


def layer_norm(out, prefix, v, src):
    out.append(weight(prefix + ".weight", v[src + "/gamma"]))
    out.append(weight(prefix + ".bias", v[src + "/beta"]))


def self_attention(out, prefix, v, src):
    layer_norm(out, prefix + ".attn_ln", v, src + "/layer_norm")
    q_w, k_w, v_w = split_rows(v[src + "/linear_0/weight"], 3)
    q_b, _k_b, v_b = split_rows(v[src + "/linear_0/bias"], 3)  # key bias: zeros, not used
    linear(out, prefix + ".attn.query", q_w, q_b)
    linear(out, prefix + ".attn.key", k_w, None)
    linear(out, prefix + ".attn.value", v_w, v_b)
    linear(out, prefix + ".attn.out", v[src + "/linear_1/weight"], v[src + "/linear_1/bias"])


def cross_attention(out, prefix, v, src):
    layer_norm(out, prefix + ".cross_attn_ln", v, src + "/layer_norm")
    linear(out, prefix + ".cross_attn.query", v[src + "/linear_0/weight"], v[src + "/linear_0/bias"])
    k_w, v_w = split_rows(v[src + "/linear_1/weight"], 2)
    _k_b, v_b = split_rows(v[src + "/linear_1/bias"], 2)
    linear(out, prefix + ".cross_attn.key", k_w, None)
    linear(out, prefix + ".cross_attn.value", v_w, v_b)
    linear(out, prefix + ".cross_attn.out", v[src + "/linear_2/weight"], v[src + "/linear_2/bias"])


def ffn(out, prefix, v, src):
    layer_norm(out, prefix + ".mlp_ln", v, src + "/layer_norm")
    linear(out, prefix + ".mlp.0", v[src + "/linear_0/weight"], v[src + "/linear_0/bias"])
    linear(out, prefix + ".mlp.2", v[src + "/linear_1/weight"], v[src + "/linear_1/bias"])


def count_layers(v, side):
    pattern = re.compile(rf"^{side}/layer_(\d+)/")
    return 1 + max(int(m.group(1)) for m in map(pattern.match, v) if m)


def tensors(v):
    """All whisper.cpp tensors, in a fixed order."""
    out = []
    n_enc, n_dec = count_layers(v, "encoder"), count_layers(v, "decoder")
    for conv in ("conv1", "conv2"):
        w = v[f"encoder/{conv}/weight"]
        b = v[f"encoder/{conv}/bias"]
        out.append(Tensor(f"encoder.{conv}.weight", w.shape, GGML_F16, as_f16(w)))
        out.append(Tensor(f"encoder.{conv}.bias", (b.shape[0], 1), GGML_F32, as_f32(b)))
    pe = v["encoder/position_encodings/encodings"]
    out.append(Tensor("encoder.positional_embedding", pe.shape, GGML_F32, as_f32(pe)))
    for i in range(n_enc):
        src, dst = f"encoder/layer_{i}", f"encoder.blocks.{i}"
        self_attention(out, dst, v, src + "/self_attention")
        ffn(out, dst, v, src + "/ffn")
    layer_norm(out, "encoder.ln_post", v, "encoder/layer_norm")

    pe = v["decoder/position_encodings/encodings"]
    out.append(Tensor("decoder.positional_embedding", pe.shape, GGML_F32, as_f32(pe)))
    out.append(weight("decoder.token_embedding.weight", v["decoder/embeddings/weight"]))
    for i in range(n_dec):
        src, dst = f"decoder/layer_{i}", f"decoder.blocks.{i}"
        self_attention(out, dst, v, src + "/self_attention")
        cross_attention(out, dst, v, src + "/attention")
        ffn(out, dst, v, src + "/ffn")
    layer_norm(out, "decoder.ln", v, "decoder/layer_norm")
    return out, n_enc, n_dec


def convert(model_dir, out_path):
    v = read_ct2(os.path.join(model_dir, "model.bin"))
    vocab = read_vocab(os.path.join(model_dir, "vocabulary.txt"))
    tensor_list, n_enc, n_dec = tensors(v)

    n_vocab, n_text_state = v["decoder/embeddings/weight"].shape
    n_audio_ctx, n_audio_state = v["encoder/position_encodings/encodings"].shape
    n_text_ctx = v["decoder/position_encodings/encodings"].shape[0]
    n_mels = v["encoder/conv1/weight"].shape[1]
    hparams = [
        n_vocab,
        n_audio_ctx,
        n_audio_state,
        v["encoder/num_heads"].scalar(),
        n_enc,
        n_text_ctx,
        n_text_state,
        v["decoder/num_heads"].scalar(),
        n_dec,
        n_mels,
        1,  # ftype: mostly f16
    ]
    n_bins, filters = mel_filters(n_mels)

    tmp = out_path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<I", GGML_MAGIC))
        f.write(struct.pack("<11i", *hparams))
        f.write(struct.pack("<ii", n_mels, n_bins))
        f.write(struct.pack(f"<{len(filters)}f", *filters))
        f.write(struct.pack("<i", len(vocab)))
        for token in vocab:
            f.write(struct.pack("<i", len(token)))
            f.write(token)
        for t in tensor_list:
            name = t.name.encode("utf-8")
            dims = list(reversed(t.shape))
            f.write(struct.pack("<iii", len(dims), len(name), t.ggml_type))
            f.write(struct.pack(f"<{len(dims)}i", *dims))
            f.write(name)
            f.write(t.data)
    os.replace(tmp, out_path)
    print(
        f"wrote {out_path}: hparams {hparams}, {len(vocab)} tokens, {len(tensor_list)} tensors",
        file=sys.stderr,
    )


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    convert(sys.argv[1], sys.argv[2])


if __name__ == "__main__":
    main()
