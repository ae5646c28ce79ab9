/*
 * gl_log.c - logging with masking; see gl_log.h for the contract.
 */
#include "gl_log.h"

#include <stdio.h>
#include <string.h>
#include <syslog.h>

/* Configuration, set before start (STYLE habit 10). */
static int g_syslog;
static enum gl_log_level g_level = GL_LOG_INFO;

static const char *const level_names[] = {"error", "warn", "info", "debug"};

void gl_log_open(const char *ident, int use_syslog)
{
    g_syslog = use_syslog;
    if (g_syslog) {
        openlog(ident ? ident : "giftlink", LOG_PID | LOG_NDELAY, LOG_DAEMON);
    }
}

void gl_log_close(void)
{
    if (g_syslog) {
        closelog();
    }
    g_syslog = 0;
}

void gl_log_set_level(enum gl_log_level level)
{
    g_level = level;
}

enum gl_log_level gl_log_get_level(void)
{
    return g_level;
}

int gl_log_level_parse(const char *name)
{
    for (int i = 0; i < 4; i++) {
        if (strcmp(name, level_names[i]) == 0) {
            return i;
        }
    }
    return -1;
}

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* How many leading and trailing digits a number of n digits may show. */
static void mask_keep(size_t n, size_t *head, size_t *tail)
{
    if (n >= 16) {
        *head = 6;
        *tail = 4;
    } else if (n >= 13) {
        *head = n / 2 - 4 > 0 ? n / 2 - 4 : 0; /* 13..15: keep 2..3 */
        *tail = 4;
    } else if (n >= 8) {
        *head = 0;
        *tail = 4;
    } else {
        *head = 0;
        *tail = n >= 2 ? 2 : 0;
    }
}

const char *gl_mask_pan(char out[GL_MASK_MAX], const char *pan, size_t len)
{
    size_t n = 0, head, tail, o = 0;

    while (n < len && is_digit(pan[n])) {
        n++;
    }
    mask_keep(n, &head, &tail);
    for (size_t i = 0; i < len && o < GL_MASK_MAX - 1; i++) {
        if (i < n && (i < head || i >= n - tail)) {
            out[o++] = pan[i];
        } else {
            out[o++] = '*';
        }
    }
    out[o] = '\0';
    return out;
}

const char *gl_mask_phone(char out[GL_MASK_MAX], const char *phone)
{
    size_t len = phone != NULL ? strlen(phone) : 0, digits = 0, o = 0;

    for (size_t i = 0; i < len; i++) {
        digits += is_digit(phone[i]) ? 1 : 0;
    }
    int kor = (len == 10 || len == 11) && digits == len;
    for (size_t i = 0; i < len && o < GL_MASK_MAX - 1; i++) {
        int keep = kor ? (i < 3 || i >= len - 4) : (len >= 2 && i >= len - 2);
        out[o++] = keep ? phone[i] : '*';
    }
    out[o] = '\0';
    return out;
}

void gl_mask_digit_runs(char *buf, size_t len)
{
    size_t i = 0;

    while (i < len) {
        if (!is_digit(buf[i])) {
            i++;
            continue;
        }
        size_t start = i;
        while (i < len && is_digit(buf[i])) {
            i++;
        }
        size_t n = i - start, head, tail;
        if (n < 13 || n > 19) {
            continue;
        }
        mask_keep(n, &head, &tail);
        for (size_t k = head; k < n - tail; k++) {
            buf[start + k] = '*';
        }
    }
}

void gl_logv(enum gl_log_level level, const char *module, const char *fmt,
             va_list ap)
{
    char line[1024];
    int n;

    if (level > g_level) {
        return;
    }
    n = vsnprintf(line, sizeof line, fmt, ap);
    if (n < 0) {
        return;
    }
    if ((size_t)n >= sizeof line) {
        n = sizeof line - 1;
    }
    gl_mask_digit_runs(line, (size_t)n);
    if (g_syslog) {
        static const int prio[] = {LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG};
        syslog(prio[level], "%s: %s", module, line);
    } else {
        fprintf(stderr, "%s %s: %s\n", level_names[level], module, line);
    }
}

void gl_log(enum gl_log_level level, const char *module, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    gl_logv(level, module, fmt, ap);
    va_end(ap);
}
