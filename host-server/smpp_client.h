/*
 * smpp_client.h - an SMPP 3.4 ESME over TCP (libsmpp34 encodes the PDUs).
 *
 * Contract:
 *  - One session: connect, bind_transceiver with system_id/password, then
 *    submit_sm one at a time (a window of one: each submit waits for its
 *    submit_sm_resp), deliver_sm delivery receipts handed to a callback and
 *    answered with deliver_sm_resp, enquire_link sent when the link has been
 *    idle for cfg.enquire_link_ms and answered when the SMSC sends one,
 *    unbind on close.
 *  - Blocking is bounded: connect + bind take at most connect_timeout_ms +
 *    resp_timeout_ms, a submit at most resp_timeout_ms; smpp_client_poll
 *    waits at most the time it is given.  Every wait also serves what the
 *    SMSC sends meanwhile (receipts, enquire_link).
 *  - A submit that got no answer (timeout, lost connection) may or may not
 *    have been accepted: the session is closed (a late answer would no
 *    longer match) and the caller retries, so delivery is at least once.
 *  - Messages are UCS-2 big-endian (data_coding 0x08) with
 *    registered_delivery 1.  Up to 140 octets go in one short_message;
 *    longer ones in parts of 134 octets behind a 6-octet concatenation UDH
 *    (esm_class UDHI) with a reference number the caller chooses, so a
 *    retried part reassembles with the parts already accepted.
 *  - Memory: the client is the caller's struct with fixed buffers; a submit
 *    allocates nothing.  libsmpp34 allocates the TLVs of a PDU it decodes
 *    (a receipt's receipted_message_id): freed right after the decode.
 *  - libsmpp34 keeps its error text in process globals: all SMPP work of a
 *    process (this client and any emulator) runs on one thread.
 *  - SMSC status codes are translated here, once: ESME_RTHROTTLED ->
 *    GL_SMS_THROTTLED; queue full, system error and the temporary codes ->
 *    GL_SMS_TEMPFAIL; address, length and permanent codes -> GL_SMS_REJECTED;
 *    a refused bind -> GL_SMS_BIND.  The SMSC's code and the reason are kept
 *    in errmsg (smpp_client_errmsg).
 */
#ifndef SMPP_CLIENT_H
#define SMPP_CLIENT_H

#include <stddef.h>
#include <stdint.h>

/* Octets of UCS-2 text in one short_message, without and with the UDH. */
#define SMPP_SM_OCTETS 140
#define SMPP_PART_OCTETS 134
/* Most parts one message may have (this profile's limit, not SMPP's). */
#define SMPP_MAX_PARTS 10
/* Longest SMSC message id (SMPP 3.4: C-octet string of 65). */
#define SMPP_MSGID_MAX 65
/* Largest PDU the client reads or writes. */
#define SMPP_PDU_MAX 2048

/* A delivery receipt (deliver_sm with esm_class 0x04), borrowed by the
 * callback for the duration of the call. */
struct smpp_receipt {
    const char *msg_id; /* SMSC message id of the submit */
    const char *stat;   /* DELIVRD, UNDELIV, EXPIRED, REJECTD, ... */
    const char *err;    /* the receipt's err: field, "" if none */
};

typedef void (*smpp_receipt_fn)(void *ctx, const struct smpp_receipt *r);

/* Configuration: strings are borrowed and must outlive the client. */
struct smpp_client_config {
    const char *host; /* numeric IPv4/IPv6 or a name */
    uint16_t port;
    const char *system_id;      /* up to 15 characters */
    const char *password;       /* up to 8 characters */
    const char *system_type;    /* NULL: "" */
    const char *source_addr;    /* sender number shown on the phone */
    int connect_timeout_ms;     /* 0: 5000 */
    int resp_timeout_ms;        /* 0: 10000 */
    int enquire_link_ms;        /* idle time before an enquire_link; 0: 30000 */
    smpp_receipt_fn on_receipt; /* may be NULL */
    void *ctx;                  /* for on_receipt */
};

/* Counters of a client's life, for tests and metrics. */
struct smpp_client_stats {
    unsigned connects, binds, submits, receipts;
    unsigned enquire_sent, enquire_answered; /* ours sent; SMSC's answered */
};

struct smpp_client {
    struct smpp_client_config cfg;
    int fd;    /* -1 when closed */
    int bound; /* bind_transceiver_resp OK received */
    uint32_t seq;
    int64_t last_rx_ms, last_tx_ms;
    uint32_t enquire_seq; /* our enquire_link awaiting its resp, or 0 */
    int64_t enquire_sent_ms;
    size_t rlen;
    uint8_t rbuf[SMPP_PDU_MAX + 1]; /* +1: a NUL after the PDU */
    uint8_t wbuf[SMPP_PDU_MAX];
    struct smpp_client_stats stats;
    char errmsg[256];
};

/* Fills c from cfg (copied; its strings borrowed).  Opens nothing. */
void smpp_client_init(struct smpp_client *c,
                      const struct smpp_client_config *cfg);

/*
 * Connects and binds as a transceiver.  Returns GL_OK, GL_NET_RESOLVE,
 * GL_NET_CONNECT, GL_ETIMEDOUT, GL_SMS_BIND (refused, errmsg has the SMSC's
 * status), GL_ECLOSED or GL_SMS_PDU; on failure the client is closed.
 */
int smpp_client_open(struct smpp_client *c);

/* 1 while connected and bound. */
int smpp_client_is_bound(const struct smpp_client *c);

/* The socket (for an event loop's poll), -1 when closed. */
int smpp_client_fd(const struct smpp_client *c);

/*
 * Sends one submit_sm to dest (digits) with ucs2[0..n) (n <= 140 for a
 * single message with total == 1; n <= 134 for part part of total, 1-based,
 * with concatenation reference ref) and waits for its submit_sm_resp.
 * msg_id (SMPP_MSGID_MAX bytes, caller's) receives the SMSC's id.  Returns
 * GL_OK, GL_SMS_THROTTLED, GL_SMS_TEMPFAIL, GL_SMS_REJECTED, or a link error
 * (GL_ETIMEDOUT, GL_ECLOSED, GL_SMS_PDU, GL_EIO) after which the client is
 * closed.  GL_ECLOSED also when it was not open.
 */
int smpp_client_submit(struct smpp_client *c, const char *dest,
                       const uint8_t *ucs2, size_t n, uint8_t ref, int part,
                       int total, char msg_id[SMPP_MSGID_MAX]);

/*
 * Serves the link for up to timeout_ms (0: only what is already there):
 * receipts to the callback, the SMSC's enquire_link answered, our
 * enquire_link sent after enquire_link_ms of silence; a link whose
 * enquire_link stays unanswered for resp_timeout_ms is closed.  Returns
 * GL_OK, or a link error after which the client is closed.
 */
int smpp_client_poll(struct smpp_client *c, int timeout_ms);

/* Unbinds (waiting at most resp_timeout_ms for unbind_resp) and closes.
 * Safe on a closed client. */
void smpp_client_close(struct smpp_client *c);

/* The reason of the last failure ("" if none); borrowed. */
const char *smpp_client_errmsg(const struct smpp_client *c);

/* How many parts n octets of UCS-2 need: 1 up to 140, else 134 a part. */
int smpp_parts(size_t n);

/* A monotonic clock in milliseconds (the client's time source). */
int64_t smpp_now_ms(void);

#endif /* SMPP_CLIENT_H */
