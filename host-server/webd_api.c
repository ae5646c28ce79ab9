/*
 * webd_api.c - the handlers of gl-webd that drive the host's libraries
 * (docs/customer-api.md): members (shop_join), purchases (shop.h), gifts
 * and claims (gift.h), the add-on catalogue, and merchants' online use
 * (online.h).
 *
 * Every handler maps the library's outcome to one HTTP status and a JSON
 * body, and changes nothing on bad input (the libraries check and refuse
 * before they write).  Idempotent POSTs (purchases, gifts, online) need an
 * Idempotency-Key header; a replay is answered with the first answer's
 * status and body, and the header Idempotent-Replayed: true.
 *
 * A card purchase runs on the card worker (webd_card.c): its connection is
 * suspended meanwhile, so the acquirer's round trip never blocks the HTTP
 * thread.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gl_err.h"
#include "gl_log.h"
#include "notify.h"
#include "webd_int.h"

#define WA_REPLAYED "Idempotent-Replayed"

/* The Idempotency-Key header: 1..max printable ASCII characters, no
 * spaces.  NULL when missing or malformed, with an answer queued. */
static const char *wa_idem_key(struct MHD_Connection *c, size_t max,
                               enum MHD_Result *ret)
{
    const char *k =
        MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Idempotency-Key");
    if (k == NULL) {
        *ret = wh_error(c, MHD_HTTP_BAD_REQUEST, "idempotency_key_required",
                        "send an Idempotency-Key header (1 to 64 printable "
                        "characters, no spaces) naming this request");
        return NULL;
    }
    size_t n = strlen(k);
    int ok = n >= 1 && n <= max;
    for (size_t i = 0; ok && i < n; i++) {
        ok = k[i] > ' ' && k[i] < 0x7f;
    }
    if (!ok) {
        *ret = wh_error(c, MHD_HTTP_BAD_REQUEST, "invalid_request",
                        "Idempotency-Key: 1 to 64 printable characters, no "
                        "spaces");
        return NULL;
    }
    return k;
}

/* An answer to a possibly replayed request. */
static enum MHD_Result wa_send(struct MHD_Connection *c, unsigned status,
                               json_t *doc, int replay)
{
    return wh_send_json(c, status, doc, replay ? WA_REPLAYED : NULL,
                        replay ? "true" : NULL);
}

/* An error answer with extra members (more is taken over). */
static enum MHD_Result wa_refusal(struct MHD_Connection *c, unsigned status,
                                  const char *error, const char *detail,
                                  json_t *more, int replay)
{
    json_t *doc = json_pack("{s:s, s:s}", "error", error, "detail",
                            detail != NULL && detail[0] ? detail : error);
    if (doc != NULL && more != NULL && json_object_update(doc, more) != 0) {
        json_decref(doc);
        doc = NULL;
    }
    json_decref(more);
    return wa_send(c, status, doc, replay);
}

/* ---- members ----------------------------------------------------------- */

enum MHD_Result wa_member_join(struct webd *w, struct MHD_Connection *c,
                               const char *phone)
{
    int rc = shop_join(&w->shop, phone);
    if (rc == GL_OK || rc == GL_EEXIST) {
        return wh_send_json(
            c, rc == GL_OK ? MHD_HTTP_CREATED : MHD_HTTP_OK,
            json_pack("{s:s}", "status",
                      rc == GL_OK ? "joined" : "already_member"),
            NULL, NULL);
    }
    if (rc == GL_EINVAL) {
        return wh_error(c, MHD_HTTP_BAD_REQUEST, "invalid_phone",
                        "this phone number cannot join");
    }
    return wh_fail(c, rc);
}

/* ---- purchases --------------------------------------------------------- */

/* The body of a purchase that came to an outcome. */
static enum MHD_Result wa_purchase_answer(struct webd *w,
                                          struct MHD_Connection *c,
                                          const struct shop_request *req,
                                          const struct shop_result *res)
{
    json_t *more;
    int64_t limit = 0, left = 0;
    switch (res->outcome) {
    case SHOP_DONE: {
        json_t *list = json_array();
        for (int i = 0; list != NULL && i < res->nvouchers; i++) {
            if (json_array_append_new(list, json_string(res->vouchers[i])) !=
                0) {
                json_decref(list);
                list = NULL;
            }
        }
        if (list == NULL) {
            return wh_fail(c, GL_ENOMEM);
        }
        return wa_send(c, res->replay ? MHD_HTTP_OK : MHD_HTTP_CREATED,
                       json_pack("{s:s, s:I, s:s, s:I, s:s, s:o}", "result",
                                 "done", "purchase_id",
                                 (json_int_t)res->purchase_id, "method",
                                 shop_method_name(req->method), "amount",
                                 (json_int_t)res->amount, "payment_ref",
                                 res->payment_ref, "vouchers", list),
                       res->replay);
    }
    case SHOP_NOT_MEMBER:
        return wa_refusal(c, MHD_HTTP_CONFLICT, "not_member",
                          "not a member yet: join (POST /v1/members), then "
                          "buy",
                          NULL, 0);
    case SHOP_LIMIT:
        (void)shop_billing_remaining(&w->shop, req->phone, NULL, &limit, &left);
        more = json_pack("{s:I, s:I, s:I}", "purchase_id",
                         (json_int_t)res->purchase_id, "limit",
                         (json_int_t)limit, "remaining", (json_int_t)left);
        return wa_refusal(c, MHD_HTTP_FORBIDDEN, "limit",
                          "the phone bill's monthly limit does not allow "
                          "this purchase; nothing was charged",
                          more, res->replay);
    case SHOP_DECLINED:
        more = json_pack("{s:I, s:s}", "purchase_id",
                         (json_int_t)res->purchase_id, "acq_rc", res->acq_rc);
        return wa_refusal(c, MHD_HTTP_PAYMENT_REQUIRED, "declined",
                          "the card was declined; nothing was charged", more,
                          res->replay);
    case SHOP_PAYMENT_TIMEOUT:
        more = json_pack("{s:I}", "purchase_id", (json_int_t)res->purchase_id);
        return wa_refusal(c, MHD_HTTP_GATEWAY_TIMEOUT, "payment_timeout",
                          "the card acquirer did not answer; the payment is "
                          "reversed and nothing was issued",
                          more, res->replay);
    case SHOP_PAYMENT_UNAVAILABLE:
        return wh_error_h(c, MHD_HTTP_SERVICE_UNAVAILABLE,
                          "payment_unavailable",
                          "the card acquirer cannot be reached; nothing was "
                          "sent: retry with the same Idempotency-Key",
                          MHD_HTTP_HEADER_RETRY_AFTER, "30");
    case SHOP_FAILED:
        GL_LOG_ERR("webd", "purchase failed: %s", res->err);
        more = json_pack("{s:I}", "purchase_id", (json_int_t)res->purchase_id);
        return wa_refusal(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "failed",
                          "the purchase could not be completed; the payment "
                          "is reversed",
                          more, res->replay);
    case SHOP_CONFLICT:
        return wa_refusal(c, MHD_HTTP_CONFLICT, "conflict",
                          "this Idempotency-Key names another purchase", NULL,
                          0);
    case SHOP_IN_PROGRESS:
        return wh_error_h(c, MHD_HTTP_CONFLICT, "in_progress",
                          "the card payment of this Idempotency-Key is still "
                          "out; retry later",
                          MHD_HTTP_HEADER_RETRY_AFTER, "5");
    }
    return wh_fail(c, GL_EINVAL);
}

/* The answer to shop_purchase's rc and res. */
static enum MHD_Result wa_purchase_result(struct webd *w,
                                          struct MHD_Connection *c,
                                          const struct shop_request *req,
                                          const struct shop_result *res, int rc)
{
    if (rc == GL_EINVAL) {
        return wh_error(c, MHD_HTTP_BAD_REQUEST, "invalid_request", res->err);
    }
    if (rc == GL_ENOTSUP) {
        return wh_error(c, MHD_HTTP_SERVICE_UNAVAILABLE, "card_unavailable",
                        "card payments are not offered here; pay by phone "
                        "bill");
    }
    if (rc == GL_EAGAIN) { /* the card worker is stopping: not run */
        return wh_error_h(c, MHD_HTTP_SERVICE_UNAVAILABLE, "unavailable",
                          "the service is stopping; retry with the same "
                          "Idempotency-Key",
                          MHD_HTTP_HEADER_RETRY_AFTER, "5");
    }
    if (rc != GL_OK) {
        GL_LOG_ERR("webd", "purchase: %s", res->err);
        return wh_fail(c, rc);
    }
    return wa_purchase_answer(w, c, req, res);
}

/* Hands a card purchase to the card worker: the connection is suspended
 * until the worker resumes it (wa_purchase_resumed answers). */
static enum MHD_Result wa_card_submit(struct webd *w, struct MHD_Connection *c,
                                      struct wh_req *q,
                                      const struct shop_request *req)
{
    if (strlen(req->product) > REGISTRY_ID_MAX) {
        return wh_error(c, MHD_HTTP_BAD_REQUEST, "invalid_request",
                        "product: unknown");
    }
    if (strlen(req->card_pan) >= sizeof q->job->pan ||
        strlen(req->card_expiry) >= sizeof q->job->expiry) {
        return wh_error(c, MHD_HTTP_BAD_REQUEST, "invalid_request",
                        "card: number of 12 to 19 digits, expiry YYMM");
    }
    struct webd_card_job *job = calloc(1, sizeof *job);
    if (job == NULL) {
        return wh_fail(c, GL_ENOMEM);
    }
    job->c = c;
    job->req = *req;
    snprintf(job->key, sizeof job->key, "%s", req->key);
    snprintf(job->phone, sizeof job->phone, "%s", req->phone);
    snprintf(job->product, sizeof job->product, "%s", req->product);
    snprintf(job->pan, sizeof job->pan, "%s", req->card_pan);
    snprintf(job->expiry, sizeof job->expiry, "%s", req->card_expiry);
    job->req.key = job->key;
    job->req.phone = job->phone;
    job->req.product = job->product;
    job->req.card_pan = job->pan;
    job->req.card_expiry = job->expiry;
    q->job = job; /* freed and wiped with the request (wh_completed) */
    if (webd_card_submit(w->card, job) != GL_OK) {
        return wa_purchase_result(w, c, &job->req, &job->res, GL_EAGAIN);
    }
    return MHD_YES;
}

enum MHD_Result wa_purchase_resumed(struct webd *w, struct MHD_Connection *c,
                                    struct wh_req *q)
{
    struct webd_card_job *job = q->job;
    if (!job->done) { /* cannot happen: resumed only when done */
        return MHD_NO;
    }
    enum MHD_Result ret =
        wa_purchase_result(w, c, &job->req, &job->res, job->rc);
    crypto_wipe(job->pan, sizeof job->pan);
    crypto_wipe(job->expiry, sizeof job->expiry);
    return ret;
}

enum MHD_Result wa_purchase(struct webd *w, struct MHD_Connection *c,
                            struct wh_req *q, const char *phone)
{
    enum MHD_Result ret = MHD_NO;
    json_error_t jerr;
    const char *product = NULL, *method = NULL, *pan = NULL, *expiry = NULL;
    json_int_t face = 0, count = 1;
    json_t *pay = NULL;
    struct shop_request req;
    static struct shop_result res; /* the HTTP thread's only */

    const char *key = wa_idem_key(c, SHOP_KEY_MAX, &ret);
    if (key == NULL) {
        return ret;
    }
    json_t *doc = wh_body(c, q, &ret);
    if (doc == NULL) {
        return ret;
    }
    if (json_unpack_ex(doc, &jerr, JSON_STRICT, "{s:s, s:I, s?:I, s:o}",
                       "product", &product, "face", &face, "count", &count,
                       "payment", &pay) != 0) {
        ret = wh_bad_members(c, &jerr);
        goto out;
    }
    if (!json_is_object(pay) ||
        json_unpack_ex(pay, &jerr, 0, "{s:s}", "method", &method) != 0) {
        ret = wh_error(c, MHD_HTTP_BAD_REQUEST, "invalid_request",
                       "payment: an object with a method");
        goto out;
    }
    memset(&req, 0, sizeof req);
    if (strcmp(method, "phone_bill") == 0) {
        req.method = SHOP_PHONE_BILL;
        if (json_unpack_ex(pay, &jerr, JSON_STRICT, "{s:s}", "method",
                           &method) != 0) {
            ret = wh_bad_members(c, &jerr);
            goto out;
        }
    } else if (strcmp(method, "card") == 0) {
        req.method = SHOP_CARD;
        if (json_unpack_ex(pay, &jerr, JSON_STRICT, "{s:s, s:s, s:s}", "method",
                           &method, "number", &pan, "expiry", &expiry) != 0) {
            ret = wh_bad_members(c, &jerr);
            goto out;
        }
    } else {
        ret = wh_error(c, MHD_HTTP_BAD_REQUEST, "invalid_request",
                       "payment.method: \"phone_bill\" or \"card\"");
        goto out;
    }
    req.key = key;
    req.phone = phone;
    req.product = product;
    req.face = (int64_t)face;
    /* shop_purchase checks 1..SHOP_COUNT_MAX; keep the int honest. */
    req.count = count >= 0 && count <= SHOP_COUNT_MAX ? (int)count : -1;
    req.card_pan = pan;
    req.card_expiry = expiry;
    if (req.method == SHOP_CARD && w->card != NULL) {
        ret = wa_card_submit(w, c, q, &req);
        goto out;
    }
    int rc = shop_purchase(&w->shop, &req, &res);
    ret = wa_purchase_result(w, c, &req, &res, rc);
    crypto_wipe(&res, sizeof res);
out:
    if (pan != NULL) {
        crypto_wipe((void *)pan, strlen(pan)); /* jansson's copy */
    }
    if (expiry != NULL) {
        crypto_wipe((void *)expiry, strlen(expiry));
    }
    json_decref(doc);
    return ret;
}

static int wa_purchases_cb(void *ctx, const struct shop_purchase_info *p)
{
    json_t *list = ctx;
    char at[32];
    wh_time(at, p->created);
    char refunded[32] = "";
    if (p->refunded > 0) {
        wh_time(refunded, p->refunded);
    }
    json_t *o = json_pack(
        "{s:I, s:s, s:s, s:I, s:i, s:I, s:s, s:s?, s:s, s:s?, s:s?, s:s, "
        "s:s?}",
        "purchase_id", (json_int_t)p->id, "idempotency_key", p->key, "product",
        p->product, "face", (json_int_t)p->face, "count", p->count, "amount",
        (json_int_t)p->amount, "method", p->method, "card",
        p->card[0] ? p->card : NULL, "result",
        strcmp(p->state, "pending") == 0 ? "in_progress" : p->state,
        "payment_ref", p->payment_ref[0] ? p->payment_ref : NULL, "acq_rc",
        p->acq_rc[0] ? p->acq_rc : NULL, "at", at, "refunded",
        refunded[0] ? refunded : NULL);
    if (o == NULL || json_array_append_new(list, o) != 0) {
        return GL_ENOMEM;
    }
    return 0;
}

enum MHD_Result wa_purchases(struct webd *w, struct MHD_Connection *c,
                             const char *phone)
{
    json_t *list = json_array();
    if (list == NULL) {
        return wh_fail(c, GL_ENOMEM);
    }
    int rc = shop_list(&w->shop, phone, 100, wa_purchases_cb, list);
    if (rc != GL_OK) {
        json_decref(list);
        return wh_fail(c, rc);
    }
    int64_t limit = 0, left = 0;
    rc = shop_billing_remaining(&w->shop, phone, NULL, &limit, &left);
    if (rc != GL_OK) {
        json_decref(list);
        return wh_fail(c, rc);
    }
    return wh_send_json(c, MHD_HTTP_OK,
                        json_pack("{s:o, s:{s:I, s:I}}", "purchases", list,
                                  "phone_bill", "limit", (json_int_t)limit,
                                  "remaining", (json_int_t)left),
                        NULL, NULL);
}

/* ---- gifts ----------------------------------------------------------------
 */

static json_t *wa_pkg_json(const struct gift_package *p)
{
    char created[32], expires[32], closed[32];
    json_t *items = json_array(), *addons = json_array();
    for (size_t i = 0; items != NULL && i < p->nitems; i++) {
        const struct gift_item *it = &p->items[i];
        char exp[32];
        wh_time(exp, it->expires);
        json_t *o =
            json_pack("{s:s?, s:s, s:s?, s:s, s:s, s:I, s:b, s:s}", "number",
                      it->number[0] ? it->number : NULL, "masked", it->masked,
                      "source", it->part ? it->source : NULL, "product",
                      it->product, "brand", it->brand, "amount",
                      (json_int_t)it->amount, "part", it->part, "expires", exp);
        if (o == NULL || json_array_append_new(items, o) != 0) {
            json_decref(items);
            items = NULL;
        }
    }
    for (size_t i = 0; addons != NULL && i < p->naddons; i++) {
        const struct gift_addon *a = &p->addons[i];
        json_t *o = json_pack("{s:I, s:s, s:s, s:s}", "id", (json_int_t)a->id,
                              "kind", gift_content_kind_name(a->kind), "title",
                              a->title, "mime", a->mime);
        if (o == NULL || json_array_append_new(addons, o) != 0) {
            json_decref(addons);
            addons = NULL;
        }
    }
    if (items == NULL || addons == NULL) {
        json_decref(items);
        json_decref(addons);
        return NULL;
    }
    wh_time(created, p->created);
    wh_time(expires, p->expires_at);
    wh_time(closed, p->closed_at);
    return json_pack(
        "{s:I, s:s, s:s, s:s, s:s, s:o, s:I, s:o, s:s?, s:s?, "
        "s:s?}",
        "gift_id", (json_int_t)p->gift_id, "state", gift_state_name(p->state),
        "giver", p->giver, "recipient", p->recipient, "message", p->message,
        "items", items, "total", (json_int_t)p->total, "addons", addons,
        "created", p->created ? created : NULL, "expires",
        p->expires_at ? expires : NULL, "closed", p->closed_at ? closed : NULL);
}

/* A gift action's refusal or failure as an answer. */
static enum MHD_Result wa_gift_refusal(struct MHD_Connection *c, int rc,
                                       const struct gift_result *res)
{
    unsigned st = MHD_HTTP_CONFLICT;
    const char *error = gift_outcome_name(res->outcome);
    json_t *more = NULL;
    if (rc == GL_EINVAL) {
        return wh_error(c, MHD_HTTP_BAD_REQUEST, "invalid_request", res->err);
    }
    if (rc != GL_OK) {
        GL_LOG_ERR("webd", "gift: %s (%s)", gl_strerror(rc), res->err);
        return wh_fail(c, rc);
    }
    switch (res->outcome) {
    case GIFT_NOT_OWNER:
        /* Unknown and someone else's voucher answer alike. */
        st = MHD_HTTP_NOT_FOUND;
        error = "not_found";
        break;
    case GIFT_BAD_TOKEN:
        return wh_not_found(c);
    case GIFT_WRONG_RECIPIENT:
        st = MHD_HTTP_FORBIDDEN;
        break;
    case GIFT_NO_PARTIAL:
    case GIFT_AMOUNT:
        st = MHD_HTTP_UNPROCESSABLE_CONTENT;
        break;
    case GIFT_CLOSED:
        more = json_pack("{s:s}", "state", gift_state_name(res->pkg.state));
        break;
    case GIFT_FAILED:
        return wh_error(c, MHD_HTTP_BAD_REQUEST, "invalid_request", res->err);
    default:
        break;
    }
    if (res->item >= 0) {
        json_t *m = json_pack("{s:i}", "item", res->item);
        if (more == NULL) {
            more = m;
        } else {
            json_object_update(more, m);
            json_decref(m);
        }
    }
    return wa_refusal(c, st, error, res->err, more, 0);
}

enum MHD_Result wa_gift(struct webd *w, struct MHD_Connection *c,
                        const struct wh_req *q, const char *phone, int preview)
{
    enum MHD_Result ret = MHD_NO;
    json_error_t jerr;
    const char *recipient = NULL, *message = NULL, *key = NULL;
    json_t *items = NULL, *addons = NULL;
    struct gift_item_req it[GIFT_ITEMS_MAX];
    int64_t ad[GIFT_ADDONS_MAX];
    struct gift_request req;
    static struct gift_result res; /* the HTTP thread's only */

    if (!preview) {
        key = wa_idem_key(c, GIFT_KEY_MAX, &ret);
        if (key == NULL) {
            return ret;
        }
    }
    json_t *doc = wh_body(c, q, &ret);
    if (doc == NULL) {
        return ret;
    }
    if (json_unpack_ex(doc, &jerr, JSON_STRICT, "{s:s, s?:s, s:o, s?:o}",
                       "recipient", &recipient, "message", &message, "items",
                       &items, "addons", &addons) != 0) {
        ret = wh_bad_members(c, &jerr);
        goto out;
    }
    if (!json_is_array(items) || json_array_size(items) == 0 ||
        json_array_size(items) > GIFT_ITEMS_MAX) {
        ret = wh_error(c, MHD_HTTP_BAD_REQUEST, "invalid_request",
                       "items: an array of 1 to 10 {number, amount}");
        goto out;
    }
    memset(&req, 0, sizeof req);
    for (size_t i = 0; i < json_array_size(items); i++) {
        json_int_t amount = 0;
        it[i].number = NULL;
        if (json_unpack_ex(json_array_get(items, i), &jerr, JSON_STRICT,
                           "{s:s, s?:I}", "number", &it[i].number, "amount",
                           &amount) != 0) {
            ret = wh_bad_members(c, &jerr);
            goto out;
        }
        if (amount < 0) {
            ret = wh_error(c, MHD_HTTP_BAD_REQUEST, "invalid_request",
                           "items[].amount: a positive number of won (or "
                           "none: the whole voucher)");
            goto out;
        }
        it[i].amount = (int64_t)amount;
    }
    if (addons != NULL) {
        if (!json_is_array(addons) ||
            json_array_size(addons) > GIFT_ADDONS_MAX) {
            ret = wh_error(c, MHD_HTTP_BAD_REQUEST, "invalid_request",
                           "addons: an array of at most 4 content ids");
            goto out;
        }
        for (size_t i = 0; i < json_array_size(addons); i++) {
            json_t *a = json_array_get(addons, i);
            if (!json_is_integer(a) || json_integer_value(a) <= 0) {
                ret = wh_error(c, MHD_HTTP_BAD_REQUEST, "invalid_request",
                               "addons: content ids (positive integers)");
                goto out;
            }
            ad[i] = (int64_t)json_integer_value(a);
        }
        req.naddons = json_array_size(addons);
    }
    req.key = key;
    req.giver = phone;
    req.recipient = recipient;
    req.message = message;
    req.items = it;
    req.nitems = json_array_size(items);
    req.addons = ad;
    int rc = preview ? gift_preview(&w->gift, &req, &res)
                     : gift_send(&w->gift, &req, &res);
    if (rc != GL_OK || res.outcome != GIFT_DONE) {
        ret = wa_gift_refusal(c, rc, &res);
        goto out;
    }
    json_t *pkg = wa_pkg_json(&res.pkg);
    if (pkg != NULL && !preview && res.link[0] != '\0') {
        json_object_set_new(pkg, "link", json_string(res.link));
    }
    ret = wa_send(c, preview || res.replay ? MHD_HTTP_OK : MHD_HTTP_CREATED,
                  pkg, res.replay);
out:
    crypto_wipe(&res, sizeof res);
    json_decref(doc);
    return ret;
}

static int wa_gifts_cb(void *ctx, const struct gift_summary *g)
{
    json_t *list = ctx;
    char created[32], expires[32], closed[32];
    wh_time(created, g->created);
    wh_time(expires, g->expires_at);
    wh_time(closed, g->closed_at);
    json_t *o =
        json_pack("{s:I, s:s, s:s, s:s, s:i, s:I, s:s, s:s, s:s?}", "gift_id",
                  (json_int_t)g->id, "state", gift_state_name(g->state),
                  "counterpart", g->counterpart, "message", g->message, "items",
                  g->nitems, "total", (json_int_t)g->total, "created", created,
                  "expires", expires, "closed", g->closed_at ? closed : NULL);
    if (o == NULL || json_array_append_new(list, o) != 0) {
        return GL_ENOMEM;
    }
    return 0;
}

enum MHD_Result wa_gifts(struct webd *w, struct MHD_Connection *c,
                         const char *phone)
{
    static const char *const keys[] = {"box", NULL};
    struct wh_query qs = {.allowed = keys};
    enum MHD_Result ret = MHD_NO;
    enum gift_direction dir = GIFT_SENT;
    if (wh_query(c, &qs, &ret) != 0) {
        return ret;
    }
    if (qs.val[0] == NULL || strcmp(qs.val[0], "sent") == 0) {
        dir = GIFT_SENT;
    } else if (strcmp(qs.val[0], "received") == 0) {
        dir = GIFT_RECEIVED;
    } else {
        return wh_error(c, MHD_HTTP_BAD_REQUEST, "invalid_request",
                        "box: sent or received");
    }
    json_t *list = json_array();
    if (list == NULL) {
        return wh_fail(c, GL_ENOMEM);
    }
    int rc = gift_list(&w->gift, phone, dir, wa_gifts_cb, list);
    if (rc != GL_OK) {
        json_decref(list);
        return wh_fail(c, rc);
    }
    return wh_send_json(c, MHD_HTTP_OK,
                        json_pack("{s:s, s:o}", "box",
                                  dir == GIFT_SENT ? "sent" : "received",
                                  "gifts", list),
                        NULL, NULL);
}

enum MHD_Result wa_claim(struct webd *w, struct MHD_Connection *c,
                         const struct wh_req *q)
{
    static struct gift_result res;
    if (q->param[0] == '\0') {
        return wh_not_found(c);
    }
    int rc = gift_claim_info(&w->gift, q->param, &res);
    if (rc != GL_OK || res.outcome != GIFT_DONE) {
        return wa_gift_refusal(c, rc, &res);
    }
    return wh_send_json(c, MHD_HTTP_OK, wa_pkg_json(&res.pkg), NULL, NULL);
}

enum MHD_Result wa_claim_accept(struct webd *w, struct MHD_Connection *c,
                                const struct wh_req *q, const char *phone)
{
    static struct gift_result res;
    enum MHD_Result ret;
    if (q->param[0] == '\0') {
        return wh_not_found(c);
    }
    int rc = gift_accept(&w->gift, q->param, phone, &res);
    if (rc != GL_OK || res.outcome != GIFT_DONE) {
        ret = wa_gift_refusal(c, rc, &res);
    } else {
        json_t *pkg = wa_pkg_json(&res.pkg);
        if (pkg != NULL) {
            json_object_set_new(pkg, "joined", json_boolean(res.joined));
        }
        ret = wa_send(c, MHD_HTTP_OK, pkg, res.replay);
    }
    crypto_wipe(&res, sizeof res);
    return ret;
}

enum MHD_Result wa_claim_refuse(struct webd *w, struct MHD_Connection *c,
                                const struct wh_req *q)
{
    static struct gift_result res;
    if (q->param[0] == '\0') {
        return wh_not_found(c);
    }
    int rc = gift_refuse(&w->gift, q->param, &res);
    if (rc != GL_OK || res.outcome != GIFT_DONE) {
        return wa_gift_refusal(c, rc, &res);
    }
    return wa_send(c, MHD_HTTP_OK, wa_pkg_json(&res.pkg), res.replay);
}

/* ---- add-on content --------------------------------------------------------
 */

static int wa_contents_cb(void *ctx, const struct gift_content *gc)
{
    json_t *list = ctx;
    json_t *o = json_pack(
        "{s:I, s:s, s:s, s:s, s:I, s:s}", "id", (json_int_t)gc->id, "kind",
        gift_content_kind_name(gc->kind), "title", gc->title, "mime", gc->mime,
        "size", (json_int_t)gc->size, "sha256", gc->sha256);
    if (o == NULL || json_array_append_new(list, o) != 0) {
        return GL_ENOMEM;
    }
    return 0;
}

enum MHD_Result wa_contents(struct webd *w, struct MHD_Connection *c)
{
    static const char *const keys[] = {"kind", NULL};
    struct wh_query qs = {.allowed = keys};
    enum MHD_Result ret = MHD_NO;
    int kind = 0;
    if (wh_query(c, &qs, &ret) != 0) {
        return ret;
    }
    if (qs.val[0] != NULL) {
        kind = gift_content_kind_parse(qs.val[0]);
        if (kind <= 0) {
            return wh_error(c, MHD_HTTP_BAD_REQUEST, "invalid_request",
                            "kind: ring_tone, theme_card, background_music "
                            "or character");
        }
    }
    json_t *list = json_array();
    if (list == NULL) {
        return wh_fail(c, GL_ENOMEM);
    }
    int rc = gift_content_list(&w->gift, kind, wa_contents_cb, list);
    if (rc != GL_OK) {
        json_decref(list);
        return wh_fail(c, rc);
    }
    return wh_send_json(c, MHD_HTTP_OK, json_pack("{s:o}", "content", list),
                        NULL, NULL);
}

enum MHD_Result wa_content(struct webd *w, struct MHD_Connection *c,
                           const struct wh_req *q)
{
    struct gift_content gc;
    struct stat sb;
    const char *p = q->param;
    size_t n = strlen(p);
    int ok = n >= 1 && n <= 18 && p[0] != '0';
    for (size_t i = 0; ok && i < n; i++) {
        ok = p[i] >= '0' && p[i] <= '9';
    }
    if (!ok) {
        return wh_not_found(c);
    }
    int rc = gift_content_get(&w->gift, strtoll(p, NULL, 10), &gc);
    if (rc == GL_ENOTFOUND) {
        return wh_not_found(c);
    }
    if (rc != GL_OK) {
        return wh_fail(c, rc);
    }
    int fd = open(gc.path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        GL_LOG_ERR("webd", "content %" PRId64 ": file %s: %s", gc.id, gc.path,
                   strerror(errno));
        if (fd >= 0) {
            close(fd);
        }
        return wh_fail(c, GL_EIO);
    }
    /* MHD owns fd from here (closed with the response). */
    struct MHD_Response *r =
        MHD_create_response_from_fd((uint64_t)sb.st_size, fd);
    if (r == NULL) {
        close(fd);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, gc.mime);
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL,
                            "public, max-age=86400");
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, MHD_HTTP_HEADER_ETAG, gc.sha256);
    enum MHD_Result ret = MHD_queue_response(c, MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    return ret;
}

/* ---- online use by merchants ------------------------------------------------
 */

static unsigned wa_online_status(enum online_outcome oc)
{
    switch (oc) {
    case ONLINE_APPROVED:
    case ONLINE_PARTIAL:
        return MHD_HTTP_OK;
    case ONLINE_INVALID:
    case ONLINE_FROZEN:
    case ONLINE_EXPIRED:
    case ONLINE_NOT_ACCEPTED:
    case ONLINE_NOT_ACTIVATED:
    case ONLINE_INSUFFICIENT:
        return MHD_HTTP_PAYMENT_REQUIRED;
    case ONLINE_NOT_FOUND:
        return MHD_HTTP_NOT_FOUND;
    case ONLINE_AMOUNT:
        return MHD_HTTP_UNPROCESSABLE_CONTENT;
    case ONLINE_HOLD_EXPIRED:
    case ONLINE_NOT_ALLOWED:
    case ONLINE_CONFLICT:
        return MHD_HTTP_CONFLICT;
    }
    return MHD_HTTP_INTERNAL_SERVER_ERROR;
}

/* The merchant of the request's "Authorization: Merchant KEY", or an
 * answer was queued. */
static int wa_merchant(struct webd *w, struct MHD_Connection *c,
                       char merchant[REGISTRY_ID_MAX + 1], enum MHD_Result *ret)
{
    const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                                MHD_HTTP_HEADER_AUTHORIZATION);
    int rc = GL_ENOTFOUND;
    if (h != NULL && strncasecmp(h, "Merchant ", 9) == 0) {
        h += 9;
        while (*h == ' ') {
            h++;
        }
        rc = online_key_check(&w->online, h, merchant);
    }
    if (rc == GL_ENOTFOUND) {
        *ret = wh_error_h(c, MHD_HTTP_UNAUTHORIZED, "unauthorized",
                          "send the merchant's API key: Authorization: "
                          "Merchant glk_...",
                          MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Merchant");
    } else if (rc != GL_OK) {
        *ret = wh_fail(c, rc);
    }
    return rc;
}

enum MHD_Result wa_online(struct webd *w, struct MHD_Connection *c,
                          const struct wh_req *q)
{
    enum MHD_Result ret = MHD_NO;
    json_error_t jerr;
    char merchant[REGISTRY_ID_MAX + 1], exp[32];
    const char *voucher = NULL, *pin = NULL, *auth_id = NULL;
    json_int_t amount = 0;
    struct online_result res;
    int rc;

    if (wa_merchant(w, c, merchant, &ret) != GL_OK) {
        return ret;
    }
    const char *key = wa_idem_key(c, ONLINE_IDEM_MAX, &ret);
    if (key == NULL) {
        return ret;
    }
    json_t *doc = wh_body(c, q, &ret);
    if (doc == NULL) {
        return ret;
    }
    memset(&res, 0, sizeof res);
    if (q->route == WR_ONLINE_AUTHORIZE) {
        if (json_unpack_ex(doc, &jerr, JSON_STRICT, "{s:s, s?:s, s:I}",
                           "voucher", &voucher, "pin", &pin, "amount",
                           &amount) != 0) {
            ret = wh_bad_members(c, &jerr);
            goto out;
        }
        rc = online_authorize(&w->online, merchant, key, voucher, pin,
                              (int64_t)amount, &res);
    } else if (q->route == WR_ONLINE_CAPTURE) {
        if (json_unpack_ex(doc, &jerr, JSON_STRICT, "{s:s, s:I}", "auth_id",
                           &auth_id, "amount", &amount) != 0) {
            ret = wh_bad_members(c, &jerr);
            goto out;
        }
        rc = online_capture(&w->online, merchant, key, auth_id, (int64_t)amount,
                            &res);
    } else {
        if (json_unpack_ex(doc, &jerr, JSON_STRICT, "{s:s}", "auth_id",
                           &auth_id) != 0) {
            ret = wh_bad_members(c, &jerr);
            goto out;
        }
        rc = online_void(&w->online, merchant, key, auth_id, &res);
    }
    if (rc == GL_EINVAL) {
        ret = wh_error(c, MHD_HTTP_BAD_REQUEST, "invalid_request", res.err);
        goto out;
    }
    if (rc == GL_ENOTFOUND) { /* the key's merchant is gone */
        ret = wh_error_h(c, MHD_HTTP_UNAUTHORIZED, "unauthorized",
                         "this API key's merchant is not registered",
                         MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Merchant");
        goto out;
    }
    if (rc != GL_OK) {
        ret = wh_fail(c, rc);
        goto out;
    }
    unsigned st = wa_online_status(res.outcome);
    if (st != MHD_HTTP_OK) {
        json_t *more =
            json_pack("{s:s, s:s?}", "code", online_outcome_code(res.outcome),
                      "auth_id", res.auth_id[0] ? res.auth_id : NULL);
        ret = wa_refusal(c, st, online_outcome_name(res.outcome), res.err, more,
                         res.replay);
        goto out;
    }
    wh_time(exp, res.hold_expires);
    json_t *o = json_pack(
        "{s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:s?}", "result",
        online_outcome_name(res.outcome), "code",
        online_outcome_code(res.outcome), "auth_id", res.auth_id, "amount",
        (json_int_t)res.amount, "released", (json_int_t)res.released, "balance",
        (json_int_t)res.balance, "available", (json_int_t)res.available,
        "hold_expires", res.hold_expires ? exp : NULL);
    ret = wa_send(c, MHD_HTTP_OK, o, res.replay);
out:
    if (pin != NULL) {
        crypto_wipe((void *)pin, strlen(pin)); /* jansson's copy */
    }
    json_decref(doc);
    return ret;
}

/* ---- the standard terms: refund, cash-out, extension ------------------ */

/* The purchase id of the path: 1..18 digits; 0 when malformed. */
static int64_t wa_purchase_id(const struct wh_req *q)
{
    size_t n = strlen(q->param);
    int64_t id = 0;
    if (n == 0 || n > 18) {
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        if (q->param[i] < '0' || q->param[i] > '9') {
            return 0;
        }
        id = id * 10 + (q->param[i] - '0');
    }
    return id;
}

enum MHD_Result wa_refund(struct webd *w, struct MHD_Connection *c,
                          const struct wh_req *q, const char *phone)
{
    static struct shop_refund_result rf; /* the HTTP thread's only */
    int64_t id = wa_purchase_id(q);
    char at[32];
    enum MHD_Result ret;

    if (id <= 0) {
        return wh_not_found(c);
    }
    int rc = shop_refund(&w->shop, id, phone, &rf);
    if (rc == GL_ENOTFOUND) {
        ret = wh_not_found(c);
        goto out;
    }
    if (rc != GL_OK) {
        ret = wh_fail(c, rc);
        goto out;
    }
    if (rf.verdict != SHOP_REFUND_OK) {
        static const char *const why[] = {
            [SHOP_REFUND_NOT_DONE] = "the purchase issued no vouchers",
            [SHOP_REFUND_TOO_LATE] = "a refund is possible within 7 days of "
                                     "the purchase",
            [SHOP_REFUND_USED] = "a voucher of the purchase was used, given "
                                 "away, frozen or cancelled",
            [SHOP_REFUND_NO_CARD_DATA] = "this card purchase can only be "
                                         "refunded by the call centre",
        };
        ret = wa_refusal(c, MHD_HTTP_CONFLICT, shop_refund_name(rf.verdict),
                         why[rf.verdict], NULL, 0);
        goto out;
    }
    json_t *nums = json_array();
    for (int i = 0; nums != NULL && i < rf.nvouchers; i++) {
        json_array_append_new(nums, json_string(rf.vouchers[i]));
    }
    wh_time(at, rf.refunded);
    ret = wa_send(c, rf.replay ? MHD_HTTP_OK : MHD_HTTP_CREATED,
                  json_pack("{s:s, s:I, s:I, s:s, s:o, s:s}", "result",
                            "refunded", "purchase_id", (json_int_t)id, "amount",
                            (json_int_t)rf.amount, "method", rf.method,
                            "cancelled", nums, "at", at),
                  rf.replay);
out:
    crypto_wipe(&rf, sizeof rf);
    return ret;
}

/* The rule's figures of a cash-out check. */
static json_t *wa_cashout_json(const struct online_cashout *co)
{
    return json_pack("{s:s, s:I, s:I, s:I, s:I, s:i, s:I}", "verdict",
                     online_cashout_name(co->verdict), "face",
                     (json_int_t)co->face, "balance", (json_int_t)co->balance,
                     "available", (json_int_t)co->available, "used",
                     (json_int_t)co->used, "used_pct_required",
                     co->used_pct_required, "payout", (json_int_t)co->payout);
}

enum MHD_Result wa_cashout(struct webd *w, struct MHD_Connection *c,
                           const struct wh_req *q, const char *phone)
{
    struct registry_voucher v;
    struct online_payout p;
    enum MHD_Result ret = MHD_NO;
    json_error_t jerr;
    const char *bank = NULL, *account = NULL;
    char at[32];
    int rc;

    if (wh_own_voucher(w, c, q, phone, &v, &ret) != GL_OK) {
        return ret;
    }
    crypto_wipe(&v, sizeof v);
    if (q->method == WM_GET) {
        struct online_cashout co;
        rc = online_cashout_allowed(&w->online, q->number, &co);
        return rc == GL_OK ? wh_send_json(c, MHD_HTTP_OK, wa_cashout_json(&co),
                                          NULL, NULL)
                           : wh_fail(c, rc);
    }
    json_t *doc = wh_body(c, q, &ret);
    if (doc == NULL) {
        return ret;
    }
    if (json_unpack_ex(doc, &jerr, JSON_STRICT, "{s:s, s:s}", "bank", &bank,
                       "account", &account) != 0) {
        ret = wh_bad_members(c, &jerr);
        goto out;
    }
    rc = online_cashout(&w->online, q->number, phone, bank, account, &p);
    if (rc == GL_EINVAL) {
        ret = wh_error(c, MHD_HTTP_BAD_REQUEST, "invalid_request",
                       "bank: a 3-digit bank code; account: 10 to 16 digits");
        goto out;
    }
    if (rc == GL_ENOTFOUND) {
        ret = wh_not_found(c);
        goto out;
    }
    if (rc != GL_OK) {
        ret = wh_fail(c, rc);
        goto out;
    }
    if (p.check.verdict != ONLINE_CASHOUT_OK) {
        static const char *const why[] = {
            [ONLINE_CASHOUT_TOO_LITTLE_USED] =
                "cash-out needs 60% of the face value used (80% up to "
                "10,000 KRW)",
            [ONLINE_CASHOUT_NOTHING_LEFT] = "nothing is left to pay out",
            [ONLINE_CASHOUT_NOT_USABLE] = "the voucher is frozen, cancelled "
                                          "or expired",
        };
        ret = wa_refusal(c, MHD_HTTP_CONFLICT,
                         online_cashout_name(p.check.verdict),
                         why[p.check.verdict], wa_cashout_json(&p.check), 0);
        goto out;
    }
    wh_time(at, p.created);
    ret = wa_send(c, p.replay ? MHD_HTTP_OK : MHD_HTTP_CREATED,
                  json_pack("{s:s, s:I, s:I, s:s, s:s, s:s}", "result",
                            "payout_due", "payout_id", (json_int_t)p.payout_id,
                            "amount", (json_int_t)p.amount, "bank", p.bank,
                            "account", p.account_masked, "at", at),
                  p.replay);
out:
    if (account != NULL) {
        crypto_wipe((void *)account, strlen(account)); /* jansson's copy */
    }
    json_decref(doc);
    return ret;
}

enum MHD_Result wa_extend(struct webd *w, struct MHD_Connection *c,
                          const struct wh_req *q, const char *phone)
{
    struct registry_voucher v;
    struct online_extension x;
    enum MHD_Result ret = MHD_NO;
    json_error_t jerr;
    json_int_t days = 0;
    char from[32], to[32];

    if (wh_own_voucher(w, c, q, phone, &v, &ret) != GL_OK) {
        return ret;
    }
    crypto_wipe(&v, sizeof v);
    json_t *doc = wh_body(c, q, &ret);
    if (doc == NULL) {
        return ret;
    }
    if (json_unpack_ex(doc, &jerr, JSON_STRICT, "{s:I}", "days", &days) != 0) {
        ret = wh_bad_members(c, &jerr);
        goto out;
    }
    int rc = GL_EINVAL;
    if (days >= 1 && days <= ONLINE_EXTEND_MAX_DAYS) {
        rc = online_extend(&w->online, q->number, (int)days, &x);
    }
    if (rc == GL_EINVAL) {
        char d[96];
        snprintf(d, sizeof d, "days: 1 to %d", ONLINE_EXTEND_MAX_DAYS);
        ret = wh_error(c, MHD_HTTP_BAD_REQUEST, "invalid_request", d);
        goto out;
    }
    if (rc != GL_OK) {
        ret = rc == GL_ENOTFOUND ? wh_not_found(c) : wh_fail(c, rc);
        goto out;
    }
    if (x.verdict == ONLINE_EXTEND_OK) {
        wh_time(from, x.old_expires);
        wh_time(to, x.new_expires);
        ret = wh_send_json(c, MHD_HTTP_OK,
                           json_pack("{s:s, s:s, s:s}", "result", "extended",
                                     "old_expires", from, "expires", to),
                           NULL, NULL);
    } else if (x.verdict == ONLINE_EXTEND_ALREADY) {
        wh_time(from, x.old_expires);
        wh_time(to, x.new_expires);
        ret = wa_refusal(
            c, MHD_HTTP_CONFLICT, "already_extended",
            "a voucher's validity is extended once",
            json_pack("{s:s, s:s}", "old_expires", from, "expires", to), 0);
    } else {
        ret = wa_refusal(c, MHD_HTTP_CONFLICT, online_extend_name(x.verdict),
                         x.verdict == ONLINE_EXTEND_EXPIRED
                             ? "the voucher has expired already"
                         : x.verdict == ONLINE_EXTEND_NOTHING_LEFT
                             ? "nothing is left on the voucher"
                             : "the voucher is frozen or cancelled",
                         NULL, 0);
    }
out:
    json_decref(doc);
    return ret;
}
