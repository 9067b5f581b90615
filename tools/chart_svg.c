/*
 * chart_svg.c — the bar chart `heed attribute --svg` draws and the heatmap
 * `heed patch --svg` draws: plain SVG 1.1 a browser, an editor or a paper
 * takes as it is, with each value in a tooltip.
 */
#include "chart_svg.h"

#include <math.h>
#include <string.h>


enum { LABEL = 150, BAR = 18, HALF = 220, CELL = 34, TITLE = 34 };

void svg_escaped(FILE *f, const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        const char c = s[i];
        if (c == '<')
            fputs("&lt;", f);
        else if (c == '>')
            fputs("&gt;", f);
        else if (c == '&')
            fputs("&amp;", f);
        else if (c == '"')
            fputs("&quot;", f);
        else if ((unsigned char)c < 0x20)
            fputc(' ', f);
        else
            fputc(c, f);
    }
}

static void put_text(FILE *f, double x, double y, const char *anchor, const char *s)
{
    fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\">", x, y, anchor);
    svg_escaped(f, s, strlen(s));
    fputs("</text>\n", f);
}

static void begin_svg(FILE *f, double width, double height, const char *title)
{
    fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
            "font-family=\"sans-serif\" font-size=\"12\">\n"
            "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n", width, height);
    fputs("<text x=\"10\" y=\"22\" font-size=\"14\">", f);
    svg_escaped(f, title, strlen(title));
    fputs("</text>\n", f);
}

/* White at 0 to blue at +1 and red at -1. */
static void diverging(double t, int rgb[3])
{
    t = t > 1 ? 1 : t < -1 ? -1 : t;
    static const int blue[3] = {33, 102, 172}, red[3] = {178, 24, 43};
    const int *end = t >= 0 ? blue : red;
    const double a = fabs(t);
    for (int i = 0; i < 3; i++)
        rgb[i] = (int)(255 + (end[i] - 255) * a + 0.5);
}

void chart_svg_bars(FILE *f, const char *title, const char *const *labels, const double *values,
                    int n)
{
    double top = 0;
    for (int i = 0; i < n; i++)
        top = fmax(top, fabs(values[i]));
    const double zero = LABEL + HALF, scale = top > 0 ? HALF / top : 0;
    begin_svg(f, LABEL + 2 * HALF + 80, TITLE + BAR * (n + 1), title);
    for (int i = 0; i < n; i++) {
        const double y = TITLE + i * BAR, w = fabs(values[i]) * scale;
        int rgb[3];
        diverging(values[i] >= 0 ? 0.8 : -0.8, rgb);
        put_text(f, LABEL - 6, y + BAR - 5, "end", labels[i]);
        fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%d\" "
                "fill=\"#%02x%02x%02x\"><title>%.4f</title></rect>\n",
                values[i] >= 0 ? zero : zero - w, y + 2, w, BAR - 4, rgb[0], rgb[1], rgb[2],
                values[i]);
        char num[32];
        snprintf(num, sizeof num, "%+.3f", values[i]);
        put_text(f, values[i] >= 0 ? zero + w + 4 : zero - w - 4, y + BAR - 5,
                 values[i] >= 0 ? "start" : "end", num);
    }
    fprintf(f, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#444\"/>\n", zero,
            TITLE, zero, TITLE + BAR * n);
    fputs("</svg>\n", f);
}

void chart_svg_heatmap(FILE *f, const char *title, const char *const *row_labels, int rows,
                       const char *const *col_labels, int cols, const double *values)
{
    const double x0 = 80, width = x0 + CELL * cols + 20, height = TITLE + CELL * rows + LABEL;
    begin_svg(f, width, height, title);
    for (int r = 0; r < rows; r++) {
        const double y = TITLE + r * CELL;
        put_text(f, x0 - 6, y + CELL / 2.0 + 4, "end", row_labels[r]);
        for (int k = 0; k < cols; k++) {
            const double v = values[(size_t)r * (size_t)cols + (size_t)k];
            int rgb[3];
            diverging(v, rgb);
            fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%d\" height=\"%d\" "
                    "fill=\"#%02x%02x%02x\" stroke=\"#eee\"><title>", x0 + k * CELL, y, CELL,
                    CELL, rgb[0], rgb[1], rgb[2]);
            svg_escaped(f, row_labels[r], strlen(row_labels[r]));
            fputc(' ', f);
            svg_escaped(f, col_labels[k], strlen(col_labels[k]));
            fprintf(f, ": %.4f</title></rect>\n", v);
        }
    }
    const double yb = TITLE + rows * CELL + 6;
    for (int k = 0; k < cols; k++) {
        const double x = x0 + k * CELL + CELL / 2.0;
        fprintf(f, "<text transform=\"translate(%.1f,%.1f) rotate(60)\">", x, yb);
        svg_escaped(f, col_labels[k], strlen(col_labels[k]));
        fputs("</text>\n", f);
    }
    fputs("</svg>\n", f);
}
