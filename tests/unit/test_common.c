/*
 * test_common.c - the error list, masking and configuration of lib/common.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../gl_test.h"
#include "gl_config.h"
#include "gl_err.h"
#include "gl_text.h"
#include "gl_log.h"

GL_TEST(errors_have_text_and_names)
{
    GL_CHECK_STR("success", gl_strerror(GL_OK));
    GL_CHECK_STR("message truncated", gl_strerror(GL_ISO_TRUNC));
    GL_CHECK_STR("ISO_TRUNC", gl_errname(GL_ISO_TRUNC));
    GL_CHECK_STR("unknown error", gl_strerror(-99999));
    GL_CHECK_STR("MAC_MISMATCH", gl_errname(GL_MAC_MISMATCH));
}

GL_TEST(errors_are_distinct)
{
    static const int codes[] = {
#define X_(name, code, text) code,
        GL_ERR_LIST(X_)
#undef X_
    };
    size_t n = sizeof codes / sizeof codes[0];
    int dup = 0;
    for (size_t i = 0; i < n; i++) {
        for (size_t j = i + 1; j < n; j++) {
            dup += codes[i] == codes[j];
        }
        if (i > 0) {
            GL_CHECK(codes[i] < 0);
        }
    }
    GL_CHECK_INT(0, dup);
}

GL_TEST(mask_pan_keeps_first6_last4)
{
    char m[GL_MASK_MAX];
    GL_CHECK_STR("941012******1234", gl_mask_pan(m, "9410123456781234", 16));
    GL_CHECK_STR("401234*********1234",
                 gl_mask_pan(m, "4012345678901231234", 19));
    GL_CHECK_STR("40*******8909", gl_mask_pan(m, "4012345678909", 13));
    GL_CHECK_STR("********9012", gl_mask_pan(m, "123456789012", 12));
    GL_CHECK_STR("****56", gl_mask_pan(m, "123456", 6));
    /* Track data: what follows the separator is hidden too. */
    GL_CHECK_STR("941012******1234*********",
                 gl_mask_pan(m, "9410123456781234=29121010", 25));
    GL_CHECK_STR("", gl_mask_pan(m, "", 0));
}

GL_TEST(mask_digit_runs_in_free_text)
{
    char t[] = "voucher 9410123456781234 stan 000123 amt 000000010000";
    gl_mask_digit_runs(t, strlen(t));
    GL_CHECK_STR("voucher 941012******1234 stan 000123 amt 000000010000", t);
}

GL_TEST(log_masks_numbers_it_is_given)
{
    char path[] = "/tmp/gl_test_logXXXXXX";
    int fd = mkstemp(path);
    GL_CHECK(fd >= 0);
    int saved = dup(2);
    dup2(fd, 2);
    gl_log_set_level(GL_LOG_DEBUG);
    gl_log(GL_LOG_INFO, "test", "redeem %s amount %d", "9410123456781234", 5000);
    gl_log(GL_LOG_DEBUG, "test", "debug line");
    gl_log_set_level(GL_LOG_WARN);
    gl_log(GL_LOG_INFO, "test", "not shown");
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    char buf[512] = {0};
    lseek(fd, 0, SEEK_SET);
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    unlink(path);
    GL_CHECK(n > 0);
    GL_CHECK_STR("info test: redeem 941012******1234 amount 5000\n"
                 "debug test: debug line\n",
                 buf);
    gl_log_set_level(GL_LOG_INFO);
    GL_CHECK_INT(GL_LOG_DEBUG, gl_log_level_parse("debug"));
    GL_CHECK_INT(-1, gl_log_level_parse("loud"));
}

struct cfg {
    char host[32];
    long long port;
    int offline;
    long long floor;
};

static int load(const char *text, struct cfg *c, char *err)
{
    const struct gl_cfg_item items[] = {
        {"host", "address", GL_CFG_STR, c->host, sizeof c->host, 0, 0, 1},
        {"host", "port", GL_CFG_INT, &c->port, 0, 1, 65535, 1},
        {"offline", "enabled", GL_CFG_BOOL, &c->offline, 0, 0, 0, 0},
        {"offline", "floor_limit", GL_CFG_INT, &c->floor, 0, 0, 1000000, 0},
    };
    memset(c, 0, sizeof *c);
    return gl_config_parse_string(text, "term.ini", items, 4, err);
}

GL_TEST(config_loads_typed_values)
{
    struct cfg c;
    char err[GL_CFG_ERR_MAX];
    int rc = load("[host]\naddress = 127.0.0.1\nport=7443\n"
                  "[offline]\nenabled=yes\nfloor_limit=20000\n",
                  &c, err);
    GL_CHECK_INT(GL_OK, rc);
    GL_CHECK_STR("127.0.0.1", c.host);
    GL_CHECK_INT(7443, c.port);
    GL_CHECK_INT(1, c.offline);
    GL_CHECK_INT(20000, c.floor);
}

GL_TEST(config_errors_name_line_and_key)
{
    struct cfg c;
    char err[GL_CFG_ERR_MAX];
    GL_CHECK_INT(GL_ECONFIG, load("[host]\naddress=a\nport=70000\n", &c, err));
    GL_CHECK_STR("term.ini:3: [host] port: '70000' is not an integer in [1, 65535]",
                 err);
    GL_CHECK_INT(GL_ECONFIG, load("[host]\naddress=a\nport=1\ncolour=red\n", &c, err));
    GL_CHECK_STR("term.ini:4: [host] colour: unknown key", err);
    GL_CHECK_INT(GL_ECONFIG, load("[host]\nport=1\n", &c, err));
    GL_CHECK_STR("term.ini: [host] address: required key missing", err);
    GL_CHECK_INT(GL_ECONFIG, load("[host]\naddress=a\nport=1\nport=2\n", &c, err));
    GL_CHECK_STR("term.ini:4: [host] port: given twice", err);
    GL_CHECK_INT(GL_ECONFIG,
                 load("[host]\naddress=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\nport=1\n",
                      &c, err));
    GL_CHECK_STR("term.ini:2: [host] address: longer than 31 characters", err);
    GL_CHECK_INT(GL_ECONFIG, load("[host]\naddress=a\nport=1\n[offline]\nenabled=maybe\n",
                                  &c, err));
    GL_CHECK_STR("term.ini:5: [offline] enabled: 'maybe' is not yes or no", err);
    GL_CHECK_INT(GL_ECONFIG, load("[host\naddress=a\n", &c, err));
    GL_CHECK_STR("term.ini:1: syntax error", err);
}

GL_TEST(krw_and_kst_dates)
{
    char b[GL_KRW_MAX], d[11], m[8];
    GL_CHECK_STR("0", gl_krw(b, 0));
    GL_CHECK_STR("999", gl_krw(b, 999));
    GL_CHECK_STR("1,000", gl_krw(b, 1000));
    GL_CHECK_STR("30,000", gl_krw(b, 30000));
    GL_CHECK_STR("-1,500", gl_krw(b, -1500));
    GL_CHECK_STR("123,456,789", gl_krw(b, 123456789));
    GL_CHECK_STR("9,223,372,036,854,775,807", gl_krw(b, INT64_MAX));
    GL_CHECK_STR("-9,223,372,036,854,775,808", gl_krw(b, INT64_MIN));
    /* 2023-11-30 15:00 UTC is 2023-12-01 00:00 in Seoul. */
    GL_CHECK_STR("2023-12-01", gl_kst_date(d, 1701356400));
    GL_CHECK_STR("2023-12", gl_kst_month(m, 1701356400));
    GL_CHECK_STR("2023-11-30", gl_kst_date(d, 1701356399));
    GL_CHECK_STR("2023-11", gl_kst_month(m, 1701356399));
}

int main(void)
{
    GL_RUN(errors_have_text_and_names);
    GL_RUN(errors_are_distinct);
    GL_RUN(mask_pan_keeps_first6_last4);
    GL_RUN(mask_digit_runs_in_free_text);
    GL_RUN(log_masks_numbers_it_is_given);
    GL_RUN(config_loads_typed_values);
    GL_RUN(config_errors_name_line_and_key);
    GL_RUN(krw_and_kst_dates);
    return GL_TEST_END();
}
