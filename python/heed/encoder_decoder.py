"""run_with_cache on an encoder-decoder (T5): its three attention patterns,
under TransformerLens's HookedEncoderDecoder names (its T5Block has attn,
and in the decoder cross_attn):

  encoder.{l}.attn.hook_pattern        [1, n_head, src, src]  bidirectional
  decoder.{l}.attn.hook_pattern        [1, n_head, tgt, tgt]  causal
  decoder.{l}.cross_attn.hook_pattern  [1, n_head, tgt, src]  over the source

Each is a libheed capture of its kind (HEED_ATTN_ENCODER, SELF, CROSS),
attached while the source is encoded and the decoder input evaluated."""

import ctypes

import numpy as np

from . import _lib
from ._lib import Error, check, lib

# (kind, name pattern): the hook names, in the order they are listed
_KINDS = ((_lib.ATTN_ENCODER, "encoder.{}.attn.hook_pattern"),
          (_lib.ATTN_SELF, "decoder.{}.attn.hook_pattern"),
          (_lib.ATTN_CROSS, "decoder.{}.cross_attn.hook_pattern"))


def hook_names(n_layer):
    return [name.format(l) for _, name in _KINDS for l in range(n_layer)]


def _select(n_layer, names):
    """{kind: [layer, ...]} of the names kept."""
    every = hook_names(n_layer)
    if names is None:
        keep = every
    elif callable(names):
        keep = [n for n in every if names(n)]
    else:
        names = [names] if isinstance(names, str) else list(names)
        for n in names:
            if n not in every:
                raise Error(f"'{n}': no such hook on an encoder-decoder (it has {n_layer} "
                            "blocks; its hooks are encoder.{l}.attn.hook_pattern, "
                            "decoder.{l}.attn.hook_pattern and "
                            "decoder.{l}.cross_attn.hook_pattern)")
        keep = [n for n in every if n in set(names)]
    plan = {}
    for kind, pattern in _KINDS:
        layers = [l for l in range(n_layer) if pattern.format(l) in keep]
        if layers:
            plan[kind] = layers
    return plan


def _params(kind, layers, n_src, n_tgt, max_bytes):
    p = lib.heed_capture_default_params(n_src if kind == _lib.ATTN_ENCODER else n_tgt)
    p.kind = kind
    p.n_keys = n_src if kind == _lib.ATTN_CROSS else 0
    p._layers = (ctypes.c_int * len(layers))(*layers)  # kept alive with p
    p.layers, p.n_layers = p._layers, len(layers)
    p.max_bytes = max_bytes
    return p


def run_with_cache(model, src, dec, names, max_bytes):
    """(logits [tgt, n_vocab], cache) of src encoded and dec decoded."""
    n_src, n_tgt, m = len(src), len(dec), model._model()
    plan = _select(model.n_layer, names)
    params = {k: _params(k, layers, n_src, n_tgt, max_bytes) for k, layers in plan.items()}
    sizes = {k: lib.heed_capture_bytes(m, ctypes.byref(p)) for k, p in params.items()}
    need = 4 * n_tgt * model.n_vocab + sum(sizes.values())
    if need > max_bytes:
        raise Error(f"run_with_cache of {n_src} source and {n_tgt} decoder tokens needs "
                    f"{need / 2**20:.1f} MiB, above max_bytes ({max_bytes / 2**20:.1f} MiB): "
                    "keep fewer names")
    caps = {}
    out = np.empty((n_tgt, model.n_vocab), np.float32)
    ctx = model._context(max(n_src, n_tgt))
    try:
        for k, p in params.items():
            cap = ctypes.c_void_p()
            check(lib.heed_capture_new(m, ctypes.byref(p), ctypes.byref(cap)))
            caps[k] = cap
            lib.heed_context_set_capture(ctx, cap)
        check(lib.heed_context_encode(ctx, src.ctypes.data_as(ctypes.POINTER(ctypes.c_int32)),
                                      n_src))
        check(lib.heed_context_eval(ctx, dec.ctypes.data_as(ctypes.POINTER(ctypes.c_int32)),
                                    n_tgt, out.ctypes.data_as(ctypes.POINTER(ctypes.c_float)),
                                    True))
        cache = {}
        for kind, pattern in _KINDS:
            for l in plan.get(kind, ()):
                cap = caps[kind]
                n_q, n_k = (n_src if kind == _lib.ATTN_ENCODER else n_tgt), \
                    lib.heed_capture_n_keys(cap)
                a = np.empty((1, model.n_head, n_q, n_k), np.float32)
                for h in range(model.n_head):
                    for q in range(n_q):
                        row = ctypes.cast(lib.heed_capture_row(cap, l, h, q),
                                          ctypes.POINTER(ctypes.c_float))
                        a[0, h, q] = np.ctypeslib.as_array(row, (n_k,))
                a.flags.writeable = False
                cache[pattern.format(l)] = a
        return out, cache
    finally:
        lib.heed_context_set_capture(ctx, None)
        for cap in caps.values():
            lib.heed_capture_free(cap)
