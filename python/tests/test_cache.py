"""run_with_cache: names and shapes, the pattern recomputed from the
cached q and k, the residual stream, names filtering, memory stated."""
import gc

import numpy as np
import pytest

import heed

TEXT = "And God saw the light, that it was good"
SENTENCE = "The animal didn't cross the street because it was tired."


def softmax_pattern(q, k, n_head, n_kv_head, causal=True):
    """[n_head, q, k] from hook_q [pos, n_head, d] and hook_k [pos, n_kv, d],
    in float64: query head h reads kv head h // (n_head // n_kv_head)."""
    n, _, d = q.shape
    out = np.empty((n_head, n, n))
    for h in range(n_head):
        g = h // (n_head // n_kv_head)
        s = q[:, h].astype(np.float64) @ k[:, g].astype(np.float64).T / np.sqrt(d)
        if causal:
            s[np.triu_indices(n, 1)] = -np.inf
        s = np.exp(s - s.max(axis=1, keepdims=True))
        out[h] = s / s.sum(axis=1, keepdims=True)
    return out


@pytest.mark.parametrize("which", ["default", "llama"])
def test_pattern_is_softmax_of_cached_q_k(which, request):
    m = request.getfixturevalue(which)
    logits, cache = m.run_with_cache(SENTENCE)
    n = len(m.tokenize(SENTENCE))
    assert np.array_equal(logits, m.logits(SENTENCE))  # capture changes no logit
    for l in range(m.n_layer):
        q = cache[f"blocks.{l}.attn.hook_q"]
        k = cache[f"blocks.{l}.attn.hook_k"]
        pattern = cache[f"blocks.{l}.attn.hook_pattern"]
        assert q.shape == (1, n, m.n_head, m.d_head)
        assert k.shape == (1, n, m.n_kv_head, m.d_head)
        assert pattern.shape == (1, m.n_head, n, n)
        assert all(a.dtype == np.float32 for a in (q, k, pattern))
        want = softmax_pattern(q[0], k[0], m.n_head, m.n_kv_head)
        np.testing.assert_allclose(pattern[0], want, rtol=1e-5, atol=1e-6)


def test_gqa_fixture_has_fewer_kv_heads(llama):
    assert (llama.n_head, llama.n_kv_head, llama.d_head) == (4, 2, 64)


def test_pattern_recompute_can_fail(default):
    """The check above is not vacuous: keys from the wrong head group, or
    without the 1/sqrt(d) scale, give another pattern."""
    _, cache = default.run_with_cache(TEXT, names=["blocks.2.attn.hook_q",
                                                   "blocks.2.attn.hook_k",
                                                   "blocks.2.attn.hook_pattern"])
    q, k = cache["blocks.2.attn.hook_q"][0], cache["blocks.2.attn.hook_k"][0]
    got = cache["blocks.2.attn.hook_pattern"][0]
    assert not np.allclose(got, softmax_pattern(q, k[:, ::-1], 8, 8), atol=1e-3)
    assert not np.allclose(got, softmax_pattern(q * np.sqrt(32), k, 8, 8), atol=1e-3)


def test_residual_stream(default):
    logits, cache = default.run_with_cache(TEXT)
    n, L = len(default.tokenize(TEXT)), default.n_layer
    for l in range(L):
        pre, post = cache[f"blocks.{l}.hook_resid_pre"], cache[f"blocks.{l}.hook_resid_post"]
        assert pre.shape == post.shape == (1, n, default.n_embd)
        assert not np.array_equal(pre, post)
        if l + 1 < L:
            assert np.array_equal(post, cache[f"blocks.{l + 1}.hook_resid_pre"])
    # the last block's output through the final norm and head is the logits
    lens = default.logit_lens(TEXT)
    assert np.array_equal(lens[-1], logits)
    assert np.isfinite(lens).all()


def test_names_filter(default):
    _, everything = default.run_with_cache(TEXT)
    assert list(everything) == default.hook_names()
    assert len(everything) == 10 * default.n_layer + 1  # and ln_final
    wanted = ["blocks.4.attn.hook_pattern", "blocks.1.hook_resid_post"]
    _, some = default.run_with_cache(TEXT, names=wanted)
    assert sorted(some) == sorted(wanted)
    _, by_predicate = default.run_with_cache(TEXT, names=lambda n: n.startswith("blocks.3."))
    assert sorted(by_predicate) == sorted(h for h in everything if h.startswith("blocks.3."))
    _, one = default.run_with_cache(TEXT, names="blocks.0.attn.hook_k")
    assert list(one) == ["blocks.0.attn.hook_k"]
    for name in wanted + ["blocks.0.attn.hook_k"]:
        got = {**some, **one}[name]
        assert np.array_equal(got, everything[name]), name
    _, none = default.run_with_cache(TEXT, names=[])
    assert none == {}


def test_unknown_and_later_names(default):
    with pytest.raises(heed.Error, match="no such hook"):
        default.run_with_cache(TEXT, names=["blocks.0.attn.hook_patern"])
    with pytest.raises(heed.Error, match="no such hook"):
        default.run_with_cache(TEXT, names=[f"blocks.{default.n_layer}.hook_resid_pre"])
    with pytest.raises(TypeError):
        default.run_with_cache(TEXT, names=42)
    with pytest.raises(TypeError):
        default.run_with_cache(TEXT, names=[b"blocks.0.hook_resid_pre"])


def test_memory_is_stated_and_limited(default):
    patterns = lambda n: n.endswith("hook_pattern")  # noqa: E731
    need = default.cache_bytes(TEXT, names=patterns)
    logits, cache = default.run_with_cache(TEXT, names=patterns, max_bytes=need)
    assert need == logits.nbytes + sum(a.nbytes for a in cache.values())
    with pytest.raises(heed.Error, match=r"needs 0\.\d MiB .* above max_bytes"):
        default.run_with_cache(TEXT, names=patterns, max_bytes=need - 1)
    full = default.cache_bytes(TEXT)
    n, L, d = len(default.tokenize(TEXT)), default.n_layer, default.n_embd
    H, D, G = default.n_head, default.d_head, default.n_kv_head
    assert full == 4 * (n * default.n_vocab + n * (L + 1) * d  # logits, resid_pre/post
                        + L * n * (H + G) * D + L * H * n * n  # q, k, pattern
                        + L * n * (G + H) * D + L * n * 3 * d + n * d)  # v, z, 3 more, ln_final
    with pytest.raises(heed.Error, match="max_bytes"):
        default.logit_lens(TEXT, max_bytes=1000)


def test_pattern_is_a_view_that_outlives_the_model():
    """hook_pattern views libheed's capture buffer (no copy), read-only;
    the buffer stays valid after the model is gone, until the last view."""
    m = heed.Model(__import__("conftest").DEFAULT, n_threads=2)
    _, cache = m.run_with_cache(TEXT, names=lambda n: n.endswith("hook_pattern"))
    a = cache["blocks.4.attn.hook_pattern"]
    assert not a.flags.owndata and not a.flags.writeable
    assert a.base is not None and a.base.base is not None  # the capture's owner
    with pytest.raises(ValueError):
        a[0, 0, 0, 0] = 1
    keep = a.copy()
    m.close()
    del cache
    gc.collect()
    assert np.array_equal(a, keep)
    np.testing.assert_allclose(a.sum(axis=-1), 1, rtol=1e-5)


def test_it_attends_to_light(default):
    """The README's example: in layer 4, averaged over the heads, "it"
    attends most to "light" (`heed attend --word it` says 0.316)."""
    toks = default.to_str_tokens(TEXT)
    _, cache = default.run_with_cache(TEXT, names=["blocks.4.attn.hook_pattern"])
    row = cache["blocks.4.attn.hook_pattern"][0, :, toks.index(" it")].mean(axis=0)
    assert toks[int(row.argmax())] == " light"
    assert round(float(row.max()), 3) == 0.316


def test_encoder_run_with_cache():
    from conftest import fixture_path
    with heed.Model(fixture_path("bert-tiny.gguf"), n_threads=2) as m:
        hidden, cache = m.run_with_cache(SENTENCE)
        n = len(m.tokenize(SENTENCE))
        assert hidden.shape == (n, m.n_embd)
        assert np.array_equal(hidden, m.embed(SENTENCE, pooling="none"))
        p = cache["blocks.0.attn.hook_pattern"][0]
        assert (p > 0).all()  # bidirectional: every key is seen
        q, k = cache["blocks.0.attn.hook_q"][0], cache["blocks.0.attn.hook_k"][0]
        np.testing.assert_allclose(p, softmax_pattern(q, k, m.n_head, m.n_kv_head, False),
                                   rtol=1e-5, atol=1e-6)
        with pytest.raises(heed.Error, match="encoder"):
            m.logits(SENTENCE)


def test_long_input_spans_batches(default):
    """Past 256 tokens libheed evaluates a prompt in several batches (a tap
    call each): q and k land at their positions, and the pattern still is
    their softmax."""
    ids = (default.tokenize(TEXT + ", and the evening and the morning were the first day. ")
           * 20)[:300]
    names = [f"blocks.5.attn.hook_{h}" for h in ("q", "k", "pattern")]
    logits, cache = default.run_with_cache(ids, names=names)
    assert np.array_equal(logits, default.logits(ids))
    q, k = cache["blocks.5.attn.hook_q"][0], cache["blocks.5.attn.hook_k"][0]
    assert q.shape == (300, 8, 32) and k.shape == (300, 8, 32)
    np.testing.assert_allclose(cache["blocks.5.attn.hook_pattern"][0],
                               softmax_pattern(q, k, 8, 8), rtol=1e-5, atol=1e-6)


def test_every_hook_of_a_block_adds_up(default, llama):
    """The activation hooks: the stream adds up exactly (resid_mid = pre +
    attn_out, post = mid + mlp_out); z is the pattern times v (grouped
    heads read their kv head); ln_final times the output norm's... is the
    final norm of resid_post, whose output head gives the logits."""
    for m in (default, llama):
        logits, cache = m.run_with_cache(TEXT if m is default else [1, 450, 13019, 3282, 29915])
        n = logits.shape[0]
        assert set(cache) == set(m.hook_names())
        for l in range(m.n_layer):
            b = f"blocks.{l}."
            pre, mid, post = (cache[b + h][0] for h in ("hook_resid_pre", "hook_resid_mid",
                                                         "hook_resid_post"))
            assert np.array_equal(mid, pre + cache[b + "hook_attn_out"][0])
            assert np.array_equal(post, mid + cache[b + "hook_mlp_out"][0])
            v, z = cache[b + "attn.hook_v"][0], cache[b + "attn.hook_z"][0]
            assert v.shape == (n, m.n_kv_head, m.d_head) and z.shape == (n, m.n_head, m.d_head)
            pattern = cache[b + "attn.hook_pattern"][0]
            group = m.n_head // m.n_kv_head
            want = np.einsum("hqk,khd->qhd", pattern, np.repeat(v, group, axis=1))
            # v before the f16 KV cache rounds it: within f16's precision
            assert np.allclose(z, want, rtol=2e-3, atol=2e-3 * np.abs(v).max())
        ln = cache["ln_final.hook_normalized"][0]
        assert ln.shape == (n, m.n_embd)
        last = cache[f"blocks.{m.n_layer - 1}.hook_resid_post"][0]
        rms = np.sqrt((last.astype(np.float64) ** 2).mean(-1, keepdims=True) + 1e-5)
        ratio = ln / (last / rms)  # the norm's weight, the same for every position
        assert np.allclose(ratio, ratio[0], rtol=1e-3, atol=1e-3)
