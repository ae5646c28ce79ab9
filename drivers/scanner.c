/*
 * scanner.c - serial barcode scanners: line framing, AIM prefixes, voucher
 * number checks, and the device handle on hal/serial.
 */
#include "scanner.h"

#include <poll.h>
#include <string.h>

#include "dev_time.h"
#include "gl_err.h"
#include "gl_log.h"

void scanner_framer_init(struct scanner_framer *f,
                         const struct scanner_config *cfg)
{
    memset(f, 0, sizeof *f);
    f->cfg = *cfg;
    if (f->cfg.max_line == 0 || f->cfg.max_line > SCANNER_LINE_MAX) {
        f->cfg.max_line = SCANNER_LINE_MAX;
    }
    f->cfg.aim_allow[sizeof f->cfg.aim_allow - 1] = '\0';
}

void scanner_framer_reset(struct scanner_framer *f)
{
    f->len = 0;
    f->garbage = 0;
    f->toolong = 0;
    f->after_cr = 0;
}

/* Ends the current line: 1 with *code, 0 for an empty line, or a drop. */
static int framer_end_line(struct scanner_framer *f, struct scanner_code *code)
{
    int rc = 0;
    size_t skip = 0;

    if (f->garbage) {
        rc = GL_SCAN_GARBAGE;
        goto out;
    }
    if (f->toolong) {
        rc = GL_SCAN_TOOLONG;
        goto out;
    }
    if (f->len == 0) {
        goto out;
    }
    if (f->cfg.aim) {
        char sym;
        if (f->len < 3 || f->line[0] != ']') {
            rc = GL_SCAN_SYMBOLOGY;
            goto out;
        }
        sym = f->line[1];
        if (!((sym >= 'A' && sym <= 'Z') || (sym >= 'a' && sym <= 'z'))) {
            rc = GL_SCAN_SYMBOLOGY;
            goto out;
        }
        if (f->cfg.aim_allow[0] != '\0' &&
            strchr(f->cfg.aim_allow, sym) == NULL) {
            rc = GL_SCAN_SYMBOLOGY;
            goto out;
        }
        skip = 3;
    }
    if (f->len == skip) {
        goto out; /* the AIM prefix alone: an empty line, ignored */
    }
    if (f->len - skip > f->cfg.max_line) {
        rc = GL_SCAN_TOOLONG;
        goto out;
    }
    memcpy(code->aim, f->line, skip);
    code->aim[skip] = '\0';
    code->len = f->len - skip;
    memcpy(code->text, f->line + skip, code->len);
    code->text[code->len] = '\0';
    rc = 1;
out:
    scanner_framer_reset(f);
    return rc;
}

int scanner_framer_push(struct scanner_framer *f, const uint8_t *data,
                        size_t len, size_t *used, struct scanner_code *code)
{
    size_t i;
    int rc = 0;

    for (i = 0; i < len; i++) {
        uint8_t b = data[i];
        int eol = 0;
        int was_cr = f->after_cr;

        f->after_cr = 0;
        switch (f->cfg.eol) {
        case SCANNER_EOL_CR:
            eol = b == '\r';
            break;
        case SCANNER_EOL_LF:
            eol = b == '\n';
            break;
        case SCANNER_EOL_CRLF:
            if (b == '\r') {
                f->after_cr = 1;
                continue;
            }
            if (b == '\n' && was_cr) {
                eol = 1;
            } else if (was_cr) {
                f->garbage = 1; /* a lone CR inside a line */
            }
            break;
        case SCANNER_EOL_ANY:
            if (b == '\n' && was_cr) {
                continue; /* the LF of a CR LF: the line already ended */
            }
            if (b == '\r') {
                f->after_cr = 1;
            }
            eol = b == '\r' || b == '\n';
            break;
        }
        if (eol) {
            rc = framer_end_line(f, code);
            if (rc != 0) {
                i++;
                goto out;
            }
            continue;
        }
        if (b < 0x20 || b > 0x7E) {
            f->garbage = 1;
            continue;
        }
        if (f->len >= f->cfg.max_line + (f->cfg.aim ? 3 : 0)) {
            f->toolong = 1;
            continue;
        }
        f->line[f->len++] = (char)b;
    }
out:
    *used = i;
    return rc;
}

int scanner_luhn_digit(const char *digits, size_t len)
{
    unsigned sum = 0;
    int dbl = 1; /* the digit next to the check digit is doubled */

    for (size_t i = len; i-- > 0;) {
        unsigned d;
        if (digits[i] < '0' || digits[i] > '9') {
            return -1;
        }
        d = (unsigned)(digits[i] - '0');
        if (dbl) {
            d *= 2;
            if (d > 9) {
                d -= 9;
            }
        }
        sum += d;
        dbl = !dbl;
    }
    return (int)('0' + (10 - sum % 10) % 10);
}

int scanner_voucher_check(const char *code, size_t len)
{
    if (len != SCANNER_VOUCHER_LEN) {
        return GL_SCAN_LENGTH;
    }
    for (size_t i = 0; i < len; i++) {
        if (code[i] < '0' || code[i] > '9') {
            return GL_SCAN_NONDIGIT;
        }
    }
    if (scanner_luhn_digit(code, len - 1) != code[len - 1]) {
        return GL_SCAN_CHECKDIGIT;
    }
    return GL_OK;
}

/* ---- the device ---------------------------------------------------------- */

int scanner_init(struct scanner *s, const struct scanner_config *cfg,
                 const char *path, const struct hal_serial_line *line,
                 const struct hal_serial_ops *ops)
{
    struct hal_serial_config pc;

    memset(s, 0, sizeof *s);
    if (hal_serial_config_init(&pc, path, line) != GL_OK) {
        return GL_EINVAL;
    }
    scanner_framer_init(&s->fr, cfg);
    return hal_serial_init(&s->port, ops, &pc);
}

int scanner_open(struct scanner *s)
{
    scanner_framer_reset(&s->fr);
    s->rx_len = s->rx_off = 0;
    return hal_serial_open(&s->port);
}

void scanner_close(struct scanner *s)
{
    hal_serial_close(&s->port);
    scanner_framer_reset(&s->fr);
    s->rx_len = s->rx_off = 0;
}

/* Frames buffered bytes: 1 (code), 0 (need more) or a drop code. */
static int scanner_frame_buffered(struct scanner *s, struct scanner_code *code)
{
    size_t used = 0;
    int rc;

    if (s->rx_off >= s->rx_len) {
        s->rx_off = s->rx_len = 0;
        return 0;
    }
    rc = scanner_framer_push(&s->fr, s->rx + s->rx_off, s->rx_len - s->rx_off,
                             &used, code);
    s->rx_off += used;
    if (rc < 0) {
        s->dropped++;
        GL_LOG_WARN("scanner", "line dropped: %s", gl_strerror(rc));
    }
    return rc;
}

int scanner_read(struct scanner *s, struct scanner_code *code, int timeout_ms)
{
    int64_t deadline = dev_time_deadline(timeout_ms);
    unsigned reads = 0;
    int rc;

    if (!s->port.is_open) {
        rc = scanner_open(s);
        if (rc != GL_OK) {
            return rc;
        }
    }
    for (;;) {
        size_t got = 0;
        rc = scanner_frame_buffered(s, code);
        if (rc == 1) {
            return GL_OK;
        }
        if (rc < 0) {
            return rc;
        }
        if (reads++ > 0 && dev_time_expired(deadline)) {
            return GL_ETIMEDOUT; /* a device babbling without line ends */
        }
        rc = hal_serial_read(&s->port, s->rx, sizeof s->rx,
                             dev_time_left(deadline), &got);
        if (rc == GL_ECLOSED) {
            GL_LOG_WARN("scanner", "line dropped by the device");
            scanner_close(s);
            return rc;
        }
        if (rc != GL_OK) {
            return rc;
        }
        s->rx_off = 0;
        s->rx_len = got;
    }
}

int scanner_read_voucher(struct scanner *s,
                         char voucher[SCANNER_VOUCHER_LEN + 1], int timeout_ms)
{
    struct scanner_code code;
    int rc;

    voucher[0] = '\0';
    rc = scanner_read(s, &code, timeout_ms);
    if (rc == GL_OK) {
        rc = scanner_voucher_check(code.text, code.len);
    }
    if (rc == GL_OK) {
        memcpy(voucher, code.text, SCANNER_VOUCHER_LEN + 1);
    }
    memset(&code, 0, sizeof code);
    return rc;
}

int scanner_wait_any(struct scanner *const *v, size_t n, int timeout_ms,
                     size_t *which)
{
    struct pollfd pf[16];
    int rc;

    if (n == 0 || n > 16) {
        return GL_EINVAL;
    }
    for (size_t i = 0; i < n; i++) {
        if (v[i]->rx_off < v[i]->rx_len) {
            *which = i;
            return GL_OK;
        }
        pf[i].fd = v[i]->port.is_open ? hal_serial_fd(&v[i]->port) : -1;
        pf[i].events = POLLIN;
        pf[i].revents = 0;
    }
    rc = poll(pf, n, timeout_ms);
    if (rc < 0) {
        return GL_EOS;
    }
    if (rc == 0) {
        return GL_ETIMEDOUT;
    }
    for (size_t i = 0; i < n; i++) {
        if (pf[i].revents != 0) {
            *which = i;
            return GL_OK;
        }
    }
    return GL_ETIMEDOUT;
}
