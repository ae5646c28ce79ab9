/*
 * malloc_count.h - counts the heap allocations a thread makes between
 * malloc_count_start() and malloc_count_stop(), to prove that a
 * transaction's device work allocates nothing after start-up.  Include it
 * in exactly one test program file.
 *
 * How: in a plain build the test binary defines malloc, calloc, realloc
 * and free (the executable's definitions win over libc's for every caller,
 * shared libraries included) and forwards them to glibc's __libc_*
 * entry points.  Under AddressSanitizer the allocator is ASan's, so the
 * count comes from its documented hook
 * __sanitizer_install_malloc_and_free_hooks instead.  Only the thread that
 * called malloc_count_start() is counted: the emulator threads may
 * allocate as they like.
 */
#ifndef MALLOC_COUNT_H
#define MALLOC_COUNT_H

#include <stddef.h>
#include <stdlib.h>

static _Thread_local volatile int mc_on_; /* volatile: calls to malloc are
                                          * assumed not to read globals */
static volatile long mc_count_;

#if defined(__SANITIZE_ADDRESS__)
int __sanitizer_install_malloc_and_free_hooks(
    void (*malloc_hook)(const volatile void *, size_t),
    void (*free_hook)(const volatile void *));

static void mc_malloc_hook_(const volatile void *p, size_t n)
{
    (void)p;
    (void)n;
    if (mc_on_) {
        mc_count_++;
    }
}

static void mc_free_hook_(const volatile void *p)
{
    (void)p;
}

static inline void malloc_count_install(void)
{
    __sanitizer_install_malloc_and_free_hooks(mc_malloc_hook_, mc_free_hook_);
}
#else
void *__libc_malloc(size_t n);
void *__libc_calloc(size_t n, size_t m);
void *__libc_realloc(void *p, size_t n);
void __libc_free(void *p);

void *malloc(size_t n)
{
    if (mc_on_) {
        mc_count_++;
    }
    return __libc_malloc(n);
}

void *calloc(size_t n, size_t m)
{
    if (mc_on_) {
        mc_count_++;
    }
    return __libc_calloc(n, m);
}

void *realloc(void *p, size_t n)
{
    if (mc_on_) {
        mc_count_++;
    }
    return __libc_realloc(p, n);
}

void free(void *p)
{
    __libc_free(p);
}

static inline void malloc_count_install(void)
{
}
#endif

/* Starts counting this thread's allocations from zero. */
static inline void malloc_count_start(void)
{
    mc_count_ = 0;
    mc_on_ = 1;
}

/* Stops and returns how many allocations the thread made. */
static inline long malloc_count_stop(void)
{
    mc_on_ = 0;
    return mc_count_;
}

/* A self-check: one malloc must count as one. */
static inline long malloc_count_selftest(void)
{
    void *volatile p;
    malloc_count_start();
    p = malloc(24);
    free(p);
    return malloc_count_stop();
}

#endif /* MALLOC_COUNT_H */
