/* clock.c — seconds on a monotonic clock (see clock.h). */
#include "clock.h"

#include <time.h>

double cli_seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

void cli_realtime_after(double seconds, struct timespec *ts)
{
    clock_gettime(CLOCK_REALTIME, ts);
    const double t = (double)ts->tv_sec + 1e-9 * (double)ts->tv_nsec + seconds;
    ts->tv_sec = (time_t)t;
    ts->tv_nsec = (long)((t - (double)ts->tv_sec) * 1e9);
}
