"""ctypes declarations of the parts of include/heed.h the package uses.

The library is found, in this order:

1. ``$HEED_LIB``, a path to libheed.so;
2. ``build/libheed.so`` of the source tree this package sits in (after
   ``make``, for ``PYTHONPATH=python`` or running from ``python/``);
3. the copy ``pip install ./python`` put beside this file;
4. the system's (``ctypes.util.find_library("heed")``, after ``make install``
   and ``ldconfig``).
"""
import ctypes
import ctypes.util
import os
from ctypes import (POINTER, CFUNCTYPE, Structure, Union, c_bool, c_char_p, c_double,
                    c_float, c_int, c_int32, c_int64, c_size_t, c_uint, c_uint64, c_void_p)
from pathlib import Path


class Error(Exception):
    """A failure heed reported: the message is the library's (heed_last_error)."""

    __module__ = "heed"


def _candidates():
    if os.environ.get("HEED_LIB"):
        yield os.environ["HEED_LIB"]
        return
    here = Path(__file__).resolve().parent
    tree = here.parent.parent  # python/heed/ -> the repository root
    if (tree / "include" / "heed.h").is_file():
        yield str(tree / "build" / "libheed.so")
    yield str(here / "libheed.so")
    found = ctypes.util.find_library("heed")
    if found:
        yield found


def _load():
    tried = []
    for path in _candidates():
        if os.sep in path and not os.path.exists(path):
            tried.append(path + " (missing)")
            continue
        try:
            return ctypes.CDLL(path)
        except OSError as e:
            tried.append(f"{path} ({e})")
    raise ImportError("heed: cannot find libheed.so; build it with `make`, or set HEED_LIB "
                      "to its path. Tried: " + "; ".join(tried or ["nothing"]))


lib = _load()
ABI_VERSION = 5  # the HEED_ABI_VERSION these declarations are written for
lib.heed_abi_version.restype, lib.heed_abi_version.argtypes = c_int, []
if lib.heed_abi_version() != ABI_VERSION:
    raise ImportError(f"heed: {lib._name} has ABI {lib.heed_abi_version()}; this package needs "
                      f"ABI {ABI_VERSION} (rebuild libheed, or reinstall the package)")
libc = ctypes.CDLL(None)  # free() for what the library malloc'd
libc.free.argtypes = [c_void_p]
libc.free.restype = None
# a FILE * over memory, for the library's writers (POSIX open_memstream)
libc.open_memstream.argtypes = [POINTER(c_void_p), POINTER(c_size_t)]
libc.open_memstream.restype = c_void_p
libc.fclose.argtypes = [c_void_p]
libc.fclose.restype = c_int

# ------------------------------------------------------------------ structs


class ContextParams(Structure):
    _fields_ = [("n_ctx", c_int), ("n_threads", c_int), ("type_k", c_int), ("type_v", c_int)]


class CaptureParams(Structure):
    _fields_ = [("n_tokens", c_int), ("layers", POINTER(c_int)), ("n_layers", c_int),
                ("heads", POINTER(c_int)), ("n_heads", c_int), ("row_begin", c_int),
                ("row_end", c_int), ("top_k", c_int), ("npy_path", c_char_p),
                ("max_bytes", c_int64), ("kind", c_int), ("n_keys", c_int)]


ATTN_SELF, ATTN_ENCODER, ATTN_CROSS = 0, 1, 2  # heed_attn_kind


class QK(Structure):
    _fields_ = [("layer", c_int), ("n_q", c_int), ("n_kv", c_int), ("n_head", c_int),
                ("n_kv_head", c_int), ("head_dim", c_int), ("q_pos0", c_int64),
                ("q_stride", c_int64), ("kv_stride", c_int64), ("kv_head_stride", c_int64),
                ("q", c_void_p), ("k", c_void_p), ("scale", c_float), ("causal", c_bool),
                ("k_pos0", c_int64), ("window", c_int), ("softcap", c_float),
                ("sinks", c_void_p), ("kind", c_int), ("bias", c_void_p),
                ("bucket", c_void_p)]


QK_FN = CFUNCTYPE(None, c_void_p, POINTER(QK))


class SamplerParams(Structure):
    _fields_ = [("temp", c_float), ("top_k", c_int32), ("top_p", c_float), ("min_p", c_float),
                ("repeat_penalty", c_float), ("repeat_last_n", c_int32),
                ("frequency_penalty", c_float), ("presence_penalty", c_float),
                ("seed", c_uint64)]


class GenerateParams(Structure):
    _fields_ = [("sampler", SamplerParams), ("max_tokens", c_int),
                ("stops", POINTER(c_char_p)), ("n_stops", c_int), ("top_logprobs", c_int),
                ("lookup", c_int), ("ignore_eos", c_bool), ("logit_bias", c_void_p),
                ("n_logit_bias", c_int), ("n_cached", c_int), ("grammar", c_void_p),
                ("preserved", POINTER(c_int32)), ("n_preserved", c_int)]


class LogitBias(Structure):
    _fields_ = [("token", c_int32), ("bias", c_float)]


GEN_MAX_TOP = 20


class GenToken(Structure):
    _fields_ = [("id", c_int32), ("logprob", c_float), ("n_top", c_int),
                ("top_ids", c_int32 * GEN_MAX_TOP), ("top_logprobs", c_float * GEN_MAX_TOP)]


# heed_gen_finish
GEN_FINISH = {0: None, 1: "eog", 2: "stop", 3: "length", 4: "context_full", 5: "error"}


class Activation(Structure):
    _fields_ = [("point", c_int), ("layer", c_int), ("pos0", c_int), ("n", c_int),
                ("width", c_int), ("data", c_void_p)]


HOOK_FN = CFUNCTYPE(None, c_void_p, POINTER(Activation))
# heed_hook_point
(HOOK_RESID_PRE, HOOK_Q, HOOK_K, HOOK_V, HOOK_Z, HOOK_ATTN_OUT, HOOK_RESID_MID, HOOK_MLP_OUT,
 HOOK_RESID_POST, HOOK_LN_FINAL) = range(10)


class Attribution(Structure):
    _fields_ = [("token", c_int32), ("foil", c_int32), ("position", c_int), ("logit", c_double),
                ("model_logit", c_double), ("total", c_double), ("embed", c_double),
                ("bias", c_double), ("steer", c_double), ("heads", POINTER(c_double)),
                ("mlp", POINTER(c_double)), ("scale", c_double)]


class GGUFTensor(Structure):
    _fields_ = [("name", c_char_p), ("type", c_int), ("n_dims", c_int), ("ne", c_int64 * 4),
                ("offset", c_uint64), ("nbytes", c_uint64), ("data", c_void_p)]


TYPE_F32 = 0  # heed_type


class HeadStats(Structure):
    _fields_ = [("entropy", c_double), ("prev_token", c_double), ("sink", c_double),
                ("self", c_double), ("induction", c_double)]


class CaptureDoc(Structure):
    _fields_ = [("m", c_void_p), ("v", c_void_p), ("cap", c_void_p), ("ids", POINTER(c_int32)),
                ("n", c_int), ("n_prompt", c_int), ("row_begin", c_int), ("row_end", c_int),
                ("top_k", c_int), ("enc", c_void_p), ("cross", c_void_p),
                ("src", POINTER(c_int32)), ("n_src", c_int)]


class GGUFStr(Structure):
    _fields_ = [("ptr", c_void_p), ("len", c_uint64)]


class GGUFValue(Structure):
    pass


class _GGUFArr(Structure):
    _fields_ = [("type", c_int), ("n", c_uint64), ("data", c_void_p),
                ("strs", POINTER(GGUFStr)), ("items", POINTER(GGUFValue))]


class _GGUFUnion(Union):
    _fields_ = [("u", c_uint64), ("i", c_int64), ("f", c_double), ("b", c_bool),
                ("str", GGUFStr), ("arr", _GGUFArr)]


GGUFValue._fields_ = [("type", c_int), ("v", _GGUFUnion)]

# heed_gguf_type ids
GGUF_UINT8, GGUF_INT8, GGUF_UINT16, GGUF_INT16, GGUF_UINT32, GGUF_INT32 = range(6)
GGUF_FLOAT32, GGUF_BOOL, GGUF_STRING, GGUF_ARRAY = 6, 7, 8, 9
GGUF_UINT64, GGUF_INT64, GGUF_FLOAT64 = 10, 11, 12

# ------------------------------------------------------------------ functions

_P = POINTER
_VP = POINTER(c_void_p)
_SIGS = {
    "heed_last_error": (c_char_p, []),
    "heed_status_name": (c_char_p, [c_int]),
    "heed_model_load": (c_int, [c_char_p, _VP]),
    "heed_model_free": (None, [c_void_p]),
    "heed_model_arch": (c_char_p, [c_void_p]),
    "heed_model_gguf": (c_void_p, [c_void_p]),
    "heed_model_n_vocab": (c_int32, [c_void_p]),
    "heed_model_n_embd": (c_int, [c_void_p]),
    "heed_model_n_layer": (c_int, [c_void_p]),
    "heed_model_n_head": (c_int, [c_void_p]),
    "heed_model_n_ctx_train": (c_int, [c_void_p]),
    "heed_model_is_encoder": (c_bool, [c_void_p]),
    "heed_model_pooling": (c_int, [c_void_p]),
    "heed_model_decoder_start": (c_int32, [c_void_p]),
    "heed_context_default_params": (ContextParams, []),
    "heed_context_new": (c_int, [c_void_p, _P(ContextParams), _VP]),
    "heed_context_free": (None, [c_void_p]),
    "heed_context_eval": (c_int, [c_void_p, _P(c_int32), c_int, _P(c_float), c_bool]),
    "heed_context_embed": (c_int, [c_void_p, _P(c_int32), c_int, c_int, _P(c_float)]),
    "heed_context_encode": (c_int, [c_void_p, _P(c_int32), c_int]),
    "heed_context_n_ctx": (c_int, [c_void_p]),
    "heed_context_reset": (None, [c_void_p]),
    "heed_context_set_capture": (None, [c_void_p, c_void_p]),
    "heed_context_set_qk_tap": (None, [c_void_p, QK_FN, c_void_p]),
    "heed_context_set_residual": (None, [c_void_p, _P(c_float), c_int, c_int]),
    "heed_context_set_hook": (None, [c_void_p, c_uint, HOOK_FN, c_void_p]),
    "heed_context_lens": (c_int, [c_void_p, _P(c_float), _P(c_float)]),
    "heed_capture_default_params": (CaptureParams, [c_int]),
    "heed_capture_bytes": (c_int64, [c_void_p, _P(CaptureParams)]),
    "heed_capture_new": (c_int, [c_void_p, _P(CaptureParams), _VP]),
    "heed_capture_free": (None, [c_void_p]),
    "heed_capture_n_keys": (c_int, [c_void_p]),
    "heed_capture_kind": (c_int, [c_void_p]),
    "heed_capture_row": (c_void_p, [c_void_p, c_int, c_int, c_int]),
    "heed_context_capture": (c_int, [c_void_p, _P(c_int32), c_int, c_int64, _VP]),
    "heed_capture_write_json": (c_int, [c_void_p, _P(CaptureDoc)]),
    "heed_capture_head_stats": (c_int, [c_void_p, c_int, c_int, _P(c_int32), c_int,
                                        _P(HeadStats)]),
    "heed_vocab_load": (c_int, [c_void_p, _VP]),
    "heed_vocab_free": (None, [c_void_p]),
    "heed_tokenize": (c_int, [c_void_p, c_char_p, c_size_t, c_bool, c_bool,
                              _P(_P(c_int32)), _P(c_size_t)]),
    "heed_detokenize": (c_int, [c_void_p, _P(c_int32), c_size_t, c_bool, c_bool,
                                _VP, _P(c_size_t)]),
    "heed_token_to_piece": (c_void_p, [c_void_p, c_int32, c_bool, _P(c_size_t)]),
    "heed_gguf_n_kv": (c_int64, [c_void_p]),
    "heed_gguf_kv_key": (c_char_p, [c_void_p, c_int64]),
    "heed_gguf_kv_value": (_P(GGUFValue), [c_void_p, c_int64]),
    "heed_gguf_get_int": (c_int, [c_void_p, c_char_p, _P(c_int64)]),
    "heed_gguf_open": (c_int, [c_char_p, _VP]),
    "heed_gguf_close": (None, [c_void_p]),
    "heed_gguf_n_tensors": (c_int64, [c_void_p]),
    "heed_gguf_tensor_at": (_P(GGUFTensor), [c_void_p, c_int64]),
    "heed_gguf_get_str": (c_int, [c_void_p, c_char_p, _P(GGUFStr)]),
    "heed_gguf_writer_new": (c_int, [_VP]),
    "heed_gguf_writer_free": (None, [c_void_p]),
    "heed_gguf_writer_set_str": (c_int, [c_void_p, c_char_p, c_char_p]),
    "heed_gguf_writer_set_i32": (c_int, [c_void_p, c_char_p, c_int32]),
    "heed_gguf_writer_add_tensor": (c_int, [c_void_p, c_char_p, c_int, c_int, _P(c_int64),
                                            c_void_p]),
    "heed_gguf_writer_write": (c_int, [c_void_p, c_char_p]),
    "heed_edits_new": (c_int, [c_void_p, _VP]),
    "heed_edits_free": (None, [c_void_p]),
    "heed_edits_clear": (None, [c_void_p]),
    "heed_edits_patch": (c_int, [c_void_p, c_int, c_int, c_int, c_int, _P(c_float)]),
    "heed_edits_ablate_head": (c_int, [c_void_p, c_int, c_int, _P(c_float)]),
    "heed_context_set_edits": (c_int, [c_void_p, c_void_p]),
    "heed_context_mean_activation": (c_int, [c_void_p, c_int, _P(c_int32), c_int,
                                             _P(c_float)]),
    "heed_context_attribute": (c_int, [c_void_p, _P(c_int32), c_int, c_int32, c_int32,
                                       _P(Attribution)]),
    "heed_attribution_free": (None, [_P(Attribution)]),
    "heed_generate_default_params": (GenerateParams, []),
    "heed_context_set_steering": (c_int, [c_void_p, _P(c_float), c_int, c_int]),
    "heed_control_vector_add": (c_int, [c_char_p, c_float, c_int, c_int, _P(c_float)]),
    "heed_generator_new": (c_int, [c_void_p, c_void_p, _P(c_int32), c_int, _P(GenerateParams),
                                   _VP]),
    "heed_generator_free": (None, [c_void_p]),
    "heed_generator_step": (c_bool, [c_void_p, _P(c_void_p), _P(c_size_t), _P(GenToken)]),
    "heed_generator_stop": (None, [c_void_p, _P(c_void_p), _P(c_size_t)]),
    "heed_generator_finish": (c_int, [c_void_p]),
    "heed_generator_status": (c_int, [c_void_p]),
    "heed_grammar_new": (c_int, [c_void_p, c_char_p, c_char_p, _VP]),
    "heed_grammar_from_json_schema": (c_int, [c_void_p, c_char_p, _VP]),
    "heed_grammar_free": (None, [c_void_p]),
    "heed_template_render": (c_int, [c_char_p, c_char_p, _VP, _P(c_size_t)]),
    "heed_chat_context": (c_int, [c_void_p, c_char_p, c_char_p, c_bool, c_char_p, _VP]),
}
for _name, (_res, _args) in _SIGS.items():
    _f = getattr(lib, _name)
    _f.restype, _f.argtypes = _res, _args

del _name, _res, _args, _f


def check(status):
    """Raises Error with the library's message unless status is HEED_OK."""
    if status:
        msg = lib.heed_last_error().decode("utf-8", "replace")
        name = lib.heed_status_name(status).decode()
        raise Error(msg or name)
