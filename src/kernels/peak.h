/* peak.h — the measured peak f32 FLOP rate of a thread pool's cores. */
#ifndef HEED_KERNELS_PEAK_H
#define HEED_KERNELS_PEAK_H

#include "kernels/pool.h"

/* FLOPs per second of fused multiply-adds on all of the pool's threads
 * (about 0.2 s of measuring). */
double heed_peak_flops(heed_pool *pool);

#endif
