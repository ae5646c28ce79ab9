/*
 * gl_text.h - the small text forms every customer-facing message shares:
 * amounts in KRW with thousands separators, and calendar fields in Korea
 * Standard Time (UTC+9, no daylight saving), whatever the machine's zone.
 *
 * Pure functions over the caller's buffers; nothing allocated.
 */
#ifndef GL_TEXT_H
#define GL_TEXT_H

#include <stdint.h>
#include <time.h>

#define GL_KRW_MAX 32 /* "-9,223,372,036,854,775,808" and the NUL */
#define GL_KST_OFFSET (9 * 3600)

/* 30000 -> "30,000"; -1500 -> "-1,500"; every int64_t.  Returns out. */
const char *gl_krw(char out[GL_KRW_MAX], int64_t v);

/* t (seconds since the epoch) as broken-down time in KST. */
void gl_kst(int64_t t, struct tm *tm);

/* "YYYY-MM-DD" (out[11]) and "YYYY-MM" (out[8]) of t in KST.  Return out. */
const char *gl_kst_date(char out[11], int64_t t);
const char *gl_kst_month(char out[8], int64_t t);

#endif /* GL_TEXT_H */
