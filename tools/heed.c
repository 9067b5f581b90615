/* heed.c — the command-line interface: dispatches to one subcommand. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

typedef struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *usage;
    const char *summary;
} command;

static const command commands[] = {
    {"info", cmd_info, USAGE_INFO,
     "architecture, hyperparameters, tokenizer and tensor table of a GGUF file"},
    {"run", cmd_run, USAGE_RUN,
     "generate: the prompt in one batch, then one token per step with the KV cache"},
    {"logits", cmd_logits, USAGE_LOGITS,
     "write the logits of every position as float32 [n_ids][n_vocab]"},
    {"next", cmd_next, USAGE_NEXT,
     "the next-token probability table; --lens: what each layer already predicts"},
    {"attend", cmd_attend, USAGE_ATTEND,
     "what a token attends to: each layer's most attended tokens, head-averaged or one head"},
    {"heads", cmd_heads, USAGE_HEADS,
     "every head's behaviour, ranked: entropy, previous-token, sink, self and induction scores"},
    {"experts", cmd_experts, USAGE_EXPERTS,
     "a mixture of experts' routing: the experts each token went to in every layer, with "
     "their weights"},
    {"attribute", cmd_attribute, USAGE_ATTRIBUTE,
     "direct logit attribution: the next token's logit split into what each head, MLP, the "
     "embedding and the biases wrote, ranked"},
    {"ablate", cmd_ablate, USAGE_ABLATE,
     "the next-token table with heads' outputs zeroed (or their mean), beside the table "
     "without, and the KL divergence"},
    {"patch", cmd_patch, USAGE_PATCH,
     "activation patching: how much of the clean answer each layer and position (or head) "
     "of the clean run restores in the corrupt one"},
    {"embed", cmd_embed, USAGE_EMBED,
     "the embedding of a text, pooled as the model says and L2-normalised (-o: float32)"},
    {"similarity", cmd_similarity, USAGE_SIMILARITY,
     "cosine similarities of the texts' embeddings"},
    {"perplexity", cmd_perplexity, USAGE_PERPLEXITY,
     "perplexity of a text file as llama-perplexity computes it (windows of CTX, default 512)"},
    {"tokenize", cmd_tokenize, USAGE_TOKENIZE,
     "token ids and pieces of a text; --inp FILE.inp prints llama.cpp's .out lines"},
    {"detokenize", cmd_detokenize, USAGE_DETOKENIZE, "the text of token ids"},
    {"template", cmd_template, USAGE_TEMPLATE,
     "a chat rendered with the model's own Jinja chat template (or a file's), byte for byte "
     "as Hugging Face's apply_chat_template renders it"},
    {"cvector", cmd_cvector, USAGE_CVECTOR,
     "a control vector (steering directions) from pairs of positive and negative prompts, as "
     "llama-cvector-generator makes one, for run --control-vector"},
    {"quantize", cmd_quantize, USAGE_QUANTIZE,
     "convert a model's matrices to TYPE (f32 f16 bf16 q8_0 q4_0 q4_1 q5_0 q5_1 "
     "q2_K q3_K q4_K q5_K q6_K iq4_nl iq4_xs)"},
    {"bench", cmd_bench, USAGE_BENCH,
     "prompt (pp) and generation (tg) tokens/s, and the memory bandwidth generation reaches"},
    {"synth", cmd_synth, USAGE_SYNTH,
     "a random-weight model of a real model's shape, for benchmarks, or a tiny one of an "
     "architecture for tests (an unknown --shape lists them)"},
    {"train", cmd_train, USAGE_TRAIN,
     "train a small Llama-style model and its BPE tokenizer on a text file; Ctrl-C saves a "
     "checkpoint, --resume continues"},
    {"serve", cmd_serve, USAGE_SERVE,
     "an OpenAI-compatible HTTP server: /v1/completions, /v1/chat/completions (streamed with "
     "\"stream\": true), /v1/embeddings, /v1/attention, /v1/models, /tokenize, /detokenize, "
     "/health"},
};

static void print_tour(FILE *f)
{
    fprintf(f, "heed %s — a language-model engine that shows what the model attends to\n\n"
               "usage: heed COMMAND [ARGS]\n\ncommands:\n", HEED_VERSION);
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
        fprintf(f, "  %-60s\n      %s\n", commands[i].usage, commands[i].summary);
    fprintf(f, "\nheed --version prints the version; heed COMMAND --help the usage.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") ||
        !strcmp(argv[1], "help")) {
        print_tour(stdout);
        return argc < 2 ? EXIT_BAD_INPUT : EXIT_OK;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("heed %s (kernels: %s)\n", HEED_VERSION, heed_cpu_isa());
        return EXIT_OK;
    }
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++) {
        if (strcmp(argv[1], commands[i].name))
            continue;
        for (int a = 2; a < argc; a++)
            if (!strcmp(argv[a], "-h") || !strcmp(argv[a], "--help")) {
                printf("usage: %s\n  %s\n", commands[i].usage, commands[i].summary);
                return EXIT_OK;
            }
        return commands[i].run(argc - 1, argv + 1);
    }
    fprintf(stderr, "heed: unknown command '%s'\n\n", argv[1]);
    print_tour(stderr);
    return EXIT_BAD_INPUT;
}
