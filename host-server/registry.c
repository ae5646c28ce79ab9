/*
 * registry.c - the catalogue of merchants, stores, terminals, products,
 * members and vouchers (contract in registry.h).
 */
#include "registry.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "gl_err.h"
#include "ledger_int.h"

#define RG_DAY 86400

int registry_init(struct registry *reg, struct ledger *lg,
                  const struct registry_config *cfg)
{
    assert(reg != NULL && lg != NULL);
    memset(reg, 0, sizeof *reg);
    reg->lg = lg;
    reg->st = lg->st;
    if (cfg != NULL && cfg->pin_key != NULL) {
        if (cfg->pin_key_len < 16 || cfg->pin_key_len > REGISTRY_PIN_KEY_MAX) {
            return GL_EINVAL;
        }
        memcpy(reg->pin_key, cfg->pin_key, cfg->pin_key_len);
        reg->pin_key_len = cfg->pin_key_len;
    }
    if (cfg != NULL && cfg->f_rng != NULL) {
        reg->f_rng = cfg->f_rng;
        reg->p_rng = cfg->p_rng;
        return GL_OK;
    }
    reg->own_rng = 1;
    reg->f_rng = crypto_rng_fill;
    reg->p_rng = &reg->rng;
    return crypto_rng_init(&reg->rng, "gl-registry");
}

void registry_deinit(struct registry *reg)
{
    if (reg == NULL) {
        return;
    }
    crypto_wipe(reg->pin_key, sizeof reg->pin_key);
    reg->pin_key_len = 0;
    if (reg->own_rng) {
        crypto_rng_deinit(&reg->rng);
        reg->own_rng = 0;
    }
}

static const char *const rg_types[] = {"", "department", "books", "culture",
                                       "carrier"};

const char *registry_type_name(int type)
{
    return type >= 1 && type <= 4 ? rg_types[type] : "";
}

int registry_type_parse(const char *name)
{
    for (int i = 1; i <= 4; i++) {
        if (name != NULL && strcmp(name, rg_types[i]) == 0) {
            return i;
        }
    }
    return GL_EINVAL;
}

const char *registry_status_name(int status)
{
    static const char *const names[] = {"active", "frozen", "expired",
                                        "cancelled"};
    return status >= 0 && status <= 3 ? names[status] : "unknown";
}

static int rg_text_ok(const char *s, size_t max)
{
    return s != NULL && s[0] != '\0' && strlen(s) <= max;
}

static void rg_copy(char *dst, size_t cap, const char *src)
{
    snprintf(dst, cap, "%s", src != NULL ? src : "");
}

/* The typed callbacks of the listings, called through one helper. */
typedef void (*rg_read_fn)(struct store_cursor *cur, void *row);
enum rg_kind { RG_MERCHANT, RG_STORE, RG_TERMINAL, RG_MEMBER };
union rg_cb {
    registry_merchant_cb merchant;
    registry_store_cb store;
    registry_terminal_cb terminal;
    registry_member_cb member;
};

static int rg_call(enum rg_kind kind, union rg_cb cb, void *ctx,
                   const void *row)
{
    switch (kind) {
    case RG_MERCHANT:
        return cb.merchant(ctx, row);
    case RG_STORE:
        return cb.store(ctx, row);
    case RG_TERMINAL:
        return cb.terminal(ctx, row);
    case RG_MEMBER:
        return cb.member(ctx, row);
    }
    return GL_EINVAL;
}

/* Runs a listing query and hands each row through read + cb. */
static int rg_list(struct registry *reg, enum store_q q,
                   const struct store_val *a, size_t n, rg_read_fn read,
                   void *row, enum rg_kind kind, union rg_cb cb, void *ctx)
{
    struct store_cursor cur = {0};
    int rc = store_query(reg->st, q, a, n, &cur);
    if (rc != GL_OK) {
        return rc;
    }
    while ((rc = store_next(&cur)) == 1) {
        read(&cur, row);
        rc = rg_call(kind, cb, ctx, row);
        if (rc != 0) {
            break;
        }
    }
    store_done(&cur);
    return rc;
}

/* Reads the first row of q into row: GL_OK, GL_ENOTFOUND or an error. */
static int rg_get(struct registry *reg, enum store_q q,
                  const struct store_val *a, size_t n, rg_read_fn read,
                  void *row)
{
    struct store_cursor cur = {0};
    int rc = store_query(reg->st, q, a, n, &cur);
    if (rc != GL_OK) {
        return rc;
    }
    rc = store_next(&cur);
    if (rc == 1) {
        read(&cur, row);
        rc = GL_OK;
    } else if (rc == 0) {
        rc = GL_ENOTFOUND;
    }
    store_done(&cur);
    return rc;
}

/* ---- merchants -------------------------------------------------------- */

static void rg_merchant_read(struct store_cursor *cur, void *row)
{
    struct registry_merchant *m = row;
    memset(m, 0, sizeof *m);
    rg_copy(m->id, sizeof m->id, store_col_text(cur, 0));
    rg_copy(m->name, sizeof m->name, store_col_text(cur, 1));
    m->status = (int)store_col_int(cur, 2);
    m->account = store_col_int(cur, 3);
    rg_copy(m->groups, sizeof m->groups, store_col_text(cur, 4));
}

int registry_merchant_add(struct registry *reg, const char *id,
                          const char *name, const char *const *groups,
                          size_t ngroups)
{
    int64_t account = 0, gid = 0;
    int rc;
    if (!rg_text_ok(id, REGISTRY_ID_MAX) ||
        !rg_text_ok(name, REGISTRY_NAME_MAX)) {
        return GL_EINVAL;
    }
    for (size_t i = 0; i < ngroups; i++) {
        if (!rg_text_ok(groups[i], REGISTRY_ID_MAX)) {
            return GL_EINVAL;
        }
    }
    rc = store_op_begin(reg->st);
    if (rc != GL_OK) {
        return rc;
    }
    rc = ledger__account_ensure(reg->lg, LEDGER_ACC_MERCHANT, id, 0,
                                &account);
    if (rc == GL_OK) {
        rc = store_exec(reg->st, STORE_Q_MERCHANT_INSERT,
                        STORE_ARGS(STORE_T(id), STORE_T(name),
                                   STORE_I(account),
                                   STORE_I(ledger_now(reg->lg))),
                        NULL);
    }
    for (size_t i = 0; i < ngroups && rc == GL_OK; i++) {
        rc = store_get_int(reg->st, STORE_Q_GROUP_ENSURE,
                           STORE_ARGS(STORE_T(groups[i])), &gid);
        if (rc == GL_OK) {
            rc = store_exec(reg->st, STORE_Q_MERCHANT_GROUP_ADD,
                            STORE_ARGS(STORE_I(gid), STORE_T(id)), NULL);
        }
    }
    return store_op_end(reg->st, rc);
}

int registry_merchant_get(struct registry *reg, const char *id,
                          struct registry_merchant *out)
{
    return rg_get(reg, STORE_Q_MERCHANT_GET, STORE_ARGS(STORE_T(id)),
                  rg_merchant_read, out);
}

int registry_merchant_list(struct registry *reg, registry_merchant_cb cb,
                           void *ctx)
{
    struct registry_merchant m;
    return rg_list(reg, STORE_Q_MERCHANT_LIST, NULL, 0, rg_merchant_read, &m,
                   RG_MERCHANT, (union rg_cb){.merchant = cb}, ctx);
}

/* ---- stores ----------------------------------------------------------- */

static void rg_store_read(struct store_cursor *cur, void *row)
{
    struct registry_store *s = row;
    memset(s, 0, sizeof *s);
    s->id = store_col_int(cur, 0);
    rg_copy(s->merchant, sizeof s->merchant, store_col_text(cur, 1));
    rg_copy(s->code, sizeof s->code, store_col_text(cur, 2));
    rg_copy(s->name, sizeof s->name, store_col_text(cur, 3));
}

int registry_store_add(struct registry *reg, const char *merchant,
                       const char *code, const char *name, int64_t *id)
{
    struct registry_merchant m;
    int64_t sid = 0;
    int rc;
    if (!rg_text_ok(merchant, REGISTRY_ID_MAX) ||
        !rg_text_ok(code, REGISTRY_ID_MAX) ||
        !rg_text_ok(name, REGISTRY_NAME_MAX)) {
        return GL_EINVAL;
    }
    rc = store_op_begin(reg->st);
    if (rc != GL_OK) {
        return rc;
    }
    rc = registry_merchant_get(reg, merchant, &m);
    if (rc == GL_OK) {
        rc = store_get_int(reg->st, STORE_Q_STORE_INSERT,
                           STORE_ARGS(STORE_T(merchant), STORE_T(code),
                                      STORE_T(name)),
                           &sid);
    }
    rc = store_op_end(reg->st, rc);
    if (id != NULL) {
        *id = rc == GL_OK ? sid : 0;
    }
    return rc;
}

int registry_store_list(struct registry *reg, const char *merchant,
                        registry_store_cb cb, void *ctx)
{
    struct registry_store s;
    return rg_list(reg, STORE_Q_STORE_LIST, STORE_ARGS(STORE_T(merchant)),
                   rg_store_read, &s, RG_STORE,
                   (union rg_cb){.store = cb}, ctx);
}

/* ---- terminals -------------------------------------------------------- */

static void rg_terminal_read(struct store_cursor *cur, void *row)
{
    struct registry_terminal *t = row;
    memset(t, 0, sizeof *t);
    rg_copy(t->id, sizeof t->id, store_col_text(cur, 0));
    rg_copy(t->merchant, sizeof t->merchant, store_col_text(cur, 1));
    rg_copy(t->store, sizeof t->store, store_col_text(cur, 2));
    rg_copy(t->cert_cn, sizeof t->cert_cn, store_col_text(cur, 3));
    rg_copy(t->key_id, sizeof t->key_id, store_col_text(cur, 4));
    t->status = (int)store_col_int(cur, 5);
    t->batch_no = store_col_int(cur, 6);
}

int registry_terminal_add(struct registry *reg,
                          const struct registry_terminal *t)
{
    struct registry_merchant m;
    struct registry_store s;
    int rc;
    if (!rg_text_ok(t->id, REGISTRY_TID_MAX) ||
        !rg_text_ok(t->merchant, REGISTRY_ID_MAX)) {
        return GL_EINVAL;
    }
    rc = store_op_begin(reg->st);
    if (rc != GL_OK) {
        return rc;
    }
    rc = registry_merchant_get(reg, t->merchant, &m);
    s.id = 0;
    if (rc == GL_OK && t->store[0] != '\0') {
        rc = rg_get(reg, STORE_Q_STORE_GET,
                    STORE_ARGS(STORE_T(t->merchant), STORE_T(t->store)),
                    rg_store_read, &s);
    }
    if (rc == GL_OK) {
        struct store_val sv = STORE_N;
        if (s.id != 0) {
            sv = (struct store_val)STORE_I(s.id);
        }
        rc = store_exec(reg->st, STORE_Q_TERMINAL_INSERT,
                        STORE_ARGS(STORE_T(t->id), STORE_T(t->merchant), sv,
                                   STORE_T(t->cert_cn[0] ? t->cert_cn : NULL),
                                   STORE_T(t->key_id[0] ? t->key_id : NULL)),
                        NULL);
    }
    return store_op_end(reg->st, rc);
}

int registry_terminal_get(struct registry *reg, const char *id,
                          struct registry_terminal *out)
{
    return rg_get(reg, STORE_Q_TERMINAL_GET, STORE_ARGS(STORE_T(id)),
                  rg_terminal_read, out);
}

static int rg_update_one(struct registry *reg, enum store_q q,
                         const struct store_val *a, size_t n)
{
    int64_t changed = 0;
    int rc = store_op_begin(reg->st);
    if (rc != GL_OK) {
        return rc;
    }
    rc = store_exec(reg->st, q, a, n, &changed);
    if (rc == GL_OK && changed != 1) {
        rc = GL_ENOTFOUND;
    }
    return store_op_end(reg->st, rc);
}

int registry_terminal_set_status(struct registry *reg, const char *id,
                                 int status)
{
    return rg_update_one(reg, STORE_Q_TERMINAL_SET_STATUS,
                         STORE_ARGS(STORE_T(id), STORE_I(status)));
}

int registry_terminal_set_batch(struct registry *reg, const char *id,
                                int64_t batch_no)
{
    return rg_update_one(reg, STORE_Q_TERMINAL_SET_BATCH,
                         STORE_ARGS(STORE_T(id), STORE_I(batch_no)));
}

int registry_terminal_list(struct registry *reg, registry_terminal_cb cb,
                           void *ctx)
{
    struct registry_terminal t;
    return rg_list(reg, STORE_Q_TERMINAL_LIST, NULL, 0, rg_terminal_read, &t,
                   RG_TERMINAL, (union rg_cb){.terminal = cb}, ctx);
}

/* ---- products --------------------------------------------------------- */

static void rg_product_read(struct store_cursor *cur, void *row)
{
    struct registry_product *p = row;
    memset(p, 0, sizeof *p);
    rg_copy(p->id, sizeof p->id, store_col_text(cur, 0));
    rg_copy(p->issuer, sizeof p->issuer, store_col_text(cur, 1));
    rg_copy(p->brand, sizeof p->brand, store_col_text(cur, 2));
    p->type = (int)store_col_int(cur, 3);
    rg_copy(p->prefix, sizeof p->prefix, store_col_text(cur, 4));
    p->validity_days = (int)store_col_int(cur, 5);
    p->partial_ok = (int)store_col_int(cur, 6);
}

/* Adds faces and groups to a product read by rg_product_read. */
static int rg_product_details(struct registry *reg,
                              struct registry_product *p)
{
    struct store_cursor cur = {0};
    int rc = store_query(reg->st, STORE_Q_PRODUCT_FACES,
                         STORE_ARGS(STORE_T(p->id)), &cur);
    if (rc != GL_OK) {
        return rc;
    }
    while ((rc = store_next(&cur)) == 1 && p->nfaces < REGISTRY_MAX_FACES) {
        p->faces[p->nfaces++] = store_col_int(&cur, 0);
    }
    store_done(&cur);
    if (rc < 0) {
        return rc;
    }
    rc = store_query(reg->st, STORE_Q_PRODUCT_GROUPS,
                     STORE_ARGS(STORE_T(p->id)), &cur);
    if (rc != GL_OK) {
        return rc;
    }
    while ((rc = store_next(&cur)) == 1 &&
           p->ngroups < REGISTRY_MAX_GROUPS) {
        rg_copy(p->groups[p->ngroups], sizeof p->groups[0],
                store_col_text(&cur, 0));
        p->ngroups++;
    }
    store_done(&cur);
    return rc < 0 ? rc : GL_OK;
}

int registry_product_add(struct registry *reg,
                         const struct registry_product *p)
{
    int64_t gid = 0;
    int rc;
    if (!rg_text_ok(p->id, REGISTRY_ID_MAX) || !rg_text_ok(p->issuer, 64) ||
        !rg_text_ok(p->brand, 64) || registry_type_name(p->type)[0] == '\0' ||
        !voucher_num_prefix_valid(p->prefix) || p->validity_days <= 0 ||
        p->nfaces == 0 || p->nfaces > REGISTRY_MAX_FACES ||
        p->ngroups > REGISTRY_MAX_GROUPS) {
        return GL_EINVAL;
    }
    for (size_t i = 0; i < p->nfaces; i++) {
        if (p->faces[i] <= 0) {
            return GL_EINVAL;
        }
    }
    rc = store_op_begin(reg->st);
    if (rc != GL_OK) {
        return rc;
    }
    rc = store_exec(reg->st, STORE_Q_PRODUCT_INSERT,
                    STORE_ARGS(STORE_T(p->id), STORE_T(p->issuer),
                               STORE_T(p->brand), STORE_I(p->type),
                               STORE_T(p->prefix), STORE_I(p->validity_days),
                               STORE_I(p->partial_ok ? 1 : 0),
                               STORE_I(ledger_now(reg->lg))),
                    NULL);
    for (size_t i = 0; i < p->nfaces && rc == GL_OK; i++) {
        rc = store_exec(reg->st, STORE_Q_PRODUCT_FACE_ADD,
                        STORE_ARGS(STORE_T(p->id), STORE_I(p->faces[i])),
                        NULL);
    }
    for (size_t i = 0; i < p->ngroups && rc == GL_OK; i++) {
        rc = store_get_int(reg->st, STORE_Q_GROUP_ENSURE,
                           STORE_ARGS(STORE_T(p->groups[i])), &gid);
        if (rc == GL_OK) {
            rc = store_exec(reg->st, STORE_Q_PRODUCT_GROUP_ADD,
                            STORE_ARGS(STORE_T(p->id), STORE_I(gid)), NULL);
        }
    }
    return store_op_end(reg->st, rc);
}

int registry_product_get(struct registry *reg, const char *id,
                         struct registry_product *out)
{
    int rc = rg_get(reg, STORE_Q_PRODUCT_GET, STORE_ARGS(STORE_T(id)),
                    rg_product_read, out);
    if (rc == GL_OK) {
        rc = rg_product_details(reg, out);
    }
    return rc;
}

int registry_product_list(struct registry *reg, registry_product_cb cb,
                          void *ctx)
{
    /* Ids first: the details need their own queries. */
    char ids[64][REGISTRY_ID_MAX + 1];
    struct registry_product p;
    struct store_cursor cur = {0};
    size_t n = 0;
    int rc, more = 1;
    char after[REGISTRY_ID_MAX + 1] = "";
    while (more) {
        rc = store_query(reg->st, STORE_Q_PRODUCT_LIST, NULL, 0, &cur);
        if (rc != GL_OK) {
            return rc;
        }
        n = 0;
        more = 0;
        while ((rc = store_next(&cur)) == 1) {
            const char *id = store_col_text(&cur, 0);
            if (strcmp(id, after) <= 0 && after[0] != '\0') {
                continue;
            }
            if (n == 64) {
                more = 1;
                break;
            }
            rg_copy(ids[n], sizeof ids[n], id);
            n++;
        }
        store_done(&cur);
        if (rc < 0) {
            return rc;
        }
        for (size_t i = 0; i < n; i++) {
            rc = registry_product_get(reg, ids[i], &p);
            if (rc == GL_OK) {
                rc = cb(ctx, &p);
            }
            if (rc != 0) {
                return rc;
            }
        }
        if (n > 0) {
            rg_copy(after, sizeof after, ids[n - 1]);
        }
    }
    return GL_OK;
}

int registry_product_accepted(struct registry *reg, const char *product,
                              const char *merchant)
{
    int64_t one = 0;
    int rc = store_get_int(reg->st, STORE_Q_PRODUCT_ACCEPTED,
                           STORE_ARGS(STORE_T(product), STORE_T(merchant)),
                           &one);
    if (rc == GL_ENOTFOUND) {
        return 0;
    }
    return rc == GL_OK ? 1 : rc;
}

/* ---- members ---------------------------------------------------------- */

static int rg_member_ensure(struct registry *reg, const char *phone,
                            int64_t *id)
{
    int rc = store_get_int(reg->st, STORE_Q_MEMBER_BY_PHONE,
                           STORE_ARGS(STORE_T(phone)), id);
    if (rc != GL_ENOTFOUND) {
        return rc;
    }
    return store_get_int(reg->st, STORE_Q_MEMBER_INSERT,
                         STORE_ARGS(STORE_T(phone),
                                    STORE_I(ledger_now(reg->lg))),
                         id);
}

static int rg_phone_ok(const char *phone)
{
    if (!rg_text_ok(phone, REGISTRY_PHONE_MAX)) {
        return 0;
    }
    for (const char *p = phone; *p; p++) {
        if ((*p < '0' || *p > '9') && !(*p == '+' && p == phone)) {
            return 0;
        }
    }
    return 1;
}

int registry_member_add(struct registry *reg, const char *phone, int64_t *id)
{
    int64_t mid = 0;
    int rc;
    if (!rg_phone_ok(phone)) {
        return GL_EINVAL;
    }
    rc = store_op_begin(reg->st);
    if (rc != GL_OK) {
        return rc;
    }
    rc = store_get_int(reg->st, STORE_Q_MEMBER_INSERT,
                       STORE_ARGS(STORE_T(phone),
                                  STORE_I(ledger_now(reg->lg))),
                       &mid);
    rc = store_op_end(reg->st, rc);
    if (id != NULL) {
        *id = rc == GL_OK ? mid : 0;
    }
    return rc;
}

int registry_member_find(struct registry *reg, const char *phone,
                         int64_t *id)
{
    return store_get_int(reg->st, STORE_Q_MEMBER_BY_PHONE,
                         STORE_ARGS(STORE_T(phone)), id);
}

int registry_member_card_add(struct registry *reg, const char *phone,
                             const char *card_no, int kind)
{
    int64_t mid = 0;
    int rc;
    if (!rg_text_ok(card_no, REGISTRY_CARD_MAX) ||
        (kind != REGISTRY_CARD_MEMBERSHIP && kind != REGISTRY_CARD_BRAND)) {
        return GL_EINVAL;
    }
    rc = store_op_begin(reg->st);
    if (rc != GL_OK) {
        return rc;
    }
    rc = registry_member_find(reg, phone, &mid);
    if (rc == GL_OK) {
        rc = store_exec(reg->st, STORE_Q_MEMBER_CARD_ADD,
                        STORE_ARGS(STORE_T(card_no), STORE_I(mid),
                                   STORE_I(kind)),
                        NULL);
    }
    return store_op_end(reg->st, rc);
}

int registry_member_by_card(struct registry *reg, const char *card_no,
                            int64_t *id)
{
    return store_get_int(reg->st, STORE_Q_MEMBER_BY_CARD,
                         STORE_ARGS(STORE_T(card_no)), id);
}

static void rg_member_read(struct store_cursor *cur, void *row)
{
    struct registry_member *m = row;
    memset(m, 0, sizeof *m);
    m->id = store_col_int(cur, 0);
    rg_copy(m->phone, sizeof m->phone, store_col_text(cur, 1));
    m->cards = store_col_int(cur, 2);
    m->vouchers = store_col_int(cur, 3);
}

int registry_member_list(struct registry *reg, registry_member_cb cb,
                         void *ctx)
{
    struct registry_member m;
    return rg_list(reg, STORE_Q_MEMBER_LIST, NULL, 0, rg_member_read, &m,
                   RG_MEMBER, (union rg_cb){.member = cb}, ctx);
}

/* ---- vouchers --------------------------------------------------------- */

/* A voucher row plus its PIN hash (registry-internal). */
struct rg_voucher_row {
    struct registry_voucher v;
    uint8_t pin_hash[CRYPTO_HMAC_LEN];
};

static void rg_voucher_read(struct store_cursor *cur, void *row)
{
    struct rg_voucher_row *r = row;
    struct registry_voucher *v = &r->v;
    size_t len = 0;
    const void *hash = store_col_blob(cur, 6, &len);
    memset(r, 0, sizeof *r);
    v->id = store_col_int(cur, 0);
    rg_copy(v->number, sizeof v->number, store_col_text(cur, 1));
    rg_copy(v->product, sizeof v->product, store_col_text(cur, 2));
    v->face = store_col_int(cur, 3);
    v->account = store_col_int(cur, 4);
    rg_copy(v->member_phone, sizeof v->member_phone, store_col_text(cur, 5));
    if (hash != NULL && len == CRYPTO_HMAC_LEN) {
        memcpy(r->pin_hash, hash, len);
        v->has_pin = 1;
    }
    v->pin_tries = (int)store_col_int(cur, 7);
    v->status = (int)store_col_int(cur, 8);
    v->issued = store_col_int(cur, 9);
    v->expires = store_col_int(cur, 10);
    v->balance = store_col_int(cur, 11);
    v->available = v->balance - store_col_int(cur, 12);
}

static int rg_pin_ok(const char *pin)
{
    size_t n = pin != NULL ? strlen(pin) : 0;
    if (n < 4 || n > 12) {
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        if (pin[i] < '0' || pin[i] > '9') {
            return 0;
        }
    }
    return 1;
}

static int rg_pin_hash(const struct registry *reg, const char *number,
                       const char *pin, uint8_t out[CRYPTO_HMAC_LEN])
{
    return crypto_hmac_sha256(reg->pin_key, reg->pin_key_len, number,
                              strlen(number), pin, strlen(pin), out);
}

#define RG_NUMBER_TRIES 16

int registry_voucher_issue(struct registry *reg,
                           const struct registry_issue *req,
                           struct registry_voucher *out)
{
    struct registry_product p;
    struct rg_voucher_row row;
    struct ledger_result res;
    struct ledger_transfer_row prev;
    uint8_t hash[CRYPTO_HMAC_LEN];
    char number[VOUCHER_NUM_LEN + 1] = "";
    char xid[LEDGER_ID_CAP + 1];
    int64_t member = 0, clearing = 0, account = 0, vid = 0, face = 0;
    int rc, have_face = 0, found = 0;
    const char *channel = req->channel ? req->channel : LEDGER_CH_COUNTER_CASH;

    if (out != NULL) {
        memset(out, 0, sizeof *out);
    }
    if (req->pin != NULL && (!rg_pin_ok(req->pin) || reg->pin_key_len == 0)) {
        return GL_EINVAL;
    }
    if (req->member != NULL && !rg_phone_ok(req->member)) {
        return GL_EINVAL;
    }
    if (req->xfer_id != NULL && (req->xfer_id[0] == '\0' ||
                                 strlen(req->xfer_id) > LEDGER_ID_MAX)) {
        return GL_EINVAL;
    }
    rc = store_op_begin(reg->st);
    if (rc != GL_OK) {
        return rc;
    }
    rc = registry_product_get(reg, req->product, &p);
    if (rc != GL_OK) {
        goto out;
    }
    for (size_t i = 0; i < p.nfaces; i++) {
        have_face |= p.faces[i] == req->face;
    }
    face = req->face;
    if (!have_face) {
        rc = GL_EINVAL;
        goto out;
    }
    if (req->xfer_id != NULL) {
        rc = ledger_transfer_get(reg->lg, req->xfer_id, &prev);
        if (rc != GL_ENOTFOUND) {
            rc = rc == GL_OK ? GL_EEXIST : rc;
            goto out;
        }
    }
    /* A number nobody holds; the check runs inside the write transaction,
     * so no other writer can take it meanwhile. */
    for (int tries = 0; tries < RG_NUMBER_TRIES && !found; tries++) {
        rc = voucher_num_generate(reg->f_rng, reg->p_rng, p.prefix, number);
        if (rc != GL_OK) {
            goto out;
        }
        rc = rg_get(reg, STORE_Q_VOUCHER_BY_NUMBER,
                    STORE_ARGS(STORE_T(number)), rg_voucher_read, &row);
        if (rc == GL_ENOTFOUND) {
            found = 1;
        } else if (rc == GL_OK) {
            reg->collisions++;
        } else {
            goto out;
        }
    }
    if (!found) {
        rc = GL_REG_NUMSPACE;
        goto out;
    }
    if (req->member != NULL) {
        rc = rg_member_ensure(reg, req->member, &member);
        if (rc != GL_OK) {
            goto out;
        }
    }
    rc = ledger__account_ensure(reg->lg, LEDGER_ACC_CLEARING, channel, 0,
                                &clearing);
    if (rc == GL_OK) {
        rc = ledger__account_ensure(reg->lg, LEDGER_ACC_VOUCHER, number,
                                    LEDGER_AF_NONNEG, &account);
    }
    if (rc != GL_OK) {
        goto out;
    }
    int64_t now = ledger_now(reg->lg);
    struct store_val pinv = STORE_N;
    if (req->pin != NULL) {
        rc = rg_pin_hash(reg, number, req->pin, hash);
        if (rc != GL_OK) {
            goto out;
        }
        pinv = (struct store_val)STORE_B(hash, sizeof hash);
    }
    struct store_val memv = STORE_N;
    if (member != 0) {
        memv = (struct store_val)STORE_I(member);
    }
    rc = store_get_int(reg->st, STORE_Q_VOUCHER_INSERT,
                       STORE_ARGS(STORE_T(number), STORE_T(p.id),
                                  STORE_I(face), STORE_I(account), memv, pinv,
                                  STORE_I(now),
                                  STORE_I(now + (int64_t)p.validity_days *
                                                    RG_DAY)),
                       &vid);
    if (rc != GL_OK) {
        goto out;
    }
    /* The voucher row id, not its number: transfer ids are shown and
     * logged, numbers are not. */
    snprintf(xid, sizeof xid, "issue:v%" PRId64, vid);
    struct ledger_transfer t = {
        .id = req->xfer_id != NULL ? req->xfer_id : xid,
        .debit = clearing,
        .credit = account,
        .amount = face,
        .kind = LEDGER_TK_ISSUE,
    };
    if (!req->unfunded) {
        rc = ledger__transfer(reg->lg, &t, &res);
    }
    if (rc == GL_OK && out != NULL) {
        rc = rg_get(reg, STORE_Q_VOUCHER_BY_NUMBER,
                    STORE_ARGS(STORE_T(number)), rg_voucher_read, &row);
        if (rc == GL_OK) {
            *out = row.v;
        }
    }
out:
    crypto_wipe(hash, sizeof hash);
    crypto_wipe(&row, sizeof row);
    rc = store_op_end(reg->st, rc);
    if (rc != GL_OK && out != NULL) {
        memset(out, 0, sizeof *out);
    }
    return rc;
}

int registry_voucher_get(struct registry *reg, const char *number,
                         struct registry_voucher *out)
{
    struct rg_voucher_row row;
    int rc;
    memset(&row, 0, sizeof row);
    rc = rg_get(reg, STORE_Q_VOUCHER_BY_NUMBER, STORE_ARGS(STORE_T(number)),
                rg_voucher_read, &row);
    *out = row.v;
    if (rc != GL_OK) {
        memset(out, 0, sizeof *out);
    }
    crypto_wipe(&row, sizeof row);
    return rc;
}

int registry_voucher_authorize(struct registry *reg, const char *number,
                               const char *pin, const char *merchant,
                               struct registry_voucher *out)
{
    uint8_t hash[CRYPTO_HMAC_LEN];
    const char *num = number != NULL ? number : "";
    int have = 0, rc;

    if (pin != NULL && rg_pin_ok(pin) && reg->pin_key_len > 0) {
        rc = rg_pin_hash(reg, num, pin, hash);
        if (rc != GL_OK) {
            crypto_wipe(hash, sizeof hash);
            memset(out, 0, sizeof *out);
            return rc;
        }
        have = 1;
    } else {
        /* A malformed PIN is a wrong PIN (it still counts as a try). */
        memset(hash, 0xff, sizeof hash);
        have = pin != NULL;
    }
    rc = registry_voucher_authorize_hash(reg, number, have ? hash : NULL,
                                         merchant, out);
    crypto_wipe(hash, sizeof hash);
    return rc;
}

int registry_pin_hash_block(const struct registry *reg,
                            const struct crypto_pinblock *pb,
                            uint8_t out[CRYPTO_HMAC_LEN])
{
    if (reg->pin_key_len == 0 || pb == NULL || pb->pan == NULL) {
        return GL_EINVAL;
    }
    return crypto_pinblock_hmac(pb, reg->pin_key, reg->pin_key_len, pb->pan,
                                strlen(pb->pan), out);
}

int registry_voucher_authorize_hash(struct registry *reg, const char *number,
                                    const uint8_t *pin_hash,
                                    const char *merchant,
                                    struct registry_voucher *out)
{
    /* Stands in for the hash of an unknown number, so both paths compare
     * once. */
    static const uint8_t no_hash[CRYPTO_HMAC_LEN] = {0};
    struct rg_voucher_row row;
    uint8_t hash[CRYPTO_HMAC_LEN];
    int rc, answer = GL_OK, known, pin_match;
    const char *num = number != NULL ? number : "";
    const char *pin = pin_hash != NULL ? "" : NULL; /* "a PIN was given" */

    memset(out, 0, sizeof *out);
    memset(&row, 0, sizeof row);
    rc = store_op_begin(reg->st);
    if (rc != GL_OK) {
        return rc;
    }
    rc = rg_get(reg, STORE_Q_VOUCHER_BY_NUMBER, STORE_ARGS(STORE_T(num)),
                rg_voucher_read, &row);
    if (rc != GL_OK && rc != GL_ENOTFOUND) {
        goto out;
    }
    known = rc == GL_OK;
    rc = GL_OK;

    if (pin_hash != NULL) {
        memcpy(hash, pin_hash, sizeof hash);
    } else {
        memset(hash, 0xff, sizeof hash);
    }
    pin_match = crypto_ct_equal(hash, known ? row.pin_hash : no_hash,
                                sizeof hash);

    if (!known) {
        answer = GL_REG_AUTH;
    } else if (row.v.has_pin) {
        if (row.v.pin_tries >= REGISTRY_PIN_TRIES) {
            answer = GL_REG_AUTH; /* locked: even the right PIN */
        } else if (pin == NULL) {
            answer = GL_REG_AUTH; /* not counted: nothing was tried */
        } else if (!pin_match) {
            answer = GL_REG_AUTH;
            rc = store_exec(reg->st, STORE_Q_VOUCHER_SET_TRIES,
                            STORE_ARGS(STORE_I(row.v.id),
                                       STORE_I(row.v.pin_tries + 1)),
                            NULL);
        } else if (row.v.pin_tries != 0) {
            rc = store_exec(reg->st, STORE_Q_VOUCHER_SET_TRIES,
                            STORE_ARGS(STORE_I(row.v.id), STORE_I(0)), NULL);
            row.v.pin_tries = 0;
        }
    }
    if (rc != GL_OK || answer != GL_OK) {
        goto out;
    }
    if (row.v.status == REGISTRY_V_CANCELLED) {
        answer = GL_REG_CANCELLED;
    } else if (row.v.status == REGISTRY_V_FROZEN) {
        answer = GL_REG_FROZEN;
    } else if (row.v.status == REGISTRY_V_EXPIRED ||
               ledger_now(reg->lg) >= row.v.expires) {
        answer = GL_REG_EXPIRED;
    } else if (merchant != NULL) {
        int acc = registry_product_accepted(reg, row.v.product, merchant);
        if (acc < 0) {
            rc = acc;
        } else if (acc == 0) {
            answer = GL_REG_NOTACCEPTED;
        }
    }
    if (rc == GL_OK && answer == GL_OK) {
        *out = row.v;
    }
out:
    crypto_wipe(hash, sizeof hash);
    crypto_wipe(&row, sizeof row);
    /* The tries counter is kept even when the answer is a refusal. */
    rc = store_op_end(reg->st, rc);
    if (rc == GL_OK) {
        rc = answer;
    }
    if (rc != GL_OK) {
        memset(out, 0, sizeof *out);
    }
    return rc;
}

int registry_voucher_set_status(struct registry *reg, const char *number,
                                int status)
{
    struct registry_voucher v;
    int rc;
    if (status < REGISTRY_V_ACTIVE || status > REGISTRY_V_CANCELLED) {
        return GL_EINVAL;
    }
    rc = store_op_begin(reg->st);
    if (rc != GL_OK) {
        return rc;
    }
    rc = registry_voucher_get(reg, number, &v);
    if (rc == GL_OK) {
        rc = store_exec(reg->st, STORE_Q_VOUCHER_SET_STATUS,
                        STORE_ARGS(STORE_I(v.id), STORE_I(status)), NULL);
    }
    if (rc == GL_OK && status == REGISTRY_V_ACTIVE) {
        rc = store_exec(reg->st, STORE_Q_VOUCHER_SET_TRIES,
                        STORE_ARGS(STORE_I(v.id), STORE_I(0)), NULL);
    }
    return store_op_end(reg->st, rc);
}

int registry_cashout_used_pct(int64_t face)
{
    return face <= 10000 ? 80 : 60;
}

int registry_cashout_used_enough(int64_t face, int64_t balance)
{
    /* used >= face * pct / 100, i.e. balance * 100 <= face * (100 - pct) */
    return balance * 100 <= face * (100 - registry_cashout_used_pct(face));
}

int registry_voucher_set_expiry(struct registry *reg, const char *number,
                                int64_t expires)
{
    struct registry_voucher v;
    int rc = store_op_begin(reg->st);
    if (rc != GL_OK) {
        return rc;
    }
    rc = registry_voucher_get(reg, number, &v);
    if (rc == GL_OK && expires <= v.issued) {
        rc = GL_EINVAL;
    }
    if (rc == GL_OK) {
        rc = store_exec(reg->st, STORE_Q_VOUCHER_SET_EXPIRES,
                        STORE_ARGS(STORE_I(v.id), STORE_I(expires)), NULL);
    }
    return store_op_end(reg->st, rc);
}

static int rg_voucher_list(struct registry *reg, enum store_q q,
                           const struct store_val *a, size_t n,
                           registry_voucher_cb cb, void *ctx)
{
    struct store_cursor cur = {0};
    struct rg_voucher_row row;
    int rc = store_query(reg->st, q, a, n, &cur);
    if (rc != GL_OK) {
        return rc;
    }
    while ((rc = store_next(&cur)) == 1) {
        rg_voucher_read(&cur, &row);
        rc = cb(ctx, &row.v);
        if (rc != 0) {
            break;
        }
    }
    store_done(&cur);
    crypto_wipe(&row, sizeof row);
    return rc;
}

int registry_vouchers_for_member(struct registry *reg, int64_t member,
                                 const char *merchant, registry_voucher_cb cb,
                                 void *ctx)
{
    return rg_voucher_list(reg, STORE_Q_VOUCHER_FOR_MEMBER,
                           STORE_ARGS(STORE_I(member), STORE_T(merchant),
                                      STORE_I(ledger_now(reg->lg))),
                           cb, ctx);
}

int registry_voucher_list(struct registry *reg, const char *phone,
                          registry_voucher_cb cb, void *ctx)
{
    return rg_voucher_list(reg, STORE_Q_VOUCHER_LIST,
                           STORE_ARGS(STORE_T(phone)), cb, ctx);
}
