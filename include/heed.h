/*
 * heed.h — the one public header of heed, a language-model engine in C.
 *
 * Conventions (every function below follows them):
 *  - Functions that can fail return a heed_status; HEED_OK is 0. On failure
 *    heed_last_error() describes what failed, where (file, offset, field or
 *    key) and what was expected. The message is per thread.
 *  - Objects are opaque. Each constructor (heed_X_new/_open/_load) returns a
 *    heed_status and gives the object through its last parameter, NULL on
 *    failure. Each has exactly one heed_X_free / heed_X_close, which
 *    accepts NULL. Nothing is freed behind your back.
 *  - Tensor element types are heed_type wherever they appear.
 *  - Bad input never aborts, crashes, hangs or allocates more than the input
 *    justifies.
 */
#ifndef HEED_H
#define HEED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Versions. HEED_VERSION_MAJOR/MINOR/PATCH name the release (the build
 * reads them from here). HEED_ABI_VERSION counts incompatible changes to
 * what this header exports (a function removed or its signature changed, a
 * public struct or enum changed); the shared library's soname is
 * libheed.so.HEED_ABI_VERSION, so a program built against one ABI never
 * loads another. heed_abi_version() says which ABI the loaded library has
 * (for bindings that load it at run time and see no macros).
 */
#define HEED_VERSION_MAJOR 0
#define HEED_VERSION_MINOR 2
#define HEED_VERSION_PATCH 0
#define HEED_STRINGIFY_(x) #x
#define HEED_STRINGIFY(x) HEED_STRINGIFY_(x)
#define HEED_VERSION HEED_STRINGIFY(HEED_VERSION_MAJOR) "." \
    HEED_STRINGIFY(HEED_VERSION_MINOR) "." HEED_STRINGIFY(HEED_VERSION_PATCH)
#define HEED_ABI_VERSION 5

/*
 * The ABI is exactly the functions declared here: the library is built
 * with hidden visibility and HEED_API marks what it exports.
 */
#if defined(__GNUC__) || defined(__clang__)
#define HEED_API __attribute__((visibility("default")))
#else
#define HEED_API
#endif

/* HEED_ABI_VERSION and HEED_VERSION of the library loaded at run time. */
HEED_API int heed_abi_version(void);
HEED_API const char *heed_version(void);

/* ---------------------------------------------------------------- status */

typedef enum heed_status {
    HEED_OK = 0,
    HEED_ERR_IO,          /* open/read/write/mmap failed                   */
    HEED_ERR_FORMAT,      /* the input is malformed                        */
    HEED_ERR_NOMEM,       /* an allocation failed                          */
    HEED_ERR_ARG,         /* the caller passed something invalid           */
    HEED_ERR_UNSUPPORTED, /* well-formed, but heed cannot handle it        */
    HEED_ERR_NOT_FOUND,   /* a key or tensor is missing                    */
    HEED_ERR_TYPE,        /* a key or tensor has another type than needed  */
} heed_status;

/* Describes the last failure on this thread ("" if none). */
HEED_API const char *heed_last_error(void);
/* A short constant name for a status ("format error", ...). */
HEED_API const char *heed_status_name(heed_status st);

/* ---------------------------------------------------------- tensor types */

/* Tensor element types. The numbers are GGUF's (ggml's) on-disk ids. */
typedef enum heed_type {
    HEED_TYPE_NONE = -1, /* no type: heed_type_from_name of an unknown name */
    HEED_TYPE_F32 = 0,
    HEED_TYPE_F16 = 1,
    HEED_TYPE_Q4_0 = 2,
    HEED_TYPE_Q4_1 = 3,
    HEED_TYPE_Q5_0 = 6,
    HEED_TYPE_Q5_1 = 7,
    HEED_TYPE_Q8_0 = 8,
    HEED_TYPE_Q8_1 = 9,
    HEED_TYPE_Q2_K = 10,
    HEED_TYPE_Q3_K = 11,
    HEED_TYPE_Q4_K = 12,
    HEED_TYPE_Q5_K = 13,
    HEED_TYPE_Q6_K = 14,
    HEED_TYPE_Q8_K = 15,
    HEED_TYPE_IQ2_XXS = 16,
    HEED_TYPE_IQ2_XS = 17,
    HEED_TYPE_IQ3_XXS = 18,
    HEED_TYPE_IQ1_S = 19,
    HEED_TYPE_IQ4_NL = 20,
    HEED_TYPE_IQ3_S = 21,
    HEED_TYPE_IQ2_S = 22,
    HEED_TYPE_IQ4_XS = 23,
    HEED_TYPE_I8 = 24,
    HEED_TYPE_I16 = 25,
    HEED_TYPE_I32 = 26,
    HEED_TYPE_I64 = 27,
    HEED_TYPE_F64 = 28,
    HEED_TYPE_IQ1_M = 29,
    HEED_TYPE_BF16 = 30,
    HEED_TYPE_TQ1_0 = 34,
    HEED_TYPE_TQ2_0 = 35,
    HEED_TYPE_MXFP4 = 39,
    HEED_TYPE_COUNT = 40
} heed_type;

/*
 * Everything heed knows about a type. A type whose block_size is 0 is not
 * a type (a hole in the id space, or a removed one). to_float is NULL when
 * heed cannot dequantize the type; from_float is NULL when it cannot
 * quantize to it. Both work on whole blocks: n must be a multiple of
 * block_size.
 */
typedef struct heed_type_traits {
    const char *name;      /* lower case, as llama.cpp prints it: "q4_K"   */
    int64_t block_size;    /* elements per block                            */
    size_t type_size;      /* bytes per block                               */
    bool is_quantized;
    void (*to_float)(const void *src, float *dst, int64_t n);
    void (*from_float)(const float *src, void *dst, int64_t n);
} heed_type_traits;

/* Traits of t, or NULL if t is not a known type. */
HEED_API const heed_type_traits *heed_type_get(heed_type t);
/* Name of t ("q8_0"), or "unknown". */
HEED_API const char *heed_type_name(heed_type t);
/* Type by name, case-insensitive ("Q4_K", "f16"); HEED_TYPE_NONE if none. */
HEED_API heed_type heed_type_from_name(const char *name);
/* Bytes of one row of n elements of type t; 0 if t is unknown or n is not
 * a multiple of its block size. */
HEED_API size_t heed_type_row_size(heed_type t, int64_t n);

/* Scalar conversions between float and the 16-bit float formats. */
HEED_API float heed_f16_to_f32(uint16_t h);
HEED_API uint16_t heed_f32_to_f16(float f);      /* round to nearest even          */
HEED_API float heed_bf16_to_f32(uint16_t h);
HEED_API uint16_t heed_f32_to_bf16(float f);     /* round to nearest even; NaN kept */

/* ------------------------------------------------------------- GGUF read */

/* GGUF metadata value types (on-disk ids). */
typedef enum heed_gguf_type {
    HEED_GGUF_UINT8 = 0,
    HEED_GGUF_INT8 = 1,
    HEED_GGUF_UINT16 = 2,
    HEED_GGUF_INT16 = 3,
    HEED_GGUF_UINT32 = 4,
    HEED_GGUF_INT32 = 5,
    HEED_GGUF_FLOAT32 = 6,
    HEED_GGUF_BOOL = 7,
    HEED_GGUF_STRING = 8,
    HEED_GGUF_ARRAY = 9,
    HEED_GGUF_UINT64 = 10,
    HEED_GGUF_INT64 = 11,
    HEED_GGUF_FLOAT64 = 12,
    HEED_GGUF_TYPE_COUNT
} heed_gguf_type;

HEED_API const char *heed_gguf_type_name(heed_gguf_type t); /* "uint32", "array" */
/* Bytes of one value of a fixed-size type; 0 for STRING, ARRAY, unknown. */
HEED_API size_t heed_gguf_type_size(heed_gguf_type t);

/* A string inside a GGUF file: not NUL-terminated, may hold any bytes. */
typedef struct heed_gguf_str {
    const char *ptr;
    uint64_t len;
} heed_gguf_str;

/*
 * A metadata value. Strings and fixed-size array elements point into the
 * file's mapping and live as long as the file is open.
 */
typedef struct heed_gguf_value heed_gguf_value;
struct heed_gguf_value {
    heed_gguf_type type;
    union {
        uint64_t u;          /* UINT8/16/32/64                            */
        int64_t i;           /* INT8/16/32/64                             */
        double f;            /* FLOAT32/64                                */
        bool b;              /* BOOL                                      */
        heed_gguf_str str;   /* STRING                                    */
        struct {
            heed_gguf_type type;   /* element type                         */
            uint64_t n;            /* element count                        */
            const void *data;      /* fixed-size elements, little endian   */
            const heed_gguf_str *strs;     /* STRING elements              */
            const heed_gguf_value *items;  /* ARRAY elements (nested)      */
        } arr;
    } v;
};

/* Element i of an ARRAY value, decoded; type HEED_GGUF_TYPE_COUNT when arr
 * is not an array or i is out of range. */
HEED_API heed_gguf_value heed_gguf_arr_get(const heed_gguf_value *arr, uint64_t i);

/* Deep equality of two values (types, lengths, elements), bit-exact for
 * floats. */
HEED_API bool heed_gguf_value_equal(const heed_gguf_value *a, const heed_gguf_value *b);

typedef struct heed_gguf_tensor {
    const char *name;      /* NUL-terminated copy                           */
    heed_type type;        /* always a known type (the reader checks)       */
    int n_dims;            /* 1..4                                          */
    int64_t ne[4];         /* elements per dimension, ne[0] fastest; unused
                              dimensions are 1                              */
    uint64_t offset;       /* from the start of the data section            */
    uint64_t nbytes;
    const void *data;      /* into the mapping                              */
} heed_gguf_tensor;

typedef struct heed_gguf heed_gguf;

/* Maps and validates a GGUF v2/v3 file. On failure *out is NULL and the
 * error names the file, the byte offset and what was expected. */
HEED_API heed_status heed_gguf_open(const char *path, heed_gguf **out);
/* The same for a buffer the caller keeps alive while the result is open;
 * name is used in messages. */
HEED_API heed_status heed_gguf_open_memory(const void *data, size_t size,
                                           const char *name, heed_gguf **out);
HEED_API void heed_gguf_close(heed_gguf *g);

HEED_API uint32_t heed_gguf_version(const heed_gguf *g);
HEED_API uint64_t heed_gguf_file_size(const heed_gguf *g);
HEED_API uint64_t heed_gguf_alignment(const heed_gguf *g);
HEED_API uint64_t heed_gguf_data_offset(const heed_gguf *g); /* start of tensor data */
HEED_API const char *heed_gguf_path(const heed_gguf *g);

HEED_API int64_t heed_gguf_n_kv(const heed_gguf *g);
HEED_API const char *heed_gguf_kv_key(const heed_gguf *g, int64_t i);
HEED_API const heed_gguf_value *heed_gguf_kv_value(const heed_gguf *g, int64_t i);
/* Index of key, or -1. */
HEED_API int64_t heed_gguf_find_key(const heed_gguf *g, const char *key);
/* Value of key, or NULL. */
HEED_API const heed_gguf_value *heed_gguf_get(const heed_gguf *g, const char *key);

/*
 * Typed getters. HEED_ERR_NOT_FOUND if the key is missing, HEED_ERR_TYPE if
 * it has another type; the message names the key and both types.
 * get_uint/get_int accept any integer type whose value fits; get_float
 * accepts FLOAT32 and FLOAT64.
 */
HEED_API heed_status heed_gguf_get_uint(const heed_gguf *g, const char *key, uint64_t *out);
HEED_API heed_status heed_gguf_get_int(const heed_gguf *g, const char *key, int64_t *out);
HEED_API heed_status heed_gguf_get_float(const heed_gguf *g, const char *key, double *out);
HEED_API heed_status heed_gguf_get_bool(const heed_gguf *g, const char *key, bool *out);
HEED_API heed_status heed_gguf_get_str(const heed_gguf *g, const char *key, heed_gguf_str *out);
/* An array whose elements have type elem (HEED_GGUF_TYPE_COUNT: any). */
HEED_API heed_status heed_gguf_get_arr(const heed_gguf *g, const char *key,
                                       heed_gguf_type elem, const heed_gguf_value **out);

HEED_API int64_t heed_gguf_n_tensors(const heed_gguf *g);
HEED_API const heed_gguf_tensor *heed_gguf_tensor_at(const heed_gguf *g, int64_t i);
/* Tensor by name, or NULL. */
HEED_API const heed_gguf_tensor *heed_gguf_find_tensor(const heed_gguf *g, const char *name);

/* ------------------------------------------------------------ GGUF write */

/*
 * Builds a GGUF v3 file in memory order: metadata in the order set (setting
 * an existing key replaces its value in place), tensors in the order added,
 * each tensor's data aligned to general.alignment (default 32). Writing the
 * result of reading a heed-written file gives the same bytes.
 */
typedef struct heed_gguf_writer heed_gguf_writer;

/* An empty writer in *out (NULL on failure: HEED_ERR_NOMEM). */
HEED_API heed_status heed_gguf_writer_new(heed_gguf_writer **out);
HEED_API void heed_gguf_writer_free(heed_gguf_writer *w);

/* Copies value (deeply; strings included) under key. */
HEED_API heed_status heed_gguf_writer_set(heed_gguf_writer *w, const char *key,
                                          const heed_gguf_value *value);
HEED_API heed_status heed_gguf_writer_set_u32(heed_gguf_writer *w, const char *key, uint32_t v);
HEED_API heed_status heed_gguf_writer_set_i32(heed_gguf_writer *w, const char *key, int32_t v);
HEED_API heed_status heed_gguf_writer_set_u64(heed_gguf_writer *w, const char *key, uint64_t v);
HEED_API heed_status heed_gguf_writer_set_f32(heed_gguf_writer *w, const char *key, float v);
HEED_API heed_status heed_gguf_writer_set_bool(heed_gguf_writer *w, const char *key, bool v);
HEED_API heed_status heed_gguf_writer_set_str(heed_gguf_writer *w, const char *key,
                                              const char *v);
/* An array of n fixed-size elements of type elem (not STRING/ARRAY). */
HEED_API heed_status heed_gguf_writer_set_arr(heed_gguf_writer *w, const char *key,
                                              heed_gguf_type elem, const void *data,
                                              uint64_t n);
HEED_API heed_status heed_gguf_writer_set_arr_str(heed_gguf_writer *w, const char *key,
                                                  const char *const *strs, uint64_t n);
/* Removes key if present. */
HEED_API void heed_gguf_writer_remove(heed_gguf_writer *w, const char *key);

/*
 * Adds a tensor. ne has n_dims entries. data must hold
 * heed_type_row_size(type, ne[0]) * rows bytes and stay valid until the
 * file is written (it is not copied).
 */
HEED_API heed_status heed_gguf_writer_add_tensor(heed_gguf_writer *w, const char *name,
                                                 heed_type type, int n_dims, const int64_t *ne,
                                                 const void *data);

/* Writes the file atomically: to a temporary file beside path, then
 * rename. On failure path is untouched. */
HEED_API heed_status heed_gguf_writer_write(heed_gguf_writer *w, const char *path);
/* The same bytes into a malloc'd buffer (*data, *size; free() it). */
HEED_API heed_status heed_gguf_writer_write_memory(heed_gguf_writer *w, void **data,
                                                   size_t *size);

/* --------------------------------------------------------- model tools */

/*
 * Converts every tensor of the GGUF file in_path with two or more
 * dimensions to type (as llama.cpp's quantizer does with --pure; 1-D
 * tensors such as norms and biases stay as they are) and writes out_path.
 * Rows that do not fit type's block size fall back to a type whose does
 * (see the README). general.file_type is updated. n_threads <= 0: all cores.
 */
HEED_API heed_status heed_quantize_file(const char *in_path, const char *out_path,
                                        heed_type type, int n_threads);

/*
 * Writes a random-weight GGUF model with the exact shapes and metadata of a
 * real one (heed_synth_shape_names lists them), its matrices in type, for
 * benchmarks. Deterministic for a seed, whatever n_threads (<= 0: all
 * cores). The tokenizer is a byte-level BPE vocabulary of the model's size.
 */
HEED_API heed_status heed_synth(const char *shape, heed_type type, uint64_t seed, int n_threads,
                                const char *path);
HEED_API const char *heed_synth_shape_names(void);

/* -------------------------------------------------------------- training */

/*
 * Trains a Llama-style decoder (RMSNorm, RoPE, SwiGLU, causal attention,
 * tied embeddings) on a UTF-8 text file: a byte-level BPE tokenizer is
 * learned first, then AdamW with warmup and cosine decay runs on random
 * windows of the first (1 − val_fraction) of the tokens; the rest gives
 * the validation loss. Deterministic for a seed and thread count.
 * Writes `out` (a GGUF model heed and llama.cpp load, with the training
 * in its training.* metadata) and `checkpoint` (f32 weights plus the
 * optimiser state, itself a loadable model), both atomically.
 */
typedef struct heed_train_progress {
    int64_t step, n_steps;  /* steps done, of n_steps                      */
    double loss;            /* training loss of the last step (nats/token) */
    double val_loss;        /* latest validation loss; NAN before the first */
    bool validated;         /* val_loss was measured at this step          */
    bool checkpointed;      /* a checkpoint was written at this step       */
    double lr, grad_norm;
    double tokens_per_s, mfu; /* mfu: model FLOPs / measured peak FLOPs   */
    double elapsed_s, eta_s;
} heed_train_progress;

typedef void (*heed_train_progress_fn)(void *user, const heed_train_progress *p);

typedef struct heed_train_params {
    const char *corpus;      /* the text file                               */
    const char *out;         /* the model to write                          */
    const char *checkpoint;  /* NULL: out + ".ckpt"                         */
    const char *resume;      /* a checkpoint to continue from, or NULL      */
    const char *name;        /* general.name; NULL: the corpus file's name  */
    int n_vocab, n_ctx, n_embd, n_layer, n_head, n_ff;
    int batch, accum;        /* sequences per micro-batch, micro-batches per step */
    int64_t steps;
    int warmup;              /* steps of linear warmup                      */
    float lr, min_lr;        /* peak and final learning rate (cosine)       */
    float weight_decay, clip, beta1, beta2;
    float val_fraction;      /* share of tokens held out, at the end        */
    int val_every, val_batches, checkpoint_every; /* 0: never (but at the end) */
    uint64_t seed;
    int n_threads;           /* <= 0: physical cores                        */
    heed_type out_type;      /* type of the saved matrices (f32, f16, q8_0…)*/
    const volatile int *stop; /* set (by a signal handler) to stop: a checkpoint is saved */
    heed_train_progress_fn progress;
    void *user;
} heed_train_params;

HEED_API heed_train_params heed_train_default_params(void);
/* Sets the model sizes of a named preset ("tiny", "small", "base"). */
HEED_API heed_status heed_train_preset(const char *name, heed_train_params *p);
HEED_API const char *heed_train_preset_names(void);
/* HEED_ERR_ARG / HEED_ERR_FORMAT / HEED_ERR_NOMEM before any step runs
 * for a bad corpus or sizes that do not fit; returns HEED_OK also when
 * stopped early through p->stop (after writing the checkpoint). */
HEED_API heed_status heed_train(const heed_train_params *p);

/* ---------------------------------------------------------------- models */

/*
 * A model: architecture, hyperparameters and weights of a GGUF file, read
 * in place from its memory mapping. Supported architectures: llama (Llama
 * 1/2/3, Mistral, TinyLlama, SmolLM, ...), qwen2, phi3, gemma, gpt2, and
 * the bert encoder.
 */
typedef struct heed_model heed_model;

/* Loads and checks a model (a GGUF file, or a llama2.c checkpoint when the
 * name ends in .bin): a missing tensor, a shape that does not match
 * the hyperparameters or an unsupported architecture is an error naming it. */
HEED_API heed_status heed_model_load(const char *path, heed_model **out);
HEED_API void heed_model_free(heed_model *m);

HEED_API const char *heed_model_arch(const heed_model *m);
/* The model's GGUF file (its vocabulary can be read from it with
 * heed_vocab_load), or NULL for a llama2.c checkpoint. */
HEED_API const heed_gguf *heed_model_gguf(const heed_model *m);
HEED_API int32_t heed_model_n_vocab(const heed_model *m);
HEED_API int heed_model_n_embd(const heed_model *m);
HEED_API int heed_model_n_layer(const heed_model *m);
HEED_API int heed_model_n_head(const heed_model *m);
HEED_API int heed_model_n_kv_head(const heed_model *m); /* key/value heads */
HEED_API int heed_model_head_dim(const heed_model *m);  /* floats per head */
HEED_API int heed_model_n_ctx_train(const heed_model *m);
/* Whether the model's attention has learned sinks (gpt-oss): then a
 * captured row's keys sum to less than 1 (heed_capture_sink). */
HEED_API bool heed_model_has_sinks(const heed_model *m);
/* Experts per layer and experts each token is routed to (0: a dense model). */
HEED_API int heed_model_n_expert(const heed_model *m);
HEED_API int heed_model_n_expert_used(const heed_model *m);
/* Bytes of the matrices one decode step reads: every layer's (of a
 * mixture of experts, the share of the experts a token is routed to; of
 * an encoder-decoder, the decoder's but for the cross-attention keys' and
 * values', made once per encoding), and the output head (the embedding
 * table only through a tied output head). */
HEED_API int64_t heed_model_matrix_bytes(const heed_model *m);
HEED_API int32_t heed_model_bos(const heed_model *m); /* -1 if none */
HEED_API int32_t heed_model_eos(const heed_model *m); /* -1 if none */

/* How an encoder's per-token outputs become one embedding. */
typedef enum heed_pooling {
    HEED_POOLING_NONE = 0,  /* one vector per token                         */
    HEED_POOLING_MEAN = 1,  /* their average                                */
    HEED_POOLING_CLS = 2,   /* the first token's                            */
    HEED_POOLING_LAST = 3,  /* the last token's                             */
} heed_pooling;

/* True for encoders (bert): they embed text and have no logits. */
HEED_API bool heed_model_is_encoder(const heed_model *m);
/* The pooling the model's metadata asks for (<arch>.pooling_type). */
HEED_API heed_pooling heed_model_pooling(const heed_model *m);
/* For an encoder-decoder (t5): the token its decoder starts from
 * (<arch>.decoder_start_token_id, else BOS, else padding, else 0); -1 for
 * every other model. Such a model's prompt goes to heed_context_encode. */
HEED_API int32_t heed_model_decoder_start(const heed_model *m);

/* A context: one sequence being evaluated, with its KV cache. */
typedef struct heed_context heed_context;

typedef struct heed_context_params {
    int n_ctx;      /* positions the KV cache holds; 0: the model's own     */
    int n_threads;  /* <= 0: every core                                     */
    /* Element types of the cached keys and values: HEED_TYPE_F32, F16 (the
     * default, as llama.cpp's), BF16 or Q8_0 (head_dim a multiple of 32).
     * Attention reads them as they are stored; a row is rounded once, when
     * its token is evaluated. An encoder, whose keys last one call, keeps
     * them in f32. */
    heed_type type_k, type_v;
} heed_context_params;

/* Whether t can be a KV cache type (heed_context_params.type_k/type_v). */
HEED_API bool heed_kv_type_ok(heed_type t);

HEED_API heed_context_params heed_context_default_params(void);
HEED_API heed_status heed_context_new(const heed_model *m, const heed_context_params *p,
                                      heed_context **out);
HEED_API void heed_context_free(heed_context *c);

/*
 * Evaluates n tokens at the next n positions (a prompt in one batch, or one
 * generated token), appending their keys and values to the cache. logits
 * (may be NULL) receives n_vocab floats for the last token, or for every
 * token (n × n_vocab, row-major) when all_logits. Fails, changing nothing,
 * when an id is out of range or the cache would overflow.
 */
HEED_API heed_status heed_context_eval(heed_context *c, const int32_t *ids, int n, float *logits,
                                       bool all_logits);

/*
 * Continuous batching: evaluates n contexts of one model together, context
 * i taking the n_ids[i] tokens ids[i] at its next positions, in as few
 * forward passes as a context's batch allows: each weight's matrix
 * product runs once over every context's rows (so n streams' next tokens
 * cost about one stream's weight reads), each context's attention over its
 * own cache. logits (may be NULL): [n][n_vocab], row i after context i's
 * last token. Equal to heed_context_eval on each context alone: bit for
 * bit where a matrix kernel sums a row the same alone or among others
 * (packed weights, and types without a register tile), else up to the
 * rounding of another summation order (tests/test_batch.c). An attention
 * capture records each context's own rows (a mixture of experts' captured
 * context runs alone); a context with a hook, edits, qk tap or residual
 * tap, or an encoder-decoder's, is evaluated alone within the call. The contexts
 * are distinct; fails, changing nothing, when one id is out of range or
 * one context would overflow.
 */
HEED_API heed_status heed_context_eval_many(heed_context *const *c, const int32_t *const *ids,
                                            const int *n_ids, int n, float *logits);

/*
 * Embeds n tokens as one fresh sequence (the cache is reset first): the
 * final hidden states (after the output norm, where the model has one),
 * pooled. out receives n × n_embd floats for HEED_POOLING_NONE, else
 * n_embd. Encoders need all n tokens within the context.
 */
HEED_API heed_status heed_context_embed(heed_context *c, const int32_t *ids, int n,
                                        heed_pooling pooling, float *out);
/*
 * An encoder-decoder (heed_model_decoder_start >= 0): runs the encoder over
 * n tokens (at most n_ctx) and keeps what the decoder's cross-attention
 * reads, emptying the decoder's cache; heed_context_eval then evaluates
 * decoder tokens, the first being the decoder start token. heed_context_
 * reset empties the decoder's cache and keeps the encoding. Hooks, edits
 * and steering see the decoder only; an attached HEED_ATTN_ENCODER capture
 * records the encoder's attention, and the qk tap sees it.
 */
HEED_API heed_status heed_context_encode(heed_context *c, const int32_t *ids, int n);
HEED_API int heed_context_n_past(const heed_context *c);  /* positions filled      */
HEED_API const heed_model *heed_context_model(const heed_context *c);
HEED_API int heed_context_n_ctx(const heed_context *c);
/* Bytes of the KV cache (keys and values of every layer): n_ctx positions
 * per layer, but only the window and a batch for a sliding-window layer. */
HEED_API size_t heed_context_kv_bytes(const heed_context *c);
HEED_API void heed_context_reset(heed_context *c);        /* empties the cache     */
/* Keeps only the first n_past positions of the cache (n_past no more than
 * the positions it holds, and, with sliding-window layers, no further back
 * than the window of the last evaluation's first position): evaluation
 * goes on from there. */
HEED_API heed_status heed_context_truncate(heed_context *c, int n_past);
/*
 * Gives dst the first n_past positions of src's cache, as if dst had
 * evaluated the same tokens (src unchanged): a prompt evaluated once
 * serves several generations (a server's n choices). Both contexts are of
 * one model with the same cache types; n_past is at most what src holds
 * and what fits dst. HEED_ERR_UNSUPPORTED for an encoder-decoder, or a
 * sliding-window layer of src that no longer holds a position n_past's
 * next token would see (then dst is left empty).
 */
HEED_API heed_status heed_context_copy_cache(heed_context *dst, const heed_context *src,
                                             int n_past);

/* ------------------------------------------------------------ tokenizers */

/*
 * A vocabulary is read from the tokenizer.* keys of a GGUF file and turns
 * text into token ids and back exactly as llama.cpp does for the same file:
 *   - "llama": SentencePiece BPE driven by scores, byte fallback <0xNN>,
 *     "▁" as the space marker, add_space_prefix;
 *   - "gpt2": byte-level BPE with merge ranks, after the pre-tokenizer named
 *     by tokenizer.ggml.pre (its regexes run through PCRE2);
 *   - "bert": WordPiece as llama.cpp's WPM (lower case, first code point of
 *     NFD, punctuation split, "▁"-prefixed word starts, [UNK]).
 * Control and unknown tokens are matched in text only when parse_special
 * is set; user-defined tokens always are (as llama.cpp does).
 */
typedef struct heed_vocab heed_vocab;

/*
 * Reads the vocabulary of an open GGUF file. The vocabulary copies what it
 * needs: g may be closed afterwards. Errors name the key and what was
 * expected: HEED_ERR_NOT_FOUND (tokenizer.ggml.model / .tokens / .merges
 * missing), HEED_ERR_TYPE (a key of another type), HEED_ERR_FORMAT
 * (array lengths disagree), HEED_ERR_UNSUPPORTED (a tokenizer model or
 * pre-tokenizer heed does not know, named in the message).
 */
HEED_API heed_status heed_vocab_load(const heed_gguf *g, heed_vocab **out);
/* The same, opening (and closing) the GGUF file at path. */
HEED_API heed_status heed_vocab_load_file(const char *path, heed_vocab **out);
/* Reads llama2.c's tokenizer.bin (which does not store its size: n_vocab
 * comes from the model) as a SentencePiece vocabulary. */
HEED_API heed_status heed_vocab_load_llama2c(const char *path, int32_t n_vocab,
                                             heed_vocab **out);
HEED_API void heed_vocab_free(heed_vocab *v);

HEED_API int32_t heed_vocab_n_tokens(const heed_vocab *v);
HEED_API const char *heed_vocab_model(const heed_vocab *v); /* "llama", "gpt2", "bert" */
HEED_API const char *heed_vocab_pre(const heed_vocab *v);   /* pre-tokenizer, "" if none */
/* Special ids; -1 when the vocabulary has none. */
HEED_API int32_t heed_vocab_bos(const heed_vocab *v);
HEED_API int32_t heed_vocab_eos(const heed_vocab *v);
HEED_API int32_t heed_vocab_eot(const heed_vocab *v);
HEED_API int32_t heed_vocab_unk(const heed_vocab *v);
HEED_API int32_t heed_vocab_sep(const heed_vocab *v);
HEED_API int32_t heed_vocab_pad(const heed_vocab *v);
HEED_API bool heed_vocab_add_bos(const heed_vocab *v);
HEED_API bool heed_vocab_add_eos(const heed_vocab *v);
/* True for tokens that end generation (EOS, EOT, <|im_end|>, ...). */
HEED_API bool heed_vocab_is_eog(const heed_vocab *v, int32_t id);
/* True for control and unknown tokens (those parse_special governs). */
HEED_API bool heed_vocab_is_control(const heed_vocab *v, int32_t id);

/* The stored text of token id (not NUL-terminated, *len bytes), or NULL if
 * id is out of range. Lives as long as v. */
HEED_API const char *heed_vocab_token_text(const heed_vocab *v, int32_t id, size_t *len);
/* Id of the token whose stored text is exactly text[0..len), or -1. */
HEED_API int32_t heed_vocab_token_id(const heed_vocab *v, const char *text, size_t len);

/*
 * Tokenizes text[0..len) (any bytes; invalid UTF-8 is handled as llama.cpp
 * does: BPE and WordPiece see U+FFFD, SentencePiece falls back to bytes).
 * add_special adds BOS/EOS (SEP for bert) as the vocabulary asks;
 * parse_special matches control tokens written in the text. On success
 * *ids is a malloc'd array of *n ids (free() it; may be NULL when *n is 0).
 */
HEED_API heed_status heed_tokenize(const heed_vocab *v, const char *text, size_t len,
                                   bool add_special, bool parse_special,
                                   int32_t **ids, size_t *n);

/*
 * The text of one token: byte-fallback pieces give their byte, byte-level
 * BPE pieces their bytes, "▁" becomes a space. Control and unknown tokens
 * give "" unless special is set (then their stored text). Returns a pointer
 * into v (valid while v lives) and sets *len; NULL for an id out of range.
 */
HEED_API const char *heed_token_to_piece(const heed_vocab *v, int32_t id, bool special,
                                         size_t *len);

/*
 * Ids back to text, as llama.cpp's llama_detokenize: remove_special drops a
 * leading BOS / trailing EOS the vocabulary adds; unparse_special renders
 * control tokens. The space SentencePiece prefixes is removed, and for
 * vocabularies that ask for it (clean_up_tokenization_spaces) " ," " ."
 * " 's" ... are cleaned. *text is malloc'd and NUL-terminated (*len bytes
 * before the NUL). HEED_ERR_ARG names an id out of range.
 */
HEED_API heed_status heed_detokenize(const heed_vocab *v, const int32_t *ids, size_t n,
                                     bool remove_special, bool unparse_special,
                                     char **text, size_t *len);

/*
 * Streaming detokenizer: feed ids one at a time, get text that never ends
 * inside a UTF-8 sequence (the bytes of an incomplete sequence wait for the
 * next token). Bytes that can never become valid UTF-8 pass through as they
 * are. Concatenated outputs plus the flush equal heed_detokenize with
 * remove_special=false, except that the space clean-up is not applied.
 */
typedef struct heed_detok_stream heed_detok_stream;

/* A stream over v in *out (NULL on failure: HEED_ERR_ARG for a NULL v,
 * HEED_ERR_NOMEM). special renders control tokens. v must outlive the
 * stream. */
HEED_API heed_status heed_detok_stream_new(const heed_vocab *v, bool special,
                                           heed_detok_stream **out);
HEED_API void heed_detok_stream_free(heed_detok_stream *s);
/* Adds id; *out / *len: the text now complete (pointer valid until the
 * next call on s). HEED_ERR_ARG for an id out of range. */
HEED_API heed_status heed_detok_stream_push(heed_detok_stream *s, int32_t id,
                                            const char **out, size_t *len);
/* Returns whatever is still held back (an incomplete sequence) and resets. */
HEED_API void heed_detok_stream_flush(heed_detok_stream *s, const char **out, size_t *len);

/* -------------------------------------------------------- chat templates */

/*
 * Chat templates turn a conversation into the prompt text a chat model was
 * trained on, exactly as llama.cpp's built-in renderer does (not a Jinja
 * interpreter): the model's tokenizer.chat_template is recognised by the
 * tell-tale substrings llama.cpp checks, then rendered by name. Known:
 * chatml, llama2, llama2-sys, llama2-sys-bos, llama2-sys-strip, mistral-v1,
 * mistral-v3, mistral-v3-tekken, mistral-v7, phi3, gemma, zephyr, llama3;
 * "mistral" (and any name starting with it) is llama.cpp's alias for the
 * pre-v1 Mistral format, which is llama2's.
 */
typedef struct heed_chat_message {
    const char *role;    /* "system", "user", "assistant" (others as the
                            template does: most write the role as given)  */
    const char *content; /* NUL-terminated UTF-8                          */
} heed_chat_message;

/* The names heed_chat_apply accepts, comma-separated (a static string). */
HEED_API const char *heed_chat_template_names(void);

/*
 * The canonical name of the known template that jinja (a model's
 * tokenizer.chat_template text) is, found by the same substrings in the
 * same order as llama.cpp's llm_chat_detect_template; NULL when it is none
 * of them (or one llama.cpp knows but heed does not render). A template
 * name or alias is accepted too and gives its canonical name.
 */
HEED_API const char *heed_chat_template_detect(const char *jinja);

/*
 * Renders msgs[0..n) with template_name (a name, an alias, or any template
 * text heed_chat_template_detect recognises). add_assistant appends the
 * start of the assistant's reply where the template has one (the llama2
 * and mistral formats have none). *out is malloc'd and NUL-terminated
 * (free() it). HEED_ERR_ARG names an unknown template and lists the known
 * ones, or a message with a NULL role or content.
 */
HEED_API heed_status heed_chat_apply(const char *template_name, const heed_chat_message *msgs,
                                     size_t n, bool add_assistant, char **out);

/* ------------------------------------------------------ Jinja templates */

/*
 * heed renders a model's own chat template (its tokenizer.chat_template)
 * with a Jinja interpreter of its own that gives the bytes Hugging Face's
 * apply_chat_template gives: jinja2's ImmutableSandboxedEnvironment with
 * trim_blocks, lstrip_blocks and loop controls, plus HF's tojson
 * (json.dumps with ensure_ascii=False, indent, separators, sort_keys),
 * raise_exception and strftime_now. Values are Python's; a variable that
 * is not there is jinja2's Undefined. Rendering is bounded (256 MiB of
 * memory, 16 MiB of output, a million loop iterations and macro calls,
 * macros 100 deep, range() of at most 100000 as the sandbox allows).
 *
 * Renders tmpl with the variables of context_json (a JSON object, as
 * Python's json.loads reads it; NULL: none). *out is malloc'd and
 * NUL-terminated (free() it); *out_len (may be NULL) is its length, for
 * output that holds NUL bytes. HEED_ERR_FORMAT for a template that fails
 * (a syntax error, an undefined value used, raise_exception, a limit),
 * HEED_ERR_ARG for a context that is not a JSON object; the message reads
 * "template:LINE:COL: ...". strftime_now reads the clock, or the time
 * HEED_TEMPLATE_NOW names (seconds since the epoch), in local time.
 */
HEED_API heed_status heed_template_render(const char *tmpl, const char *context_json, char **out,
                                          size_t *out_len);

/*
 * The context a chat template expects, as JSON text in *out (malloc'd):
 * {"messages": messages_json, "tools": tools_json (NULL: null, as HF
 * passes), "add_generation_prompt": ..., "bos_token" and "eos_token": the
 * texts of v's tokens ("" without a vocabulary or a token)} and the members
 * of extra_json (a JSON object or NULL), which win over the others. The
 * parts are checked as JSON and kept as written. HEED_ERR_ARG for a part
 * that is not the JSON it should be.
 */
HEED_API heed_status heed_chat_context(const heed_vocab *v, const char *messages_json,
                                       const char *tools_json, bool add_generation_prompt,
                                       const char *extra_json, char **out);

/* -------------------------------------------------------------- sampling */

/*
 * A sampler chooses the next token from a row of logits. Its chain, in
 * llama.cpp's default order: repetition / frequency / presence penalties →
 * top-k → top-p → min-p → temperature → a seeded draw from the softmax
 * (temperature <= 0: greedy). It keeps the token history the penalties
 * read; sampling allocates nothing.
 */
typedef struct heed_sampler heed_sampler;

/*
 * Sampling parameters, with llama.cpp's meaning for each. A filter that is
 * off costs nothing.
 */
typedef struct heed_sampler_params {
    float temp;             /* <= 0: greedy (argmax, ties to the lowest id)  */
    int32_t top_k;          /* keep the k most likely; <= 0 or >= n_vocab: off */
    float top_p;            /* keep the smallest most-likely set whose
                               probability reaches top_p (at least one token);
                               >= 1: off; must be >= 0                       */
    float min_p;            /* keep tokens with p >= min_p * max p; <= 0: off */
    float repeat_penalty;   /* a token seen in the window: logit > 0 ? l / r
                               : l * r; 1: off; must be > 0                  */
    int32_t repeat_last_n;  /* the window of all three penalties, in accepted
                               tokens; 0: off, -1: the whole history         */
    float frequency_penalty; /* l -= count * frequency_penalty               */
    float presence_penalty;  /* l -= presence_penalty if count > 0           */
    uint64_t seed;          /* the same seed gives the same tokens everywhere */
} heed_sampler_params;

/* The default seed. llama.cpp draws a random one by default; heed stays
 * reproducible unless asked otherwise. */
#define HEED_SAMPLER_DEFAULT_SEED UINT64_C(0x68656564) /* "heed" */

/* llama.cpp's defaults: temp 0.8, top_k 40, top_p 0.95, min_p 0.05,
 * repeat_penalty 1 over the last 64 tokens, no frequency or presence
 * penalty; seed HEED_SAMPLER_DEFAULT_SEED. */
HEED_API heed_sampler_params heed_sampler_default_params(void);

/*
 * A sampler for a vocabulary of n_vocab tokens. Checks every parameter
 * (HEED_ERR_ARG, the message names the parameter and its allowed range)
 * and allocates all scratch (about 12 bytes per token, plus 4 per token
 * and the window when a penalty is on). On failure *out is NULL. The
 * params are copied.
 */
HEED_API heed_status heed_sampler_new(const heed_sampler_params *params, int32_t n_vocab,
                                      heed_sampler **out);

/* Frees s and everything it owns; accepts NULL. */
HEED_API void heed_sampler_free(heed_sampler *s);

/*
 * Adds token to the history the penalties see. Accept every token that
 * enters the context, prompt tokens included, in order; sampling does not
 * accept its own result. HEED_ERR_ARG if token is outside [0, n_vocab);
 * HEED_ERR_NOMEM if the window could not grow (it grows, up to
 * repeat_last_n, as tokens arrive; -1 keeps one count per token instead).
 * On failure the history is unchanged.
 */
HEED_API heed_status heed_sampler_accept(heed_sampler *s, int32_t token);

/*
 * Picks the next token from logits[0..n_vocab) (read, never modified):
 * runs the chain, then draws one uniform number (none when greedy) and
 * walks the cumulative distribution. NaN logits count as -infinity; if
 * every logit is -infinity all tokens are equally likely. Returns a token
 * id in [0, n_vocab), or -1 if s or logits is NULL.
 */
HEED_API int32_t heed_sampler_sample(heed_sampler *s, const float *logits);

/*
 * Prompt-lookup decoding's draft: finds the latest earlier occurrence in
 * hist[0..n) of its last ng tokens, for ng from n_max down to n_min, and
 * copies the max_draft tokens that followed it into draft, the copy
 * continuing into itself where hist ends (what repeats goes on
 * repeating). Returns max_draft (0: no occurrence, or bad arguments). Evaluating the
 * draft in one batch and keeping the tokens the sampler would have drawn
 * anyway (heed run --lookup) gives plain decoding's output, faster when
 * the text repeats its context.
 */
HEED_API int heed_lookup_draft(const int32_t *hist, int n, int n_min, int n_max, int32_t *draft,
                               int max_draft);

/* Forgets the history and restarts the random generator from the seed:
 * the sampler then behaves as newly made. */
HEED_API void heed_sampler_reset(heed_sampler *s);

/* -------------------------------------------------------------- grammars */

/*
 * A grammar describes the texts generation may produce. Given to a
 * generator (heed_generate_params.grammar), it masks out, before every
 * draw, the tokens that would take the text outside the grammar (as a
 * logit bias of -infinity would), allows an end-of-generation token only
 * once the text is a whole sentence of it, and ends the generation itself
 * when the text is whole and nothing more can follow. It works on bytes:
 * a token may end inside a character, and every sentence is valid UTF-8.
 *
 * The dialect is llama.cpp's GBNF (README, "Structured output"): rules
 * `name ::= ...`, alternatives, sequences, "literals", [classes] and
 * [^negated] ones with ranges, `.`, groups, * + ? {m} {m,} {m,n}, and
 * # comments. A grammar is read-only once made: one can serve many
 * generators at once, on any threads.
 */
typedef struct heed_grammar heed_grammar;

/*
 * Compiles GBNF text starting from the rule named root (NULL: "root"), for
 * the tokens of v (which must outlive the grammar; NULL: for
 * heed_grammar_match only). HEED_ERR_FORMAT when the text is not GBNF (the
 * message gives the line and column and what was expected there), a rule
 * is used but not defined, or one is left-recursive (it could derive
 * itself before matching a byte); HEED_ERR_UNSUPPORTED for what heed does
 * not take (token references <...>) and past its bounds (repetition
 * counts over 100000, a grammar of over 2^20 elements once repetitions
 * are written out); HEED_ERR_ARG when there is no rule root.
 */
HEED_API heed_status heed_grammar_new(const heed_vocab *v, const char *gbnf, const char *root,
                                      heed_grammar **out);

/*
 * The grammar of the JSON texts that a JSON schema (the schema's JSON
 * text) accepts, written compactly with bounded white space — every
 * sentence validates against the schema. The keywords heed reads are in
 * the README ("Structured output"); any other keyword that constrains
 * values is HEED_ERR_UNSUPPORTED, its message naming it and where it is
 * ("#/properties/age: 'multipleOf' is not supported"). HEED_ERR_FORMAT
 * when schema is not JSON or not a schema.
 */
HEED_API heed_status heed_grammar_from_json_schema(const heed_vocab *v, const char *schema,
                                                   heed_grammar **out);

/* The GBNF text heed_grammar_from_json_schema compiles (its root rule is
 * "root"), in *gbnf (malloc'd: free() it). */
HEED_API heed_status heed_json_schema_to_gbnf(const char *schema, char **gbnf);

/* Frees g; accepts NULL. */
HEED_API void heed_grammar_free(heed_grammar *g);

/*
 * Whether text[0..len) begins some sentence of g (*prefix) and is one
 * whole (*complete). HEED_ERR_UNSUPPORTED when g is too ambiguous to
 * follow (the message says which bound it met).
 */
HEED_API heed_status heed_grammar_match(const heed_grammar *g, const char *text, size_t len,
                                        bool *prefix, bool *complete);

/* ------------------------------------------------------------ tool calls */

/*
 * A chat model calls tools by writing the calls in its own format, which
 * its chat template shows (Hermes' <tool_call>{...}</tool_call>, Mistral's
 * [TOOL_CALLS], gpt-oss's channels, ...). These functions name a
 * template's format, turn the model's output into an OpenAI assistant
 * message — content, reasoning_content and tool_calls — whole or as
 * streamed deltas, and make the grammar that forces a call. Results are
 * JSON text in OpenAI's shapes (README, "Tool calls").
 */

/* The formats, comma-separated (a static string): generic, hermes,
 * qwen3-coder, seed-oss, glm-4.5, llama3, mistral-nemo, mistral,
 * functionary-v3.1, functionary-v3.2, firefunction-v2, command-r7b,
 * deepseek-r1, deepseek-v3.1, gpt-oss, kimi-k2, granite. */
HEED_API const char *heed_chat_format_names(void);

/*
 * The format a chat template (a model's tokenizer.chat_template text)
 * writes tool calls in, told by its tell-tale substrings as llama.cpp
 * tells them; "generic" (llama.cpp's JSON format, which the model is
 * told about in a system message) for a template none fits, and for NULL.
 * A format's name gives itself. Never NULL.
 */
HEED_API const char *heed_chat_format_detect(const char *template_text);

/*
 * The texts format writes its calls and reasoning with ("<tool_call>",
 * "[TOOL_CALLS]", "<|channel|>", ...: llama.cpp's preserved tokens and
 * grammar triggers), NULL-terminated and static; NULL for an unknown
 * format. A model whose vocabulary holds one as a control token writes
 * that token: give their ids (heed_vocab_token_id) to
 * heed_generate_params.preserved, so the text shows them and the tool
 * grammar can match them.
 */
HEED_API const char *const *heed_chat_format_markers(const char *format);

typedef struct heed_chat_parse_params {
    const char *format;           /* one of heed_chat_format_names          */
    const char *reasoning_format; /* "auto" (NULL) or "deepseek": reasoning
                                     in reasoning_content; "none": the text
                                     in content as written (llama-server's
                                     --reasoning-format)                   */
    bool tool_calls;              /* look for tool calls (the request has
                                     tools and tool_choice is not "none")  */
    const char *tools;            /* the request's tools (JSON), or NULL:
                                     with them, a string argument of the
                                     XML formats stays a string            */
    const char *prompt;           /* the rendered prompt, or NULL: one that
                                     ends in an open reasoning tag (Qwen3's
                                     "<think>\n") starts the output inside
                                     the reasoning                         */
    uint64_t id_seed;             /* the tool-call ids the model does not
                                     write (32 letters and digits, as
                                     llama-server's): from this seed, or
                                     random when 0                         */
} heed_chat_parse_params;

/*
 * A parser of one model output, fed as it is generated. Calls and
 * reasoning are found as llama.cpp's common/chat.cpp finds them; a call
 * whose start is seen but which does not parse stays in the content as
 * text (llama.cpp then takes the whole output as content). HEED_ERR_ARG
 * names an unknown format or reasoning format; HEED_ERR_FORMAT when tools
 * is not a JSON array.
 */
typedef struct heed_chat_parser heed_chat_parser;
HEED_API heed_status heed_chat_parser_new(const heed_chat_parse_params *p,
                                          heed_chat_parser **out);
HEED_API void heed_chat_parser_free(heed_chat_parser *p);

/*
 * Adds text[0..len) to the output. *deltas (malloc'd: free() it) is a
 * JSON array of the OpenAI chunk deltas that are now sure, in order:
 * {"reasoning_content": ...}, {"content": ...}, and per tool call, once
 * it is whole, {"tool_calls": [{"index": i, "id": ..., "type": "function",
 * "function": {"name": ..., "arguments": ""}}]} then {"tool_calls":
 * [{"index": i, "function": {"arguments": ...}}]}. Text that may still
 * turn out to be part of a call or a tag is held back. Their concatenation
 * is always a prefix of the final message.
 */
HEED_API heed_status heed_chat_parser_feed(heed_chat_parser *p, const char *text, size_t len,
                                           char **deltas);
/*
 * Ends the output: *deltas (may be NULL) as heed_chat_parser_feed gives
 * them, the rest; *message the whole message, {"role": "assistant",
 * "content": ..., "reasoning_content": ..., "tool_calls": [{"id": ...,
 * "type": "function", "function": {"name": ..., "arguments": ...}}]}
 * (content null when empty beside calls; reasoning_content and tool_calls
 * only when there are some; arguments compact JSON). The parser can then
 * only be freed.
 */
HEED_API heed_status heed_chat_parser_finish(heed_chat_parser *p, char **deltas,
                                             char **message);
/* The message of a whole output at once: what a parser fed text gives. */
HEED_API heed_status heed_chat_parse(const heed_chat_parse_params *p, const char *text,
                                     size_t len, char **message);

/*
 * The GBNF grammar (heed_grammar_new, root "root") that makes a model of
 * format write tool calls: with tool_choice "required" (JSON text, as in
 * the request), one call to one of tools (their JSON array) — several
 * with parallel — whose arguments validate against the function's
 * "parameters" schema; with {"type": "function", "function": {"name": N}}
 * a call to N; with "auto" (or NULL), text, or text then such calls:
 * the text may not contain the format's call marker, after which the
 * calls are forced (llama.cpp's lazy grammar, written as a grammar); with
 * "none", no grammar (*gbnf NULL). prompt as in heed_chat_parse_params:
 * after an open reasoning tag the calls may come after its close tag.
 * HEED_ERR_ARG for an unknown format, function or tool_choice;
 * HEED_ERR_UNSUPPORTED for "auto" in a format whose calls have no marker
 * to wait for, and what heed_json_schema_to_gbnf does not take.
 */
HEED_API heed_status heed_chat_tool_grammar(const char *format, const char *tools,
                                            const char *tool_choice, bool parallel,
                                            const char *prompt, char **gbnf);

/* ------------------------------------------------------------ generation */

/* log Σ exp(x[i]) over x[0..n), in double (the log-softmax's normaliser:
 * token i's log-probability is x[i] minus it); -inf when n is 0. */
HEED_API double heed_log_sum_exp(const float *x, int64_t n);

/* The ids of the (at most) k largest of x[0..n), largest first, ties to
 * the lower id, NaNs skipped, into ids[0..k); returns how many. */
HEED_API int heed_top_k(const float *x, int64_t n, int k, int32_t *ids);

/*
 * A generator: a prompt's continuation on a context, one token per step —
 * the sampler, the streaming detokenizer, stop strings, log-probabilities
 * and prompt-lookup drafts in one loop, which `heed run`, `heed serve`
 * and the Python package all run.
 */
typedef struct heed_generator heed_generator;

enum { HEED_GEN_MAX_TOP = 20, HEED_GEN_MAX_STOPS = 16 };

/* A bias added to one token's logit before sampling (-INFINITY bans it). */
typedef struct heed_logit_bias {
    int32_t token;
    float bias;
} heed_logit_bias;

typedef struct heed_generate_params {
    heed_sampler_params sampler;
    int max_tokens;            /* tokens to generate at most; <= 0: no limit */
    const char *const *stops;  /* stop strings: the text ends before the first
                                  to appear (copied; at most HEED_GEN_MAX_STOPS) */
    int n_stops;
    int top_logprobs;          /* < 0: no log-probabilities; else the token's
                                  and its top_logprobs likeliest alternatives
                                  (at most HEED_GEN_MAX_TOP) */
    int lookup;                /* prompt-lookup draft tokens per step (0: off);
                                  the output stays plain decoding's */
    bool ignore_eos;           /* an end-of-generation token is text as any */
    const heed_logit_bias *logit_bias; /* added to the logits every step,
                                  before the sampler and the log-probabilities
                                  see them (copied; a token may repeat: the
                                  biases add)                                 */
    int n_logit_bias;          /* at most HEED_GEN_MAX_BIAS                    */
    int n_cached;              /* the context already holds prompt[0..n_cached)
                                  at positions 0.. (an earlier evaluation of
                                  the same tokens, same interventions): the
                                  generator keeps them and evaluates the rest
                                  (at least the last prompt token); falls back
                                  to the whole prompt where the cache cannot
                                  be cut there (a sliding window). 0: from an
                                  empty cache. heed_generator_n_cached says
                                  how many it kept                            */
    const heed_grammar *grammar; /* NULL: none; else made for the generator's
                                  vocabulary, and outliving the generator.
                                  Log-probabilities are then those of the
                                  tokens it allows (the others' are -inf)   */
    const int32_t *preserved;  /* control tokens the text shows as their
                                  stored text, and a grammar matches so
                                  (llama.cpp's preserved tokens: a chat
                                  format's markers, heed_chat_format_markers;
                                  copied; at most HEED_GEN_MAX_PRESERVED).
                                  Other control tokens are ""              */
    int n_preserved;
} heed_generate_params;
#define HEED_GEN_MAX_BIAS 1024
#define HEED_GEN_MAX_PRESERVED 64

/* The sampler's defaults, no limit, no stops, no log-probabilities. */
HEED_API heed_generate_params heed_generate_default_params(void);

typedef enum heed_gen_finish {
    HEED_GEN_RUNNING = 0,
    HEED_GEN_EOG,          /* the model ended it (an end-of-generation token),
                              or the grammar: its sentence is whole and
                              nothing can follow                           */
    HEED_GEN_STOP,         /* a stop string appeared                          */
    HEED_GEN_LENGTH,       /* max_tokens generated, or heed_generator_stop    */
    HEED_GEN_CONTEXT_FULL, /* no room left in the context for the next token */
    HEED_GEN_ERROR,        /* an evaluation failed, or the grammar cannot go
                              on (no token fits, or past its bounds):
                              heed_generator_status                       */
} heed_gen_finish;

/* A generated token: its id and, with top_logprobs >= 0, its
 * log-probability under the distribution before sampling (temperature 1,
 * no truncation) and the n_top likeliest ids with theirs. */
typedef struct heed_gen_token {
    int32_t id;
    float logprob;
    int n_top;
    int32_t top_ids[HEED_GEN_MAX_TOP];
    float top_logprobs[HEED_GEN_MAX_TOP];
} heed_gen_token;

/*
 * Starts a generation on c: resets it, shows the prompt to the sampler's
 * penalties and evaluates it (an encoder-decoder's prompt is encoded, and
 * its decoder evaluates the decoder start token). v turns tokens into text (NULL: ids only —
 * then no stop strings, and the end of generation is the model's EOS).
 * c and v must outlive the generator. On failure *out is NULL.
 */
HEED_API heed_status heed_generator_new(heed_context *c, const heed_vocab *v,
                                        const int32_t *prompt, int n_prompt,
                                        const heed_generate_params *p, heed_generator **out);
/*
 * As heed_generator_new, for a prompt the caller has evaluated: c holds
 * exactly prompt[0..n_prompt) (heed_context_n_past is n_prompt) and logits
 * is the row after its last token — so a server evaluates the prompts of
 * several joining requests, last tokens included, in one pass
 * (heed_context_eval_many). p->n_cached is not read; heed_generator_
 * n_cached is then n_prompt. A decoder's; HEED_ERR_UNSUPPORTED for an
 * encoder-decoder.
 */
HEED_API heed_status heed_generator_new_evaluated(heed_context *c, const heed_vocab *v,
                                                  const int32_t *prompt, int n_prompt,
                                                  const heed_generate_params *p,
                                                  const float *logits, heed_generator **out);
HEED_API void heed_generator_free(heed_generator *g);

/*
 * One step: samples the next token (into *tok, may be NULL), appends its
 * text and evaluates it. *text, *len: the text that is final now — bytes
 * that could still begin a stop string, or split a UTF-8 character, are
 * held back until they cannot. Returns true while generation goes on;
 * false once finished (*tok is then the last token sampled, which, for
 * HEED_GEN_EOG by an end-of-generation token, added no text), after which
 * steps return false and no text. The concatenated texts are the whole
 * output; cut short (HEED_GEN_LENGTH, _CONTEXT_FULL, _STOP), it may be
 * less than a whole sentence of the grammar.
 */
HEED_API bool heed_generator_step(heed_generator *g, const char **text, size_t *len,
                                  heed_gen_token *tok);
/*
 * Steps n generators at once (continuous batching; their contexts distinct,
 * of one model): each samples and hands out its text as
 * heed_generator_step does (text[i], len[i], tok[i]; tok may be NULL), and
 * the tokens of those still running go through one forward pass
 * (heed_context_eval_many); one with prompt lookup evaluates its draft
 * alone. A finished generator gives no text. Returns how many still run.
 */
HEED_API int heed_generator_step_many(heed_generator *const *g, int n, const char **text,
                                      size_t *len, heed_gen_token *tok);
/* Ends a running generation now (HEED_GEN_LENGTH), giving the text still
 * held back. */
HEED_API void heed_generator_stop(heed_generator *g, const char **text, size_t *len);
/* The prompt tokens the generator took from the cache (see n_cached). */
HEED_API int heed_generator_n_cached(const heed_generator *g);
HEED_API heed_gen_finish heed_generator_finish(const heed_generator *g);
/* What failed, for HEED_GEN_ERROR (HEED_OK otherwise). */
HEED_API heed_status heed_generator_status(const heed_generator *g);
/* Tokens generated (an ending EOG token not counted). */
HEED_API int heed_generator_n_tokens(const heed_generator *g);

/* --------------------------------------------------------------- capture */

/*
 * Attention capture: the post-softmax weights heads give keys, written by
 * the attention operator as it computes them (turning capture on or off
 * changes no logit), for prefill and for every later decode step.
 *
 * What is kept: rows of query positions [row_begin, row_end) of the chosen
 * layers and heads (default: all), each over keys 0..n_keys-1 (n_keys =
 * n_tokens but for cross-attention) — whole (dense, n_keys floats) or only
 * the top_k largest weights. Dense rows live in memory, or, with npy_path,
 * in a memory-mapped .npy file of shape (layers, heads, rows, n_keys)
 * that the OS writes out as it fills (for prompts whose capture does not
 * fit in RAM). heed_capture_bytes says how much the rows take;
 * heed_capture_new refuses more than max_bytes of memory.
 *
 * KV telemetry: for every layer, the total weight each key position
 * received, summed over all heads and every query evaluated while the
 * capture was attached (prompt and generated tokens) — kept whatever the
 * row selection.
 *
 * A capture records one kind of attention. An encoder-decoder (t5) has
 * three, each a capture of its own, attached together: its encoder's
 * self-attention [layer][head][src][src] (bidirectional, recorded by
 * heed_context_encode), its decoder's [layer][head][tgt][tgt] (causal)
 * and the decoder's cross-attention over the encoding [layer][head][tgt]
 * [src], whose rows have n_keys = src keys (the seeds' context vector
 * c = Σ αᵢ hᵢ reads these weights αᵢ). Every other model has one, SELF.
 */
typedef struct heed_capture heed_capture;

typedef enum heed_attn_kind {
    HEED_ATTN_SELF = 0,    /* a model's own (decoder's, or encoder's) stack  */
    HEED_ATTN_ENCODER = 1, /* an encoder-decoder's encoder                   */
    HEED_ATTN_CROSS = 2,   /* an encoder-decoder's decoder reading the
                              encoding: queries are decoder positions, keys
                              encoder positions                             */
} heed_attn_kind;

typedef struct heed_capture_params {
    int n_tokens;           /* positions 0..n_tokens-1: queries (and keys)   */
    const int *layers;      /* layers whose rows are kept (NULL: all; an
                               empty list: none, for the routing and the
                               telemetry alone)                            */
    int n_layers;
    const int *heads;       /* query heads whose rows are kept (NULL: all)   */
    int n_heads;
    int row_begin, row_end; /* query positions kept; row_end 0: n_tokens     */
    int top_k;              /* 0: whole rows; K: each row's K largest keys   */
    const char *npy_path;   /* dense rows in this .npy file instead of RAM   */
    int64_t max_bytes;      /* most memory the rows may take                 */
    heed_attn_kind kind;    /* the attention recorded (default SELF; ENCODER
                               and CROSS need an encoder-decoder)          */
    int n_keys;             /* keys per row; 0: n_tokens (CROSS: the encoded
                               positions, n_tokens then the decoder's)      */
} heed_capture_params;

/* Every layer, head and row of n_tokens, dense, in memory, at most 1 GiB. */
HEED_API heed_capture_params heed_capture_default_params(int n_tokens);
/* Bytes the kept rows take (in memory, or in the file). */
HEED_API int64_t heed_capture_bytes(const heed_model *m, const heed_capture_params *p);
HEED_API heed_status heed_capture_new(const heed_model *m, const heed_capture_params *p,
                                      heed_capture **out);
HEED_API void heed_capture_free(heed_capture *c);
HEED_API int heed_capture_n_tokens(const heed_capture *c); /* query positions */
HEED_API int heed_capture_n_keys(const heed_capture *c);   /* keys of a row     */
HEED_API heed_attn_kind heed_capture_kind(const heed_capture *c);
/* Whether the row of (layer, head, query) is kept. */
HEED_API bool heed_capture_has(const heed_capture *c, int layer, int head, int query);
/* A dense row: the weights keys 0..n_keys-1 got (keys the mask hides are
 * 0; the row sums to 1, less a sink's share: heed_capture_sink), or NULL when the row is not kept or the capture
 * keeps top-k rows. Valid until the capture is freed. */
HEED_API const float *heed_capture_row(const heed_capture *c, int layer, int head, int query);
/* A top-k row: *keys and *weights (largest first, ties by key) of its
 * count entries, the return value (fewer than k when fewer keys are
 * visible); -1 when the row is not kept or the capture is dense. */
HEED_API int heed_capture_top(const heed_capture *c, int layer, int head, int query,
                              const int32_t **keys, const float **weights);
/* The share of the softmax a head's learned sink took in a kept row (the
 * keys' weights sum to 1 minus it; gpt-oss), or 0: no sink, or the row is
 * not kept. */
HEED_API float heed_capture_sink(const heed_capture *c, int layer, int head, int query);
/* The KV telemetry of a layer: n_keys totals (NULL out of range). */
HEED_API const double *heed_capture_received(const heed_capture *c, int layer);
/* Expert routing (mixture-of-experts models), kept for every layer and
 * token whatever the row selection: the experts the token at position
 * query was sent to in layer (*experts) and the weights their outputs
 * were summed with (*weights), the router's choice order (largest
 * probability first); returns their count (heed_model_n_expert_used), or
 * 0 when the model has no experts or the token was not evaluated while
 * the capture was attached. */
HEED_API int heed_capture_experts(const heed_capture *c, int layer, int query,
                                  const int32_t **experts, const float **weights);
/* Makes c record into cap from now on, as the capture of cap's kind (one
 * of each kind can be attached at once; NULL: detach them all). The
 * capture must come from the same model and outlive its use. */
HEED_API void heed_context_set_capture(heed_context *c, heed_capture *cap);
/* Runs ids as one fresh sequence on c (reset first; a decoder's prompt,
 * or an encoder's input, which must fit c) with a capture of all of it
 * attached — every layer, head and row, dense, at most max_bytes — and
 * returns that capture in *out (the caller frees it; c keeps the
 * sequence's keys and values, and no capture attached). */
HEED_API heed_status heed_context_capture(heed_context *c, const int32_t *ids, int n,
                                          int64_t max_bytes, heed_capture **out);

/* One layer's attention inputs, as the operator saw them: query i (at
 * position q_pos0 + i) of head h is q + i*q_stride + h*head_dim; key j (at
 * position k_pos0 + j) of kv head g is k + g*kv_head_stride + j*kv_stride
 * (keys 0..n_kv-1, RoPE applied); query head h reads kv head
 * h / (n_head / n_kv_head). A score is scale · q·k, then, with softcap > 0,
 * softcap · tanh(score / softcap); a causal query sees the keys up to its
 * position, with window > 0 only the last window of them; with sinks, head
 * h's sinks[h] joins the softmax's denominator as one more score. */
typedef struct heed_qk {
    int layer, n_q, n_kv, n_head, n_kv_head, head_dim;
    int64_t q_pos0, q_stride, kv_stride, kv_head_stride;
    const float *q, *k;
    float scale;
    bool causal;
    int64_t k_pos0;
    int window;
    float softcap;
    const float *sinks; /* [n_head] or NULL */
    /* Which attention (an encoder-decoder's encoder, its decoder's self-
     * attention or cross-attention: keys are then encoder positions), and
     * T5's relative position bias (NULL: none): the score of the query at
     * position p, key at position j, head h gains
     * bias[bucket[p - j] * n_head + h]. */
    heed_attn_kind kind;
    const float *bias;
    const int32_t *bucket;
} heed_qk;
typedef void (*heed_qk_fn)(void *user, const heed_qk *qk);
/* Calls fn after every layer's attention of later evaluations, an encoder-
 * decoder's encoding and cross-attention included (NULL: stop): a tap on
 * queries and keys, for checks and interpretability. */
HEED_API void heed_context_set_qk_tap(heed_context *c, heed_qk_fn fn, void *user);

/* Makes later evaluations copy the residual stream of positions
 * [pos_begin, pos_end) into out, laid out [position][n_layer + 1][n_embd]:
 * entry 0 is a position's input to the first block (its embedding), entry
 * l + 1 the stream after block l (out NULL: stop). */
HEED_API void heed_context_set_residual(heed_context *c, float *out, int pos_begin,
                                        int pos_end);
/*
 * Activation hooks: the forward pass hands fn each chosen activation of
 * every later evaluation, one batch of rows at a time (a long prompt is
 * evaluated in batches), after it is computed and before it is used, so
 * fn may read it or change it in place (the pass goes on with fn's
 * values: an intervention). The points, per block (layer 0..n_layer-1),
 * with TransformerLens's names:
 */
typedef enum heed_hook_point {
    HEED_HOOK_RESID_PRE,  /* hook_resid_pre  [n][n_embd] the stream into the block */
    HEED_HOOK_Q,          /* attn.hook_q [n][n_head][head_dim] as attention reads
                             them: normed, rotated, prescaled where the model is */
    HEED_HOOK_K,          /* attn.hook_k [n][n_kv_head][head_dim] normed, rotated,
                             before the KV cache stores (and rounds) them         */
    HEED_HOOK_V,          /* attn.hook_v [n][n_kv_head][head_dim] likewise        */
    HEED_HOOK_Z,          /* attn.hook_z [n][n_head][head_dim] each head's output
                             (its weights times the values), before W_O           */
    HEED_HOOK_ATTN_OUT,   /* hook_attn_out [n][n_embd] what attention adds to the
                             stream                                               */
    HEED_HOOK_RESID_MID,  /* hook_resid_mid [n][n_embd] the stream after it       */
    HEED_HOOK_MLP_OUT,    /* hook_mlp_out [n][n_embd] what the FFN (or the
                             experts) adds                                        */
    HEED_HOOK_RESID_POST, /* hook_resid_post [n][n_embd] the stream out of it     */
    HEED_HOOK_LN_FINAL,   /* ln_final.hook_normalized [n][n_embd], layer n_layer:
                             the final norm's output for the rows whose logits
                             are computed                                         */
    HEED_HOOK_COUNT
} heed_hook_point;

typedef struct heed_activation {
    heed_hook_point point;
    int layer;
    int pos0;     /* position of row 0 */
    int n;        /* rows: tokens of the batch */
    int width;    /* floats per row (heads × head_dim for q, k, v, z) */
    float *data;  /* n × width, row-major */
} heed_activation;
typedef void (*heed_hook_fn)(void *user, heed_activation *a);
/* Calls fn at the points whose bit (1u << point) is in `points`, in
 * later evaluations (points 0 or fn NULL: none). Costs nothing when off. */
HEED_API void heed_context_set_hook(heed_context *c, unsigned points, heed_hook_fn fn,
                                    void *user);

/*
 * Interventions declared up front: edits to the forward pass a context
 * applies in every later evaluation — prefill and each decode step — at
 * the hook points above, before an activation hook sees the rows (a hook
 * reads the edited values). A point with no edit costs nothing.
 */
typedef struct heed_edits heed_edits;
HEED_API heed_status heed_edits_new(const heed_model *m, heed_edits **out);
HEED_API void heed_edits_free(heed_edits *e);
HEED_API void heed_edits_clear(heed_edits *e); /* no edits: as new */
/* Patching: the activation at point in layer (n_layer for
 * HEED_HOOK_LN_FINAL), at position pos (< 0: every position), becomes
 * values (copied) — the whole row of the point's width, or, with head >= 0,
 * that head's head_dim floats of a Q, K, V or Z row; values NULL: zeros.
 * Edits of the same place apply in the order they were made. */
HEED_API heed_status heed_edits_patch(heed_edits *e, heed_hook_point point, int layer, int pos,
                                      int head, const float *values);
/* Ablation of (layer, head): its output (attn.hook_z's slice, before W_O)
 * at every position becomes mean (head_dim floats; a mean over a
 * reference text, from heed_context_mean_activation), or zeros (NULL). */
HEED_API heed_status heed_edits_ablate_head(heed_edits *e, int layer, int head,
                                            const float *mean);
/* Makes c apply e (NULL: none) in later evaluations; e must outlive that
 * use and be made for c's model. */
HEED_API heed_status heed_context_set_edits(heed_context *c, const heed_edits *e);
/* The mean over the n positions of ids, evaluated as a fresh sequence, of
 * point's activation in every layer: out [n_layer + 1][width] (row l layer
 * l's; row n_layer is HEED_HOOK_LN_FINAL's). c's edits and steering apply;
 * its cache is reset before and after, its activation hook kept. */
HEED_API heed_status heed_context_mean_activation(heed_context *c, heed_hook_point point,
                                                  const int32_t *ids, int n, float *out);

/*
 * Steering: vectors [n_layer][n_embd], vectors[l] added to the residual
 * stream at the output of block l for layer_start <= l <= layer_end, in
 * every later evaluation (copied; NULL: off, and no cost). As llama.cpp's
 * control vectors, whose files heed_control_vector_add reads.
 */
HEED_API heed_status heed_context_set_steering(heed_context *c, const float *vectors,
                                               int layer_start, int layer_end);
/*
 * Adds scale × a llama.cpp control-vector file (GGUF, one f32
 * "direction.K" of n_embd per layer K >= 1) into sum [n_layer][n_embd],
 * row K; several files are added in turn, as llama.cpp sums them (its
 * --control-vector and --control-vector-scaled). Directions for layers
 * the model lacks are ignored, as llama.cpp does; a tensor of another
 * name, type or length is refused, naming the file and the tensor.
 */
HEED_API heed_status heed_control_vector_add(const char *path, float scale, int n_embd,
                                             int n_layer, float *sum);
/*
 * Writes such a file as llama.cpp's cvector-generator does, atomically:
 * GGUF v3, general.architecture "controlvector", controlvector.model_hint
 * (model_hint, the model's general.architecture; NULL: no key),
 * controlvector.layer_count (int32: the directions written) and one f32
 * "direction.K" of n_embd for each K in layer_start..layer_end (1 <=
 * layer_start <= layer_end), row K of directions [layer_end + 1][n_embd].
 */
HEED_API heed_status heed_control_vector_write(const char *path, const float *directions,
                                               int n_embd, int layer_start, int layer_end,
                                               const char *model_hint);

/* How heed_control_vector_compute reduces a layer's difference rows to one
 * direction. */
typedef enum heed_control_vector_method {
    HEED_CONTROL_VECTOR_PCA = 0,  /* their first principal direction (llama.cpp's default) */
    HEED_CONTROL_VECTOR_MEAN = 1, /* their mean                                  */
} heed_control_vector_method;

typedef struct heed_control_vector_params {
    heed_control_vector_method method;
    int layer_start, layer_end; /* the directions K computed (1 <= start <=
                                   end <= n_layer - 1); 0, 0: all of them    */
    int pca_iterations;         /* power iterations at most (1000)            */
    double pca_tolerance;       /* stop once the unit vector moves less (1e-7) */
    uint64_t seed;              /* of the power iteration's start vector      */
    void (*progress)(void *user, int done, int total); /* after each pair, or NULL */
    void *user;
} heed_control_vector_params;

/* PCA, every direction, 1000 iterations, tolerance 1e-7, seed
 * HEED_SAMPLER_DEFAULT_SEED, no progress. */
HEED_API heed_control_vector_params heed_control_vector_default_params(void);

/*
 * Control-vector directions from n_pairs pairs of prompts, as llama.cpp's
 * cvector-generator computes them. Pair i is pos[i][0..n_pos[i]) and
 * neg[i][0..n_neg[i]) (token ids, each at least one); the shorter is
 * padded with pad to the longer's length and each is run from an empty
 * cache on c (its n_ctx must hold the longest; steering and hooks set on c
 * apply). At every position the difference positive − negative of the
 * residual stream out of block K − 1 is a row of direction K (K = 1 ..
 * n_layer − 1: direction K, which llama.cpp adds at the output of block
 * K, comes from block K − 1's output, as llama.cpp's does); rows that are
 * zero (|x| <= 1e-6 everywhere: a prefix the two prompts share) are
 * dropped. MEAN: direction K is the rows' mean; PCA: the top eigenvector
 * of Σ row rowᵀ (uncentred), by power iteration from a seeded positive
 * start vector, its sign turned to agree with the mean. Each is unit
 * length, written to row K of directions [n_layer][n_embd] (the other rows
 * untouched); the reduction does not depend on c's thread count. Resets
 * c (a residual tap set on it is kept). HEED_ERR_ARG names a pair, or a
 * direction left with no rows (every pair's prompts the same).
 */
HEED_API heed_status heed_control_vector_compute(heed_context *c, const int32_t *const *pos,
                                                 const int *n_pos, const int32_t *const *neg,
                                                 const int *n_neg, int n_pairs, int32_t pad,
                                                 const heed_control_vector_params *p,
                                                 float *directions);

/*
 * Direct logit attribution: token's logit at the last of n positions (its
 * logit minus foil's, with foil >= 0) split into what each part of the
 * model wrote into the residual stream there, read through the final norm
 * with its scale frozen at this run's value (as TransformerLens does): the
 * embedding, each head of each layer (W_O's columns for the head times its
 * z), each MLP (or mixture of experts), the steering vectors, and every
 * bias (attention and FFN outputs', the final norm's). Sub-blocks normed
 * after they write (gemma's post norms) are frozen the same way. The parts
 * sum to the logit: the output row's dot product with the final norm's
 * output, in double, before any final soft cap. Evaluates
 * ids as a fresh sequence (c's edits and steering apply; its cache is
 * reset after). Causal models with pre-norm blocks only.
 */
typedef struct heed_attribution {
    int32_t token, foil;  /* foil -1: none                                 */
    int position;         /* n - 1                                         */
    double logit;         /* output row · final norm's output (minus foil's) */
    double model_logit;   /* the logit (minus foil's) the model gave: logit
                             but for the rounding of its matrix product and
                             any soft cap                                   */
    double total;         /* the sum of the parts                          */
    double embed, bias, steer;
    double *heads;        /* [n_layer][n_head]                             */
    double *mlp;          /* [n_layer]                                     */
    double scale;         /* the final norm's frozen 1 / rms (or 1 / std)  */
} heed_attribution;
HEED_API heed_status heed_context_attribute(heed_context *c, const int32_t *ids, int n,
                                            int32_t token, int32_t foil,
                                            heed_attribution *out);
HEED_API void heed_attribution_free(heed_attribution *a);

/* The logits the model's output head gives a hidden state of n_embd
 * floats (final norm, then the output matrix): the logit lens. */
HEED_API heed_status heed_context_lens(heed_context *c, const float *hidden, float *logits);

/* ------------------------------------------------------------ inspection */

/* The row of (layer, head, query) as n_keys weights into out[0..
 * heed_capture_n_keys) — copied from a dense row, or a top-k row's keys
 * with every other key 0 — whichever way the capture keeps it; false
 * (out untouched) when the row is not kept. */
HEED_API bool heed_capture_dense_row(const heed_capture *cap, int layer, int head, int query,
                                     float *out);

/* What one attention head does, measured over the kept rows of queries
 * 1..n-1 (a row that is not kept is skipped):
 *   entropy     mean of -Σ w ln w (nats): low = focused
 *   prev_token  mean weight on the previous token
 *   sink        mean weight on the first token
 *   self        mean weight on the query's own position
 *   induction   over queries whose token occurred before: the mean weight
 *               on the tokens that followed its earlier occurrences (0 when
 *               no token repeats) */
typedef struct heed_head_stats {
    double entropy, prev_token, sink, self, induction;
} heed_head_stats;

/* The statistics of (layer, head) in cap, whose first n tokens are ids
 * (n at most heed_capture_n_tokens). All zero when no row is kept.
 * HEED_ERR_ARG for a NULL argument or n out of range; *out is zeroed on
 * failure. */
HEED_API heed_status heed_capture_head_stats(const heed_capture *cap, int layer, int head,
                                             const int32_t *ids, int n, heed_head_stats *out);

/* What one cross-attention head (HEED_ATTN_CROSS capture) does, over the
 * kept rows of target positions 0..n-1, each a distribution over the
 * source positions:
 *   entropy       mean of -Σ w ln w (nats): low = a sharp alignment
 *   monotonicity  the fraction of consecutive kept target pairs (t-1, t)
 *                 whose most attended source position (its argmax, ties to
 *                 the first) does not move backwards: 1 = reads the source
 *                 in order, as a monotonic alignment does (0 when fewer
 *                 than two rows are kept) */
typedef struct heed_cross_stats {
    double entropy, monotonicity;
} heed_cross_stats;
/* HEED_ERR_ARG for a NULL argument, a capture that is not cross-attention
 * or n out of range (1..heed_capture_n_tokens); *out is zeroed on failure. */
HEED_API heed_status heed_capture_cross_stats(const heed_capture *cap, int layer, int head, int n,
                                              heed_cross_stats *out);

/* One captured sequence, for writing as JSON (heed_capture_write_json). */
typedef struct heed_capture_doc {
    const heed_model *m;
    const heed_vocab *v;      /* NULL: pieces show as "#ID"                   */
    const heed_capture *cap;
    const int32_t *ids;       /* the n tokens captured: n_prompt, then the
                                 generated ones                               */
    int n, n_prompt;
    int row_begin, row_end;   /* the query rows the capture keeps             */
    int top_k;                /* 0: dense rows; else the capture's top_k      */
    /* An encoder-decoder's other attentions (NULL: none): its encoder's
     * capture (every row of the n_src source tokens src) and the
     * cross-attention's (rows row_begin..row_end of the targets, over the
     * source); cap, ids and n are then its decoder's, the targets. */
    const heed_capture *enc, *cross;
    const int32_t *src;
    int n_src;
} heed_capture_doc;

/*
 * Writes d as one JSON object to f, streamed row by row: the schema `heed
 * attend --json` writes and the README documents (tokens with their
 * pieces and byte offsets, each kept head's rows — dense, or top-k keys
 * and weights — and learned-sink shares, head statistics, KV telemetry,
 * expert routing; the attention's kind, and for an encoder-decoder the
 * source tokens and the encoder's and cross-attention's blocks). Numbers have 7 significant digits; strings are valid
 * UTF-8 with <, > and & escaped (the JSON can sit in an HTML <script>).
 */
HEED_API heed_status heed_capture_write_json(FILE *f, const heed_capture_doc *d);
/* Parts of it, for documents of their own: the tokens and the text they
 * make ("text": ..., "tokens": [...]); a layer's expert routing
 * ("experts": [[...] per token], "weights": [[...] per token]). */
HEED_API heed_status heed_capture_json_tokens(FILE *f, const heed_capture_doc *d);
HEED_API void heed_capture_json_routing(FILE *f, const heed_capture *cap, int layer, int n);

/* Copies src[0..len) to dst as valid UTF-8: every byte that begins no
 * valid sequence, and every NUL, becomes U+FFFD. dst needs 3 × len bytes;
 * returns the bytes written (no terminator). */
HEED_API size_t heed_utf8_repair(char *dst, const char *src, size_t len);

/*
 * Writes data, a C-order float32 array of ndim (1..8) dimensions
 * shape[0..ndim), to path as a NumPy .npy file (version 1.0,
 * little-endian '<f4'), the format heed_capture_params.npy_path uses:
 * numpy.load(path) reads it. HEED_ERR_ARG for a bad shape, HEED_ERR_IO
 * naming path when it cannot be written.
 */
HEED_API heed_status heed_npy_write(const char *path, const float *data, const int64_t *shape,
                                    int ndim);

/* ------------------------------------------------------------ perplexity */

typedef struct heed_perplexity_result {
    double ppl, ppl_err;  /* perplexity and its ± estimate                   */
    int64_t n_scored;     /* predictions scored                              */
    int n_chunks;         /* windows evaluated                               */
} heed_perplexity_result;

/* Called after each window with the running perplexity. */
typedef void (*heed_perplexity_progress)(void *user, int done, int total, double ppl);

/*
 * Perplexity of tokens as llama.cpp's llama-perplexity computes it:
 * non-overlapping windows of n_ctx tokens, each evaluated from an empty
 * cache with its first token replaced by bos (bos < 0: not replaced),
 * scoring the predictions in each window's second half. Needs at least
 * 2 × n_ctx tokens; resets c.
 */
HEED_API heed_status heed_perplexity(heed_context *c, const int32_t *tokens, int64_t n_tokens,
                                     int n_ctx, int32_t bos, heed_perplexity_progress progress,
                                     void *user, heed_perplexity_result *out);

/* ------------------------------------------------------------------ CPU */

typedef struct heed_cpu {
    bool avx2, fma, f16c, avx512f, avx512bw, avx512vl, avx512vnni, avx512bf16;
} heed_cpu;

/* What this CPU supports (detected once). */
HEED_API const heed_cpu *heed_cpu_get(void);
/* The instruction set the fast kernels use: "avx512", "avx2" or "scalar".
 * HEED_ISA=scalar|avx2|avx512 in the environment lowers it (for tests). */
HEED_API const char *heed_cpu_isa(void);
/* Physical cores (the default thread count). */
HEED_API int heed_cpu_cores(void);
/* The memory read bandwidth, in GB/s (10^9 bytes), that n_threads
 * (<= 0: heed_cpu_cores) of heed's worker threads achieve summing a 1 GiB
 * buffer, best of 5 (about a second; allocates the buffer for the
 * while): the roof a decode step's matrix reads are measured against. */
HEED_API heed_status heed_cpu_membw(int n_threads, double *gbps);

#ifdef __cplusplus
}
#endif
#endif /* HEED_H */
