"""Copies libheed.so into the package as it is built, so that
`make && pip install ./python` gives a package that works on its own.

The library taken is $HEED_LIB, else ../build/libheed.so (this source
tree's build). Without either the package is built without it, and at
import looks for $HEED_LIB or the system's libheed (`make install`).
"""
import os
import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py


class BuildPy(build_py):
    def run(self):
        super().run()
        here = Path(__file__).resolve().parent
        lib = Path(os.environ.get("HEED_LIB") or here.parent / "build" / "libheed.so")
        if lib.is_file():
            shutil.copyfile(lib.resolve(), Path(self.build_lib) / "heed" / "libheed.so")
        else:
            print(f"heed: {lib} not found (run `make` first, or set HEED_LIB); the package "
                  "will look for libheed at import")


setup(cmdclass={"build_py": BuildPy})
