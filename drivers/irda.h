/*
 * irda.h - the IrDA phone link: IrLAP-style framing over a serial line
 * (irda_*), carrying the phone wallet's ISO 7816 APDUs.
 *
 * The Linux IrDA stack is gone (kernel 4.17), so the terminal talks to an
 * IrDA adapter as a plain UART and frames the link itself, after IrLAP's
 * asynchronous (SIR) framing:
 *
 *   BOF C0 | A | C | I ... | FCS lo | FCS hi | EOF C1
 *
 *  - Between BOF and EOF, C0, C1 and 7D are sent as 7D followed by the byte
 *    XOR 20.  Extra BOFs before a frame are allowed; a BOF inside a frame,
 *    or an escape followed by BOF/EOF, aborts it.
 *  - FCS: CRC-16/X.25 (poly 0x1021 reflected, init FFFF, final XOR FFFF) over
 *    A, C and I, sent low byte first.  Check value of "123456789": 0x906E.
 *  - A: connection address (7 bits) << 1 | C/R (1 on commands from the
 *    terminal, the primary station; 0 on responses from the phone).
 *    0x7F is the broadcast address.
 *  - C: as IrLAP (P/F bit 0x10):
 *      I-frame  Nr<<5 | P/F | Ns<<1                  (APDUs)
 *      RR       Nr<<5 | P/F | 0x01, RNR ... 0x05, REJ ... 0x09
 *      SNRM 0x83, UA 0x63, DISC 0x43, DM 0x0F (each | P/F)
 *  - Connection set-up: the terminal sends SNRM (P) to the broadcast
 *    address with I = its device address (4 bytes, little-endian), the
 *    phone's (FFFFFFFF: any) and the new connection address << 1; the phone
 *    answers UA (F) from the new address with I = its device address and
 *    the terminal's.  DM refuses.  DISC (P) / UA (F) end the connection.
 *  - Data: window size 1.  The terminal sends the C-APDU as an I-frame with
 *    P; the phone answers with the R-APDU as an I-frame with F, or with RR
 *    (F) when it needs time (the customer enters the PIN on the phone); the
 *    terminal then polls with RR (P) every cfg.poll_ms until the I-frame
 *    comes or cfg.busy_ms has passed.
 *  - Recovery: no reply within cfg.turn_ms (or a reply dropped for a bad
 *    FCS, truncation or length) makes the terminal send its last frame
 *    again, at most cfg.retries times, then give up with GL_ETIMEDOUT.  The
 *    phone answers a repeated I-frame (same Ns) with its last reply again
 *    instead of running the APDU twice, so a retry never moves a wallet
 *    counter twice.  Stale duplicate replies are ignored.
 *
 * Time comes from a struct hal_clock (tests may pass their own); a wait
 * also ends when the port read itself times out, so a test clock that does
 * not move never stalls the link.
 *
 * Nothing is allocated after irda_open(); the APDU buffers are the
 * caller's.  One thread uses a handle at a time.
 */
#ifndef IRDA_H
#define IRDA_H

#include <stddef.h>
#include <stdint.h>

#include "clock.h"
#include "serial.h"

#define IRDA_BOF 0xC0
#define IRDA_EOF 0xC1
#define IRDA_CE 0x7D
#define IRDA_XOR 0x20

#define IRDA_INFO_MAX 300 /* a short APDU with 256 bytes and its header */
/* A + C + I + FCS, every byte escaped, plus BOF and EOF */
#define IRDA_FRAME_MAX (2 * (2 + IRDA_INFO_MAX + 2) + 2)

#define IRDA_PF 0x10
#define IRDA_SNRM 0x83
#define IRDA_UA 0x63
#define IRDA_DISC 0x43
#define IRDA_DM 0x0F
#define IRDA_RR 0x01
#define IRDA_RNR 0x05
#define IRDA_REJ 0x09
#define IRDA_ADDR_BCAST 0x7F
#define IRDA_CR 0x01

/* Control field helpers. */
#define IRDA_IS_I(c) (((c) & 0x01) == 0)
#define IRDA_IS_S(c) (((c) & 0x03) == 0x01)
#define IRDA_IS_U(c) (((c) & 0x03) == 0x03)
#define IRDA_NS(c) (((c) >> 1) & 7)
#define IRDA_NR(c) (((c) >> 5) & 7)
#define IRDA_I_CTRL(nr, ns, pf) \
    ((uint8_t)(((nr) & 7) << 5 | ((pf) ? IRDA_PF : 0) | ((ns) & 7) << 1))
#define IRDA_S_CTRL(kind, nr, pf) \
    ((uint8_t)(((nr) & 7) << 5 | ((pf) ? IRDA_PF : 0) | (kind)))

/* CRC-16/X.25 of p[n]. */
uint16_t irda_fcs(const uint8_t *p, size_t n);

/*
 * Builds the wire frame of (addr, ctrl, info[len]) into out[cap].  Returns
 * GL_OK with *outlen, GL_IRDA_TOOLONG (len > IRDA_INFO_MAX) or GL_ENOSPC.
 */
int irda_frame_encode(uint8_t addr, uint8_t ctrl, const uint8_t *info,
                      size_t len, uint8_t *out, size_t cap, size_t *outlen);

/* A received frame, FCS checked and removed. */
struct irda_frame {
    uint8_t addr, ctrl;
    uint8_t info[IRDA_INFO_MAX];
    size_t len;
};

struct irda_deframer {
    uint8_t buf[2 + IRDA_INFO_MAX + 2];
    size_t len;
    int in_frame, esc, toolong;
};

void irda_deframer_init(struct irda_deframer *d);

/*
 * Feeds data[len] until one frame ends; *used = bytes consumed.  Returns 1
 * with *f set, 0 when everything was consumed without a frame ending, or
 * a drop: GL_IRDA_FCS, GL_IRDA_TRUNC (aborted, or shorter than A C FCS),
 * GL_IRDA_TOOLONG.  Bytes outside frames are line noise and ignored.
 */
int irda_deframer_push(struct irda_deframer *d, const uint8_t *data,
                       size_t len, size_t *used, struct irda_frame *f);

/* ---- the link (terminal = primary station) ------------------------------- */

struct irda_config {
    uint32_t dev_addr;  /* this terminal's device address */
    uint8_t conn_addr;  /* 1..0x7E: connection address to assign */
    int turn_ms;        /* wait for a reply before a retry (0: 500) */
    int retries;        /* retries of one frame (0: 3; -1: none) */
    int poll_ms;        /* pause between RR polls of a busy phone (0: 50) */
    int busy_ms;        /* longest wait for one R-APDU (0: 60000) */
};

struct irda_stats {
    unsigned long frames_out, frames_in;
    unsigned long retries;  /* frames sent again */
    unsigned long dropped;  /* bad FCS, truncated, too long */
    unsigned long ignored;  /* duplicates, other addresses, unknown */
};

struct irda {
    struct hal_serial port;
    struct hal_clock *clock;
    struct irda_config cfg;
    struct irda_deframer df;
    struct irda_frame in;
    uint8_t rx[128];
    size_t rx_len, rx_off;
    uint8_t tx[IRDA_FRAME_MAX]; /* the last frame sent, for retries */
    size_t tx_len;
    int connected;
    uint8_t vs, vr;     /* send and receive sequence numbers */
    uint32_t peer_addr; /* the phone's device address once connected */
    int last_drop;      /* the last dropped frame's code, 0 if none */
    struct irda_stats st;
};

/*
 * Prepares l for path (line NULL: 9600 8N1; ops NULL: libserialport);
 * clock is borrowed for the life of l.  Does not open.  GL_OK, GL_EINVAL.
 */
int irda_init(struct irda *l, const struct irda_config *cfg,
              const char *path, const struct hal_serial_line *line,
              const struct hal_serial_ops *ops, struct hal_clock *clock);

/* Opens the port (not the connection).  hal_serial_open's codes. */
int irda_open(struct irda *l);

/* Closes the port without a DISC; idempotent. */
void irda_close(struct irda *l);

/*
 * Sets up the connection (SNRM/UA), opening the port first if needed.
 * GL_OK; GL_IRDA_NOLINK (the phone answered DM); GL_ETIMEDOUT (no valid
 * answer after the retries); GL_ECLOSED (line dropped: port closed);
 * GL_DEV_NODEV, GL_EIO.
 */
int irda_connect(struct irda *l);

/*
 * One APDU exchange; the transport callback of drivers/phone_wallet (ctx
 * is a struct irda *).  capdu[len] is sent, the R-APDU goes to
 * rapdu[cap] with *rlen.  Returns GL_OK; GL_IRDA_NOLINK (not connected);
 * GL_ETIMEDOUT (no answer after the retries, or the phone stayed busy
 * past busy_ms: the connection is dropped); GL_IRDA_DISC (the phone
 * disconnected); GL_IRDA_PROTO (sequence numbers that make no sense:
 * connection dropped); GL_ENOSPC (R-APDU larger than cap);
 * GL_IRDA_TOOLONG (capdu too long); GL_ECLOSED; GL_EIO.
 */
int irda_transceive(void *ctx, const uint8_t *capdu, size_t len,
                    uint8_t *rapdu, size_t cap, size_t *rlen);

/* Ends the connection (DISC, waits for UA or DM within the retries).
 * Always leaves l disconnected.  GL_OK, GL_ETIMEDOUT, GL_ECLOSED. */
int irda_disconnect(struct irda *l);

#endif /* IRDA_H */
