/* attend_json.h — the capture of one prompt as JSON (the schema is in the
 * README, "heed attend --json"; other tools read it, keep it stable). */
#ifndef HEED_TOOLS_ATTEND_JSON_H
#define HEED_TOOLS_ATTEND_JSON_H

#include <stdio.h>

#include "heed.h"

typedef struct attend_doc {
    const heed_model *m;
    const heed_vocab *v;      /* NULL: pieces show as "#ID"                   */
    const heed_capture *cap;
    const int32_t *ids;       /* the n tokens captured: n_prompt, then the
                                 generated ones                               */
    int n, n_prompt;
    int row_begin, row_end;   /* the query rows the capture keeps             */
    int top_k;                /* 0: dense rows                                */
} attend_doc;

heed_status attend_json_write(FILE *f, const attend_doc *d);
/* Parts of it: the tokens and the text they make ("text": ..., "tokens":
 * [...]); a layer's expert routing ("experts": [[...] per token],
 * "weights": [[...] per token]). */
heed_status attend_json_put_tokens(FILE *f, const attend_doc *d);
void attend_json_put_routing(FILE *f, const heed_capture *cap, int layer, int n);

#endif
