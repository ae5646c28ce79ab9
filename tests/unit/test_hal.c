/*
 * test_hal.c - hal/serial over a real pseudo-terminal through the real
 * libserialport (path trick + pty_ioctl.c interposer), and hal/clock.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../emulators/emu_pty.h"
#include "../gl_test.h"
#include "clock.h"
#include "gl_err.h"
#include "serial.h"

static void tmp_link(char *out, size_t cap, const char *tag)
{
    snprintf(out, cap, "/tmp/gl-test-hal-%ld-%s", (long)getpid(), tag);
}

static int open_port(struct hal_serial *s, const struct emu_pty *pty,
                     int baud)
{
    struct hal_serial_config cfg;
    int rc;

    memset(&cfg, 0, sizeof cfg);
    snprintf(cfg.path, sizeof cfg.path, "%s", pty->serial_path);
    cfg.line.baud = baud;
    rc = hal_serial_init(s, NULL, &cfg);
    if (rc != GL_OK) {
        return rc;
    }
    return hal_serial_open(s);
}

GL_TEST(serial_path_trick_is_built_from_an_absolute_link)
{
    char out[300];
    GL_CHECK_INT(GL_OK, emu_pty_serial_path("/tmp/x/pty0", out, sizeof out));
    GL_CHECK_STR("/dev/../../../tmp/x/pty0", out);
    GL_CHECK_INT(GL_ENOSPC, emu_pty_serial_path("/tmp/x/pty0", out, 10));
}

GL_TEST(serial_plain_pts_name_is_refused_by_libserialport)
{
    struct emu_pty pty;
    struct hal_serial s;
    struct hal_serial_config cfg;

    GL_CHECK_INT(GL_OK, emu_pty_open(&pty, NULL));
    memset(&cfg, 0, sizeof cfg);
    snprintf(cfg.path, sizeof cfg.path, "%s", pty.slave_name);
    GL_CHECK_INT(GL_OK, hal_serial_init(&s, NULL, &cfg));
    /* Without the trick the sysfs look-up fails: why the trick exists. */
    GL_CHECK_INT(GL_DEV_NODEV, hal_serial_open(&s));
    hal_serial_close(&s);
    emu_pty_close(&pty);
}

GL_TEST(serial_write_and_read_both_ways)
{
    char link[128];
    struct emu_pty pty;
    struct hal_serial s;
    unsigned char buf[64];
    size_t got = 0, total = 0;

    tmp_link(link, sizeof link, "rw");
    GL_CHECK_INT(GL_OK, emu_pty_open(&pty, link));
    GL_CHECK_INT(GL_OK, open_port(&s, &pty, 115200));

    /* terminal -> device */
    GL_CHECK_INT(GL_OK, hal_serial_write(&s, "PING\r\n", 6, 5000));
    GL_CHECK_INT(GL_OK, hal_serial_drain(&s));
    while (total < 6) {
        int rc = emu_pty_read(&pty, buf + total, sizeof buf - total, 5000,
                              &got);
        GL_CHECK_INT(GL_OK, rc);
        if (rc != GL_OK) {
            break;
        }
        total += got;
    }
    GL_CHECK_INT(6, total);
    GL_CHECK_MEM("PING\r\n", buf, 6);

    /* device -> terminal, binary bytes included (raw line: no echo, no
     * CR/LF translation, no XON/XOFF eaten) */
    static const unsigned char bin[] = {0x00, 0x11, 0x13, 0x0d, 0x0a, 0xff};
    GL_CHECK_INT(GL_OK, emu_pty_write(&pty, bin, sizeof bin, 5000));
    total = 0;
    while (total < sizeof bin) {
        int rc = hal_serial_read(&s, buf + total, sizeof buf - total, 5000,
                                 &got);
        GL_CHECK_INT(GL_OK, rc);
        if (rc != GL_OK) {
            break;
        }
        total += got;
    }
    GL_CHECK_INT(sizeof bin, total);
    GL_CHECK_MEM(bin, buf, sizeof bin);

    /* nothing echoed back to the device */
    GL_CHECK_INT(GL_ETIMEDOUT, emu_pty_read(&pty, buf, sizeof buf, 100, &got));

    hal_serial_close(&s);
    emu_pty_close(&pty);
}

GL_TEST(serial_read_times_out_with_nothing)
{
    char link[128];
    struct emu_pty pty;
    struct hal_serial s;
    unsigned char buf[8];
    size_t got = 99;
    struct hal_clock c;
    uint64_t t0, t1;

    tmp_link(link, sizeof link, "to");
    GL_CHECK_INT(GL_OK, emu_pty_open(&pty, link));
    GL_CHECK_INT(GL_OK, open_port(&s, &pty, 9600));
    hal_clock_init(&c, NULL, 0);
    t0 = hal_clock_now_ms(&c);
    GL_CHECK_INT(GL_ETIMEDOUT, hal_serial_read(&s, buf, sizeof buf, 150, &got));
    t1 = hal_clock_now_ms(&c);
    GL_CHECK_INT(0, got);
    GL_CHECK(t1 - t0 >= 140);          /* waited its time-out */
    GL_CHECK(t1 - t0 < 5000);          /* and not much longer */
    GL_CHECK_INT(GL_ETIMEDOUT, hal_serial_read(&s, buf, sizeof buf, 0, &got));
    hal_serial_close(&s);
    emu_pty_close(&pty);
}

GL_TEST(serial_peer_closing_is_eclosed_and_reopen_works)
{
    char link[128];
    struct emu_pty pty;
    struct hal_serial s;
    unsigned char buf[8];
    size_t got = 0;

    tmp_link(link, sizeof link, "hup");
    GL_CHECK_INT(GL_OK, emu_pty_open(&pty, link));
    GL_CHECK_INT(GL_OK, open_port(&s, &pty, 9600));
    emu_pty_unplug(&pty);
    GL_CHECK_INT(GL_ECLOSED, hal_serial_read(&s, buf, sizeof buf, 5000, &got));
    GL_CHECK_INT(0, got);
    hal_serial_close(&s);
    /* unplugged: the name is gone */
    GL_CHECK_INT(GL_DEV_NODEV, hal_serial_open(&s));
    /* plugged back at the same name: the same handle opens again */
    GL_CHECK_INT(GL_OK, emu_pty_replug(&pty));
    GL_CHECK_INT(GL_OK, hal_serial_open(&s));
    GL_CHECK_INT(GL_OK, emu_pty_write(&pty, "Z", 1, 5000));
    GL_CHECK_INT(GL_OK, hal_serial_read(&s, buf, sizeof buf, 5000, &got));
    GL_CHECK_INT(1, got);
    GL_CHECK_INT('Z', buf[0]);
    hal_serial_close(&s);
    hal_serial_close(&s); /* idempotent */
    emu_pty_close(&pty);
}

GL_TEST(serial_line_settings_read_back)
{
    char link[128];
    struct emu_pty pty;
    struct hal_serial s;
    struct hal_serial_line l, got;

    tmp_link(link, sizeof link, "line");
    GL_CHECK_INT(GL_OK, emu_pty_open(&pty, link));
    GL_CHECK_INT(GL_OK, open_port(&s, &pty, 115200));
    GL_CHECK_INT(GL_OK, hal_serial_get_line(&s, &got));
    GL_CHECK_INT(115200, got.baud);
    GL_CHECK_INT(8, got.data_bits);
    GL_CHECK_INT(HAL_SERIAL_PARITY_NONE, got.parity);
    GL_CHECK_INT(1, got.stop_bits);
    memset(&l, 0, sizeof l);
    l.baud = 19200;
    l.stop_bits = 2;
    GL_CHECK_INT(GL_OK, hal_serial_set_line(&s, &l));
    GL_CHECK_INT(GL_OK, hal_serial_get_line(&s, &got));
    GL_CHECK_INT(19200, got.baud);
    GL_CHECK_INT(8, got.data_bits);
    GL_CHECK_INT(2, got.stop_bits);
    GL_CHECK_INT(19200, s.cfg.line.baud);
    /* A Linux pty keeps CS8 without parity: libserialport checks what the
     * kernel kept and reports the refusal; the handle keeps its old line. */
    l.data_bits = 7;
    l.parity = HAL_SERIAL_PARITY_EVEN;
    GL_CHECK_INT(GL_EIO, hal_serial_set_line(&s, &l));
    GL_CHECK_INT(8, s.cfg.line.data_bits);
    GL_CHECK_INT(HAL_SERIAL_PARITY_NONE, s.cfg.line.parity);
    l.data_bits = 9;
    GL_CHECK_INT(GL_EINVAL, hal_serial_set_line(&s, &l));
    GL_CHECK(hal_serial_fd(&s) >= 0);
    hal_serial_close(&s);
    GL_CHECK_INT(GL_EINVAL, hal_serial_fd(&s));
    emu_pty_close(&pty);
}

GL_TEST(serial_bad_arguments)
{
    struct hal_serial s;
    struct hal_serial_config cfg;
    unsigned char b[4];
    size_t got = 7;

    memset(&cfg, 0, sizeof cfg);
    GL_CHECK_INT(GL_EINVAL, hal_serial_init(&s, NULL, &cfg));
    snprintf(cfg.path, sizeof cfg.path, "/dev/../../../tmp/gl-no-such-port");
    GL_CHECK_INT(GL_OK, hal_serial_init(&s, NULL, &cfg));
    GL_CHECK_INT(GL_DEV_NODEV, hal_serial_open(&s));
    GL_CHECK_INT(GL_EINVAL, hal_serial_read(&s, b, sizeof b, 0, &got));
    GL_CHECK_INT(0, got);
    GL_CHECK_INT(GL_EINVAL, hal_serial_write(&s, b, 1, 0));
}

/* The one way drivers build a configuration: path and line copied, all
 * else zero; a NULL or too long path refused with the struct cleared. */
GL_TEST(serial_config_init_copies_path_and_line)
{
    struct hal_serial_config pc, want;
    struct hal_serial_line l;
    char path[HAL_SERIAL_PATH_MAX + 1];
    char link[128];
    struct emu_pty pty;
    struct hal_serial s;
    struct hal_serial_line got;

    memset(&l, 0, sizeof l);
    l.baud = 38400;
    l.stop_bits = 2;
    l.flow = HAL_SERIAL_FLOW_XONXOFF;
    memset(&pc, 0xA5, sizeof pc);
    GL_CHECK_INT(GL_OK, hal_serial_config_init(&pc, "/dev/ttyUSB3", &l));
    memset(&want, 0, sizeof want);
    memcpy(want.path, "/dev/ttyUSB3", sizeof "/dev/ttyUSB3");
    want.line = l;
    GL_CHECK_MEM(&want, &pc, sizeof pc);
    GL_CHECK_STR("/dev/ttyUSB3", pc.path);
    GL_CHECK_INT(38400, pc.line.baud);
    GL_CHECK_INT(HAL_SERIAL_FLOW_XONXOFF, pc.line.flow);

    /* no line: zero, i.e. the defaults at init */
    memset(&pc, 0xA5, sizeof pc);
    GL_CHECK_INT(GL_OK, hal_serial_config_init(&pc, "/dev/ttyS0", NULL));
    memset(&want, 0, sizeof want);
    memcpy(want.path, "/dev/ttyS0", sizeof "/dev/ttyS0");
    GL_CHECK_MEM(&want, &pc, sizeof pc);

    /* the longest path that fits, then one character more */
    memset(path, 'p', sizeof path);
    path[0] = '/';
    path[HAL_SERIAL_PATH_MAX - 1] = '\0';
    GL_CHECK_INT(GL_OK, hal_serial_config_init(&pc, path, NULL));
    GL_CHECK_INT(HAL_SERIAL_PATH_MAX - 1, (int)strlen(pc.path));
    GL_CHECK_STR(path, pc.path);
    path[HAL_SERIAL_PATH_MAX - 1] = 'p';
    path[HAL_SERIAL_PATH_MAX] = '\0';
    memset(&pc, 0xA5, sizeof pc);
    GL_CHECK_INT(GL_EINVAL, hal_serial_config_init(&pc, path, &l));
    memset(&want, 0, sizeof want);
    GL_CHECK_MEM(&want, &pc, sizeof pc);
    memset(&pc, 0xA5, sizeof pc);
    GL_CHECK_INT(GL_EINVAL, hal_serial_config_init(&pc, NULL, &l));
    GL_CHECK_MEM(&want, &pc, sizeof pc);

    /* empty is built (init refuses it, as before) */
    GL_CHECK_INT(GL_OK, hal_serial_config_init(&pc, "", NULL));
    GL_CHECK_INT(GL_EINVAL, hal_serial_init(&s, NULL, &pc));

    /* what it builds opens a real port with its line */
    tmp_link(link, sizeof link, "cfginit");
    GL_CHECK_INT(GL_OK, emu_pty_open(&pty, link));
    l.flow = HAL_SERIAL_FLOW_NONE;
    GL_CHECK_INT(GL_OK, hal_serial_config_init(&pc, pty.serial_path, &l));
    GL_CHECK_INT(GL_OK, hal_serial_init(&s, NULL, &pc));
    GL_CHECK_INT(GL_OK, hal_serial_open(&s));
    GL_CHECK_INT(GL_OK, hal_serial_get_line(&s, &got));
    GL_CHECK_INT(38400, got.baud);
    GL_CHECK_INT(2, got.stop_bits);
    hal_serial_close(&s);
    emu_pty_close(&pty);
}

GL_TEST(clock_test_clock_moves_only_when_told)
{
    struct hal_clock c;

    hal_clock_init(&c, &hal_clock_test, 1000);
    GL_CHECK_INT(1000, hal_clock_now_ms(&c));
    GL_CHECK_INT(1000, hal_clock_now_ms(&c));
    hal_clock_advance(&c, 250);
    GL_CHECK_INT(1250, hal_clock_now_ms(&c));
    GL_CHECK_INT(750, hal_clock_left_ms(&c, 2000));
    hal_clock_advance(&c, 5000);
    GL_CHECK_INT(0, hal_clock_left_ms(&c, 2000));
    GL_CHECK_STR("test", c.ops->name);
}

GL_TEST(clock_monotonic_clock_advances)
{
    struct hal_clock c;
    uint64_t a, b;
    struct timespec ts = {0, 20 * 1000 * 1000};

    hal_clock_init(&c, NULL, 12345);
    GL_CHECK_STR("monotonic", c.ops->name);
    a = hal_clock_now_ms(&c);
    nanosleep(&ts, NULL); /* measuring time, not synchronising */
    b = hal_clock_now_ms(&c);
    GL_CHECK(b >= a + 20);
}

int main(void)
{
    GL_RUN(serial_path_trick_is_built_from_an_absolute_link);
    GL_RUN(serial_plain_pts_name_is_refused_by_libserialport);
    GL_RUN(serial_write_and_read_both_ways);
    GL_RUN(serial_read_times_out_with_nothing);
    GL_RUN(serial_peer_closing_is_eclosed_and_reopen_works);
    GL_RUN(serial_line_settings_read_back);
    GL_RUN(serial_bad_arguments);
    GL_RUN(serial_config_init_copies_path_and_line);
    GL_RUN(clock_test_clock_moves_only_when_told);
    GL_RUN(clock_monotonic_clock_advances);
    return GL_TEST_END();
}
