/*
 * webd_int.h - gl-webd's internals shared by webd_http.c (the daemon, the
 * routing, sign-in, catalogue and basket) and webd_api.c (members,
 * purchases, gifts, add-on content and merchants' online use).  Not an
 * interface: everything here runs on the HTTP thread only.
 */
#ifndef WEBD_INT_H
#define WEBD_INT_H

#include <jansson.h>
#include <microhttpd.h>

#include "webd.h"

enum wh_route {
    WR_NONE,
    WR_CODE,
    WR_SESSION,
    WR_CATALOGUE,
    WR_INFO,
    WR_VOUCHERS,
    WR_VOUCHER,
    WR_HISTORY,
    WR_PURCHASES,
    WR_MEMBERS,
    WR_GIFT_PREVIEW,
    WR_GIFTS,
    WR_CLAIM,
    WR_CLAIM_ACCEPT,
    WR_CLAIM_REFUSE,
    WR_CONTENTS,
    WR_CONTENT,
    WR_ONLINE_AUTHORIZE,
    WR_ONLINE_CAPTURE,
    WR_ONLINE_VOID,
    WR_REFUND,
    WR_CASHOUT,
    WR_EXTEND,
    WR__COUNT
};

enum { WM_GET = 1, WM_POST = 2, WM_DELETE = 4 };

#define WH_PARAM_MAX 64 /* a {token} or {id} of the path */

/* A card purchase handed to the card worker (webd_card.c).  The request's
 * own memory (struct wh_req), freed and wiped when the request completes;
 * the connection stays suspended from webd_card_submit until the worker
 * has set rc, res and done and resumed it. */
struct webd_card_job {
    struct MHD_Connection *c;
    struct shop_request req; /* points into the copies below */
    char key[SHOP_KEY_MAX + 1];
    char phone[REGISTRY_PHONE_MAX + 1];
    char product[REGISTRY_ID_MAX + 1];
    char pan[24], expiry[8];
    int rc; /* shop_purchase's; GL_EAGAIN: not run (stopping) */
    int done;
    struct shop_result res;
    struct webd_card_job *next; /* the worker's queue */
};

/* Queues job and suspends its connection.  GL_OK, or GL_EAGAIN when the
 * worker is stopping (nothing suspended: answer at once). */
int webd_card_submit(struct webd_card *k, struct webd_card_job *job);

/* One request (MHD's con_cls). */
struct wh_req {
    enum wh_route route;
    unsigned method;
    char number[VOUCHER_NUM_LEN + 1]; /* the {number} of the path */
    int number_ok;                    /* 16 digits */
    char param[WH_PARAM_MAX + 1];     /* {token}, {id}: "" when malformed */
    struct webd_card_job *job;        /* a card purchase out; owned */
    int too_big;
    size_t len, cap;
    char body[]; /* cap + 1 */
};

/* Answers (webd_http.c).  Every error is {"error", "detail"}. */
enum MHD_Result wh_send_raw(struct MHD_Connection *c, unsigned status,
                            char *body, size_t len, int must_free,
                            const char *hname, const char *hval);
/* Queues doc (its reference is taken over). */
enum MHD_Result wh_send_json(struct MHD_Connection *c, unsigned status,
                             json_t *doc, const char *hname, const char *hval);
enum MHD_Result wh_error_h(struct MHD_Connection *c, unsigned status,
                           const char *error, const char *detail,
                           const char *hname, const char *hval);
enum MHD_Result wh_error(struct MHD_Connection *c, unsigned status,
                         const char *error, const char *detail);
/* A failure of the host's side: busy 503, else 500 (logged). */
enum MHD_Result wh_fail(struct MHD_Connection *c, int rc);
enum MHD_Result wh_not_found(struct MHD_Connection *c);
/* The body as a JSON object, or an answer was queued (*ret). */
json_t *wh_body(struct MHD_Connection *c, const struct wh_req *q,
                enum MHD_Result *ret);
enum MHD_Result wh_bad_members(struct MHD_Connection *c,
                               const json_error_t *jerr);
/* The member of the bearer token, or an answer was queued (*ret). */
int wh_auth(struct webd *w, struct MHD_Connection *c,
            char phone[REGISTRY_PHONE_MAX + 1], enum MHD_Result *ret);

struct wh_query {
    const char *const *allowed; /* NULL-terminated, at most 4 */
    const char *val[4];
    const char *bad; /* the first unknown or repeated key */
};
/* 0 when the query parameters are all known and unrepeated, else an
 * answer was queued (*ret). */
int wh_query(struct MHD_Connection *c, struct wh_query *qs,
             enum MHD_Result *ret);
/* UTC, ISO 8601. */
void wh_time(char out[32], int64_t t);
/* The member's own voucher of the path, or an answer was queued (an
 * unknown number and someone else's get the same 404). */
int wh_own_voucher(struct webd *w, struct MHD_Connection *c,
                   const struct wh_req *q, const char *phone,
                   struct registry_voucher *v, enum MHD_Result *ret);

/* Handlers (webd_api.c).  phone: the signed-in member. */
enum MHD_Result wa_member_join(struct webd *w, struct MHD_Connection *c,
                               const char *phone);
/* A card purchase is handed to the card worker (q->job) and answered by
 * wa_purchase_resumed when the worker resumes the connection. */
enum MHD_Result wa_purchase(struct webd *w, struct MHD_Connection *c,
                            struct wh_req *q, const char *phone);
enum MHD_Result wa_purchase_resumed(struct webd *w, struct MHD_Connection *c,
                                    struct wh_req *q);
/* The standard terms: refund of a purchase, cash-out, extension. */
enum MHD_Result wa_refund(struct webd *w, struct MHD_Connection *c,
                          const struct wh_req *q, const char *phone);
enum MHD_Result wa_cashout(struct webd *w, struct MHD_Connection *c,
                           const struct wh_req *q, const char *phone);
enum MHD_Result wa_extend(struct webd *w, struct MHD_Connection *c,
                          const struct wh_req *q, const char *phone);
enum MHD_Result wa_purchases(struct webd *w, struct MHD_Connection *c,
                             const char *phone);
enum MHD_Result wa_gift(struct webd *w, struct MHD_Connection *c,
                        const struct wh_req *q, const char *phone, int preview);
enum MHD_Result wa_gifts(struct webd *w, struct MHD_Connection *c,
                         const char *phone);
enum MHD_Result wa_claim(struct webd *w, struct MHD_Connection *c,
                         const struct wh_req *q);
enum MHD_Result wa_claim_accept(struct webd *w, struct MHD_Connection *c,
                                const struct wh_req *q, const char *phone);
enum MHD_Result wa_claim_refuse(struct webd *w, struct MHD_Connection *c,
                                const struct wh_req *q);
enum MHD_Result wa_contents(struct webd *w, struct MHD_Connection *c);
enum MHD_Result wa_content(struct webd *w, struct MHD_Connection *c,
                           const struct wh_req *q);
enum MHD_Result wa_online(struct webd *w, struct MHD_Connection *c,
                          const struct wh_req *q);

#endif /* WEBD_INT_H */
