/*
 * webd_db.c - gl-webd's handle (webd_open) and its own tables: one-time
 * sign-in codes and sessions, both stored only as keyed hashes.
 *
 *   webd_code    one row per code made: phone, client address, hash,
 *                created, expires, wrong tries, used (1 once used, or
 *                retired by a newer code).  The rows of the rate window are
 *                also the rate limits' counters, so the limits hold across
 *                restarts and across several gl-webd processes.
 *   webd_session one row per session: hash of the token, phone, expiry.
 *                Logging out deletes the row.
 */
#include <inttypes.h>
#include <jansson.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gl_err.h"
#include "gl_log.h"
#include "gl_sql.h"
#include "notify.h"
#include "webd.h"

enum {
    WQ_COUNT_PHONE,
    WQ_COUNT_IP,
    WQ_PURGE_CODES,
    WQ_PURGE_SESSIONS,
    WQ_RETIRE,
    WQ_CODE_INSERT,
    WQ_CODE_LIVE,
    WQ_CODE_TRY,
    WQ_CODE_USE,
    WQ_SESSION_INSERT,
    WQ_SESSION_GET,
    WQ_SESSION_DELETE,
    WQ__COUNT
};

static const char wdb_schema[] =
    "CREATE TABLE IF NOT EXISTS webd_code ("
    "  id INTEGER PRIMARY KEY, phone TEXT NOT NULL, ip TEXT NOT NULL,"
    "  hash BLOB NOT NULL, created INTEGER NOT NULL,"
    "  expires INTEGER NOT NULL, tries INTEGER NOT NULL DEFAULT 0,"
    "  used INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX IF NOT EXISTS webd_code_phone ON webd_code(phone, created);"
    "CREATE INDEX IF NOT EXISTS webd_code_ip ON webd_code(ip, created);"
    "CREATE INDEX IF NOT EXISTS webd_code_created ON webd_code(created);"
    "CREATE TABLE IF NOT EXISTS webd_session ("
    "  hash BLOB PRIMARY KEY, phone TEXT NOT NULL,"
    "  created INTEGER NOT NULL, expires INTEGER NOT NULL);"
    "CREATE INDEX IF NOT EXISTS webd_session_expires"
    "  ON webd_session(expires);";

static const char *const wdb_sql[WQ__COUNT] = {
    [WQ_COUNT_PHONE] = "SELECT COUNT(*), MIN(created) FROM webd_code"
                       " WHERE phone = ?1 AND created > ?2",
    [WQ_COUNT_IP] = "SELECT COUNT(*), MIN(created) FROM webd_code"
                    " WHERE ip = ?1 AND created > ?2",
    [WQ_PURGE_CODES] = "DELETE FROM webd_code WHERE created <= ?1"
                       " AND expires <= ?2",
    [WQ_PURGE_SESSIONS] = "DELETE FROM webd_session WHERE expires <= ?1",
    [WQ_RETIRE] = "UPDATE webd_code SET used = 1 WHERE phone = ?1"
                  " AND used = 0",
    [WQ_CODE_INSERT] = "INSERT INTO webd_code (phone, ip, hash, created,"
                       " expires) VALUES (?1, ?2, ?3, ?4, ?5)",
    [WQ_CODE_LIVE] = "SELECT id, hash FROM webd_code WHERE phone = ?1"
                     " AND used = 0 AND expires > ?2 AND tries < ?3"
                     " ORDER BY id DESC LIMIT 1",
    [WQ_CODE_TRY] = "UPDATE webd_code SET tries = tries + 1,"
                    " used = (tries + 1 >= ?2) WHERE id = ?1",
    [WQ_CODE_USE] = "UPDATE webd_code SET used = 1 WHERE id = ?1",
    [WQ_SESSION_INSERT] = "INSERT INTO webd_session (hash, phone, created,"
                          " expires) VALUES (?1, ?2, ?3, ?4)",
    [WQ_SESSION_GET] = "SELECT phone FROM webd_session WHERE hash = ?1"
                       " AND expires > ?2",
    [WQ_SESSION_DELETE] = "DELETE FROM webd_session WHERE hash = ?1"
                          " AND expires > ?2",
};

static sqlite3 *wdb(struct webd *w)
{
    return (sqlite3 *)w->st.db;
}

/* rc, with SQLite's text logged when it is an unexpected failure. */
static int wdb_logged(struct webd *w, int rc)
{
    if (rc == GL_DB) {
        GL_LOG_ERR("webd", "sqlite: %s", w->sql.errmsg);
    }
    return rc;
}

/* The error of the step that just failed. */
static int wdb_err(struct webd *w)
{
    return wdb_logged(w, gl_sql_last_err(&w->sql));
}

/* Runs q (no rows); changes (may be NULL) gets the rows written. */
static int wdb_exec(struct webd *w, int q, const struct store_val *a, size_t n,
                    int64_t *changes)
{
    return wdb_logged(w, gl_sql_exec(&w->sql, q, a, n, changes));
}

int webd_db_init(struct webd *w, char *err)
{
    _Static_assert(WQ__COUNT <= GL_SQL_STMT_MAX, "room for webd's statements");
    int rc =
        gl_sql_open(&w->sql, w->st.db, "webd", wdb_schema, wdb_sql, WQ__COUNT);
    if (rc != GL_OK) {
        snprintf(err, 256, "%.255s", w->sql.errmsg);
    }
    return rc;
}

void webd_db_deinit(struct webd *w)
{
    gl_sql_close(&w->sql);
}

int64_t webd_now(const struct webd *w)
{
    return w->clock != NULL ? w->clock(w->clock_ctx) : (int64_t)time(NULL);
}

/* ---- the handle ---------------------------------------------------------- */

static int wdb_read_key(const char *path, uint8_t *key, size_t cap, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        return GL_EIO;
    }
    *len = fread(key, 1, cap, f);
    int more = fgetc(f) != EOF;
    fclose(f);
    return more ? GL_ERANGE : GL_OK;
}

/* The info document: an object with only these members, of these types. */
static int wdb_info_check(json_t *doc, char *why, size_t cap)
{
    static const struct {
        const char *name;
        json_type type;
    } members[] = {{"notices", JSON_ARRAY},
                   {"events", JSON_ARRAY},
                   {"usage_guide", JSON_STRING},
                   {"call_centre", JSON_OBJECT}};
    const char *key;
    json_t *val;
    if (!json_is_object(doc)) {
        snprintf(why, cap, "not a JSON object");
        return GL_EINVAL;
    }
    json_object_foreach(doc, key, val)
    {
        size_t i;
        for (i = 0; i < sizeof members / sizeof members[0]; i++) {
            if (strcmp(key, members[i].name) == 0) {
                break;
            }
        }
        if (i == sizeof members / sizeof members[0]) {
            snprintf(why, cap, "unknown member \"%.40s\"", key);
            return GL_EINVAL;
        }
        if (json_typeof(val) != members[i].type) {
            snprintf(why, cap, "member \"%s\" has the wrong type", key);
            return GL_EINVAL;
        }
    }
    return GL_OK;
}

static int wdb_info_load(struct webd *w, char *err)
{
    json_error_t jerr;
    json_t *doc;
    char why[128];
    if (w->cfg->info_file[0] == '\0') {
        doc = json_pack("{s:[], s:[], s:s, s:{}}", "notices", "events",
                        "usage_guide", "", "call_centre");
    } else {
        doc = json_load_file(w->cfg->info_file, JSON_REJECT_DUPLICATES, &jerr);
        if (doc == NULL) {
            snprintf(err, 256, "info file %.150s: line %d: %.80s",
                     w->cfg->info_file, jerr.line, jerr.text);
            return GL_ECONFIG;
        }
        if (wdb_info_check(doc, why, sizeof why) != GL_OK) {
            snprintf(err, 256, "info file %.120s: %.120s", w->cfg->info_file,
                     why);
            json_decref(doc);
            return GL_ECONFIG;
        }
    }
    w->info_json = doc != NULL ? json_dumps(doc, JSON_COMPACT) : NULL;
    json_decref(doc);
    if (w->info_json == NULL) {
        snprintf(err, 256, "info: out of memory");
        return GL_ENOMEM;
    }
    w->info_len = strlen(w->info_json);
    return GL_OK;
}

int webd_open(struct webd *w, const struct webd_config *cfg, char *err)
{
    struct registry_config rcfg;
    int rc;

    memset(w, 0, sizeof *w);
    w->cfg = cfg;
    err[0] = '\0';
    rc = wdb_read_key(cfg->otp_key_file, w->key, sizeof w->key, &w->key_len);
    if (rc != GL_OK || w->key_len < 16) {
        snprintf(err, 256, "OTP key file %.200s: need 16..%d bytes",
                 cfg->otp_key_file, WEBD_KEY_MAX);
        return GL_ECONFIG;
    }
    rc = crypto_rng_init(&w->rng, "gl-webd");
    w->rng_ready = 1;
    if (rc != GL_OK) {
        snprintf(err, 256, "random generator: %s", gl_strerror(rc));
        return rc;
    }
    rc = store_open(&w->st, NULL, NULL, cfg->db_path);
    if (rc != GL_OK) {
        snprintf(err, 256, "database %.100s: %s (%.80s)", cfg->db_path,
                 gl_strerror(rc), store_errmsg(&w->st));
        return rc;
    }
    w->st_open = 1;
    if (w->st.ops != &store_sqlite_ops) {
        snprintf(err, 256, "gl-webd's tables need the SQLite store");
        return GL_ENOTSUP;
    }
    rc = ledger_init(&w->lg, &w->st, NULL);
    if (rc != GL_OK) {
        snprintf(err, 256, "ledger: %s", gl_strerror(rc));
        return rc;
    }
    w->lg_ready = 1;
    memset(&rcfg, 0, sizeof rcfg);
    rcfg.f_rng = crypto_rng_fill;
    rcfg.p_rng = &w->rng;
    rc = registry_init(&w->reg, &w->lg, &rcfg);
    w->reg_ready = 1;
    if (rc != GL_OK) {
        snprintf(err, 256, "registry: %s", gl_strerror(rc));
        return rc;
    }
    rc = notify_outbox_init(wdb(w));
    if (rc != GL_OK) {
        snprintf(err, 256, "outbox: %s (%.100s)", gl_strerror(rc),
                 sqlite3_errmsg(wdb(w)));
        return rc;
    }
    rc = webd_db_init(w, err);
    if (rc != GL_OK) {
        return rc;
    }
    /* No acquirer here: card purchases run on the card worker. */
    struct shop_config scfg = {.bill_limit = cfg->bill_limit};
    rc = shop_open(&w->shop, &w->reg, NULL, &scfg);
    if (rc != GL_OK) {
        snprintf(err, 256, "shop: %s (%.150s)", gl_strerror(rc),
                 shop_errmsg(&w->shop));
        return rc;
    }
    w->shop_ready = 1;
    struct gift_config gcfg = {
        .content_dir = cfg->content_dir[0] ? cfg->content_dir : NULL,
        .claim_base = cfg->claim_base,
        .expire_days = (int)cfg->expire_days,
        .mms = cfg->mmsc_url[0] != '\0',
    };
    rc = gift_open(&w->gift, &w->reg, &gcfg);
    if (rc != GL_OK) {
        snprintf(err, 256, "gift: %s (%.150s)", gl_strerror(rc),
                 gift_errmsg(&w->gift));
        return rc;
    }
    w->gift_ready = 1;
    /* No pepper: the API key secrets are 256-bit random (online.h), and
     * the OTP key must stay free to change without revoking merchants. */
    rc = online_open(&w->online, &w->reg, NULL);
    if (rc != GL_OK) {
        snprintf(err, 256, "online: %s (%.150s)", gl_strerror(rc),
                 online_errmsg(&w->online));
        return rc;
    }
    w->online_ready = 1;
    return wdb_info_load(w, err);
}

int webd_acq_new(const struct webd_config *cfg, struct acq_client **out,
                 char *err)
{
    char port[8], why[ACQ_ERR_MAX];
    *out = NULL;
    if (cfg->acq_host[0] == '\0') {
        return GL_OK;
    }
    snprintf(port, sizeof port, "%lld", cfg->acq_port);
    struct acq_config acfg = {
        .host = cfg->acq_host,
        .port = port,
        .plain = cfg->acq_plain,
        .ca_file = cfg->acq_ca_file[0] ? cfg->acq_ca_file : NULL,
        .cert_file = cfg->acq_cert_file[0] ? cfg->acq_cert_file : NULL,
        .key_file = cfg->acq_key_file[0] ? cfg->acq_key_file : NULL,
        .server_cn = cfg->acq_server_cn[0] ? cfg->acq_server_cn : NULL,
        .terminal_id = cfg->acq_terminal_id,
        .merchant_id = cfg->acq_merchant_id,
        .timeout_ms = (unsigned)cfg->acq_timeout_ms,
        /* STANs: shop.c's counter in the database (shop_stan), not the
         * client's. */
    };
    why[0] = '\0';
    int rc = acq_client_new(out, &acfg, why);
    if (rc != GL_OK) {
        snprintf(err, 256, "acquirer: %s (%.180s)", gl_strerror(rc), why);
        *out = NULL;
    }
    return rc;
}

void webd_close(struct webd *w)
{
    free(w->info_json);
    w->info_json = NULL;
    if (w->online_ready) {
        online_close(&w->online);
        w->online_ready = 0;
    }
    if (w->gift_ready) {
        gift_close(&w->gift);
        w->gift_ready = 0;
    }
    if (w->shop_ready) {
        shop_close(&w->shop);
        w->shop_ready = 0;
    }
    webd_db_deinit(w);
    if (w->reg_ready) {
        registry_deinit(&w->reg);
        w->reg_ready = 0;
    }
    if (w->lg_ready) {
        ledger_deinit(&w->lg);
        w->lg_ready = 0;
    }
    if (w->st_open) {
        store_close(&w->st);
        w->st_open = 0;
    }
    if (w->rng_ready) {
        crypto_rng_deinit(&w->rng);
        w->rng_ready = 0;
    }
    crypto_wipe(w->key, sizeof w->key);
}

/* ---- codes ------------------------------------------------------------- */

/* HMAC(key, "otp:" phone ":" || code). */
static int wdb_code_hash(struct webd *w, const char *phone, const char *code,
                         uint8_t out[CRYPTO_HMAC_LEN])
{
    char a[REGISTRY_PHONE_MAX + 8];
    int n = snprintf(a, sizeof a, "otp:%s:", phone);
    return crypto_hmac_sha256(w->key, w->key_len, a, (size_t)n, code,
                              strlen(code), out);
}

/* A uniform code of WEBD_CODE_DIGITS digits (rejection sampling). */
static int wdb_code_draw(struct webd *w, char code[WEBD_CODE_DIGITS + 1])
{
    for (;;) {
        uint8_t b[4];
        if (crypto_random(crypto_rng_fill, &w->rng, b, sizeof b) != GL_OK) {
            return GL_CRYPTO;
        }
        uint32_t v = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 |
                     (uint32_t)b[2] << 8 | b[3];
        crypto_wipe(b, sizeof b);
        if (v < 4294000000u) { /* 4294 * 10^6: no bias */
            snprintf(code, WEBD_CODE_DIGITS + 1, "%06u", v % 1000000u);
            return GL_OK;
        }
    }
}

/* Codes of the window for a phone or an address: count and oldest. */
static int wdb_window(struct webd *w, int q, const char *who, int64_t since,
                      int64_t *count, int64_t *oldest)
{
    sqlite3_stmt *s =
        gl_sql_stmt(&w->sql, q, STORE_ARGS(STORE_T(who), STORE_I(since)));
    int src = sqlite3_step(s);
    if (src != SQLITE_ROW) {
        int rc = wdb_err(w);
        sqlite3_reset(s);
        return rc;
    }
    *count = sqlite3_column_int64(s, 0);
    *oldest = sqlite3_column_int64(s, 1);
    sqlite3_reset(s);
    return GL_OK;
}

int webd_code_issue(struct webd *w, const char *phone, const char *ip,
                    struct webd_code_result *res)
{
    const struct webd_config *cfg = w->cfg;
    int64_t now = webd_now(w), since = now - cfg->rate_window;
    int64_t n_phone = 0, old_phone = 0, n_ip = 0, old_ip = 0;
    char code[WEBD_CODE_DIGITS + 1] = "";
    char text[160], key[48], mask[GL_MASK_MAX];
    uint8_t hash[CRYPTO_HMAC_LEN];
    int rc;

    memset(res, 0, sizeof *res);
    /*
     * members_only: a non-member's request is handled like a member's (rate
     * limits, a row with the hash of a code nobody gets) except that no SMS
     * is queued, so neither the answer nor the 429s tell who is a member.
     */
    int member = 1;
    if (cfg->members_only) {
        int64_t id;
        rc = registry_member_find(&w->reg, phone, &id);
        if (rc == GL_ENOTFOUND) {
            member = 0;
        } else if (rc != GL_OK) {
            return rc;
        }
    }
    rc = store_op_begin(&w->st);
    if (rc != GL_OK) {
        return rc;
    }
    rc = wdb_window(w, WQ_COUNT_PHONE, phone, since, &n_phone, &old_phone);
    if (rc == GL_OK) {
        rc = wdb_window(w, WQ_COUNT_IP, ip, since, &n_ip, &old_ip);
    }
    if (rc != GL_OK) {
        goto out;
    }
    if (n_phone >= cfg->codes_per_phone || n_ip >= cfg->codes_per_ip) {
        int64_t a = n_phone >= cfg->codes_per_phone
                        ? old_phone + cfg->rate_window - now
                        : 0;
        int64_t b =
            n_ip >= cfg->codes_per_ip ? old_ip + cfg->rate_window - now : 0;
        res->limited = 1;
        res->retry_after = (a > b ? a : b) + 1;
        GL_LOG_INFO("webd",
                    "code for %s: rate limit (%s), retry in %" PRId64 " s",
                    gl_mask_phone(mask, phone),
                    n_phone >= cfg->codes_per_phone ? "phone" : "address",
                    res->retry_after);
        goto out; /* rolls back nothing written */
    }
    /* Housekeeping: codes out of every window, sessions past expiry. */
    rc = wdb_exec(w, WQ_PURGE_CODES, STORE_ARGS(STORE_I(since), STORE_I(now)),
                  NULL);
    if (rc == GL_OK) {
        rc = wdb_exec(w, WQ_PURGE_SESSIONS, STORE_ARGS(STORE_I(now)), NULL);
    }
    if (rc == GL_OK) {
        rc = wdb_exec(w, WQ_RETIRE, STORE_ARGS(STORE_T(phone)), NULL);
    }
    if (rc == GL_OK) {
        rc = wdb_code_draw(w, code);
    }
    if (rc == GL_OK) {
        rc = wdb_code_hash(w, phone, code, hash);
    }
    if (rc != GL_OK) {
        goto out;
    }
    rc = wdb_exec(w, WQ_CODE_INSERT,
                  STORE_ARGS(STORE_T(phone), STORE_T(ip),
                             STORE_B(hash, sizeof hash), STORE_I(now),
                             STORE_I(now + cfg->code_ttl)),
                  NULL);
    if (rc != GL_OK) {
        goto out;
    }
    /* The idempotency key names the code's row: one SMS per code. */
    snprintf(key, sizeof key, "webd-otp:%lld",
             (long long)sqlite3_last_insert_rowid(wdb(w)));
    snprintf(text, sizeof text,
             "[giftlink] 인증번호 %s (%lld분 안에 입력하세요). "
             "타인에게 알려주지 마세요.",
             code, (long long)(cfg->code_ttl + 59) / 60);
    if (member) {
        rc = notify_enqueue_at(wdb(w), key, phone, text, now);
        res->sent = rc == GL_OK;
    }
out:
    rc = store_op_end(&w->st, rc);
    crypto_wipe(code, sizeof code);
    crypto_wipe(text, sizeof text);
    crypto_wipe(hash, sizeof hash);
    if (rc != GL_OK) {
        res->sent = 0;
        GL_LOG_ERR("webd", "code for %s: %s", gl_mask_phone(mask, phone),
                   gl_strerror(rc));
    } else if (res->sent) {
        GL_LOG_INFO("webd", "code for %s queued", gl_mask_phone(mask, phone));
    } else if (!res->limited) {
        GL_LOG_INFO("webd", "code for %s: not a member, no SMS",
                    gl_mask_phone(mask, phone));
    }
    return rc;
}

/* ---- sessions ------------------------------------------------------------ */

/* HMAC(key, "session:" || token bytes); GL_REG_AUTH for a malformed token. */
static int wdb_token_hash(struct webd *w, const char *token,
                          uint8_t out[CRYPTO_HMAC_LEN])
{
    uint8_t raw[WEBD_TOKEN_BYTES];
    if (token == NULL || strlen(token) != WEBD_TOKEN_HEX ||
        crypto_hex_decode(token, WEBD_TOKEN_HEX, raw, sizeof raw) != GL_OK) {
        return GL_REG_AUTH;
    }
    int rc = crypto_hmac_sha256(w->key, w->key_len, "session:", 8, raw,
                                sizeof raw, out);
    crypto_wipe(raw, sizeof raw);
    return rc;
}

int webd_session_create(struct webd *w, const char *phone, const char *code,
                        char token[WEBD_TOKEN_HEX + 1])
{
    int64_t now = webd_now(w);
    uint8_t want[CRYPTO_HMAC_LEN], got[CRYPTO_HMAC_LEN];
    uint8_t raw[WEBD_TOKEN_BYTES], th[CRYPTO_HMAC_LEN];
    char mask[GL_MASK_MAX];
    int64_t id = 0;
    int wrong = 0;
    sqlite3_stmt *s;

    token[0] = '\0';
    int rc = store_op_begin(&w->st);
    if (rc != GL_OK) {
        return rc;
    }
    s = gl_sql_stmt(
        &w->sql, WQ_CODE_LIVE,
        STORE_ARGS(STORE_T(phone), STORE_I(now), STORE_I(w->cfg->code_tries)));
    int src = sqlite3_step(s);
    if (src == SQLITE_ROW && sqlite3_column_bytes(s, 1) == (int)sizeof want) {
        id = sqlite3_column_int64(s, 0);
        memcpy(want, sqlite3_column_blob(s, 1), sizeof want);
    } else if (src != SQLITE_ROW && src != SQLITE_DONE) {
        rc = wdb_err(w);
    }
    sqlite3_reset(s);
    if (rc != GL_OK) {
        goto out;
    }
    if (id == 0) {
        rc = GL_REG_AUTH; /* no live code: nothing to count */
        goto out;
    }
    rc = wdb_code_hash(w, phone, code, got);
    if (rc != GL_OK) {
        goto out;
    }
    if (!crypto_ct_equal(want, got, sizeof want)) {
        rc = wdb_exec(w, WQ_CODE_TRY,
                      STORE_ARGS(STORE_I(id), STORE_I(w->cfg->code_tries)),
                      NULL);
        wrong = 1; /* committed below, answered GL_REG_AUTH */
        goto out;
    }
    rc = wdb_exec(w, WQ_CODE_USE, STORE_ARGS(STORE_I(id)), NULL);
    if (rc == GL_OK &&
        crypto_random(crypto_rng_fill, &w->rng, raw, sizeof raw) != GL_OK) {
        rc = GL_CRYPTO;
    }
    if (rc != GL_OK) {
        goto out;
    }
    crypto_hex_encode(raw, sizeof raw, token);
    rc = wdb_token_hash(w, token, th);
    if (rc != GL_OK) {
        goto out;
    }
    rc = wdb_exec(w, WQ_SESSION_INSERT,
                  STORE_ARGS(STORE_B(th, sizeof th), STORE_T(phone),
                             STORE_I(now), STORE_I(now + w->cfg->session_ttl)),
                  NULL);
out:
    rc = store_op_end(&w->st, rc);
    if (rc == GL_OK && wrong) {
        rc = GL_REG_AUTH;
    }
    if (rc != GL_OK) {
        crypto_wipe(token, WEBD_TOKEN_HEX + 1);
    }
    crypto_wipe(want, sizeof want);
    crypto_wipe(got, sizeof got);
    crypto_wipe(raw, sizeof raw);
    GL_LOG_INFO("webd", "sign-in of %s: %s", gl_mask_phone(mask, phone),
                rc == GL_OK         ? "session created"
                : rc == GL_REG_AUTH ? (wrong ? "wrong code" : "no live code")
                                    : gl_strerror(rc));
    return rc;
}

int webd_session_get(struct webd *w, const char *token,
                     char phone[REGISTRY_PHONE_MAX + 1])
{
    uint8_t th[CRYPTO_HMAC_LEN];
    phone[0] = '\0';
    int rc = wdb_token_hash(w, token, th);
    if (rc != GL_OK) {
        return rc;
    }
    sqlite3_stmt *s =
        gl_sql_stmt(&w->sql, WQ_SESSION_GET,
                    STORE_ARGS(STORE_B(th, sizeof th), STORE_I(webd_now(w))));
    int src = sqlite3_step(s);
    if (src == SQLITE_ROW) {
        snprintf(phone, REGISTRY_PHONE_MAX + 1, "%s",
                 (const char *)sqlite3_column_text(s, 0));
        rc = GL_OK;
    } else {
        rc = src == SQLITE_DONE ? GL_REG_AUTH : wdb_err(w);
    }
    sqlite3_reset(s);
    return rc;
}

int webd_session_delete(struct webd *w, const char *token)
{
    uint8_t th[CRYPTO_HMAC_LEN];
    int rc = wdb_token_hash(w, token, th);
    if (rc != GL_OK) {
        return rc;
    }
    int64_t changes = 0;
    rc = wdb_exec(w, WQ_SESSION_DELETE,
                  STORE_ARGS(STORE_B(th, sizeof th), STORE_I(webd_now(w))),
                  &changes);
    if (rc == GL_OK && changes == 0) {
        rc = GL_REG_AUTH;
    }
    return rc;
}
