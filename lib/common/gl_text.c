/*
 * gl_text.c - amounts and KST dates for messages (contract in gl_text.h).
 */
#include "gl_text.h"

#include <stdio.h>

const char *gl_krw(char out[GL_KRW_MAX], int64_t v)
{
    char rev[GL_KRW_MAX];
    uint64_t m = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    size_t n = 0, o = 0;

    do {
        if (n % 4 == 3) {
            rev[n++] = ',';
        }
        rev[n++] = (char)('0' + m % 10);
        m /= 10;
    } while (m != 0);
    if (v < 0) {
        out[o++] = '-';
    }
    while (n > 0) {
        out[o++] = rev[--n];
    }
    out[o] = '\0';
    return out;
}

void gl_kst(int64_t t, struct tm *tm)
{
    time_t tt = (time_t)(t + GL_KST_OFFSET);
    gmtime_r(&tt, tm);
}

const char *gl_kst_date(char out[11], int64_t t)
{
    struct tm tm;
    gl_kst(t, &tm);
    snprintf(out, 11, "%04u-%02u-%02u", (unsigned)(tm.tm_year + 1900) % 10000u,
             (unsigned)(tm.tm_mon % 12) + 1u, (unsigned)tm.tm_mday % 32u);
    return out;
}

const char *gl_kst_month(char out[8], int64_t t)
{
    struct tm tm;
    gl_kst(t, &tm);
    snprintf(out, 8, "%04u-%02u", (unsigned)(tm.tm_year + 1900) % 10000u,
             (unsigned)(tm.tm_mon % 12) + 1u);
    return out;
}
