"""`pip install ./python` gives a package that works on its own: in a venv
(with the system's numpy), from another directory, without PYTHONPATH or
HEED_LIB, it loads the libheed.so it bundled and computes what the source
tree's package does. Built from a copy, with --no-build-isolation (no
network needed: setuptools comes from the system)."""
import os
import shutil
import subprocess
import sys

import numpy as np

from conftest import DEFAULT, ROOT

SCRIPT = """
import sys, numpy as np, heed
m = heed.Model(sys.argv[1], n_threads=2)
np.save(sys.argv[2], m.logits("And God saw the light"))
print(heed._lib.lib._name)
"""


def test_pip_install_in_a_venv(tmp_path, default):
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "setup.py", "README.md"):
        shutil.copy(ROOT / "python" / name, src)
    shutil.copytree(ROOT / "python" / "heed", src / "heed",
                    ignore=shutil.ignore_patterns("__pycache__", "*.so"))
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)],
                   check=True)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "HEED_LIB")}
    r = subprocess.run([str(venv / "bin" / "pip"), "install", "--no-build-isolation",
                        "--no-deps", "--no-index", "-q", str(src)], capture_output=True,
                       text=True, env={**env, "HEED_LIB": str(ROOT / "build" / "libheed.so")})
    assert r.returncode == 0, r.stdout + r.stderr
    out = tmp_path / "logits.npy"
    r = subprocess.run([str(venv / "bin" / "python"), "-c", SCRIPT, str(DEFAULT), str(out)],
                       capture_output=True, text=True, env=env, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().startswith(str(venv)), r.stdout  # the bundled copy
    assert np.array_equal(np.load(out), default.logits("And God saw the light"))
