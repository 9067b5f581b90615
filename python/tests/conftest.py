"""Shared paths and models for the Python tests: the repository's build
(build/heed, build/libheed.so), models/default.gguf, and the reference
fixtures ($HEED_FIXTURES, else ../shared/fixtures beside the repository;
tests that need them are skipped without them, as the C suite's are)."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "python"))  # the source tree's package, whatever the cwd

import heed  # noqa: E402

HEED = ROOT / "build" / "heed"
DEFAULT = ROOT / "models" / "default.gguf"
FIXTURES = Path(os.environ.get("HEED_FIXTURES") or ROOT.parent / "shared" / "fixtures")
THREADS = 2  # the CLI runs get the same count


def fixture_path(name):
    p = FIXTURES / name
    if not p.is_file():
        pytest.skip(f"fixture {p} not found: set HEED_FIXTURES")
    return p


def cli(*args):
    """Runs build/heed; its stdout, or a test failure with its stderr."""
    r = subprocess.run([str(HEED), *map(str, args)], capture_output=True)
    assert r.returncode == 0, f"heed {' '.join(map(str, args))}: {r.stderr.decode()}"
    return r.stdout


@pytest.fixture(scope="session")
def default():
    with heed.Model(DEFAULT, n_threads=THREADS) as m:
        yield m


@pytest.fixture(scope="session")
def llama():
    """llama-tiny-f32: grouped-query attention (4 heads, 2 kv heads)."""
    with heed.Model(fixture_path("llama-tiny-f32.gguf"), n_threads=THREADS) as m:
        yield m
