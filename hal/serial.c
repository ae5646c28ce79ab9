/*
 * serial.c - hal_serial over libserialport.  Contract in serial.h.
 *
 * Reads poll the port's descriptor themselves instead of calling
 * sp_blocking_read_next(): when the other end hangs up, read() returns 0
 * for ever and libserialport 0.1.1 spins until its time-out instead of
 * reporting it; POLLHUP and a zero-byte read are how a pulled adapter (or a
 * closed pty master) shows, and they become GL_ECLOSED here.
 */
#include "serial.h"

#include <errno.h>
#include <libserialport.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "gl_err.h"

/* Translates a libserialport result (< 0) and keeps its text. */
static int sp_err(struct hal_serial *s, enum sp_return r, const char *what)
{
    char *msg = NULL;

    if (r == SP_ERR_FAIL) {
        msg = sp_last_error_message();
    }
    snprintf(s->errmsg, sizeof s->errmsg, "%s: %s", what,
             msg != NULL ? msg
             : r == SP_ERR_ARG ? "invalid argument"
             : r == SP_ERR_MEM ? "out of memory"
             : r == SP_ERR_SUPP ? "not supported"
                                : "failed");
    if (msg != NULL) {
        sp_free_error_message(msg);
    }
    switch (r) {
    case SP_ERR_ARG:
        return GL_EINVAL;
    case SP_ERR_MEM:
        return GL_ENOMEM;
    case SP_ERR_SUPP:
        return GL_ENOTSUP;
    default:
        return GL_EIO;
    }
}

static long long mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int line_valid(const struct hal_serial_line *l)
{
    return l->baud > 0 && l->data_bits >= 5 && l->data_bits <= 8 &&
           (l->stop_bits == 1 || l->stop_bits == 2) &&
           l->parity >= HAL_SERIAL_PARITY_NONE &&
           l->parity <= HAL_SERIAL_PARITY_EVEN &&
           l->flow >= HAL_SERIAL_FLOW_NONE && l->flow <= HAL_SERIAL_FLOW_RTSCTS;
}

static void line_defaults(struct hal_serial_line *l)
{
    if (l->baud == 0) {
        l->baud = 9600;
    }
    if (l->data_bits == 0) {
        l->data_bits = 8;
    }
    if (l->stop_bits == 0) {
        l->stop_bits = 1;
    }
}

/* ---- libserialport backend ---------------------------------------------- */

static int lsp_set_line(struct hal_serial *s, const struct hal_serial_line *l)
{
    struct sp_port *port = s->port;
    enum sp_return r;
    static const enum sp_parity par[] = {SP_PARITY_NONE, SP_PARITY_ODD,
                                         SP_PARITY_EVEN};
    static const enum sp_flowcontrol flow[] = {
        SP_FLOWCONTROL_NONE, SP_FLOWCONTROL_XONXOFF, SP_FLOWCONTROL_RTSCTS};

    if ((r = sp_set_baudrate(port, l->baud)) != SP_OK) {
        return sp_err(s, r, "set baud rate");
    }
    if ((r = sp_set_bits(port, l->data_bits)) != SP_OK) {
        return sp_err(s, r, "set data bits");
    }
    if ((r = sp_set_parity(port, par[l->parity])) != SP_OK) {
        return sp_err(s, r, "set parity");
    }
    if ((r = sp_set_stopbits(port, l->stop_bits)) != SP_OK) {
        return sp_err(s, r, "set stop bits");
    }
    if ((r = sp_set_flowcontrol(port, flow[l->flow])) != SP_OK) {
        return sp_err(s, r, "set flow control");
    }
    return GL_OK;
}

static int lsp_get_line(struct hal_serial *s, struct hal_serial_line *l)
{
    struct sp_port_config *c = NULL;
    enum sp_return r;
    enum sp_parity par;
    enum sp_xonxoff xo;
    enum sp_rts rts;
    enum sp_cts cts;
    int rc = GL_OK;

    if ((r = sp_new_config(&c)) != SP_OK) {
        rc = sp_err(s, r, "new config");
        goto out;
    }
    if ((r = sp_get_config(s->port, c)) != SP_OK) {
        rc = sp_err(s, r, "get config");
        goto out;
    }
    memset(l, 0, sizeof *l);
    if (sp_get_config_baudrate(c, &l->baud) != SP_OK ||
        sp_get_config_bits(c, &l->data_bits) != SP_OK ||
        sp_get_config_parity(c, &par) != SP_OK ||
        sp_get_config_stopbits(c, &l->stop_bits) != SP_OK ||
        sp_get_config_xon_xoff(c, &xo) != SP_OK ||
        sp_get_config_rts(c, &rts) != SP_OK ||
        sp_get_config_cts(c, &cts) != SP_OK) {
        snprintf(s->errmsg, sizeof s->errmsg, "read config fields");
        rc = GL_EIO;
        goto out;
    }
    l->parity = par == SP_PARITY_ODD    ? HAL_SERIAL_PARITY_ODD
                : par == SP_PARITY_EVEN ? HAL_SERIAL_PARITY_EVEN
                                        : HAL_SERIAL_PARITY_NONE;
    l->flow = (rts == SP_RTS_FLOW_CONTROL && cts == SP_CTS_FLOW_CONTROL)
                  ? HAL_SERIAL_FLOW_RTSCTS
              : xo == SP_XONXOFF_INOUT ? HAL_SERIAL_FLOW_XONXOFF
                                       : HAL_SERIAL_FLOW_NONE;
out:
    if (c != NULL) {
        sp_free_config(c);
    }
    return rc;
}

static void lsp_close(struct hal_serial *s)
{
    if (s->port != NULL) {
        if (s->is_open) {
            (void)sp_close(s->port);
        }
        sp_free_port(s->port);
        s->port = NULL;
    }
    s->is_open = 0;
}

static int lsp_open(struct hal_serial *s)
{
    struct sp_port *port = NULL;
    enum sp_return r;
    int rc;

    r = sp_get_port_by_name(s->cfg.path, &port);
    if (r != SP_OK) {
        /* libserialport says SP_ERR_ARG "Device not found" for a name it
         * cannot find: for the caller that is a missing device. */
        rc = sp_err(s, r, "find port");
        if (rc == GL_EIO || rc == GL_EINVAL) {
            rc = GL_DEV_NODEV;
        }
        goto out;
    }
    s->port = port;
    r = sp_open(port, SP_MODE_READ_WRITE);
    if (r != SP_OK) {
        rc = sp_err(s, r, "open");
        if (rc == GL_EIO) {
            rc = (errno == ENOENT || errno == ENXIO || errno == ENODEV)
                     ? GL_DEV_NODEV
                     : GL_EOS;
        }
        goto out;
    }
    s->is_open = 1;
    rc = lsp_set_line(s, &s->cfg.line);
out:
    if (rc != GL_OK) {
        lsp_close(s);
    }
    return rc;
}

static int lsp_fd(struct hal_serial *s)
{
    int fd = -1;

    if (sp_get_port_handle(s->port, &fd) != SP_OK) {
        return GL_EINVAL;
    }
    return fd;
}

static int lsp_read(struct hal_serial *s, void *buf, size_t cap,
                    int timeout_ms, size_t *got)
{
    int fd = lsp_fd(s);
    long long deadline = mono_ms() + timeout_ms;
    struct pollfd p;
    int left, r;

    for (;;) {
        left = timeout_ms < 0 ? -1 : (int)(deadline - mono_ms());
        if (timeout_ms >= 0 && left < 0) {
            left = 0;
        }
        p.fd = fd;
        p.events = POLLIN;
        p.revents = 0;
        r = poll(&p, 1, left);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r < 0) {
            snprintf(s->errmsg, sizeof s->errmsg, "poll: %s", strerror(errno));
            return GL_EIO;
        }
        if (r == 0) {
            return GL_ETIMEDOUT;
        }
        if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
            int n = sp_nonblocking_read(s->port, buf, cap);
            if (n > 0) {
                *got = (size_t)n;
                return GL_OK;
            }
            if (n == 0 && !(p.revents & (POLLHUP | POLLERR))) {
                /* Readable but empty (e.g. a pty with no peer yet). */
                if (timeout_ms >= 0 && mono_ms() >= deadline) {
                    return GL_ETIMEDOUT;
                }
                continue;
            }
            snprintf(s->errmsg, sizeof s->errmsg, "peer hung up");
            return GL_ECLOSED;
        }
        if (p.revents & POLLNVAL) {
            return GL_EINVAL;
        }
    }
}

static int lsp_write(struct hal_serial *s, const void *buf, size_t len,
                     int timeout_ms)
{
    const unsigned char *p = buf;
    int fd = lsp_fd(s);
    long long deadline = mono_ms() + timeout_ms;

    while (len > 0) {
        int n = sp_nonblocking_write(s->port, p, len);
        if (n > 0) {
            p += n;
            len -= (size_t)n;
            continue;
        }
        if (n < 0) {
            int e = errno;
            sp_err(s, (enum sp_return)n, "write");
            return e == EIO || e == EPIPE ? GL_ECLOSED : GL_EIO;
        }
        /* Output full: wait for room. */
        struct pollfd pf = {.fd = fd, .events = POLLOUT};
        int left = timeout_ms < 0 ? -1 : (int)(deadline - mono_ms());
        if (timeout_ms >= 0 && left <= 0) {
            return GL_ETIMEDOUT;
        }
        if (poll(&pf, 1, left) > 0 && (pf.revents & (POLLHUP | POLLERR))) {
            return GL_ECLOSED;
        }
    }
    return GL_OK;
}

static int lsp_drain(struct hal_serial *s)
{
    enum sp_return r = sp_drain(s->port);
    return r == SP_OK ? GL_OK : sp_err(s, r, "drain");
}

static int lsp_flush_input(struct hal_serial *s)
{
    enum sp_return r = sp_flush(s->port, SP_BUF_INPUT);
    return r == SP_OK ? GL_OK : sp_err(s, r, "flush");
}

const struct hal_serial_ops hal_serial_libserialport = {
    .name = "libserialport",
    .open = lsp_open,
    .close = lsp_close,
    .read = lsp_read,
    .write = lsp_write,
    .drain = lsp_drain,
    .flush_input = lsp_flush_input,
    .set_line = lsp_set_line,
    .get_line = lsp_get_line,
    .fd = lsp_fd,
};

/* ---- public functions ---------------------------------------------------- */

int hal_serial_config_init(struct hal_serial_config *pc, const char *path,
                           const struct hal_serial_line *line)
{
    size_t len;

    memset(pc, 0, sizeof *pc);
    if (path == NULL || (len = strlen(path)) >= sizeof pc->path) {
        return GL_EINVAL;
    }
    memcpy(pc->path, path, len + 1);
    if (line != NULL) {
        pc->line = *line;
    }
    return GL_OK;
}

int hal_serial_init(struct hal_serial *s, const struct hal_serial_ops *ops,
                    const struct hal_serial_config *cfg)
{
    memset(s, 0, sizeof *s);
    s->ops = ops != NULL ? ops : &hal_serial_libserialport;
    if (cfg == NULL || cfg->path[0] == '\0' ||
        memchr(cfg->path, '\0', sizeof cfg->path) == NULL) {
        return GL_EINVAL;
    }
    s->cfg = *cfg;
    line_defaults(&s->cfg.line);
    if (!line_valid(&s->cfg.line)) {
        return GL_EINVAL;
    }
    return GL_OK;
}

int hal_serial_open(struct hal_serial *s)
{
    if (s->is_open) {
        return GL_EINVAL;
    }
    s->errmsg[0] = '\0';
    return s->ops->open(s);
}

void hal_serial_close(struct hal_serial *s)
{
    s->ops->close(s);
}

int hal_serial_read(struct hal_serial *s, void *buf, size_t cap,
                    int timeout_ms, size_t *got)
{
    *got = 0;
    if (!s->is_open || cap == 0) {
        return GL_EINVAL;
    }
    return s->ops->read(s, buf, cap, timeout_ms, got);
}

int hal_serial_write(struct hal_serial *s, const void *buf, size_t len,
                     int timeout_ms)
{
    if (!s->is_open) {
        return GL_EINVAL;
    }
    return s->ops->write(s, buf, len, timeout_ms);
}

int hal_serial_drain(struct hal_serial *s)
{
    return s->is_open ? s->ops->drain(s) : GL_EINVAL;
}

int hal_serial_flush_input(struct hal_serial *s)
{
    return s->is_open ? s->ops->flush_input(s) : GL_EINVAL;
}

int hal_serial_set_line(struct hal_serial *s,
                        const struct hal_serial_line *line)
{
    struct hal_serial_line l = *line;
    int rc;

    line_defaults(&l);
    if (!s->is_open || !line_valid(&l)) {
        return GL_EINVAL;
    }
    rc = s->ops->set_line(s, &l);
    if (rc == GL_OK) {
        s->cfg.line = l;
    }
    return rc;
}

int hal_serial_get_line(struct hal_serial *s, struct hal_serial_line *line)
{
    return s->is_open ? s->ops->get_line(s, line) : GL_EINVAL;
}

int hal_serial_fd(struct hal_serial *s)
{
    return s->is_open ? s->ops->fd(s) : GL_EINVAL;
}
