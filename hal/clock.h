/*
 * clock.h - monotonic time through an ops table (hal_clock_*).
 *
 * Everything in the terminal that measures time (time-outs, retries,
 * reader polling) asks a struct hal_clock, never the OS, so tests can move
 * time.  Two backends:
 *  - hal_clock_monotonic: CLOCK_MONOTONIC in milliseconds (the real one);
 *  - hal_clock_test: a counter the test sets and advances by hand; it only
 *    moves when the test says so.
 * The handle is caller-owned memory; nothing allocates; a clock may be read
 * from any thread, but a test clock is advanced by one thread only.
 */
#ifndef HAL_CLOCK_H
#define HAL_CLOCK_H

#include <stdint.h>

struct hal_clock;

struct hal_clock_ops {
    const char *name;
    /* Milliseconds since an arbitrary fixed origin; never goes back. */
    uint64_t (*now_ms)(struct hal_clock *c);
};

struct hal_clock {
    const struct hal_clock_ops *ops;
    uint64_t test_now_ms; /* state of hal_clock_test only */
};

extern const struct hal_clock_ops hal_clock_monotonic;
extern const struct hal_clock_ops hal_clock_test;

/* Prepares c with ops (NULL: hal_clock_monotonic).  A test clock starts at
 * start_ms; the monotonic clock ignores start_ms. */
void hal_clock_init(struct hal_clock *c, const struct hal_clock_ops *ops,
                    uint64_t start_ms);

/* The current time in milliseconds. */
uint64_t hal_clock_now_ms(struct hal_clock *c);

/* Test clock only: moves time forward by ms (asserted on other clocks). */
void hal_clock_advance(struct hal_clock *c, uint64_t ms);

/* Milliseconds left until deadline_ms (0 when past). */
uint64_t hal_clock_left_ms(struct hal_clock *c, uint64_t deadline_ms);

#endif /* HAL_CLOCK_H */
