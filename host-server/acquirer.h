/*
 * acquirer.h - the host's client of a card acquirer (or a VAN in front of
 * one): authorizes a customer's card purchase of vouchers, and reverses it
 * when the purchase cannot complete.  The link profile is
 * docs/acquirer-link.md.
 *
 * Contract:
 *  - ISO 8583:1987, the project's ASCII profile (lib/iso8583), each message
 *    framed by a 2-byte big-endian length; over TLS 1.2 with the acquirer's
 *    CA (hal/net), or plain TCP for a VAN on a private line.
 *  - 0100/0110 authorizes a card-not-present purchase; 0400/0410 reverses
 *    it (repeated as 0401).  No 0200 capture: the acquirer captures an
 *    approved 0100 (docs/acquirer-link.md, section 4).
 *  - Synchronous with a deadline: acq_authorize and acq_reverse connect if
 *    needed, send one request and wait for its answer at most
 *    cfg.timeout_ms (connect and handshake included).  One request is
 *    outstanding at a time.  The caller runs these off its event loop (a
 *    worker thread of gl-hostd), one client per thread.
 *  - Identity: DE 11 (STAN) + DE 7 + DE 41 identify a request.  The caller
 *    chooses it (acq_ident_next fills one from the client's counter and the
 *    clock) and stores it BEFORE the first transmission, so that a retry or
 *    a reversal after a crash names the same request.  An answer whose MTI,
 *    DE 11, DE 7 or DE 41 is not the outstanding request's is logged and
 *    dropped.
 *  - No answer is an ordinary outcome (ACQ_NO_ANSWER): the 0100 may have
 *    been approved, so the caller queues a reversal (acq_reversal_init) in
 *    its own durable table and sends it with acq_reverse until a 0410 comes.
 *  - An answer that does not decode (bad length, truncated, bad bitmap, a
 *    field refused by the strict codec) closes the connection: the stream
 *    cannot be trusted after it.
 *  - Card data: the card number lives in the caller's structs and in the
 *    client's message buffers (wiped after each exchange); logs show it
 *    only through gl_mask_pan.  There is no field for a CVV anywhere.
 *  - Memory: acq_client_new allocates the client and its TLS context once;
 *    a connection (mbedTLS record buffers) is allocated when it is opened
 *    and kept across requests, so the steady state allocates nothing.
 *    Every other struct is the caller's.
 */
#ifndef ACQUIRER_H
#define ACQUIRER_H

#include <stddef.h>
#include <stdint.h>

struct acq_client;

/* Room for an error text of the client. */
#define ACQ_ERR_MAX 256

struct acq_config {
    const char *host; /* the acquirer's address (numeric avoids a DNS wait) */
    const char *port;
    int plain; /* 1: plain TCP (a VAN on a private line); 0: TLS */
    /* TLS (plain = 0): the acquirer's CA, our certificate and key as the
     * acquirer issued them, and the CN its server certificate must carry. */
    const char *ca_file;
    const char *cert_file;
    const char *key_file;
    const char *server_cn;
    const char *terminal_id; /* DE 41 at the acquirer: 1..8 characters */
    const char *merchant_id; /* DE 42 at the acquirer: 1..15 characters */
    unsigned timeout_ms;     /* per call: connect + send + answer (0: 30 s) */
    size_t frame_max;        /* largest answer accepted (0: ISO_FRAME_MAX) */
    uint32_t stan_start;     /* first STAN acq_ident_next gives (0: 1); the
                                caller persists the counter (acq_stan_last) */
};

/* The identity of one request: STAN and transmission date and time. */
struct acq_ident {
    char stan[7]; /* DE 11: 6 digits */
    char de7[11]; /* DE 7: MMDDhhmmss, Korea Standard Time */
};

/* A card purchase to authorize.  The caller's; nothing here is stored by
 * the client after the call returns. */
struct acq_purchase {
    char pan[20];        /* DE 2: 12..19 digits */
    char expiry[5];      /* DE 14: YYMM */
    uint64_t amount;     /* DE 4: KRW (no minor unit), 1..999999999999 */
    struct acq_ident id; /* chosen and stored by the caller beforehand */
    char rrn[13];        /* DE 37: 12 alphanumerics; "" = derived from id */
};

enum acq_outcome {
    ACQ_NOT_SENT = 0,  /* the request never left: nothing to reverse */
    ACQ_APPROVED = 1,  /* DE 39 00: the card is charged */
    ACQ_DECLINED = 2,  /* any other DE 39: nothing charged (but see
                          must_reverse) */
    ACQ_NO_ANSWER = 3, /* sent, no usable answer: reverse it */
};

struct acq_result {
    enum acq_outcome outcome;
    int must_reverse;      /* 1: queue a reversal of this request (no answer,
                              or an answer that moved value we cannot keep) */
    char rc[3];            /* DE 39 of the answer ("" without one) */
    char approval[7];      /* DE 38 of an approval ("" otherwise) */
    char err[ACQ_ERR_MAX]; /* why, when the call returned a failure */
};

/*
 * A reversal waiting to be sent: everything acq_reverse needs, as the
 * caller's queue row stores it (column per field).  rev is the 0400's own
 * identity, fixed at creation: every repeat (0401) carries the same.
 */
struct acq_reversal {
    char pan[20];
    char expiry[5];
    uint64_t amount;       /* as requested in the 0100 */
    struct acq_ident orig; /* the 0100 reversed (DE 90) */
    struct acq_ident rev;  /* this reversal's DE 11 and DE 7 */
};

struct acq_rev_result {
    char rc[3];            /* DE 39 of the 0410 */
    char err[ACQ_ERR_MAX]; /* why, when no 0410 came */
};

/*
 * Creates a client (not yet connected): checks cfg and, for TLS, loads the
 * CA, certificate and key.  Strings of cfg are copied.  Returns GL_OK with
 * *out owned by the caller (acq_client_free); GL_EINVAL (a missing or
 * malformed setting), GL_ECONFIG (a file that cannot be read or parsed),
 * GL_ENOMEM, GL_CRYPTO.  err (ACQ_ERR_MAX bytes, may be NULL) says why.
 */
int acq_client_new(struct acq_client **out, const struct acq_config *cfg,
                   char *err);

/* Closes the connection and frees c; NULL is allowed. */
void acq_client_free(struct acq_client *c);

/* Closes the connection if one is open (the next call reconnects). */
void acq_client_disconnect(struct acq_client *c);

/* 1 while a connection is open. */
int acq_client_connected(const struct acq_client *c);

/*
 * Fills id with the next STAN of the client's counter (1..999999, wrapping)
 * and the current time as DE 7 (KST).  The caller stores id before sending.
 */
void acq_ident_next(struct acq_client *c, struct acq_ident *id);

/*
 * Fills id with the given STAN (1..999999) and the current time as DE 7
 * (KST): for callers that keep the STAN counter themselves, durably and
 * shared by every client of one terminal id (shop.c's shop_stan).
 */
void acq_ident_at(uint32_t stan, struct acq_ident *id);

/* The last STAN acq_ident_next gave (0 before the first): persist it and
 * pass it + 1 as stan_start after a restart. */
uint32_t acq_stan_last(const struct acq_client *c);

/*
 * Sends the 0100 for p and waits for its 0110 until the deadline.
 * Returns GL_OK when the acquirer answered: r->outcome is ACQ_APPROVED or
 * ACQ_DECLINED with r->rc (a partial approval, 10, is ACQ_DECLINED with
 * must_reverse: the purchase needs the whole amount).  Otherwise a failure,
 * with r->err and r->outcome:
 *   ACQ_NOT_SENT:  GL_EINVAL (a field of p is malformed), GL_NET_CONNECT,
 *                  GL_NET_RESOLVE, GL_TLS_* (the handshake failed), or
 *                  GL_ETIMEDOUT before the request was written;
 *   ACQ_NO_ANSWER (must_reverse = 1): GL_ETIMEDOUT, GL_ECLOSED (the
 *                  acquirer dropped the connection), GL_ACQ_BADANSWER (an
 *                  answer that does not decode: connection closed),
 *                  GL_ACQ_PROTO (a matching answer without DE 39, or an
 *                  approval without DE 38: connection closed), GL_TLS, GL_EIO.
 */
int acq_authorize(struct acq_client *c, const struct acq_purchase *p,
                  struct acq_result *r);

/*
 * Prepares the reversal of the 0100 of p (identity orig): copies the card
 * data and amount, and takes rev as the reversal's own identity (NULL: the
 * client's next, acq_ident_next).  The caller stores *rv durably before
 * the first acq_reverse.
 */
void acq_reversal_init(struct acq_client *c, struct acq_reversal *rv,
                       const struct acq_purchase *p,
                       const struct acq_ident *orig,
                       const struct acq_ident *rev);

/*
 * Sends the reversal rv as 0400 (repeat = 0) or 0401 (repeat = 1: every
 * transmission after the first) and waits for its 0410.  Returns GL_OK
 * when a 0410 came, whatever its DE 39 (res->rc): the reversal is done and
 * leaves the caller's queue.  Otherwise the failures of acq_authorize
 * (res->err): keep it queued and repeat (acq_reversal_delay_ms).
 */
int acq_reverse(struct acq_client *c, const struct acq_reversal *rv, int repeat,
                struct acq_rev_result *res);

/*
 * When to repeat a reversal that was sent attempts times without an
 * answer: 30 s, 60 s, 120 s, 240 s, then every 300 s
 * (docs/host-interface.md 11.9).
 */
unsigned acq_reversal_delay_ms(unsigned attempts);

/* The last failure of c in words ("" if none); borrowed. */
const char *acq_client_errstr(const struct acq_client *c);

/* Writes DE 90 (42 digits) naming the 0100 orig into out[43]. */
void acq_de90(char out[43], const struct acq_ident *orig);

#endif /* ACQUIRER_H */
