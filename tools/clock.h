/* clock.h — seconds on a monotonic clock, for the CLI's timings. */
#ifndef HEED_CLI_CLOCK_H
#define HEED_CLI_CLOCK_H

double cli_seconds(void);

#endif
