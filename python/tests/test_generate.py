"""Model.generate / Model.stream: libheed's generator, so `heed run`'s
text with the same options; stop strings; refusals."""
import pytest

import heed
from conftest import DEFAULT, THREADS, cli, fixture_path

PROMPT = "The animal didn't cross the street because it"


def run_text(model, prompt, *options):
    """What `heed run` prints after the prompt (without its final newline)."""
    out = cli("run", model, "-p", prompt, "-t", THREADS, *options).decode()
    assert out.startswith(prompt) and out.endswith("\n")
    return out[len(prompt):-1]


@pytest.mark.parametrize("options", [
    dict(temperature=0),
    dict(seed=7),
    dict(temperature=1.1, top_k=0, top_p=0.9, min_p=0.02, seed=3),
])
def test_generate_equals_heed_run(default, options):
    flags = {"temperature": "--temp", "top_k": "--top-k", "top_p": "--top-p", "min_p": "--min-p",
             "seed": "--seed"}
    args = [x for k, v in options.items() for x in (flags[k], v)]
    got = default.generate(PROMPT, max_tokens=40, **options)
    assert got == run_text(DEFAULT, PROMPT, "-n", 40, *args)
    assert default.finish_reason in ("length", "eog")


def test_generate_on_a_fixture_equals_heed_run():
    with heed.Model(fixture_path("qwen2-tiny.gguf"), n_threads=THREADS) as m:
        got = m.generate("The animal", max_tokens=16, temperature=0, stop="Sina")
        assert got == run_text(fixture_path("qwen2-tiny.gguf"), "The animal", "-n", 16,
                               "--temp", 0, "--stop", "Sina")
        assert m.finish_reason == "stop"


def test_stream_pieces_make_the_text_and_stops_end_it(default):
    free = default.generate(PROMPT, max_tokens=40, temperature=0, ignore_eos=True)
    pieces = list(default.stream(PROMPT, max_tokens=40, temperature=0, ignore_eos=True))
    assert "".join(pieces) == free and len(pieces) > 1
    stop = free[len(free) // 2:len(free) // 2 + 3]
    cut = default.generate(PROMPT, max_tokens=40, temperature=0, stop=["\u00e9\u00e9", stop])
    assert cut == free[:free.index(stop)]
    assert default.finish_reason == "stop"
    drafted = default.generate(PROMPT, max_tokens=40, temperature=0, ignore_eos=True, lookup=5)
    assert drafted == free


def test_bad_options_raise(default):
    with pytest.raises(heed.Error, match="top_p"):
        default.generate(PROMPT, top_p=-1)
    with pytest.raises(heed.Error, match="stop string 0 is empty"):
        default.generate(PROMPT, stop="")
    with pytest.raises(TypeError):
        default.generate(PROMPT, stop=[3])
    with pytest.raises(TypeError):
        default.generate(PROMPT, max_tokens=1.5)
    with pytest.raises(heed.Error):
        default.generate([1, 10**9])
    assert default.generate(PROMPT, max_tokens=3, temperature=0)  # still usable


def test_control_vectors_as_heed_run(default):
    """Control vectors: the text `heed run --control-vector...` gives (the
    CLI's own test holds it to llama.cpp's); the context is unsteered
    after."""
    from conftest import ROOT
    a, b = ROOT / "tests" / "data" / "cvec-a.gguf", ROOT / "tests" / "data" / "cvec-b.gguf"
    got = default.generate("And God said", max_tokens=24, temperature=0,
                           control_vectors=[(a, 0.8), b])
    assert got == run_text(DEFAULT, "And God said", "-n", 24, "--temp", 0,
                           "--control-vector-scaled", a, 0.8, "--control-vector", b)
    ranged = default.generate("And God said", max_tokens=24, temperature=0,
                              control_vectors=[(a, 1.5)], control_vector_layer_range=(2, 5))
    assert ranged == run_text(DEFAULT, "And God said", "-n", 24, "--temp", 0,
                              "--control-vector-scaled", a, 1.5,
                              "--control-vector-layer-range", 2, 5)
    plain = default.generate("And God said", max_tokens=24, temperature=0)
    assert plain == run_text(DEFAULT, "And God said", "-n", 24, "--temp", 0) != got
    with pytest.raises(heed.Error, match="n_embd is 256"):
        default.generate("And God said", control_vectors=[ROOT / "tests/data/cvec-128.gguf"])
    assert default.generate("And God said", max_tokens=24, temperature=0) == plain


def test_grammar_and_json_schema_as_heed_run(default):
    """grammar= and json_schema=: `heed run --grammar / -j`'s text, which the
    grammar accepts whole; the two together, or a bad one, raise."""
    import json
    schema = {"type": "object", "properties": {"n": {"type": "integer", "minimum": 1,
                                                     "maximum": 9},
                                               "w": {"enum": ["yes", "no"]}},
              "required": ["n", "w"]}
    for seed in (1, 2, 3):
        got = default.generate("And the", max_tokens=60, temperature=1, seed=seed,
                               json_schema=schema)
        assert default.finish_reason == "eog"
        value = json.loads(got)
        assert 1 <= value["n"] <= 9 and value["w"] in ("yes", "no")
        assert got == run_text(DEFAULT, "And the", "-n", 60, "--temp", 1, "--seed", seed,
                               "-j", json.dumps(schema))
    gbnf = 'root ::= "The " [a-z]{1,12} "."'
    got = default.generate("And the", max_tokens=30, seed=4, grammar=gbnf)
    assert got == run_text(DEFAULT, "And the", "-n", 30, "--seed", 4, "--grammar", gbnf)
    assert got.startswith("The ") and got.endswith(".")
    assert default.generate("And the", max_tokens=30, seed=4,
                            json_schema=json.dumps(schema)).startswith("{")
    with pytest.raises(ValueError, match="not both"):
        default.generate("x", grammar=gbnf, json_schema=schema)
    with pytest.raises(heed.Error, match="line 1, column 10: this class has no closing"):
        default.generate("x", grammar="root ::= [")
    with pytest.raises(heed.Error, match="'multipleOf' is not supported"):
        default.generate("x", json_schema={"type": "integer", "multipleOf": 2})
    assert default.generate(PROMPT, max_tokens=3, temperature=0)  # still usable
