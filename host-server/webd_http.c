/*
 * webd_http.c - the HTTP side of gl-webd: libmicrohttpd on one internal
 * polling thread, the routing table, request bodies, JSON in and out, and
 * the handlers of sign-in, catalogue, info and basket (docs/customer-api.md;
 * members, purchases, gifts, content and online use are webd_api.c's).
 *
 * Every answer is JSON (Content-Type: application/json) and every error is
 * {"error": CODE, "detail": TEXT} with a 4xx/5xx status; a refused request
 * changes nothing.  Bodies are read into a buffer of max_body + 1 bytes
 * made once per request (MHD makes one per connection anyway); a larger
 * body is drained and answered 413.  JSON is parsed and written with
 * jansson (the host may allocate; every allocation is checked).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "gl_err.h"
#include "gl_log.h"
#include "notify.h"
#include "webd.h"
#include "webd_int.h"

struct webd_http {
    struct webd *w; /* borrowed */
    struct MHD_Daemon *d;
};

/* The route templates, for logs and Allow headers. */
static const struct {
    const char *name;
    unsigned methods;
    const char *allow;
} wh_routes[] = {
    [WR_NONE] = {"(unknown)", 0, ""},
    [WR_CODE] = {"/v1/auth/code", WM_POST, "POST"},
    [WR_SESSION] = {"/v1/auth/session", WM_POST | WM_DELETE, "POST, DELETE"},
    [WR_CATALOGUE] = {"/v1/catalogue", WM_GET, "GET"},
    [WR_INFO] = {"/v1/info", WM_GET, "GET"},
    [WR_VOUCHERS] = {"/v1/vouchers", WM_GET, "GET"},
    [WR_VOUCHER] = {"/v1/vouchers/{number}", WM_GET, "GET"},
    [WR_HISTORY] = {"/v1/vouchers/{number}/history", WM_GET, "GET"},
    [WR_PURCHASES] = {"/v1/purchases", WM_GET | WM_POST, "GET, POST"},
    [WR_MEMBERS] = {"/v1/members", WM_POST, "POST"},
    [WR_GIFT_PREVIEW] = {"/v1/gifts/preview", WM_POST, "POST"},
    [WR_GIFTS] = {"/v1/gifts", WM_GET | WM_POST, "GET, POST"},
    [WR_CLAIM] = {"/v1/claims/{token}", WM_GET, "GET"},
    [WR_CLAIM_ACCEPT] = {"/v1/claims/{token}/accept", WM_POST, "POST"},
    [WR_CLAIM_REFUSE] = {"/v1/claims/{token}/refuse", WM_POST, "POST"},
    [WR_CONTENTS] = {"/v1/content", WM_GET, "GET"},
    [WR_CONTENT] = {"/v1/content/{id}", WM_GET, "GET"},
    [WR_ONLINE_AUTHORIZE] = {"/v1/online/authorize", WM_POST, "POST"},
    [WR_ONLINE_CAPTURE] = {"/v1/online/capture", WM_POST, "POST"},
    [WR_ONLINE_VOID] = {"/v1/online/void", WM_POST, "POST"},
    [WR_REFUND] = {"/v1/purchases/{id}/refund", WM_POST, "POST"},
    [WR_CASHOUT] = {"/v1/vouchers/{number}/cashout", WM_GET | WM_POST,
                    "GET, POST"},
    [WR_EXTEND] = {"/v1/vouchers/{number}/extend", WM_POST, "POST"},
};
_Static_assert(sizeof wh_routes / sizeof wh_routes[0] == WR__COUNT,
               "a template per route");

/* ---- answers --------------------------------------------------------- */

static const char wh_oom[] =
    "{\"error\":\"internal\",\"detail\":\"internal error\"}";

/* Queues status with body (owned by MHD afterwards when must_free). */
enum MHD_Result wh_send_raw(struct MHD_Connection *c, unsigned status,
                            char *body, size_t len, int must_free,
                            const char *hname, const char *hval)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(
        len, body, must_free ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
    if (r == NULL) {
        if (must_free) {
            free(body);
        }
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
                            "application/json");
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    if (hname != NULL) {
        MHD_add_response_header(r, hname, hval);
    }
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

/* Queues doc (a reference is taken over: doc is released). */
enum MHD_Result wh_send_json(struct MHD_Connection *c, unsigned status,
                             json_t *doc, const char *hname, const char *hval)
{
    char *text = doc != NULL ? json_dumps(doc, JSON_COMPACT) : NULL;
    json_decref(doc);
    if (text == NULL) {
        return wh_send_raw(c, MHD_HTTP_INTERNAL_SERVER_ERROR, (char *)wh_oom,
                           sizeof wh_oom - 1, 0, NULL, NULL);
    }
    return wh_send_raw(c, status, text, strlen(text), 1, hname, hval);
}

enum MHD_Result wh_error_h(struct MHD_Connection *c, unsigned status,
                           const char *error, const char *detail,
                           const char *hname, const char *hval)
{
    return wh_send_json(
        c, status, json_pack("{s:s, s:s}", "error", error, "detail", detail),
        hname, hval);
}

enum MHD_Result wh_error(struct MHD_Connection *c, unsigned status,
                         const char *error, const char *detail)
{
    return wh_error_h(c, status, error, detail, NULL, NULL);
}

/* A failure of the host's side: busy -> 503, anything else -> 500.  The
 * detail never holds internals (they are in the log). */
enum MHD_Result wh_fail(struct MHD_Connection *c, int rc)
{
    if (rc == GL_DB_BUSY) {
        return wh_error_h(c, MHD_HTTP_SERVICE_UNAVAILABLE, "unavailable",
                          "the service is busy; retry shortly",
                          MHD_HTTP_HEADER_RETRY_AFTER, "1");
    }
    GL_LOG_ERR("webd", "request failed: %s", gl_strerror(rc));
    return wh_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal",
                    "internal error");
}

static enum MHD_Result wh_unauthorized(struct MHD_Connection *c)
{
    return wh_error_h(c, MHD_HTTP_UNAUTHORIZED, "unauthorized",
                      "sign in: the token is missing, unknown, expired or "
                      "signed out",
                      MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
}

enum MHD_Result wh_not_found(struct MHD_Connection *c)
{
    return wh_error(c, MHD_HTTP_NOT_FOUND, "not_found", "no such resource");
}

/* ---- request helpers ------------------------------------------------ */

/* The request's body as a JSON object, with the members of fmt (a
 * json_unpack format; strict: unknown members are refused).  On failure
 * an answer was queued and *ret holds its result. */
json_t *wh_body(struct MHD_Connection *c, const struct wh_req *q,
                enum MHD_Result *ret)
{
    json_error_t jerr;
    if (q->len == 0) {
        *ret = wh_error(c, MHD_HTTP_BAD_REQUEST, "malformed_json",
                        "the request needs a JSON object body");
        return NULL;
    }
    json_t *doc = json_loadb(q->body, q->len, JSON_REJECT_DUPLICATES, &jerr);
    if (doc == NULL) {
        char detail[200];
        snprintf(detail, sizeof detail, "at character %d: %.150s",
                 jerr.position, jerr.text);
        *ret = wh_error(c, MHD_HTTP_BAD_REQUEST, "malformed_json", detail);
        return NULL;
    }
    if (!json_is_object(doc)) {
        json_decref(doc);
        *ret = wh_error(c, MHD_HTTP_BAD_REQUEST, "invalid_request",
                        "the body must be a JSON object");
        return NULL;
    }
    return doc;
}

enum MHD_Result wh_bad_members(struct MHD_Connection *c,
                               const json_error_t *jerr)
{
    char detail[200];
    snprintf(detail, sizeof detail, "%.180s", jerr->text);
    return wh_error(c, MHD_HTTP_BAD_REQUEST, "invalid_request", detail);
}

/* The client's address (text) for the per-address rate limit. */
static void wh_client_ip(struct MHD_Connection *c, char *out, size_t cap)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    snprintf(out, cap, "?");
    if (ci == NULL || ci->client_addr == NULL) {
        return;
    }
    const struct sockaddr *sa = ci->client_addr;
    if (sa->sa_family == AF_INET) {
        inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, out,
                  (socklen_t)cap);
    } else if (sa->sa_family == AF_INET6) {
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, out,
                  (socklen_t)cap);
    }
}

/* The member of the request's bearer token: GL_OK with phone, or an answer
 * was queued (*ret). */
int wh_auth(struct webd *w, struct MHD_Connection *c,
            char phone[REGISTRY_PHONE_MAX + 1], enum MHD_Result *ret)
{
    const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                                MHD_HTTP_HEADER_AUTHORIZATION);
    if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0) {
        *ret = wh_unauthorized(c);
        return GL_REG_AUTH;
    }
    h += 7;
    while (*h == ' ') {
        h++;
    }
    int rc = webd_session_get(w, h, phone);
    if (rc == GL_REG_AUTH) {
        *ret = wh_unauthorized(c);
    } else if (rc != GL_OK) {
        *ret = wh_fail(c, rc);
    }
    return rc;
}

/* ---- query strings ------------------------------------------------------ */

static enum MHD_Result wh_query_cb(void *cls, enum MHD_ValueKind kind,
                                   const char *key, const char *value)
{
    struct wh_query *qs = cls;
    (void)kind;
    for (int i = 0; qs->allowed[i] != NULL; i++) {
        if (strcmp(key, qs->allowed[i]) == 0) {
            if (qs->val[i] != NULL) {
                qs->bad = key;
                return MHD_NO;
            }
            qs->val[i] = value != NULL ? value : "";
            return MHD_YES;
        }
    }
    qs->bad = key;
    return MHD_NO;
}

/* Reads the query parameters; 0 when they are all known and unrepeated,
 * else an answer was queued (*ret). */
int wh_query(struct MHD_Connection *c, struct wh_query *qs,
             enum MHD_Result *ret)
{
    MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, wh_query_cb, qs);
    if (qs->bad != NULL) {
        char detail[160];
        snprintf(detail, sizeof detail,
                 "unknown or repeated query parameter \"%.60s\"", qs->bad);
        *ret = wh_error(c, MHD_HTTP_BAD_REQUEST, "invalid_request", detail);
        return -1;
    }
    return 0;
}

/* ---- JSON of the registry ------------------------------------------------ */

void wh_time(char out[32], int64_t t)
{
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static json_t *wh_product_json(const struct registry_product *p)
{
    json_t *faces = json_array();
    for (size_t i = 0; faces != NULL && i < p->nfaces; i++) {
        if (json_array_append_new(faces, json_integer(p->faces[i])) != 0) {
            json_decref(faces);
            faces = NULL;
        }
    }
    if (faces == NULL) {
        return NULL;
    }
    return json_pack(
        "{s:s, s:s, s:s, s:s, s:o, s:i, s:b}", "id", p->id, "issuer", p->issuer,
        "brand", p->brand, "type", registry_type_name(p->type), "faces", faces,
        "validity_days", p->validity_days, "partial_use", p->partial_ok);
}

static const char *wh_voucher_status(const struct webd *w,
                                     const struct registry_voucher *v)
{
    if (v->status == REGISTRY_V_ACTIVE && v->expires != 0 &&
        v->expires <= webd_now(w)) {
        return "expired";
    }
    return registry_status_name(v->status);
}

static json_t *wh_voucher_json(struct webd *w, const struct registry_voucher *v)
{
    struct registry_product p;
    char issued[32], expires[32];
    memset(&p, 0, sizeof p);
    (void)registry_product_get(&w->reg, v->product, &p);
    wh_time(issued, v->issued);
    wh_time(expires, v->expires);
    return json_pack(
        "{s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:s, s:s, "
        "s:s, s:b}",
        "number", v->number, "product", v->product, "issuer", p.issuer, "brand",
        p.brand, "type", registry_type_name(p.type), "face",
        (json_int_t)v->face, "balance", (json_int_t)v->balance, "available",
        (json_int_t)v->available, "status", wh_voucher_status(w, v), "issued",
        issued, "expires", expires, "has_pin", v->has_pin);
}

/* ---- handlers ------------------------------------------------------------ */

static enum MHD_Result wh_code(struct webd *w, struct MHD_Connection *c,
                               const struct wh_req *q)
{
    enum MHD_Result ret = MHD_NO;
    json_error_t jerr;
    const char *phone = NULL;
    char ip[INET6_ADDRSTRLEN + 1], ra[24];
    struct webd_code_result res;

    json_t *doc = wh_body(c, q, &ret);
    if (doc == NULL) {
        return ret;
    }
    if (json_unpack_ex(doc, &jerr, JSON_STRICT, "{s:s}", "phone", &phone) !=
        0) {
        ret = wh_bad_members(c, &jerr);
        goto out;
    }
    if (notify_phone_check(phone) != GL_OK) {
        ret = wh_error(c, MHD_HTTP_BAD_REQUEST, "invalid_phone",
                       "phone: a Korean mobile number, digits only "
                       "(01X and 7 or 8 digits)");
        goto out;
    }
    wh_client_ip(c, ip, sizeof ip);
    int rc = webd_code_issue(w, phone, ip, &res);
    if (rc != GL_OK) {
        ret = wh_fail(c, rc);
    } else if (res.limited) {
        snprintf(ra, sizeof ra, "%" PRId64, res.retry_after);
        ret = wh_error_h(c, MHD_HTTP_TOO_MANY_REQUESTS, "rate_limited",
                         "too many codes asked for; retry later",
                         MHD_HTTP_HEADER_RETRY_AFTER, ra);
    } else {
        ret =
            wh_send_json(c, MHD_HTTP_ACCEPTED,
                         json_pack("{s:s, s:I}", "status", "code_sent",
                                   "expires_in", (json_int_t)w->cfg->code_ttl),
                         NULL, NULL);
    }
out:
    json_decref(doc);
    return ret;
}

static int wh_is_code(const char *s)
{
    size_t n = strlen(s);
    if (n != WEBD_CODE_DIGITS) {
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return 0;
        }
    }
    return 1;
}

static enum MHD_Result wh_session_new(struct webd *w, struct MHD_Connection *c,
                                      const struct wh_req *q)
{
    enum MHD_Result ret = MHD_NO;
    json_error_t jerr;
    const char *phone = NULL, *code = NULL;
    char token[WEBD_TOKEN_HEX + 1];

    json_t *doc = wh_body(c, q, &ret);
    if (doc == NULL) {
        return ret;
    }
    if (json_unpack_ex(doc, &jerr, JSON_STRICT, "{s:s, s:s}", "phone", &phone,
                       "code", &code) != 0) {
        ret = wh_bad_members(c, &jerr);
        goto out;
    }
    if (notify_phone_check(phone) != GL_OK) {
        ret = wh_error(c, MHD_HTTP_BAD_REQUEST, "invalid_phone",
                       "phone: a Korean mobile number, digits only "
                       "(01X and 7 or 8 digits)");
        goto out;
    }
    if (!wh_is_code(code)) {
        ret = wh_error(c, MHD_HTTP_BAD_REQUEST, "invalid_request",
                       "code: 6 digits");
        goto out;
    }
    int rc = webd_session_create(w, phone, code, token);
    if (rc == GL_REG_AUTH) {
        ret = wh_error(c, MHD_HTTP_UNAUTHORIZED, "invalid_code",
                       "the code is wrong, expired or used up; ask for a "
                       "new one");
    } else if (rc != GL_OK) {
        ret = wh_fail(c, rc);
    } else {
        ret = wh_send_json(c, MHD_HTTP_CREATED,
                           json_pack("{s:s, s:s, s:I}", "token", token,
                                     "token_type", "Bearer", "expires_in",
                                     (json_int_t)w->cfg->session_ttl),
                           NULL, NULL);
        crypto_wipe(token, sizeof token);
    }
out:
    json_decref(doc);
    return ret;
}

static enum MHD_Result wh_session_end(struct webd *w, struct MHD_Connection *c)
{
    const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                                MHD_HTTP_HEADER_AUTHORIZATION);
    if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0) {
        return wh_unauthorized(c);
    }
    h += 7;
    while (*h == ' ') {
        h++;
    }
    int rc = webd_session_delete(w, h);
    if (rc == GL_REG_AUTH) {
        return wh_unauthorized(c);
    }
    if (rc != GL_OK) {
        return wh_fail(c, rc);
    }
    return wh_send_json(c, MHD_HTTP_OK,
                        json_pack("{s:s}", "status", "signed_out"), NULL, NULL);
}

struct wh_cat {
    int type;           /* 0: any */
    const char *issuer; /* NULL: any */
    int64_t amount;     /* 0: any */
    json_t *list;
};

static int wh_cat_cb(void *ctx, const struct registry_product *p)
{
    struct wh_cat *f = ctx;
    if ((f->type != 0 && p->type != f->type) ||
        (f->issuer != NULL && strcmp(p->issuer, f->issuer) != 0)) {
        return 0;
    }
    if (f->amount != 0) {
        size_t i;
        for (i = 0; i < p->nfaces && p->faces[i] != f->amount; i++) {
        }
        if (i == p->nfaces) {
            return 0;
        }
    }
    json_t *o = wh_product_json(p);
    if (o == NULL || json_array_append_new(f->list, o) != 0) {
        return GL_ENOMEM;
    }
    return 0;
}

static enum MHD_Result wh_catalogue(struct webd *w, struct MHD_Connection *c)
{
    static const char *const keys[] = {"type", "issuer", "amount", NULL};
    struct wh_query qs = {.allowed = keys};
    struct wh_cat f = {0};
    enum MHD_Result ret = MHD_NO;

    if (wh_query(c, &qs, &ret) != 0) {
        return ret;
    }
    if (qs.val[0] != NULL) {
        f.type = registry_type_parse(qs.val[0]);
        if (f.type < 0) {
            return wh_error(c, MHD_HTTP_BAD_REQUEST, "invalid_request",
                            "type: department, books, culture or carrier");
        }
    }
    if (qs.val[1] != NULL) {
        if (qs.val[1][0] == '\0' || strlen(qs.val[1]) > 64) {
            return wh_error(c, MHD_HTTP_BAD_REQUEST, "invalid_request",
                            "issuer: 1 to 64 characters");
        }
        f.issuer = qs.val[1];
    }
    if (qs.val[2] != NULL) {
        const char *a = qs.val[2];
        size_t n = strlen(a);
        int ok = n >= 1 && n <= 12 && a[0] != '0';
        for (size_t i = 0; ok && i < n; i++) {
            ok = a[i] >= '0' && a[i] <= '9';
        }
        if (!ok) {
            return wh_error(c, MHD_HTTP_BAD_REQUEST, "invalid_request",
                            "amount: a positive whole number of won");
        }
        f.amount = strtoll(a, NULL, 10);
    }
    f.list = json_array();
    if (f.list == NULL) {
        return wh_fail(c, GL_ENOMEM);
    }
    int rc = registry_product_list(&w->reg, wh_cat_cb, &f);
    if (rc != GL_OK) {
        json_decref(f.list);
        return wh_fail(c, rc);
    }
    return wh_send_json(c, MHD_HTTP_OK, json_pack("{s:o}", "products", f.list),
                        NULL, NULL);
}

static enum MHD_Result wh_info(struct webd *w, struct MHD_Connection *c)
{
    /* Made once at start (webd_open); lives until the daemon stops. */
    return wh_send_raw(c, MHD_HTTP_OK, w->info_json, w->info_len, 0, NULL,
                       NULL);
}

struct wh_list {
    struct webd *w;
    json_t *list;
};

static int wh_vouchers_cb(void *ctx, const struct registry_voucher *v)
{
    struct wh_list *l = ctx;
    json_t *o = wh_voucher_json(l->w, v);
    if (o == NULL || json_array_append_new(l->list, o) != 0) {
        return GL_ENOMEM;
    }
    return 0;
}

static enum MHD_Result wh_vouchers(struct webd *w, struct MHD_Connection *c,
                                   const char *phone)
{
    struct wh_list l = {.w = w, .list = json_array()};
    if (l.list == NULL) {
        return wh_fail(c, GL_ENOMEM);
    }
    int rc = registry_voucher_list(&w->reg, phone, wh_vouchers_cb, &l);
    if (rc != GL_OK) {
        json_decref(l.list);
        return wh_fail(c, rc);
    }
    return wh_send_json(c, MHD_HTTP_OK, json_pack("{s:o}", "vouchers", l.list),
                        NULL, NULL);
}

/* The member's own voucher of the path, or an answer was queued: an
 * unknown number and someone else's get the same 404. */
int wh_own_voucher(struct webd *w, struct MHD_Connection *c,
                   const struct wh_req *q, const char *phone,
                   struct registry_voucher *v, enum MHD_Result *ret)
{
    if (!q->number_ok) {
        *ret = wh_not_found(c);
        return GL_ENOTFOUND;
    }
    int rc = registry_voucher_get(&w->reg, q->number, v);
    if (rc == GL_OK && strcmp(v->member_phone, phone) != 0) {
        rc = GL_ENOTFOUND;
    }
    if (rc == GL_ENOTFOUND) {
        *ret = wh_not_found(c);
    } else if (rc != GL_OK) {
        *ret = wh_fail(c, rc);
    }
    return rc;
}

static const char *wh_kind_name(int kind)
{
    static const char *const names[] = {
        "other",    "issue",    "redeem", "refund", "reload", "cashout",
        "breakage", "activate", "adjust", "settle", "expire"};
    return kind >= 1 && kind <= 10 ? names[kind] : names[0];
}

struct wh_hist {
    struct webd *w;
    int64_t account;
    json_t *list;
};

static int wh_history_cb(void *ctx, const struct ledger_transfer_row *r)
{
    struct wh_hist *h = ctx;
    struct ledger_account other;
    struct registry_merchant m;
    char when[32];
    const char *merchant = NULL;
    int incoming = r->credit == h->account;
    int moving = !(r->flags & (LEDGER_F_PENDING | LEDGER_F_VOID));
    int64_t change = moving ? (incoming ? r->amount : -r->amount) : 0;

    if (ledger_account_get(&h->w->lg, incoming ? r->debit : r->credit,
                           &other) == GL_OK &&
        other.kind == LEDGER_ACC_MERCHANT &&
        registry_merchant_get(&h->w->reg, other.ref, &m) == GL_OK) {
        merchant = m.name;
    }
    wh_time(when, r->created);
    json_t *flags = json_array();
    if (flags == NULL) {
        return GL_ENOMEM;
    }
    static const struct {
        unsigned bit;
        const char *name;
    } fl[] = {{LEDGER_F_PENDING, "hold"},
              {LEDGER_F_POST, "post"},
              {LEDGER_F_VOID, "void"},
              {LEDGER_F_EXPIRED, "expired"},
              {LEDGER_F_OFFLINE_OVERDRAFT, "offline"}};
    for (size_t i = 0; i < sizeof fl / sizeof fl[0]; i++) {
        if ((r->flags & fl[i].bit) &&
            json_array_append_new(flags, json_string(fl[i].name)) != 0) {
            json_decref(flags);
            return GL_ENOMEM;
        }
    }
    json_t *o = json_pack(
        "{s:I, s:s, s:s, s:o, s:I, s:I, s:I, s:s?}", "seq", (json_int_t)r->seq,
        "at", when, "kind", wh_kind_name(r->kind), "flags", flags, "amount",
        (json_int_t)r->amount, "change", (json_int_t)change, "balance_after",
        (json_int_t)(incoming ? r->credit_after : r->debit_after), "merchant",
        merchant);
    if (o == NULL || json_array_append_new(h->list, o) != 0) {
        return GL_ENOMEM;
    }
    return 0;
}

static enum MHD_Result wh_voucher(struct webd *w, struct MHD_Connection *c,
                                  const struct wh_req *q, const char *phone)
{
    struct registry_voucher v;
    enum MHD_Result ret = MHD_NO;
    if (wh_own_voucher(w, c, q, phone, &v, &ret) != GL_OK) {
        return ret;
    }
    json_t *o = wh_voucher_json(w, &v);
    return wh_send_json(c, MHD_HTTP_OK, o, NULL, NULL);
}

static enum MHD_Result wh_history(struct webd *w, struct MHD_Connection *c,
                                  const struct wh_req *q, const char *phone)
{
    struct registry_voucher v;
    enum MHD_Result ret = MHD_NO;
    if (wh_own_voucher(w, c, q, phone, &v, &ret) != GL_OK) {
        return ret;
    }
    struct wh_hist h = {.w = w, .account = v.account, .list = json_array()};
    if (h.list == NULL) {
        return wh_fail(c, GL_ENOMEM);
    }
    int rc = ledger_history(&w->lg, v.account, wh_history_cb, &h);
    if (rc != GL_OK) {
        json_decref(h.list);
        return wh_fail(c, rc);
    }
    return wh_send_json(c, MHD_HTTP_OK,
                        json_pack("{s:s, s:I, s:o}", "number", v.number,
                                  "balance", (json_int_t)v.balance, "history",
                                  h.list),
                        NULL, NULL);
}

/* ---- routing --------------------------------------------------------- */

/* Copies a path segment of n characters into q->param when it is 1..
 * WH_PARAM_MAX letters and digits ("" otherwise: answered as unknown). */
static void wh_param(struct wh_req *q, const char *seg, size_t n)
{
    q->param[0] = '\0';
    if (n == 0 || n > WH_PARAM_MAX) {
        return;
    }
    for (size_t i = 0; i < n; i++) {
        char ch = seg[i];
        if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') ||
              (ch >= 'A' && ch <= 'Z'))) {
            return;
        }
    }
    memcpy(q->param, seg, n);
    q->param[n] = '\0';
}

static enum wh_route wh_route_of(const char *url, struct wh_req *q)
{
    static const struct {
        const char *path;
        enum wh_route route;
    } fixed[] = {
        {"/v1/auth/code", WR_CODE},
        {"/v1/auth/session", WR_SESSION},
        {"/v1/catalogue", WR_CATALOGUE},
        {"/v1/info", WR_INFO},
        {"/v1/vouchers", WR_VOUCHERS},
        {"/v1/purchases", WR_PURCHASES},
        {"/v1/members", WR_MEMBERS},
        {"/v1/gifts/preview", WR_GIFT_PREVIEW},
        {"/v1/gifts", WR_GIFTS},
        {"/v1/content", WR_CONTENTS},
        {"/v1/online/authorize", WR_ONLINE_AUTHORIZE},
        {"/v1/online/capture", WR_ONLINE_CAPTURE},
        {"/v1/online/void", WR_ONLINE_VOID},
    };
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) {
        if (strcmp(url, fixed[i].path) == 0) {
            return fixed[i].route;
        }
    }
    static const char claims[] = "/v1/claims/";
    static const char content[] = "/v1/content/";
    if (strncmp(url, claims, sizeof claims - 1) == 0) {
        const char *seg = url + sizeof claims - 1;
        size_t n = strcspn(seg, "/");
        enum wh_route r;
        if (seg[n] == '\0') {
            r = WR_CLAIM;
        } else if (strcmp(seg + n, "/accept") == 0) {
            r = WR_CLAIM_ACCEPT;
        } else if (strcmp(seg + n, "/refuse") == 0) {
            r = WR_CLAIM_REFUSE;
        } else {
            return WR_NONE;
        }
        if (n == 0) {
            return WR_NONE;
        }
        wh_param(q, seg, n);
        return r;
    }
    if (strncmp(url, content, sizeof content - 1) == 0) {
        const char *seg = url + sizeof content - 1;
        size_t n = strlen(seg);
        if (n == 0 || strchr(seg, '/') != NULL) {
            return WR_NONE;
        }
        wh_param(q, seg, n);
        return WR_CONTENT;
    }
    static const char purchases[] = "/v1/purchases/";
    if (strncmp(url, purchases, sizeof purchases - 1) == 0) {
        const char *seg = url + sizeof purchases - 1;
        size_t n = strcspn(seg, "/");
        if (n == 0 || strcmp(seg + n, "/refund") != 0) {
            return WR_NONE;
        }
        wh_param(q, seg, n);
        return WR_REFUND;
    }
    static const char pre[] = "/v1/vouchers/";
    if (strncmp(url, pre, sizeof pre - 1) != 0) {
        return WR_NONE;
    }
    const char *seg = url + sizeof pre - 1;
    size_t n = strcspn(seg, "/");
    enum wh_route r;
    if (seg[n] == '\0') {
        r = WR_VOUCHER;
    } else if (strcmp(seg + n, "/history") == 0) {
        r = WR_HISTORY;
    } else if (strcmp(seg + n, "/cashout") == 0) {
        r = WR_CASHOUT;
    } else if (strcmp(seg + n, "/extend") == 0) {
        r = WR_EXTEND;
    } else {
        return WR_NONE;
    }
    if (n == 0) {
        return WR_NONE;
    }
    /* Any other segment is a voucher nobody owns: 404 after sign-in. */
    q->number_ok = n == VOUCHER_NUM_LEN;
    for (size_t i = 0; q->number_ok && i < n; i++) {
        q->number_ok = seg[i] >= '0' && seg[i] <= '9';
    }
    if (q->number_ok) {
        memcpy(q->number, seg, n);
        q->number[n] = '\0';
    }
    return r;
}

static unsigned wh_method_of(const char *m)
{
    if (strcmp(m, MHD_HTTP_METHOD_GET) == 0) {
        return WM_GET;
    }
    if (strcmp(m, MHD_HTTP_METHOD_POST) == 0) {
        return WM_POST;
    }
    if (strcmp(m, MHD_HTTP_METHOD_DELETE) == 0) {
        return WM_DELETE;
    }
    return 0;
}

/* application/json, optionally with parameters (charset=utf-8). */
static int wh_json_type(struct MHD_Connection *c)
{
    const char *t = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                                MHD_HTTP_HEADER_CONTENT_TYPE);
    static const char want[] = "application/json";
    return t != NULL && strncasecmp(t, want, sizeof want - 1) == 0 &&
           (t[sizeof want - 1] == '\0' || t[sizeof want - 1] == ';' ||
            t[sizeof want - 1] == ' ');
}

/* POSTs whose body is optional: empty, or an empty JSON object. */
static int wh_no_body_post(enum wh_route r)
{
    return r == WR_MEMBERS || r == WR_CLAIM_ACCEPT || r == WR_CLAIM_REFUSE ||
           r == WR_REFUND;
}

/* The whole request is in: answer it. */
static enum MHD_Result wh_dispatch(struct webd *w, struct MHD_Connection *c,
                                   struct wh_req *q)
{
    enum MHD_Result ret = MHD_NO;
    char phone[REGISTRY_PHONE_MAX + 1];
    int takes_body = q->method == WM_POST;

    if (q->too_big) {
        return wh_error(c, MHD_HTTP_CONTENT_TOO_LARGE, "body_too_large",
                        "the request body is larger than this API accepts");
    }
    if (!takes_body && q->len > 0) {
        return wh_error(c, MHD_HTTP_BAD_REQUEST, "invalid_request",
                        "this request takes no body");
    }
    if (takes_body && (q->len > 0 || !wh_no_body_post(q->route)) &&
        !wh_json_type(c)) {
        return wh_error(c, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE,
                        "unsupported_media_type",
                        "send the body as Content-Type: application/json");
    }
    if (takes_body && q->len > 0 && wh_no_body_post(q->route)) {
        json_t *doc = wh_body(c, q, &ret);
        if (doc == NULL) {
            return ret;
        }
        size_t n = json_object_size(doc);
        json_decref(doc);
        if (n != 0) {
            return wh_error(c, MHD_HTTP_BAD_REQUEST, "invalid_request",
                            "this request takes no members (send {} or "
                            "nothing)");
        }
    }
    if (q->route != WR_CATALOGUE && q->route != WR_GIFTS &&
        q->route != WR_CONTENTS) {
        static const char *const none[] = {NULL};
        struct wh_query qs = {.allowed = none};
        if (wh_query(c, &qs, &ret) != 0) {
            return ret;
        }
    }
    switch (q->route) {
    case WR_CODE:
        return wh_code(w, c, q);
    case WR_SESSION:
        return q->method == WM_POST ? wh_session_new(w, c, q)
                                    : wh_session_end(w, c);
    case WR_CATALOGUE:
        return wh_catalogue(w, c);
    case WR_INFO:
        return wh_info(w, c);
    case WR_CLAIM:
        return wa_claim(w, c, q);
    case WR_CLAIM_REFUSE:
        return wa_claim_refuse(w, c, q);
    case WR_CONTENTS:
        return wa_contents(w, c);
    case WR_CONTENT:
        return wa_content(w, c, q);
    case WR_ONLINE_AUTHORIZE:
    case WR_ONLINE_CAPTURE:
    case WR_ONLINE_VOID:
        return wa_online(w, c, q); /* a merchant's key, not a session */
    case WR_VOUCHERS:
    case WR_VOUCHER:
    case WR_HISTORY:
    case WR_PURCHASES:
    case WR_MEMBERS:
    case WR_GIFT_PREVIEW:
    case WR_GIFTS:
    case WR_CLAIM_ACCEPT:
    case WR_REFUND:
    case WR_CASHOUT:
    case WR_EXTEND:
        if (wh_auth(w, c, phone, &ret) != GL_OK) {
            return ret;
        }
        switch (q->route) {
        case WR_VOUCHERS:
            return wh_vouchers(w, c, phone);
        case WR_VOUCHER:
            return wh_voucher(w, c, q, phone);
        case WR_HISTORY:
            return wh_history(w, c, q, phone);
        case WR_PURCHASES:
            return q->method == WM_POST ? wa_purchase(w, c, q, phone)
                                        : wa_purchases(w, c, phone);
        case WR_MEMBERS:
            return wa_member_join(w, c, phone);
        case WR_GIFT_PREVIEW:
            return wa_gift(w, c, q, phone, 1);
        case WR_GIFTS:
            return q->method == WM_POST ? wa_gift(w, c, q, phone, 0)
                                        : wa_gifts(w, c, phone);
        case WR_REFUND:
            return wa_refund(w, c, q, phone);
        case WR_CASHOUT:
            return wa_cashout(w, c, q, phone);
        case WR_EXTEND:
            return wa_extend(w, c, q, phone);
        default:
            return wa_claim_accept(w, c, q, phone);
        }
    case WR_NONE:
    case WR__COUNT:
        break;
    }
    return wh_not_found(c);
}

static enum MHD_Result wh_access(void *cls, struct MHD_Connection *c,
                                 const char *url, const char *method,
                                 const char *version, const char *upload_data,
                                 size_t *upload_data_size, void **con_cls)
{
    struct webd_http *h = cls;
    struct wh_req *q = *con_cls;
    (void)version;

    if (q == NULL) {
        /* Headers are in: route, method and declared size first, so that
         * a refused request is answered before its body is read. */
        size_t cap = (size_t)h->w->cfg->max_body;
        struct wh_req probe = {0};
        probe.route = wh_route_of(url, &probe);
        probe.method = wh_method_of(method);
        const char *cl = MHD_lookup_connection_value(
            c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        unsigned early = 0;
        enum MHD_Result ret = MHD_NO;
        if (probe.route == WR_NONE) {
            early = MHD_HTTP_NOT_FOUND;
            ret = wh_not_found(c);
        } else if ((probe.method & wh_routes[probe.route].methods) == 0) {
            early = MHD_HTTP_METHOD_NOT_ALLOWED;
            ret =
                wh_error_h(c, MHD_HTTP_METHOD_NOT_ALLOWED, "method_not_allowed",
                           "this resource does not take that method",
                           MHD_HTTP_HEADER_ALLOW, wh_routes[probe.route].allow);
        } else if (cl != NULL && strtoull(cl, NULL, 10) > cap) {
            early = MHD_HTTP_CONTENT_TOO_LARGE;
            ret = wh_error(c, MHD_HTTP_CONTENT_TOO_LARGE, "body_too_large",
                           "the request body is larger than this API "
                           "accepts");
        }
        if (early != 0) {
            /* Answered before the body: logged here, wh_completed gets no
             * request.  The method is the client's text: bounded. */
            GL_LOG_INFO("webd", "%.10s %s -> %u", method,
                        wh_routes[probe.route].name, early);
            return ret;
        }
        q = malloc(sizeof *q + cap + 1);
        if (q == NULL) {
            return MHD_NO;
        }
        *q = probe;
        q->cap = cap;
        *con_cls = q;
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        /* A chunked body has no declared size: keep reading, drop the
         * excess, answer 413 at the end. */
        if (!q->too_big && *upload_data_size <= q->cap - q->len) {
            memcpy(q->body + q->len, upload_data, *upload_data_size);
            q->len += *upload_data_size;
        } else {
            q->too_big = 1;
        }
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (q->job != NULL) { /* resumed by the card worker */
        return wa_purchase_resumed(h->w, c, q);
    }
    q->body[q->len] = '\0';
    return wh_dispatch(h->w, c, q);
}

static void wh_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_HTTP_STATUS);
    struct wh_req *q = *con_cls;
    if (q != NULL && gl_log_get_level() >= GL_LOG_INFO) {
        const char *m = q->method == WM_GET    ? "GET"
                        : q->method == WM_POST ? "POST"
                                               : "DELETE";
        GL_LOG_INFO("webd", "%s %s -> %u%s", m, wh_routes[q->route].name,
                    ci != NULL ? ci->http_status : 0,
                    toe == MHD_REQUEST_TERMINATED_COMPLETED_OK
                        ? ""
                        : " (connection ended early)");
    }
    if (q != NULL) {
        /* A body may have held a card number or a PIN. */
        crypto_wipe(q->body, q->len);
        if (q->job != NULL) {
            crypto_wipe(q->job, sizeof *q->job);
            free(q->job);
        }
    }
    free(q);
    *con_cls = NULL;
}

static void wh_mhd_log(void *cls, const char *fmt, va_list ap)
{
    char line[256];
    (void)cls;
    vsnprintf(line, sizeof line, fmt, ap);
    size_t n = strlen(line);
    while (n > 0 && line[n - 1] == '\n') {
        line[--n] = '\0';
    }
    GL_LOG_WARN("webd", "http: %s", line);
}

/* ---- start and stop ------------------------------------------------------ */

static int wh_listen(const struct webd_config *cfg, int *fd_out, uint16_t *port,
                     char *err)
{
    struct addrinfo hints, *ai = NULL;
    char portstr[8];
    int fd = -1, one = 1;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICHOST | AI_NUMERICSERV;
    snprintf(portstr, sizeof portstr, "%lld", cfg->port);
    int g = getaddrinfo(cfg->address[0] ? cfg->address : NULL, portstr, &hints,
                        &ai);
    if (g != 0) {
        snprintf(err, 256, "listen address %.64s: %s", cfg->address,
                 gai_strerror(g));
        return GL_NET_RESOLVE;
    }
    fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 ||
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, 128) != 0) {
        snprintf(err, 256, "listen on %.64s:%s: %s", cfg->address, portstr,
                 strerror(errno));
        if (fd >= 0) {
            close(fd);
        }
        freeaddrinfo(ai);
        return GL_EOS;
    }
    freeaddrinfo(ai);
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    getsockname(fd, (struct sockaddr *)&ss, &sl);
    *port =
        ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                       : ((struct sockaddr_in *)&ss)->sin_port);
    *fd_out = fd;
    return GL_OK;
}

int webd_http_start(struct webd *w, struct webd_http **out, char *err)
{
    int fd = -1;
    uint16_t port = 0;
    *out = NULL;
    struct webd_http *h = calloc(1, sizeof *h);
    if (h == NULL) {
        snprintf(err, 256, "out of memory");
        return GL_ENOMEM;
    }
    h->w = w;
    int rc = wh_listen(w->cfg, &fd, &port, err);
    if (rc != GL_OK) {
        free(h);
        return rc;
    }
    /* One internal polling thread: the handlers and struct webd are used
     * by that thread only. */
    h->d = MHD_start_daemon(
        MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG |
            MHD_ALLOW_SUSPEND_RESUME,
        0, NULL, NULL, wh_access, h, MHD_OPTION_EXTERNAL_LOGGER, wh_mhd_log, h,
        MHD_OPTION_LISTEN_SOCKET, (MHD_socket)fd, MHD_OPTION_CONNECTION_LIMIT,
        (unsigned)w->cfg->max_conns, MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned)w->cfg->conn_timeout, MHD_OPTION_PER_IP_CONNECTION_LIMIT,
        (unsigned)w->cfg->conns_per_ip, MHD_OPTION_NOTIFY_COMPLETED,
        wh_completed, h, MHD_OPTION_END);
    if (h->d == NULL) {
        snprintf(err, 256, "libmicrohttpd did not start");
        close(fd);
        free(h);
        return GL_EOS;
    }
    GL_LOG_INFO("webd", "listening on %s:%u (customer API)", w->cfg->address,
                (unsigned)port);
    *out = h;
    return GL_OK;
}

void webd_http_stop(struct webd_http *h)
{
    if (h == NULL) {
        return;
    }
    MHD_stop_daemon(h->d); /* closes the listening socket too */
    free(h);
}
