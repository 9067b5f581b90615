/* chart_svg.h — the charts the editing commands draw (a ranked bar chart,
 * a labelled heatmap), each one standalone SVG document written to f (a
 * file of its own, or inline in a page). */
#ifndef HEED_TOOLS_CHART_SVG_H
#define HEED_TOOLS_CHART_SVG_H

#include <stdio.h>

#include "heed.h"

/* Writes s[0..len) as SVG/HTML text: <, >, &, " escaped, control bytes
 * as spaces. */
void svg_escaped(FILE *f, const char *s, size_t len);

/* n labelled horizontal bars of values around a zero line, in the order
 * given: positive blue to the right, negative red to the left. */
void chart_svg_bars(FILE *f, const char *title, const char *const *labels, const double *values,
                    int n);

/* A rows × cols heatmap of values (row-major), white at 0, blue towards
 * +1 and red towards -1 (values beyond are clamped), each cell's value
 * in its tooltip; rows labelled down the left, columns along the bottom. */
void chart_svg_heatmap(FILE *f, const char *title, const char *const *row_labels, int rows,
                       const char *const *col_labels, int cols, const double *values);

#endif
