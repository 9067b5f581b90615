"""heed: a language-model engine in C (GGUF, llama.cpp-compatible), from Python.

    >>> import heed
    >>> m = heed.Model("models/default.gguf")
    >>> logits, cache = m.run_with_cache("And God saw the light, that it was good")
    >>> cache["blocks.4.attn.hook_pattern"].shape      # [1, n_head, q, k]

Everything is computed by libheed (found as heed._lib describes); results
are numpy float32 arrays. Failures raise heed.Error with libheed's message.

Text generation (Model.generate / Model.stream) is not here yet: it waits
for the generator libheed is getting (src/gen), so that Python, `heed run`
and `heed serve` share one loop.
"""
from ._lib import Error
from .control_vector import ControlVector
from .model import HookPoint, Model

__version__ = "0.1.0"
__all__ = ["ControlVector", "Error", "HookPoint", "Model"]
