/* clock.h — seconds on a monotonic clock, for the CLI's timings; deadlines
 * for timed waits. */
#ifndef HEED_CLI_CLOCK_H
#define HEED_CLI_CLOCK_H

#include <time.h>

double cli_seconds(void);
/* The wall-clock time `seconds` from now, as pthread_cond_timedwait takes
 * a deadline. */
void cli_realtime_after(double seconds, struct timespec *ts);

#endif
