/* attend_svg.h — captured attention as an SVG heatmap, for papers and slides. */
#ifndef HEED_TOOLS_ATTEND_SVG_H
#define HEED_TOOLS_ATTEND_SVG_H

#include "heed.h"

/* What a heatmap shows: the rows row_begin..row_end-1 of cap (query
 * tokens q_ids[row]) over its n_keys keys (tokens k_ids): a model's own
 * attention (q_ids = k_ids), or an encoder-decoder's cross-attention
 * (targets over the source). causal: keys after a row's position are
 * hidden. v NULL: tokens show as "#ID". */
typedef struct attend_view {
    const heed_model *m;
    const heed_vocab *v;
    const heed_capture *cap;
    const int32_t *q_ids, *k_ids;
    int row_begin, row_end, n_keys;
    bool causal;
} attend_view;

/* With layer and head >= 0: that head's heatmap, queries down, keys
 * across, labelled with the tokens, and (up to 64 tokens a side) the head
 * view beside it: queries left, keys right, joined by lines as opaque as
 * their weights. Otherwise a grid of every kept layer ×
 * head (rows: layers). Darker is more weight; keys the mask hides are grey. */
heed_status attend_svg_write(const char *path, const attend_view *d, int layer, int head);

#endif
