"""heed.Model: a GGUF model loaded by libheed, with numpy in and out."""
import ctypes
import json
import os
from functools import cached_property

import numpy as np

from . import _lib, encoder_decoder
from ._lib import Error, check, lib
from .control_vector import ControlVector

_POOLING = {"none": 0, "mean": 1, "cls": 2, "last": 3}
_INT32 = np.iinfo(np.int32)
DEFAULT_MAX_BYTES = 1 << 30  # as `heed attend --max-mib 1024`

# The TransformerLens hooks run_with_cache fills, per block: the source a
# run must switch on for it, and how its [1, ...] array is read from the
# run's buffers (a `_Run`). To add a name, add its line here (and, for a new
# kind of source, its tap in Model._run).
_BLOCK_HOOKS = {
    "hook_resid_pre": ("residual", lambda run, l: run.residual[None, :, l]),
    "attn.hook_q": ("qk", lambda run, l: run.q[l][None]),
    "attn.hook_k": ("qk", lambda run, l: run.k[l][None]),
    "attn.hook_v": (_lib.HOOK_V, lambda run, l: run.act[_lib.HOOK_V, l][None]),
    "attn.hook_pattern": ("capture", lambda run, l: run.pattern[l][None]),
    "attn.hook_z": (_lib.HOOK_Z, lambda run, l: run.act[_lib.HOOK_Z, l][None]),
    "hook_attn_out": (_lib.HOOK_ATTN_OUT, lambda run, l: run.act[_lib.HOOK_ATTN_OUT, l][None]),
    "hook_resid_mid": (_lib.HOOK_RESID_MID, lambda run, l: run.act[_lib.HOOK_RESID_MID, l][None]),
    "hook_mlp_out": (_lib.HOOK_MLP_OUT, lambda run, l: run.act[_lib.HOOK_MLP_OUT, l][None]),
    "hook_resid_post": ("residual", lambda run, l: run.residual[None, :, l + 1]),
}
# The one hook outside the blocks: the final norm's output, [1, pos, d_model].
LN_FINAL = "ln_final.hook_normalized"
# libheed's activation hook points (heed_hook_point), which run_with_hooks
# hands to Python and logits(patch=) edits: every block hook but
# hook_pattern, which the attention operator never materialises.
_POINTS = {
    "hook_resid_pre": _lib.HOOK_RESID_PRE,
    "attn.hook_q": _lib.HOOK_Q,
    "attn.hook_k": _lib.HOOK_K,
    "attn.hook_v": _lib.HOOK_V,
    "attn.hook_z": _lib.HOOK_Z,
    "hook_attn_out": _lib.HOOK_ATTN_OUT,
    "hook_resid_mid": _lib.HOOK_RESID_MID,
    "hook_mlp_out": _lib.HOOK_MLP_OUT,
    "hook_resid_post": _lib.HOOK_RESID_POST,
}


class HookPoint:
    """What a run_with_hooks hook gets besides the activation: ``name``
    (its TransformerLens name), ``layer()`` (the block; n_layer for
    ln_final.hook_normalized) and ``pos0``, the position of the
    activation's row 0 in this call (a long input comes in batches)."""

    __slots__ = ("name", "_layer", "pos0")

    def __init__(self, name, layer, pos0):
        self.name, self._layer, self.pos0 = name, layer, pos0

    def layer(self):
        return self._layer

    def __repr__(self):
        return f"HookPoint({self.name!r}, pos0={self.pos0})"


class _Owned:
    """float32 memory libheed owns (a capture's rows), seen by numpy without
    a copy, read-only; freed when the last array viewing it goes."""

    def __init__(self, ptr, free, addr, shape):
        self._ptr, self._free = ptr, free
        self.__array_interface__ = {"data": (addr, True), "shape": shape, "typestr": "<f4",
                                    "version": 3}

    def __del__(self):
        self._free(self._ptr)


class _Run:
    """The buffers one evaluation fills (what run_with_cache asked for)."""
    residual = None  # [pos, n_layer + 1, d_model]
    q = k = pattern = None  # {layer: array}
    act = None  # {(hook point, layer): [pos, width]} from the activation hooks


def _decode(ptr, n):
    return ctypes.string_at(ptr, n).decode("utf-8", "surrogateescape") if n else ""


_NUMPY = {_lib.GGUF_UINT8: "<u1", _lib.GGUF_INT8: "<i1", _lib.GGUF_UINT16: "<u2",
          _lib.GGUF_INT16: "<i2", _lib.GGUF_UINT32: "<u4", _lib.GGUF_INT32: "<i4",
          _lib.GGUF_FLOAT32: "<f4", _lib.GGUF_BOOL: "?", _lib.GGUF_UINT64: "<u8",
          _lib.GGUF_INT64: "<i8", _lib.GGUF_FLOAT64: "<f8"}


def _gguf_value(v):
    """A GGUF metadata value as Python: int, float, bool, str, a numpy array
    (arrays of numbers), or a list (of strings, or of nested arrays)."""
    t = v.type
    if t in (_lib.GGUF_UINT8, _lib.GGUF_UINT16, _lib.GGUF_UINT32, _lib.GGUF_UINT64):
        return v.v.u
    if t in (_lib.GGUF_INT8, _lib.GGUF_INT16, _lib.GGUF_INT32, _lib.GGUF_INT64):
        return v.v.i
    if t in (_lib.GGUF_FLOAT32, _lib.GGUF_FLOAT64):
        return v.v.f
    if t == _lib.GGUF_BOOL:
        return v.v.b
    if t == _lib.GGUF_STRING:
        return _decode(v.v.str.ptr, v.v.str.len)
    a = v.v.arr
    if a.type == _lib.GGUF_STRING:
        return [_decode(a.strs[i].ptr, a.strs[i].len) for i in range(a.n)]
    if a.type == _lib.GGUF_ARRAY:
        return [_gguf_value(a.items[i]) for i in range(a.n)]
    dtype = np.dtype(_NUMPY[a.type])
    return np.frombuffer(ctypes.string_at(a.data, a.n * dtype.itemsize), dtype).copy()


class Model:
    """A model loaded by libheed from a GGUF file (or a llama2.c ``.bin``).

    ``n_ctx``: the most positions one call may evaluate. ``None`` sizes the
    KV cache to each input (up to the model's training context, as the CLI
    does); a number makes the cache now, for that many positions.
    ``n_threads``: 0 uses every core. The KV cache keeps keys and values in
    f16, libheed's default (the CLI's too, so results equal its).

    A Model is not thread-safe: use one per thread.
    """

    def __init__(self, path, n_ctx=None, n_threads=0):
        if not isinstance(path, (str, bytes)) and not hasattr(path, "__fspath__"):
            raise TypeError(f"path: expected a str or os.PathLike, not {type(path).__name__}")
        if n_ctx is not None and (not isinstance(n_ctx, int) or isinstance(n_ctx, bool)):
            raise TypeError(f"n_ctx: expected an int or None, not {type(n_ctx).__name__}")
        if not isinstance(n_threads, int) or isinstance(n_threads, bool):
            raise TypeError(f"n_threads: expected an int, not {type(n_threads).__name__}")
        if n_ctx is not None and not 1 <= n_ctx <= _INT32.max:
            raise Error(f"n_ctx {n_ctx}: want 1 to {_INT32.max} positions")
        if not 0 <= n_threads <= 4096:
            raise Error(f"n_threads {n_threads}: want 0 (every core) to 4096")
        self._m = self._ctx = self._vocab = None
        self._ctx_n, self._ctx_default = 0, False
        self.path = os.fsdecode(path)
        m = ctypes.c_void_p()
        check(lib.heed_model_load(self.path.encode("utf-8", "surrogateescape"),
                                  ctypes.byref(m)))
        self._m = m
        self._fixed = n_ctx is not None
        self._n_threads = n_threads
        if self._fixed:
            self._new_context(n_ctx)

    # ------------------------------------------------------------ lifetime

    def close(self):
        """Frees the model and its context now (the object is unusable after)."""
        if getattr(self, "_ctx", None):
            lib.heed_context_free(self._ctx)
            self._ctx = None
        if getattr(self, "_vocab", None):
            lib.heed_vocab_free(self._vocab)
            self._vocab = None
        if getattr(self, "_m", None):
            lib.heed_model_free(self._m)
            self._m = None

    __del__ = close

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self):
        if not self._m:
            return f"heed.Model({self.path!r}, closed)"
        return (f"heed.Model({self.path!r}: {self.arch}, {self.n_layer} layers, "
                f"{self.n_head} heads, d_model {self.n_embd}, {self.n_vocab} tokens)")

    def _model(self):
        if not self._m:
            raise Error("the model is closed")
        return self._m

    # ------------------------------------------------------ hyperparameters

    @property
    def arch(self):
        """The architecture, as GGUF names it ("llama", "qwen2", "bert", ...)."""
        return lib.heed_model_arch(self._model()).decode()

    @property
    def n_layer(self):
        return lib.heed_model_n_layer(self._model())

    @property
    def n_head(self):
        return lib.heed_model_n_head(self._model())

    @property
    def n_embd(self):
        """The width of the residual stream (TransformerLens's d_model)."""
        return lib.heed_model_n_embd(self._model())

    @property
    def n_vocab(self):
        return lib.heed_model_n_vocab(self._model())

    @property
    def n_ctx_train(self):
        return lib.heed_model_n_ctx_train(self._model())

    @property
    def is_encoder(self):
        """True for encoders (bert): they embed text and have no logits."""
        return lib.heed_model_is_encoder(self._model())

    @property
    def decoder_start(self):
        """An encoder-decoder's (t5) decoder start token, else None."""
        start = lib.heed_model_decoder_start(self._model())
        return None if start < 0 else start

    @property
    def is_encoder_decoder(self):
        """True for encoder-decoders (t5): a source is encoded, then the
        decoder evaluates its own tokens (run_with_cache(decoder_input=))."""
        return self.decoder_start is not None

    @cached_property
    def _attn_shape(self):
        # (n_kv_head, d_head): from the GGUF keys the loader reads, with its
        # defaults; a llama2.c checkpoint has none, so one token is run and
        # the qk tap reports what the attention saw.
        g = lib.heed_model_gguf(self._model())
        if g:
            def key(name, default):
                out = ctypes.c_int64()
                st = lib.heed_gguf_get_int(g, f"{self.arch}.{name}".encode(), ctypes.byref(out))
                return out.value if st == 0 else default
            n_kv = key("attention.head_count_kv", self.n_head)
            return n_kv, key("attention.key_length", self.n_embd // self.n_head)
        seen = []
        tap = _lib.QK_FN(lambda user, qk: seen.append((qk[0].n_kv_head, qk[0].head_dim)))
        ctx = self._context(1)
        lib.heed_context_set_qk_tap(ctx, tap, None)
        try:
            check(lib.heed_context_eval(ctx, (ctypes.c_int32 * 1)(0), 1, None, False))
        finally:
            lib.heed_context_set_qk_tap(ctx, _lib.QK_FN(), None)
        return seen[0]

    @property
    def n_kv_head(self):
        """Key/value heads (fewer than n_head with grouped-query attention):
        query head h reads kv head h // (n_head // n_kv_head)."""
        return self._attn_shape[0]

    @property
    def d_head(self):
        return self._attn_shape[1]

    @cached_property
    def metadata(self):
        """The GGUF file's metadata keys and values, as a dict (read once,
        on first use; empty for a llama2.c checkpoint). Strings are decoded
        as UTF-8 with surrogateescape; numeric arrays are numpy arrays."""
        g = lib.heed_model_gguf(self._model())
        if not g:
            return {}
        return {lib.heed_gguf_kv_key(g, i).decode("utf-8", "surrogateescape"):
                _gguf_value(lib.heed_gguf_kv_value(g, i)[0])
                for i in range(lib.heed_gguf_n_kv(g))}

    # ------------------------------------------------------------ tokens

    def _vocabulary(self):
        if not self._vocab:
            g = lib.heed_model_gguf(self._model())
            if not g:
                raise Error(f"{self.path}: llama2.c checkpoints carry no tokenizer; give "
                            "token ids")
            v = ctypes.c_void_p()
            check(lib.heed_vocab_load(g, ctypes.byref(v)))
            self._vocab = v
        return self._vocab

    def tokenize(self, text, add_special=True, parse_special=False):
        """The token ids of text (a str, or bytes), as llama.cpp gives them.

        add_special adds BOS/EOS (SEP for bert) as the vocabulary asks;
        parse_special matches control tokens written in the text."""
        if isinstance(text, str):
            text = text.encode("utf-8", "surrogateescape")
        if not isinstance(text, bytes):
            raise TypeError(f"text: expected str or bytes, not {type(text).__name__}")
        ids, n = ctypes.POINTER(ctypes.c_int32)(), ctypes.c_size_t()
        check(lib.heed_tokenize(self._vocabulary(), text, len(text), bool(add_special),
                                bool(parse_special), ctypes.byref(ids), ctypes.byref(n)))
        try:
            return ids[:n.value]
        finally:
            _lib.libc.free(ids)

    def detokenize(self, ids, remove_special=False, unparse_special=True):
        """Token ids back to text, as `heed detokenize` (llama.cpp's
        llama_detokenize) gives it."""
        arr = self._ids(ids, allow_empty=True)
        text, n = ctypes.c_void_p(), ctypes.c_size_t()
        check(lib.heed_detokenize(self._vocabulary(), _ptr(arr, ctypes.c_int32), len(arr),
                                  bool(remove_special), bool(unparse_special),
                                  ctypes.byref(text), ctypes.byref(n)))
        try:
            return ctypes.string_at(text.value, n.value).decode("utf-8", "replace")
        finally:
            _lib.libc.free(text)

    def apply_chat_template(self, messages, tools=None, add_generation_prompt=True,
                            chat_template=None, **kwargs):
        """The prompt text of a chat, as Hugging Face's
        apply_chat_template(messages, tools, add_generation_prompt=...,
        tokenize=False) renders it with the model's own template
        (tokenizer.chat_template) or chat_template, a Jinja text; kwargs are
        more variables for the template (enable_thinking=False, ...).
        bos_token and eos_token are the model's."""
        if chat_template is None:
            g, s = lib.heed_model_gguf(self._model()), _lib.GGUFStr()
            if not g or lib.heed_gguf_get_str(g, b"tokenizer.chat_template", ctypes.byref(s)):
                raise Error(f"{self.path} has no chat template (tokenizer.chat_template); "
                            "give one as chat_template")
            chat_template = ctypes.string_at(s.ptr, s.len)
        elif isinstance(chat_template, str):
            chat_template = chat_template.encode("utf-8")

        def dumps(x):
            return None if x is None else json.dumps(x).encode()

        ctx, out, n = ctypes.c_void_p(), ctypes.c_void_p(), ctypes.c_size_t()
        check(lib.heed_chat_context(self._vocabulary(), dumps(list(messages)),
                                    dumps(None if tools is None else list(tools)),
                                    bool(add_generation_prompt), dumps(kwargs or None),
                                    ctypes.byref(ctx)))
        try:
            check(lib.heed_template_render(chat_template, ctypes.string_at(ctx.value),
                                          ctypes.byref(out), ctypes.byref(n)))
        finally:
            _lib.libc.free(ctx)
        try:
            return ctypes.string_at(out.value, n.value).decode("utf-8")
        finally:
            _lib.libc.free(out)

    def to_str_tokens(self, text_or_ids):
        """The text of each token (control tokens as written, e.g. "<s>");
        a token that is part of a UTF-8 character shows U+FFFD."""
        v = self._vocabulary()
        n = ctypes.c_size_t()
        out = []
        for i in self._ids(text_or_ids):
            p = lib.heed_token_to_piece(v, int(i), True, ctypes.byref(n))
            if not p:
                raise Error(f"token id {i} is out of range (the vocabulary has "
                            f"{self.n_vocab} tokens)")
            out.append(ctypes.string_at(p, n.value).decode("utf-8", "replace"))
        return out

    def _ids(self, x, allow_empty=False):
        """text (tokenized with special tokens) or ids -> a C-contiguous int32
        array. Ids outside [0, n_vocab) are left to the library to refuse."""
        if isinstance(x, str):
            x = self.tokenize(x)
        elif isinstance(x, (bytes, bytearray, dict)) or x is None:
            raise TypeError(f"expected text or a sequence of token ids, not {type(x).__name__}")
        arr = np.asarray(x)
        if arr.ndim == 2 and arr.shape[0] == 1:  # a batch of one, as TransformerLens's tokens
            arr = arr[0]
        if arr.ndim != 1 or (arr.size and arr.dtype.kind not in "iu"):
            raise TypeError("expected text or a 1-D sequence of int token ids, not "
                            f"{arr.ndim}-D {arr.dtype}")
        if not arr.size and not allow_empty:
            raise Error("no tokens to evaluate")
        if arr.size and (arr.min() < _INT32.min or arr.max() > _INT32.max):
            bad = arr.min() if arr.min() < _INT32.min else arr.max()
            raise Error(f"token id {bad} is out of range (the vocabulary has {self.n_vocab} "
                        "tokens)")
        return np.ascontiguousarray(arr, dtype=np.int32)

    # ----------------------------------------------------------- running

    def _new_context(self, n_ctx):
        if self._ctx:
            lib.heed_context_free(self._ctx)
            self._ctx, self._ctx_n = None, 0
        p = lib.heed_context_default_params()
        p.n_ctx, p.n_threads = n_ctx, self._n_threads
        ctx = ctypes.c_void_p()
        check(lib.heed_context_new(self._model(), ctypes.byref(p), ctypes.byref(ctx)))
        self._ctx, self._ctx_n = ctx, lib.heed_context_n_ctx(ctx)
        self._ctx_default = n_ctx == 0

    def _context(self, n):
        """An empty context for n positions, with no steering or edits (what
        a call sets, it clears; this makes sure of it)."""
        if not self._fixed and (not self._ctx or self._ctx_n < n):
            self._new_context(n)
        lib.heed_context_reset(self._ctx)
        check(lib.heed_context_set_steering(self._ctx, None, 0, 0))
        check(lib.heed_context_set_edits(self._ctx, None))
        return self._ctx

    def _out_width(self):
        return self.n_embd if self.is_encoder else self.n_vocab

    def _eval(self, ids, out, fresh=True):
        """Evaluates ids into out: in a fresh context, or (fresh False) in
        the current one as the caller set it up (a _run's taps and edits)."""
        ctx = self._context(len(ids)) if fresh else self._ctx
        if self.is_encoder:
            check(lib.heed_context_embed(ctx, _ptr(ids, ctypes.c_int32), len(ids), 0,
                                         _ptr(out, ctypes.c_float)))
        else:
            check(lib.heed_context_eval(ctx, _ptr(ids, ctypes.c_int32), len(ids),
                                        _ptr(out, ctypes.c_float), True))

    def logits(self, text_or_ids, *, ablate=(), ablate_mean=None, patch=None, steer=None):
        """The logits of every position, one batch: float32 [n_tokens, n_vocab]
        (`heed logits`'s numbers). Text is tokenized with special tokens.

        Interventions (libheed's heed_edits and steering; none by default,
        and none left set after the call):

        ablate: [(layer, head), ...] (or one pair): each head's output
          (its slice of attn.hook_z, before W_O) at every position becomes
          zeros, or, with ablate_mean (a reference text or ids), its mean
          over that text (heed_context_mean_activation, run without any of
          this call's interventions).
        patch: {key: values}, the activation at a hook point replaced:
          key "blocks.{l}.hook_resid_pre" (or attn.hook_q/k/v/z,
          hook_attn_out, hook_resid_mid, hook_mlp_out, hook_resid_post,
          ln_final.hook_normalized): values shaped as run_with_cache gives
          them, [1, pos, ...] or [pos, ...], patch positions 0..pos-1;
          key (name, pos): one position's values (d_model, or [head,
          d_head]; leading 1s allowed) at pos (negative: from the end;
          None: every position); key (name, pos, head): one head's d_head
          floats of q, k, v or z. Patches apply after ablations.
        steer: added to the residual stream at the output of block layer
          (as llama.cpp's control vectors, heed_context_set_steering): a
          list of (layer, vector[, scale]) with vector of d_model, and of
          heed.ControlVector or (ControlVector, scale), all summed; or one
          ControlVector.

        Bad names, shapes, layers or heads raise ValueError naming them."""
        ids = self._ids(text_or_ids)
        if self.is_encoder:
            raise Error(f"'{self.arch}' is an encoder: it has no logits (use embed)")
        out = np.empty((len(ids), self.n_vocab), np.float32)
        if not ablate and ablate_mean is None and not patch and steer is None:
            self._eval(ids, out)
            return out
        self._run(ids, out, interventions=(ablate, ablate_mean, patch, steer))
        return out

    def run_with_hooks(self, text_or_ids, fwd_hooks=(), *, ablate=(), ablate_mean=None,
                       patch=None, steer=None):
        """Runs one sequence with Python functions at hook points, as
        TransformerLens's run_with_hooks: returns logits [1, pos, vocab]
        (an encoder's hidden states [1, pos, d_model]).

        fwd_hooks: [(name, fn), ...], name a hook name (hook_names(), but
        attn.hook_pattern, which is not a hook point here: libheed's
        attention never holds the whole pattern; change attn.hook_z or
        ablate heads instead) or a predicate on names. fn(activation, hook)
        gets a float32 numpy view of libheed's buffer, shaped as
        TransformerLens shapes it: [1, n, d_model] for hook_resid_pre/mid/
        post, hook_attn_out, hook_mlp_out and ln_final.hook_normalized;
        [1, n, n_head, d_head] for attn.hook_q and hook_z; [1, n,
        n_kv_head, d_head] for attn.hook_k and hook_v (k before the KV
        cache rounds it). hook.name is the name, hook.layer() the block,
        hook.pos0 the position of row 0. fn may change the array in place
        or return an array of its shape, which replaces it; the pass goes
        on with those values. The view is valid only during the call (copy
        it to keep it).

        A long input is evaluated in batches (256 tokens), so fn is called
        once per batch with n its rows, at positions pos0..pos0+n-1; short
        inputs come whole (n = pos). Several hooks on one name run in the
        order given. An exception in fn is raised again here once the
        evaluation ends (no later hook runs). ablate, ablate_mean, patch,
        steer: as logits'; the edits apply before the hooks see the rows."""
        ids = self._ids(text_or_ids)
        fwd = self._hooks(fwd_hooks)
        out = np.empty((len(ids), self._out_width()), np.float32)
        self._run(ids, out, interventions=(ablate, ablate_mean, patch, steer), fwd=fwd)
        return out[None]

    def embed(self, text_or_ids, pooling=None, normalize=False):
        """An encoder's embedding: float32 [n_embd], or [n_tokens, n_embd]
        with pooling="none". pooling: "none", "mean", "cls", "last", or None
        for the model's own (its GGUF pooling_type). normalize: scale each
        row to unit length (`heed embed` does unless --no-normalize)."""
        ids = self._ids(text_or_ids)
        if pooling is None:
            mode = lib.heed_model_pooling(self._model())
        elif pooling in _POOLING:
            mode = _POOLING[pooling]
        else:
            raise Error(f"pooling {pooling!r}: want one of {', '.join(_POOLING)} or None")
        out = np.empty((len(ids) if mode == 0 else 1, self.n_embd), np.float32)
        ctx = self._context(len(ids))
        check(lib.heed_context_embed(ctx, _ptr(ids, ctypes.c_int32), len(ids), mode,
                                     _ptr(out, ctypes.c_float)))
        if normalize:
            out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)
        return out if mode == 0 else out[0]

    def logit_lens(self, text_or_ids, max_bytes=DEFAULT_MAX_BYTES):
        """The logit lens: the output head (final norm, then unembedding)
        applied to the residual stream at every position, before the first
        block and after each: float32 [n_layer + 1, n_tokens, n_vocab];
        entry 0 is the embeddings', entry l + 1 the stream's after block l
        (so the last equals .logits, up to rounding)."""
        ids = self._ids(text_or_ids)
        if self.is_encoder:
            raise Error(f"'{self.arch}' is an encoder: it has no output head for a lens")
        n, L, V = len(ids), self.n_layer, self.n_vocab
        need = 4 * n * (L + 1) * (V + self.n_embd) + 4 * n * V
        if need > max_bytes:
            raise Error(f"logit_lens of {n} tokens needs {need / 2**20:.1f} MiB, above "
                        f"max_bytes ({max_bytes / 2**20:.1f} MiB)")
        run = self._run(ids, np.empty((n, V), np.float32), residual=True)
        lens = np.empty((L + 1, n, V), np.float32)
        for l in range(L + 1):
            for t in range(n):
                check(lib.heed_context_lens(self._ctx, _ptr(run.residual[t, l], ctypes.c_float),
                                            _ptr(lens[l, t], ctypes.c_float)))
        return lens

    def _token(self, what, t):
        """A token id: an int, or text that is exactly one token."""
        if isinstance(t, str):
            ids = self.tokenize(t, add_special=False)
            if len(ids) != 1:
                raise ValueError(f"{what} {t!r} is {len(ids)} tokens, not one: give one token's "
                                 f"text or its id")
            return int(ids[0])
        t = _int_arg(what, t)
        if not 0 <= t < self.n_vocab:
            raise ValueError(f"{what} {t} is out of range (the vocabulary has {self.n_vocab})")
        return t

    def attribute(self, text_or_ids, token=None, foil=None):
        """Direct logit attribution at the last position: the logit of token
        (the model's top one by default; an id or one token's text), minus
        foil's if given, split into what each part wrote into the residual
        stream, through the final norm with its scale frozen (libheed's
        heed_context_attribute; as `heed attribute`). A dict: "heads"
        float64 [n_layer, n_head], "mlp" [n_layer], "embed", "bias",
        "steer", their sum "total", "logit" (the output row · the final
        norm's output, which the parts sum to), "model_logit" (the model's
        own, rounded as it computes), "token", "foil"."""
        ids = self._ids(text_or_ids)
        if self.is_encoder:
            raise Error(f"'{self.arch}' is an encoder: it has no logits to attribute")
        if token is None:
            token = int(np.argmax(self.logits(ids)[-1]))
        token = self._token("token", token)
        foil = -1 if foil is None else self._token("foil", foil)
        ctx = self._context(len(ids))
        a = _lib.Attribution()
        check(lib.heed_context_attribute(ctx, _ptr(ids, ctypes.c_int32), len(ids), token, foil,
                                         ctypes.byref(a)))
        try:
            L, H = self.n_layer, self.n_head
            heads = np.ctypeslib.as_array(a.heads, shape=(L * H,)).reshape(L, H).copy()
            mlp = np.ctypeslib.as_array(a.mlp, shape=(L,)).copy()
            return {"token": token, "foil": None if foil < 0 else foil, "logit": a.logit,
                    "model_logit": a.model_logit, "total": a.total, "embed": a.embed,
                    "bias": a.bias, "steer": a.steer, "heads": heads, "mlp": mlp}
        finally:
            lib.heed_attribution_free(ctypes.byref(a))

    # ------------------------------------------------------------ heads

    def heads(self, text_or_ids, max_bytes=DEFAULT_MAX_BYTES):
        """What every attention head does on this input, as `heed heads`
        measures it (libheed's heed_capture_head_stats): a structured numpy
        array of n_layer × n_head rows (layer, head, entropy, prev_token,
        sink, self, induction), layer-major. entropy is the mean of -Σ w ln w
        (nats); the others are mean weights on the previous token, the
        first, the query's own; induction, on the tokens that followed
        earlier occurrences of the query's token (0 when none repeats) —
        here over this input, where `heed heads` uses a repeated random
        sequence for it."""
        ids = self._ids(text_or_ids)
        n = len(ids)
        if n < 2:
            raise Error("heads needs two tokens or more")
        ctx = self._context(n)
        cap = ctypes.c_void_p()
        check(lib.heed_context_capture(ctx, _ptr(ids, ctypes.c_int32), n, max_bytes,
                                       ctypes.byref(cap)))
        fields = ["entropy", "prev_token", "sink", "self", "induction"]
        out = np.zeros(self.n_layer * self.n_head,
                       [("layer", "i4"), ("head", "i4")] + [(f, "f8") for f in fields])
        stats = _lib.HeadStats()
        try:
            for i, (l, h) in enumerate((l, h) for l in range(self.n_layer)
                                       for h in range(self.n_head)):
                check(lib.heed_capture_head_stats(cap, l, h, _ptr(ids, ctypes.c_int32), n,
                                                  ctypes.byref(stats)))
                out[i] = (l, h, *(getattr(stats, f) for f in fields))
        finally:
            lib.heed_capture_free(cap)
        return out

    def attention_json(self, text_or_ids, max_bytes=DEFAULT_MAX_BYTES):
        """The attention of every layer and head on this input as the JSON
        document `heed attend --json` writes (libheed's
        heed_capture_write_json; the schema is in the README), parsed: a
        dict with "tokens", "layers" (each head's rows), "stats", the KV
        telemetry "kv_received" and, for mixtures of experts, "experts"."""
        ids = self._ids(text_or_ids)
        n = len(ids)
        ctx = self._context(n)
        cap = ctypes.c_void_p()
        check(lib.heed_context_capture(ctx, _ptr(ids, ctypes.c_int32), n, max_bytes,
                                       ctypes.byref(cap)))
        doc = _lib.CaptureDoc(self._model(), self._vocabulary(), cap,
                              _ptr(ids, ctypes.c_int32), n, n, 0, n, 0)
        buf, size = ctypes.c_void_p(), ctypes.c_size_t()
        try:
            f = _lib.libc.open_memstream(ctypes.byref(buf), ctypes.byref(size))
            if not f:
                raise MemoryError("open_memstream failed")
            status = lib.heed_capture_write_json(f, ctypes.byref(doc))
            _lib.libc.fclose(f)
            check(status)
            return json.loads(ctypes.string_at(buf.value, size.value))
        finally:
            lib.heed_capture_free(cap)
            _lib.libc.free(buf)

    # ---------------------------------------------------------- generation

    def stream(self, prompt, max_tokens=128, temperature=None, top_k=None, top_p=None,
               min_p=None, seed=None, stop=None, ignore_eos=False, lookup=0,
               control_vectors=(), control_vector_layer_range=None, logit_bias=None,
               grammar=None, json_schema=None):
        """Generates a continuation of prompt (text, with special tokens and
        control tokens written in it, as `heed run -p`; or ids), yielding
        text pieces as they become final: libheed's generator, the loop
        `heed run` and `heed serve` run. Sampling options left None take
        the library's (llama.cpp's) defaults: temperature 0.8, top_k 40,
        top_p 0.95, min_p 0.05, a fixed seed. stop: a string or a list of
        them; the text ends before the first to appear (pieces that could
        begin one are held back until they cannot). The finish reason of
        the last run is in .finish_reason ("eog", "stop", "length",
        "context_full"). control_vectors: llama.cpp control vectors, each
        a file's path, a heed.ControlVector, or (either, scale), summed in
        order (as llama.cpp sums its files) and added to the residual
        stream after blocks control_vector_layer_range = (first, last)
        (default: 1 to n_layer), as `heed run --control-vector(-scaled)`
        and llama.cpp do. logit_bias: {token id: bias} added to the logits
        every step (-inf bans a token), as `heed run --logit-bias`.
        grammar: GBNF text (llama.cpp's dialect, from its rule "root"), or
        json_schema: a JSON schema (a dict, or its JSON text): the output
        is then a sentence of the grammar, or JSON the schema accepts,
        unless cut short (finish_reason "length"), as `heed run --grammar
        / --json-schema`."""
        ids = self._prompt_ids(prompt)
        if grammar is not None and json_schema is not None:
            raise ValueError("give grammar or json_schema, not both")
        p = lib.heed_generate_default_params()
        biases = [(_int_arg("logit_bias token", t), float(b))
                  for t, b in (logit_bias or {}).items()]
        bias_arr = (_lib.LogitBias * max(1, len(biases)))(*biases)
        p.logit_bias, p.n_logit_bias = ctypes.cast(bias_arr, ctypes.c_void_p), len(biases)
        for name, value in (("temp", temperature), ("top_k", top_k), ("top_p", top_p),
                            ("min_p", min_p), ("seed", seed)):
            if value is not None:
                setattr(p.sampler, name, value)
        p.max_tokens = _int_arg("max_tokens", max_tokens)
        p.lookup = _int_arg("lookup", lookup)
        p.ignore_eos = bool(ignore_eos)
        stops = [stop] if isinstance(stop, str) else list(stop or [])
        if not all(isinstance(x, str) for x in stops):
            raise TypeError("stop must be a string or a list of strings")
        encoded = (ctypes.c_char_p * max(1, len(stops)))(*[x.encode() for x in stops])
        p.stops, p.n_stops = ctypes.cast(encoded, ctypes.POINTER(ctypes.c_char_p)), len(stops)
        if not self._fixed and not self._ctx_default:
            self._new_context(0)  # the library's default size, as `heed run`
        self._steer(control_vectors, control_vector_layer_range)
        gen, rules = ctypes.c_void_p(), ctypes.c_void_p()
        try:
            if grammar is not None:
                check(lib.heed_grammar_new(self._vocabulary(), grammar.encode(), None,
                                           ctypes.byref(rules)))
            elif json_schema is not None:
                text = json_schema if isinstance(json_schema, str) else json.dumps(json_schema)
                check(lib.heed_grammar_from_json_schema(self._vocabulary(), text.encode(),
                                                        ctypes.byref(rules)))
            p.grammar = rules
            check(lib.heed_generator_new(self._ctx, self._vocabulary(),
                                         _ptr(ids, ctypes.c_int32), len(ids), ctypes.byref(p),
                                         ctypes.byref(gen)))
        except BaseException:
            lib.heed_grammar_free(rules)
            check(lib.heed_context_set_steering(self._ctx, None, 0, 0))
            raise
        text, n, tok = ctypes.c_void_p(), ctypes.c_size_t(), _lib.GenToken()
        self.finish_reason = None
        try:
            more = True
            while more:
                more = lib.heed_generator_step(gen, ctypes.byref(text), ctypes.byref(n),
                                               ctypes.byref(tok))
                if n.value:
                    yield _decode(text.value, n.value)
            finish = lib.heed_generator_finish(gen)
            if _lib.GEN_FINISH[finish] == "error":
                check(lib.heed_generator_status(gen))
            self.finish_reason = _lib.GEN_FINISH[finish]
        finally:
            lib.heed_generator_free(gen)
            lib.heed_grammar_free(rules)
            check(lib.heed_context_set_steering(self._ctx, None, 0, 0))

    def _steer(self, control_vectors, layer_range):
        """Sets the sum of the control vectors on the context (or none)."""
        if isinstance(control_vectors, (str, os.PathLike, ControlVector)):
            control_vectors = [control_vectors]
        if not control_vectors:
            return
        total = np.zeros((self.n_layer, self.n_embd), np.float32)
        for cv in control_vectors:
            path, scale = (cv, 1.0) if isinstance(cv, (str, os.PathLike, ControlVector)) else cv
            if isinstance(path, ControlVector):
                if path.n_embd != self.n_embd:
                    raise Error(f"{path!r}: its n_embd is {path.n_embd}, the model's n_embd "
                                f"is {self.n_embd}")
                path.add_to(total, scale)
                continue
            check(lib.heed_control_vector_add(os.fsencode(path), float(scale), self.n_embd,
                                              self.n_layer, _ptr(total, ctypes.c_float)))
        first, last = layer_range or (1, self.n_layer)
        check(lib.heed_context_set_steering(self._ctx, _ptr(total, ctypes.c_float),
                                            _int_arg("layer_range", first),
                                            _int_arg("layer_range", last)))

    def generate(self, prompt, max_tokens=128, **options):
        """The whole continuation of prompt as one string (see stream for
        the options): equal to what `heed run MODEL -p PROMPT` prints after
        the prompt, with the same options."""
        return "".join(self.stream(prompt, max_tokens, **options))

    def _prompt_ids(self, prompt):
        if isinstance(prompt, str):
            return self._ids(self.tokenize(prompt, add_special=True, parse_special=True))
        return self._ids(prompt)

    # ------------------------------------------------------ run_with_cache

    def hook_names(self):
        """Every name run_with_cache can fill, in TransformerLens's order."""
        if self.is_encoder_decoder:
            return encoder_decoder.hook_names(self.n_layer)
        blocks = [f"blocks.{l}.{h}" for l in range(self.n_layer) for h in _BLOCK_HOOKS]
        return blocks if self.is_encoder else blocks + [LN_FINAL]  # encoders have no head

    def _select(self, names):
        """{layer: [hook, ...]} of the names kept."""
        every = self.hook_names()
        if names is None:
            keep = every
        elif callable(names):
            keep = [name for name in every if names(name)]
        else:
            if isinstance(names, str):
                names = [names]
            try:
                names = list(names)
            except TypeError:
                raise TypeError("names: expected None, a hook name, a list of them or a "
                                f"predicate, not {type(names).__name__}") from None
            known = set(every)
            for name in names:
                if not isinstance(name, str):
                    raise TypeError(f"names: expected hook names (str), not "
                                    f"{type(name).__name__}")
                if name not in known:
                    raise Error(f"'{name}': no such hook (the model has {self.n_layer} blocks; "
                                "hooks per block: " + ", ".join(_BLOCK_HOOKS) +
                                ("" if self.is_encoder else f"; and {LN_FINAL}") + ")")
            wanted = set(names)
            keep = [name for name in every if name in wanted]
        plan = {}  # ln_final as a block after the last
        for name in keep:
            _, l, hook = (None, self.n_layer, name) if name == LN_FINAL else name.split(".", 2)
            plan.setdefault(int(l), []).append(hook)
        return plan

    def _source(self, hook):
        return _lib.HOOK_LN_FINAL if hook == LN_FINAL else _BLOCK_HOOKS[hook][0]

    def _shape(self, point):
        """The shape of one position's activation at a hook point."""
        heads = {_lib.HOOK_Q: self.n_head, _lib.HOOK_K: self.n_kv_head,
                 _lib.HOOK_V: self.n_kv_head, _lib.HOOK_Z: self.n_head}.get(point)
        return (heads, self.d_head) if heads else (self.n_embd,)

    def _sizes(self, n, plan, max_bytes):
        """Bytes each source of the run takes, and the capture's parameters."""
        sources = {self._source(h) for hooks in plan.values() for h in hooks}
        sizes = {"output": 4 * n * self._out_width()}
        acts = [(self._source(h), l) for l, hooks in plan.items() for h in hooks
                if isinstance(self._source(h), int)]
        if acts:
            sizes["activations"] = sum(4 * n * int(np.prod(self._shape(p))) for p, _ in acts)
        if "residual" in sources:
            sizes["residual"] = 4 * n * (self.n_layer + 1) * self.n_embd
        qk_layers = [l for l, hooks in plan.items() if "qk" in {self._source(h) for h in hooks}]
        if qk_layers:
            sizes["q, k"] = 4 * n * len(qk_layers) * (self.n_head + self.n_kv_head) * self.d_head
        layers = sorted(l for l, hooks in plan.items() if "attn.hook_pattern" in hooks)
        params = None
        if layers:
            params = lib.heed_capture_default_params(n)
            params._layers = (ctypes.c_int * len(layers))(*layers)  # kept alive with params
            params.layers, params.n_layers = params._layers, len(layers)
            params.max_bytes = max_bytes
            sizes["pattern"] = lib.heed_capture_bytes(self._model(), ctypes.byref(params))
        return sizes, params, qk_layers, acts

    def cache_bytes(self, text_or_ids, names=None):
        """Bytes run_with_cache(text_or_ids, names) would allocate: the
        output, the residual stream, the taps' q and k, the attention
        pattern (as libheed's heed_capture_bytes counts it)."""
        ids = self._ids(text_or_ids)
        sizes = self._sizes(len(ids), self._select(names), DEFAULT_MAX_BYTES)[0]
        return sum(sizes.values())

    def run_with_cache(self, text_or_ids, names=None, max_bytes=DEFAULT_MAX_BYTES, *,
                       decoder_input=None):
        """Runs one sequence (a batch of one) and keeps its activations under
        TransformerLens's hook names: returns (logits, cache).

        logits: float32 [n_tokens, n_vocab] (for an encoder, its final hidden
        states [n_tokens, n_embd]). cache: a dict of float32 arrays, read-only:
          blocks.{l}.hook_resid_pre, blocks.{l}.hook_resid_post  [1, pos, d_model]
          blocks.{l}.attn.hook_q                                  [1, pos, n_head, d_head]
          blocks.{l}.attn.hook_k                                  [1, pos, n_kv_head, d_head]
          blocks.{l}.attn.hook_v                                  [1, pos, n_kv_head, d_head]
          blocks.{l}.attn.hook_pattern                            [1, n_head, q, k]
          blocks.{l}.attn.hook_z                                  [1, pos, n_head, d_head]
          blocks.{l}.hook_attn_out, hook_resid_mid, hook_mlp_out  [1, pos, d_model]
          ln_final.hook_normalized (decoders)                     [1, pos, d_model]
        hook_q and hook_k have RoPE applied (as the attention read them) and
        the keys rounded as the KV cache stores them (hook_v is before that
        rounding); pattern rows hold 0 for the keys a causal mask hides;
        hook_z is each head's pattern times the values, before W_O;
        resid_mid = resid_pre + attn_out and resid_post = resid_mid + mlp_out
        (exactly, where the model has no norm after the sum). names: a hook name, a list of them, or a
        predicate on a name: only those are kept (and only their taps run).

        The memory needed is computed first (cache_bytes); above max_bytes,
        heed.Error says how much, and nothing runs.

        Copies: hook_pattern is a view of libheed's capture buffer (no copy;
        freed with the last array using it); the residual stream is written
        by libheed straight into one numpy array, whose views
        hook_resid_pre/post are (blocks.{l}.hook_resid_post is the same memory
        as blocks.{l+1}.hook_resid_pre, hence read-only); the other hooks
        are copied from libheed's activation hooks and the q/k tap, whose
        buffers live only during the call (one copy per evaluated batch).

        An encoder-decoder (t5): text_or_ids is the source, encoded;
        decoder_input (ids; default: the decoder start token alone) is
        evaluated by the decoder, whose logits [decoder_pos, n_vocab] come
        back; the cache holds the three attention patterns under
        TransformerLens's HookedEncoderDecoder names (copies):
          encoder.{l}.attn.hook_pattern        [1, n_head, src, src]
          decoder.{l}.attn.hook_pattern        [1, n_head, tgt, tgt]
          decoder.{l}.cross_attn.hook_pattern  [1, n_head, tgt, src]
        (the other hooks are not kept for encoder-decoders yet).
        """
        ids = self._ids(text_or_ids)
        if self.is_encoder_decoder:
            dec = self._ids([self.decoder_start] if decoder_input is None else decoder_input)
            return encoder_decoder.run_with_cache(self, ids, dec, names, max_bytes)
        if decoder_input is not None:
            raise Error(f"decoder_input: '{self.arch}' is not an encoder-decoder")
        plan = self._select(names)
        sizes, params, qk_layers, acts = self._sizes(len(ids), plan, max_bytes)
        if sum(sizes.values()) > max_bytes:
            parts = ", ".join(f"{k} {v / 2**20:.1f}" for k, v in sizes.items())
            raise Error(f"run_with_cache of {len(ids)} tokens needs "
                        f"{sum(sizes.values()) / 2**20:.1f} MiB ({parts} MiB), above max_bytes "
                        f"({max_bytes / 2**20:.1f} MiB): keep fewer names")
        out = np.empty((len(ids), self._out_width()), np.float32)
        run = self._run(ids, out, residual="residual" in sizes, capture=params,
                        qk_layers=qk_layers, acts=acts)
        cache = {}
        for l, hooks in sorted(plan.items()):
            for hook in hooks:
                if hook == LN_FINAL:
                    a, name = run.act[_lib.HOOK_LN_FINAL, l][None], LN_FINAL
                else:
                    a, name = _BLOCK_HOOKS[hook][1](run, l), f"blocks.{l}.{hook}"
                a.flags.writeable = False
                cache[name] = a
        return out, cache

    def _run(self, ids, out, residual=False, capture=None, qk_layers=(), acts=(),
             interventions=None, fwd=None):
        """Evaluates ids into out with the taps asked for on, the
        interventions (ablate, ablate_mean, patch, steer) applied and the
        Python hooks fwd ({(point, layer): [(name, fn), ...]}) called;
        returns a _Run."""
        n = len(ids)
        run = _Run()
        fwd = fwd or {}
        # the shapes first: a llama2.c checkpoint's runs a token to know them
        shapes = {p: self._shape(p) for p, _ in list(acts) + list(fwd)}
        edits, steering = self._interventions(ids, *interventions) if interventions else \
            (None, None)
        try:
            ctx = self._context(n)
            cap = ctypes.c_void_p()
            errors = []
            run.act = {(p, l): np.empty((n, *shapes[p]), np.float32) for p, l in acts}
            points = 0
            for p in shapes:
                points |= 1 << p

            def on_hook(user, a):
                if errors:  # a hook failed: the rest of the pass runs without them
                    return
                try:
                    a = a[0]
                    key = (a.point, a.layer)
                    hooks, dst = fwd.get(key), run.act.get(key)
                    src = ctypes.cast(a.data, ctypes.POINTER(ctypes.c_float))
                    shape = shapes[a.point]
                    if a.width != int(np.prod(shape)):
                        raise Error(f"activation hook at point {a.point}, layer {a.layer}: "
                                    f"{a.width} floats a row, expected {shape}")
                    view = np.ctypeslib.as_array(src, (a.n, a.width)).reshape((1, a.n, *shape))
                    for name, fn in hooks or ():
                        got = fn(view, HookPoint(name, a.layer, a.pos0))
                        if got is not None and got is not view:
                            got = np.asarray(got)
                            if got.shape != view.shape:
                                raise ValueError(f"hook on {name} returned an array of shape "
                                                 f"{got.shape}; the activation's is "
                                                 f"{view.shape}")
                            np.copyto(view, got, casting="same_kind")
                    if dst is not None:
                        dst[a.pos0:a.pos0 + a.n] = view[0]
                except BaseException as e:  # raised again after the call
                    errors.append(e)
            hook_fn = _lib.HOOK_FN(on_hook)
            if capture is not None:
                check(lib.heed_capture_new(self._model(), ctypes.byref(capture),
                                           ctypes.byref(cap)))
            if residual:
                run.residual = np.empty((n, self.n_layer + 1, self.n_embd), np.float32)
            if qk_layers:
                shape = (n, self.n_head, self.d_head)
                run.q = {l: np.empty(shape, np.float32) for l in qk_layers}
                run.k = {l: np.empty((n, self.n_kv_head, self.d_head), np.float32)
                         for l in qk_layers}

                def tap(user, p):
                    try:
                        qk = p[0]
                        if qk.kind == _lib.ATTN_SELF and qk.layer in run.q:
                            _copy_qk(qk, run.q[qk.layer], run.k[qk.layer])
                    except BaseException as e:  # raised again after the call
                        errors.append(e)
                tap_fn = _lib.QK_FN(tap)
            try:
                if edits:
                    check(lib.heed_context_set_edits(ctx, edits))
                if steering is not None:
                    total, first, last = steering
                    check(lib.heed_context_set_steering(ctx, _ptr(total, ctypes.c_float),
                                                        first, last))
                if capture is not None:
                    lib.heed_context_set_capture(ctx, cap)
                if residual:
                    lib.heed_context_set_residual(ctx, _ptr(run.residual, ctypes.c_float), 0, n)
                if qk_layers:
                    lib.heed_context_set_qk_tap(ctx, tap_fn, None)
                if points:
                    lib.heed_context_set_hook(ctx, points, hook_fn, None)
                self._eval(ids, out, fresh=False)
            except BaseException:
                lib.heed_capture_free(cap)
                raise
            finally:
                lib.heed_context_set_capture(ctx, None)
                lib.heed_context_set_qk_tap(ctx, _lib.QK_FN(), None)
                lib.heed_context_set_residual(ctx, None, 0, 0)
                lib.heed_context_set_hook(ctx, 0, _lib.HOOK_FN(), None)
                lib.heed_context_set_edits(ctx, None)
                lib.heed_context_set_steering(ctx, None, 0, 0)
        finally:
            lib.heed_edits_free(edits)
        if errors:
            lib.heed_capture_free(cap)
            raise errors[0]
        if capture is not None:
            run.pattern = _pattern_views(cap, capture, self.n_head, n)
        return run

    # ------------------------------------------------------ interventions

    def _hook_point(self, name, what="hook"):
        """(heed_hook_point, layer) of a TransformerLens hook name, or a
        ValueError that names it."""
        if not isinstance(name, str):
            raise TypeError(f"{what} name: expected a str, not {type(name).__name__}")
        every = ", ".join(_POINTS)
        if name == LN_FINAL and not self.is_encoder:
            return _lib.HOOK_LN_FINAL, self.n_layer
        parts = name.split(".", 2)
        if len(parts) != 3 or parts[0] != "blocks" or not parts[1].isdigit():
            raise ValueError(f"{what} '{name}': no such hook point; want blocks.{{l}}.NAME, "
                             f"NAME one of {every}" +
                             ("" if self.is_encoder else f", or {LN_FINAL}"))
        layer, hook = int(parts[1]), parts[2]
        if hook == "attn.hook_pattern":
            raise ValueError(f"{what} '{name}': hook_pattern is not a hook point here (libheed's "
                             "attention never holds the whole pattern): read it with "
                             "run_with_cache; change a head through attn.hook_z, or ablate it")
        if hook not in _POINTS:
            raise ValueError(f"{what} '{name}': no such hook point; per block: {every}")
        if layer >= self.n_layer:
            raise ValueError(f"{what} '{name}': layer {layer} is out of range (the model has "
                             f"{self.n_layer} blocks, 0..{self.n_layer - 1})")
        return _POINTS[hook], layer

    def _hooks(self, fwd_hooks):
        """run_with_hooks' fwd_hooks as {(point, layer): [(name, fn), ...]}."""
        if isinstance(fwd_hooks, tuple) and len(fwd_hooks) == 2 and callable(fwd_hooks[1]):
            fwd_hooks = [fwd_hooks]
        plan = {}
        for entry in fwd_hooks or ():
            if not isinstance(entry, (tuple, list)) or len(entry) != 2 or not callable(entry[1]):
                raise ValueError(f"fwd_hooks: expected (name, fn) pairs, not {entry!r}")
            which, fn = entry
            if callable(which):
                names = [h for h in self.hook_names()
                         if not h.endswith("attn.hook_pattern") and which(h)]
            else:
                names = [which]
            for name in names:
                plan.setdefault(self._hook_point(name, "fwd_hooks"), []).append((name, fn))
        return plan

    def _interventions(self, ids, ablate, ablate_mean, patch, steer):
        """The heed_edits (or None) and the steering (total, first, last)
        (or None) of logits' keyword arguments, checked."""
        n = len(ids)
        steering = self._steering(steer)
        if isinstance(ablate, tuple) and len(ablate) == 2 and \
                all(isinstance(x, (int, np.integer)) for x in ablate):
            ablate = [ablate]
        heads = []
        for entry in ablate or ():
            if not isinstance(entry, (tuple, list)) or len(entry) != 2 or not all(
                    isinstance(x, (int, np.integer)) and not isinstance(x, bool) for x in entry):
                raise ValueError(f"ablate: expected (layer, head) pairs of ints, not {entry!r}")
            layer, head = map(int, entry)
            if not 0 <= layer < self.n_layer:
                raise ValueError(f"ablate ({layer}, {head}): layer {layer} is out of range (the "
                                 f"model has {self.n_layer} blocks)")
            if not 0 <= head < self.n_head:
                raise ValueError(f"ablate ({layer}, {head}): head {head} is out of range (the "
                                 f"model has {self.n_head} heads)")
            heads.append((layer, head))
        if ablate_mean is not None and not heads:
            raise ValueError("ablate_mean gives a reference text, but ablate names no head")
        if patch is not None and not isinstance(patch, dict):
            raise ValueError(f"patch: expected a dict {{hook name: array}}, not "
                             f"{type(patch).__name__}")
        patches = [self._patch_entry(key, values, n) for key, values in (patch or {}).items()]
        if not heads and not patches:
            return None, steering
        means = None
        if ablate_mean is not None:
            ref = self._ids(ablate_mean)
            width = self.n_head * self.d_head
            means = np.empty((self.n_layer + 1, width), np.float32)
            check(lib.heed_context_mean_activation(self._context(len(ref)), _lib.HOOK_Z,
                                                   _ptr(ref, ctypes.c_int32), len(ref),
                                                   _ptr(means, ctypes.c_float)))
            means = means.reshape(self.n_layer + 1, self.n_head, self.d_head)
        edits = ctypes.c_void_p()
        check(lib.heed_edits_new(self._model(), ctypes.byref(edits)))
        try:
            for layer, head in heads:
                mean = None if means is None else _ptr(np.ascontiguousarray(means[layer, head]),
                                                       ctypes.c_float)
                check(lib.heed_edits_ablate_head(edits, layer, head, mean))
            for point, layer, rows in patches:
                for pos, head, values in rows:
                    check(lib.heed_edits_patch(edits, point, layer, pos, head,
                                               _ptr(values, ctypes.c_float)))
        except BaseException:
            lib.heed_edits_free(edits)
            raise
        return edits, steering

    def _patch_entry(self, key, values, n):
        """One patch={key: values} item as (point, layer, [(pos, head,
        float32 values), ...]) for heed_edits_patch."""
        if isinstance(key, tuple):
            if not 2 <= len(key) <= 3:
                raise ValueError(f"patch key {key!r}: want a name, (name, pos) or (name, pos, "
                                 "head)")
            name, pos, head = (*key, None)[:3]
        else:
            name, pos, head = key, "all", None
        point, layer = self._hook_point(name, "patch")
        shape = self._shape(point)
        arr = np.asarray(values, np.float32)
        if pos == "all":  # [1, pos, ...] or [pos, ...]: positions 0..pos-1
            if arr.ndim == len(shape) + 2 and arr.shape[0] == 1:
                arr = arr[0]
            if arr.ndim != len(shape) + 1 or arr.shape[1:] != shape:
                raise ValueError(f"patch '{name}': values of shape {np.shape(values)}; want "
                                 f"[1, pos, {', '.join(map(str, shape))}] or [pos, "
                                 f"{', '.join(map(str, shape))}]")
            if not 1 <= len(arr) <= n:
                raise ValueError(f"patch '{name}': {len(arr)} positions, the input has {n}")
            return point, layer, [(t, -1, np.ascontiguousarray(arr[t])) for t in range(len(arr))]
        if pos is not None:
            if isinstance(pos, bool) or not isinstance(pos, (int, np.integer)) or \
                    not -n <= pos < n:
                raise ValueError(f"patch {key!r}: position {pos!r} is out of range (the input "
                                 f"has {n} tokens; None patches every position)")
            pos = int(pos) % n
        if head is not None:
            heads = shape[0] if len(shape) == 2 else 0
            if isinstance(head, bool) or not isinstance(head, (int, np.integer)) or \
                    not 0 <= head < heads:
                raise ValueError(f"patch {key!r}: head {head!r} is out of range ("
                                 + (f"this point has {heads} heads)" if heads else
                                    "only attn.hook_q, k, v and z have heads)"))
            shape = shape[1:]
        want = tuple(shape)
        while arr.ndim > len(want) and arr.shape[0] == 1:
            arr = arr[0]
        if arr.shape != want:
            raise ValueError(f"patch {key!r}: values of shape {np.shape(values)}; want "
                             f"{list(want)} (one position" + (", one head)" if head is not None
                                                              else ")"))
        return point, layer, [(-1 if pos is None else pos, -1 if head is None else int(head),
                               np.ascontiguousarray(arr))]

    def _steering(self, steer):
        """steer= as (total [n_layer][n_embd], first, last), or None."""
        if steer is None:
            return None
        entries = [steer] if isinstance(steer, ControlVector) else steer
        if isinstance(entries, tuple) and entries and (
                not isinstance(entries[0], (tuple, list, ControlVector)) or
                isinstance(entries[0], ControlVector) and len(entries) == 2 and
                _is_real(entries[1])):
            entries = [entries]  # one (layer, vector[, scale]) or (ControlVector, scale)
        total = np.zeros((self.n_layer, self.n_embd), np.float32)
        used = set()
        for entry in entries:
            if isinstance(entry, ControlVector):
                entry = (entry, 1.0)
            if not isinstance(entry, (tuple, list)) or not 2 <= len(entry) <= 3:
                raise ValueError(f"steer: expected (layer, vector[, scale]), a ControlVector "
                                 f"or (ControlVector, scale), not {entry!r}")
            if isinstance(entry[0], ControlVector):
                cv, scale = entry if len(entry) == 2 else (None, None)
                if cv is None or not _is_real(scale):
                    raise ValueError(f"steer: expected (ControlVector, scale), not {entry!r}")
                if cv.n_embd != self.n_embd:
                    raise ValueError(f"steer: {cv!r} has n_embd {cv.n_embd}, the model's "
                                     f"d_model is {self.n_embd}")
                cv.add_to(total, scale)
                used.update(k for k in cv.layers if k < self.n_layer)
                continue
            layer, vector, scale = (*entry, 1.0)[:3]
            if isinstance(layer, bool) or not isinstance(layer, (int, np.integer)) or \
                    not 0 <= layer < self.n_layer:
                raise ValueError(f"steer: layer {layer!r} is out of range (the model has "
                                 f"{self.n_layer} blocks, 0..{self.n_layer - 1})")
            if not _is_real(scale):
                raise ValueError(f"steer: scale {scale!r} of layer {layer} is not a number")
            v = np.asarray(vector, np.float32)
            while v.ndim > 1 and v.shape[0] == 1:
                v = v[0]
            if v.shape != (self.n_embd,):
                raise ValueError(f"steer: the vector of layer {layer} has shape "
                                 f"{np.shape(vector)}; want [{self.n_embd}] (d_model)")
            total[layer] += v * np.float32(scale)
            used.add(int(layer))
        if not used:
            return None
        return total, min(used), max(used)

def _is_real(x):
    return isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, bool)


def _int_arg(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an int, not {type(value).__name__}")
    if not -2**31 <= value < 2**31:
        raise Error(f"{name} {value} is out of range")
    return int(value)


def _ptr(arr, ctype):
    return arr.ctypes.data_as(ctypes.POINTER(ctype))


def _copy_qk(qk, q_out, k_out):
    """Copies one tap call's queries into q_out [pos, n_head, d_head] and its
    keys into k_out [pos, n_kv_head, d_head], at their positions (a long
    input is evaluated in several batches, a tap call each; the tap's
    buffers are reused after the call)."""
    D, f = qk.head_dim, 4
    if (qk.n_head, D, qk.n_kv_head) != q_out.shape[1:] + k_out.shape[1:2] or \
            qk.q_pos0 + qk.n_q > len(q_out) or qk.k_pos0 + qk.n_kv > len(k_out):
        raise Error(f"qk tap of layer {qk.layer}: {qk.n_q} queries at {qk.q_pos0}, {qk.n_kv} "
                    f"keys at {qk.k_pos0}, {qk.n_head}/{qk.n_kv_head} heads of {D}: not the "
                    f"shapes expected {q_out.shape}, {k_out.shape}")
    q_len = (qk.n_q - 1) * qk.q_stride + qk.n_head * D
    k_len = (qk.n_kv_head - 1) * qk.kv_head_stride + (qk.n_kv - 1) * qk.kv_stride + D
    q_all = np.ctypeslib.as_array(ctypes.cast(qk.q, ctypes.POINTER(ctypes.c_float)), (q_len,))
    k_all = np.ctypeslib.as_array(ctypes.cast(qk.k, ctypes.POINTER(ctypes.c_float)), (k_len,))
    q_out[qk.q_pos0:qk.q_pos0 + qk.n_q] = np.lib.stride_tricks.as_strided(
        q_all, (qk.n_q, qk.n_head, D), (qk.q_stride * f, D * f, f))
    k_out[qk.k_pos0:qk.k_pos0 + qk.n_kv] = np.lib.stride_tricks.as_strided(
        k_all, (qk.n_kv, qk.n_kv_head, D), (qk.kv_stride * f, qk.kv_head_stride * f, f))


def _pattern_views(cap, params, n_head, n):
    """{layer: [n_head, n, n]} over the capture's rows: one view of its
    buffer when the rows lie where a dense [layer][head][query][key] layout
    puts them (checked at every head's first and last row), else copies."""
    layers = list(params._layers)
    row = lambda l, h, q: lib.heed_capture_row(cap, l, h, q)  # noqa: E731
    base = row(layers[0], 0, 0)
    stride = 4 * n  # bytes per row
    dense = base and all(
        row(l, h, q) == base + ((s * n_head + h) * n + q) * stride
        for s, l in enumerate(layers) for h in range(n_head) for q in (0, n - 1))
    if dense:
        owner = _Owned(cap, lib.heed_capture_free, base, (len(layers), n_head, n, n))
        whole = np.asarray(owner)
        return {l: whole[s] for s, l in enumerate(layers)}
    try:
        views = {}
        for l in layers:
            a = np.empty((n_head, n, n), np.float32)
            for h in range(n_head):
                for q in range(n):
                    a[h, q] = np.ctypeslib.as_array(
                        ctypes.cast(row(l, h, q), ctypes.POINTER(ctypes.c_float)), (n,))
            views[l] = a
        return views
    finally:
        lib.heed_capture_free(cap)
