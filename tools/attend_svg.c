/*
 * attend_svg.c — heatmaps of captured attention as SVG. One cell per
 * (query, key); a heatmap wider than MAX_CELLS cells shows blocks of
 * queries × keys by their largest weight, so the file stays small for long
 * prompts. One head's heatmap has, where its tokens are labelled, bertviz's
 * head view beside it (queries and keys joined by lines). Colour: white (0) to dark blue (1), linear in the weight.
 */
#include "attend_svg.h"

#include <stdlib.h>
#include <string.h>

#include "chart_svg.h"
#include "cli.h"
#include "cli_error.h"

enum { MAX_CELLS = 256, GRID_CELLS = 48, LABEL = 120, ROW = 16, LINES_GAP = 160 };

/* What a one-head title says of the capture's kind (heed_attn_kind). */
static const char *const kind_titles[] = {"", ", encoder", ", cross-attention"};

/* The kept rows of (layer, head) as one n_rows × n_keys matrix. */
static float *dense(const attend_view *d, int layer, int head)
{
    const int n = d->n_keys, rows = d->row_end - d->row_begin;
    float *w = malloc(sizeof *w * (size_t)rows * (size_t)n);
    for (int r = 0; w && r < rows; r++)
        heed_capture_dense_row(d->cap, layer, head, d->row_begin + r, w + (size_t)r * n);
    return w;
}

static void put_label(FILE *f, const attend_view *d, int32_t token)
{
    size_t len = 0;
    const char *p = d->v ? heed_token_to_piece(d->v, token, true, &len) : NULL;
    char buf[3 * 48 + 1], id[16];
    if (!p)
        len = (size_t)snprintf(id, sizeof id, "#%d", token);
    if (len > 48)
        len = 48;
    const size_t n = cli_utf8_append(buf, 0, p ? p : id, len);
    svg_escaped(f, buf, n);
}

/* One heatmap of w (rows × n) at (x, y), cells of `cell` pixels, at most
 * `max_cells` cells a side. */
static void put_heatmap(FILE *f, const attend_view *d, const float *w, double x, double y,
                        double cell, int max_cells)
{
    const int n = d->n_keys, rows = d->row_end - d->row_begin;
    const bool causal = d->causal;
    const int qs = (rows + max_cells - 1) / max_cells, ks = (n + max_cells - 1) / max_cells;
    for (int r0 = 0; r0 < rows; r0 += qs)
        for (int k0 = 0; k0 < n; k0 += ks) {
            const int q_last = d->row_begin + (r0 + qs < rows ? r0 + qs : rows) - 1;
            const double cx = x + (k0 / ks) * cell, cy = y + (r0 / qs) * cell;
            if (causal && k0 > q_last) { /* the whole block is hidden by the mask */
                fprintf(f, "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" "
                        "fill=\"#d9d9d9\"/>\n", cx, cy, cell, cell);
                continue;
            }
            float top = 0;
            for (int r = r0; r < r0 + qs && r < rows; r++)
                for (int k = k0; k < k0 + ks && k < n; k++)
                    if (w[(size_t)r * n + k] > top)
                        top = w[(size_t)r * n + k];
            const double t = top > 1 ? 1 : top; /* white to dark blue */
            fprintf(f, "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" "
                    "fill=\"#%02x%02x%02x\"><title>%.4f</title></rect>\n", cx, cy, cell, cell,
                    (int)(255 - 247 * t + 0.5), (int)(255 - 207 * t + 0.5),
                    (int)(255 - 148 * t + 0.5), t);
        }
}

/* bertviz's head view at (x, y): the queries down the left, the keys down
 * the right, a line from each query to each key it gives at least 1% of its
 * weight, as opaque as the weight. */
static void put_lines(FILE *f, const attend_view *d, const float *w, double x, double y)
{
    const int n = d->n_keys, rows = d->row_end - d->row_begin;
    const double left = x + LABEL, right = left + LINES_GAP;
    fprintf(f, "<g stroke=\"#2563eb\" stroke-width=\"1.5\" shape-rendering=\"geometricPrecision\">\n");
    for (int r = 0; r < rows; r++)
        for (int k = 0; k < n; k++)
            if (w[(size_t)r * n + k] >= 0.01f)
                fprintf(f, "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" "
                        "stroke-opacity=\"%.3f\"/>\n", left + 4, y + (r + 0.5) * ROW, right - 4,
                        y + (k + 0.5) * ROW, w[(size_t)r * n + k] > 1 ? 1.0 : w[(size_t)r * n + k]);
    fputs("</g>\n", f);
    const bool cross = heed_capture_kind(d->cap) == HEED_ATTN_CROSS;
    fprintf(f, "<text x=\"%.2f\" y=\"%.2f\" text-anchor=\"end\" fill=\"#66707c\">%s</text>\n"
            "<text x=\"%.2f\" y=\"%.2f\" fill=\"#66707c\">%s</text>\n", left, y - 8,
            cross ? "target" : "query", right, y - 8, cross ? "source" : "key");
    for (int r = 0; r < rows; r++) {
        fprintf(f, "<text x=\"%.2f\" y=\"%.2f\" text-anchor=\"end\">", left, y + (r + 0.75) * ROW);
        put_label(f, d, d->q_ids[d->row_begin + r]);
        fputs("</text>\n", f);
    }
    for (int k = 0; k < n; k++) {
        fprintf(f, "<text x=\"%.2f\" y=\"%.2f\">", right, y + (k + 0.75) * ROW);
        put_label(f, d, d->k_ids[k]);
        fputs("</text>\n", f);
    }
}

static heed_status one_head(FILE *f, const attend_view *d, int layer, int head)
{
    float *w = dense(d, layer, head);
    if (!w)
        return cli_set_error(HEED_ERR_NOMEM, "out of memory for the heatmap");
    const int rows = d->row_end - d->row_begin;
    const int side = rows > d->n_keys ? rows : d->n_keys;
    const double cell = side <= 32 ? 16 : side <= MAX_CELLS ? 512.0 / side : 2;
    const int cols = d->n_keys < MAX_CELLS ? d->n_keys : MAX_CELLS;
    const int shown_rows = rows < MAX_CELLS ? rows : MAX_CELLS;
    const bool labels = side <= 64; /* and beside the heatmap, the head view */
    const double x0 = labels ? LABEL : 10, y0 = (labels ? LABEL : 10) + 24;
    const double lines_x = x0 + cols * cell + 40;
    const double width = labels ? lines_x + 2 * LABEL + LINES_GAP : x0 + cols * cell + 10;
    const double height = y0 + (labels && side * ROW > shown_rows * cell ? side * ROW : shown_rows * cell) + 10;
    fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" shape-rendering=\"crispEdges\" width=\"%.0f\" height=\"%.0f\" "
            "font-family=\"sans-serif\" font-size=\"11\">\n", width, height);
    fprintf(f, "<text x=\"10\" y=\"16\" font-size=\"13\">layer %d head %d (%s%s) — rows: "
            "%s, columns: %s</text>\n", layer, head, heed_model_arch(d->m),
            kind_titles[heed_capture_kind(d->cap)],
            heed_capture_kind(d->cap) == HEED_ATTN_CROSS ? "target tokens" : "queries",
            heed_capture_kind(d->cap) == HEED_ATTN_CROSS ? "source tokens" : "keys");
    for (int i = 0; labels && i < d->n_keys; i++) {
        fprintf(f, "<text transform=\"translate(%.2f %.2f) rotate(-60)\">",
                x0 + (i + 0.7) * cell, y0 - 4);
        put_label(f, d, d->k_ids[i]);
        fputs("</text>\n", f);
    }
    for (int r = 0; labels && r < rows; r++) {
        fprintf(f, "<text x=\"%.2f\" y=\"%.2f\" text-anchor=\"end\">", x0 - 4,
                y0 + (r + 0.75) * cell);
        put_label(f, d, d->q_ids[d->row_begin + r]);
        fputs("</text>\n", f);
    }
    put_heatmap(f, d, w, x0, y0, cell, MAX_CELLS);
    if (labels)
        put_lines(f, d, w, lines_x, y0);
    fputs("</svg>\n", f);
    free(w);
    return HEED_OK;
}

static heed_status grid(FILE *f, const attend_view *d)
{
    const int L = heed_model_n_layer(d->m), H = heed_model_n_head(d->m);
    const int rows = d->row_end - d->row_begin, side = rows > d->n_keys ? rows : d->n_keys;
    const int cells = side < GRID_CELLS ? side : GRID_CELLS;
    const double cell = 96.0 / cells, pitch = 96 + 16;
    fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" shape-rendering=\"crispEdges\" width=\"%.0f\" height=\"%.0f\" "
            "font-family=\"sans-serif\" font-size=\"11\">\n", 50 + H * pitch, 30 + L * pitch);
    for (int l = 0; l < L; l++)
        for (int h = 0; h < H; h++) {
            if (!heed_capture_has(d->cap, l, h, d->row_begin))
                continue;
            float *w = dense(d, l, h);
            if (!w)
                return cli_set_error(HEED_ERR_NOMEM, "out of memory for the heatmaps");
            const double x = 50 + h * pitch, y = 30 + l * pitch;
            fprintf(f, "<text x=\"%.0f\" y=\"%.0f\">L%d H%d</text>\n", x, y - 4, l, h);
            put_heatmap(f, d, w, x, y, cell, GRID_CELLS);
            free(w);
        }
    fputs("</svg>\n", f);
    return HEED_OK;
}

heed_status attend_svg_write(const char *path, const attend_view *d, int layer, int head)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return cli_set_error(HEED_ERR_IO, "%s: cannot create", path);
    fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n", f);
    heed_status st = layer >= 0 && head >= 0 ? one_head(f, d, layer, head) : grid(f, d);
    if (!st && ferror(f))
        st = cli_set_error(HEED_ERR_IO, "%s: cannot write", path);
    if (fclose(f) != 0 && !st)
        st = cli_set_error(HEED_ERR_IO, "%s: cannot write", path);
    return st;
}
