/* clock.h — seconds on a monotonic clock, for timings. */
#ifndef HEED_UTIL_CLOCK_H
#define HEED_UTIL_CLOCK_H

double heed_seconds(void);

#endif
