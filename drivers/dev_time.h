/*
 * dev_time.h - deadlines for the serial drivers (internal to drivers/).
 *
 * A driver call with a time-out turns it into a deadline once, then asks
 * how much is left before each wait, so that a reply cut into many reads
 * still ends on time.  Time is the monotonic clock; the IrDA link, whose
 * retry timers tests move, takes its time from hal/clock instead.
 */
#ifndef DEV_TIME_H
#define DEV_TIME_H

#include <stdint.h>
#include <time.h>

static inline int64_t dev_time_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* timeout_ms < 0: no deadline (returned as -1). */
static inline int64_t dev_time_deadline(int timeout_ms)
{
    return timeout_ms < 0 ? -1 : dev_time_now_ms() + timeout_ms;
}

/* Milliseconds left before deadline: -1 (forever), or 0.. */
static inline int dev_time_left(int64_t deadline)
{
    int64_t left;
    if (deadline < 0) {
        return -1;
    }
    left = deadline - dev_time_now_ms();
    return left < 0 ? 0 : (int)left;
}

/* 1 when a deadline (not forever) has passed.  Read loops check it before
 * every read, so a device that keeps sending bytes without ever finishing
 * a line cannot hold the call past its time-out. */
static inline int dev_time_expired(int64_t deadline)
{
    return deadline >= 0 && dev_time_now_ms() >= deadline;
}

#endif /* DEV_TIME_H */
