#!/usr/bin/python3
"""compare.py INPDIR MODELDIR PEER HEED [OUTDIR] — the three-way check of
the UGM vocabularies: for {kjv,multi}-ugm.gguf and INPDIR/{kjv,multi,
hostile}.inp, llama.cpp's ids (PEER: tests/oracle/peer_tokenize.c built
by tests/oracle/build.sh), heed's (HEED tokenize --inp --no-add-special)
and SentencePiece's own (python3-sentencepiece on MODELDIR/{kjv,multi}
.model, the library behind spm_encode), all without BOS/EOS. Prints the
agreement counts, heed's disagreements, and SentencePiece's sorted by
cause (its byte fallback where llama.cpp has [UNK]; the dummy prefix it
adds to a text of only whitespace; T5's added tokens, which the .model
lacks) with the texts of any other cause;
with OUTDIR, writes llama.cpp's ids as OUTDIR/VOCAB/TEXTS.out."""
import os
import subprocess
import sys

import sentencepiece as spm

SEP = b"\n__ggml_vocab_test__\n"
inpdir, modeldir, peer, heed = sys.argv[1:5]
outdir = sys.argv[5] if len(sys.argv) > 5 else None
here = os.path.dirname(os.path.abspath(__file__))
total = {"texts": 0, "heed=llama": 0, "spm=llama": 0}
causes = {}


def cause(sp, text, llama_ids, spm_ids):
    """Why SentencePiece's ids differ from llama.cpp's."""
    if not text.strip(b" \t\n\r\x0b\x0c"):
        return "dummy prefix on whitespace only"
    if b"<extra_id_" in text:
        return "added (user-defined) tokens"
    collapsed = []
    for i in spm_ids:  # a run of byte pieces is one [UNK] to llama.cpp
        i = 2 if sp.IsByte(i) else i
        if not (i == 2 and collapsed and collapsed[-1] == 2):
            collapsed.append(i)
    if collapsed == llama_ids:
        return "byte fallback"
    return "other"
for vocab in ("kjv", "multi"):
    gguf = f"{here}/{vocab}-ugm.gguf"
    sp = spm.SentencePieceProcessor(model_file=f"{modeldir}/{vocab}.model")
    for name in ("kjv", "multi", "hostile"):
        inp = f"{inpdir}/{name}.inp"
        texts = open(inp, "rb").read().split(SEP)
        llama = subprocess.run([peer, gguf, inp], capture_output=True, check=True).stdout
        ours = subprocess.run([heed, "tokenize", gguf, "--inp", inp, "--no-add-special"],
                              capture_output=True, check=True).stdout
        llama_l, ours_l = llama.decode().split("\n")[:-1], ours.decode().split("\n")[:-1]
        assert len(llama_l) == len(texts) == len(ours_l), (len(llama_l), len(texts), len(ours_l))
        n_heed = n_spm = 0
        for t, a, b in zip(texts, llama_l, ours_l):
            n_heed += a == b
            if a != b:
                print(f"HEED {vocab}/{name}: {t[:80]!r}\n  llama{a[:200]}\n  heed {b[:200]}")
            ids = sp.encode(t)
            s = "".join(f" {i}" for i in ids)
            n_spm += s == a
            if s != a:
                c = cause(sp, t, [int(x) for x in a.split()], ids)
                causes[c] = causes.get(c, 0) + 1
                if c == "other":
                    print(f"SPM {vocab}/{name}: {t[:60]!r}\n  llama{a[:120]}\n  spm  {s[:120]}")
        print(f"== {vocab}-ugm {name}: {len(texts)} texts, heed=llama {n_heed}, "
              f"spm=llama {n_spm}")
        total["texts"] += len(texts)
        total["heed=llama"] += n_heed
        total["spm=llama"] += n_spm
        if outdir:
            os.makedirs(f"{outdir}/{vocab}", exist_ok=True)
            open(f"{outdir}/{vocab}/{name}.out", "wb").write(llama)
print("== total", total)
print("== spm != llama by cause", causes)
