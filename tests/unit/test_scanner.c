/*
 * test_scanner.c - the barcode scanner driver: line framing and voucher
 * checks on byte buffers, then the device through the real libserialport
 * against the scanner emulator on a pseudo-terminal.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "gl_err.h"
#include "../gl_test.h"
#include "dev_time.h"
#include "scanner.h"
#include "serial_emu.h"

#define WAIT_MS 10000 /* generous: a loaded 2-core machine */
#define QUIET_MS 300  /* how long "nothing comes" is watched */

static int push_all(struct scanner_framer *f, const char *s,
                    struct scanner_code *code, size_t *used_total)
{
    size_t used = 0;
    int rc = scanner_framer_push(f, (const uint8_t *)s, strlen(s), &used, code);
    *used_total = used;
    return rc;
}

GL_TEST(framer_line_endings)
{
    struct scanner_config cfg = {.eol = SCANNER_EOL_CR};
    struct scanner_framer f;
    struct scanner_code code;
    size_t used;

    scanner_framer_init(&f, &cfg);
    GL_CHECK_INT(1, push_all(&f, "ABC\rDEF\r", &code, &used));
    GL_CHECK_STR("ABC", code.text);
    GL_CHECK_INT(4, used);
    GL_CHECK_INT(1, push_all(&f, "DEF\r", &code, &used));
    GL_CHECK_STR("DEF", code.text);
    /* LF is noise to a CR scanner: the line is dropped, the next is fine */
    GL_CHECK_INT(GL_SCAN_GARBAGE, push_all(&f, "A\nB\r", &code, &used));
    GL_CHECK_INT(1, push_all(&f, "OK\r", &code, &used));

    cfg.eol = SCANNER_EOL_LF;
    scanner_framer_init(&f, &cfg);
    GL_CHECK_INT(1, push_all(&f, "12\n", &code, &used));
    GL_CHECK_STR("12", code.text);

    cfg.eol = SCANNER_EOL_CRLF;
    scanner_framer_init(&f, &cfg);
    GL_CHECK_INT(0, push_all(&f, "12\r", &code, &used));
    GL_CHECK_INT(1, push_all(&f, "\n", &code, &used));
    GL_CHECK_STR("12", code.text);
    GL_CHECK_INT(GL_SCAN_GARBAGE, push_all(&f, "1\r2\r\n", &code, &used));

    cfg.eol = SCANNER_EOL_ANY;
    scanner_framer_init(&f, &cfg);
    GL_CHECK_INT(1, push_all(&f, "A\r\nB\nC\r", &code, &used));
    GL_CHECK_STR("A", code.text);
    GL_CHECK_INT(2, used); /* the line ends at CR ... */
    GL_CHECK_INT(1, push_all(&f, "\nB\nC\r", &code, &used));
    GL_CHECK_STR("B", code.text); /* ... and its LF makes no empty line */
    GL_CHECK_INT(3, used);
    GL_CHECK_INT(1, push_all(&f, "C\r", &code, &used));
    GL_CHECK_STR("C", code.text);
    /* empty lines are ignored */
    GL_CHECK_INT(0, push_all(&f, "\r\n\n\r", &code, &used));
    GL_CHECK_INT(4, used);
}

GL_TEST(framer_partial_noise_and_length)
{
    struct scanner_config cfg = {.eol = SCANNER_EOL_CR, .max_line = 20};
    struct scanner_framer f;
    struct scanner_code code;
    size_t used;
    char longline[64];

    scanner_framer_init(&f, &cfg);
    GL_CHECK_INT(0, push_all(&f, "41111111", &code, &used));
    GL_CHECK_INT(0, push_all(&f, "11111", &code, &used));
    GL_CHECK_INT(1, push_all(&f, "111\r", &code, &used));
    GL_CHECK_STR("4111111111111111", code.text);
    GL_CHECK_INT(16, code.len);
    /* garbage bytes: the line is dropped with the reason */
    GL_CHECK_INT(GL_SCAN_GARBAGE, push_all(&f, "41\x01" "11\r", &code, &used));
    GL_CHECK_INT(GL_SCAN_GARBAGE, push_all(&f, "41\xff" "11\r", &code, &used));
    /* over-long */
    memset(longline, '7', 30);
    longline[30] = '\r';
    longline[31] = '\0';
    GL_CHECK_INT(GL_SCAN_TOOLONG, push_all(&f, longline, &code, &used));
    GL_CHECK_INT(31, used);
    memset(longline, '7', 20);
    longline[20] = '\r';
    longline[21] = '\0';
    GL_CHECK_INT(1, push_all(&f, longline, &code, &used));
    GL_CHECK_INT(20, code.len);
}

GL_TEST(framer_aim)
{
    struct scanner_config cfg = {.eol = SCANNER_EOL_CR, .aim = 1};
    struct scanner_framer f;
    struct scanner_code code;
    size_t used;

    scanner_framer_init(&f, &cfg);
    GL_CHECK_INT(1, push_all(&f, "]C04111111111111111\r", &code, &used));
    GL_CHECK_STR("]C0", code.aim);
    GL_CHECK_STR("4111111111111111", code.text);
    GL_CHECK_INT(GL_SCAN_SYMBOLOGY, push_all(&f, "4111111111111111\r", &code, &used));
    GL_CHECK_INT(GL_SCAN_SYMBOLOGY, push_all(&f, "]C\r", &code, &used));
    GL_CHECK_INT(GL_SCAN_SYMBOLOGY, push_all(&f, "]10123\r", &code, &used));
    /* a prefix with no data is an empty line: ignored, never an empty
     * code (found by fuzz_scanner) */
    GL_CHECK_INT(0, push_all(&f, "]C0\r", &code, &used));
    GL_CHECK_INT(4, used);
    GL_CHECK_INT(1, push_all(&f, "]C0\r]Q17\r", &code, &used));
    GL_CHECK_STR("7", code.text);
    GL_CHECK_INT(1, code.len);
    GL_CHECK_INT(9, used);
    strcpy(cfg.aim_allow, "CQ");
    scanner_framer_init(&f, &cfg);
    GL_CHECK_INT(1, push_all(&f, "]Q1hello\r", &code, &used));
    GL_CHECK_STR("]Q1", code.aim);
    GL_CHECK_INT(GL_SCAN_SYMBOLOGY, push_all(&f, "]E04006381333931\r", &code, &used));
    /* the prefix is still checked when no data follows */
    GL_CHECK_INT(GL_SCAN_SYMBOLOGY, push_all(&f, "]E0\r", &code, &used));
}

GL_TEST(voucher_numbers)
{
    /* Luhn reference values: 79927398713 (the classic), 4111111111111111 */
    GL_CHECK_INT('3', scanner_luhn_digit("7992739871", 10));
    GL_CHECK_INT('1', scanner_luhn_digit("411111111111111", 15));
    GL_CHECK_INT(-1, scanner_luhn_digit("41x", 3));
    GL_CHECK_INT(GL_OK, scanner_voucher_check("4111111111111111", 16));
    GL_CHECK_INT(GL_SCAN_CHECKDIGIT, scanner_voucher_check("4111111111111112", 16));
    GL_CHECK_INT(GL_SCAN_CHECKDIGIT, scanner_voucher_check("1411111111111111", 16));
    GL_CHECK_INT(GL_SCAN_LENGTH, scanner_voucher_check("411111111111111", 15));
    GL_CHECK_INT(GL_SCAN_LENGTH, scanner_voucher_check("41111111111111111", 17));
    GL_CHECK_INT(GL_SCAN_LENGTH, scanner_voucher_check("", 0));
    GL_CHECK_INT(GL_SCAN_NONDIGIT, scanner_voucher_check("41111111111111A1", 16));
    GL_CHECK_INT(GL_SCAN_NONDIGIT, scanner_voucher_check("4111 11111111111", 16));
    /* every single-digit error is caught */
    {
        char v[17] = "4111111111111111";
        int caught = 0;
        for (int i = 0; i < 16; i++) {
            char o = v[i];
            v[i] = (char)('0' + (o - '0' + 5) % 10);
            caught += scanner_voucher_check(v, 16) == GL_SCAN_CHECKDIGIT;
            v[i] = o;
        }
        GL_CHECK_INT(16, caught);
    }
}

/* ---- through libserialport --------------------------------------------- */

static char g_dir[64];

static struct semu *start_emu(const char *name, char *link, size_t cap)
{
    struct semu *e = semu_scanner_new();
    snprintf(link, cap, "%s/%s", g_dir, name);
    if (e == NULL || semu_start(e, link) != GL_OK) {
        semu_free(e);
        return NULL;
    }
    return e;
}

struct babble {
    struct semu *e;
    volatile int stop;
};

/* Feeds digits without a line end until told to stop (3 s at most). */
static void *babble_run(void *arg)
{
    struct babble *b = arg;
    char cmd[512] = "raw ";
    int64_t end = dev_time_now_ms() + 3000;
    memset(cmd + 4, '7', 400);
    cmd[404] = '\0';
    while (!b->stop && dev_time_now_ms() < end) {
        semu_command(b->e, cmd, NULL, 0);
    }
    return NULL;
}

GL_TEST(device_normal_and_bad_codes)
{
    char link[128], reply[128], v[17];
    struct scanner_config cfg = {.eol = SCANNER_EOL_CR};
    struct hal_serial_line line = {.baud = 9600}, got;
    struct scanner s;
    struct semu *e = start_emu("scan0", link, sizeof link);

    GL_CHECK(e != NULL);
    if (e == NULL) {
        return;
    }
    GL_CHECK_INT(GL_OK, scanner_init(&s, &cfg, semu_serial_path(e), &line, NULL));
    GL_CHECK_INT(GL_OK, scanner_open(&s));
    GL_CHECK_INT(GL_OK, hal_serial_get_line(&s.port, &got));
    GL_CHECK_INT(9600, got.baud);
    GL_CHECK_INT(8, got.data_bits);

    GL_CHECK_INT(GL_OK, semu_command(e, "scan 4111111111111111", reply, sizeof reply));
    GL_CHECK_STR("ok", reply);
    GL_CHECK_INT(GL_OK, scanner_read_voucher(&s, v, WAIT_MS));
    GL_CHECK_STR("4111111111111111", v);

    /* not voucher numbers: rejected locally with distinct codes */
    semu_command(e, "scan 4111111111111112", NULL, 0);
    GL_CHECK_INT(GL_SCAN_CHECKDIGIT, scanner_read_voucher(&s, v, WAIT_MS));
    GL_CHECK_STR("", v);
    semu_command(e, "scan 411111111111111", NULL, 0);
    GL_CHECK_INT(GL_SCAN_LENGTH, scanner_read_voucher(&s, v, WAIT_MS));
    semu_command(e, "scan 41111111111X1111", NULL, 0);
    GL_CHECK_INT(GL_SCAN_NONDIGIT, scanner_read_voucher(&s, v, WAIT_MS));
    semu_command(e, "scan 41111111111X111", NULL, 0);
    GL_CHECK_INT(GL_SCAN_LENGTH, scanner_read_voucher(&s, v, WAIT_MS));

    /* a partial line completes on the next read */
    semu_command(e, "raw 41111111", NULL, 0);
    GL_CHECK_INT(GL_ETIMEDOUT, scanner_read_voucher(&s, v, QUIET_MS));
    semu_command(e, "scan 11111111", NULL, 0);
    GL_CHECK_INT(GL_OK, scanner_read_voucher(&s, v, WAIT_MS));
    GL_CHECK_STR("4111111111111111", v);

    /* line noise: that line is dropped, the next scan is read */
    semu_command(e, "noise 00 ff 13 0d", NULL, 0);
    semu_command(e, "scan 4111111111111111", NULL, 0);
    GL_CHECK_INT(GL_SCAN_GARBAGE, scanner_read_voucher(&s, v, WAIT_MS));
    GL_CHECK_INT(GL_OK, scanner_read_voucher(&s, v, WAIT_MS));
    GL_CHECK_INT(1, s.dropped);

    /* an over-long line */
    {
        char cmd[300] = "scan ";
        memset(cmd + 5, '9', 200);
        cmd[205] = '\0';
        semu_command(e, cmd, NULL, 0);
        GL_CHECK_INT(GL_SCAN_TOOLONG, scanner_read_voucher(&s, v, WAIT_MS));
    }

    /* a babbling scanner (bytes, never a line end) cannot hold the read
     * past its time-out */
    {
        struct babble bb = {e, 0};
        pthread_t th;
        int64_t t0 = dev_time_now_ms();
        int rc;
        pthread_create(&th, NULL, babble_run, &bb);
        GL_CHECK_INT(GL_ETIMEDOUT, scanner_read_voucher(&s, v, QUIET_MS));
        int64_t took = dev_time_now_ms() - t0;
        bb.stop = 1;
        pthread_join(th, NULL);
        GL_CHECK(took < QUIET_MS + 1500);
        /* a line end closes the babble, which is dropped as over-long
         * (however long the emulator takes to deliver the backlog); the
         * next scan then reads */
        semu_command(e, "scan 1", NULL, 0);
        for (int i = 0; i < 100; i++) {
            rc = scanner_read_voucher(&s, v, WAIT_MS);
            if (rc == GL_SCAN_TOOLONG) {
                break;
            }
        }
        GL_CHECK_INT(GL_SCAN_TOOLONG, rc);
        semu_command(e, "scan 4111111111111111", NULL, 0);
        GL_CHECK_INT(GL_OK, scanner_read_voucher(&s, v, WAIT_MS));
        GL_CHECK_STR("4111111111111111", v);
    }

    /* a silent scanner: time-out, nothing invented */
    semu_command(e, "silent", NULL, 0);
    semu_command(e, "scan 4111111111111111", NULL, 0);
    GL_CHECK_INT(GL_ETIMEDOUT, scanner_read_voucher(&s, v, QUIET_MS));
    semu_command(e, "talk", NULL, 0);

    /* CR LF and AIM prefixes */
    scanner_close(&s);
    cfg.eol = SCANNER_EOL_CRLF;
    cfg.aim = 1;
    GL_CHECK_INT(GL_OK, scanner_init(&s, &cfg, semu_serial_path(e), &line, NULL));
    semu_command(e, "eol crlf", NULL, 0);
    semu_command(e, "aim ]C0", NULL, 0);
    semu_command(e, "scan 4111111111111111", NULL, 0);
    GL_CHECK_INT(GL_OK, scanner_read_voucher(&s, v, WAIT_MS));
    GL_CHECK_STR("4111111111111111", v);
    semu_command(e, "aim off", NULL, 0);
    semu_command(e, "scan 4111111111111111", NULL, 0);
    GL_CHECK_INT(GL_SCAN_SYMBOLOGY, scanner_read_voucher(&s, v, WAIT_MS));

    scanner_close(&s);
    semu_free(e);
}

GL_TEST(device_unplug_and_replug)
{
    char link[128], v[17];
    struct scanner_config cfg = {.eol = SCANNER_EOL_CR};
    struct scanner s;
    struct semu *e = start_emu("scan1", link, sizeof link);

    GL_CHECK(e != NULL);
    if (e == NULL) {
        return;
    }
    GL_CHECK_INT(GL_OK, scanner_init(&s, &cfg, semu_serial_path(e), NULL, NULL));
    GL_CHECK_INT(GL_OK, scanner_open(&s));
    semu_command(e, "raw 4111", NULL, 0); /* a partial line, then the cable goes */
    GL_CHECK_INT(GL_ETIMEDOUT, scanner_read_voucher(&s, v, QUIET_MS));
    semu_command(e, "unplug", NULL, 0);
    GL_CHECK_INT(GL_ECLOSED, scanner_read_voucher(&s, v, WAIT_MS));
    GL_CHECK_INT(0, s.port.is_open);
    GL_CHECK_INT(GL_DEV_NODEV, scanner_read_voucher(&s, v, QUIET_MS));
    semu_command(e, "plug", NULL, 0);
    semu_command(e, "scan 4111111111111111", NULL, 0);
    /* reopened; the partial line from before the drop is forgotten */
    GL_CHECK_INT(GL_OK, scanner_read_voucher(&s, v, WAIT_MS));
    GL_CHECK_STR("4111111111111111", v);
    scanner_close(&s);
    semu_free(e);
}

GL_TEST(device_two_scanners)
{
    char l1[128], l2[128], v[17];
    struct scanner_config cfg = {.eol = SCANNER_EOL_CR};
    struct scanner a, b;
    struct scanner *both[2] = {&a, &b};
    struct semu *e1 = start_emu("scanA", l1, sizeof l1);
    struct semu *e2 = start_emu("scanB", l2, sizeof l2);
    size_t which = 9;

    GL_CHECK(e1 != NULL && e2 != NULL);
    if (e1 == NULL || e2 == NULL) {
        semu_free(e1);
        semu_free(e2);
        return;
    }
    GL_CHECK_INT(GL_OK, scanner_init(&a, &cfg, semu_serial_path(e1), NULL, NULL));
    GL_CHECK_INT(GL_OK, scanner_init(&b, &cfg, semu_serial_path(e2), NULL, NULL));
    GL_CHECK_INT(GL_OK, scanner_open(&a));
    GL_CHECK_INT(GL_OK, scanner_open(&b));
    GL_CHECK_INT(GL_ETIMEDOUT, scanner_wait_any(both, 2, QUIET_MS, &which));
    semu_command(e2, "scan 5500000000000004", NULL, 0);
    GL_CHECK_INT(GL_OK, scanner_wait_any(both, 2, WAIT_MS, &which));
    GL_CHECK_INT(1, which);
    GL_CHECK_INT(GL_OK, scanner_read_voucher(&b, v, WAIT_MS));
    GL_CHECK_STR("5500000000000004", v);
    semu_command(e1, "scan 4111111111111111", NULL, 0);
    GL_CHECK_INT(GL_OK, scanner_wait_any(both, 2, WAIT_MS, &which));
    GL_CHECK_INT(0, which);
    GL_CHECK_INT(GL_OK, scanner_read_voucher(&a, v, WAIT_MS));
    GL_CHECK_STR("4111111111111111", v);
    /* a line that only half arrived on one does not block the other */
    semu_command(e1, "raw 4111", NULL, 0);
    semu_command(e2, "scan 4111111111111111", NULL, 0);
    GL_CHECK_INT(GL_OK, scanner_read_voucher(&b, v, WAIT_MS));
    GL_CHECK_INT(GL_ETIMEDOUT, scanner_read_voucher(&a, v, QUIET_MS));
    scanner_close(&a);
    scanner_close(&b);
    semu_free(e1);
    semu_free(e2);
}

int main(void)
{
    snprintf(g_dir, sizeof g_dir, "/tmp/gl-test-scanner-XXXXXX");
    if (mkdtemp(g_dir) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    GL_RUN(framer_line_endings);
    GL_RUN(framer_partial_noise_and_length);
    GL_RUN(framer_aim);
    GL_RUN(voucher_numbers);
    GL_RUN(device_normal_and_bad_codes);
    GL_RUN(device_unplug_and_replug);
    GL_RUN(device_two_scanners);
    rmdir(g_dir);
    return GL_TEST_END();
}
