"""Every result equals the CLI's on the same input: heed tokenize,
detokenize, logits, attend --json, embed."""
import json

import numpy as np
import pytest

import heed
from conftest import DEFAULT, THREADS, cli, fixture_path

TEXT = "And God saw the light, that it was good"
SENTENCE = "The animal didn't cross the street because it was tired."


def model_path(name):
    return DEFAULT if name == "default" else fixture_path(name)


@pytest.mark.parametrize("name", ["default", "llama-tiny-f32.gguf", "gpt2-tiny.gguf",
                                  "bert-tiny.gguf", "qwen2-tiny.gguf"])
@pytest.mark.parametrize("add_special", [True, False])
def test_tokenize(name, add_special):
    path = model_path(name)
    for text in (TEXT, SENTENCE, "  héllo\n\twörld 😀 <s>"):
        flags = ["--ids-only"] + ([] if add_special else ["--no-add-special"])
        want = json.loads(cli("tokenize", path, text, *flags))
        with heed.Model(path) as m:
            assert m.tokenize(text, add_special=add_special) == want


@pytest.mark.parametrize("name", ["default", "llama-tiny-f32.gguf", "gpt2-tiny.gguf"])
def test_detokenize(name):
    path = model_path(name)
    with heed.Model(path) as m:
        ids = m.tokenize(SENTENCE + " 😀")
        want = cli("detokenize", path, "--ids", ",".join(map(str, ids))).decode()
        assert m.detokenize(ids) + "\n" == want


@pytest.mark.parametrize("name", ["default", "llama-tiny-f32.gguf", "llama-tiny-q4_k.gguf",
                                  "qwen2-tiny.gguf", "gpt2-tiny.gguf", "gemma-tiny.gguf",
                                  "phi3-tiny.gguf"])
def test_logits(name, tmp_path):
    path = model_path(name)
    with heed.Model(path, n_threads=THREADS) as m:
        ids = m.tokenize(SENTENCE)
        got = m.logits(ids)
        assert got.dtype == np.float32 and got.shape == (len(ids), m.n_vocab)
        assert np.array_equal(m.logits(SENTENCE), got)  # text is tokenized the same way
    out = tmp_path / "logits.f32"
    cli("logits", path, "--ids", ",".join(map(str, ids)), "-o", out, "-t", THREADS)
    want = np.fromfile(out, np.float32).reshape(len(ids), -1)
    assert np.array_equal(got, want)


def test_logits_long(default, tmp_path):
    """300 tokens: several batches inside libheed."""
    ids = (default.tokenize(TEXT + ". ") * 40)[:300]
    out = tmp_path / "logits.f32"
    cli("logits", DEFAULT, "--ids", ",".join(map(str, ids)), "-o", out, "-t", THREADS)
    assert np.array_equal(default.logits(ids), np.fromfile(out, np.float32).reshape(300, -1))


@pytest.mark.parametrize("name", ["default", "llama-tiny-f32.gguf", "bert-tiny.gguf"])
def test_attend_json(name, tmp_path):
    """hook_pattern equals `heed attend --json`'s weights (printed with 7
    significant digits), and is 0 where the causal mask hides a key."""
    path = model_path(name)
    with heed.Model(path, n_threads=THREADS) as m:
        ids = m.tokenize(SENTENCE)
        _, cache = m.run_with_cache(ids, names=lambda n: n.endswith("hook_pattern"))
        causal, n_head = not m.is_encoder, m.n_head
        own = m.attention_json(ids)  # the library's writer, from Python
    out = tmp_path / "attend.json"
    cli("attend", path, "--ids", ",".join(map(str, ids)), "--json", out, "-t", THREADS)
    doc = json.loads(out.read_text())
    assert own == doc
    assert [t["id"] for t in doc["tokens"]] == ids
    n = len(ids)
    for layer in doc["layers"]:
        pattern = cache[f"blocks.{layer['layer']}.attn.hook_pattern"]
        assert pattern.shape == (1, n_head, n, n)
        for head in layer["heads"]:
            for q, row in enumerate(head["weights"]):
                keys = q + 1 if causal else n
                assert len(row) == keys
                np.testing.assert_allclose(pattern[0, head["head"], q, :keys], row,
                                           rtol=1e-6, atol=1e-12)
                assert not pattern[0, head["head"], q, keys:].any()


@pytest.mark.parametrize("pooling", [None, "mean", "cls", "none"])
def test_embed(pooling, tmp_path):
    path = fixture_path("bert-tiny.gguf")
    out = tmp_path / "e.f32"
    flags = [] if pooling is None else ["--pooling", pooling]
    cli("embed", path, "-p", SENTENCE, "--no-normalize", "-o", out, *flags)
    with heed.Model(path) as m:
        got = m.embed(SENTENCE, pooling=pooling)
        want = np.fromfile(out, np.float32).reshape(got.shape)
        assert np.array_equal(got, want)
        unit = m.embed(SENTENCE, pooling=pooling, normalize=True)
    cli("embed", path, "-p", SENTENCE, "-o", out, *flags)
    np.testing.assert_allclose(unit, np.fromfile(out, np.float32).reshape(got.shape),
                               rtol=1e-6, atol=1e-7)


def test_logit_lens_matches_heed_next(default):
    """The lens's top token and probability after each block, at the last
    position, as `heed next --lens` prints them (3 decimals)."""
    lens = default.logit_lens(TEXT)
    assert lens.shape == (default.n_layer + 1, len(default.tokenize(TEXT)), default.n_vocab)
    assert np.array_equal(lens[-1], default.logits(TEXT))  # the head of the last block
    lines = [ln for ln in cli("next", DEFAULT, "-p", TEXT, "--lens").decode().splitlines()
             if ln.strip().startswith("layer")]
    assert len(lines) == default.n_layer
    for l, line in enumerate(lines):
        row = lens[l + 1, -1].astype(np.float64)
        p = np.exp(row - row.max())
        p /= p.sum()
        top = int(np.argmax(p))
        piece = default.to_str_tokens([top])[0]
        assert f"'{piece}' {p[top]:.3f}" in line, (line, piece, p[top])


def test_heads_equals_heed_heads(default):
    """entropy, prev, sink and self as `heed heads` prints them (its
    induction column comes from another input)."""
    text = "The animal didn't cross the street because it was tired"
    table = cli("heads", DEFAULT, "-p", text).decode().splitlines()[2:]
    stats = default.heads(text)
    assert len(stats) == len(table) == default.n_layer * default.n_head
    by_head = {(int(r[0]), int(r[1])): r for r in (line.split() for line in table)}
    for s in stats:
        row = by_head[int(s["layer"]), int(s["head"])]
        got = [f"{s[f]:.3f}" for f in ("entropy", "prev_token", "sink", "self")]
        assert got == row[2:6], (s, row)
    assert stats["entropy"].min() >= 0 and (stats["sink"] <= 1).all()
    with pytest.raises(heed.Error, match="two tokens"):
        default.heads([1])
