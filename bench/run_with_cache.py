"""Time and memory of heed's Python run_with_cache: every hook of every
block kept, random ids, 3 runs (median), one fresh process per case so
the peak resident memory is this case's.

    /usr/bin/python3 bench/run_with_cache.py MODEL.gguf N_TOKENS [THREADS]
"""
import os
import resource
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
import numpy as np  # noqa: E402

import heed  # noqa: E402

path, n = sys.argv[1], int(sys.argv[2])
threads = int(sys.argv[3]) if len(sys.argv) > 3 else 2
m = heed.Model(path, n_threads=threads)
ids = np.random.default_rng(1).integers(0, m.n_vocab, n).astype(np.int32)
m.logits(ids[:8])  # the first evaluation prepares the weights: not timed
loaded = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
need = m.cache_bytes(ids)
times = []
for _ in range(3):
    t = time.perf_counter()
    logits, cache = m.run_with_cache(ids, max_bytes=1 << 40)
    times.append(time.perf_counter() - t)
    del logits, cache
t = time.perf_counter()
m.logits(ids)
plain = time.perf_counter() - t
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(f"{os.path.basename(path)} n={n}: {len(m.hook_names())} hooks, cache {need / 2**20:.1f} MiB, "
      f"run_with_cache {statistics.median(times) * 1e3:.0f} ms (logits alone {plain * 1e3:.0f} ms), "
      f"peak RSS {peak:.0f} MiB (loaded {loaded:.0f} MiB)")
