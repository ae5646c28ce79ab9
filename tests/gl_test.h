/*
 * gl_test.h - the project's small test runner (header only).
 *
 * A test file defines test functions with GL_TEST(name) and lists them in
 * main() with GL_RUN(name); GL_TEST_END() prints "N passed, N failed" (N
 * counts checks) and returns the exit status.  Each failing check prints the
 * expression with its expected and actual values; passing checks print only
 * with GL_TEST_VERBOSE=1 in the environment.  tests/run.sh adds up the
 * closing lines of all test programs and system tests.
 */
#ifndef GL_TEST_H
#define GL_TEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int gl_t_pass_, gl_t_fail_, gl_t_case_fail_;
static const char *gl_t_case_;

static inline int gl_t_verbose_(void)
{
    const char *v = getenv("GL_TEST_VERBOSE");
    return v != NULL && v[0] == '1';
}

static inline void gl_t_result_(int ok, const char *file, int line,
                                const char *expr, const char *detail)
{
    if (ok) {
        gl_t_pass_++;
        if (gl_t_verbose_()) {
            printf("  ok   %s:%d %s\n", file, line, expr);
        }
        return;
    }
    gl_t_fail_++;
    gl_t_case_fail_++;
    printf("  FAIL %s:%d [%s] %s\n", file, line, gl_t_case_ ? gl_t_case_ : "",
           expr);
    if (detail != NULL && detail[0] != '\0') {
        printf("       %s\n", detail);
    }
}

#define GL_CHECK(cond) gl_t_result_(!!(cond), __FILE__, __LINE__, #cond, "")

#define GL_CHECK_INT(expected, actual)                                        \
    do {                                                                      \
        long long e_ = (long long)(expected), a_ = (long long)(actual);       \
        char d_[160];                                                         \
        snprintf(d_, sizeof d_, "expected %lld, got %lld", e_, a_);           \
        gl_t_result_(e_ == a_, __FILE__, __LINE__,                            \
                     #actual " == " #expected, d_);                           \
    } while (0)

#define GL_CHECK_STR(expected, actual)                                        \
    do {                                                                      \
        const char *e_ = (expected), *a_ = (actual);                          \
        char d_[2200];                                                        \
        snprintf(d_, sizeof d_, "expected \"%.1000s\", got \"%.1000s\"",      \
                 e_ ? e_ : "(null)", a_ ? a_ : "(null)");                     \
        gl_t_result_(e_ && a_ && strcmp(e_, a_) == 0, __FILE__, __LINE__,     \
                     #actual " == " #expected, d_);                           \
    } while (0)

static inline void gl_t_hex_(char *out, size_t cap, const unsigned char *p,
                             size_t n)
{
    size_t o = 0;
    for (size_t i = 0; i < n && o + 3 < cap; i++) {
        o += (size_t)snprintf(out + o, cap - o, "%02X", p[i]);
    }
    out[o < cap ? o : cap - 1] = '\0';
}

#define GL_CHECK_MEM(expected, actual, n)                                     \
    do {                                                                      \
        const unsigned char *e_ = (const unsigned char *)(expected);          \
        const unsigned char *a_ = (const unsigned char *)(actual);            \
        size_t n_ = (n);                                                      \
        char eh_[520], ah_[520], d_[1100];                                    \
        gl_t_hex_(eh_, sizeof eh_, e_, n_);                                   \
        gl_t_hex_(ah_, sizeof ah_, a_, n_);                                   \
        snprintf(d_, sizeof d_, "expected %s, got %s", eh_, ah_);             \
        gl_t_result_(memcmp(e_, a_, n_) == 0, __FILE__, __LINE__,             \
                     #actual " == " #expected, d_);                           \
    } while (0)

#define GL_TEST(name) static void name(void)

#define GL_RUN(name)                                                          \
    do {                                                                      \
        gl_t_case_ = #name;                                                   \
        gl_t_case_fail_ = 0;                                                  \
        name();                                                               \
        printf("%s %s\n", gl_t_case_fail_ ? "FAIL" : "ok  ", #name);          \
        fflush(stdout);                                                       \
    } while (0)

#define GL_TEST_END()                                                         \
    (printf("%d passed, %d failed\n", gl_t_pass_, gl_t_fail_),                \
     gl_t_fail_ ? 1 : 0)

#endif /* GL_TEST_H */
