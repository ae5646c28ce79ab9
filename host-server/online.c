/*
 * online.c - vouchers used in merchants' web shops (contract in online.h).
 *
 * Like shop.c, the online tables live in the store's SQLite database and are
 * reached through the store's connection with statements of our own,
 * prepared once.  Every action runs in one ledger batch: the registry's
 * operations (PIN tries, expiry) and the ledger's transfers run in their
 * SAVEPOINTs inside it, our statements run in it directly, and the batch
 * commits the lot, refusals included (a wrong PIN's count must stay).
 *
 * No full voucher number is stored by this module: authorizations keep the
 * voucher's ledger account and a masked number, and idempotency rows keep
 * an HMAC fingerprint of the request.
 */
#include "online.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "crypto.h"
#include "gl_err.h"
#include "gl_log.h"
#include "gl_text.h"
#include "notify.h"
#include "store.h"

#define OL_DAY 86400
#define OL_FP_HEX (2 * CRYPTO_HMAC_LEN)
#define OL_TID_MAX (LEDGER_ID_MAX + 1)

static const char ol_label[] = "giftlink online v1";

static const char ol_schema[] =
    "CREATE TABLE IF NOT EXISTS online_key ("
    "  key_id TEXT PRIMARY KEY,"
    "  merchant TEXT NOT NULL,"
    "  secret_mac BLOB NOT NULL,"
    "  revoked INTEGER NOT NULL DEFAULT 0,"
    "  created INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS online_auth ("
    "  auth_id TEXT PRIMARY KEY,"
    "  merchant TEXT NOT NULL,"
    "  voucher_masked TEXT NOT NULL,"
    "  account INTEGER NOT NULL," /* the voucher's ledger account */
    "  state INTEGER NOT NULL CHECK (state BETWEEN 0 AND 4),"
    "  requested INTEGER NOT NULL, held INTEGER NOT NULL,"
    "  captured INTEGER NOT NULL DEFAULT 0,"
    "  refunded INTEGER NOT NULL DEFAULT 0,"
    "  hold_expires INTEGER NOT NULL,"
    "  created INTEGER NOT NULL, updated INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS online_request ("
    "  merchant TEXT NOT NULL, idem_key TEXT NOT NULL,"
    "  op TEXT NOT NULL, fingerprint TEXT NOT NULL,"
    "  outcome INTEGER NOT NULL, auth_id TEXT NOT NULL,"
    "  amount INTEGER NOT NULL, released INTEGER NOT NULL,"
    "  balance INTEGER NOT NULL, available INTEGER NOT NULL,"
    "  hold_expires INTEGER NOT NULL, err TEXT NOT NULL,"
    "  created INTEGER NOT NULL,"
    "  PRIMARY KEY (merchant, idem_key));"
    "CREATE TABLE IF NOT EXISTS online_extension ("
    "  account INTEGER PRIMARY KEY," /* the voucher's ledger account */
    "  days INTEGER NOT NULL,"
    "  old_expires INTEGER NOT NULL, new_expires INTEGER NOT NULL,"
    "  created INTEGER NOT NULL);"
    /* A cash-out paid to a bank account: the operators' transfer file
     * (glctl payout export) reads the due ones. */
    "CREATE TABLE IF NOT EXISTS online_payout ("
    "  id INTEGER PRIMARY KEY,"
    "  account INTEGER NOT NULL," /* the voucher's ledger account */
    "  voucher_masked TEXT NOT NULL, phone TEXT NOT NULL,"
    "  bank TEXT NOT NULL, bank_account TEXT NOT NULL,"
    "  amount INTEGER NOT NULL," /* its transfer: "payout:<id>" */
    "  state TEXT NOT NULL CHECK (state IN ('due', 'exported')),"
    "  created INTEGER NOT NULL, exported INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX IF NOT EXISTS online_payout_account"
    "  ON online_payout(account);"
    "CREATE INDEX IF NOT EXISTS online_payout_due"
    "  ON online_payout(state, id);"
    /* One expiry notice per voucher and expiry date. */
    "CREATE TABLE IF NOT EXISTS online_notice ("
    "  account INTEGER NOT NULL, expires INTEGER NOT NULL,"
    "  created INTEGER NOT NULL, PRIMARY KEY (account, expires));";

#define OL_AUTH_COLS                                                           \
    "auth_id, merchant, voucher_masked, account, state, requested, held,"      \
    " captured, refunded, hold_expires, created, updated"

_Static_assert(ONLINE_Q__COUNT <= GL_SQL_STMT_MAX,
               "the online's statements fit one gl_sql");

static const char *const ol_sql[ONLINE_Q__COUNT] = {
    [ONLINE_Q_KEY_INSERT] = "INSERT INTO online_key (key_id, merchant,"
                            " secret_mac, created) VALUES (?1, ?2, ?3, ?4)",
    [ONLINE_Q_KEY_GET] = "SELECT merchant, secret_mac, revoked"
                         " FROM online_key WHERE key_id = ?1",
    [ONLINE_Q_KEY_REVOKE] = "UPDATE online_key SET revoked = 1"
                            " WHERE key_id = ?1",
    [ONLINE_Q_REQ_GET] =
        "SELECT op, fingerprint, outcome, auth_id, amount, released, balance,"
        " available, hold_expires, err FROM online_request"
        " WHERE merchant = ?1 AND idem_key = ?2",
    [ONLINE_Q_REQ_INSERT] =
        "INSERT INTO online_request (merchant, idem_key, op, fingerprint,"
        " outcome, auth_id, amount, released, balance, available,"
        " hold_expires, err, created) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7,"
        " ?8, ?9, ?10, ?11, ?12, ?13)",
    [ONLINE_Q_AUTH_INSERT] =
        "INSERT INTO online_auth (" OL_AUTH_COLS ") VALUES (?1, ?2, ?3, ?4,"
        " 0, ?5, ?6, 0, 0, ?7, ?8, ?8)",
    [ONLINE_Q_AUTH_GET] = "SELECT " OL_AUTH_COLS " FROM online_auth"
                          " WHERE auth_id = ?1 AND merchant = ?2",
    [ONLINE_Q_AUTH_SET] = "UPDATE online_auth SET state = ?2, captured = ?3,"
                          " refunded = ?4, updated = ?5 WHERE auth_id = ?1",
    [ONLINE_Q_EXT_GET] = "SELECT old_expires, new_expires"
                         " FROM online_extension WHERE account = ?1",
    [ONLINE_Q_EXT_INSERT] =
        "INSERT INTO online_extension (account, days, old_expires,"
        " new_expires, created) VALUES (?1, ?2, ?3, ?4, ?5)",
    [ONLINE_Q_PAYOUT_LAST] =
        "SELECT id, amount, bank, bank_account, created FROM online_payout"
        " WHERE account = ?1 ORDER BY id DESC LIMIT 1",
    [ONLINE_Q_PAYOUT_INSERT] =
        "INSERT INTO online_payout (account, voucher_masked, phone, bank,"
        " bank_account, amount, state, created) VALUES (?1, ?2, ?3,"
        " ?4, ?5, ?6, 'due', ?7)",
    [ONLINE_Q_PAYOUT_DUE] =
        "SELECT id, created, bank, bank_account, amount, phone"
        " FROM online_payout WHERE state = 'due' ORDER BY id",
    [ONLINE_Q_PAYOUT_MARK] = "UPDATE online_payout SET state = 'exported',"
                             " exported = ?1 WHERE state = 'due'",
    [ONLINE_Q_NOTICE_INSERT] = "INSERT OR IGNORE INTO online_notice"
                               " (account, expires, created)"
                               " VALUES (?1, ?2, ?3)",
};

/* One request in flight (pointers borrowed). */
struct ol_req {
    const char *op; /* "authorize", "capture", "void" */
    const char *merchant, *key, *voucher, *pin, *auth_id;
    int64_t amount;
    struct registry_merchant m;
    char fp[OL_FP_HEX + 1];
};

/* An authorization row. */
struct ol_auth {
    struct online_auth a;
    int64_t account;
};

/* ---- names ------------------------------------------------------------ */

static const struct {
    const char *name, *code;
} ol_outcomes[] = {
    [ONLINE_APPROVED] = {"approved", "00"},
    [ONLINE_PARTIAL] = {"partial", "10"},
    [ONLINE_INVALID] = {"invalid_number_or_pin", "14"},
    [ONLINE_FROZEN] = {"frozen", "62"},
    [ONLINE_EXPIRED] = {"expired", "54"},
    [ONLINE_NOT_ACCEPTED] = {"not_accepted", "58"},
    [ONLINE_NOT_ACTIVATED] = {"not_activated", "78"},
    [ONLINE_INSUFFICIENT] = {"insufficient_funds", "51"},
    [ONLINE_NOT_FOUND] = {"not_found", "25"},
    [ONLINE_HOLD_EXPIRED] = {"hold_expired", "25"},
    [ONLINE_AMOUNT] = {"invalid_amount", "13"},
    [ONLINE_NOT_ALLOWED] = {"not_allowed", "12"},
    [ONLINE_CONFLICT] = {"conflict", "94"},
};

const char *online_outcome_name(enum online_outcome oc)
{
    return (unsigned)oc <= ONLINE_CONFLICT ? ol_outcomes[oc].name : "";
}

const char *online_outcome_code(enum online_outcome oc)
{
    return (unsigned)oc <= ONLINE_CONFLICT ? ol_outcomes[oc].code : "";
}

const char *online_auth_state_name(int state)
{
    static const char *const n[] = {"held", "captured", "voided", "refunded",
                                    "expired"};
    return state >= 0 && state <= ONLINE_A_EXPIRED ? n[state] : "";
}

const char *online_cashout_name(int verdict)
{
    static const char *const n[] = {"ok", "too_little_used", "nothing_left",
                                    "not_usable"};
    return verdict >= 0 && verdict <= ONLINE_CASHOUT_NOT_USABLE ? n[verdict]
                                                                : "";
}

const char *online_extend_name(int verdict)
{
    static const char *const n[] = {"ok", "already_extended", "expired",
                                    "not_usable", "nothing_left"};
    return verdict >= 0 && verdict <= ONLINE_EXTEND_NOTHING_LEFT ? n[verdict]
                                                                 : "";
}

const char *online_errmsg(const struct online *o)
{
    return o->sql.errmsg;
}

/* ---- statements ------------------------------------------------------- */

/* ---- open / close ------------------------------------------------------ */

void online_close(struct online *o)
{
    gl_sql_close(&o->sql);
}

int online_open(struct online *o, struct registry *reg,
                const struct online_config *cfg)
{
    int rc = GL_OK;
    memset(o, 0, sizeof *o);
    o->reg = reg;
    o->lg = reg->lg;
    o->st = reg->st;
    if (cfg != NULL) {
        o->cfg = *cfg;
    }
    o->cfg.key_pepper = NULL; /* copied below, not kept */
    if (o->cfg.hold_timeout < 0 || o->cfg.void_window < 0 ||
        o->cfg.hold_timeout > 7 * OL_DAY ||
        (cfg != NULL && cfg->key_pepper_len > sizeof o->pepper)) {
        rc = GL_EINVAL;
        snprintf(o->sql.errmsg, sizeof o->sql.errmsg, "bad configuration");
        goto out;
    }
    if (o->cfg.hold_timeout == 0) {
        o->cfg.hold_timeout = ONLINE_DEFAULT_HOLD_TIMEOUT;
    }
    if (o->cfg.void_window == 0) {
        o->cfg.void_window = ONLINE_DEFAULT_VOID_WINDOW;
    }
    if (cfg != NULL && cfg->key_pepper != NULL && cfg->key_pepper_len > 0) {
        memcpy(o->pepper, cfg->key_pepper, cfg->key_pepper_len);
        o->pepper_len = cfg->key_pepper_len;
    } else {
        memcpy(o->pepper, ol_label, sizeof ol_label - 1);
        o->pepper_len = sizeof ol_label - 1;
    }
    o->cfg.key_pepper_len = 0;
    if (o->st->ops != &store_sqlite_ops) {
        snprintf(o->sql.errmsg, sizeof o->sql.errmsg,
                 "online use needs the SQLite store, not %s", o->st->ops->name);
        rc = GL_ENOTSUP;
        goto out;
    }
    rc = notify_outbox_init(o->st->db);
    if (rc != GL_OK) {
        snprintf(o->sql.errmsg, sizeof o->sql.errmsg, "outbox: %s",
                 sqlite3_errmsg(o->st->db));
        goto out;
    }
    rc = gl_sql_open(&o->sql, o->st->db, "online", ol_schema, ol_sql,
                     ONLINE_Q__COUNT);
out:
    if (rc != GL_OK) {
        online_close(o);
    }
    return rc;
}

/* ---- input ------------------------------------------------------------- */

static int ol_digits(const char *s, size_t min, size_t max)
{
    size_t n;
    if (s == NULL) {
        return 0;
    }
    n = strlen(s);
    if (n < min || n > max) {
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return 0;
        }
    }
    return 1;
}

/* 1..max printable ASCII characters, no spaces. */
static int ol_token(const char *s, size_t max)
{
    size_t n;
    if (s == NULL) {
        return 0;
    }
    n = strlen(s);
    if (n == 0 || n > max) {
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        if (s[i] <= ' ' || s[i] > '~') {
            return 0;
        }
    }
    return 1;
}

static int ol_hex_ok(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
            return 0;
        }
    }
    return 1;
}

static void ol_hex(const uint8_t *in, size_t n, char *out)
{
    static const char d[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = d[in[i] >> 4];
        out[2 * i + 1] = d[in[i] & 15];
    }
    out[2 * n] = '\0';
}

static int ol_auth_id_ok(const char *id)
{
    return id != NULL && strlen(id) == ONLINE_AUTH_ID_LEN &&
           strncmp(id, "au_", 3) == 0 && ol_hex_ok(id + 3, 32);
}

/* ---- API keys ---------------------------------------------------------- */

static int ol_key_mac(const struct online *o, const char *secret,
                      uint8_t mac[CRYPTO_HMAC_LEN])
{
    return crypto_hmac_sha256(o->pepper, o->pepper_len, "apikey:", 7, secret,
                              strlen(secret), mac);
}

int online_key_add(struct online *o, const char *merchant,
                   char key_out[ONLINE_KEY_LEN + 1])
{
    struct registry_merchant m;
    uint8_t raw[8 + 32], mac[CRYPTO_HMAC_LEN];
    char id[ONLINE_KEY_ID_LEN + 1], secret[65];
    int rc = GL_OK;

    key_out[0] = '\0';
    if (!ol_token(merchant, REGISTRY_ID_MAX)) {
        return GL_EINVAL;
    }
    rc = registry_merchant_get(o->reg, merchant, &m);
    if (rc != GL_OK) {
        return rc;
    }
    for (int attempt = 0; attempt < 3; attempt++) {
        rc = crypto_random(o->reg->f_rng, o->reg->p_rng, raw, sizeof raw);
        if (rc != GL_OK) {
            break;
        }
        ol_hex(raw, 8, id);
        ol_hex(raw + 8, 32, secret);
        rc = ol_key_mac(o, secret, mac);
        if (rc == GL_OK) {
            rc = gl_sql_exec(&o->sql, ONLINE_Q_KEY_INSERT,
                             STORE_ARGS(STORE_T(id), STORE_T(merchant),
                                        STORE_B(mac, sizeof mac),
                                        STORE_I(ledger_now(o->lg))),
                             NULL);
        }
        if (rc != GL_EEXIST) {
            break; /* an id drawn twice is drawn again */
        }
    }
    if (rc == GL_OK) {
        snprintf(key_out, ONLINE_KEY_LEN + 1, "glk_%s_%s", id, secret);
        GL_LOG_INFO("online", "API key %s added for merchant %s", id, merchant);
    }
    crypto_wipe(raw, sizeof raw);
    crypto_wipe(secret, sizeof secret);
    crypto_wipe(mac, sizeof mac);
    return rc;
}

int online_key_check(struct online *o, const char *key,
                     char merchant[REGISTRY_ID_MAX + 1])
{
    static const uint8_t none[CRYPTO_HMAC_LEN];
    uint8_t mac[CRYPTO_HMAC_LEN], stored[CRYPTO_HMAC_LEN];
    char id[ONLINE_KEY_ID_LEN + 1];
    int found = 0, revoked = 1, rc = GL_OK, src;
    sqlite3_stmt *st;

    merchant[0] = '\0';
    if (key == NULL || strlen(key) != ONLINE_KEY_LEN ||
        strncmp(key, "glk_", 4) != 0 || key[4 + ONLINE_KEY_ID_LEN] != '_' ||
        !ol_hex_ok(key + 4, ONLINE_KEY_ID_LEN) ||
        !ol_hex_ok(key + 5 + ONLINE_KEY_ID_LEN, 64)) {
        return GL_ENOTFOUND;
    }
    memcpy(id, key + 4, ONLINE_KEY_ID_LEN);
    id[ONLINE_KEY_ID_LEN] = '\0';
    memcpy(stored, none, sizeof stored);
    st = gl_sql_stmt(&o->sql, ONLINE_Q_KEY_GET, STORE_ARGS(STORE_T(id)));
    src = sqlite3_step(st);
    if (src == SQLITE_ROW) {
        const void *b = sqlite3_column_blob(st, 1);
        if (b != NULL && sqlite3_column_bytes(st, 1) == CRYPTO_HMAC_LEN) {
            memcpy(stored, b, sizeof stored);
            found = 1;
        }
        gl_sql_copy_text(merchant, REGISTRY_ID_MAX + 1, st, 0);
        revoked = sqlite3_column_int(st, 2) != 0;
    } else if (src != SQLITE_DONE) {
        rc = gl_sql_last_err(&o->sql);
    }
    sqlite3_reset(st);
    if (rc == GL_OK) {
        /* The MAC is computed for unknown ids too: same work either way. */
        rc = ol_key_mac(o, key + 5 + ONLINE_KEY_ID_LEN, mac);
    }
    if (rc == GL_OK) {
        int same = crypto_ct_equal(mac, stored, sizeof mac);
        if (!found || revoked || !same) {
            rc = GL_ENOTFOUND;
        }
    }
    if (rc != GL_OK) {
        merchant[0] = '\0';
    }
    crypto_wipe(mac, sizeof mac);
    crypto_wipe(stored, sizeof stored);
    return rc;
}

int online_key_revoke(struct online *o, const char *key_id)
{
    int64_t n = 0;
    int rc;
    if (key_id == NULL || strlen(key_id) != ONLINE_KEY_ID_LEN ||
        !ol_hex_ok(key_id, ONLINE_KEY_ID_LEN)) {
        return GL_ENOTFOUND;
    }
    rc = gl_sql_exec(&o->sql, ONLINE_Q_KEY_REVOKE, STORE_ARGS(STORE_T(key_id)),
                     &n);
    if (rc == GL_OK && n == 0) {
        rc = GL_ENOTFOUND;
    }
    if (rc == GL_OK) {
        GL_LOG_INFO("online", "API key %s revoked", key_id);
    }
    return rc;
}

/* ---- idempotency ------------------------------------------------------ */

/* The request's fingerprint: HMAC(pepper, op | number | amount | auth id).
 * Keeps voucher numbers out of the table. */
static int ol_fingerprint(const struct online *o, struct ol_req *r)
{
    char text[160];
    uint8_t mac[CRYPTO_HMAC_LEN];
    int n = snprintf(text, sizeof text, "%s|%s|%" PRId64 "|%s", r->op,
                     r->voucher != NULL ? r->voucher : "", r->amount,
                     r->auth_id != NULL ? r->auth_id : "");
    int rc = crypto_hmac_sha256(o->pepper, o->pepper_len, "request:", 8, text,
                                (size_t)n, mac);
    if (rc == GL_OK) {
        ol_hex(mac, sizeof mac, r->fp);
    }
    crypto_wipe(text, sizeof text);
    crypto_wipe(mac, sizeof mac);
    return rc;
}

/* The key's first answer into res (replay) or ONLINE_CONFLICT: GL_OK; no
 * answer yet: GL_ENOTFOUND. */
static int ol_lookup(struct online *o, const struct ol_req *r,
                     struct online_result *res)
{
    sqlite3_stmt *st =
        gl_sql_stmt(&o->sql, ONLINE_Q_REQ_GET,
                    STORE_ARGS(STORE_T(r->merchant), STORE_T(r->key)));
    int src = sqlite3_step(st);
    int rc = GL_OK;
    if (src == SQLITE_ROW) {
        const char *op = (const char *)sqlite3_column_text(st, 0);
        const char *fp = (const char *)sqlite3_column_text(st, 1);
        memset(res, 0, sizeof *res);
        if (op == NULL || fp == NULL || strcmp(op, r->op) != 0 ||
            strlen(fp) != OL_FP_HEX || !crypto_ct_equal(fp, r->fp, OL_FP_HEX)) {
            res->outcome = ONLINE_CONFLICT;
            snprintf(res->err, sizeof res->err,
                     "idempotency key already used with other content");
        } else {
            res->replay = 1;
            res->outcome = (enum online_outcome)sqlite3_column_int(st, 2);
            gl_sql_copy_text(res->auth_id, sizeof res->auth_id, st, 3);
            res->amount = sqlite3_column_int64(st, 4);
            res->released = sqlite3_column_int64(st, 5);
            res->balance = sqlite3_column_int64(st, 6);
            res->available = sqlite3_column_int64(st, 7);
            res->hold_expires = sqlite3_column_int64(st, 8);
            gl_sql_copy_text(res->err, sizeof res->err, st, 9);
        }
    } else if (src == SQLITE_DONE) {
        rc = GL_ENOTFOUND;
    } else {
        rc = gl_sql_last_err(&o->sql);
    }
    sqlite3_reset(st);
    return rc;
}

static int ol_record(struct online *o, const struct ol_req *r,
                     const struct online_result *res)
{
    return gl_sql_exec(
        &o->sql, ONLINE_Q_REQ_INSERT,
        STORE_ARGS(STORE_T(r->merchant), STORE_T(r->key), STORE_T(r->op),
                   STORE_T(r->fp), STORE_I(res->outcome), STORE_T(res->auth_id),
                   STORE_I(res->amount), STORE_I(res->released),
                   STORE_I(res->balance), STORE_I(res->available),
                   STORE_I(res->hold_expires), STORE_T(res->err),
                   STORE_I(ledger_now(o->lg))),
        NULL);
}

/* Balance and available of a voucher account into res. */
static int ol_balances(struct online *o, int64_t account,
                       struct online_result *res)
{
    struct ledger_account a;
    int rc = ledger_account_get(o->lg, account, &a);
    if (rc == GL_OK) {
        res->balance = a.balance;
        res->available = a.available;
    }
    return rc;
}

static void ol_refuse(struct online_result *res, enum online_outcome oc,
                      const char *why)
{
    res->outcome = oc;
    snprintf(res->err, sizeof res->err, "%s", why);
}

/* ---- authorize --------------------------------------------------------- */

static int ol_first_row(void *ctx, const struct ledger_transfer_row *r)
{
    (void)ctx;
    (void)r;
    return 1;
}

static int ol_do_authorize(struct online *o, struct ol_req *r,
                           struct online_result *res)
{
    struct registry_voucher v;
    struct registry_product p;
    struct ledger_result lr;
    char hold[OL_TID_MAX], masked[GL_MASK_MAX];
    uint8_t raw[16];
    int64_t now = ledger_now(o->lg);
    int rc;

    rc =
        registry_voucher_authorize(o->reg, r->voucher, r->pin, r->merchant, &v);
    switch (rc) {
    case GL_OK:
        break;
    case GL_REG_AUTH:
    case GL_REG_CANCELLED:
    case GL_ENOTFOUND:
        ol_refuse(res, ONLINE_INVALID, "invalid voucher number or PIN");
        return GL_OK;
    case GL_REG_FROZEN:
        ol_refuse(res, ONLINE_FROZEN, "voucher frozen by the issuer");
        return GL_OK;
    case GL_REG_EXPIRED:
        ol_refuse(res, ONLINE_EXPIRED, "voucher expired");
        return GL_OK;
    case GL_REG_NOTACCEPTED:
        ol_refuse(res, ONLINE_NOT_ACCEPTED,
                  "voucher not accepted at this merchant");
        return GL_OK;
    default:
        return rc;
    }
    gl_mask_pan(masked, v.number, strlen(v.number));
    if (v.balance == 0 && v.available == 0) {
        rc = ledger_history(o->lg, v.account, ol_first_row, NULL);
        if (rc == GL_OK) {
            ol_refuse(res, ONLINE_NOT_ACTIVATED, "voucher not activated");
            goto out;
        }
        if (rc != 1) {
            goto out;
        }
    }
    rc = registry_product_get(o->reg, v.product, &p);
    if (rc != GL_OK) {
        goto out;
    }
    rc = crypto_random(o->reg->f_rng, o->reg->p_rng, raw, sizeof raw);
    if (rc != GL_OK) {
        goto out;
    }
    memcpy(res->auth_id, "au_", 3);
    ol_hex(raw, sizeof raw, res->auth_id + 3);
    snprintf(hold, sizeof hold, "online:h:%s", res->auth_id);
    {
        struct ledger_transfer t = {
            .id = hold,
            .debit = v.account,
            .credit = r->m.account,
            .amount = r->amount,
            .kind = LEDGER_TK_REDEEM,
            .flags = LEDGER_F_PENDING | (p.partial_ok ? LEDGER_F_PARTIAL : 0),
            .timeout = o->cfg.hold_timeout};
        rc = ledger_transfer_apply(o->lg, &t, &lr);
    }
    if (rc == GL_LEDGER_FUNDS) {
        res->auth_id[0] = '\0';
        ol_refuse(res, ONLINE_INSUFFICIENT, "insufficient balance");
        rc = ol_balances(o, v.account, res);
        goto out;
    }
    if (rc != GL_OK) {
        goto out;
    }
    res->hold_expires = now + o->cfg.hold_timeout;
    rc = gl_sql_exec(&o->sql, ONLINE_Q_AUTH_INSERT,
                     STORE_ARGS(STORE_T(res->auth_id), STORE_T(r->merchant),
                                STORE_T(masked), STORE_I(v.account),
                                STORE_I(r->amount), STORE_I(lr.amount),
                                STORE_I(res->hold_expires), STORE_I(now)),
                     NULL);
    if (rc == GL_OK) {
        rc = ol_balances(o, v.account, res);
    }
    if (rc != GL_OK) {
        goto out;
    }
    res->amount = lr.amount;
    res->outcome = lr.amount < r->amount ? ONLINE_PARTIAL : ONLINE_APPROVED;
    GL_LOG_INFO("online",
                "merchant %s: authorization %s of %" PRId64 " KRW on %s: %s"
                " %" PRId64,
                r->merchant, res->auth_id, r->amount, masked,
                online_outcome_name(res->outcome), lr.amount);
out:
    crypto_wipe(&v, sizeof v);
    crypto_wipe(raw, sizeof raw);
    return rc;
}

/* ---- capture and void -------------------------------------------------- */

static int ol_auth_load(struct online *o, const char *auth_id,
                        const char *merchant, struct ol_auth *out)
{
    sqlite3_stmt *st =
        gl_sql_stmt(&o->sql, ONLINE_Q_AUTH_GET,
                    STORE_ARGS(STORE_T(auth_id), STORE_T(merchant)));
    int src = sqlite3_step(st);
    int rc = GL_OK;
    memset(out, 0, sizeof *out);
    if (src == SQLITE_ROW) {
        struct online_auth *a = &out->a;
        gl_sql_copy_text(a->auth_id, sizeof a->auth_id, st, 0);
        gl_sql_copy_text(a->merchant, sizeof a->merchant, st, 1);
        gl_sql_copy_text(a->voucher_masked, sizeof a->voucher_masked, st, 2);
        out->account = sqlite3_column_int64(st, 3);
        a->state = sqlite3_column_int(st, 4);
        a->requested = sqlite3_column_int64(st, 5);
        a->held = sqlite3_column_int64(st, 6);
        a->captured = sqlite3_column_int64(st, 7);
        a->refunded = sqlite3_column_int64(st, 8);
        a->hold_expires = sqlite3_column_int64(st, 9);
        a->created = sqlite3_column_int64(st, 10);
        a->updated = sqlite3_column_int64(st, 11);
    } else if (src == SQLITE_DONE) {
        rc = GL_ENOTFOUND;
    } else {
        rc = gl_sql_last_err(&o->sql);
    }
    sqlite3_reset(st);
    return rc;
}

static int ol_auth_set(struct online *o, const struct ol_auth *x, int state,
                       int64_t captured, int64_t refunded)
{
    return gl_sql_exec(&o->sql, ONLINE_Q_AUTH_SET,
                       STORE_ARGS(STORE_T(x->a.auth_id), STORE_I(state),
                                  STORE_I(captured), STORE_I(refunded),
                                  STORE_I(ledger_now(o->lg))),
                       NULL);
}

/* The authorization of the request, or a refusal (res set, GL_OK with
 * *found = 0) for an unknown one or one not in state want. */
static int ol_auth_for(struct online *o, const struct ol_req *r,
                       struct ol_auth *x, struct online_result *res, int *found)
{
    int rc = ol_auth_load(o, r->auth_id, r->merchant, x);
    *found = 0;
    if (rc == GL_ENOTFOUND) {
        ol_refuse(res, ONLINE_NOT_FOUND, "no such authorization");
        return GL_OK;
    }
    if (rc != GL_OK) {
        return rc;
    }
    snprintf(res->auth_id, sizeof res->auth_id, "%s", x->a.auth_id);
    *found = 1;
    return GL_OK;
}

/* A hold the ledger says is gone or past its timeout: the authorization is
 * expired. */
static int ol_lapsed(struct online *o, const struct ol_auth *x,
                     struct online_result *res)
{
    ol_refuse(res, ONLINE_HOLD_EXPIRED, "the hold has expired");
    return ol_auth_set(o, x, ONLINE_A_EXPIRED, 0, 0);
}

static int ol_do_capture(struct online *o, struct ol_req *r,
                         struct online_result *res)
{
    struct ol_auth x;
    struct ledger_result lr;
    char hold[OL_TID_MAX], id[OL_TID_MAX];
    int found, rc;

    rc = ol_auth_for(o, r, &x, res, &found);
    if (rc != GL_OK || !found) {
        return rc;
    }
    if (x.a.state == ONLINE_A_EXPIRED) {
        ol_refuse(res, ONLINE_HOLD_EXPIRED, "the hold has expired");
        return GL_OK;
    }
    if (x.a.state != ONLINE_A_HELD) {
        ol_refuse(res, ONLINE_NOT_ALLOWED,
                  x.a.state == ONLINE_A_CAPTURED
                      ? "authorization already captured"
                      : "authorization voided");
        return GL_OK;
    }
    if (r->amount > x.a.held) {
        ol_refuse(res, ONLINE_AMOUNT, "capture above the held amount");
        return GL_OK;
    }
    snprintf(hold, sizeof hold, "online:h:%s", x.a.auth_id);
    snprintf(id, sizeof id, "online:c:%s", x.a.auth_id);
    {
        struct ledger_transfer t = {.id = id,
                                    .amount = r->amount,
                                    .kind = LEDGER_TK_REDEEM,
                                    .flags = LEDGER_F_POST,
                                    .pending_id = hold};
        rc = ledger_transfer_apply(o->lg, &t, &lr);
    }
    if (rc == GL_LEDGER_HOLD_EXPIRED || rc == GL_LEDGER_HOLD_CLOSED ||
        rc == GL_LEDGER_NOHOLD) {
        return ol_lapsed(o, &x, res);
    }
    if (rc == GL_OK) {
        rc = ol_auth_set(o, &x, ONLINE_A_CAPTURED, lr.amount, 0);
    }
    if (rc == GL_OK) {
        rc = ol_balances(o, x.account, res);
    }
    if (rc != GL_OK) {
        return rc;
    }
    res->outcome = ONLINE_APPROVED;
    res->amount = lr.amount;
    res->released = x.a.held - lr.amount;
    GL_LOG_INFO("online",
                "merchant %s: authorization %s captured %" PRId64
                " KRW, released %" PRId64,
                r->merchant, x.a.auth_id, lr.amount, res->released);
    return GL_OK;
}

static int ol_do_void(struct online *o, struct ol_req *r,
                      struct online_result *res)
{
    struct ol_auth x;
    struct ledger_result lr;
    char hold[OL_TID_MAX], id[OL_TID_MAX];
    int found, rc, state;

    rc = ol_auth_for(o, r, &x, res, &found);
    if (rc != GL_OK || !found) {
        return rc;
    }
    snprintf(hold, sizeof hold, "online:h:%s", x.a.auth_id);
    if (x.a.state == ONLINE_A_HELD) {
        struct ledger_transfer t = {.id = id,
                                    .kind = LEDGER_TK_REDEEM,
                                    .flags = LEDGER_F_VOID,
                                    .pending_id = hold};
        snprintf(id, sizeof id, "online:v:%s", x.a.auth_id);
        rc = ledger_transfer_apply(o->lg, &t, &lr);
        if (rc == GL_LEDGER_HOLD_CLOSED || rc == GL_LEDGER_NOHOLD) {
            return ol_lapsed(o, &x, res);
        }
        state = ONLINE_A_VOIDED;
    } else if (x.a.state == ONLINE_A_CAPTURED) {
        if (ledger_now(o->lg) - x.a.updated > o->cfg.void_window) {
            ol_refuse(res, ONLINE_NOT_ALLOWED,
                      "captured too long ago to be voided");
            return GL_OK;
        }
        struct ledger_transfer t = {.id = id,
                                    .debit = r->m.account,
                                    .credit = x.account,
                                    .amount = x.a.captured,
                                    .kind = LEDGER_TK_REFUND};
        snprintf(id, sizeof id, "online:r:%s", x.a.auth_id);
        rc = ledger_transfer_apply(o->lg, &t, &lr);
        state = ONLINE_A_REFUNDED;
    } else if (x.a.state == ONLINE_A_EXPIRED) {
        ol_refuse(res, ONLINE_HOLD_EXPIRED, "the hold has expired");
        return GL_OK;
    } else {
        ol_refuse(res, ONLINE_NOT_ALLOWED, "authorization already voided");
        return GL_OK;
    }
    if (rc == GL_OK) {
        rc = ol_auth_set(o, &x, state, x.a.captured,
                         state == ONLINE_A_REFUNDED ? lr.amount : 0);
    }
    if (rc == GL_OK) {
        rc = ol_balances(o, x.account, res);
    }
    if (rc != GL_OK) {
        return rc;
    }
    res->outcome = ONLINE_APPROVED;
    res->amount = lr.amount;
    GL_LOG_INFO("online", "merchant %s: authorization %s %s %" PRId64 " KRW",
                r->merchant, x.a.auth_id,
                state == ONLINE_A_REFUNDED ? "refunded" : "released",
                lr.amount);
    return GL_OK;
}

/* ---- one action -------------------------------------------------------- */

typedef int (*ol_action_fn)(struct online *o, struct ol_req *r,
                            struct online_result *res);

/* Checks what every action shares, then runs fn in one transaction with
 * the key's lookup and record. */
static int ol_run(struct online *o, struct ol_req *r, ol_action_fn fn,
                  struct online_result *res)
{
    int rc;

    o->sql.errmsg[0] = '\0';
    if (!ol_token(r->merchant, REGISTRY_ID_MAX)) {
        snprintf(res->err, sizeof res->err, "bad merchant id");
        return GL_EINVAL;
    }
    if (!ol_token(r->key, ONLINE_IDEM_MAX)) {
        snprintf(res->err, sizeof res->err,
                 "idempotency key: 1..%d printable characters",
                 ONLINE_IDEM_MAX);
        return GL_EINVAL;
    }
    if (r->amount < 0 || r->amount > ONLINE_AMOUNT_MAX) {
        snprintf(res->err, sizeof res->err, "amount out of range");
        return GL_EINVAL;
    }
    rc = registry_merchant_get(o->reg, r->merchant, &r->m);
    if (rc != GL_OK) {
        snprintf(res->err, sizeof res->err, "merchant: %s", gl_strerror(rc));
        return rc;
    }
    rc = ol_fingerprint(o, r);
    if (rc != GL_OK) {
        return rc;
    }
    rc = ledger_batch_begin(o->lg);
    if (rc != GL_OK) {
        snprintf(res->err, sizeof res->err, "begin: %s (%.160s)",
                 gl_strerror(rc), store_errmsg(o->st));
        return rc;
    }
    rc = ol_lookup(o, r, res);
    if (rc == GL_OK) {
        ledger_batch_rollback(o->lg); /* read only */
        return GL_OK;
    }
    if (rc == GL_ENOTFOUND) {
        rc = fn(o, r, res);
    }
    if (rc == GL_OK) {
        rc = ol_record(o, r, res);
    }
    if (rc == GL_OK) {
        rc = ledger_batch_commit(o->lg);
    } else {
        ledger_batch_rollback(o->lg);
    }
    if (rc != GL_OK) {
        char why[ONLINE_ERR_MAX];
        snprintf(why, sizeof why, "%s: nothing done (%.160s)", gl_strerror(rc),
                 o->sql.errmsg[0] != '\0' ? o->sql.errmsg
                                          : store_errmsg(o->st));
        memset(res, 0, sizeof *res);
        snprintf(res->err, sizeof res->err, "%s", why);
        GL_LOG_WARN("online", "merchant %s: %s failed: %s", r->merchant, r->op,
                    why);
    }
    return rc;
}

int online_authorize(struct online *o, const char *merchant,
                     const char *idem_key, const char *voucher, const char *pin,
                     int64_t amount, struct online_result *res)
{
    struct ol_req r = {.op = "authorize",
                       .merchant = merchant,
                       .key = idem_key,
                       .voucher = voucher,
                       .pin = pin != NULL && pin[0] != '\0' ? pin : NULL,
                       .amount = amount};
    memset(res, 0, sizeof *res);
    if (!ol_digits(voucher, VOUCHER_NUM_LEN, VOUCHER_NUM_LEN)) {
        snprintf(res->err, sizeof res->err, "voucher number: 16 digits");
        return GL_EINVAL;
    }
    if (r.pin != NULL && !ol_digits(r.pin, 4, 12)) {
        snprintf(res->err, sizeof res->err, "PIN: 4 to 12 digits");
        return GL_EINVAL;
    }
    if (amount <= 0) {
        snprintf(res->err, sizeof res->err, "amount must be positive");
        return GL_EINVAL;
    }
    return ol_run(o, &r, ol_do_authorize, res);
}

int online_capture(struct online *o, const char *merchant, const char *idem_key,
                   const char *auth_id, int64_t amount,
                   struct online_result *res)
{
    char aid[ONLINE_IDEM_MAX + 1]; /* auth_id may point into res */
    struct ol_req r = {.op = "capture",
                       .merchant = merchant,
                       .key = idem_key,
                       .auth_id = aid,
                       .amount = amount};
    int ok = ol_token(auth_id, ONLINE_IDEM_MAX);
    snprintf(aid, sizeof aid, "%s", ok ? auth_id : "");
    memset(res, 0, sizeof *res);
    if (!ok) {
        snprintf(res->err, sizeof res->err, "bad authorization id");
        return GL_EINVAL;
    }
    if (amount <= 0) {
        snprintf(res->err, sizeof res->err, "amount must be positive");
        return GL_EINVAL;
    }
    return ol_run(o, &r, ol_do_capture, res);
}

int online_void(struct online *o, const char *merchant, const char *idem_key,
                const char *auth_id, struct online_result *res)
{
    char aid[ONLINE_IDEM_MAX + 1]; /* auth_id may point into res */
    struct ol_req r = {
        .op = "void", .merchant = merchant, .key = idem_key, .auth_id = aid};
    int ok = ol_token(auth_id, ONLINE_IDEM_MAX);
    snprintf(aid, sizeof aid, "%s", ok ? auth_id : "");
    memset(res, 0, sizeof *res);
    if (!ok) {
        snprintf(res->err, sizeof res->err, "bad authorization id");
        return GL_EINVAL;
    }
    return ol_run(o, &r, ol_do_void, res);
}

int online_auth_get(struct online *o, const char *merchant, const char *auth_id,
                    struct online_auth *out)
{
    struct ol_auth x;
    int rc;
    memset(out, 0, sizeof *out);
    if (!ol_token(merchant, REGISTRY_ID_MAX) ||
        !ol_token(auth_id, ONLINE_IDEM_MAX)) {
        return GL_EINVAL;
    }
    if (!ol_auth_id_ok(auth_id)) {
        return GL_ENOTFOUND;
    }
    rc = ol_auth_load(o, auth_id, merchant, &x);
    if (rc != GL_OK) {
        return rc;
    }
    if (x.a.state == ONLINE_A_HELD && ledger_now(o->lg) >= x.a.hold_expires) {
        x.a.state = ONLINE_A_EXPIRED;
    }
    *out = x.a;
    return GL_OK;
}

/* ---- standard terms ---------------------------------------------------- */

/* The cash-out rule's figures for v (registry_cashout_used_enough). */
static void ol_cashout_rule(struct online *o, const struct registry_voucher *v,
                            struct online_cashout *out)
{
    int pct = registry_cashout_used_pct(v->face);
    memset(out, 0, sizeof *out);
    out->used_pct_required = pct;
    out->face = v->face;
    out->balance = v->balance;
    out->available = v->available;
    out->used = v->face - v->balance;
    out->min_used = v->face - v->face * (100 - pct) / 100;
    if (v->status != REGISTRY_V_ACTIVE || ledger_now(o->lg) >= v->expires) {
        out->verdict = ONLINE_CASHOUT_NOT_USABLE;
    } else if (v->available <= 0) {
        out->verdict = ONLINE_CASHOUT_NOTHING_LEFT;
    } else if (!registry_cashout_used_enough(v->face, v->balance)) {
        out->verdict = ONLINE_CASHOUT_TOO_LITTLE_USED;
    } else {
        out->verdict = ONLINE_CASHOUT_OK;
        out->payout = v->available;
    }
}

int online_cashout_allowed(struct online *o, const char *voucher,
                           struct online_cashout *out)
{
    struct registry_voucher v;
    int rc;

    memset(out, 0, sizeof *out);
    if (!ol_digits(voucher, VOUCHER_NUM_LEN, VOUCHER_NUM_LEN)) {
        return GL_EINVAL;
    }
    rc = registry_voucher_get(o->reg, voucher, &v);
    if (rc == GL_OK) {
        ol_cashout_rule(o, &v, out);
    }
    crypto_wipe(&v, sizeof v);
    return rc;
}

struct ol_expiring {
    int64_t from, to;
    online_voucher_cb cb;
    void *ctx;
};

static int ol_expiring_cb(void *ctx, const struct registry_voucher *v)
{
    struct ol_expiring *e = ctx;
    if (v->status != REGISTRY_V_ACTIVE || v->balance <= 0 ||
        v->expires <= e->from || v->expires > e->to) {
        return 0;
    }
    return e->cb(e->ctx, v);
}

int online_expiring(struct online *o, int64_t now, int days,
                    online_voucher_cb cb, void *ctx)
{
    struct ol_expiring e = {
        .from = now, .to = now + (int64_t)days * OL_DAY, .cb = cb, .ctx = ctx};
    if (days < 1 || days > 366 || cb == NULL) {
        return GL_EINVAL;
    }
    return registry_voucher_list(o->reg, NULL, ol_expiring_cb, &e);
}

int online_extend(struct online *o, const char *voucher, int days,
                  struct online_extension *out)
{
    struct registry_voucher v;
    char masked[GL_MASK_MAX];
    int64_t now;
    int rc, src;
    sqlite3_stmt *st;

    memset(out, 0, sizeof *out);
    memset(&v, 0, sizeof v);
    if (!ol_digits(voucher, VOUCHER_NUM_LEN, VOUCHER_NUM_LEN) || days < 1 ||
        days > ONLINE_EXTEND_MAX_DAYS) {
        return GL_EINVAL;
    }
    rc = ledger_batch_begin(o->lg);
    if (rc != GL_OK) {
        return rc;
    }
    now = ledger_now(o->lg);
    rc = registry_voucher_get(o->reg, voucher, &v);
    if (rc != GL_OK) {
        goto out;
    }
    st = gl_sql_stmt(&o->sql, ONLINE_Q_EXT_GET, STORE_ARGS(STORE_I(v.account)));
    src = sqlite3_step(st);
    if (src == SQLITE_ROW) {
        out->verdict = ONLINE_EXTEND_ALREADY;
        out->old_expires = sqlite3_column_int64(st, 0);
        out->new_expires = sqlite3_column_int64(st, 1);
    } else if (src != SQLITE_DONE) {
        rc = gl_sql_last_err(&o->sql);
    }
    sqlite3_reset(st);
    if (rc != GL_OK || src == SQLITE_ROW) {
        goto out;
    }
    if (v.status == REGISTRY_V_FROZEN || v.status == REGISTRY_V_CANCELLED) {
        out->verdict = ONLINE_EXTEND_NOT_USABLE;
    } else if (v.status == REGISTRY_V_EXPIRED || now >= v.expires) {
        out->verdict = ONLINE_EXTEND_EXPIRED;
    } else if (v.balance <= 0) {
        out->verdict = ONLINE_EXTEND_NOTHING_LEFT;
    } else {
        out->verdict = ONLINE_EXTEND_OK;
        out->old_expires = v.expires;
        out->new_expires = v.expires + (int64_t)days * OL_DAY;
        rc = registry_voucher_set_expiry(o->reg, voucher, out->new_expires);
        if (rc == GL_OK) {
            rc =
                gl_sql_exec(&o->sql, ONLINE_Q_EXT_INSERT,
                            STORE_ARGS(STORE_I(v.account), STORE_I(days),
                                       STORE_I(out->old_expires),
                                       STORE_I(out->new_expires), STORE_I(now)),
                            NULL);
        }
        if (rc == GL_OK && v.member_phone[0] != '\0') {
            char text[NOTIFY_TEXT_MAX], key[48], date[16];
            gl_kst_date(date, out->new_expires);
            snprintf(text, sizeof text,
                     "[giftlink] 상품권 %s 유효기간이 %s까지 %d일 "
                     "연장되었습니다.",
                     gl_mask_pan(masked, v.number, strlen(v.number)), date,
                     days);
            snprintf(key, sizeof key, "extend:%" PRId64, v.account);
            rc = notify_enqueue_at(o->sql.db, key, v.member_phone, text, now);
        }
    }
out:
    if (rc == GL_OK && out->verdict == ONLINE_EXTEND_OK) {
        rc = ledger_batch_commit(o->lg);
        if (rc == GL_OK) {
            GL_LOG_INFO("online", "voucher %s extended by %d days",
                        gl_mask_pan(masked, v.number, strlen(v.number)), days);
        }
    } else {
        ledger_batch_rollback(o->lg); /* nothing written */
    }
    if (rc != GL_OK) {
        memset(out, 0, sizeof *out);
    }
    crypto_wipe(&v, sizeof v);
    return rc;
}

/* ---- cash-out payout ------------------------------------------------------
 */

/* The latest payout of the voucher's account into out; GL_ENOTFOUND. */
static int ol_payout_last(struct online *o, int64_t account,
                          struct online_payout *out)
{
    char acct[ONLINE_ACCOUNT_MAX + 1];
    sqlite3_stmt *st = gl_sql_stmt(&o->sql, ONLINE_Q_PAYOUT_LAST,
                                   STORE_ARGS(STORE_I(account)));
    int src = sqlite3_step(st), rc = GL_OK;
    if (src == SQLITE_ROW) {
        out->payout_id = sqlite3_column_int64(st, 0);
        out->amount = sqlite3_column_int64(st, 1);
        gl_sql_copy_text(out->bank, sizeof out->bank, st, 2);
        gl_sql_copy_text(acct, sizeof acct, st, 3);
        out->created = sqlite3_column_int64(st, 4);
        gl_mask_pan(out->account_masked, acct, strlen(acct));
        crypto_wipe(acct, sizeof acct);
    } else if (src == SQLITE_DONE) {
        rc = GL_ENOTFOUND;
    } else {
        rc = gl_sql_last_err(&o->sql);
    }
    sqlite3_reset(st);
    return rc;
}

int online_cashout(struct online *o, const char *voucher, const char *phone,
                   const char *bank, const char *account,
                   struct online_payout *out)
{
    struct registry_voucher v;
    struct ledger_result lr;
    char masked[GL_MASK_MAX], xid[LEDGER_ID_CAP + 1], text[NOTIFY_TEXT_MAX];
    char key[48], amount[32], mp[GL_MASK_MAX];
    int64_t now, cash = 0;
    int rc;

    memset(out, 0, sizeof *out);
    memset(&v, 0, sizeof v);
    if (!ol_digits(voucher, VOUCHER_NUM_LEN, VOUCHER_NUM_LEN) ||
        !ol_digits(bank, ONLINE_BANK_LEN, ONLINE_BANK_LEN) ||
        !ol_digits(account, ONLINE_ACCOUNT_MIN, ONLINE_ACCOUNT_MAX) ||
        phone == NULL || notify_phone_check(phone) != GL_OK) {
        return GL_EINVAL;
    }
    rc = ledger_batch_begin(o->lg);
    if (rc != GL_OK) {
        return rc;
    }
    now = ledger_now(o->lg);
    rc = registry_voucher_get(o->reg, voucher, &v);
    if (rc == GL_OK && strcmp(v.member_phone, phone) != 0) {
        rc = GL_ENOTFOUND; /* someone else's: as if there were none */
    }
    if (rc != GL_OK) {
        goto rollback;
    }
    ol_cashout_rule(o, &v, &out->check);
    if (out->check.verdict == ONLINE_CASHOUT_NOTHING_LEFT) {
        /* Paid out before and nothing since: that payout again. */
        rc = ol_payout_last(o, v.account, out);
        if (rc == GL_OK && out->created > 0) {
            out->replay = 1;
            out->check.verdict = ONLINE_CASHOUT_OK;
        } else if (rc == GL_ENOTFOUND) {
            memset(out->bank, 0, sizeof out->bank);
            out->payout_id = out->amount = out->created = 0;
            rc = GL_OK;
        }
        goto rollback;
    }
    if (out->check.verdict != ONLINE_CASHOUT_OK) {
        goto rollback;
    }
    rc = ledger_account_ensure(o->lg, LEDGER_ACC_CASHOUT, "", 0, &cash);
    if (rc == GL_OK) {
        rc = gl_sql_exec(
            &o->sql, ONLINE_Q_PAYOUT_INSERT,
            STORE_ARGS(STORE_I(v.account),
                       STORE_T(gl_mask_pan(masked, v.number, strlen(v.number))),
                       STORE_T(phone), STORE_T(bank), STORE_T(account),
                       STORE_I(out->check.payout), STORE_I(now)),
            NULL);
    }
    if (rc != GL_OK) {
        goto rollback;
    }
    out->payout_id = sqlite3_last_insert_rowid(o->sql.db);
    snprintf(xid, sizeof xid, "payout:%" PRId64, out->payout_id);
    struct ledger_transfer t = {.id = xid,
                                .debit = v.account,
                                .credit = cash,
                                .amount = out->check.payout,
                                .kind = LEDGER_TK_CASHOUT};
    rc = ledger_transfer_apply(o->lg, &t, &lr);
    if (rc != GL_OK) {
        goto rollback;
    }
    out->amount = out->check.payout;
    out->created = now;
    snprintf(out->bank, sizeof out->bank, "%s", bank);
    gl_mask_pan(out->account_masked, account, strlen(account));
    gl_krw(amount, out->amount);
    snprintf(text, sizeof text,
             "[giftlink] 상품권 %s 잔액 %s원 환급 신청 완료: %s 은행 계좌 %s로 "
             "입금됩니다.",
             masked, amount, bank, out->account_masked);
    snprintf(key, sizeof key, "payout:%" PRId64, out->payout_id);
    rc = notify_enqueue_at(o->sql.db, key, phone, text, now);
    if (rc != GL_OK) {
        goto rollback;
    }
    rc = ledger_batch_commit(o->lg);
    if (rc == GL_OK) {
        GL_LOG_INFO("online",
                    "voucher %s cashed out: %" PRId64 " KRW to bank %s "
                    "account %s for %s (payout %" PRId64 ")",
                    masked, out->amount, bank, out->account_masked,
                    gl_mask_phone(mp, phone), out->payout_id);
    } else {
        memset(out, 0, sizeof *out);
    }
    crypto_wipe(&v, sizeof v);
    return rc;
rollback:
    ledger_batch_rollback(o->lg); /* a verdict, a replay or a failure */
    if (rc != GL_OK) {
        memset(out, 0, sizeof *out);
    }
    crypto_wipe(&v, sizeof v);
    return rc;
}

/* ---- expiry notices --------------------------------------------------------
 */

struct ol_notice {
    int64_t account, expires, balance;
    char phone[REGISTRY_PHONE_MAX + 1];
    char masked[GL_MASK_MAX];
};

struct ol_notices {
    struct ol_notice *v;
    size_t n, cap;
};

static int ol_notice_cb(void *ctx, const struct registry_voucher *v)
{
    struct ol_notices *l = ctx;
    if (v->member_phone[0] == '\0') {
        return 0; /* a bearer voucher: nobody to tell */
    }
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        struct ol_notice *nv = realloc(l->v, cap * sizeof *nv);
        if (nv == NULL) {
            return GL_ENOMEM;
        }
        l->v = nv;
        l->cap = cap;
    }
    struct ol_notice *e = &l->v[l->n++];
    e->account = v->account;
    e->expires = v->expires;
    e->balance = v->balance;
    snprintf(e->phone, sizeof e->phone, "%s", v->member_phone);
    gl_mask_pan(e->masked, v->number, strlen(v->number));
    return 0;
}

int online_notify_expiring(struct online *o, int64_t now, int days, int *queued)
{
    struct ol_notices l = {0};
    int n = 0;
    int rc = online_expiring(o, now, days, ol_notice_cb, &l);
    for (size_t i = 0; rc == GL_OK && i < l.n; i++) {
        const struct ol_notice *e = &l.v[i];
        char text[NOTIFY_TEXT_MAX], key[64], date[16], amount[32];
        int64_t added = 0;
        rc = ledger_batch_begin(o->lg);
        if (rc != GL_OK) {
            break;
        }
        rc = gl_sql_exec(
            &o->sql, ONLINE_Q_NOTICE_INSERT,
            STORE_ARGS(STORE_I(e->account), STORE_I(e->expires), STORE_I(now)),
            &added);
        if (rc == GL_OK && added == 1) {
            gl_kst_date(date, e->expires);
            gl_krw(amount, e->balance);
            snprintf(text, sizeof text,
                     "[giftlink] 상품권 %s (잔액 %s원)의 유효기간이 %s에 "
                     "끝납니다. 앱에서 사용하거나 기간을 연장하세요.",
                     e->masked, amount, date);
            snprintf(key, sizeof key, "expiry:%" PRId64 ":%" PRId64, e->account,
                     e->expires);
            rc = notify_enqueue_at(o->sql.db, key, e->phone, text, now);
        }
        if (rc == GL_OK) {
            rc = ledger_batch_commit(o->lg);
            n += rc == GL_OK && added == 1;
        } else {
            ledger_batch_rollback(o->lg);
        }
    }
    free(l.v);
    if (queued != NULL) {
        *queued = n;
    }
    return rc;
}

/* ---- the bank transfer file -----------------------------------------------
 */

int online_payout_export(struct online *o, const char *path, int *count)
{
    int n = 0, rc, src, fd;
    FILE *f;
    int64_t marked = 0;

    if (count != NULL) {
        *count = 0;
    }
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        snprintf(o->sql.errmsg, sizeof o->sql.errmsg, "%s: %s", path,
                 strerror(errno));
        return errno == EEXIST ? GL_EEXIST : GL_EIO;
    }
    f = fdopen(fd, "w");
    if (f == NULL) {
        close(fd);
        unlink(path);
        return GL_EIO;
    }
    rc = ledger_batch_begin(o->lg);
    if (rc != GL_OK) {
        fclose(f);
        unlink(path);
        return rc;
    }
    if (fprintf(f, "payout_id,created,bank,account,amount,phone\n") < 0) {
        rc = GL_EIO;
    }
    sqlite3_stmt *st = gl_sql_stmt(&o->sql, ONLINE_Q_PAYOUT_DUE, NULL, 0);
    while (rc == GL_OK && (src = sqlite3_step(st)) == SQLITE_ROW) {
        if (fprintf(f, "%" PRId64 ",%" PRId64 ",%s,%s,%" PRId64 ",%s\n",
                    (int64_t)sqlite3_column_int64(st, 0),
                    (int64_t)sqlite3_column_int64(st, 1),
                    (const char *)sqlite3_column_text(st, 2),
                    (const char *)sqlite3_column_text(st, 3),
                    (int64_t)sqlite3_column_int64(st, 4),
                    (const char *)sqlite3_column_text(st, 5)) < 0) {
            rc = GL_EIO;
        }
        n++;
    }
    if (rc == GL_OK && src != SQLITE_DONE) {
        rc = gl_sql_last_err(&o->sql);
    }
    sqlite3_reset(st);
    if (rc == GL_OK && (fflush(f) != 0 || fsync(fileno(f)) != 0)) {
        snprintf(o->sql.errmsg, sizeof o->sql.errmsg, "%s: %s", path,
                 strerror(errno));
        rc = GL_EIO;
    }
    if (rc == GL_OK) {
        rc = gl_sql_exec(&o->sql, ONLINE_Q_PAYOUT_MARK,
                         STORE_ARGS(STORE_I(ledger_now(o->lg))), &marked);
    }
    if (rc == GL_OK && marked != n) {
        rc = GL_DB; /* cannot happen inside the transaction */
    }
    if (rc == GL_OK) {
        rc = ledger_batch_commit(o->lg);
    } else {
        ledger_batch_rollback(o->lg);
    }
    if (fclose(f) != 0 && rc == GL_OK) {
        rc = GL_EIO; /* committed: the file is whole (synced above) */
    }
    if (rc != GL_OK) {
        unlink(path);
        return rc;
    }
    if (count != NULL) {
        *count = n;
    }
    GL_LOG_INFO("online", "%d payout(s) exported to %s", n, path);
    return GL_OK;
}
