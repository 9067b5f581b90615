"""heed.ControlVector: llama.cpp's control vectors as numpy arrays."""
import ctypes
import numbers
import os

import numpy as np

from . import _lib
from ._lib import Error, check, lib


def _direction_layer(name):
    """K of "direction.K", or None."""
    if not name.startswith("direction."):
        return None
    try:
        return int(name[len("direction."):])
    except ValueError:
        return None


class ControlVector:
    """A llama.cpp control vector: one direction (n_embd floats) per layer
    K >= 1, added to the residual stream at the output of block K (0-based;
    block 0 has none), as ``llama-cli --control-vector`` and
    ``heed run --control-vector`` add it.

    ``ControlVector({K: vector, ...})`` makes one from arrays (or from a
    2-D array whose row K is direction K; row 0 must be zero);
    ``ControlVector.load(path)`` reads a file. ``cv * s`` is cv scaled.
    Use it as ``model.logits(..., steer=cv)`` or ``steer=[(cv, 0.8), ...]``
    and ``model.generate(..., control_vectors=[cv, (cv, 0.8), path, ...])``.

    Attributes: ``directions``, a dict {K: float32 [n_embd]} in order of K;
    ``layers``, its keys; ``n_embd``; ``model_hint``, the file's
    ``controlvector.model_hint`` (an architecture name) or None.
    """

    def __init__(self, directions, model_hint=None):
        if isinstance(directions, dict):
            items = directions.items()
        else:
            arr = np.asarray(directions, np.float32)
            if arr.ndim != 2:
                raise ValueError("ControlVector: expected {layer: vector} or a 2-D array "
                                 f"[layers, n_embd], not a {arr.ndim}-D array")
            if arr[:1].any():
                raise ValueError("ControlVector: row 0 of the array is not zero (block 0 "
                                 "has no direction in llama.cpp's control vectors)")
            items = ((k, arr[k]) for k in range(1, len(arr)))
        self.directions, n_embd = {}, None
        for k, v in sorted(items, key=lambda kv: kv[0]):
            if isinstance(k, bool) or not isinstance(k, numbers.Integral) or k < 1:
                raise ValueError(f"ControlVector: layer {k!r}: want an int >= 1 (direction K "
                                 "is added at the output of block K)")
            v = np.array(v, np.float32).reshape(-1) if np.ndim(v) else None
            if v is None or (n_embd is not None and len(v) != n_embd):
                raise ValueError(f"ControlVector: direction {k} has shape {np.shape(v)}; want "
                                 f"({n_embd or 'n_embd'},), the same for every layer")
            n_embd = len(v)
            self.directions[int(k)] = v
        if not self.directions:
            raise ValueError("ControlVector: no directions")
        self.n_embd = n_embd
        self.model_hint = model_hint

    @property
    def layers(self):
        return list(self.directions)

    def __repr__(self):
        ks = self.layers
        span = f"{ks[0]}..{ks[-1]}" if ks == list(range(ks[0], ks[-1] + 1)) else str(ks)
        hint = f", model_hint {self.model_hint!r}" if self.model_hint else ""
        return f"heed.ControlVector(layers {span}, n_embd {self.n_embd}{hint})"

    def __mul__(self, scale):
        if isinstance(scale, bool) or not isinstance(scale, numbers.Real):
            return NotImplemented
        s = np.float32(scale)
        return ControlVector({k: v * s for k, v in self.directions.items()}, self.model_hint)

    __rmul__ = __mul__

    def add_to(self, total, scale=1.0):
        """Adds scale × the directions into total [n_layer][n_embd], row K,
        as libheed's heed_control_vector_add adds a file (the same float
        operations, so the same sums); layers total lacks are ignored, as
        llama.cpp ignores them."""
        if total.shape[1] != self.n_embd:
            raise ValueError(f"control vector of n_embd {self.n_embd}: the model's n_embd is "
                             f"{total.shape[1]}")
        s = np.float32(scale)
        for k, v in self.directions.items():
            if k < len(total):
                total[k] += v * s

    @classmethod
    def load(cls, path):
        """Reads a llama.cpp control-vector file (GGUF: f32 "direction.K"
        tensors), with libheed's reader (heed_control_vector_add), which
        refuses tensors of another name, type or length. No model is
        needed: the width is the file's."""
        path = os.fsdecode(path)
        cpath = path.encode("utf-8", "surrogateescape")
        g = ctypes.c_void_p()
        check(lib.heed_gguf_open(cpath, ctypes.byref(g)))
        layers, n_embd, hint = set(), None, None
        try:
            for i in range(lib.heed_gguf_n_tensors(g)):
                t = lib.heed_gguf_tensor_at(g, i)[0]
                k = _direction_layer(t.name.decode("utf-8", "replace"))
                if k is not None and k >= 1:
                    layers.add(k)
                    if n_embd is None:
                        n_embd = t.ne[0]
            s = _lib.GGUFStr()
            if lib.heed_gguf_get_str(g, b"controlvector.model_hint", ctypes.byref(s)) == 0:
                hint = ctypes.string_at(s.ptr, s.len).decode("utf-8", "replace") if s.len else ""
        finally:
            lib.heed_gguf_close(g)
        if not layers:
            raise Error(f"{path}: no direction.K tensors (K >= 1): not a control vector")
        total = np.zeros((max(layers) + 1, n_embd), np.float32)
        check(lib.heed_control_vector_add(cpath, 1.0, n_embd, len(total),
                                          total.ctypes.data_as(ctypes.POINTER(ctypes.c_float))))
        return cls({k: total[k] for k in sorted(layers)}, hint)

    def save(self, path, model_hint=None):
        """Writes the file llama.cpp reads (and cvector-generator writes):
        GGUF v3, general.architecture "controlvector",
        controlvector.model_hint (model_hint, else the one loaded; none if
        neither), controlvector.layer_count (int32) and one f32
        "direction.K" per layer, in order of K. Written atomically by
        libheed's GGUF writer."""
        hint = model_hint if model_hint is not None else self.model_hint
        w = ctypes.c_void_p()
        check(lib.heed_gguf_writer_new(ctypes.byref(w)))
        keep = [np.ascontiguousarray(v, np.float32) for v in self.directions.values()]
        try:
            check(lib.heed_gguf_writer_set_str(w, b"general.architecture", b"controlvector"))
            if hint is not None:
                check(lib.heed_gguf_writer_set_str(w, b"controlvector.model_hint",
                                                   hint.encode()))
            check(lib.heed_gguf_writer_set_i32(w, b"controlvector.layer_count", len(keep)))
            ne = (ctypes.c_int64 * 1)(self.n_embd)
            for k, v in zip(self.directions, keep):
                check(lib.heed_gguf_writer_add_tensor(w, f"direction.{k}".encode(),
                                                      _lib.TYPE_F32, 1, ne, v.ctypes.data))
            check(lib.heed_gguf_writer_write(w, os.fsencode(path)))
        finally:
            lib.heed_gguf_writer_free(w)
