"""run_with_cache on an encoder-decoder (a tiny-t5 synth, made here with
heed synth): the three attention patterns under TransformerLens's
HookedEncoderDecoder names, rows summing to 1 over their keys, the same
logits as without capture, and equal to the JSON `heed attend` writes
(within the rounding between its decode steps and one batch: measured
below 1e-6)."""
import json

import numpy as np
import pytest

import heed
from conftest import THREADS, cli

SRC = [5, 17, 42, 99, 3, 250]


@pytest.fixture(scope="module")
def t5(tmp_path_factory):
    path = tmp_path_factory.mktemp("t5") / "tiny-t5.gguf"
    cli("synth", "--shape", "tiny-t5", "--type", "f32", "--seed", 7, "-o", path)
    with heed.Model(path, n_threads=THREADS) as m:
        yield m


def test_names_and_shapes(t5):
    assert t5.is_encoder_decoder and t5.decoder_start is not None
    dec = [t5.decoder_start, 12, 77]
    logits, cache = t5.run_with_cache(SRC, decoder_input=dec)
    assert logits.shape == (3, t5.n_vocab)
    L, H = t5.n_layer, t5.n_head
    assert sorted(cache) == sorted(t5.hook_names()) and len(cache) == 3 * L
    for l in range(L):
        enc = cache[f"encoder.{l}.attn.hook_pattern"]
        self_ = cache[f"decoder.{l}.attn.hook_pattern"]
        cross = cache[f"decoder.{l}.cross_attn.hook_pattern"]
        assert enc.shape == (1, H, 6, 6) and self_.shape == (1, H, 3, 3)
        assert cross.shape == (1, H, 3, 6)
        for p in (enc, self_, cross):
            np.testing.assert_allclose(p.sum(-1), 1, atol=1e-5)
        assert np.all(np.triu(self_[0], 1) == 0)  # causal
        assert np.all(enc > 0)  # bidirectional


def test_capture_changes_no_logit(t5):
    dec = [t5.decoder_start, 12, 77, 9]
    full, _ = t5.run_with_cache(SRC, decoder_input=dec)
    bare, none = t5.run_with_cache(SRC, decoder_input=dec, names=[])
    assert none == {}
    assert np.array_equal(full, bare)


def test_equals_attend_json(t5, tmp_path):
    out = tmp_path / "t5.json"
    cli("attend", t5.path, "--ids", ",".join(map(str, SRC)), "-n", 2, "-t", THREADS,
        "--json", out)
    doc = json.loads(out.read_text())
    dec = [t["id"] for t in doc["tokens"]]
    _, cache = t5.run_with_cache(SRC, decoder_input=dec)
    for block, name in ((doc["encoder"], "encoder.{}.attn.hook_pattern"),
                        (doc["cross"], "decoder.{}.cross_attn.hook_pattern")):
        for layer in block["layers"]:
            for head in layer["heads"]:
                got = cache[name.format(layer["layer"])][0, head["head"]]
                # the CLI decodes a token a step, this one batch: rounding
                np.testing.assert_allclose(got, np.array(head["weights"]), atol=1e-5)


def test_errors(t5, default):
    with pytest.raises(heed.Error, match="no such hook on an encoder-decoder"):
        t5.run_with_cache(SRC, names=["blocks.0.attn.hook_pattern"])
    with pytest.raises(heed.Error, match="is not an encoder-decoder"):
        default.run_with_cache([1, 2], decoder_input=[0])
    assert not default.is_encoder_decoder
