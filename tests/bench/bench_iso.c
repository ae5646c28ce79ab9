/*
 * bench_iso.c - pack and unpack of the reference 0200 redemption
 * (tests/vectors/0200-redeem.txt, ASCII profile): nanoseconds per operation,
 * and heap allocations per operation, counted by this program's own malloc
 * family, which interposes on every allocation in the process.
 *
 *   bench_iso                      timed run, BENCH lines
 *   bench_iso --only pack|unpack --iterations N
 *                                  N operations only, for instruction counts
 *                                  under callgrind (tests/bench/run.sh)
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../iso_vectors.h"
#include "gl_err.h"
#include "iso8583.h"

/* ---- allocation counting ------------------------------------------------ */
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void __libc_free(void *);

static volatile int counting;
static volatile long allocs;

void *malloc(size_t n)
{
    if (counting) {
        allocs++;
    }
    return __libc_malloc(n);
}

void *calloc(size_t a, size_t b)
{
    if (counting) {
        allocs++;
    }
    return __libc_calloc(a, b);
}

void *realloc(void *p, size_t n)
{
    if (counting) {
        allocs++;
    }
    return __libc_realloc(p, n);
}

void free(void *p)
{
    __libc_free(p);
}

/* ---- the benchmark ------------------------------------------------------ */

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static struct iso_msg ref, out;
static uint8_t buf[ISO_FRAME_MAX];
static size_t len;
static volatile size_t sink;

static void do_pack(long n)
{
    for (long i = 0; i < n; i++) {
        size_t l;
        iso_pack(&iso_profile_ascii, &ref, buf, sizeof buf, &l, NULL);
        sink += l;
    }
}

static void do_unpack(long n)
{
    for (long i = 0; i < n; i++) {
        if (iso_unpack(&iso_profile_ascii, &out, buf, len, NULL) != GL_OK) {
            abort();
        }
        sink += out.used;
    }
}

/* Best of 7 runs of n operations, in ns per operation. */
static double best_ns(void (*fn)(long), long n)
{
    double best = 1e18;
    for (int r = 0; r < 7; r++) {
        double t0 = now_ns();
        fn(n);
        double t = (now_ns() - t0) / (double)n;
        if (t < best) {
            best = t;
        }
    }
    return best;
}

int main(int argc, char **argv)
{
    const char *only = NULL;
    long iters = 0;

    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--only") == 0) {
            only = argv[i + 1];
        } else if (strcmp(argv[i], "--iterations") == 0) {
            iters = atol(argv[i + 1]);
        }
    }
    if (vec_load_file("tests/vectors/0200-redeem.txt", &ref) != 0) {
        return 1;
    }
    if (iso_pack(&iso_profile_ascii, &ref, buf, sizeof buf, &len, NULL) !=
        GL_OK) {
        return 1;
    }
    if (only != NULL) {
        if (strcmp(only, "pack") == 0) {
            do_pack(iters);
        } else {
            do_unpack(iters);
        }
        return 0;
    }

    /* Allocations: 100,000 operations each, counted. */
    counting = 1;
    do_pack(100000);
    long pack_allocs = allocs;
    allocs = 0;
    do_unpack(100000);
    long unpack_allocs = allocs;
    counting = 0;

    double p = best_ns(do_pack, 2000000);
    double u = best_ns(do_unpack, 2000000);
    printf("BENCH name=iso_pack_0200 value=%.1f unit=ns/op\n", p);
    printf("BENCH name=iso_unpack_0200 value=%.1f unit=ns/op\n", u);
    printf("BENCH name=iso_pack_0200_allocs value=%.3f unit=allocs/op\n",
           (double)pack_allocs / 100000.0);
    printf("BENCH name=iso_unpack_0200_allocs value=%.3f unit=allocs/op\n",
           (double)unpack_allocs / 100000.0);
    printf("BENCH name=iso_0200_bytes value=%zu unit=bytes\n", len);
    return pack_allocs != 0 || unpack_allocs != 0;
}
