#!/usr/bin/python3
"""texts.py WORKDIR OUTDIR [SCALE] — the .inp files of the UGM tests
(texts separated by "\\n__ggml_vocab_test__\\n", llama.cpp's format):
kjv.inp, every (150/SCALE)th verse of make.sh's KJV corpus; multi.inp,
every (800/SCALE)th line of its fortune-cookie corpus; hostile.inp, texts
written here (empty, whitespace runs, control characters, invalid UTF-8,
what nmt_nfkc rewrites: full-width forms, ligatures, compatibility
characters; literal special, user-defined and unused tokens; long runs)
and 300*SCALE random strings of a fixed seed (bytes, code points of many
scripts). SCALE 1 is the committed set; larger ones are for local oracle
runs. No text holds a NUL byte (the oracle reads texts as C strings)."""
import random
import sys

SEP = b"\n__ggml_vocab_test__\n"


def hostile(scale):
    t = [b"", b" ", b"   ", b"\t", b"\n", b" \n \t ", b"a  b   c", b"  leading", b"trailing   ",
         b"\t\ttabs\tand\nnewlines\r\nhere", b"\x01\x02\x03abc\x7f", b"bell\x07 esc\x1b[0m",
         b"\x0b\x0c\x1c\x1d", b"\xff", b"abc\xc3", b"\xc3\x28", b"\xe2\x82", b"\xf0\x9f\x98",
         b"\xed\xa0\x80", b"\xc0\xaf", b"\xf8\x88\x80\x80\x80", b"\x80\x80\x80", b"\xff" * 500,
         b"a" * 5000, b"In the beginning " * 300, b" " * 2000]
    s = ["ＡＢＣ　ｄｅｆ１２３！", "ﬁ ﬂ ﬀ ﬃ ﬄ ﬅ ﬆ", "① ⑳ ㈱ ㍻ ™ ℡ ½ ¼", "Å Å K Ω µ",
         "e\u0301 a\u0300 n\u0303", "a\u00a0b\u2003c\u3000d\u2009e", "zero\u200bwidth\u200djoin",
         "\ufeffBOM", "ｶﾞｷﾞｸﾞ ﾟ", "Ⅻ ⅻ ⅷ", "x² y³ H₂O", "㌀ ㍿ ㋿", "ﻻ ﷺ", "한국어 텍스트",
         "😀👍🏽👨\u200d👩\u200d👧", "𠀀𪚥", "𝐀𝐁𝐂 𝔸𝕓", "<extra_id_3>", "x<extra_id_0>y",
         "<extra_id_", "<extra", "[PAD8012]", "[PAD8013][PAD8010]", "</s>", "<unk>", "<pad>",
         "<0x41>", "<0x41><0xFF>", "\u2581", "\u2581\u2581 \u2581", "\u2581hello", "Привет, мир!",
         "Grüße aus Köln", "¿Qué tal? ¡Hola!", "zażółć gęślą jaźń", "Příliš žluťoučký kůň",
         "中文分词测试", "日本語のテキスト", "1,234.56 -- (a) [b] {c} ...!!! ??", "😀" * 1000,
         "Ǆ ǅ ǆ ĳ Ĳ ŉ ſ", "ℌ ℍ ℕ ℙ ℚ", "⁰¹²³⁴⁵⁶⁷⁸⁹", "͏\u034f\u180e\u2060\u2061", "\u0300start",
         "trailing mark\u0301", "\u00ad soft\u00adhyphen", "\u2028line\u2029para", "\ue000\U000f0000"]
    t += [x.encode() for x in s]
    rng = random.Random(18)
    ranges = [(0x20, 0x7e), (0xa0, 0x24f), (0x370, 0x3ff), (0x400, 0x4ff), (0x590, 0x6ff),
              (0x900, 0x97f), (0x3040, 0x30ff), (0x4e00, 0x9fff), (0xac00, 0xd7a3), (0xff00, 0xffef),
              (0xfb00, 0xfb4f), (0x2000, 0x2bff), (0x1f300, 0x1faff), (0x2460, 0x24ff)]
    for i in range(300 * scale):
        if i % 3 == 0:
            b = bytes(rng.randrange(1, 256) for _ in range(rng.randrange(1, 40)))
        else:
            cps = []
            for _ in range(rng.randrange(1, 30)):
                lo, hi = rng.choice(ranges)
                cps.append(chr(rng.randrange(lo, hi + 1)) if rng.random() < 0.8 else " ")
            b = "".join(cps).encode("utf-8", "surrogatepass")
        t.append(b)
    return [x for x in t if SEP not in x and b"\0" not in x]


def write(path, texts):
    with open(path, "wb") as f:
        f.write(SEP.join(texts))


def main():
    work, out = sys.argv[1], sys.argv[2]
    scale = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    kjv = open(f"{work}/kjv.txt", "rb").read().split(b"\n")
    multi = open(f"{work}/multi.txt", "rb").read().split(b"\n")
    write(f"{out}/kjv.inp", [x for x in kjv[::150 // scale] if x])
    write(f"{out}/multi.inp", [x for x in multi[::800 // scale] if x])
    write(f"{out}/hostile.inp", hostile(scale))


main()
