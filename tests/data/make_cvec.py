"""Makes the control-vector files of the tests (tests/data/cvec-*.gguf):
llama.cpp's format, GGUF v3 with general.architecture "controlvector" and
one f32 "direction.K" of n_embd per layer K. Normal random directions
(sd 0.5) for the default model (n_embd 256, 6 layers: K = 1..5):

    python3 tests/data/make_cvec.py tests/data/cvec-a.gguf 1 0.5
    python3 tests/data/make_cvec.py tests/data/cvec-b.gguf 2 0.5
    python3 tests/data/make_cvec.py tests/data/cvec-128.gguf 3 0.5 128 3   # a wrong n_embd

and one for heed synth's stories15m shape (n_embd 288, 6 layers), the
hand-written file of cvector/synth_steers_as_in_llama_cli (tests/test_cvector.c):

    python3 tests/data/make_cvec.py tests/data/cvec-synth.gguf 4 0.5 288 6

The expected texts in tests/test_cli.c (cli/run_control_vectors_as_llama_cpp)
are llama.cpp c392e50's, e.g.

    llama-cli -m models/default.gguf -p "And God said" -n 24 --temp 0 -no-cnv \\
        --no-warmup -t 2 --control-vector-scaled cvec-a.gguf 0.8 --control-vector cvec-b.gguf

(cvec-joy-*.gguf are made from cvec-joy.txt and cvec-sorrow.txt by heed cvector
and llama-cvector-generator instead: see tests/test_cvector.c.)
"""
import struct
import sys

import numpy as np


def text(x):
    b = x.encode()
    return struct.pack("<Q", len(b)) + b


def write(path, directions, n_embd):
    kv = [("general.architecture", 8, text("controlvector")),
          ("controlvector.model_hint", 8, text("llama")),
          ("controlvector.layer_count", 4, struct.pack("<I", len(directions)))]
    out = b"GGUF" + struct.pack("<IQQ", 3, len(directions), len(kv))
    for key, kind, value in kv:
        out += text(key) + struct.pack("<I", kind) + value
    infos, data = b"", b""
    for layer, v in sorted(directions.items()):
        infos += text(f"direction.{layer}") + struct.pack("<IQIQ", 1, n_embd, 0, len(data))
        d = np.asarray(v, np.float32).tobytes()
        data += d + b"\0" * (-len(d) % 32)
    out += infos
    out += b"\0" * (-len(out) % 32)
    open(path, "wb").write(out + data)


if __name__ == "__main__":
    path, seed, sd = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
    n_embd, n_layer = (int(sys.argv[4]), int(sys.argv[5])) if len(sys.argv) > 5 else (256, 6)
    rng = np.random.default_rng(seed)
    write(path, {k: rng.normal(0, sd, n_embd) for k in range(1, n_layer)}, n_embd)
