/*
 * magstripe.c - magnetic-stripe readers: track 1/2 parsing, LRC, issuer
 * prefix table, and the device handle on hal/serial.
 */
#include "magstripe.h"

#include <mbedtls/platform_util.h>
#include <string.h>

#include "dev_time.h"
#include "gl_err.h"
#include "gl_log.h"

/* ---- issuer table -------------------------------------------------------- */

static int issuers_add_list(struct magstripe_issuers *t, const char *list,
                            enum magstripe_kind kind)
{
    const char *p = list;

    while (*p != '\0') {
        char pre[MAGSTRIPE_PREFIX_MAX + 1];
        size_t n = 0;

        while (*p == ' ' || *p == '\t') {
            p++;
        }
        while (*p != '\0' && *p != ',' && *p != ' ' && *p != '\t') {
            if (*p < '0' || *p > '9' || n >= MAGSTRIPE_PREFIX_MAX) {
                return GL_ECONFIG;
            }
            pre[n++] = *p++;
        }
        pre[n] = '\0';
        while (*p == ' ' || *p == '\t') {
            p++;
        }
        if (n == 0 || (*p != ',' && *p != '\0')) {
            return GL_ECONFIG;
        }
        if (*p == ',') {
            p++;
            if (*p == '\0') {
                return GL_ECONFIG; /* trailing comma: an empty prefix */
            }
        }
        for (size_t i = 0; i < t->n; i++) {
            if (strcmp(t->v[i].prefix, pre) == 0) {
                return GL_ECONFIG;
            }
        }
        if (t->n >= MAGSTRIPE_ISSUERS_MAX) {
            return GL_ECONFIG;
        }
        memcpy(t->v[t->n].prefix, pre, n + 1);
        t->v[t->n].kind = kind;
        t->n++;
    }
    return GL_OK;
}

int magstripe_issuers_build(struct magstripe_issuers *t,
                            const struct magstripe_issuer_cfg *c)
{
    int rc;

    memset(t, 0, sizeof *t);
    rc = issuers_add_list(t, c->membership, MAGSTRIPE_MEMBERSHIP);
    if (rc == GL_OK) {
        rc = issuers_add_list(t, c->brand, MAGSTRIPE_BRAND);
    }
    if (rc != GL_OK) {
        memset(t, 0, sizeof *t);
    }
    return rc;
}

enum magstripe_kind magstripe_issuers_classify(const struct magstripe_issuers *t,
                                               const char *pan)
{
    enum magstripe_kind kind = MAGSTRIPE_UNKNOWN;
    size_t best = 0;

    for (size_t i = 0; i < t->n; i++) {
        size_t n = strlen(t->v[i].prefix);
        if (n > best && strncmp(pan, t->v[i].prefix, n) == 0) {
            best = n;
            kind = t->v[i].kind;
        }
    }
    return kind;
}

/* ---- parsing ------------------------------------------------------------- */

char magstripe_lrc(const char *track, size_t len)
{
    unsigned base = track[0] == '%' ? 0x20 : 0x30;
    unsigned x = 0;

    for (size_t i = 0; i < len; i++) {
        x ^= ((unsigned)(unsigned char)track[i] - base) & (base == 0x20 ? 0x3F : 0x0F);
    }
    return (char)(x + base);
}

static int all_digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return 0;
        }
    }
    return 1;
}

/* YYMM SSS at p[0..7): digits and a month 01..12. */
static int parse_exp_svc(const char *p, size_t n, struct magstripe_card *c)
{
    int month;

    if (n < 7 || !all_digits(p, n)) {
        return GL_MSR_FORMAT;
    }
    month = (p[2] - '0') * 10 + (p[3] - '0');
    if (month < 1 || month > 12) {
        return GL_MSR_FORMAT;
    }
    memcpy(c->expiry, p, 4);
    c->expiry[4] = '\0';
    memcpy(c->service, p + 4, 3);
    c->service[3] = '\0';
    return GL_OK;
}

/* t[0..n): "B<pan>^<name>^<yymm><sss>..." between the sentinels. */
static int parse_track1(const char *t, size_t n, struct magstripe_card *c)
{
    const char *sep1, *sep2;
    size_t panlen, namelen;

    if (n < 1 || t[0] != 'B') {
        return GL_MSR_FORMAT;
    }
    sep1 = memchr(t + 1, '^', n - 1);
    if (sep1 == NULL) {
        return GL_MSR_FORMAT;
    }
    sep2 = memchr(sep1 + 1, '^', (size_t)(t + n - sep1 - 1));
    if (sep2 == NULL) {
        return GL_MSR_FORMAT;
    }
    panlen = (size_t)(sep1 - t - 1);
    namelen = (size_t)(sep2 - sep1 - 1);
    if (panlen < 1 || panlen > MAGSTRIPE_PAN_MAX || !all_digits(t + 1, panlen) ||
        namelen < 2 || namelen > MAGSTRIPE_NAME_MAX) {
        return GL_MSR_FORMAT;
    }
    memcpy(c->pan, t + 1, panlen);
    c->pan[panlen] = '\0';
    memcpy(c->name, sep1 + 1, namelen);
    while (namelen > 0 && c->name[namelen - 1] == ' ') {
        namelen--;
    }
    c->name[namelen] = '\0';
    return parse_exp_svc(sep2 + 1, (size_t)(t + n - sep2 - 1), c);
}

/* t[0..n): "<pan>=<yymm><sss>..." between the sentinels. */
static int parse_track2(const char *t, size_t n, struct magstripe_card *c)
{
    const char *sep = memchr(t, '=', n);
    size_t panlen;

    if (sep == NULL) {
        return GL_MSR_FORMAT;
    }
    panlen = (size_t)(sep - t);
    if (panlen < 1 || panlen > MAGSTRIPE_PAN_MAX || !all_digits(t, panlen)) {
        return GL_MSR_FORMAT;
    }
    memcpy(c->pan, t, panlen);
    c->pan[panlen] = '\0';
    return parse_exp_svc(sep + 1, (size_t)(t + n - sep - 1), c);
}

int magstripe_parse(const char *line, size_t len, int lrc,
                    struct magstripe_card *card)
{
    struct magstripe_card t1, t2;
    size_t pos = 0;
    int rc = GL_OK;

    memset(card, 0, sizeof *card);
    memset(&t1, 0, sizeof t1);
    memset(&t2, 0, sizeof t2);
    if (len == 0) {
        rc = GL_MSR_EMPTY;
        goto out;
    }
    if (line[0] != '%' && line[0] != ';') {
        rc = GL_MSR_NOSTART;
        goto out;
    }
    while (pos < len) {
        char start = line[pos];
        unsigned lo = start == '%' ? 0x20 : 0x30;
        unsigned hi = start == '%' ? 0x5F : 0x3F;
        int which = start == '%' ? MAGSTRIPE_TRACK1 : MAGSTRIPE_TRACK2;
        size_t end;

        if ((start != '%' && start != ';') || (card->tracks & which)) {
            rc = GL_MSR_FORMAT; /* junk or a track twice after a track */
            goto out;
        }
        for (end = pos + 1; end < len && line[end] != '?'; end++) {
            unsigned ch = (unsigned char)line[end];
            if (ch < lo || ch > hi || ch == (unsigned)start) {
                rc = GL_MSR_BADCHAR;
                goto out;
            }
        }
        if (end >= len) {
            rc = GL_MSR_NOEND;
            goto out;
        }
        if (lrc) {
            unsigned ch;
            if (end + 1 >= len) {
                rc = GL_MSR_LRC;
                goto out;
            }
            ch = (unsigned char)line[end + 1];
            if (ch < lo || ch > hi ||
                (char)ch != magstripe_lrc(line + pos, end - pos + 1)) {
                rc = GL_MSR_LRC;
                goto out;
            }
        }
        if (which == MAGSTRIPE_TRACK1) {
            rc = parse_track1(line + pos + 1, end - pos - 1, &t1);
        } else {
            rc = parse_track2(line + pos + 1, end - pos - 1, &t2);
        }
        if (rc != GL_OK) {
            goto out;
        }
        card->tracks |= which;
        pos = end + 1 + (lrc ? 1 : 0);
    }
    if ((card->tracks & MAGSTRIPE_TRACK1) && (card->tracks & MAGSTRIPE_TRACK2)) {
        if (strcmp(t1.pan, t2.pan) != 0 || strcmp(t1.expiry, t2.expiry) != 0 ||
            strcmp(t1.service, t2.service) != 0) {
            rc = GL_MSR_FORMAT;
            goto out;
        }
    }
    {
        int tracks = card->tracks;
        *card = (tracks & MAGSTRIPE_TRACK2) ? t2 : t1;
        memcpy(card->name, t1.name, sizeof card->name);
        card->tracks = tracks;
        card->kind = MAGSTRIPE_UNKNOWN;
    }
out:
    mbedtls_platform_zeroize(&t1, sizeof t1);
    mbedtls_platform_zeroize(&t2, sizeof t2);
    if (rc != GL_OK) {
        mbedtls_platform_zeroize(card, sizeof *card);
    }
    return rc;
}

void magstripe_card_wipe(struct magstripe_card *card)
{
    mbedtls_platform_zeroize(card, sizeof *card);
}

/* ---- the device ---------------------------------------------------------- */

int magstripe_init(struct magstripe *m, const struct magstripe_config *cfg,
                   const char *path, const struct hal_serial_line *line,
                   const struct hal_serial_ops *ops)
{
    struct hal_serial_config pc;

    memset(m, 0, sizeof *m);
    if (hal_serial_config_init(&pc, path, line) != GL_OK) {
        return GL_EINVAL;
    }
    m->cfg = *cfg;
    return hal_serial_init(&m->port, ops, &pc);
}

static void magstripe_reset(struct magstripe *m)
{
    mbedtls_platform_zeroize(m->line, sizeof m->line);
    mbedtls_platform_zeroize(m->rx, sizeof m->rx);
    m->len = 0;
    m->overflow = 0;
    m->after_cr = 0;
    m->rx_len = m->rx_off = 0;
}

int magstripe_open(struct magstripe *m)
{
    magstripe_reset(m);
    return hal_serial_open(&m->port);
}

void magstripe_close(struct magstripe *m)
{
    hal_serial_close(&m->port);
    magstripe_reset(m);
}

/* Frames buffered bytes: 1 when a line ended (m->line[0..m->len)), 0 when
 * more is needed, GL_MSR_FORMAT for an over-long line. */
static int magstripe_frame(struct magstripe *m)
{
    while (m->rx_off < m->rx_len) {
        uint8_t b = m->rx[m->rx_off++];
        int was_cr = m->after_cr;

        m->after_cr = b == '\r';
        if (b == '\n' && was_cr) {
            continue;
        }
        if (b == '\r' || b == '\n') {
            if (m->overflow) {
                m->len = 0;
                m->overflow = 0;
                return GL_MSR_FORMAT;
            }
            return 1;
        }
        if (m->len >= sizeof m->line) {
            m->overflow = 1;
            continue;
        }
        m->line[m->len++] = (char)b;
    }
    m->rx_off = m->rx_len = 0;
    return 0;
}

int magstripe_read(struct magstripe *m, struct magstripe_card *card,
                   int timeout_ms)
{
    int64_t deadline = dev_time_deadline(timeout_ms);
    unsigned reads = 0;
    int rc;

    memset(card, 0, sizeof *card);
    if (!m->port.is_open) {
        rc = magstripe_open(m);
        if (rc != GL_OK) {
            return rc;
        }
    }
    for (;;) {
        size_t got = 0;

        rc = magstripe_frame(m);
        if (rc < 0) {
            return rc;
        }
        if (rc == 1) {
            rc = magstripe_parse(m->line, m->len, m->cfg.lrc, card);
            mbedtls_platform_zeroize(m->line, m->len);
            m->len = 0;
            if (rc == GL_OK) {
                card->kind = magstripe_issuers_classify(&m->cfg.issuers,
                                                        card->pan);
                if (card->kind == MAGSTRIPE_UNKNOWN) {
                    rc = GL_MSR_ISSUER;
                }
            }
            if (rc != GL_OK) {
                GL_LOG_WARN("magstripe", "swipe refused: %s", gl_strerror(rc));
            }
            return rc;
        }
        if (reads++ > 0 && dev_time_expired(deadline)) {
            return GL_ETIMEDOUT; /* a device babbling without line ends */
        }
        rc = hal_serial_read(&m->port, m->rx, sizeof m->rx,
                             dev_time_left(deadline), &got);
        if (rc == GL_ECLOSED) {
            GL_LOG_WARN("magstripe", "line dropped by the device");
            magstripe_close(m);
            return rc;
        }
        if (rc != GL_OK) {
            return rc;
        }
        m->rx_off = 0;
        m->rx_len = got;
    }
}
