"""Interventions from Python: logits(ablate=, ablate_mean=, patch=, steer=),
run_with_hooks and heed.ControlVector, on the default model (6 blocks, 8
heads of 32, d_model 256), held to each other bit for bit."""
import ctypes

import numpy as np
import pytest
from conftest import ROOT, cli

import heed

CLEAN = "And God saw the light, that it was good"
CORRUPT = "And God saw the dark, that it was evil"  # as many tokens
CVEC_A = ROOT / "tests" / "data" / "cvec-a.gguf"
CVEC_B = ROOT / "tests" / "data" / "cvec-b.gguf"


def same(a, b):
    """Equal bit for bit."""
    a, b = np.asarray(a), np.asarray(b)
    return a.shape == b.shape and a.dtype == b.dtype and a.tobytes() == b.tobytes()


@pytest.fixture(scope="module")
def clean(default):
    return default.run_with_cache(CLEAN)


def test_nothing_asked_changes_nothing(default, clean):
    logits = clean[0]
    assert same(default.logits(CLEAN), logits)
    assert same(default.logits(CLEAN, ablate=[], patch={}, steer=[]), logits)
    assert same(default.run_with_hooks(CLEAN)[0], logits)
    assert same(default.run_with_hooks(CLEAN, [("blocks.3.hook_resid_mid", lambda a, h: None)])[0],
                logits)


def test_ablating_a_head_is_zeroing_its_z(default, clean):
    def zero(act, hook):
        assert act.shape == (1, 10, 8, 32) and hook.name == "blocks.2.attn.hook_z"
        act[:, :, 3] = 0

    ablated = default.logits(CLEAN, ablate=[(2, 3)])
    assert not np.array_equal(ablated, clean[0])
    assert same(default.run_with_hooks(CLEAN, [("blocks.2.attn.hook_z", zero)])[0], ablated)
    assert same(default.logits(CLEAN, ablate=(2, 3)), ablated)  # one pair
    two = default.logits(CLEAN, ablate=[(2, 3), (4, 0)])

    def zero_4_0(act, hook):
        act[0, :, 0] = 0
    assert same(default.run_with_hooks(CLEAN, [("blocks.2.attn.hook_z", zero),
                                               ("blocks.4.attn.hook_z", zero_4_0)])[0], two)
    assert same(default.logits(CLEAN), clean[0])  # nothing left behind


def test_mean_ablation_is_the_reference_mean(default):
    """ablate_mean: the head's z becomes its mean over the reference text,
    the mean run_with_cache's hook_z gives (in doubles, as libheed sums)."""
    _, ref = default.run_with_cache(CORRUPT, names="blocks.1.attn.hook_z")
    mean = ref["blocks.1.attn.hook_z"][0, :, 5].astype(np.float64).mean(0).astype(np.float32)

    def set_mean(act, hook):
        act[0, :, 5] = mean
    got = default.logits(CLEAN, ablate=[(1, 5)], ablate_mean=CORRUPT)
    assert same(got, default.run_with_hooks(CLEAN, [("blocks.1.attn.hook_z", set_mean)])[0])
    assert not np.array_equal(got, default.logits(CLEAN, ablate=[(1, 5)]))


def test_patching_restores_the_clean_run(default, clean):
    logits, cache = clean
    corrupt = default.logits(CORRUPT)
    assert len(corrupt) == len(logits) and not np.array_equal(corrupt[-1], logits[-1])
    # every position of the first block's input: the clean run again
    got = default.logits(CORRUPT, patch={"blocks.0.hook_resid_pre":
                                         cache["blocks.0.hook_resid_pre"]})
    assert same(got, logits)
    got = default.logits(CORRUPT, patch={"blocks.0.hook_resid_pre":
                                         cache["blocks.0.hook_resid_pre"][0]})  # [pos, d]
    assert same(got, logits)
    # the last block's output at the last position: its logits, the others untouched
    last = f"blocks.{default.n_layer - 1}.hook_resid_post"
    got = default.logits(CORRUPT, patch={(last, -1): cache[last][:, -1]})
    assert same(got[-1], logits[-1]) and same(got[:-1], corrupt[:-1])
    assert same(default.logits(CORRUPT, patch={(last, 9): cache[last][0, 9]}), got)
    # the first positions only
    got = default.logits(CORRUPT, patch={"blocks.0.hook_resid_pre":
                                         cache["blocks.0.hook_resid_pre"][:, :4]})
    assert same(got[:4], logits[:4]) and not np.array_equal(got[4:], logits[4:])


def test_patch_forms_equal_hooks(default, clean):
    _, cache = clean
    z = cache["blocks.3.attn.hook_z"]

    def head_from_clean(act, hook):
        act[0, :, 6] = z[0, hook.pos0:hook.pos0 + act.shape[1], 6]
    want = default.run_with_hooks(CORRUPT, [("blocks.3.attn.hook_z", head_from_clean)])[0]
    got = default.logits(CORRUPT, patch={("blocks.3.attn.hook_z", t, 6): z[0, t, 6]
                                         for t in range(10)})
    assert same(got, want)

    row = np.linspace(-1, 1, 256, dtype=np.float32)

    def every_position(act, hook):
        act[...] = row
    want = default.run_with_hooks(CLEAN, [("blocks.1.hook_mlp_out", every_position)])[0]
    assert same(default.logits(CLEAN, patch={("blocks.1.hook_mlp_out", None): row}), want)
    # patches apply after ablations: the patched head is the clean one again
    got = default.logits(CLEAN, ablate=[(3, 6)],
                         patch={("blocks.3.attn.hook_z", None, 6): np.zeros(32)})
    assert same(got, default.logits(CLEAN, ablate=[(3, 6)]))
    got = default.logits(CLEAN, ablate=[(3, 6)], patch={"blocks.3.attn.hook_z": z})
    assert same(got, clean[0])


def test_hooks_see_transformer_lens_shapes(default):
    seen = {}

    def look(act, hook):
        seen[hook.name] = (act.shape, hook.layer(), hook.pos0, act.dtype)
    names = ["blocks.0.hook_resid_pre", "blocks.1.attn.hook_q", "blocks.1.attn.hook_k",
             "blocks.1.attn.hook_v", "blocks.1.attn.hook_z", "blocks.2.hook_attn_out",
             "blocks.2.hook_resid_mid", "blocks.2.hook_mlp_out", "blocks.5.hook_resid_post",
             "ln_final.hook_normalized"]
    logits = default.run_with_hooks(CLEAN, [(name, look) for name in names])
    assert logits.shape == (1, 10, default.n_vocab)
    heads = (1, 10, 8, 32)
    resid = (1, 10, 256)
    assert seen == {name: (heads if ".attn." in name else resid,
                           6 if name.startswith("ln_final") else int(name.split(".")[1]), 0,
                           np.float32) for name in names}
    seen.clear()
    default.run_with_hooks(CLEAN, [(lambda name: name.endswith("hook_mlp_out"), look)])
    assert sorted(seen) == [f"blocks.{l}.hook_mlp_out" for l in range(6)]


def test_hook_values_match_the_cache(default, clean):
    _, cache = clean
    got = {}

    def keep(act, hook):
        got[hook.name] = act.copy()
    names = ["blocks.1.attn.hook_z", "blocks.1.attn.hook_v", "blocks.2.hook_resid_post",
             "blocks.4.hook_attn_out", "ln_final.hook_normalized"]
    default.run_with_hooks(CLEAN, [(name, keep) for name in names])
    for name in names:
        assert same(got[name], cache[name]), name


def test_returning_an_array_equals_editing_in_place(default):
    def in_place(act, hook):
        act *= 0.5
        act[:, 2] = 1.0

    def returned(act, hook):
        new = act * np.float32(0.5)
        new[:, 2] = 1.0
        return new

    def returned_f64(act, hook):
        return returned(act, hook).astype(np.float64)
    name = "blocks.2.hook_resid_mid"
    a = default.run_with_hooks(CLEAN, [(name, in_place)])
    assert not np.array_equal(a[0], default.logits(CLEAN))
    assert same(default.run_with_hooks(CLEAN, [(name, returned)]), a)
    assert same(default.run_with_hooks(CLEAN, [(name, returned_f64)]), a)
    # hooks on one name run in the order given
    b = default.run_with_hooks(CLEAN, [(name, lambda x, h: x * np.float32(0.5)),
                                       (name, lambda x, h: x.__setitem__((slice(None), 2), 1))])
    assert same(b, a)


def test_long_inputs_come_in_batches(default):
    ids = (np.arange(300) * 7 + 11) % default.n_vocab
    calls = []

    def zero(act, hook):
        calls.append((hook.pos0, act.shape))
        act[:, :, 1] = 0
    got = default.run_with_hooks(ids, [("blocks.0.attn.hook_z", zero)])[0]
    assert calls == [(0, (1, 256, 8, 32)), (256, (1, 44, 8, 32))]
    assert same(got, default.logits(ids, ablate=[(0, 1)]))


def test_exceptions_in_hooks_reach_the_caller(default, clean):
    class Boom(Exception):
        pass
    calls = []

    def boom(act, hook):
        calls.append(hook.name)
        raise Boom(hook.name)
    with pytest.raises(Boom, match="blocks.0.hook_resid_pre"):
        default.run_with_hooks(CLEAN, [(lambda n: n.endswith("resid_pre"), boom)])
    assert calls == ["blocks.0.hook_resid_pre"]  # no hook runs after one failed
    with pytest.raises(ValueError, match=r"returned an array of shape \(1, 10\)"):
        default.run_with_hooks(CLEAN, [("blocks.1.hook_resid_pre", lambda a, h: a[..., 0])])
    with pytest.raises(ZeroDivisionError):
        default.run_with_hooks(CLEAN, [("ln_final.hook_normalized", lambda a, h: 1 / 0)],
                               steer=[(1, np.ones(256))], ablate=[(0, 0)])
    assert same(default.logits(CLEAN), clean[0])  # no hook, edit or steering left


def test_steering(default, clean):
    logits = clean[0]
    v = np.random.default_rng(3).normal(0, 0.5, 256).astype(np.float32)
    assert same(default.logits(CLEAN, steer=[(2, v, 0.0)]), logits)
    cv = heed.ControlVector.load(CVEC_A)
    assert same(default.logits(CLEAN, steer=[(cv, 0)]), logits)
    # vectors[l] is added at the output of block l: before hook_resid_post sees it
    got = default.logits(CLEAN, steer=[(2, v, 0.75)])
    assert not np.array_equal(got, logits)
    want = default.run_with_hooks(CLEAN, [("blocks.2.hook_resid_post",
                                           lambda a, h: a + v * np.float32(0.75))])[0]
    assert same(got, want)
    assert same(default.logits(CLEAN, steer=(2, v, 0.75)), got)
    # several entries are summed into one vector per layer
    both = default.logits(CLEAN, steer=[(2, v, 0.5), (2, v, 0.25), (4, -v)])
    want = default.run_with_hooks(CLEAN, [
        ("blocks.2.hook_resid_post", lambda a, h: a + (v * np.float32(0.5) + v * np.float32(0.25))),
        ("blocks.4.hook_resid_post", lambda a, h: a + -v)])[0]
    assert same(both, want)
    # a ControlVector is its directions at their layers
    entries = [(k, d) for k, d in cv.directions.items()]
    assert same(default.logits(CLEAN, steer=cv), default.logits(CLEAN, steer=entries))
    scaled = default.logits(CLEAN, steer=cv * 0.8)
    assert same(default.logits(CLEAN, steer=[(cv, 0.8)]), scaled)
    assert same(default.logits(CLEAN, steer=(cv, 0.8)), scaled)
    assert same(default.logits(CLEAN), logits)


def test_control_vectors_steer_as_generate_and_the_cli(default):
    """Greedy decoding by logits(steer=[(a, 0.8), b]) gives the text
    generate(control_vectors=[(file a, 0.8), file b]) does, which
    test_generate holds to `heed run --control-vector`."""
    a, b = heed.ControlVector.load(CVEC_A), heed.ControlVector.load(CVEC_B)
    prompt = "And God said"
    files = default.generate(prompt, max_tokens=12, temperature=0,
                             control_vectors=[(CVEC_A, 0.8), CVEC_B])
    objects = default.generate(prompt, max_tokens=12, temperature=0,
                               control_vectors=[(a, 0.8), b])
    assert objects == files != default.generate(prompt, max_tokens=12, temperature=0)
    ids = default.tokenize(prompt, parse_special=True)
    n = len(ids)
    for _ in range(12):
        ids.append(int(default.logits(ids, steer=[(a, 0.8), b])[-1].argmax()))
    assert default.detokenize(ids[n:]) == files


def test_control_vector_files(default, tmp_path):
    a = heed.ControlVector.load(CVEC_A)
    assert a.layers == [1, 2, 3, 4, 5] and a.n_embd == 256 and a.model_hint == "llama"
    assert "layers 1..5" in repr(a)
    total = np.zeros((6, 256), np.float32)  # libheed's own sum of the file
    heed._lib.check(heed._lib.lib.heed_control_vector_add(
        str(CVEC_A).encode(), 1.0, 256, 6, total.ctypes.data_as(ctypes.POINTER(ctypes.c_float))))
    assert all(same(a.directions[k], total[k]) for k in range(1, 6))
    path = tmp_path / "half.gguf"
    (a * 0.5).save(path)
    back = heed.ControlVector.load(path)
    assert back.layers == a.layers and back.model_hint == "llama"
    assert all(same(back.directions[k], a.directions[k] * np.float32(0.5)) for k in a.layers)
    # the file is what llama.cpp's reader (libheed's) takes
    assert default.generate("And God said", max_tokens=8, temperature=0,
                            control_vectors=[(path, 1.6)]) == \
        default.generate("And God said", max_tokens=8, temperature=0,
                         control_vectors=[(a, 0.8)])
    # made from arrays, some layers only
    v = np.ones(256, np.float32)
    few = heed.ControlVector({3: v, 1: -v})
    assert few.layers == [1, 3]
    few.save(tmp_path / "few.gguf", model_hint="llama")
    again = heed.ControlVector.load(tmp_path / "few.gguf")
    assert again.layers == [1, 3] and same(again.directions[1], -v)
    rows = np.zeros((4, 256), np.float32)
    rows[2] = v
    assert heed.ControlVector(rows).layers == [1, 2, 3]
    with pytest.raises(ValueError, match="row 0"):
        heed.ControlVector(np.ones((3, 256)))
    with pytest.raises(ValueError, match="layer 0"):
        heed.ControlVector({0: v})
    with pytest.raises(ValueError, match="direction 2"):
        heed.ControlVector({1: v, 2: v[:5]})
    narrow = heed.ControlVector.load(ROOT / "tests" / "data" / "cvec-128.gguf")
    assert narrow.n_embd == 128
    with pytest.raises(ValueError, match="n_embd 128"):
        default.logits(CLEAN, steer=narrow)
    with pytest.raises(heed.Error, match="n_embd is 256"):
        default.generate("And God said", control_vectors=[narrow])
    with pytest.raises(heed.Error):
        heed.ControlVector.load(tmp_path / "missing.gguf")
    with pytest.raises(heed.Error, match="not a control vector"):
        heed.ControlVector.load(ROOT / "models" / "default.gguf")


@pytest.mark.parametrize("kwargs, message", [
    (dict(patch={"blocks.6.hook_resid_pre": np.zeros((1, 10, 256))}), "layer 6 is out of range"),
    (dict(patch={"blocks.0.hook_resid_pre": np.zeros((1, 10, 255))}), r"shape \(1, 10, 255\)"),
    (dict(patch={"blocks.0.attn.hook_z": np.zeros((1, 10, 256))}), "want \\[1, pos, 8, 32\\]"),
    (dict(patch={"blocks.0.hook_resid_pre": np.zeros((11, 256))}), "11 positions, the input "
                                                                   "has 10"),
    (dict(patch={"blocks.0.attn.hook_pattern": np.zeros((1, 8, 10, 10))}), "hook_pattern is "
                                                                           "not a hook point"),
    (dict(patch={"blocks.0.hook_nothing": np.zeros(256)}), "'blocks.0.hook_nothing': no such"),
    (dict(patch={"embed.hook_embed": np.zeros(256)}), "no such hook point"),
    (dict(patch={("blocks.0.hook_resid_pre", 10): np.zeros(256)}), "position 10 is out of "
                                                                   "range"),
    (dict(patch={("blocks.0.attn.hook_z", 0, 8): np.zeros(32)}), "head 8 is out of range"),
    (dict(patch={("blocks.0.hook_mlp_out", 0, 1): np.zeros(32)}), "only attn.hook_q"),
    (dict(patch={("blocks.0.attn.hook_k", 0, 1): np.zeros(31)}), r"want \[32\]"),
    (dict(patch=[("blocks.0.hook_resid_pre", np.zeros(256))]), "expected a dict"),
    (dict(ablate=[(6, 0)]), "layer 6 is out of range"),
    (dict(ablate=[(0, 8)]), "head 8 is out of range"),
    (dict(ablate=[(0, 1, 2)]), "expected \\(layer, head\\) pairs"),
    (dict(ablate_mean="And"), "ablate names no head"),
    (dict(steer=[(6, np.zeros(256))]), "layer 6 is out of range"),
    (dict(steer=[(0, np.zeros(255))]), r"shape \(255,\)"),
    (dict(steer=[(0, np.zeros(256), "x")]), "not a number"),
    (dict(steer=["x"]), "expected \\(layer, vector"),
])
def test_bad_interventions_raise_value_error(default, clean, kwargs, message):
    with pytest.raises(ValueError, match=message):
        default.logits(CLEAN, **kwargs)
    assert same(default.logits(CLEAN), clean[0])


def test_bad_hooks_raise_value_error(default):
    for name, message in [("blocks.1.attn.hook_pattern", "hook_pattern is not a hook point"),
                          ("blocks.9.hook_resid_pre", "layer 9 is out of range"),
                          ("hook_resid_pre", "no such hook point")]:
        with pytest.raises(ValueError, match=message):
            default.run_with_hooks(CLEAN, [(name, lambda a, h: None)])
    with pytest.raises(ValueError, match="expected \\(name, fn\\) pairs"):
        default.run_with_hooks(CLEAN, [("blocks.1.hook_resid_pre",)])


@pytest.mark.parametrize("name", ["llama-tiny-f32.gguf", "gemma-tiny.gguf", "gpt2-tiny.gguf",
                                  "qwen2-tiny.gguf", "phi3-tiny.gguf", "stories260K.bin"])
def test_other_architectures(name):
    """Grouped-query attention (llama: 4 heads, 2 kv heads), heads wider
    than d_model (gemma: 2 × 32 over 32), a llama2.c checkpoint (its head
    shape found by running a token): hooks get run_with_cache's values and
    shapes, ablation is zeroing, patching the input restores a run."""
    from conftest import THREADS, fixture_path
    with heed.Model(fixture_path(name), n_threads=THREADS) as m:
        ids, other = [1, 5, 9, 200, 3, 77, 12], [1, 6, 9, 100, 3, 78, 12]
        logits, cache = m.run_with_cache(ids)
        got = {}

        def keep(act, hook):
            got[hook.name] = act.copy()
        attn = ["blocks.1.attn.hook_v", "blocks.1.attn.hook_z"]
        m.run_with_hooks(ids, [(n, keep) for n in attn + ["blocks.1.hook_resid_mid"]])
        assert all(same(got[n], cache[n]) for n in got)
        m.run_with_hooks(ids, [("blocks.1.attn.hook_q", keep), ("blocks.1.attn.hook_k", keep)])
        assert got["blocks.1.attn.hook_q"].shape == (1, 7, m.n_head, m.d_head)
        assert got["blocks.1.attn.hook_k"].shape == (1, 7, m.n_kv_head, m.d_head)
        head = m.n_head - 1

        def zero(act, hook):
            act[:, :, head] = 0
        ablated = m.logits(ids, ablate=[(1, head)])
        assert not np.array_equal(ablated, logits)
        assert same(m.run_with_hooks(ids, [("blocks.1.attn.hook_z", zero)])[0], ablated)
        patched = m.logits(other, patch={"blocks.0.hook_resid_pre":
                                         cache["blocks.0.hook_resid_pre"]})
        assert same(patched, logits)


def test_attribute_parts_sum_and_match_the_cli(default, tmp_path):
    import json
    text = "In the beginning God created the heaven and the"
    a = default.attribute(text, " earth", foil=" sea")
    parts = a["heads"].sum() + a["mlp"].sum() + a["embed"] + a["bias"] + a["steer"]
    assert abs(parts - a["logit"]) < 1e-3
    assert abs(a["total"] - parts) < 1e-9
    assert a["heads"].shape == (default.n_layer, default.n_head)
    assert abs(a["model_logit"] - a["logit"]) < 1e-2
    out = tmp_path / "a.json"
    cli("attribute", str(ROOT / "models/default.gguf"), "-p", text, "--token", " earth",
        "--foil", " sea", "--json", str(out))
    j = json.loads(out.read_text())
    assert np.allclose(np.array(j["heads"]), a["heads"], rtol=1e-6, atol=1e-6)
    assert a["token"] == j["target"]["id"] and a["foil"] == j["foil"]["id"]
    top = default.attribute(text)
    assert top["token"] == int(np.argmax(default.logits(text)[-1])) and top["foil"] is None
    with pytest.raises(ValueError, match="not one"):
        default.attribute(text, "heaven and earth")
    with pytest.raises(ValueError, match="out of range"):
        default.attribute(text, default.n_vocab)


def test_generate_logit_bias_as_heed_run(default):
    # heed run -p 'In the beginning' -n 6 --temp 0 --logit-bias 268-inf (llama-cli's text too)
    got = default.generate("In the beginning", max_tokens=6, temperature=0,
                           logit_bias={268: float("-inf")})
    assert got == ", and in the beginning,"
    assert default.generate("In the beginning", max_tokens=6, temperature=0,
                            logit_bias={386: 5}) == " of his power, and God"
    with pytest.raises(heed.Error, match="out of range"):
        default.generate("x", max_tokens=2, logit_bias={default.n_vocab: 1})
