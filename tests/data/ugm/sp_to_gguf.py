#!/usr/bin/python3
"""sp_to_gguf.py MODEL.model OUT.gguf [--vocab-size N] [--added ID=TEXT ...]

A SentencePiece unigram model as a vocabulary-only T5 GGUF, with the
tokenizer keys llama.cpp's convert_hf_to_gguf.py writes for T5 (c392e50,
T5Model.set_vocab): every piece with its score and type (unknown, control,
unused, byte, else normal: user-defined pieces stay normal there too),
[PADi] unused tokens up to --vocab-size (a T5 config's vocab_size), --added
tokens as user-defined with score -1000 (its added_tokens.json),
add_space_prefix and remove_extra_whitespaces from the normalizer spec,
the precompiled charsmap as a uint8 array, add_bos false, add_eos true.
T5-small hyperparameters let llama.cpp load it with vocab_only; no tensors.
Needs Debian's python3-sentencepiece and python3-protobuf.
"""
import os
import struct
import sys

os.environ["PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION"] = "python"
from sentencepiece import SentencePieceProcessor  # noqa: E402
from sentencepiece import sentencepiece_model_pb2 as pb  # noqa: E402

NORMAL, UNKNOWN, CONTROL, USER_DEFINED, UNUSED, BYTE = 1, 2, 3, 4, 5, 6
U8, U32, I32, F32, BOOL, STR, ARR = 0, 4, 5, 6, 7, 8, 9


def s(b):
    b = b.encode() if isinstance(b, str) else b
    return struct.pack("<Q", len(b)) + b


def kv(key, vtype, val, sub=None):
    out = s(key) + struct.pack("<I", vtype)
    if vtype != ARR:
        return out + scalar(vtype, val)
    out += struct.pack("<IQ", sub, len(val))
    if sub == U8:
        return out + bytes(val)
    return out + b"".join(scalar(sub, x) for x in val)


def scalar(t, x):
    return {U8: lambda: struct.pack("<B", x), U32: lambda: struct.pack("<I", x),
            I32: lambda: struct.pack("<i", x), F32: lambda: struct.pack("<f", x),
            BOOL: lambda: struct.pack("<B", 1 if x else 0), STR: lambda: s(x)}[t]()


def main(argv):
    model, out = argv[1], argv[2]
    vocab_size, added = None, {}
    i = 3
    while i < len(argv):
        if argv[i] == "--vocab-size":
            vocab_size = int(argv[i + 1])
        elif argv[i] == "--added":
            tid, text = argv[i + 1].split("=", 1)
            added[int(tid)] = text
        else:
            sys.exit("unknown option " + argv[i])
        i += 2
    proto = pb.ModelProto()
    proto.ParseFromString(open(model, "rb").read())
    assert proto.trainer_spec.model_type == 1, "not a unigram model"
    sp = SentencePieceProcessor()
    sp.LoadFromFile(model)
    n = vocab_size or sp.vocab_size()
    tokens = [f"[PAD{j}]".encode() for j in range(n)]
    scores = [-10000.0] * n
    types = [UNUSED] * n
    for j in range(sp.vocab_size()):
        t = NORMAL
        if sp.IsUnknown(j):
            t = UNKNOWN
        elif sp.IsControl(j):
            t = CONTROL
        elif sp.IsUnused(j):
            t = UNUSED
        elif sp.IsByte(j):
            t = BYTE
        tokens[j], scores[j], types[j] = sp.IdToPiece(j).encode(), sp.GetScore(j), t
    for j, text in added.items():
        tokens[j], scores[j], types[j] = text.encode(), -1000.0, USER_DEFINED
    ns = proto.normalizer_spec
    kvs = [
        kv("general.architecture", STR, "t5"),
        kv("general.name", STR, os.path.basename(out)[:-5]),
        kv("t5.context_length", U32, 512),
        kv("t5.embedding_length", U32, 512),
        kv("t5.feed_forward_length", U32, 2048),
        kv("t5.block_count", U32, 6),
        kv("t5.attention.head_count", U32, 8),
        kv("t5.attention.key_length", U32, 64),
        kv("t5.attention.value_length", U32, 64),
        kv("t5.attention.layer_norm_epsilon", F32, 1e-6),
        kv("t5.attention.layer_norm_rms_epsilon", F32, 1e-6),
        kv("t5.attention.relative_buckets_count", U32, 32),
        kv("t5.decoder_start_token_id", U32, 0),
        kv("tokenizer.ggml.model", STR, "t5"),
        kv("tokenizer.ggml.pre", STR, "default"),
        kv("tokenizer.ggml.tokens", ARR, tokens, STR),
        kv("tokenizer.ggml.scores", ARR, scores, F32),
        kv("tokenizer.ggml.token_type", ARR, types, I32),
        kv("tokenizer.ggml.add_space_prefix", BOOL, ns.add_dummy_prefix),
        kv("tokenizer.ggml.remove_extra_whitespaces", BOOL, ns.remove_extra_whitespaces),
    ]
    if ns.precompiled_charsmap:
        kvs.append(kv("tokenizer.ggml.precompiled_charsmap", ARR, ns.precompiled_charsmap, U8))
    # special ids as the trainer placed them (T5's: pad 0, eos 1, unk 2, no bos)
    for key, tid in (("eos", proto.trainer_spec.eos_id), ("unknown", proto.trainer_spec.unk_id),
                     ("padding", proto.trainer_spec.pad_id), ("bos", proto.trainer_spec.bos_id)):
        if tid >= 0:
            kvs.append(kv(f"tokenizer.ggml.{key}_token_id", U32, tid))
    kvs += [kv("tokenizer.ggml.add_bos_token", BOOL, False),
            kv("tokenizer.ggml.add_eos_token", BOOL, True)]
    body = b"GGUF" + struct.pack("<IQQ", 3, 0, len(kvs)) + b"".join(kvs)
    body += b"\0" * (-len(body) % 32)
    open(out, "wb").write(body)


if __name__ == "__main__":
    main(sys.argv)
