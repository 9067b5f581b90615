/*
 * edits.h — interventions declared up front (heed_edits, edits.c), as the
 * forward pass applies them at its hook points.
 */
#ifndef HEED_MODEL_EDITS_H
#define HEED_MODEL_EDITS_H

#include "heed.h"

/* One edit: at its point and layer, the rows of position pos (or every
 * position, pos < 0) get values written over floats [offset, offset +
 * count) of the row (a head's slice, or the whole row). */
typedef struct heed_edit {
    int pos;
    int offset, count;
    const float *values; /* count floats, or NULL: zeros */
} heed_edit;

typedef struct edit_list {
    heed_edit *items;
    int n, cap;
} edit_list;

struct heed_edits {
    const heed_model *m;
    unsigned points;     /* 1u << point of every point with an edit        */
    edit_list *lists;    /* [HEED_HOOK_COUNT][n_layer + 1]                 */
    float **values;      /* every values array, owned                      */
    int n_values, cap_values;
};

/* Writes e's edits of (a->point, a->layer) into a's rows. */
void heed_edits_apply(const heed_edits *e, heed_activation *a);

#endif
