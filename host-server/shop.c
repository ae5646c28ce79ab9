/*
 * shop.c - the customer's purchase of vouchers (contract in shop.h).
 *
 * The shop's tables live in the store's SQLite database and are reached
 * through the store's connection with statements of our own, prepared once
 * (the store's statement list is the ledger's and the registry's).  They
 * take part in the store's transactions: ledger_batch_begin opens one, the
 * registry's operations run in SAVEPOINTs inside it, our statements run in
 * it directly, and ledger_batch_commit commits the lot.
 */
#include "shop.h"

#include <inttypes.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "crypto.h"
#include "gl_err.h"
#include "gl_log.h"
#include "gl_text.h"
#include "notify.h"
#include "store.h"

#define SP_DAY 86400

static const char sp_schema[] =
    "CREATE TABLE IF NOT EXISTS shop_purchase ("
    "  id INTEGER PRIMARY KEY,"
    "  idem_key TEXT NOT NULL UNIQUE,"
    "  phone TEXT NOT NULL, product TEXT NOT NULL,"
    "  face INTEGER NOT NULL, count INTEGER NOT NULL,"
    "  method TEXT NOT NULL CHECK (method IN ('phone_bill', 'card')),"
    "  card TEXT NOT NULL," /* masked: first 6 and last 4 */
    "  amount INTEGER NOT NULL,"
    "  state TEXT NOT NULL CHECK (state IN ('pending', 'done', 'limit',"
    "    'declined', 'payment_timeout', 'failed')),"
    "  payment_ref TEXT NOT NULL, acq_rc TEXT NOT NULL,"
    "  created INTEGER NOT NULL, updated INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS shop_billing_account ("
    "  phone TEXT PRIMARY KEY,"
    "  monthly_limit INTEGER," /* NULL: the configured default */
    "  created INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS shop_billing_charge ("
    "  id INTEGER PRIMARY KEY,"
    "  phone TEXT NOT NULL REFERENCES shop_billing_account(phone),"
    "  month TEXT NOT NULL," /* YYYY-MM, KST */
    "  purchase_id INTEGER NOT NULL UNIQUE REFERENCES shop_purchase(id),"
    "  vouchers INTEGER NOT NULL, amount INTEGER NOT NULL,"
    "  created INTEGER NOT NULL);"
    "CREATE INDEX IF NOT EXISTS shop_billing_charge_month"
    "  ON shop_billing_charge(month, phone);"
    "CREATE TABLE IF NOT EXISTS shop_reversal ("
    "  id INTEGER PRIMARY KEY,"
    "  purchase_id INTEGER NOT NULL UNIQUE REFERENCES shop_purchase(id),"
    "  pan TEXT NOT NULL, expiry TEXT NOT NULL, amount INTEGER NOT NULL,"
    "  orig_stan TEXT NOT NULL, orig_de7 TEXT NOT NULL,"
    "  rev_stan TEXT NOT NULL, rev_de7 TEXT NOT NULL,"
    "  state TEXT NOT NULL CHECK (state IN ('armed', 'due')),"
    "  attempts INTEGER NOT NULL, last_error TEXT NOT NULL,"
    "  created INTEGER NOT NULL);"
    /* A refund within the standard terms' window: one per purchase.  month
     * is the refund's (the statement's credit), charge_month the month of
     * the phone-bill charge it undoes ("" for a card). */
    "CREATE TABLE IF NOT EXISTS shop_refund ("
    "  purchase_id INTEGER PRIMARY KEY REFERENCES shop_purchase(id),"
    "  phone TEXT NOT NULL, method TEXT NOT NULL, amount INTEGER NOT NULL,"
    "  month TEXT NOT NULL, charge_month TEXT NOT NULL,"
    "  created INTEGER NOT NULL);"
    "CREATE INDEX IF NOT EXISTS shop_refund_month"
    "  ON shop_refund(month, phone);"
    /* An approved card purchase's authorization, kept while a refund may
     * still reverse it (the refund window and a day), then purged. */
    "CREATE TABLE IF NOT EXISTS shop_card_keep ("
    "  purchase_id INTEGER PRIMARY KEY REFERENCES shop_purchase(id),"
    "  pan TEXT NOT NULL, expiry TEXT NOT NULL, amount INTEGER NOT NULL,"
    "  orig_stan TEXT NOT NULL, orig_de7 TEXT NOT NULL,"
    "  keep_until INTEGER NOT NULL);"
    /* The acquirer STAN counter of every client of this database. */
    "CREATE TABLE IF NOT EXISTS shop_stan ("
    "  id INTEGER PRIMARY KEY CHECK (id = 1), last INTEGER NOT NULL);";

#define SP_PURCHASE_COLS                                                       \
    "id, idem_key, phone, product, face, count, method, card, amount,"         \
    " state, payment_ref, acq_rc, created"

_Static_assert(SHOP_Q__COUNT <= GL_SQL_STMT_MAX,
               "the shop's statements fit one gl_sql");

static const char *const sp_sql[SHOP_Q__COUNT] = {
    [SHOP_Q_BY_KEY] =
        "SELECT " SP_PURCHASE_COLS " FROM shop_purchase WHERE idem_key = ?1",
    [SHOP_Q_BY_ID] =
        "SELECT " SP_PURCHASE_COLS " FROM shop_purchase WHERE id = ?1",
    [SHOP_Q_INSERT] =
        "INSERT INTO shop_purchase (idem_key, phone, product, face, count,"
        " method, card, amount, state, payment_ref, acq_rc, created, updated)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, '', '', ?10, ?10)",
    [SHOP_Q_FINISH] = "UPDATE shop_purchase SET state = ?2, payment_ref = ?3,"
                      " acq_rc = ?4, updated = ?5"
                      " WHERE id = ?1 AND state = 'pending'",
    [SHOP_Q_DELETE] = "DELETE FROM shop_purchase WHERE id = ?1"
                      " AND state = 'pending'",
    [SHOP_Q_BILL_LIMIT] = "SELECT monthly_limit FROM shop_billing_account"
                          " WHERE phone = ?1 AND monthly_limit IS NOT NULL",
    [SHOP_Q_BILL_SET_LIMIT] =
        "INSERT INTO shop_billing_account (phone, monthly_limit, created)"
        " VALUES (?1, ?2, ?3) ON CONFLICT (phone) DO UPDATE"
        " SET monthly_limit = excluded.monthly_limit",
    [SHOP_Q_BILL_ENSURE] = "INSERT OR IGNORE INTO shop_billing_account"
                           " (phone, monthly_limit, created)"
                           " VALUES (?1, NULL, ?2)",
    /* The month's charges less the refunds of charges of that month. */
    [SHOP_Q_BILL_SUM] =
        "SELECT (SELECT COALESCE(SUM(amount), 0) FROM shop_billing_charge"
        "  WHERE phone = ?1 AND month = ?2)"
        " - (SELECT COALESCE(SUM(amount), 0) FROM shop_refund"
        "  WHERE phone = ?1 AND charge_month = ?2"
        "  AND method = 'phone_bill')",
    [SHOP_Q_BILL_CHARGE] =
        "INSERT INTO shop_billing_charge (phone, month, purchase_id,"
        " vouchers, amount, created) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    [SHOP_Q_BILL_STATEMENT] =
        "SELECT phone, SUM(n), SUM(v), SUM(a), SUM(rn), SUM(ra) FROM ("
        " SELECT phone, 1 AS n, vouchers AS v, amount AS a, 0 AS rn,"
        "  0 AS ra FROM shop_billing_charge WHERE month = ?1"
        " UNION ALL SELECT phone, 0, 0, 0, 1, amount FROM shop_refund"
        "  WHERE month = ?1 AND method = 'phone_bill')"
        " GROUP BY phone ORDER BY phone",
    [SHOP_Q_REV_INSERT] =
        "INSERT INTO shop_reversal (purchase_id, pan, expiry, amount,"
        " orig_stan, orig_de7, rev_stan, rev_de7, state, attempts,"
        " last_error, created) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8,"
        " 'armed', 0, '', ?9)",
    [SHOP_Q_REV_DUE] = "UPDATE shop_reversal SET state = 'due'"
                       " WHERE purchase_id = ?1",
    [SHOP_Q_REV_NEXT] =
        "SELECT id, purchase_id, pan, expiry, amount, orig_stan, orig_de7,"
        " rev_stan, rev_de7, attempts, state FROM shop_reversal"
        " WHERE id > ?1 AND (state = 'due' OR created <= ?2)"
        " ORDER BY id LIMIT 1",
    [SHOP_Q_REV_ATTEMPT] = "UPDATE shop_reversal SET state = 'due',"
                           " attempts = attempts + 1, last_error = ?2"
                           " WHERE purchase_id = ?1",
    [SHOP_Q_REV_DELETE] = "DELETE FROM shop_reversal WHERE purchase_id = ?1",
    [SHOP_Q_LIST] = "SELECT " SP_PURCHASE_COLS ", (SELECT r.created"
                    " FROM shop_refund r"
                    " WHERE r.purchase_id = shop_purchase.id)"
                    " FROM shop_purchase"
                    " WHERE phone = ?1 ORDER BY id DESC LIMIT ?2",
    [SHOP_Q_REFUND_GET] = "SELECT created FROM shop_refund"
                          " WHERE purchase_id = ?1",
    [SHOP_Q_REFUND_INSERT] =
        "INSERT INTO shop_refund (purchase_id, phone, method, amount, month,"
        " charge_month, created) VALUES (?1, ?2, ?3, ?4, ?5,"
        " COALESCE((SELECT month FROM shop_billing_charge"
        " WHERE purchase_id = ?1), ''), ?6)",
    [SHOP_Q_KEEP_INSERT] =
        "INSERT INTO shop_card_keep (purchase_id, pan, expiry, amount,"
        " orig_stan, orig_de7, keep_until) VALUES (?1, ?2, ?3, ?4, ?5, ?6,"
        " ?7)",
    /* The refund of a card purchase: the kept authorization becomes a due
     * reversal whose own identity the sender chooses (rev_stan ''). */
    [SHOP_Q_KEEP_TO_REVERSAL] =
        "INSERT INTO shop_reversal (purchase_id, pan, expiry, amount,"
        " orig_stan, orig_de7, rev_stan, rev_de7, state, attempts,"
        " last_error, created) SELECT purchase_id, pan, expiry, amount,"
        " orig_stan, orig_de7, '', '', 'due', 0, '', ?2 FROM shop_card_keep"
        " WHERE purchase_id = ?1",
    [SHOP_Q_KEEP_DELETE] = "DELETE FROM shop_card_keep WHERE purchase_id = ?1",
    [SHOP_Q_KEEP_PURGE] = "DELETE FROM shop_card_keep WHERE keep_until < ?1",
    [SHOP_Q_STAN_NEXT] = "INSERT INTO shop_stan (id, last) VALUES (1, 1)"
                         " ON CONFLICT (id) DO UPDATE"
                         " SET last = last % 999999 + 1 RETURNING last",
    [SHOP_Q_REV_SET_IDENT] = "UPDATE shop_reversal SET rev_stan = ?2,"
                             " rev_de7 = ?3 WHERE purchase_id = ?1"
                             " AND rev_stan = ''",
};

/* A stored purchase row. */
struct sp_row {
    int64_t id;
    char key[SHOP_KEY_MAX + 1];
    char phone[REGISTRY_PHONE_MAX + 1];
    char product[REGISTRY_ID_MAX + 1];
    int64_t face;
    int count;
    char method[16];
    char card[GL_MASK_MAX];
    int64_t amount;
    char state[24];
    char payment_ref[SHOP_REF_MAX + 1];
    char acq_rc[3];
    int64_t created;
};

/* ---- names -------------------------------------------------------------- */

const char *shop_outcome_name(enum shop_outcome o)
{
    switch (o) {
    case SHOP_DONE:
        return "done";
    case SHOP_NOT_MEMBER:
        return "not_member";
    case SHOP_LIMIT:
        return "limit";
    case SHOP_DECLINED:
        return "declined";
    case SHOP_PAYMENT_TIMEOUT:
        return "payment_timeout";
    case SHOP_PAYMENT_UNAVAILABLE:
        return "payment_unavailable";
    case SHOP_FAILED:
        return "failed";
    case SHOP_CONFLICT:
        return "conflict";
    case SHOP_IN_PROGRESS:
        return "in_progress";
    }
    return "";
}

const char *shop_refund_name(int verdict)
{
    static const char *const names[] = {"ok", "not_done", "too_late", "used",
                                        "no_card_data"};
    return verdict >= 0 && verdict <= SHOP_REFUND_NO_CARD_DATA ? names[verdict]
                                                               : "";
}

const char *shop_method_name(enum shop_method m)
{
    return m == SHOP_PHONE_BILL ? "phone_bill" : m == SHOP_CARD ? "card" : "";
}

const char *shop_errmsg(const struct shop *s)
{
    return s->sql.errmsg;
}

/* The outcome a stored state stands for. */
static enum shop_outcome sp_state_outcome(const char *state)
{
    if (strcmp(state, "done") == 0) {
        return SHOP_DONE;
    }
    if (strcmp(state, "limit") == 0) {
        return SHOP_LIMIT;
    }
    if (strcmp(state, "declined") == 0) {
        return SHOP_DECLINED;
    }
    if (strcmp(state, "payment_timeout") == 0) {
        return SHOP_PAYMENT_TIMEOUT;
    }
    if (strcmp(state, "failed") == 0) {
        return SHOP_FAILED;
    }
    return SHOP_IN_PROGRESS; /* pending */
}

/* ---- statements ------------------------------------------------------- */

/* The purchase by key (key != NULL) or by id. */
static int sp_load(struct shop *s, const char *key, int64_t id,
                   struct sp_row *r)
{
    sqlite3_stmt *st =
        key != NULL
            ? gl_sql_stmt(&s->sql, SHOP_Q_BY_KEY, STORE_ARGS(STORE_T(key)))
            : gl_sql_stmt(&s->sql, SHOP_Q_BY_ID, STORE_ARGS(STORE_I(id)));
    int src = sqlite3_step(st);
    int rc = GL_OK;
    memset(r, 0, sizeof *r);
    if (src == SQLITE_ROW) {
        r->id = sqlite3_column_int64(st, 0);
        gl_sql_copy_text(r->key, sizeof r->key, st, 1);
        gl_sql_copy_text(r->phone, sizeof r->phone, st, 2);
        gl_sql_copy_text(r->product, sizeof r->product, st, 3);
        r->face = sqlite3_column_int64(st, 4);
        r->count = sqlite3_column_int(st, 5);
        gl_sql_copy_text(r->method, sizeof r->method, st, 6);
        gl_sql_copy_text(r->card, sizeof r->card, st, 7);
        r->amount = sqlite3_column_int64(st, 8);
        gl_sql_copy_text(r->state, sizeof r->state, st, 9);
        gl_sql_copy_text(r->payment_ref, sizeof r->payment_ref, st, 10);
        gl_sql_copy_text(r->acq_rc, sizeof r->acq_rc, st, 11);
        r->created = sqlite3_column_int64(st, 12);
    } else if (src == SQLITE_DONE) {
        rc = GL_ENOTFOUND;
    } else {
        rc = gl_sql_last_err(&s->sql);
    }
    sqlite3_reset(st);
    return rc;
}

/* ---- open / close ---------------------------------------------------------
 */

void shop_close(struct shop *s)
{
    gl_sql_close(&s->sql);
}

int shop_open(struct shop *s, struct registry *reg, struct acq_client *acq,
              const struct shop_config *cfg)
{
    int rc;
    memset(s, 0, sizeof *s);
    s->reg = reg;
    s->lg = reg->lg;
    s->st = reg->st;
    s->acq = acq;
    if (cfg != NULL) {
        s->cfg = *cfg;
    }
    if (s->cfg.bill_limit <= 0) {
        s->cfg.bill_limit = SHOP_DEFAULT_BILL_LIMIT;
    }
    if (s->cfg.abandon_s <= 0) {
        s->cfg.abandon_s = 300;
    }
    if (s->st->ops != &store_sqlite_ops) {
        snprintf(s->sql.errmsg, sizeof s->sql.errmsg,
                 "the shop needs the SQLite store, not %s", s->st->ops->name);
        return GL_ENOTSUP;
    }
    rc = notify_outbox_init(s->st->db);
    if (rc != GL_OK) {
        snprintf(s->sql.errmsg, sizeof s->sql.errmsg, "outbox: %s",
                 sqlite3_errmsg(s->st->db));
        goto out;
    }
    rc = gl_sql_open(&s->sql, s->st->db, "shop", sp_schema, sp_sql,
                     SHOP_Q__COUNT);
out:
    if (rc != GL_OK) {
        shop_close(s);
    }
    return rc;
}

/* ---- helpers ------------------------------------------------------------ */

static int sp_month_ok(const char *m)
{
    if (m == NULL || strlen(m) != 7 || m[4] != '-') {
        return 0;
    }
    for (int i = 0; i < 7; i++) {
        if (i != 4 && (m[i] < '0' || m[i] > '9')) {
            return 0;
        }
    }
    int mon = (m[5] - '0') * 10 + (m[6] - '0');
    return mon >= 1 && mon <= 12;
}

static int sp_key_ok(const char *k)
{
    size_t n = k != NULL ? strlen(k) : 0;
    if (n == 0 || n > SHOP_KEY_MAX) {
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        if (k[i] <= 0x20 || k[i] >= 0x7f) {
            return 0;
        }
    }
    return 1;
}

static int sp_pan_ok(const char *pan)
{
    size_t n = pan != NULL ? strlen(pan) : 0;
    int sum = 0;
    if (n < 12 || n > 19) {
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        int d = pan[n - 1 - i] - '0';
        if (d < 0 || d > 9) {
            return 0;
        }
        if (i % 2 == 1) {
            d = d * 2 > 9 ? d * 2 - 9 : d * 2;
        }
        sum += d;
    }
    return sum % 10 == 0;
}

static int sp_expiry_ok(const char *e)
{
    if (e == NULL || strlen(e) != 4) {
        return 0;
    }
    for (int i = 0; i < 4; i++) {
        if (e[i] < '0' || e[i] > '9') {
            return 0;
        }
    }
    int mon = (e[2] - '0') * 10 + (e[3] - '0');
    return mon >= 1 && mon <= 12;
}

static int sp_invalid(struct shop_result *res, const char *why)
{
    snprintf(res->err, sizeof res->err, "%s", why);
    res->outcome = SHOP_FAILED;
    return GL_EINVAL;
}

/* Checks the request; p gets the product. */
static int sp_validate(struct shop *s, const struct shop_request *req,
                       struct registry_product *p, struct shop_result *res)
{
    int rc, have_face = 0;
    if (!sp_key_ok(req->key)) {
        return sp_invalid(res, "idempotency key must be 1..64 printable "
                               "characters without spaces");
    }
    if (req->phone == NULL || notify_phone_check(req->phone) != GL_OK) {
        return sp_invalid(res, "phone must be a Korean mobile number, digits "
                               "only (01X and 7 or 8 more digits)");
    }
    if (req->count < 1 || req->count > SHOP_COUNT_MAX) {
        return sp_invalid(res, "count must be 1..10");
    }
    if (req->method != SHOP_PHONE_BILL && req->method != SHOP_CARD) {
        return sp_invalid(res, "payment method must be phone_bill or card");
    }
    if (req->method == SHOP_CARD) {
        if (!sp_pan_ok(req->card_pan)) {
            return sp_invalid(res, "card number must be 12..19 digits with a "
                                   "valid check digit");
        }
        if (!sp_expiry_ok(req->card_expiry)) {
            return sp_invalid(res, "card expiry must be YYMM");
        }
    }
    if (req->product == NULL || req->product[0] == '\0' ||
        strlen(req->product) > REGISTRY_ID_MAX) {
        return sp_invalid(res, "unknown product");
    }
    rc = registry_product_get(s->reg, req->product, p);
    if (rc == GL_ENOTFOUND) {
        return sp_invalid(res, "unknown product");
    }
    if (rc != GL_OK) {
        snprintf(res->err, sizeof res->err, "product: %s (%.160s)",
                 gl_strerror(rc), store_errmsg(s->st));
        res->outcome = SHOP_FAILED;
        return rc;
    }
    for (size_t i = 0; i < p->nfaces; i++) {
        have_face |= p->faces[i] == req->face;
    }
    if (!have_face || req->face <= 0) {
        return sp_invalid(res, "face value not offered by the product");
    }
    return GL_OK;
}

/* Fills res from a stored row: the first result of its key. */
static int sp_replay(struct shop *s, const struct sp_row *r,
                     struct shop_result *res)
{
    res->outcome = sp_state_outcome(r->state);
    res->replay = 1;
    res->purchase_id = r->id;
    res->amount = r->amount;
    snprintf(res->payment_ref, sizeof res->payment_ref, "%s", r->payment_ref);
    snprintf(res->acq_rc, sizeof res->acq_rc, "%s", r->acq_rc);
    res->nvouchers = 0;
    if (res->outcome != SHOP_DONE) {
        return GL_OK;
    }
    for (int i = 0; i < r->count && i < SHOP_COUNT_MAX; i++) {
        char xid[LEDGER_ID_CAP + 1];
        struct ledger_transfer_row t;
        struct ledger_account a;
        snprintf(xid, sizeof xid, "shop:%" PRId64 ":%d", r->id, i);
        int rc = ledger_transfer_get(s->lg, xid, &t);
        if (rc == GL_OK) {
            rc = ledger_account_get(s->lg, t.credit, &a);
        }
        if (rc != GL_OK) {
            snprintf(res->err, sizeof res->err,
                     "purchase %" PRId64 ": voucher %d: %s", r->id, i,
                     gl_strerror(rc));
            return rc;
        }
        snprintf(res->vouchers[i], sizeof res->vouchers[i], "%.16s", a.ref);
        res->nvouchers++;
    }
    return GL_OK;
}

/* Same content as the stored row? */
static int sp_same(const struct sp_row *r, const struct shop_request *req,
                   const char *card)
{
    return strcmp(r->phone, req->phone) == 0 &&
           strcmp(r->product, req->product) == 0 && r->face == req->face &&
           r->count == req->count &&
           strcmp(r->method, shop_method_name(req->method)) == 0 &&
           strcmp(r->card, card) == 0;
}

/* An earlier purchase of the key: its result or a conflict (GL_OK), or
 * GL_ENOTFOUND when the key is new. */
static int sp_lookup(struct shop *s, const struct shop_request *req,
                     const char *card, struct shop_result *res)
{
    struct sp_row r;
    int rc = sp_load(s, req->key, 0, &r);
    if (rc != GL_OK) {
        if (rc != GL_ENOTFOUND) {
            snprintf(res->err, sizeof res->err, "purchase lookup: %s (%.160s)",
                     gl_strerror(rc), s->sql.errmsg);
        }
        return rc;
    }
    if (!sp_same(&r, req, card)) {
        res->outcome = SHOP_CONFLICT;
        res->purchase_id = r.id;
        snprintf(res->err, sizeof res->err,
                 "idempotency key already used for another purchase");
        return GL_OK;
    }
    return sp_replay(s, &r, res);
}

/* Inserts the purchase row in state; *pid gets its id. */
static int sp_insert(struct shop *s, const struct shop_request *req,
                     const char *card, int64_t amount, const char *state,
                     int64_t now, int64_t *pid)
{
    int rc = gl_sql_exec(&s->sql, SHOP_Q_INSERT,
                         STORE_ARGS(STORE_T(req->key), STORE_T(req->phone),
                                    STORE_T(req->product), STORE_I(req->face),
                                    STORE_I(req->count),
                                    STORE_T(shop_method_name(req->method)),
                                    STORE_T(card), STORE_I(amount),
                                    STORE_T(state), STORE_I(now)),
                         NULL);
    *pid = rc == GL_OK ? sqlite3_last_insert_rowid(s->sql.db) : 0;
    return rc;
}

static int sp_finish(struct shop *s, int64_t pid, const char *state,
                     const char *ref, const char *acq_rc, int64_t now)
{
    return gl_sql_exec(&s->sql, SHOP_Q_FINISH,
                       STORE_ARGS(STORE_I(pid), STORE_T(state), STORE_T(ref),
                                  STORE_T(acq_rc), STORE_I(now)),
                       NULL);
}

/*
 * Inside the caller's transaction: the vouchers, their issuing transfers
 * (clearing account of channel -> each voucher), the SMS and the purchase
 * row made done.  res gets the numbers.
 */
static int sp_issue(struct shop *s, int64_t pid, const struct shop_request *req,
                    const struct registry_product *p, const char *channel,
                    const char *ref, const char *acq_rc, int64_t now,
                    struct shop_result *res)
{
    char text[NOTIFY_TEXT_MAX], key[32], face[32], total[32];
    struct registry_voucher v;
    int rc = GL_OK;
    size_t o;

    res->nvouchers = 0;
    for (int i = 0; i < req->count; i++) {
        char xid[LEDGER_ID_CAP + 1];
        snprintf(xid, sizeof xid, "shop:%" PRId64 ":%d", pid, i);
        struct registry_issue ri = {
            .product = p->id,
            .face = req->face,
            .channel = channel,
            .member = req->phone,
            .xfer_id = xid,
        };
        rc = registry_voucher_issue(s->reg, &ri, &v);
        if (rc != GL_OK) {
            snprintf(res->err, sizeof res->err, "voucher issue: %s (%.160s)",
                     gl_strerror(rc), store_errmsg(s->st));
            goto out;
        }
        snprintf(res->vouchers[i], sizeof res->vouchers[i], "%s", v.number);
        res->nvouchers++;
    }
    /* The SMS: product, amounts and the numbers masked (the whole numbers
     * are in the customer's app). */
    gl_krw(face, req->face);
    gl_krw(total, req->face * req->count);
    o = (size_t)snprintf(text, sizeof text,
                         "[giftlink] 상품권 %d장 구매 완료: %s %s원권 x%d, "
                         "결제 %s원 (%s). 번호:",
                         req->count, p->brand, face, req->count, total,
                         req->method == SHOP_CARD ? "카드" : "휴대폰 요금");
    for (int i = 0; i < res->nvouchers && o < sizeof text; i++) {
        char m[GL_MASK_MAX];
        o += (size_t)snprintf(
            text + o, sizeof text - o, "%s %s", i > 0 ? "," : "",
            gl_mask_pan(m, res->vouchers[i], strlen(res->vouchers[i])));
    }
    snprintf(key, sizeof key, "shop:%" PRId64, pid);
    rc = notify_enqueue_at(s->sql.db, key, req->phone, text, now);
    if (rc != GL_OK) {
        snprintf(res->err, sizeof res->err, "SMS outbox: %s (%.160s)",
                 gl_strerror(rc), sqlite3_errmsg(s->sql.db));
        goto out;
    }
    rc = sp_finish(s, pid, "done", ref, acq_rc, now);
    if (rc != GL_OK) {
        snprintf(res->err, sizeof res->err, "purchase row: %s (%.160s)",
                 gl_strerror(rc), s->sql.errmsg);
    }
out:
    crypto_wipe(&v, sizeof v);
    return rc;
}

/* The phone's limit: its override, or the default. */
static int sp_limit(struct shop *s, const char *phone, int64_t *limit)
{
    int rc = gl_sql_get_int(&s->sql, SHOP_Q_BILL_LIMIT,
                            STORE_ARGS(STORE_T(phone)), limit);
    if (rc == GL_ENOTFOUND) {
        *limit = s->cfg.bill_limit;
        rc = GL_OK;
    }
    return rc;
}

/* ---- phone bill -----------------------------------------------------------
 */

static int sp_phone_bill(struct shop *s, const struct shop_request *req,
                         const struct registry_product *p,
                         struct shop_result *res)
{
    int64_t now = ledger_now(s->lg), limit = 0, used = 0, pid = 0;
    int64_t amount = req->face * req->count;
    char month[8], ref[SHOP_REF_MAX + 1], mp[GL_MASK_MAX];
    int rc;

    gl_kst_month(month, now);
    rc = ledger_batch_begin(s->lg);
    if (rc != GL_OK) {
        snprintf(res->err, sizeof res->err, "begin: %s (%.160s)",
                 gl_strerror(rc), store_errmsg(s->st));
        return rc;
    }
    rc = sp_limit(s, req->phone, &limit);
    if (rc == GL_OK) {
        rc = gl_sql_get_int(&s->sql, SHOP_Q_BILL_SUM,
                            STORE_ARGS(STORE_T(req->phone), STORE_T(month)),
                            &used);
    }
    if (rc != GL_OK) {
        snprintf(res->err, sizeof res->err, "phone bill: %s (%.160s)",
                 gl_strerror(rc), s->sql.errmsg);
        goto fail;
    }
    if (used + amount > limit) {
        /* Refused: recorded (the key's first result), nothing charged. */
        rc = sp_insert(s, req, "", amount, "limit", now, &pid);
        if (rc == GL_OK) {
            rc = ledger_batch_commit(s->lg);
        } else {
            ledger_batch_rollback(s->lg);
        }
        if (rc != GL_OK) {
            snprintf(res->err, sizeof res->err, "purchase row: %s (%.160s)",
                     gl_strerror(rc), s->sql.errmsg);
            return rc;
        }
        char l1[32], l2[32];
        gl_krw(l1, limit - used);
        gl_krw(l2, amount);
        snprintf(res->err, sizeof res->err,
                 "phone bill limit: %s KRW left this month (%s), %s KRW "
                 "asked",
                 l1, month, l2);
        res->outcome = SHOP_LIMIT;
        res->purchase_id = pid;
        GL_LOG_INFO("shop",
                    "purchase %" PRId64 " phone=%s limit (%" PRId64
                    " used of %" PRId64 ", %" PRId64 " asked)",
                    pid, gl_mask_phone(mp, req->phone), used, limit, amount);
        return GL_OK;
    }
    rc = sp_insert(s, req, "", amount, "pending", now, &pid);
    if (rc == GL_OK) {
        rc = gl_sql_exec(&s->sql, SHOP_Q_BILL_ENSURE,
                         STORE_ARGS(STORE_T(req->phone), STORE_I(now)), NULL);
    }
    if (rc == GL_OK) {
        rc = gl_sql_exec(&s->sql, SHOP_Q_BILL_CHARGE,
                         STORE_ARGS(STORE_T(req->phone), STORE_T(month),
                                    STORE_I(pid), STORE_I(req->count),
                                    STORE_I(amount), STORE_I(now)),
                         NULL);
    }
    if (rc != GL_OK) {
        snprintf(res->err, sizeof res->err, "phone bill charge: %s (%.160s)",
                 gl_strerror(rc), s->sql.errmsg);
        goto fail;
    }
    snprintf(ref, sizeof ref, "bill:%" PRId64,
             (int64_t)sqlite3_last_insert_rowid(s->sql.db));
    rc = sp_issue(s, pid, req, p, LEDGER_CH_PHONE_BILL, ref, "", now, res);
    if (rc != GL_OK) {
        goto fail;
    }
    rc = ledger_batch_commit(s->lg);
    if (rc != GL_OK) {
        snprintf(res->err, sizeof res->err, "commit: %s (%.160s)",
                 gl_strerror(rc), store_errmsg(s->st));
        goto failed;
    }
    res->outcome = SHOP_DONE;
    res->purchase_id = pid;
    res->amount = amount;
    snprintf(res->payment_ref, sizeof res->payment_ref, "%s", ref);
    GL_LOG_INFO("shop",
                "purchase %" PRId64 " phone=%s %s x%d %" PRId64
                " KRW by phone bill (%.160s)",
                pid, gl_mask_phone(mp, req->phone), p->id, req->count, amount,
                ref);
    return GL_OK;
fail:
    ledger_batch_rollback(s->lg);
failed:
    res->outcome = SHOP_FAILED;
    res->nvouchers = 0;
    memset(res->vouchers, 0, sizeof res->vouchers);
    GL_LOG_WARN("shop",
                "purchase by phone bill phone=%s failed, nothing "
                "charged: %s",
                gl_mask_phone(mp, req->phone), res->err);
    return rc;
}

/* ---- card ------------------------------------------------------------------
 */

/* One transaction of our own statements: q1 then q2 (q2 < 0: none) on
 * pid, then the purchase finished in state (NULL: left). */
static int sp_record(struct shop *s, int64_t pid, int q1, int q2,
                     const char *state, const char *ref, const char *acq_rc)
{
    int rc = ledger_batch_begin(s->lg);
    if (rc != GL_OK) {
        return rc;
    }
    rc = gl_sql_exec(&s->sql, q1, STORE_ARGS(STORE_I(pid)), NULL);
    if (rc == GL_OK && q2 >= 0) {
        rc = gl_sql_exec(&s->sql, q2, STORE_ARGS(STORE_I(pid)), NULL);
    }
    if (rc == GL_OK && state != NULL) {
        rc = sp_finish(s, pid, state, ref, acq_rc, ledger_now(s->lg));
    }
    if (rc != GL_OK) {
        ledger_batch_rollback(s->lg);
        return rc;
    }
    return ledger_batch_commit(s->lg);
}

/* The next request identity: the STAN from the database's counter
 * (committed on its own, or with the caller's transaction), DE 7 now. */
static int sp_ident(struct shop *s, struct acq_ident *id)
{
    int64_t stan = 0;
    int rc = gl_sql_get_int(&s->sql, SHOP_Q_STAN_NEXT, NULL, 0, &stan);
    if (rc == GL_OK) {
        acq_ident_at((uint32_t)stan, id);
    }
    return rc;
}

/* Sends the reversal rv of purchase pid once; an answer removes it from
 * the queue, no answer counts an attempt. */
static int sp_reverse(struct shop *s, int64_t pid,
                      const struct acq_reversal *rv, int repeat)
{
    struct acq_rev_result rr;
    char mp[GL_MASK_MAX];
    int rc = acq_reverse(s->acq, rv, repeat, &rr);
    gl_mask_pan(mp, rv->pan, strlen(rv->pan));
    if (rc == GL_OK) {
        GL_LOG_INFO("shop",
                    "purchase %" PRId64 ": reversal of %s stan %s "
                    "answered %s",
                    pid, mp, rv->orig.stan, rr.rc);
        int drc = gl_sql_exec(&s->sql, SHOP_Q_REV_DELETE,
                              STORE_ARGS(STORE_I(pid)), NULL);
        if (drc != GL_OK) {
            /* It stays queued: the repeat is answered without effect. */
            GL_LOG_WARN("shop",
                        "purchase %" PRId64 ": reversal answered "
                        "but not dequeued: %s",
                        pid, s->sql.errmsg);
        }
        return GL_OK;
    }
    GL_LOG_WARN("shop",
                "purchase %" PRId64 ": reversal of %s stan %s not "
                "answered: %s",
                pid, mp, rv->orig.stan, rr.err);
    (void)gl_sql_exec(&s->sql, SHOP_Q_REV_ATTEMPT,
                      STORE_ARGS(STORE_I(pid), STORE_T(rr.err)), NULL);
    return rc;
}

static int sp_card(struct shop *s, const struct shop_request *req,
                   const struct registry_product *p, const char *card,
                   struct shop_result *res)
{
    struct acq_purchase ap;
    struct acq_reversal rv;
    struct acq_result ar;
    int64_t now = ledger_now(s->lg), pid = 0;
    int64_t amount = req->face * req->count;
    char mp[GL_MASK_MAX];
    int rc;

    memset(&ap, 0, sizeof ap);
    memset(&ar, 0, sizeof ar);
    snprintf(ap.pan, sizeof ap.pan, "%s", req->card_pan);
    snprintf(ap.expiry, sizeof ap.expiry, "%s", req->card_expiry);
    ap.amount = (uint64_t)amount;
    gl_mask_phone(mp, req->phone);
    struct acq_ident rev_id;
    rc = sp_ident(s, &ap.id);
    if (rc == GL_OK) {
        rc = sp_ident(s, &rev_id);
    }
    if (rc != GL_OK) {
        snprintf(res->err, sizeof res->err,
                 "no request identity, nothing sent: %s (%.160s)",
                 gl_strerror(rc), s->sql.errmsg);
        res->outcome = SHOP_FAILED;
        goto out;
    }
    acq_reversal_init(s->acq, &rv, &ap, &ap.id, &rev_id);

    /* 1. The purchase (pending) and its reversal (armed), committed before
     * anything is sent. */
    rc = ledger_batch_begin(s->lg);
    if (rc == GL_OK) {
        rc = sp_insert(s, req, card, amount, "pending", now, &pid);
        if (rc == GL_OK) {
            rc = gl_sql_exec(
                &s->sql, SHOP_Q_REV_INSERT,
                STORE_ARGS(STORE_I(pid), STORE_T(rv.pan), STORE_T(rv.expiry),
                           STORE_I(amount), STORE_T(rv.orig.stan),
                           STORE_T(rv.orig.de7), STORE_T(rv.rev.stan),
                           STORE_T(rv.rev.de7), STORE_I(now)),
                NULL);
        }
        if (rc == GL_OK) {
            rc = ledger_batch_commit(s->lg);
        } else {
            ledger_batch_rollback(s->lg);
        }
    }
    if (rc == GL_EEXIST) {
        /* Another worker took the key meanwhile: its result. */
        rc = sp_lookup(s, req, card, res);
        goto out;
    }
    if (rc != GL_OK) {
        snprintf(res->err, sizeof res->err,
                 "purchase not recorded, nothing sent: %s (%.160s)",
                 gl_strerror(rc), s->sql.errmsg);
        res->outcome = SHOP_FAILED;
        goto out;
    }
    res->purchase_id = pid;
    res->amount = amount;

    /* 2. The authorization. */
    (void)acq_authorize(s->acq, &ap, &ar);
    snprintf(res->acq_rc, sizeof res->acq_rc, "%s", ar.rc);

    if (ar.outcome == ACQ_APPROVED) {
        /* 3. Everything local in one transaction; the reversal row goes
         * with it. */
        rc = ledger_batch_begin(s->lg);
        if (rc == GL_OK) {
            rc = sp_issue(s, pid, req, p, LEDGER_CH_CARD, ar.approval, ar.rc,
                          ledger_now(s->lg), res);
            if (rc == GL_OK) {
                /* The authorization stays for a refund (the standard terms'
                 * window and a day), no longer. */
                rc = gl_sql_exec(
                    &s->sql, SHOP_Q_KEEP_INSERT,
                    STORE_ARGS(STORE_I(pid), STORE_T(rv.pan),
                               STORE_T(rv.expiry), STORE_I(amount),
                               STORE_T(rv.orig.stan), STORE_T(rv.orig.de7),
                               STORE_I(now + (SHOP_REFUND_DAYS + 1) * SP_DAY)),
                    NULL);
            }
            if (rc == GL_OK) {
                rc = gl_sql_exec(&s->sql, SHOP_Q_REV_DELETE,
                                 STORE_ARGS(STORE_I(pid)), NULL);
                if (rc != GL_OK) {
                    snprintf(res->err, sizeof res->err,
                             "reversal row: %s (%.160s)", gl_strerror(rc),
                             s->sql.errmsg);
                }
            }
            if (rc == GL_OK) {
                rc = ledger_batch_commit(s->lg);
                if (rc != GL_OK) {
                    snprintf(res->err, sizeof res->err, "commit: %s (%.160s)",
                             gl_strerror(rc), store_errmsg(s->st));
                }
            } else {
                ledger_batch_rollback(s->lg);
            }
        } else {
            snprintf(res->err, sizeof res->err, "begin: %s (%.160s)",
                     gl_strerror(rc), store_errmsg(s->st));
        }
        if (rc == GL_OK) {
            res->outcome = SHOP_DONE;
            snprintf(res->payment_ref, sizeof res->payment_ref, "%s",
                     ar.approval);
            GL_LOG_INFO("shop",
                        "purchase %" PRId64 " phone=%s %s x%d %" PRId64
                        " KRW by card %s approved %s",
                        pid, mp, p->id, req->count, amount, card, ar.approval);
            goto out;
        }
        /* Approved but not issued: the charge must go. */
        GL_LOG_ERR("shop",
                   "purchase %" PRId64 " phone=%s: approved %s but "
                   "the local transaction failed (%s): reversing",
                   pid, mp, ar.approval, res->err);
        res->outcome = SHOP_FAILED;
        res->nvouchers = 0;
        memset(res->vouchers, 0, sizeof res->vouchers);
        int rrc = sp_record(s, pid, SHOP_Q_REV_DUE, -1, "failed", "", ar.rc);
        if (rrc != GL_OK) {
            GL_LOG_ERR("shop",
                       "purchase %" PRId64 ": reversal not marked "
                       "due (%s): shop_flush_reversals takes it "
                       "after abandon_s",
                       pid, s->sql.errmsg);
        }
        (void)sp_reverse(s, pid, &rv, 0);
        rc = GL_OK;
        goto out;
    }
    if (ar.outcome == ACQ_DECLINED) {
        res->outcome = SHOP_DECLINED;
        snprintf(res->err, sizeof res->err,
                 "card declined by the acquirer: "
                 "%s",
                 ar.rc);
        GL_LOG_INFO("shop",
                    "purchase %" PRId64 " phone=%s card %s declined"
                    " %s",
                    pid, mp, card, ar.rc);
        if (ar.must_reverse) {
            rc = sp_record(s, pid, SHOP_Q_REV_DUE, -1, "declined", "", ar.rc);
            (void)sp_reverse(s, pid, &rv, 0);
        } else {
            rc =
                sp_record(s, pid, SHOP_Q_REV_DELETE, -1, "declined", "", ar.rc);
        }
        if (rc != GL_OK) {
            GL_LOG_WARN("shop",
                        "purchase %" PRId64 ": decline not recorded:"
                        " %s",
                        pid, s->sql.errmsg);
            rc = GL_OK; /* the answer stands; the row is abandoned later */
        }
        goto out;
    }
    if (ar.outcome == ACQ_NOT_SENT) {
        /* Nothing left: forget the key so it may be tried again. */
        res->outcome = SHOP_PAYMENT_UNAVAILABLE;
        res->purchase_id = 0;
        snprintf(res->err, sizeof res->err,
                 "card payment unavailable, nothing charged: %.160s", ar.err);
        GL_LOG_WARN("shop", "purchase %" PRId64 " phone=%s: %s", pid, mp,
                    res->err);
        rc = sp_record(s, pid, SHOP_Q_REV_DELETE, SHOP_Q_DELETE, NULL, NULL,
                       NULL);
        if (rc != GL_OK) {
            GL_LOG_WARN("shop", "purchase %" PRId64 ": not forgotten: %s", pid,
                        s->sql.errmsg);
            rc = GL_OK;
        }
        goto out;
    }
    /* No answer: reverse. */
    res->outcome = SHOP_PAYMENT_TIMEOUT;
    snprintf(res->err, sizeof res->err,
             "the acquirer did not answer (%.160s): the payment is reversed",
             ar.err);
    GL_LOG_WARN("shop", "purchase %" PRId64 " phone=%s card %s: %s", pid, mp,
                card, res->err);
    rc = sp_record(s, pid, SHOP_Q_REV_DUE, -1, "payment_timeout", "", "");
    if (rc != GL_OK) {
        GL_LOG_ERR("shop",
                   "purchase %" PRId64 ": time-out not recorded "
                   "(%s): shop_flush_reversals takes it after "
                   "abandon_s",
                   pid, s->sql.errmsg);
    }
    (void)sp_reverse(s, pid, &rv, 0);
    rc = GL_OK;
out:
    crypto_wipe(&ap, sizeof ap);
    crypto_wipe(&rv, sizeof rv);
    crypto_wipe(&ar, sizeof ar);
    return rc;
}

/* ---- the purchase
 * ------------------------------------------------------------ */

int shop_purchase(struct shop *s, const struct shop_request *req,
                  struct shop_result *res)
{
    struct registry_product p;
    char card[GL_MASK_MAX] = "";
    int64_t mid = 0;
    int rc;

    memset(res, 0, sizeof *res);
    rc = sp_validate(s, req, &p, res);
    if (rc != GL_OK) {
        return rc;
    }
    if (req->method == SHOP_CARD) {
        if (s->acq == NULL) {
            res->outcome = SHOP_FAILED;
            snprintf(res->err, sizeof res->err,
                     "card payments are not configured");
            return GL_ENOTSUP;
        }
        gl_mask_pan(card, req->card_pan, strlen(req->card_pan));
    }
    res->amount = req->face * req->count;
    /* The key's first result, if any. */
    rc = sp_lookup(s, req, card, res);
    if (rc != GL_ENOTFOUND) {
        return rc;
    }
    res->err[0] = '\0';
    /* S40-S60: a member? */
    rc = registry_member_find(s->reg, req->phone, &mid);
    if (rc == GL_ENOTFOUND) {
        res->outcome = SHOP_NOT_MEMBER;
        snprintf(res->err, sizeof res->err,
                 "not a member: join first (shop_join)");
        return GL_OK;
    }
    if (rc != GL_OK) {
        res->outcome = SHOP_FAILED;
        snprintf(res->err, sizeof res->err, "member lookup: %s (%.160s)",
                 gl_strerror(rc), store_errmsg(s->st));
        return rc;
    }
    /* S70-S80: pay and issue. */
    if (req->method == SHOP_PHONE_BILL) {
        rc = sp_phone_bill(s, req, &p, res);
        if (rc == GL_EEXIST) {
            memset(res, 0, sizeof *res);
            rc = sp_lookup(s, req, card, res);
        }
        return rc;
    }
    return sp_card(s, req, &p, card, res);
}

int shop_join(struct shop *s, const char *phone)
{
    char mp[GL_MASK_MAX];
    int rc;
    if (phone == NULL || notify_phone_check(phone) != GL_OK) {
        return GL_EINVAL;
    }
    rc = registry_member_add(s->reg, phone, NULL);
    if (rc == GL_OK) {
        GL_LOG_INFO("shop", "member joined: %s", gl_mask_phone(mp, phone));
    }
    return rc;
}

/* ---- phone bill accounts
 * ------------------------------------------------------ */

int shop_billing_set_limit(struct shop *s, const char *phone, int64_t limit)
{
    struct store_val lv = STORE_N;
    if (phone == NULL || notify_phone_check(phone) != GL_OK) {
        return GL_EINVAL;
    }
    if (limit >= 0) {
        lv = (struct store_val)STORE_I(limit);
    }
    return gl_sql_exec(
        &s->sql, SHOP_Q_BILL_SET_LIMIT,
        STORE_ARGS(STORE_T(phone), lv, STORE_I(ledger_now(s->lg))), NULL);
}

int shop_billing_remaining(struct shop *s, const char *phone, const char *month,
                           int64_t *limit, int64_t *remaining)
{
    char m[8];
    int64_t lim = 0, used = 0;
    int rc;
    if (month == NULL) {
        gl_kst_month(m, ledger_now(s->lg));
        month = m;
    }
    if (phone == NULL || !sp_month_ok(month)) {
        return GL_EINVAL;
    }
    rc = sp_limit(s, phone, &lim);
    if (rc == GL_OK) {
        rc = gl_sql_get_int(&s->sql, SHOP_Q_BILL_SUM,
                            STORE_ARGS(STORE_T(phone), STORE_T(month)), &used);
    }
    if (rc != GL_OK) {
        return rc;
    }
    if (limit != NULL) {
        *limit = lim;
    }
    if (remaining != NULL) {
        *remaining = lim - used > 0 ? lim - used : 0;
    }
    return GL_OK;
}

int shop_billing_statement(struct shop *s, const char *month, FILE *csv)
{
    sqlite3_stmt *st;
    int rc = GL_OK, src;
    if (!sp_month_ok(month)) {
        return GL_EINVAL;
    }
    if (fprintf(csv, "month,phone,purchases,vouchers,amount,refunds,"
                     "refunded,net\n") < 0) {
        return GL_EIO;
    }
    st =
        gl_sql_stmt(&s->sql, SHOP_Q_BILL_STATEMENT, STORE_ARGS(STORE_T(month)));
    while ((src = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t amount = sqlite3_column_int64(st, 3);
        int64_t refunded = sqlite3_column_int64(st, 5);
        if (fprintf(csv,
                    "%s,%s,%" PRId64 ",%" PRId64 ",%" PRId64 ",%" PRId64
                    ",%" PRId64 ",%" PRId64 "\n",
                    month, (const char *)sqlite3_column_text(st, 0),
                    (int64_t)sqlite3_column_int64(st, 1),
                    (int64_t)sqlite3_column_int64(st, 2), amount,
                    (int64_t)sqlite3_column_int64(st, 4), refunded,
                    amount - refunded) < 0) {
            rc = GL_EIO;
            break;
        }
    }
    if (rc == GL_OK && src != SQLITE_DONE) {
        rc = gl_sql_last_err(&s->sql);
    }
    sqlite3_reset(st);
    if (rc == GL_OK && fflush(csv) != 0) {
        rc = GL_EIO;
    }
    return rc;
}

/* ---- reversals
 * ---------------------------------------------------------------- */

int shop_purge_card_data(struct shop *s)
{
    return gl_sql_exec(&s->sql, SHOP_Q_KEEP_PURGE,
                       STORE_ARGS(STORE_I(ledger_now(s->lg))), NULL);
}

int shop_flush_reversals(struct shop *s, int *sent, int *left)
{
    int64_t last = 0;
    int nsent = 0, nleft = 0, rc = GL_OK;
    struct acq_reversal rv;

    if (s->acq == NULL) {
        return GL_ENOTSUP;
    }
    for (;;) {
        int64_t id, pid, cutoff = ledger_now(s->lg) - s->cfg.abandon_s;
        int attempts, armed;
        sqlite3_stmt *st =
            gl_sql_stmt(&s->sql, SHOP_Q_REV_NEXT,
                        STORE_ARGS(STORE_I(last), STORE_I(cutoff)));
        int src = sqlite3_step(st);
        if (src != SQLITE_ROW) {
            if (src != SQLITE_DONE) {
                rc = gl_sql_last_err(&s->sql);
            }
            sqlite3_reset(st);
            break;
        }
        memset(&rv, 0, sizeof rv);
        id = sqlite3_column_int64(st, 0);
        pid = sqlite3_column_int64(st, 1);
        gl_sql_copy_text(rv.pan, sizeof rv.pan, st, 2);
        gl_sql_copy_text(rv.expiry, sizeof rv.expiry, st, 3);
        rv.amount = (uint64_t)sqlite3_column_int64(st, 4);
        gl_sql_copy_text(rv.orig.stan, sizeof rv.orig.stan, st, 5);
        gl_sql_copy_text(rv.orig.de7, sizeof rv.orig.de7, st, 6);
        gl_sql_copy_text(rv.rev.stan, sizeof rv.rev.stan, st, 7);
        gl_sql_copy_text(rv.rev.de7, sizeof rv.rev.de7, st, 8);
        attempts = sqlite3_column_int(st, 9);
        armed = strcmp((const char *)sqlite3_column_text(st, 10), "armed") == 0;
        sqlite3_reset(st);
        last = id;
        if (armed) {
            /* Abandoned by a crash between the commit and the answer: the
             * 0100's fate is unknown, so it is reversed. */
            GL_LOG_WARN("shop",
                        "purchase %" PRId64 ": abandoned card "
                        "payment, reversing",
                        pid);
            rc = sp_record(s, pid, SHOP_Q_REV_DUE, -1, "payment_timeout", "",
                           "");
            if (rc != GL_OK) {
                break;
            }
        }
        if (rv.rev.stan[0] == '\0') {
            /* A refund's reversal: its identity is chosen here, by the
             * client that sends it, and stored before the first 0400. */
            rc = sp_ident(s, &rv.rev);
            if (rc != GL_OK) {
                break;
            }
            rc = gl_sql_exec(&s->sql, SHOP_Q_REV_SET_IDENT,
                             STORE_ARGS(STORE_I(pid), STORE_T(rv.rev.stan),
                                        STORE_T(rv.rev.de7)),
                             NULL);
            if (rc != GL_OK) {
                break;
            }
        }
        if (sp_reverse(s, pid, &rv, attempts > 0) == GL_OK) {
            nsent++;
        } else {
            nleft++;
        }
    }
    crypto_wipe(&rv, sizeof rv);
    if (sent != NULL) {
        *sent = nsent;
    }
    if (left != NULL) {
        *left = nleft;
    }
    return rc;
}

/* ---- the purchase history ------------------------------------------------ */

int shop_list(struct shop *s, const char *phone, int limit, shop_list_cb cb,
              void *ctx)
{
    struct shop_purchase_info p;
    int rc = GL_OK;
    if (phone == NULL || notify_phone_check(phone) != GL_OK) {
        return GL_EINVAL;
    }
    sqlite3_stmt *st = gl_sql_stmt(
        &s->sql, SHOP_Q_LIST,
        STORE_ARGS(STORE_T(phone), STORE_I(limit > 0 ? limit : 100)));
    for (;;) {
        int src = sqlite3_step(st);
        if (src == SQLITE_DONE) {
            break;
        }
        if (src != SQLITE_ROW) {
            rc = gl_sql_last_err(&s->sql);
            break;
        }
        memset(&p, 0, sizeof p);
        p.id = sqlite3_column_int64(st, 0);
        gl_sql_copy_text(p.key, sizeof p.key, st, 1);
        gl_sql_copy_text(p.product, sizeof p.product, st, 3);
        p.face = sqlite3_column_int64(st, 4);
        p.count = sqlite3_column_int(st, 5);
        gl_sql_copy_text(p.method, sizeof p.method, st, 6);
        gl_sql_copy_text(p.card, sizeof p.card, st, 7);
        p.amount = sqlite3_column_int64(st, 8);
        gl_sql_copy_text(p.state, sizeof p.state, st, 9);
        gl_sql_copy_text(p.payment_ref, sizeof p.payment_ref, st, 10);
        gl_sql_copy_text(p.acq_rc, sizeof p.acq_rc, st, 11);
        p.created = sqlite3_column_int64(st, 12);
        p.refunded = sqlite3_column_int64(st, 13);
        rc = cb(ctx, &p);
        if (rc != 0) {
            break;
        }
    }
    sqlite3_reset(st);
    return rc;
}

/* ---- standard terms
 * ------------------------------------------------------------ */

/* The refund verdict of a stored purchase; res gets its vouchers. */
static int sp_refund_verdict(struct shop *s, const struct sp_row *r,
                             struct shop_result *res, int *verdict)
{
    int rc;
    *verdict = SHOP_REFUND_NOT_DONE;
    if (strcmp(r->state, "done") != 0) {
        return GL_OK;
    }
    if (ledger_now(s->lg) - r->created > (int64_t)SHOP_REFUND_DAYS * SP_DAY) {
        *verdict = SHOP_REFUND_TOO_LATE;
        return GL_OK;
    }
    rc = sp_replay(s, r, res);
    if (rc != GL_OK) {
        return rc;
    }
    *verdict = SHOP_REFUND_OK;
    for (int i = 0; i < res->nvouchers; i++) {
        struct registry_voucher v;
        rc = registry_voucher_get(s->reg, res->vouchers[i], &v);
        if (rc != GL_OK) {
            return rc;
        }
        if (v.status != REGISTRY_V_ACTIVE || v.balance != r->face ||
            v.available != r->face || strcmp(v.member_phone, r->phone) != 0) {
            *verdict = SHOP_REFUND_USED;
        }
        crypto_wipe(&v, sizeof v);
    }
    return GL_OK;
}

int shop_refund_check(struct shop *s, const char *key, int *verdict)
{
    struct sp_row r;
    struct shop_result res;
    int rc;

    *verdict = SHOP_REFUND_NOT_DONE;
    if (!sp_key_ok(key)) {
        return GL_EINVAL;
    }
    rc = sp_load(s, key, 0, &r);
    if (rc != GL_OK) {
        return rc;
    }
    memset(&res, 0, sizeof res);
    rc = sp_refund_verdict(s, &r, &res, verdict);
    crypto_wipe(&res, sizeof res);
    return rc;
}

/* Inside the refund's transaction: voucher i's value back to the clearing
 * account it came from, and the voucher cancelled. */
static int sp_refund_voucher(struct shop *s, const struct sp_row *r, int i,
                             const char *number, struct shop_refund_result *out)
{
    char xid[LEDGER_ID_CAP + 1], rid[LEDGER_ID_CAP + 1];
    struct ledger_transfer_row t;
    struct ledger_result lr;
    int rc;

    snprintf(xid, sizeof xid, "shop:%" PRId64 ":%d", r->id, i);
    snprintf(rid, sizeof rid, "shop-refund:%" PRId64 ":%d", r->id, i);
    rc = ledger_transfer_get(s->lg, xid, &t);
    if (rc == GL_OK) {
        struct ledger_transfer lt = {
            .id = rid,
            .debit = t.credit, /* the voucher */
            .credit = t.debit, /* the channel's clearing account */
            .amount = t.amount,
            .kind = LEDGER_TK_REFUND,
        };
        rc = ledger_transfer_apply(s->lg, &lt, &lr);
    }
    if (rc == GL_OK) {
        rc = registry_voucher_set_status(s->reg, number, REGISTRY_V_CANCELLED);
    }
    if (rc != GL_OK) {
        snprintf(out->err, sizeof out->err, "voucher %d: %s (%.160s)", i,
                 gl_strerror(rc), store_errmsg(s->st));
    }
    return rc;
}

int shop_refund(struct shop *s, int64_t id, const char *phone,
                struct shop_refund_result *out)
{
    struct sp_row r;
    struct shop_result res;
    char month[8], text[NOTIFY_TEXT_MAX], key[48], total[32], mp[GL_MASK_MAX];
    int64_t now, when = 0;
    int rc, card;

    memset(out, 0, sizeof *out);
    memset(&res, 0, sizeof res);
    out->purchase_id = id;
    if (phone == NULL || notify_phone_check(phone) != GL_OK) {
        snprintf(out->err, sizeof out->err, "phone");
        return GL_EINVAL;
    }
    rc = ledger_batch_begin(s->lg);
    if (rc != GL_OK) {
        snprintf(out->err, sizeof out->err, "begin: %s (%.160s)",
                 gl_strerror(rc), store_errmsg(s->st));
        return rc;
    }
    now = ledger_now(s->lg);
    rc = sp_load(s, NULL, id, &r);
    if (rc == GL_OK && strcmp(r.phone, phone) != 0) {
        rc = GL_ENOTFOUND; /* someone else's: as if there were none */
    }
    if (rc != GL_OK) {
        if (rc != GL_ENOTFOUND) {
            snprintf(out->err, sizeof out->err, "purchase: %s (%.160s)",
                     gl_strerror(rc), s->sql.errmsg);
        }
        goto rollback;
    }
    snprintf(out->method, sizeof out->method, "%s", r.method);
    card = strcmp(r.method, "card") == 0;
    rc = gl_sql_get_int(&s->sql, SHOP_Q_REFUND_GET, STORE_ARGS(STORE_I(id)),
                        &when);
    if (rc == GL_OK) {
        /* Refunded before: its answer again. */
        out->verdict = SHOP_REFUND_OK;
        out->replay = 1;
        out->amount = r.amount;
        out->refunded = when;
        rc = sp_replay(s, &r, &res);
        goto answer;
    }
    if (rc != GL_ENOTFOUND) {
        goto storage;
    }
    rc = sp_refund_verdict(s, &r, &res, &out->verdict);
    if (rc != GL_OK) {
        goto storage;
    }
    if (out->verdict != SHOP_REFUND_OK) {
        goto answer;
    }
    for (int i = 0; i < res.nvouchers && rc == GL_OK; i++) {
        rc = sp_refund_voucher(s, &r, i, res.vouchers[i], out);
    }
    if (rc != GL_OK) {
        goto rollback;
    }
    gl_kst_month(month, now);
    rc =
        gl_sql_exec(&s->sql, SHOP_Q_REFUND_INSERT,
                    STORE_ARGS(STORE_I(id), STORE_T(r.phone), STORE_T(r.method),
                               STORE_I(r.amount), STORE_T(month), STORE_I(now)),
                    NULL);
    if (rc == GL_OK && card) {
        int64_t moved = 0;
        rc = gl_sql_exec(&s->sql, SHOP_Q_KEEP_TO_REVERSAL,
                         STORE_ARGS(STORE_I(id), STORE_I(now)), &moved);
        if (rc == GL_OK && moved != 1) {
            out->verdict = SHOP_REFUND_NO_CARD_DATA;
            goto answer;
        }
        if (rc == GL_OK) {
            rc = gl_sql_exec(&s->sql, SHOP_Q_KEEP_DELETE,
                             STORE_ARGS(STORE_I(id)), NULL);
        }
    }
    if (rc != GL_OK) {
        goto storage;
    }
    gl_krw(total, r.amount);
    snprintf(text, sizeof text,
             "[giftlink] 구매 취소: 상품권 %d장, %s원 환불 (%s). "
             "취소된 상품권은 사용할 수 없습니다.",
             r.count, total, card ? "카드 승인 취소" : "휴대폰 요금에서 차감");
    snprintf(key, sizeof key, "shop-refund:%" PRId64, id);
    rc = notify_enqueue_at(s->sql.db, key, r.phone, text, now);
    if (rc != GL_OK) {
        snprintf(out->err, sizeof out->err, "SMS outbox: %s (%.160s)",
                 gl_strerror(rc), sqlite3_errmsg(s->sql.db));
        goto rollback;
    }
    rc = ledger_batch_commit(s->lg);
    if (rc != GL_OK) {
        snprintf(out->err, sizeof out->err, "commit: %s (%.160s)",
                 gl_strerror(rc), store_errmsg(s->st));
        goto out;
    }
    out->amount = r.amount;
    out->refunded = now;
    out->nvouchers = res.nvouchers;
    memcpy(out->vouchers, res.vouchers, sizeof out->vouchers);
    GL_LOG_INFO("shop",
                "purchase %" PRId64 " phone=%s refunded: %d voucher(s), "
                "%" PRId64 " KRW to the %s",
                id, gl_mask_phone(mp, r.phone), res.nvouchers, r.amount,
                r.method);
    goto out;
answer:
    /* A verdict other than ok, or a replay: nothing written. */
    if (rc == GL_OK && out->replay) {
        out->nvouchers = res.nvouchers;
        memcpy(out->vouchers, res.vouchers, sizeof out->vouchers);
    }
    ledger_batch_rollback(s->lg);
    goto out;
storage:
    snprintf(out->err, sizeof out->err, "refund: %s (%.160s)", gl_strerror(rc),
             s->sql.errmsg);
rollback:
    ledger_batch_rollback(s->lg);
out:
    crypto_wipe(&res, sizeof res);
    return rc;
}
