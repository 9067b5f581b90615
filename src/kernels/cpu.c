/*
 * cpu.c — what the CPU can do, detected once, and which instruction set the
 * fast kernels use. The build targets plain x86-64; kernels compiled for
 * AVX2 or AVX-512 (per-function target attributes) run only when the CPU
 * has them. HEED_ISA=scalar|avx2|avx512 lowers the choice, so the tests can
 * check every path against the scalar reference on one machine.
 */
#include "heed.h"
#include "kernels/kernels.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static heed_cpu cpu;
static heed_isa best = HEED_ISA_SCALAR;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void detect(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    cpu.avx2 = __builtin_cpu_supports("avx2");
    cpu.fma = __builtin_cpu_supports("fma");
    unsigned a, b, c, d; /* clang's __builtin_cpu_supports lacks "f16c" */
    cpu.f16c = __get_cpuid(1, &a, &b, &c, &d) && (c & bit_F16C);
    cpu.avx512f = __builtin_cpu_supports("avx512f");
    cpu.avx512bw = __builtin_cpu_supports("avx512bw");
    cpu.avx512vl = __builtin_cpu_supports("avx512vl");
    cpu.avx512vnni = __builtin_cpu_supports("avx512vnni");
    cpu.avx512bf16 = __builtin_cpu_supports("avx512bf16");
#endif
    bool has_avx2 = cpu.avx2 && cpu.fma && cpu.f16c;
    bool has_avx512 = has_avx2 && cpu.avx512f && cpu.avx512bw && cpu.avx512vl;
    const char *want = getenv("HEED_ISA");
    if (want && strcmp(want, "scalar") == 0)
        has_avx2 = has_avx512 = false;
    else if (want && strcmp(want, "avx2") == 0)
        has_avx512 = false;
    best = has_avx512 ? (cpu.avx512vnni ? HEED_ISA_AVX512_VNNI : HEED_ISA_AVX512)
           : has_avx2 ? HEED_ISA_AVX2
                      : HEED_ISA_SCALAR;
}

const heed_cpu *heed_cpu_get(void)
{
    pthread_once(&once, detect);
    return &cpu;
}

heed_isa heed_isa_best(void)
{
    pthread_once(&once, detect);
    return best;
}

const char *heed_isa_name(heed_isa isa)
{
    static const char *const names[HEED_ISA_COUNT] = {"scalar", "avx2", "avx512", "avx512vnni"};
    return isa < HEED_ISA_COUNT ? names[isa] : "?";
}

const char *heed_cpu_isa(void)
{
    /* VNNI is a feature of the avx512 kernels, not a level of its own here */
    const heed_isa isa = heed_isa_best();
    return isa >= HEED_ISA_AVX512 ? "avx512" : heed_isa_name(isa);
}

/* Physical cores: distinct (package, core) pairs among the online CPUs
 * (hyper-threads share a core's arithmetic, so they add little); the
 * online CPU count where sysfs does not say. */
static int cores;

static void count_cores(void)
{
    const long online = sysconf(_SC_NPROCESSORS_ONLN);
    enum { MAX = 1024 };
    static long seen[MAX];
    int n = 0;
    for (long i = 0; i < online && i < MAX; i++) {
        char path[96];
        long pkg = -1, core = -1;
        snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu%ld/topology/core_id", i);
        FILE *f = fopen(path, "r");
        if (!f || fscanf(f, "%ld", &core) != 1) {
            if (f)
                fclose(f);
            n = 0;
            break;
        }
        fclose(f);
        snprintf(path, sizeof path,
                 "/sys/devices/system/cpu/cpu%ld/topology/physical_package_id", i);
        if ((f = fopen(path, "r"))) {
            if (fscanf(f, "%ld", &pkg) != 1)
                pkg = 0;
            fclose(f);
        }
        const long id = pkg * 65536 + core;
        bool dup = false;
        for (int k = 0; k < n && !dup; k++)
            dup = seen[k] == id;
        if (!dup)
            seen[n++] = id;
    }
    cores = n > 0 ? n : online > 0 ? (int)online : 1;
}

int heed_cpu_cores(void)
{
    static pthread_once_t cores_once = PTHREAD_ONCE_INIT;
    pthread_once(&cores_once, count_cores);
    return cores;
}
