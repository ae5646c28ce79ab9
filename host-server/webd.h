/*
 * webd.h - gl-webd, the customer HTTP JSON API (docs/customer-api.md).
 *
 * gl-webd is a program of its own on the host machine: the internet-facing
 * HTTP server shares the host's SQLite database (WAL) with gl-hostd and
 * glctl but none of gl-hostd's memory, keys or sockets, so a fault in the
 * HTTP path cannot reach the terminal link or the DUKPT/PIN keys.
 *
 * Contract:
 *  - Threads: libmicrohttpd runs every request on ONE internal polling
 *    thread, which owns the API handle (struct webd: its store, registry,
 *    prepared statements, shop, gift and online handles).  Card purchases
 *    run on the card worker (webd_card.c) with its own connection, shop
 *    and acquirer client, their HTTP connections suspended meanwhile.  The
 *    sender thread has its own database connection and handles: it sends
 *    the outbox when an SMSC is configured and runs the periodic jobs
 *    (gift expiry, card reversals).  The main thread only waits for
 *    SIGTERM/SIGINT.
 *  - Sign-in: a 6-digit one-time code from the CSPRNG, stored only as
 *    HMAC-SHA-256(OTP key, "otp:" phone ":" code), sent by SMS through the
 *    outbox in the same transaction as its row.  A session token is 32
 *    random bytes (hex), stored only as HMAC-SHA-256(OTP key, "session:"
 *    token).  Neither the code nor the token is ever logged.
 *  - Logs name the route template ("/v1/vouchers/{number}"), never the
 *    path, and phones pass through gl_mask_phone.
 *  - Time is the injectable clock of struct webd (seconds), wall clock by
 *    default.
 */
#ifndef WEBD_H
#define WEBD_H

#include <stddef.h>
#include <stdint.h>

#include "acquirer.h"
#include "crypto.h"
#include "gift.h"
#include "gl_config.h"
#include "ledger.h"
#include "online.h"
#include "registry.h"
#include "shop.h"
#include "store.h"

#define WEBD_KEY_MAX 64
#define WEBD_TOKEN_BYTES 32
#define WEBD_TOKEN_HEX (2 * WEBD_TOKEN_BYTES)
#define WEBD_CODE_DIGITS 6

/* Every key of etc/gl-webd.ini (defaults there). */
struct webd_config {
    char address[64];
    long long port; /* 0: any free port (logged) */
    long long max_conns;
    long long conn_timeout; /* seconds of silence before a close */
    long long conns_per_ip; /* open connections of one client address; 0:
                               no limit */
    long long max_body;     /* bytes of a request body; more: 413 */
    char db_path[512];
    char otp_key_file[512];
    long long code_ttl;    /* seconds a code lives */
    long long code_tries;  /* wrong codes before a code is dead */
    int members_only;      /* codes only for registered members */
    long long session_ttl; /* seconds a token lives */
    long long rate_window; /* seconds of the code rate limits */
    long long codes_per_phone;
    long long codes_per_ip;
    char smsc_host[256];
    long long smsc_port;
    char smsc_system_id[16];
    char smsc_password[9];
    char smsc_source[21];
    char info_file[512];
    char log_level[16];
    int syslog;
    /* [mmsc]: MM7 endpoint of the sender; empty url: MMS rows wait. */
    char mmsc_url[256];
    char mmsc_user[64];
    char mmsc_password[64];
    char mmsc_vasp_id[64];
    char mmsc_vas_id[64];
    char mmsc_sender[32];
    /* [acquirer]: card payments; empty host: card answers 503. */
    char acq_host[256];
    long long acq_port;
    int acq_plain;
    char acq_ca_file[512];
    char acq_cert_file[512];
    char acq_key_file[512];
    char acq_server_cn[128];
    char acq_terminal_id[9];
    char acq_merchant_id[16];
    long long acq_timeout_ms;
    /* [billing] */
    long long bill_limit; /* KRW a month, per phone (default override) */
    /* [gift] */
    char claim_base[GIFT_LINK_MAX + 1];
    long long expire_days;
    char content_dir[GIFT_DIR_MAX + 1];
    /* [jobs]: seconds between the sweeps of the sender thread (gift
     * expiry, card reversals). */
    long long jobs_period;
    long long notice_days;   /* [jobs] expiry notices this many days ahead */
    long long notice_period; /* [jobs] seconds between expiry-notice runs */
};

/* Loads and checks path into cfg.  GL_OK, or GL_ECONFIG/GL_EIO with the
 * reason in err. */
int webd_config_load(struct webd_config *cfg, const char *path,
                     char err[GL_CFG_ERR_MAX]);

/* The API handle: used by the HTTP thread only. */
struct webd {
    const struct webd_config *cfg; /* borrowed */
    struct store st;
    struct ledger lg;
    struct registry reg;
    int st_open, lg_ready, reg_ready;
    struct gl_sql sql;      /* webd_db.c's statements, on st's connection */
    struct webd_card *card; /* the card worker; NULL: no [acquirer] (cards
                               answer 503) */
    struct shop shop;       /* without an acquirer: cards go to card */
    struct gift gift;
    struct online online;
    int shop_ready, gift_ready, online_ready;
    uint8_t key[WEBD_KEY_MAX];
    size_t key_len;
    struct crypto_rng rng;
    int rng_ready;
    char *info_json; /* the body of GET /v1/info, owned */
    size_t info_len;
    int64_t (*clock)(void *ctx); /* NULL: time(NULL) */
    void *clock_ctx;
};

/*
 * Opens everything the API needs: the OTP key file, the database (schema of
 * the store, the outbox and webd's own tables), the registry, the CSPRNG
 * and the info document.  w is the caller's.  Returns GL_OK or an error
 * with the reason in err (256 bytes); call webd_close in every case.
 */
int webd_open(struct webd *w, const struct webd_config *cfg, char *err);
void webd_close(struct webd *w);
int64_t webd_now(const struct webd *w);

/* ---- webd_db.c: sign-in state ------------------------------------------ */

/* Outcome of webd_code_issue (the HTTP answer is 202 for every GL_OK). */
struct webd_code_result {
    int limited;         /* 1: a rate limit is hit, nothing was written */
    int64_t retry_after; /* seconds, when limited */
    int sent;            /* 1: a code was made and its SMS queued */
};

/*
 * Makes a code for phone (a checked mobile number) asked from client ip,
 * unless a rate limit is hit: in one transaction the code's row, the
 * retirement of the phone's older codes and the SMS in the outbox.  With
 * members_only a non-member's request is counted and stored alike but
 * queues no SMS (res->sent 0), so neither the answer nor the rate limits
 * tell who is a member.  Returns GL_OK (see res) or a storage/crypto
 * error.
 */
int webd_code_issue(struct webd *w, const char *phone, const char *ip,
                    struct webd_code_result *res);

/*
 * Checks code for phone: the phone's live code (not used, not expired,
 * fewer than code_tries wrong answers) must match.  A match uses the code
 * and creates a session; token gets its hex (WEBD_TOKEN_HEX + 1 bytes).
 * Returns GL_OK, GL_REG_AUTH (no live code, or wrong: the wrong try is
 * counted and committed), or a storage/crypto error.
 */
int webd_session_create(struct webd *w, const char *phone, const char *code,
                        char token[WEBD_TOKEN_HEX + 1]);

/* The phone of a live session token (hex).  GL_OK with phone filled
 * (REGISTRY_PHONE_MAX + 1 bytes), GL_REG_AUTH for an unknown, expired or
 * logged-out token, or a storage error. */
int webd_session_get(struct webd *w, const char *token,
                     char phone[REGISTRY_PHONE_MAX + 1]);
/* Ends the session of token.  GL_OK, GL_REG_AUTH as above. */
int webd_session_delete(struct webd *w, const char *token);

/* Creates webd's tables and prepares its statements (webd_open). */
int webd_db_init(struct webd *w, char *err);
void webd_db_deinit(struct webd *w);

/* ---- webd_http.c --------------------------------------------------------- */

struct webd_http;

/* Starts the HTTP daemon on cfg's address and port; logs "listening on
 * ADDR:PORT ...".  *out is allocated (webd_http_stop frees it). */
int webd_http_start(struct webd *w, struct webd_http **out, char *err);
void webd_http_stop(struct webd_http *h);

/* Makes a client of the [acquirer] section (*out NULL when its host is
 * empty).  The STAN counter starts from the clock, so that a restart does
 * not reuse a recent identity.  GL_OK or an error in err (256 bytes). */
int webd_acq_new(const struct webd_config *cfg, struct acq_client **out,
                 char *err);

/* ---- webd_card.c: the card worker -------------------------------------- */

struct webd_card;

/* Starts the card worker (its own database connection, shop and acquirer
 * client) when [acquirer] has a host; *out NULL otherwise.  GL_OK or an
 * error in err (256 bytes). */
int webd_card_start(const struct webd_config *cfg, struct webd_card **out,
                    char *err);
/* Refuses new jobs, finishes the running one, resumes the queued ones
 * unrun, joins the thread.  Call before webd_http_stop.  NULL is fine. */
void webd_card_stop(struct webd_card *k);
/* Stops (if needed) and frees k; after webd_http_stop.  NULL is fine. */
void webd_card_free(struct webd_card *k);

/* ---- webd_sender.c: the sender thread -------------------------------------
 */

struct webd_sender;

/* Starts the sender thread with its own database connection: it sends the
 * outbox (SMS, and MMS when [mmsc] url is set) when an SMSC is configured,
 * and every [jobs] period returns expired gifts (gift_expire_due) and
 * repeats due card reversals (shop_flush_reversals).  GL_OK or an error in
 * err. */
int webd_sender_start(const struct webd_config *cfg, struct webd_sender **out,
                      char *err);
/* Asks the thread to stop, joins it and frees s.  NULL is fine. */
void webd_sender_stop(struct webd_sender *s);

#endif /* WEBD_H */
