"""The README's Python example runs and prints what the README shows."""
import doctest
import os
import re

from conftest import ROOT


def test_readme_example(monkeypatch):
    text = (ROOT / "README.md").read_text()
    section = text[text.index("\n## Python\n"):]
    section = section[:section.index("\n## ", 1)]
    blocks = re.findall(r"```python\n(.*?)```", section, re.S)
    monkeypatch.chdir(ROOT)  # the example opens models/default.gguf
    runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE)
    names = {}  # the blocks continue one another
    for i, block in enumerate(blocks):
        test = doctest.DocTestParser().get_doctest(block, names, f"README {i}", "README.md", 0)
        runner.run(test, clear_globs=False)
        names = test.globs
    assert runner.failures == 0 and runner.tries > 12 and len(blocks) >= 2
    assert os.getcwd() == str(ROOT)
