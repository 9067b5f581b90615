/* attend_svg.h — captured attention as an SVG heatmap, for papers and slides. */
#ifndef HEED_TOOLS_ATTEND_SVG_H
#define HEED_TOOLS_ATTEND_SVG_H

#include "heed.h"

/* With layer and head >= 0: that head's heatmap, queries down, keys
 * across, labelled with the tokens. Otherwise a grid of every kept layer ×
 * head (rows: layers). Darker is more weight; keys the mask hides are grey. */
heed_status attend_svg_write(const char *path, const heed_capture_doc *d, int layer, int head);

#endif
