"""Hyperparameters, metadata, tokens, and hostile input: every failure is a
heed.Error (with libheed's message) or a TypeError, never a crash."""
import numpy as np
import pytest

import heed
from conftest import DEFAULT, cli, fixture_path

TEXT = "And God saw the light, that it was good"


def test_hyperparameters(default):
    assert (default.arch, default.n_layer, default.n_head, default.n_kv_head) == ("llama", 6, 8, 8)
    assert (default.n_embd, default.d_head, default.n_vocab) == (256, 32, 4096)
    assert default.n_ctx_train == 128 and not default.is_encoder
    assert "6 layers" in repr(default)


def test_metadata(default, llama):
    md = default.metadata
    assert md["general.architecture"] == "llama"
    assert md["llama.block_count"] == 6 and md["llama.embedding_length"] == 256
    assert md["general.name"] == "heed KJV small"
    assert len(md["tokenizer.ggml.tokens"]) == default.n_vocab
    assert md["tokenizer.ggml.tokens"][default.tokenize(" light")[0]] == "Ġlight"
    assert isinstance(md["tokenizer.ggml.token_type"], np.ndarray)
    assert llama.metadata["llama.attention.head_count_kv"] == 2
    scores = llama.metadata["tokenizer.ggml.scores"]
    assert scores.dtype == np.float32 and scores.shape == (llama.n_vocab,)


def test_tokens(default):
    ids = default.tokenize(TEXT)
    assert default.detokenize(ids) == TEXT
    assert "".join(default.to_str_tokens(TEXT)) == TEXT
    assert default.to_str_tokens(ids) == default.to_str_tokens(TEXT)
    assert default.detokenize([]) == ""
    assert default.tokenize("") == []
    assert default.tokenize(TEXT.encode()) == ids
    assert default.logits(np.array([ids], np.int64)).shape == (len(ids), 4096)  # [1, pos]


def test_llama2c_checkpoint(tmp_path):
    """A llama2.c .bin: no GGUF metadata, so n_kv_head comes from the qk tap."""
    path = fixture_path("stories260K.bin")
    ids = [1, 403, 407, 261, 378, 2]
    cli("logits", path, "--ids", ",".join(map(str, ids)), "-o", tmp_path / "l.f32", "-t", 2)
    with heed.Model(path, n_threads=2) as m:
        assert m.metadata == {}
        assert (m.n_head, m.n_kv_head, m.n_vocab) == (8, 4, 512)
        want = np.fromfile(tmp_path / "l.f32", np.float32).reshape(len(ids), 512)
        assert np.array_equal(m.logits(ids), want)
        with pytest.raises(heed.Error, match="no tokenizer"):
            m.tokenize("hi")


@pytest.mark.parametrize("make", ["missing", "directory", "not_gguf", "empty", "truncated",
                                  "bad_magic_tail"])
def test_hostile_paths(make, tmp_path):
    data = DEFAULT.read_bytes()
    path = tmp_path / "model.gguf"
    if make == "missing":
        pass
    elif make == "directory":
        path.mkdir()
    elif make == "not_gguf":
        path.write_text("this is not a model\n" * 100)
    elif make == "empty":
        path.write_bytes(b"")
    elif make == "truncated":
        path.write_bytes(data[: len(data) // 2])
    else:
        path.write_bytes(data[:4096])
    with pytest.raises(heed.Error) as e:
        heed.Model(path)
    assert str(e.value)  # libheed's message
    if make in ("missing", "truncated", "not_gguf"):
        assert str(path) in str(e.value) or "model.gguf" in str(e.value)


def test_bad_arguments():
    for bad in (None, 3, ["a"]):
        with pytest.raises(TypeError):
            heed.Model(bad)
    with pytest.raises(TypeError):
        heed.Model(DEFAULT, n_ctx="128")
    with pytest.raises(TypeError):
        heed.Model(DEFAULT, n_threads=1.5)
    for n_ctx in (0, -5, 2**40):
        with pytest.raises(heed.Error, match="n_ctx"):
            heed.Model(DEFAULT, n_ctx=n_ctx)


def test_huge_n_ctx():
    """A KV cache of 2^31 - 1 positions (about 12 TiB here) is refused, not
    attempted: heed.Error, and the interpreter goes on."""
    with pytest.raises(heed.Error):
        heed.Model(DEFAULT, n_ctx=2**31 - 1)


def test_bad_ids(default):
    n_vocab = default.n_vocab
    for ids in ([n_vocab], [-1], [0, 1, 2**31 - 1], [5, -2**31]):
        with pytest.raises(heed.Error, match="range|id"):
            default.logits(ids)
    for ids in ([2**40], [-2**40]):
        with pytest.raises(heed.Error, match="out of range"):
            default.logits(ids)
    for ids in ([1.5], ["a"], [[1, 2], [3, 4]], [[[1]]], [True, False], None, object(),
                {"a": 1}, b"abc", 7):
        with pytest.raises(TypeError):
            default.logits(ids)
    with pytest.raises(heed.Error, match="no tokens"):
        default.logits([])
    with pytest.raises(heed.Error):
        default.detokenize([n_vocab])
    with pytest.raises(heed.Error, match="out of range"):
        default.to_str_tokens([1, n_vocab])
    with pytest.raises(heed.Error):
        default.run_with_cache([0, n_vocab])
    with pytest.raises(heed.Error):
        default.logit_lens([-3])
    with pytest.raises(TypeError):
        default.tokenize(["x"])
    with pytest.raises(heed.Error, match="pooling"):
        default.embed(TEXT, pooling="max")
    assert default.logits([1, 2, 3]).shape == (3, n_vocab)  # still usable afterwards


def test_context_limits():
    with heed.Model(DEFAULT, n_ctx=4) as m:
        assert m.logits([1, 2, 3, 4]).shape == (4, m.n_vocab)
        with pytest.raises(heed.Error):
            m.logits([1, 2, 3, 4, 5])
        with pytest.raises(heed.Error):
            m.run_with_cache([1, 2, 3, 4, 5])
    with heed.Model(DEFAULT) as m:  # sized to each input, up to the training context
        assert m.logits(list(range(100))).shape == (100, m.n_vocab)
        assert m.logits([1]).shape == (1, m.n_vocab)


def test_closed_model():
    m = heed.Model(DEFAULT)
    m.close()
    m.close()
    with pytest.raises(heed.Error, match="closed"):
        m.logits([1])
    with pytest.raises(heed.Error, match="closed"):
        m.n_layer


def test_apply_chat_template(default):
    """HF's apply_chat_template(tokenize=False): the model's bos/eos, tools,
    more variables as keywords; a model with no template or a failing one
    is a heed.Error."""
    msgs = [{"role": "user", "content": "héllo", "x": 1.0}]
    with pytest.raises(heed.Error, match="no chat template"):
        default.apply_chat_template(msgs)
    tmpl = ("{{ bos_token }}{% for m in messages %}<{{ m.role }}>{{ m.content }}{{ m.x }}"
            "{% endfor %}{% if tools %}{{ tools | tojson }}{% endif %}"
            "{% if add_generation_prompt %}<assistant>{% endif %}{{ extra | default('') }}")
    assert default.apply_chat_template(msgs, chat_template=tmpl) == \
        "<|endoftext|><user>héllo1.0<assistant>"
    tools = [{"type": "function", "function": {"name": "f"}}]
    assert default.apply_chat_template(msgs, tools, add_generation_prompt=False,
                                       chat_template=tmpl, extra="!") == \
        '<|endoftext|><user>héllo1.0[{"type": "function", "function": {"name": "f"}}]!'
    with pytest.raises(heed.Error, match=r"template:1:\d+: stop"):
        default.apply_chat_template(msgs, chat_template="{{ raise_exception('stop') }}")
