/*
 * clock.c - hal_clock backends.  Contract in clock.h.
 */
#include "clock.h"

#include <assert.h>
#include <time.h>

static uint64_t mono_now(struct hal_clock *c)
{
    struct timespec ts;

    (void)c;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static uint64_t test_now(struct hal_clock *c)
{
    return c->test_now_ms;
}

const struct hal_clock_ops hal_clock_monotonic = {
    .name = "monotonic",
    .now_ms = mono_now,
};

const struct hal_clock_ops hal_clock_test = {
    .name = "test",
    .now_ms = test_now,
};

void hal_clock_init(struct hal_clock *c, const struct hal_clock_ops *ops,
                    uint64_t start_ms)
{
    c->ops = ops != NULL ? ops : &hal_clock_monotonic;
    c->test_now_ms = start_ms;
}

uint64_t hal_clock_now_ms(struct hal_clock *c)
{
    return c->ops->now_ms(c);
}

void hal_clock_advance(struct hal_clock *c, uint64_t ms)
{
    assert(c->ops == &hal_clock_test);
    c->test_now_ms += ms;
}

uint64_t hal_clock_left_ms(struct hal_clock *c, uint64_t deadline_ms)
{
    uint64_t now = hal_clock_now_ms(c);
    return now >= deadline_ms ? 0 : deadline_ms - now;
}
