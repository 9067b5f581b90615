"""The README's Python example runs and prints what the README shows."""
import doctest
import os
import re

from conftest import ROOT


def test_readme_example(monkeypatch):
    text = (ROOT / "README.md").read_text()
    section = text[text.index("\n## Python\n"):]
    block = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    monkeypatch.chdir(ROOT)  # the example opens models/default.gguf
    test = doctest.DocTestParser().get_doctest(block, {}, "README", "README.md", 0)
    runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE)
    runner.run(test)
    assert runner.failures == 0 and runner.tries > 10
    assert os.getcwd() == str(ROOT)
