/*
 * irda.c - IrLAP-style framing and the primary side of the phone link.
 */
#include "irda.h"

#include <mbedtls/platform_util.h>
#include <string.h>

#include "gl_err.h"
#include "gl_log.h"

/* ---- framing ------------------------------------------------------------- */

uint16_t irda_fcs(const uint8_t *p, size_t n)
{
    uint16_t crc = 0xFFFF;

    for (size_t i = 0; i < n; i++) {
        crc ^= p[i];
        for (int b = 0; b < 8; b++) {
            crc = (crc & 1) ? (uint16_t)((crc >> 1) ^ 0x8408) : (uint16_t)(crc >> 1);
        }
    }
    return (uint16_t)~crc;
}

static int put_escaped(uint8_t *out, size_t cap, size_t *o, uint8_t b)
{
    if (b == IRDA_BOF || b == IRDA_EOF || b == IRDA_CE) {
        if (*o + 2 > cap) {
            return GL_ENOSPC;
        }
        out[(*o)++] = IRDA_CE;
        out[(*o)++] = b ^ IRDA_XOR;
        return GL_OK;
    }
    if (*o + 1 > cap) {
        return GL_ENOSPC;
    }
    out[(*o)++] = b;
    return GL_OK;
}

int irda_frame_encode(uint8_t addr, uint8_t ctrl, const uint8_t *info,
                      size_t len, uint8_t *out, size_t cap, size_t *outlen)
{
    uint16_t crc = 0xFFFF;
    size_t o = 0;
    int rc = GL_OK;
    uint8_t hdr[2] = {addr, ctrl};

    *outlen = 0;
    if (len > IRDA_INFO_MAX) {
        return GL_IRDA_TOOLONG;
    }
    if (cap < 1) {
        return GL_ENOSPC;
    }
    out[o++] = IRDA_BOF;
    /* the FCS runs over A, C and I: compute it as the bytes go out */
    for (size_t i = 0; i < 2 + len && rc == GL_OK; i++) {
        uint8_t b = i < 2 ? hdr[i] : info[i - 2];
        crc ^= b;
        for (int k = 0; k < 8; k++) {
            crc = (crc & 1) ? (uint16_t)((crc >> 1) ^ 0x8408) : (uint16_t)(crc >> 1);
        }
        rc = put_escaped(out, cap, &o, b);
    }
    crc = (uint16_t)~crc;
    if (rc == GL_OK) {
        rc = put_escaped(out, cap, &o, (uint8_t)(crc & 0xFF));
    }
    if (rc == GL_OK) {
        rc = put_escaped(out, cap, &o, (uint8_t)(crc >> 8));
    }
    if (rc == GL_OK && o + 1 > cap) {
        rc = GL_ENOSPC;
    }
    if (rc == GL_OK) {
        out[o++] = IRDA_EOF;
        *outlen = o;
    }
    return rc;
}

void irda_deframer_init(struct irda_deframer *d)
{
    memset(d, 0, sizeof *d);
}

static void deframer_restart(struct irda_deframer *d, int in_frame)
{
    d->len = 0;
    d->esc = 0;
    d->toolong = 0;
    d->in_frame = in_frame;
}

int irda_deframer_push(struct irda_deframer *d, const uint8_t *data,
                       size_t len, size_t *used, struct irda_frame *f)
{
    size_t i;
    int rc = 0;

    for (i = 0; i < len && rc == 0; i++) {
        uint8_t b = data[i];

        if (b == IRDA_BOF) {
            /* extra BOFs are allowed; a BOF after data aborts that frame */
            if (d->in_frame && (d->len > 0 || d->esc)) {
                rc = GL_IRDA_TRUNC;
            }
            deframer_restart(d, 1);
            continue;
        }
        if (!d->in_frame) {
            continue; /* noise between frames */
        }
        if (b == IRDA_EOF) {
            if (d->esc || d->len < 4) {
                rc = GL_IRDA_TRUNC;
            } else if (d->toolong) {
                rc = GL_IRDA_TOOLONG;
            } else {
                uint16_t want = irda_fcs(d->buf, d->len - 2);
                uint16_t got = (uint16_t)(d->buf[d->len - 2] |
                                          d->buf[d->len - 1] << 8);
                if (want != got) {
                    rc = GL_IRDA_FCS;
                } else {
                    f->addr = d->buf[0];
                    f->ctrl = d->buf[1];
                    f->len = d->len - 4;
                    memcpy(f->info, d->buf + 2, f->len);
                    rc = 1;
                }
            }
            deframer_restart(d, 0);
            continue;
        }
        if (b == IRDA_CE) {
            d->esc = 1;
            continue;
        }
        if (d->esc) {
            b ^= IRDA_XOR;
            d->esc = 0;
        }
        if (d->len >= sizeof d->buf) {
            d->toolong = 1;
            continue;
        }
        d->buf[d->len++] = b;
    }
    *used = i;
    return rc;
}

/* ---- the link ------------------------------------------------------------ */

int irda_init(struct irda *l, const struct irda_config *cfg, const char *path,
              const struct hal_serial_line *line,
              const struct hal_serial_ops *ops, struct hal_clock *clock)
{
    struct hal_serial_config pc;

    memset(l, 0, sizeof *l);
    memset(&pc, 0, sizeof pc);
    if (path == NULL || strlen(path) >= sizeof pc.path || clock == NULL ||
        cfg->conn_addr == 0 || cfg->conn_addr >= IRDA_ADDR_BCAST) {
        return GL_EINVAL;
    }
    strcpy(pc.path, path);
    if (line != NULL) {
        pc.line = *line;
    }
    l->cfg = *cfg;
    if (l->cfg.turn_ms <= 0) {
        l->cfg.turn_ms = 500;
    }
    if (l->cfg.retries == 0) {
        l->cfg.retries = 3;
    } else if (l->cfg.retries < 0) {
        l->cfg.retries = 0;
    }
    if (l->cfg.poll_ms <= 0) {
        l->cfg.poll_ms = 50;
    }
    if (l->cfg.busy_ms <= 0) {
        l->cfg.busy_ms = 60000;
    }
    l->clock = clock;
    irda_deframer_init(&l->df);
    return hal_serial_init(&l->port, ops, &pc);
}

int irda_open(struct irda *l)
{
    irda_deframer_init(&l->df);
    l->rx_len = l->rx_off = 0;
    l->connected = 0;
    return hal_serial_open(&l->port);
}

void irda_close(struct irda *l)
{
    hal_serial_close(&l->port);
    irda_deframer_init(&l->df);
    l->rx_len = l->rx_off = 0;
    l->connected = 0;
}

/* The line dropped under us: close, so the next connect reopens. */
static int link_io_error(struct irda *l, int rc)
{
    if (rc == GL_ECLOSED) {
        GL_LOG_WARN("irda", "line dropped by the adapter");
        irda_close(l);
    }
    return rc;
}

static int link_send(struct irda *l, uint8_t addr, uint8_t ctrl,
                     const uint8_t *info, size_t len)
{
    int rc = irda_frame_encode(addr, ctrl, info, len, l->tx, sizeof l->tx,
                               &l->tx_len);
    if (rc == GL_OK) {
        rc = hal_serial_write(&l->port, l->tx, l->tx_len, l->cfg.turn_ms * 4);
    }
    if (rc == GL_OK) {
        l->st.frames_out++;
    }
    return link_io_error(l, rc);
}

static int link_resend(struct irda *l)
{
    int rc = hal_serial_write(&l->port, l->tx, l->tx_len, l->cfg.turn_ms * 4);
    if (rc == GL_OK) {
        l->st.frames_out++;
        l->st.retries++;
    }
    return link_io_error(l, rc);
}

/*
 * Waits up to wait_ms for a good frame into l->in: 1, GL_ETIMEDOUT,
 * GL_ECLOSED, GL_EIO.  Dropped frames are counted and skipped.
 */
static int link_wait(struct irda *l, int wait_ms)
{
    uint64_t deadline = hal_clock_now_ms(l->clock) + (uint64_t)wait_ms;

    for (;;) {
        size_t used = 0, got = 0;
        int rc;

        if (l->rx_off < l->rx_len) {
            rc = irda_deframer_push(&l->df, l->rx + l->rx_off,
                                    l->rx_len - l->rx_off, &used, &l->in);
            l->rx_off += used;
            if (rc == 1) {
                l->st.frames_in++;
                return 1;
            }
            if (rc < 0) {
                l->st.dropped++;
                l->last_drop = rc;
                GL_LOG_DEBUG("irda", "frame dropped: %s", gl_strerror(rc));
            }
            continue;
        }
        l->rx_off = l->rx_len = 0;
        rc = hal_serial_read(&l->port, l->rx, sizeof l->rx,
                             (int)hal_clock_left_ms(l->clock, deadline), &got);
        if (rc == GL_ETIMEDOUT) {
            return rc;
        }
        if (rc != GL_OK) {
            return link_io_error(l, rc);
        }
        l->rx_len = got;
    }
}

static void put_le32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static uint32_t get_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

/* Address byte of responses to us. */
static uint8_t resp_addr(const struct irda *l)
{
    return (uint8_t)(l->cfg.conn_addr << 1);
}

int irda_connect(struct irda *l)
{
    uint8_t info[9];
    int rc, tries = 0;

    if (!l->port.is_open) {
        rc = irda_open(l);
        if (rc != GL_OK) {
            return rc;
        }
    }
    l->connected = 0;
    (void)hal_serial_flush_input(&l->port);
    irda_deframer_init(&l->df);
    l->rx_len = l->rx_off = 0;
    put_le32(info, l->cfg.dev_addr);
    put_le32(info + 4, 0xFFFFFFFFu);
    info[8] = (uint8_t)(l->cfg.conn_addr << 1);
    rc = link_send(l, (uint8_t)(IRDA_ADDR_BCAST << 1 | IRDA_CR),
                   IRDA_SNRM | IRDA_PF, info, sizeof info);
    while (rc == GL_OK) {
        rc = link_wait(l, l->cfg.turn_ms);
        if (rc == 1) {
            uint8_t c = l->in.ctrl & (uint8_t)~IRDA_PF;
            rc = GL_OK;
            if (l->in.addr != resp_addr(l)) {
                l->st.ignored++;
                continue;
            }
            if (c == IRDA_DM) {
                return GL_IRDA_NOLINK;
            }
            if (c == IRDA_UA && l->in.len >= 8 &&
                get_le32(l->in.info + 4) == l->cfg.dev_addr) {
                l->peer_addr = get_le32(l->in.info);
                l->vs = l->vr = 0;
                l->connected = 1;
                GL_LOG_INFO("irda", "connected to phone %08x",
                            (unsigned)l->peer_addr);
                return GL_OK;
            }
            l->st.ignored++;
            continue;
        }
        if (rc != GL_ETIMEDOUT) {
            return rc;
        }
        if (tries++ >= l->cfg.retries) {
            return GL_ETIMEDOUT;
        }
        rc = link_resend(l);
    }
    return rc;
}

/* Drops the connection after a fatal link error and returns rc. */
static int link_lost(struct irda *l, int rc)
{
    l->connected = 0;
    GL_LOG_WARN("irda", "connection lost: %s", gl_strerror(rc));
    return rc;
}

int irda_transceive(void *ctx, const uint8_t *capdu, size_t len,
                    uint8_t *rapdu, size_t cap, size_t *rlen)
{
    struct irda *l = ctx;
    uint64_t give_up;
    int rc, tries = 0, acked = 0;
    uint8_t cmd_addr = (uint8_t)(l->cfg.conn_addr << 1 | IRDA_CR);

    *rlen = 0;
    if (!l->connected) {
        return GL_IRDA_NOLINK;
    }
    if (len > IRDA_INFO_MAX) {
        return GL_IRDA_TOOLONG;
    }
    give_up = hal_clock_now_ms(l->clock) + (uint64_t)l->cfg.busy_ms;
    rc = link_send(l, cmd_addr, IRDA_I_CTRL(l->vr, l->vs, 1), capdu, len);
    while (rc == GL_OK) {
        uint8_t c;

        rc = link_wait(l, l->cfg.turn_ms);
        if (rc == GL_ETIMEDOUT) {
            if (tries++ >= l->cfg.retries) {
                return link_lost(l, GL_ETIMEDOUT);
            }
            rc = link_resend(l);
            continue;
        }
        if (rc != 1) {
            if (rc == GL_ECLOSED) {
                l->connected = 0;
            }
            return rc;
        }
        rc = GL_OK;
        c = l->in.ctrl;
        if (l->in.addr != resp_addr(l)) {
            l->st.ignored++;
            continue;
        }
        if (IRDA_IS_U(c)) {
            uint8_t u = c & (uint8_t)~IRDA_PF;
            if (u == IRDA_DM || u == IRDA_DISC) {
                return link_lost(l, GL_IRDA_DISC);
            }
            l->st.ignored++;
            continue;
        }
        if (IRDA_IS_I(c)) {
            if (IRDA_NS(c) != l->vr) {
                l->st.ignored++; /* a repeat of an earlier reply */
                continue;
            }
            if (IRDA_NR(c) != ((l->vs + 1) & 7)) {
                return link_lost(l, GL_IRDA_PROTO);
            }
            l->vs = (l->vs + 1) & 7;
            l->vr = (l->vr + 1) & 7;
            if (l->in.len > cap) {
                mbedtls_platform_zeroize(l->in.info, l->in.len);
                return GL_ENOSPC;
            }
            memcpy(rapdu, l->in.info, l->in.len);
            *rlen = l->in.len;
            mbedtls_platform_zeroize(l->in.info, l->in.len);
            return GL_OK;
        }
        /* S-frames */
        if (IRDA_NR(c) == ((l->vs + 1) & 7)) {
            uint8_t s = c & 0x0F;
            if (s == IRDA_REJ) {
                return link_lost(l, GL_IRDA_PROTO);
            }
            /* our C-APDU arrived; the phone is busy: poll it */
            acked = 1;
            tries = 0;
            if (hal_clock_left_ms(l->clock, give_up) == 0) {
                return link_lost(l, GL_ETIMEDOUT);
            }
            rc = link_wait(l, l->cfg.poll_ms);
            if (rc == 1) {
                /* the phone does not speak out of turn: ignore it */
                l->st.ignored++;
            } else if (rc != GL_ETIMEDOUT) {
                return rc;
            }
            rc = link_send(l, cmd_addr, IRDA_S_CTRL(IRDA_RR, l->vr, 1), NULL,
                           0);
        } else if (IRDA_NR(c) == l->vs && !acked) {
            /* RR/REJ naming our frame as next: it was lost; send it again */
            if (tries++ >= l->cfg.retries) {
                return link_lost(l, GL_ETIMEDOUT);
            }
            rc = link_send(l, cmd_addr, IRDA_I_CTRL(l->vr, l->vs, 1), capdu,
                           len);
            l->st.retries++;
        } else {
            return link_lost(l, GL_IRDA_PROTO);
        }
    }
    if (rc == GL_ECLOSED) {
        l->connected = 0;
    }
    return rc;
}

int irda_disconnect(struct irda *l)
{
    int rc, tries = 0;

    if (!l->port.is_open) {
        l->connected = 0;
        return GL_OK;
    }
    rc = link_send(l, (uint8_t)(l->cfg.conn_addr << 1 | IRDA_CR),
                   IRDA_DISC | IRDA_PF, NULL, 0);
    while (rc == GL_OK) {
        rc = link_wait(l, l->cfg.turn_ms);
        if (rc == 1) {
            uint8_t u = l->in.ctrl & (uint8_t)~IRDA_PF;
            rc = GL_OK;
            if (l->in.addr == resp_addr(l) && (u == IRDA_UA || u == IRDA_DM)) {
                break;
            }
            l->st.ignored++;
            continue;
        }
        if (rc != GL_ETIMEDOUT) {
            break;
        }
        if (tries++ >= l->cfg.retries) {
            break;
        }
        rc = link_resend(l);
    }
    l->connected = 0;
    return rc;
}
