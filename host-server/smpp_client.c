/*
 * smpp_client.c - the SMPP 3.4 ESME; see smpp_client.h for the contract.
 *
 * libsmpp34 packs and unpacks the PDU bodies.  The 16-octet header is read
 * here directly, so a response whose status libsmpp34 does not know (an
 * SMSC vendor's code) is still mapped instead of failing the decode.
 */
#include "smpp_client.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* libsmpp34's headers depend on each other in this order */
/* clang-format off */
#include <libsmpp34/smpp34.h>
#include <libsmpp34/smpp34_structs.h>
#include <libsmpp34/smpp34_params.h>
/* clang-format on */

#include "gl_err.h"
#include "gl_log.h"

#define SMPP_HDR 16
#define MOD "smpp"

int64_t smpp_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int smpp_parts(size_t n)
{
    if (n <= SMPP_SM_OCTETS) {
        return 1;
    }
    return (int)((n + SMPP_PART_OCTETS - 1) / SMPP_PART_OCTETS);
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
           p[3];
}

static void set_err(struct smpp_client *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void set_err(struct smpp_client *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->errmsg, sizeof c->errmsg, fmt, ap);
    va_end(ap);
}

void smpp_client_init(struct smpp_client *c,
                      const struct smpp_client_config *cfg)
{
    memset(c, 0, sizeof *c);
    c->cfg = *cfg;
    if (c->cfg.connect_timeout_ms <= 0) {
        c->cfg.connect_timeout_ms = 5000;
    }
    if (c->cfg.resp_timeout_ms <= 0) {
        c->cfg.resp_timeout_ms = 10000;
    }
    if (c->cfg.enquire_link_ms <= 0) {
        c->cfg.enquire_link_ms = 30000;
    }
    c->fd = -1;
}

int smpp_client_is_bound(const struct smpp_client *c)
{
    return c->fd >= 0 && c->bound;
}

int smpp_client_fd(const struct smpp_client *c)
{
    return c->fd;
}

const char *smpp_client_errmsg(const struct smpp_client *c)
{
    return c->errmsg;
}

static void drop_link(struct smpp_client *c)
{
    if (c->fd >= 0) {
        close(c->fd);
    }
    c->fd = -1;
    c->bound = 0;
    c->rlen = 0;
    c->enquire_seq = 0;
}

static uint32_t next_seq(struct smpp_client *c)
{
    c->seq = c->seq >= 0x7fffffffu ? 1 : c->seq + 1;
    return c->seq;
}

/* ---- socket I/O ------------------------------------------------------ */

static int write_all(struct smpp_client *c, const uint8_t *p, size_t n)
{
    int64_t deadline = smpp_now_ms() + c->cfg.resp_timeout_ms;
    while (n > 0) {
        ssize_t w = send(c->fd, p, n, MSG_NOSIGNAL);
        if (w > 0) {
            p += w;
            n -= (size_t)w;
            continue;
        }
        if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK &&
            errno != EINTR) {
            set_err(c, "send to the SMSC failed: %s", strerror(errno));
            drop_link(c);
            return GL_ECLOSED;
        }
        int left = (int)(deadline - smpp_now_ms());
        struct pollfd pfd = {.fd = c->fd, .events = POLLOUT};
        if (left <= 0 || poll(&pfd, 1, left) == 0) {
            set_err(c, "send to the SMSC timed out");
            drop_link(c);
            return GL_ETIMEDOUT;
        }
    }
    c->last_tx_ms = smpp_now_ms();
    return GL_OK;
}

/* Packs the PDU t (command_id type) and sends it. */
static int send_pdu(struct smpp_client *c, uint32_t type, void *t)
{
    int len = 0;
    if (smpp34_pack(type, c->wbuf, (int)sizeof c->wbuf, &len, t) != 0) {
        set_err(c, "cannot encode SMPP PDU: %s", smpp34_strerror);
        return GL_SMS_PDU;
    }
    return write_all(c, c->wbuf, (size_t)len);
}

/* A header-only PDU (enquire_link, unbind, their responses). */
static int send_header(struct smpp_client *c, uint32_t cmd, uint32_t status,
                       uint32_t seq)
{
    enquire_link_t h;
    memset(&h, 0, sizeof h);
    h.command_id = cmd;
    h.command_status = status;
    h.sequence_number = seq;
    return send_pdu(c, cmd, &h);
}

/*
 * Reads more bytes, waiting at most timeout_ms.  GL_OK (maybe nothing new),
 * or GL_ECLOSED / GL_SMS_PDU after which the link is dropped.
 */
static int read_more(struct smpp_client *c, int timeout_ms)
{
    struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
    int pr = poll(&pfd, 1, timeout_ms < 0 ? 0 : timeout_ms);
    if (pr <= 0) {
        return GL_OK;
    }
    ssize_t r = recv(c->fd, c->rbuf + c->rlen, SMPP_PDU_MAX - c->rlen, 0);
    if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) {
        set_err(c, "SMSC closed the connection");
        drop_link(c);
        return GL_ECLOSED;
    }
    if (r > 0) {
        c->rlen += (size_t)r;
        c->last_rx_ms = smpp_now_ms();
    }
    return GL_OK;
}

/* If a whole PDU is buffered, copies it into pdu (NUL after it), removes it
 * from the buffer and returns its length; 0 if none yet; <0 on a bad
 * length (link dropped). */
static int take_pdu(struct smpp_client *c, uint8_t pdu[SMPP_PDU_MAX + 1])
{
    if (c->rlen < 4) {
        return 0;
    }
    uint32_t len = get32(c->rbuf);
    if (len < SMPP_HDR || len > SMPP_PDU_MAX) {
        set_err(c, "SMSC sent a PDU of bad length %lu", (unsigned long)len);
        drop_link(c);
        return GL_SMS_PDU;
    }
    if (c->rlen < len) {
        return 0;
    }
    memcpy(pdu, c->rbuf, len);
    pdu[len] = 0;
    memmove(c->rbuf, c->rbuf + len, c->rlen - len);
    c->rlen -= len;
    return (int)len;
}

/* ---- what the SMSC sends on its own ----------------------------------- */

static const char *state_name(unsigned v)
{
    static const char *const names[] = {"",        "ENROUTE", "DELIVRD",
                                        "EXPIRED", "DELETED", "UNDELIV",
                                        "ACCEPTD", "UNKNOWN", "REJECTD"};
    return v < sizeof names / sizeof names[0] ? names[v] : "UNKNOWN";
}

/* Copies the value of "key:" in text (up to a space) into out. */
static void receipt_field(const char *text, const char *key, char *out,
                          size_t cap)
{
    out[0] = '\0';
    const char *p = strstr(text, key);
    if (p == NULL || cap == 0) {
        return;
    }
    p += strlen(key);
    size_t n = 0;
    while (p[n] != '\0' && p[n] != ' ' && n + 1 < cap) {
        n++;
    }
    memcpy(out, p, n);
    out[n] = '\0';
}

/*
 * Most TLVs a deliver_sm may carry.  libsmpp34 writes a trace of every field
 * it decodes into its fixed 2048-byte smpp34_strerror without a bound:
 * some 600 bytes for the mandatory fields and 54 a TLV, so from about 27
 * TLVs on it writes past the buffer.  A receipt carries two or three.
 */
#define DELIVER_TLV_MAX 16

/* Skips a C-octet string at *off; 0 when it has no NUL within len. */
static int skip_cstr(const uint8_t *pdu, size_t len, size_t *off)
{
    const uint8_t *z = *off < len ? memchr(pdu + *off, '\0', len - *off) : NULL;
    if (z == NULL) {
        return 0;
    }
    *off = (size_t)(z - pdu) + 1;
    return 1;
}

/*
 * Walks a deliver_sm (len octets) as SMPP 3.4 lays it out, before libsmpp34
 * decodes it: 1 when its mandatory fields and its TLVs end exactly at len
 * with at most DELIVER_TLV_MAX TLVs, else 0.  Two faults of libsmpp34 are
 * kept away so: the overflow of its trace buffer (above), and a TLV whose
 * length runs past the PDU, whose tlv_t it allocates and then loses.
 */
static int deliver_sm_walk_ok(const uint8_t *pdu, size_t len)
{
    size_t off = SMPP_HDR;
    /* service_type; source ton, npi, addr; destination ton, npi, addr;
     * esm_class, protocol_id, priority_flag; the two times */
    if (!skip_cstr(pdu, len, &off)) {
        return 0;
    }
    off += 2;
    if (!skip_cstr(pdu, len, &off)) {
        return 0;
    }
    off += 2;
    if (!skip_cstr(pdu, len, &off)) {
        return 0;
    }
    off += 3;
    if (!skip_cstr(pdu, len, &off) || !skip_cstr(pdu, len, &off)) {
        return 0;
    }
    /* registered_delivery, replace_if_present_flag, data_coding,
     * sm_default_msg_id, sm_length, short_message */
    off += 4;
    if (off >= len) {
        return 0;
    }
    off += 1 + (size_t)pdu[off];
    for (int n = 0; off < len; n++) {
        if (n == DELIVER_TLV_MAX || len - off < 4) {
            return 0;
        }
        size_t l = (size_t)pdu[off + 2] << 8 | pdu[off + 3];
        off += 4;
        if (l > len - off) {
            return 0;
        }
        off += l;
    }
    return off == len;
}

static int on_deliver_sm(struct smpp_client *c, const uint8_t *pdu, int len)
{
    deliver_sm_t d;
    memset(&d, 0, sizeof d);
    uint32_t seq = get32(pdu + 12);
    if (!deliver_sm_walk_ok(pdu, (size_t)len)) {
        GL_LOG_WARN(MOD,
                    "malformed deliver_sm (fields, TLV lengths or more "
                    "than %d TLVs) answered with an error",
                    DELIVER_TLV_MAX);
        return send_header(c, GENERIC_NACK, ESME_RINVMSGLEN, seq);
    }
    if (smpp34_unpack(DELIVER_SM, &d, pdu, len) != 0) {
        destroy_tlv(d.tlv);
        GL_LOG_WARN(MOD, "undecodable deliver_sm answered with an error: %s",
                    smpp34_strerror);
        return send_header(c, GENERIC_NACK, ESME_RINVMSGLEN, seq);
    }
    if (d.esm_class & SMPP34_DELIVERY_RECEIPT) {
        char text[256], id[SMPP_MSGID_MAX], stat[16], err[16];
        size_t n = d.sm_length; /* at most 255: text has room */
        memcpy(text, d.short_message, n);
        text[n] = '\0';
        receipt_field(text, "id:", id, sizeof id);
        receipt_field(text, "stat:", stat, sizeof stat);
        receipt_field(text, "err:", err, sizeof err);
        for (tlv_t *t = d.tlv; t != NULL; t = t->next) {
            if (t->tag == TLVID_receipted_message_id && t->length > 0) {
                size_t m = t->length < sizeof id ? t->length : sizeof id - 1;
                memcpy(id, t->value.octet, m);
                id[m] = '\0';
            } else if (t->tag == TLVID_message_state && stat[0] == '\0') {
                snprintf(stat, sizeof stat, "%s", state_name(t->value.val08));
            }
        }
        c->stats.receipts++;
        if (c->cfg.on_receipt != NULL && id[0] != '\0') {
            struct smpp_receipt r = {.msg_id = id, .stat = stat, .err = err};
            c->cfg.on_receipt(c->cfg.ctx, &r);
        }
    } else {
        GL_LOG_INFO(MOD, "ignored a mobile-originated message");
    }
    destroy_tlv(d.tlv);

    deliver_sm_resp_t resp;
    memset(&resp, 0, sizeof resp);
    resp.command_id = DELIVER_SM_RESP;
    resp.sequence_number = seq;
    return send_pdu(c, DELIVER_SM_RESP, &resp);
}

/* Serves a PDU that is not the response being waited for (dispatch). */
static int serve(struct smpp_client *c, const uint8_t *pdu, int len)
{
    uint32_t cmd = get32(pdu + 4), seq = get32(pdu + 12);
    switch (cmd) {
    case DELIVER_SM:
        return on_deliver_sm(c, pdu, len);
    case ENQUIRE_LINK:
        c->stats.enquire_answered++;
        return send_header(c, ENQUIRE_LINK_RESP, ESME_ROK, seq);
    case ENQUIRE_LINK_RESP:
        if (seq == c->enquire_seq) {
            c->enquire_seq = 0;
        }
        return GL_OK;
    case UNBIND:
        send_header(c, UNBIND_RESP, ESME_ROK, seq);
        set_err(c, "SMSC unbound the session");
        drop_link(c);
        return GL_ECLOSED;
    case GENERIC_NACK:
        GL_LOG_WARN(MOD, "SMSC sent generic_nack 0x%08x for sequence %u",
                    (unsigned)get32(pdu + 8), (unsigned)seq);
        return GL_OK;
    default:
        if (cmd & 0x80000000u) {
            GL_LOG_DEBUG(MOD, "late response 0x%08x ignored", (unsigned)cmd);
            return GL_OK;
        }
        return send_header(c, GENERIC_NACK, ESME_RINVCMDID, seq);
    }
}

/*
 * Serves a PDU that is not the response being waited for.  Every failure
 * is a link error and leaves the client closed, as the contract says: the
 * write errors close it already, and an answer that cannot be encoded (an
 * SMSC's PDU numbered 0, outside SMPP's 1..0x7fffffff, which libsmpp34
 * will not encode back) would leave the SMSC's PDU unanswered on a session
 * that looks bound.
 */
static int dispatch(struct smpp_client *c, const uint8_t *pdu, int len)
{
    int rc = serve(c, pdu, len);
    if (rc != GL_OK) {
        drop_link(c);
    }
    return rc;
}

/*
 * Waits until the response cmd with sequence seq arrives (copied into pdu,
 * its length returned) or the deadline passes, serving everything else.
 */
static int wait_resp(struct smpp_client *c, uint32_t cmd, uint32_t seq,
                     uint8_t pdu[SMPP_PDU_MAX + 1])
{
    int64_t deadline = smpp_now_ms() + c->cfg.resp_timeout_ms;
    for (;;) {
        int len;
        while ((len = take_pdu(c, pdu)) > 0) {
            uint32_t id = get32(pdu + 4), s = get32(pdu + 12);
            if (s == seq && (id == cmd || id == GENERIC_NACK)) {
                return len;
            }
            int rc = dispatch(c, pdu, len);
            if (rc != GL_OK) {
                return rc;
            }
        }
        if (len < 0) {
            return len;
        }
        int left = (int)(deadline - smpp_now_ms());
        if (left <= 0) {
            set_err(c, "no answer from the SMSC within the timeout");
            drop_link(c);
            return GL_ETIMEDOUT;
        }
        int rc = read_more(c, left);
        if (rc != GL_OK) {
            return rc;
        }
    }
}

/* ---- open / submit / poll / close ------------------------------------ */

static int tcp_connect(struct smpp_client *c)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM};
    struct addrinfo *ai = NULL;
    char port[8];
    int rc = GL_NET_CONNECT, fd = -1;

    snprintf(port, sizeof port, "%u", (unsigned)c->cfg.port);
    int g = getaddrinfo(c->cfg.host, port, &hints, &ai);
    if (g != 0) {
        set_err(c, "cannot resolve the SMSC's address: %s", gai_strerror(g));
        rc = GL_NET_RESOLVE;
        goto out;
    }
    fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        set_err(c, "cannot create a socket: %s", strerror(errno));
        goto out;
    }
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
        if (errno != EINPROGRESS) {
            set_err(c, "cannot connect to the SMSC: %s", strerror(errno));
            goto out;
        }
        struct pollfd pfd = {.fd = fd, .events = POLLOUT};
        if (poll(&pfd, 1, c->cfg.connect_timeout_ms) <= 0) {
            set_err(c, "connecting to the SMSC timed out");
            rc = GL_ETIMEDOUT;
            goto out;
        }
        int soerr = 0;
        socklen_t sl = sizeof soerr;
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
        if (soerr != 0) {
            set_err(c, "cannot connect to the SMSC: %s", strerror(soerr));
            goto out;
        }
    }
    c->fd = fd;
    fd = -1;
    rc = GL_OK;
out:
    if (fd >= 0) {
        close(fd);
    }
    if (ai != NULL) {
        freeaddrinfo(ai);
    }
    return rc;
}

int smpp_client_open(struct smpp_client *c)
{
    uint8_t pdu[SMPP_PDU_MAX + 1];
    bind_transceiver_t b;
    int rc;

    drop_link(c);
    c->errmsg[0] = '\0';
    rc = tcp_connect(c);
    if (rc != GL_OK) {
        return rc;
    }
    c->stats.connects++;
    c->last_rx_ms = c->last_tx_ms = smpp_now_ms();

    memset(&b, 0, sizeof b);
    b.command_id = BIND_TRANSCEIVER;
    b.sequence_number = next_seq(c);
    snprintf((char *)b.system_id, sizeof b.system_id, "%s",
             c->cfg.system_id != NULL ? c->cfg.system_id : "");
    snprintf((char *)b.password, sizeof b.password, "%s",
             c->cfg.password != NULL ? c->cfg.password : "");
    snprintf((char *)b.system_type, sizeof b.system_type, "%s",
             c->cfg.system_type != NULL ? c->cfg.system_type : "");
    b.interface_version = SMPP_VERSION;
    b.addr_ton = TON_Unknown;
    b.addr_npi = NPI_Unknown;
    rc = send_pdu(c, BIND_TRANSCEIVER, &b);
    if (rc == GL_OK) {
        rc = wait_resp(c, BIND_TRANSCEIVER_RESP, b.sequence_number, pdu);
    }
    if (rc < 0) {
        drop_link(c);
        return rc;
    }
    uint32_t status = get32(pdu + 8);
    if (get32(pdu + 4) == GENERIC_NACK || status != ESME_ROK) {
        set_err(c, "bind_transceiver answered with command_status 0x%08lx",
                (unsigned long)status);
        drop_link(c);
        return GL_SMS_BIND;
    }
    c->bound = 1;
    c->stats.binds++;
    GL_LOG_INFO(MOD, "bound to the SMSC as a transceiver");
    return GL_OK;
}

/* The SMSC's status of a submit_sm_resp as a gl_err code. */
static int map_submit_status(uint32_t s)
{
    switch (s) {
    case ESME_ROK:
        return GL_OK;
    case ESME_RTHROTTLED:
        return GL_SMS_THROTTLED;
    case ESME_RMSGQFUL:
    case ESME_RSYSERR:
    case ESME_RX_T_APPN:
    case ESME_RUNKNOWNERR:
    case ESME_RSUBMITFAIL:
    case ESME_RDELIVERYFAILURE:
        return GL_SMS_TEMPFAIL;
    case ESME_RINVBNDSTS:
        return GL_ECLOSED;
    default:
        /* address, TON/NPI, length, esm_class, data_coding, parameter and
         * permanent application errors: sending again would not help. */
        return GL_SMS_REJECTED;
    }
}

int smpp_client_submit(struct smpp_client *c, const char *dest,
                       const uint8_t *ucs2, size_t n, uint8_t ref, int part,
                       int total, char msg_id[SMPP_MSGID_MAX])
{
    uint8_t pdu[SMPP_PDU_MAX + 1];
    submit_sm_t sm;
    size_t off = 0;
    int rc;

    msg_id[0] = '\0';
    if (!smpp_client_is_bound(c)) {
        snprintf(c->errmsg, sizeof c->errmsg, "no SMPP session to the SMSC");
        return GL_ECLOSED;
    }
    if (total < 1 || total > SMPP_MAX_PARTS || part < 1 || part > total ||
        n > (total == 1 ? SMPP_SM_OCTETS : SMPP_PART_OCTETS) || n % 2 != 0) {
        snprintf(c->errmsg, sizeof c->errmsg,
                 "message part %d/%d of %zu octets does not fit", part, total,
                 n);
        return GL_EINVAL;
    }
    memset(&sm, 0, sizeof sm);
    sm.command_id = SUBMIT_SM;
    sm.sequence_number = next_seq(c);
    sm.source_addr_ton = TON_Unknown;
    sm.source_addr_npi = NPI_ISDN_E163_E164;
    snprintf((char *)sm.source_addr, sizeof sm.source_addr, "%s",
             c->cfg.source_addr != NULL ? c->cfg.source_addr : "");
    sm.dest_addr_ton = TON_Unknown;
    sm.dest_addr_npi = NPI_ISDN_E163_E164;
    snprintf((char *)sm.destination_addr, sizeof sm.destination_addr, "%s",
             dest);
    sm.registered_delivery = SMPP34_DELIVERY_RECEIPT_ON;
    sm.data_coding = 0x08; /* UCS-2 */
    if (total > 1) {
        /* UDH: IEI 00 (concatenation, 8-bit reference), length 3. */
        sm.esm_class = SMPP34_UDHI_IND;
        const uint8_t udh[6] = {5, 0x00, 3, ref, (uint8_t)total, (uint8_t)part};
        memcpy(sm.short_message, udh, sizeof udh);
        off = sizeof udh;
    }
    memcpy(sm.short_message + off, ucs2, n);
    sm.sm_length = (uint8_t)(off + n);

    rc = send_pdu(c, SUBMIT_SM, &sm);
    if (rc == GL_OK) {
        c->stats.submits++;
        rc = wait_resp(c, SUBMIT_SM_RESP, sm.sequence_number, pdu);
    }
    if (rc < 0) {
        return rc;
    }
    int len = rc;
    uint32_t status = get32(pdu + 8);
    if (get32(pdu + 4) == GENERIC_NACK) {
        set_err(c, "SMSC answered the submit with generic_nack 0x%08lx",
                (unsigned long)status);
        return GL_SMS_REJECTED;
    }
    rc = map_submit_status(status);
    if (rc != GL_OK) {
        set_err(c, "SMSC answered the submit with command_status 0x%08lx",
                (unsigned long)status);
        if (rc == GL_ECLOSED) {
            drop_link(c);
        }
        return rc;
    }
    submit_sm_resp_t resp;
    memset(&resp, 0, sizeof resp);
    if (smpp34_unpack(SUBMIT_SM_RESP, &resp, pdu, len) != 0 ||
        resp.message_id[0] == '\0') {
        set_err(c, "SMSC's submit_sm_resp holds no message id");
        drop_link(c);
        return GL_SMS_PDU;
    }
    snprintf(msg_id, SMPP_MSGID_MAX, "%s", (const char *)resp.message_id);
    return GL_OK;
}

int smpp_client_poll(struct smpp_client *c, int timeout_ms)
{
    uint8_t pdu[SMPP_PDU_MAX + 1];
    int64_t deadline = smpp_now_ms() + (timeout_ms > 0 ? timeout_ms : 0);

    if (c->fd < 0) {
        snprintf(c->errmsg, sizeof c->errmsg, "no SMPP session to the SMSC");
        return GL_ECLOSED;
    }
    for (;;) {
        int len, rc;
        while ((len = take_pdu(c, pdu)) > 0) {
            rc = dispatch(c, pdu, len);
            if (rc != GL_OK) {
                return rc;
            }
        }
        if (len < 0) {
            return len;
        }
        int64_t now = smpp_now_ms();
        if (c->enquire_seq != 0 &&
            now - c->enquire_sent_ms >= c->cfg.resp_timeout_ms) {
            set_err(c, "SMSC did not answer enquire_link");
            drop_link(c);
            return GL_ETIMEDOUT;
        }
        if (c->enquire_seq == 0 && c->bound &&
            now - (c->last_rx_ms > c->last_tx_ms ? c->last_rx_ms
                                                 : c->last_tx_ms) >=
                c->cfg.enquire_link_ms) {
            uint32_t seq = next_seq(c);
            rc = send_header(c, ENQUIRE_LINK, ESME_ROK, seq);
            if (rc != GL_OK) {
                return rc;
            }
            c->enquire_seq = seq;
            c->enquire_sent_ms = now;
            c->stats.enquire_sent++;
        }
        int left = (int)(deadline - now);
        if (left <= 0) {
            /* a last look at what already arrived */
            rc = read_more(c, 0);
            while (rc == GL_OK && (len = take_pdu(c, pdu)) > 0) {
                rc = dispatch(c, pdu, len);
            }
            return rc != GL_OK ? rc : (len < 0 ? len : GL_OK);
        }
        /* wake up in time for the next enquire_link */
        int wait = left;
        if (c->enquire_seq == 0 && c->cfg.enquire_link_ms < wait) {
            wait = c->cfg.enquire_link_ms;
        }
        rc = read_more(c, wait);
        if (rc != GL_OK) {
            return rc;
        }
    }
}

void smpp_client_close(struct smpp_client *c)
{
    uint8_t pdu[SMPP_PDU_MAX + 1];
    if (c->fd >= 0 && c->bound) {
        uint32_t seq = next_seq(c);
        if (send_header(c, UNBIND, ESME_ROK, seq) == GL_OK) {
            (void)wait_resp(c, UNBIND_RESP, seq, pdu);
        }
        GL_LOG_INFO(MOD, "unbound from the SMSC");
    }
    drop_link(c);
}
