/*
 * gl_log.h - logging to stderr or syslog, with masking.
 *
 * Contract:
 *  - Configure once before start (gl_log_open, gl_log_set_level); the
 *    settings are the process's only mutable globals, as configuration.
 *  - Every line passes a last filter that masks any run of 13 to 19 digits
 *    to its first 6 and last 4 (a voucher or card number that slipped into a
 *    message still leaves the process masked).
 *  - There is deliberately no hex-dump helper: a PIN block, a key or a MAC
 *    key has no way into a log through this module.  Callers print voucher
 *    and card numbers through gl_mask_pan() only.
 */
#ifndef GL_LOG_H
#define GL_LOG_H

#include <stdarg.h>
#include <stddef.h>

enum gl_log_level {
    GL_LOG_ERROR = 0,
    GL_LOG_WARN = 1,
    GL_LOG_INFO = 2,
    GL_LOG_DEBUG = 3,
};

/* Where lines go.  use_syslog = 0: stderr, 1: syslog(3) with ident. */
void gl_log_open(const char *ident, int use_syslog);
/* Closes syslog if it was open.  SIGHUP handlers call close + open. */
void gl_log_close(void);
void gl_log_set_level(enum gl_log_level level);
enum gl_log_level gl_log_get_level(void);
/* "error", "warn", "info", "debug" -> level; -1 for anything else. */
int gl_log_level_parse(const char *name);

/* One line: "<level> <module>: <text>".  The text is masked as above. */
void gl_log(enum gl_log_level level, const char *module, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void gl_logv(enum gl_log_level level, const char *module, const char *fmt,
             va_list ap);

#define GL_LOG_ERR(mod, ...) gl_log(GL_LOG_ERROR, (mod), __VA_ARGS__)
#define GL_LOG_WARN(mod, ...) gl_log(GL_LOG_WARN, (mod), __VA_ARGS__)
#define GL_LOG_INFO(mod, ...) gl_log(GL_LOG_INFO, (mod), __VA_ARGS__)
#define GL_LOG_DEBUG(mod, ...) gl_log(GL_LOG_DEBUG, (mod), __VA_ARGS__)

/* Room for any masked number plus its terminator. */
#define GL_MASK_MAX 48

/*
 * Masks a voucher or card number of len characters into out (GL_MASK_MAX
 * bytes, caller's) and returns out.  A number of 16 or more digits keeps its
 * first 6 and last 4 (PCI DSS's most); 13..15 digits keep 2..3 and 4;
 * 8..12 digits keep only the last 4; shorter ones only the last 2.  Non-digit separators ('=' '^' ' ') end the number: what follows
 * (expiry, service data) is replaced by '*' too.  Never fails.
 */
const char *gl_mask_pan(char out[GL_MASK_MAX], const char *pan, size_t len);

/*
 * Masks a phone number into out (GL_MASK_MAX bytes, caller's) and returns
 * out: a number of 10 or 11 digits keeps its 3-digit prefix and last 4
 * ("010****5678"), any other string keeps only its last 2 characters.  At
 * most GL_MASK_MAX - 1 characters are written; NULL gives "".  Never fails.
 * Phone numbers are too short for the digit-run filter of gl_log, so every
 * caller that logs one passes it through here.
 */
const char *gl_mask_phone(char out[GL_MASK_MAX], const char *phone);

/*
 * Masks in place every run of 13..19 ASCII digits in buf[0..len) as
 * gl_mask_pan would.  Used by gl_log on every line, and by anyone writing
 * free text that may hold a number (receipts, reports).
 */
void gl_mask_digit_runs(char *buf, size_t len);

#endif /* GL_LOG_H */
