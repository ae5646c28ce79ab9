/*
 * acquirer.c - the host's client of a card acquirer (acquirer.h,
 * docs/acquirer-link.md).
 *
 * One connection, one request outstanding, a poll loop bounded by the
 * call's deadline.  The connection sits behind a small ops table, plain TCP
 * or TLS through hal/net (the "vtable for plain vs TLS connections" of
 * Redis), so the exchange code is written once.  Answers are reassembled
 * with iso_reasm and unpacked with the strict codec into a scratch message;
 * only one that names the outstanding request is copied into c->ans.
 */
#include "acquirer.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <mbedtls/platform_util.h>

#include "clock.h"
#include "gl_err.h"
#include "gl_log.h"
#include "iso8583.h"
#include "net.h"

#define MOD "acq"
#define ACQ_READ_CHUNK 4096
#define ACQ_DEFAULT_TIMEOUT_MS 30000u

struct acq_client;

/* A connection, plain or TLS.  Every function reports gl_err codes. */
struct acq_link_ops {
    const char *name;
    /* Starts a connection to c->host:c->port. */
    int (*open)(struct acq_client *c);
    /* Drives connect (+ handshake): GL_OK when usable, GL_EAGAIN. */
    int (*step)(struct acq_client *c);
    int (*read)(struct acq_client *c, void *buf, size_t len);
    int (*write)(struct acq_client *c, const void *buf, size_t len);
    int (*pending)(const struct acq_client *c);
    int (*want)(const struct acq_client *c); /* NET_WANT_* */
    int (*fd)(const struct acq_client *c);
    const char *(*errstr)(const struct acq_client *c);
    void (*close)(struct acq_client *c);
};

struct acq_client {
    const struct acq_link_ops *ops;
    struct net_ctx *tls;
    struct net_conn *conn; /* TLS */
    int fd;                /* plain */
    int plain_want;
    char plain_err[128];
    int open;  /* a connection exists */
    int ready; /* ... and its handshake is complete */

    char host[256];
    char port[16];
    char tid[9];
    char mid[16];
    unsigned timeout_ms;
    uint32_t stan;
    struct hal_clock clock;

    /* The exchange in progress. */
    const char *want_mti;
    const char *want_mti2; /* a second accepted MTI class, or NULL */
    const struct acq_ident *want_id;
    int got;
    int cb_err;

    char err[ACQ_ERR_MAX];
    struct iso_msg req;
    struct iso_msg ans;
    struct iso_msg tmp;
    struct iso_reasm reasm;
    uint8_t out[ISO_HDR_LEN + ISO_FRAME_MAX];
    uint8_t in[ACQ_READ_CHUNK];
};

/* ---- plain TCP ---------------------------------------------------------- */

static int plain_open(struct acq_client *c)
{
    struct addrinfo hints, *res = NULL, *ai;
    int rc, fd = -1, e = 0;

    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    rc = getaddrinfo(c->host, c->port, &hints, &res);
    if (rc != 0) {
        snprintf(c->plain_err, sizeof c->plain_err, "%s", gai_strerror(rc));
        return GL_NET_RESOLVE;
    }
    for (ai = res; ai != NULL; ai = ai->ai_next) {
        fd = socket(ai->ai_family,
                    ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                    ai->ai_protocol);
        if (fd < 0) {
            e = errno;
            continue;
        }
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0 ||
            errno == EINPROGRESS) {
            break;
        }
        e = errno;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0) {
        snprintf(c->plain_err, sizeof c->plain_err, "%s", strerror(e));
        return GL_NET_CONNECT;
    }
    c->fd = fd;
    c->plain_want = NET_WANT_WRITE;
    return GL_OK;
}

static int plain_step(struct acq_client *c)
{
    struct pollfd p = {.fd = c->fd, .events = POLLOUT};
    int e = 0;
    socklen_t len = sizeof e;

    if (poll(&p, 1, 0) <= 0) {
        c->plain_want = NET_WANT_WRITE;
        return GL_EAGAIN;
    }
    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &e, &len) != 0) {
        e = errno;
    }
    if (e != 0) {
        snprintf(c->plain_err, sizeof c->plain_err, "%s", strerror(e));
        return GL_NET_CONNECT;
    }
    return GL_OK;
}

static int plain_errno(struct acq_client *c, int e)
{
    if (e == EAGAIN || e == EWOULDBLOCK || e == EINTR) {
        return GL_EAGAIN;
    }
    snprintf(c->plain_err, sizeof c->plain_err, "%s", strerror(e));
    return (e == ECONNRESET || e == EPIPE) ? GL_ECLOSED : GL_EIO;
}

static int plain_read(struct acq_client *c, void *buf, size_t len)
{
    ssize_t n = recv(c->fd, buf, len, 0);
    c->plain_want = NET_WANT_READ;
    if (n > 0) {
        return (int)n;
    }
    if (n == 0) {
        snprintf(c->plain_err, sizeof c->plain_err, "peer closed");
        return GL_ECLOSED;
    }
    return plain_errno(c, errno);
}

static int plain_write(struct acq_client *c, const void *buf, size_t len)
{
    ssize_t n = send(c->fd, buf, len, MSG_NOSIGNAL);
    c->plain_want = NET_WANT_WRITE;
    if (n > 0) {
        return (int)n;
    }
    return plain_errno(c, n == 0 ? EAGAIN : errno);
}

static int plain_pending(const struct acq_client *c)
{
    (void)c;
    return 0;
}

static int plain_want(const struct acq_client *c)
{
    return c->plain_want;
}

static int plain_fd(const struct acq_client *c)
{
    return c->fd;
}

static const char *plain_errstr(const struct acq_client *c)
{
    return c->plain_err;
}

static void plain_close(struct acq_client *c)
{
    if (c->fd >= 0) {
        close(c->fd);
    }
    c->fd = -1;
}

static const struct acq_link_ops plain_ops = {
    .name = "tcp",
    .open = plain_open,
    .step = plain_step,
    .read = plain_read,
    .write = plain_write,
    .pending = plain_pending,
    .want = plain_want,
    .fd = plain_fd,
    .errstr = plain_errstr,
    .close = plain_close,
};

/* ---- TLS (hal/net) ------------------------------------------------------ */

static int tls_open(struct acq_client *c)
{
    return net_connect(c->tls, c->host, c->port, &c->conn);
}

static int tls_step(struct acq_client *c)
{
    return net_conn_handshake(c->conn);
}

static int tls_read(struct acq_client *c, void *buf, size_t len)
{
    return net_conn_read(c->conn, buf, len);
}

static int tls_write(struct acq_client *c, const void *buf, size_t len)
{
    return net_conn_write(c->conn, buf, len);
}

static int tls_pending(const struct acq_client *c)
{
    return net_conn_pending(c->conn);
}

static int tls_want(const struct acq_client *c)
{
    return net_conn_want(c->conn);
}

static int tls_fd(const struct acq_client *c)
{
    return net_conn_fd(c->conn);
}

static const char *tls_errstr(const struct acq_client *c)
{
    return c->conn != NULL ? net_conn_errstr(c->conn) : "";
}

static void tls_close(struct acq_client *c)
{
    net_conn_close(c->conn);
    c->conn = NULL;
}

static const struct acq_link_ops tls_ops = {
    .name = "tls",
    .open = tls_open,
    .step = tls_step,
    .read = tls_read,
    .write = tls_write,
    .pending = tls_pending,
    .want = tls_want,
    .fd = tls_fd,
    .errstr = tls_errstr,
    .close = tls_close,
};

/* ---- helpers ------------------------------------------------------------ */

static void set_err(struct acq_client *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void set_err(struct acq_client *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->err, sizeof c->err, fmt, ap);
    va_end(ap);
}

static int all_digits(const char *s, size_t min, size_t max)
{
    size_t n = strnlen(s, max + 1);
    if (n < min || n > max) {
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return 0;
        }
    }
    return 1;
}

static int ident_ok(const struct acq_ident *id)
{
    return all_digits(id->stan, 6, 6) && all_digits(id->de7, 10, 10) &&
           strcmp(id->stan, "000000") != 0;
}

/* KST wall time: DE 7 MMDDhhmmss, DE 12 hhmmss, DE 13 MMDD. */
static void kst_now(char de7[11], char de12[7], char de13[5])
{
    time_t s = time(NULL) + 9 * 3600;
    struct tm tm;
    char all[32];

    gmtime_r(&s, &tm);
    snprintf(all, sizeof all, "%02u%02u%02u%02u%02u",
             (unsigned)(tm.tm_mon + 1) % 100u, (unsigned)tm.tm_mday % 100u,
             (unsigned)tm.tm_hour % 100u, (unsigned)tm.tm_min % 100u,
             (unsigned)tm.tm_sec % 100u);
    if (de7 != NULL) {
        memcpy(de7, all, 10);
        de7[10] = '\0';
    }
    if (de12 != NULL) {
        memcpy(de12, all + 4, 6);
        de12[6] = '\0';
    }
    if (de13 != NULL) {
        memcpy(de13, all, 4);
        de13[4] = '\0';
    }
}

static void wipe_exchange(struct acq_client *c)
{
    /* The messages held a card number: wipe what they used. */
    mbedtls_platform_zeroize(c->req.data, sizeof c->req.data);
    mbedtls_platform_zeroize(c->ans.data, sizeof c->ans.data);
    mbedtls_platform_zeroize(c->tmp.data, sizeof c->tmp.data);
    mbedtls_platform_zeroize(c->out, sizeof c->out);
    mbedtls_platform_zeroize(c->in, sizeof c->in);
    iso_msg_init(&c->req);
    iso_msg_init(&c->ans);
    iso_msg_init(&c->tmp);
}

void acq_client_disconnect(struct acq_client *c)
{
    if (c->open) {
        c->ops->close(c);
    }
    c->open = 0;
    c->ready = 0;
    mbedtls_platform_zeroize(c->reasm.buf, sizeof c->reasm.buf);
    iso_reasm_init(&c->reasm, c->reasm.max);
}

int acq_client_connected(const struct acq_client *c)
{
    return c->ready;
}

const char *acq_client_errstr(const struct acq_client *c)
{
    return c->err;
}

/* ---- life cycle --------------------------------------------------------- */

static int copy_str(char *dst, size_t cap, const char *src)
{
    if (src == NULL || src[0] == '\0' || strlen(src) >= cap) {
        return 0;
    }
    memcpy(dst, src, strlen(src) + 1);
    return 1;
}

int acq_client_new(struct acq_client **out, const struct acq_config *cfg,
                   char *err)
{
    struct acq_client *c = NULL;
    char tmp[ACQ_ERR_MAX] = "";
    int rc = GL_OK;

    *out = NULL;
    c = calloc(1, sizeof *c);
    if (c == NULL) {
        snprintf(tmp, sizeof tmp, "out of memory for the acquirer client");
        rc = GL_ENOMEM;
        goto out;
    }
    c->fd = -1;
    if (!copy_str(c->host, sizeof c->host, cfg->host) ||
        !copy_str(c->port, sizeof c->port, cfg->port)) {
        snprintf(tmp, sizeof tmp, "acquirer host and port must be set");
        rc = GL_EINVAL;
        goto out;
    }
    if (!copy_str(c->tid, sizeof c->tid, cfg->terminal_id)) {
        snprintf(tmp, sizeof tmp,
                 "acquirer terminal id (DE 41) must be 1 to 8 characters");
        rc = GL_EINVAL;
        goto out;
    }
    if (!copy_str(c->mid, sizeof c->mid, cfg->merchant_id)) {
        snprintf(tmp, sizeof tmp,
                 "acquirer merchant id (DE 42) must be 1 to 15 characters");
        rc = GL_EINVAL;
        goto out;
    }
    /* DE 41 and 42 are fixed ans fields: pad with spaces. */
    for (size_t i = strlen(c->tid); i < 8; i++) {
        c->tid[i] = ' ';
    }
    c->tid[8] = '\0';
    for (size_t i = strlen(c->mid); i < 15; i++) {
        c->mid[i] = ' ';
    }
    c->mid[15] = '\0';
    if (cfg->frame_max > ISO_FRAME_MAX) {
        snprintf(tmp, sizeof tmp, "acquirer frame_max above %d", ISO_FRAME_MAX);
        rc = GL_EINVAL;
        goto out;
    }
    c->timeout_ms =
        cfg->timeout_ms != 0 ? cfg->timeout_ms : ACQ_DEFAULT_TIMEOUT_MS;
    c->stan = cfg->stan_start > 0 ? (cfg->stan_start - 1) % 999999 : 0;
    iso_reasm_init(&c->reasm,
                   cfg->frame_max != 0 ? cfg->frame_max : ISO_FRAME_MAX);
    hal_clock_init(&c->clock, NULL, 0);
    iso_msg_init(&c->req);
    iso_msg_init(&c->ans);
    iso_msg_init(&c->tmp);
    if (cfg->plain) {
        c->ops = &plain_ops;
    } else {
        struct net_tls_config t = {.ca_file = cfg->ca_file,
                                   .cert_file = cfg->cert_file,
                                   .key_file = cfg->key_file,
                                   .server_cn = cfg->server_cn};
        char nerr[NET_ERR_MAX] = "";
        if (cfg->ca_file == NULL || cfg->server_cn == NULL) {
            snprintf(tmp, sizeof tmp,
                     "acquirer TLS needs ca_file and server_cn (or plain)");
            rc = GL_EINVAL;
            goto out;
        }
        rc = net_ctx_new(&c->tls, NET_ROLE_CLIENT, &t, nerr, sizeof nerr);
        if (rc != GL_OK) {
            snprintf(tmp, sizeof tmp, "acquirer TLS: %.200s", nerr);
            goto out;
        }
        c->ops = &tls_ops;
    }
out:
    if (rc != GL_OK) {
        acq_client_free(c);
        c = NULL;
    }
    if (err != NULL) {
        snprintf(err, ACQ_ERR_MAX, "%s", tmp);
    }
    *out = c;
    return rc;
}

void acq_client_free(struct acq_client *c)
{
    if (c == NULL) {
        return;
    }
    if (c->ops != NULL) {
        acq_client_disconnect(c);
    }
    net_ctx_free(c->tls);
    mbedtls_platform_zeroize(c, sizeof *c);
    free(c);
}

void acq_ident_next(struct acq_client *c, struct acq_ident *id)
{
    c->stan = c->stan % 999999 + 1;
    snprintf(id->stan, sizeof id->stan, "%06u", (unsigned)c->stan);
    kst_now(id->de7, NULL, NULL);
}

void acq_ident_at(uint32_t stan, struct acq_ident *id)
{
    snprintf(id->stan, sizeof id->stan, "%06u",
             (unsigned)((stan - 1) % 999999 + 1));
    kst_now(id->de7, NULL, NULL);
}

uint32_t acq_stan_last(const struct acq_client *c)
{
    return c->stan;
}

void acq_de90(char out[43], const struct acq_ident *orig)
{
    snprintf(out, 43, "0100%.6s%.10s%022d", orig->stan, orig->de7, 0);
}

unsigned acq_reversal_delay_ms(unsigned attempts)
{
    static const unsigned steps[] = {30000, 60000, 120000, 240000};
    if (attempts == 0) {
        return 0;
    }
    return attempts <= 4 ? steps[attempts - 1] : 300000u;
}

/* ---- the exchange ------------------------------------------------------- */

/* Waits for the link's wish (or wish) until deadline; GL_ETIMEDOUT. */
static int wait_io(struct acq_client *c, int wish, uint64_t deadline)
{
    uint64_t left = hal_clock_left_ms(&c->clock, deadline);
    struct pollfd p;

    if (left == 0) {
        return GL_ETIMEDOUT;
    }
    p.fd = c->ops->fd(c);
    p.events = (short)(((wish & NET_WANT_READ) ? POLLIN : 0) |
                       ((wish & NET_WANT_WRITE) ? POLLOUT : 0));
    p.revents = 0;
    (void)poll(&p, 1, left > 1000 ? 1000 : (int)left);
    return GL_OK;
}

static int ensure_connected(struct acq_client *c, uint64_t deadline)
{
    int rc;

    if (c->ready) {
        return GL_OK;
    }
    if (!c->open) {
        rc = c->ops->open(c);
        if (rc != GL_OK) {
            set_err(c, "cannot connect to the acquirer %s:%s: %s", c->host,
                    c->port, c->ops->errstr(c));
            /* The TLS connect may have failed before creating a handle. */
            if (c->ops == &plain_ops) {
                plain_close(c);
            }
            return rc;
        }
        c->open = 1;
    }
    for (;;) {
        rc = c->ops->step(c);
        if (rc == GL_OK) {
            c->ready = 1;
            GL_LOG_DEBUG(MOD, "connected to %s:%s over %s", c->host, c->port,
                         c->ops->name);
            return GL_OK;
        }
        if (rc != GL_EAGAIN) {
            set_err(c, "connection to the acquirer %s:%s failed: %s: %s",
                    c->host, c->port, gl_strerror(rc), c->ops->errstr(c));
            GL_LOG_WARN(MOD, "%s", c->err);
            acq_client_disconnect(c);
            return rc;
        }
        if (wait_io(c, c->ops->want(c), deadline) != GL_OK) {
            set_err(c, "connection to the acquirer %s:%s timed out", c->host,
                    c->port);
            acq_client_disconnect(c);
            return GL_ETIMEDOUT;
        }
    }
}

static int same_field(const struct iso_msg *m, int f, const char *want)
{
    const uint8_t *v;
    size_t n;
    return iso_msg_get(m, f, &v, &n) == GL_OK && n == strlen(want) &&
           memcmp(v, want, n) == 0;
}

/* iso_reasm callback: unpacks one answer and keeps it if it is ours. */
static int on_frame(void *ctx, const uint8_t *msg, size_t len)
{
    struct acq_client *c = ctx;
    struct iso_error ie;
    char stan[7] = "", de7[11] = "";
    int rc;

    memset(&ie, 0, sizeof ie);
    rc = iso_unpack(&iso_profile_ascii, &c->tmp, msg, len, &ie);
    if (rc != GL_OK) {
        set_err(c,
                "answer from the acquirer does not decode (%s: %s): "
                "connection closed",
                gl_errname(rc), ie.text);
        c->cb_err = GL_ACQ_BADANSWER;
        return GL_ACQ_BADANSWER;
    }
    (void)iso_msg_get_str(&c->tmp, 11, stan, sizeof stan);
    (void)iso_msg_get_str(&c->tmp, 7, de7, sizeof de7);
    if (c->got || c->want_id == NULL ||
        (strcmp(c->tmp.mti, c->want_mti) != 0 &&
         (c->want_mti2 == NULL || strcmp(c->tmp.mti, c->want_mti2) != 0)) ||
        strcmp(stan, c->want_id->stan) != 0 ||
        strcmp(de7, c->want_id->de7) != 0 || !same_field(&c->tmp, 41, c->tid)) {
        GL_LOG_WARN(MOD,
                    "dropped an answer that matches no outstanding request: "
                    "mti=%s stan=%s de7=%s (waiting for %s stan=%s de7=%s)",
                    c->tmp.mti, stan, de7, c->want_mti,
                    c->want_id != NULL ? c->want_id->stan : "-",
                    c->want_id != NULL ? c->want_id->de7 : "-");
        return 0;
    }
    iso_msg_copy(&c->ans, &c->tmp);
    c->got = 1;
    return 0;
}

/*
 * Sends c->req and waits for the answer of MTI want_mti (or want_mti2)
 * naming id.  *sent becomes 1 as soon as any byte may have left.
 * GL_OK with the answer in c->ans, or a failure with c->err set (the
 * connection is closed on every failure but a time-out).
 */
static int exchange(struct acq_client *c, const char *want_mti,
                    const char *want_mti2, const struct acq_ident *id,
                    int *sent)
{
    uint64_t deadline = hal_clock_now_ms(&c->clock) + c->timeout_ms;
    struct iso_error ie;
    size_t len = 0, off = 0;
    int rc;

    *sent = 0;
    memset(&ie, 0, sizeof ie);
    rc = iso_pack_frame(&iso_profile_ascii, &c->req, c->out, sizeof c->out,
                        &len, &ie);
    if (rc != GL_OK) {
        set_err(c, "cannot pack the %s: %s", c->req.mti, ie.text);
        return rc;
    }
    rc = ensure_connected(c, deadline);
    if (rc != GL_OK) {
        return rc;
    }
    c->want_mti = want_mti;
    c->want_mti2 = want_mti2;
    c->want_id = id;
    c->got = 0;
    c->cb_err = 0;

    *sent = 1;
    while (off < len) {
        rc = c->ops->write(c, c->out + off, len - off);
        if (rc > 0) {
            off += (size_t)rc;
            continue;
        }
        if (rc != GL_EAGAIN) {
            set_err(c, "sending the %s to the acquirer failed: %s: %s",
                    c->req.mti, gl_strerror(rc), c->ops->errstr(c));
            goto fail;
        }
        if (wait_io(c, c->ops->want(c), deadline) != GL_OK) {
            rc = GL_ETIMEDOUT;
            set_err(c, "sending the %s to the acquirer timed out", c->req.mti);
            goto fail;
        }
    }

    while (!c->got) {
        rc = c->ops->read(c, c->in, sizeof c->in);
        if (rc > 0) {
            int frc = iso_reasm_feed(&c->reasm, c->in, (size_t)rc, on_frame, c);
            if (frc == GL_ISO_FRAMELEN) {
                set_err(c,
                        "answer from the acquirer announces a frame length "
                        "of 0 or above %zu bytes: connection closed",
                        c->reasm.max);
                rc = GL_ACQ_BADANSWER;
                goto fail;
            }
            if (frc != GL_OK) {
                rc = c->cb_err != 0 ? c->cb_err : frc;
                goto fail;
            }
            continue;
        }
        if (rc != GL_EAGAIN) {
            set_err(c,
                    "connection to the acquirer broke while waiting for the "
                    "answer to the %s: %s: %s",
                    c->req.mti, gl_strerror(rc), c->ops->errstr(c));
            goto fail;
        }
        if (c->ops->pending(c)) {
            continue;
        }
        if (wait_io(c, NET_WANT_READ | c->ops->want(c), deadline) != GL_OK) {
            set_err(c,
                    "no answer from the acquirer to the %s stan=%s "
                    "within %u ms",
                    c->req.mti, id->stan, c->timeout_ms);
            /* The connection stays: a late answer is dropped by matching. */
            c->want_id = NULL;
            return GL_ETIMEDOUT;
        }
    }
    c->want_id = NULL;
    return GL_OK;

fail:
    c->want_id = NULL;
    GL_LOG_WARN(MOD, "%s", c->err);
    acq_client_disconnect(c);
    return rc;
}

/* ---- authorization ------------------------------------------------------ */

static int check_purchase(struct acq_client *c, const struct acq_purchase *p)
{
    if (!all_digits(p->pan, 12, 19)) {
        set_err(c, "card number must be 12 to 19 digits");
        return GL_EINVAL;
    }
    if (!all_digits(p->expiry, 4, 4)) {
        set_err(c, "card expiry must be YYMM");
        return GL_EINVAL;
    }
    if (p->amount == 0 || p->amount > 999999999999ull) {
        set_err(c, "amount must be 1 to 999999999999 KRW");
        return GL_EINVAL;
    }
    if (!ident_ok(&p->id)) {
        set_err(c, "request identity must be a STAN of 6 digits (not 0) and "
                   "a DE 7 of 10 digits (acq_ident_next)");
        return GL_EINVAL;
    }
    return GL_OK;
}

/* The fields 0100 and 0400 share: DE 2, 3, 4, 7, 11, 14, 22, 25, 41, 42,
 * 49; DE 12/13 are the local time of this transmission. */
static int build_common(struct acq_client *c, const char *mti, const char *pan,
                        const char *expiry, uint64_t amount,
                        const struct acq_ident *id)
{
    char de12[7], de13[5];
    int rc;

    kst_now(NULL, de12, de13);
    iso_msg_init(&c->req);
    rc = iso_msg_set_mti(&c->req, mti);
    rc = rc != GL_OK ? rc : iso_msg_set_str(&c->req, 2, pan, NULL);
    rc = rc != GL_OK ? rc : iso_msg_set_str(&c->req, 3, "000000", NULL);
    rc = rc != GL_OK ? rc : iso_msg_set_u64(&c->req, 4, amount);
    rc = rc != GL_OK ? rc : iso_msg_set_str(&c->req, 7, id->de7, NULL);
    rc = rc != GL_OK ? rc : iso_msg_set_str(&c->req, 11, id->stan, NULL);
    rc = rc != GL_OK ? rc : iso_msg_set_str(&c->req, 12, de12, NULL);
    rc = rc != GL_OK ? rc : iso_msg_set_str(&c->req, 13, de13, NULL);
    rc = rc != GL_OK ? rc : iso_msg_set_str(&c->req, 14, expiry, NULL);
    rc = rc != GL_OK ? rc : iso_msg_set_str(&c->req, 22, "012", NULL);
    rc = rc != GL_OK ? rc : iso_msg_set_str(&c->req, 25, "59", NULL);
    rc = rc != GL_OK ? rc : iso_msg_set_str(&c->req, 41, c->tid, NULL);
    rc = rc != GL_OK ? rc : iso_msg_set_str(&c->req, 42, c->mid, NULL);
    rc = rc != GL_OK ? rc : iso_msg_set_str(&c->req, 49, "410", NULL);
    if (rc != GL_OK) {
        set_err(c, "cannot build the %s: %s", mti, gl_strerror(rc));
    }
    return rc;
}

int acq_authorize(struct acq_client *c, const struct acq_purchase *p,
                  struct acq_result *r)
{
    char masked[GL_MASK_MAX], rrn[13];
    int rc, sent = 0;

    memset(r, 0, sizeof *r);
    r->outcome = ACQ_NOT_SENT;
    c->err[0] = '\0';
    rc = check_purchase(c, p);
    if (rc != GL_OK) {
        goto out;
    }
    gl_mask_pan(masked, p->pan, strlen(p->pan));
    rc = build_common(c, "0100", p->pan, p->expiry, p->amount, &p->id);
    if (rc != GL_OK) {
        goto out;
    }
    if (p->rrn[0] != '\0') {
        snprintf(rrn, sizeof rrn, "%s", p->rrn);
    } else {
        snprintf(rrn, sizeof rrn, "%.6s%.6s", p->id.de7, p->id.stan);
    }
    rc = iso_msg_set_str(&c->req, 37, rrn, NULL);
    if (rc != GL_OK) {
        set_err(c, "retrieval reference number must be 12 alphanumerics");
        goto out;
    }
    GL_LOG_INFO(MOD, "0100 stan=%s de7=%s card=%s amount=%llu", p->id.stan,
                p->id.de7, masked, (unsigned long long)p->amount);

    rc = exchange(c, "0110", NULL, &p->id, &sent);
    if (rc != GL_OK) {
        r->outcome = sent ? ACQ_NO_ANSWER : ACQ_NOT_SENT;
        r->must_reverse = sent;
        goto out;
    }
    if (iso_msg_get_str(&c->ans, 39, r->rc, sizeof r->rc) != GL_OK ||
        strlen(r->rc) != 2) {
        set_err(c, "0110 stan=%s without DE 39: connection closed", p->id.stan);
        rc = GL_ACQ_PROTO;
        goto proto;
    }
    if (strcmp(r->rc, "00") == 0) {
        if (iso_msg_get_str(&c->ans, 38, r->approval, sizeof r->approval) !=
            GL_OK) {
            set_err(c,
                    "0110 stan=%s approves without DE 38: connection "
                    "closed",
                    p->id.stan);
            rc = GL_ACQ_PROTO;
            goto proto;
        }
        r->outcome = ACQ_APPROVED;
        GL_LOG_INFO(MOD, "0110 stan=%s card=%s approved, code %s", p->id.stan,
                    masked, r->approval);
    } else {
        r->outcome = ACQ_DECLINED;
        r->must_reverse = strcmp(r->rc, "10") == 0;
        GL_LOG_INFO(MOD, "0110 stan=%s card=%s declined, DE 39 %s%s",
                    p->id.stan, masked, r->rc,
                    r->must_reverse ? " (partial approval: reversing)" : "");
    }
    goto out;

proto:
    GL_LOG_WARN(MOD, "%s", c->err);
    acq_client_disconnect(c);
    memset(r->rc, 0, sizeof r->rc);
    memset(r->approval, 0, sizeof r->approval);
    r->outcome = ACQ_NO_ANSWER;
    r->must_reverse = 1;
out:
    if (rc != GL_OK) {
        snprintf(r->err, sizeof r->err, "%s", c->err);
    }
    wipe_exchange(c);
    return rc;
}

/* ---- reversal ----------------------------------------------------------- */

void acq_reversal_init(struct acq_client *c, struct acq_reversal *rv,
                       const struct acq_purchase *p,
                       const struct acq_ident *orig,
                       const struct acq_ident *rev)
{
    memset(rv, 0, sizeof *rv);
    memcpy(rv->pan, p->pan, sizeof rv->pan);
    rv->pan[sizeof rv->pan - 1] = '\0';
    memcpy(rv->expiry, p->expiry, sizeof rv->expiry);
    rv->expiry[sizeof rv->expiry - 1] = '\0';
    rv->amount = p->amount;
    rv->orig = *orig;
    if (rev != NULL) {
        rv->rev = *rev;
    } else {
        acq_ident_next(c, &rv->rev);
    }
}

int acq_reverse(struct acq_client *c, const struct acq_reversal *rv, int repeat,
                struct acq_rev_result *res)
{
    char masked[GL_MASK_MAX], de90[43];
    const char *mti = repeat ? "0401" : "0400";
    int rc, sent = 0;

    memset(res, 0, sizeof *res);
    c->err[0] = '\0';
    if (!all_digits(rv->pan, 12, 19) || !all_digits(rv->expiry, 4, 4) ||
        rv->amount == 0 || !ident_ok(&rv->orig) || !ident_ok(&rv->rev)) {
        set_err(c, "stored reversal malformed: card number, expiry, amount "
                   "or an identity");
        rc = GL_EINVAL;
        goto out;
    }
    gl_mask_pan(masked, rv->pan, strlen(rv->pan));
    rc = build_common(c, mti, rv->pan, rv->expiry, rv->amount, &rv->rev);
    if (rc != GL_OK) {
        goto out;
    }
    acq_de90(de90, &rv->orig);
    rc = iso_msg_set_str(&c->req, 90, de90, NULL);
    if (rc != GL_OK) {
        set_err(c, "cannot set DE 90: %s", gl_strerror(rc));
        goto out;
    }
    GL_LOG_INFO(MOD,
                "%s stan=%s reverses 0100 stan=%s de7=%s card=%s "
                "amount=%llu",
                mti, rv->rev.stan, rv->orig.stan, rv->orig.de7, masked,
                (unsigned long long)rv->amount);
    rc = exchange(c, "0410", NULL, &rv->rev, &sent);
    if (rc != GL_OK) {
        goto out;
    }
    if (iso_msg_get_str(&c->ans, 39, res->rc, sizeof res->rc) != GL_OK) {
        /* A 0410 ends the repeats whatever it says (host-interface 11.6);
         * without DE 39 it says nothing we can record. */
        snprintf(res->rc, sizeof res->rc, "??");
        GL_LOG_WARN(MOD, "0410 stan=%s without DE 39: taken as done",
                    rv->rev.stan);
    }
    GL_LOG_INFO(MOD, "0410 stan=%s card=%s DE 39 %s", rv->rev.stan, masked,
                res->rc);
out:
    if (rc != GL_OK) {
        snprintf(res->err, sizeof res->err, "%s", c->err);
    }
    wipe_exchange(c);
    return rc;
}
