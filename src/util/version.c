/* version.c — the versions the loaded library was built with (heed.h). */
#include "heed.h"

int heed_abi_version(void) { return HEED_ABI_VERSION; }

const char *heed_version(void) { return HEED_VERSION; }
