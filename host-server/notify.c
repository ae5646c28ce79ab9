/*
 * notify.c - the outbox and its SMS sender; see notify.h for the contract.
 *
 * Schema: outbox holds one row per notification; outbox_part one row per
 * part the SMSC accepted, with its message id, so a retry skips the parts
 * already accepted and a receipt finds its row.  States are stored as
 * words so an operator reading the table with sqlite3 needs no legend.
 */
#include "notify.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "gl_err.h"
#include "gl_log.h"
#include "gl_sql.h"

#define MOD "notify"

static const char *const nt_state_names[] = {
    [NOTIFY_QUEUED] = "queued", [NOTIFY_SENDING] = "sending",
    [NOTIFY_SENT] = "sent",     [NOTIFY_DELIVERED] = "delivered",
    [NOTIFY_FAILED] = "failed",
};

const char *notify_state_name(enum notify_state s)
{
    return (unsigned)s < sizeof nt_state_names / sizeof nt_state_names[0]
               ? nt_state_names[s]
               : "?";
}

static enum notify_state nt_state_parse(const char *s)
{
    for (unsigned i = 0; i < sizeof nt_state_names / sizeof nt_state_names[0];
         i++) {
        if (strcmp(s, nt_state_names[i]) == 0) {
            return (enum notify_state)i;
        }
    }
    return NOTIFY_FAILED;
}

/* ---- schema ---------------------------------------------------------- */

static const char *const nt_migrations[] = {
    /* 1: outbox and the parts the SMSC accepted */
    "CREATE TABLE outbox ("
    "  id INTEGER PRIMARY KEY,"
    "  created INTEGER NOT NULL,"
    "  kind TEXT NOT NULL CHECK (kind IN ('sms', 'mms')),"
    "  phone TEXT NOT NULL,"
    "  text TEXT NOT NULL,"
    "  idem_key TEXT NOT NULL UNIQUE,"
    "  state TEXT NOT NULL DEFAULT 'queued' CHECK (state IN"
    "    ('queued', 'sending', 'sent', 'delivered', 'failed')),"
    "  attempts INTEGER NOT NULL DEFAULT 0,"
    "  next_at INTEGER NOT NULL,"
    "  parts INTEGER NOT NULL DEFAULT 0,"
    "  smsc_id TEXT,"
    "  last_error TEXT,"
    "  updated INTEGER NOT NULL);"
    "CREATE INDEX outbox_due ON outbox(state, next_at);"
    "CREATE TABLE outbox_part ("
    "  outbox_id INTEGER NOT NULL REFERENCES outbox(id),"
    "  part INTEGER NOT NULL,"
    "  smsc_id TEXT NOT NULL,"
    "  sent_at INTEGER NOT NULL,"
    "  stat TEXT,"
    "  receipt_at INTEGER,"
    "  PRIMARY KEY (outbox_id, part));"
    "CREATE INDEX outbox_part_smsc ON outbox_part(smsc_id);",
};

#define NT_NMIGRATIONS ((int)(sizeof nt_migrations / sizeof nt_migrations[0]))

/* SQLite's code -> gl_err (gl_sql_rc); out of memory is GL_ENOMEM. */
static int nt_err(int src)
{
    return (src & 0xff) == SQLITE_NOMEM ? GL_ENOMEM : gl_sql_rc(src);
}

/* Reads the outbox's schema version (0 when new). */
static int nt_version(sqlite3 *db, int *version)
{
    sqlite3_stmt *s = NULL;
    int src = sqlite3_prepare_v2(db, "SELECT version FROM notify_schema", -1,
                                 &s, NULL);
    *version = 0;
    if (src == SQLITE_OK) {
        src = sqlite3_step(s);
        if (src == SQLITE_ROW) {
            *version = sqlite3_column_int(s, 0);
            src = SQLITE_OK;
        } else if (src == SQLITE_DONE) {
            src = SQLITE_OK;
        }
    }
    sqlite3_finalize(s);
    return nt_err(src);
}

/* The MMS side table has its own version (notify_mms_schema), so the SMS
 * outbox's version stays what its own migrations say. */
static const char *const nt_mms_migrations[] = {
    /* 1: what an MMS row needs beyond the outbox row */
    "CREATE TABLE outbox_mms ("
    "  outbox_id INTEGER PRIMARY KEY REFERENCES outbox(id),"
    "  subject TEXT NOT NULL,"
    "  barcode TEXT,"
    "  addons TEXT NOT NULL DEFAULT '');", /* paths, one a line */
};

static int nt_mms_migrate(sqlite3 *db)
{
    sqlite3_stmt *q = NULL;
    int version = 0;
    int src = sqlite3_exec(db,
                           "BEGIN IMMEDIATE;"
                           "CREATE TABLE IF NOT EXISTS notify_mms_schema"
                           " (version INTEGER NOT NULL)",
                           NULL, NULL, NULL);
    if (src == SQLITE_OK) {
        src = sqlite3_prepare_v2(db, "SELECT version FROM notify_mms_schema",
                                 -1, &q, NULL);
    }
    if (src == SQLITE_OK) {
        src = sqlite3_step(q);
        if (src == SQLITE_ROW) {
            version = sqlite3_column_int(q, 0);
        }
        src = src == SQLITE_ROW || src == SQLITE_DONE ? SQLITE_OK : src;
    }
    sqlite3_finalize(q);
    if (src == SQLITE_OK && version > 1) {
        GL_LOG_ERR(MOD, "MMS outbox schema version %d is newer than 1",
                   version);
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
        return GL_DB;
    }
    if (src == SQLITE_OK && version == 0) {
        src = sqlite3_exec(db, nt_mms_migrations[0], NULL, NULL, NULL);
        if (src == SQLITE_OK) {
            src = sqlite3_exec(db, "INSERT INTO notify_mms_schema VALUES (1)",
                               NULL, NULL, NULL);
        }
    }
    if (src == SQLITE_OK) {
        src = sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    }
    if (src != SQLITE_OK) {
        GL_LOG_ERR(MOD, "MMS outbox migration failed: %s", sqlite3_errmsg(db));
        if (!sqlite3_get_autocommit(db)) {
            sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
        }
    }
    return nt_err(src);
}

static int nt_outbox_migrate(sqlite3 *db);

int notify_outbox_init(sqlite3 *db)
{
    int rc = nt_outbox_migrate(db);
    return rc == GL_OK ? nt_mms_migrate(db) : rc;
}

static int nt_outbox_migrate(sqlite3 *db)
{
    char sql[96];
    int rc = GL_OK, in_txn = 0;

    if (db == NULL || !sqlite3_get_autocommit(db)) {
        return GL_EINVAL;
    }
    for (;;) {
        int version,
            src = sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
        if (src == SQLITE_OK) {
            in_txn = 1;
            src = sqlite3_exec(db,
                               "CREATE TABLE IF NOT EXISTS notify_schema"
                               " (version INTEGER NOT NULL)",
                               NULL, NULL, NULL);
        }
        if (src != SQLITE_OK) {
            rc = nt_err(src);
            goto out;
        }
        rc = nt_version(db, &version);
        if (rc != GL_OK) {
            goto out;
        }
        if (version > NT_NMIGRATIONS) {
            GL_LOG_ERR(MOD,
                       "outbox schema version %d is newer than this "
                       "build's %d",
                       version, NT_NMIGRATIONS);
            rc = GL_DB;
            goto out;
        }
        if (version == NT_NMIGRATIONS) {
            break;
        }
        src = sqlite3_exec(db, nt_migrations[version], NULL, NULL, NULL);
        if (src == SQLITE_OK) {
            snprintf(sql, sizeof sql,
                     version == 0 ? "INSERT INTO notify_schema VALUES (%d)"
                                  : "UPDATE notify_schema SET version = %d",
                     version + 1);
            src = sqlite3_exec(db, sql, NULL, NULL, NULL);
        }
        if (src == SQLITE_OK) {
            src = sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
        }
        if (src != SQLITE_OK) {
            rc = nt_err(src);
            goto out;
        }
        in_txn = 0;
    }
out:
    if (in_txn && !sqlite3_get_autocommit(db)) {
        if (rc == GL_OK) {
            int src = sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
            rc = nt_err(src);
        }
        if (rc != GL_OK) {
            GL_LOG_ERR(MOD, "outbox migration failed: %s", sqlite3_errmsg(db));
            sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
        }
    }
    return rc;
}

/* ---- validation -------------------------------------------------------- */

int notify_phone_check(const char *phone)
{
    if (phone == NULL) {
        return GL_SMS_PHONE;
    }
    size_t n = strlen(phone);
    for (size_t i = 0; i < n; i++) {
        if (phone[i] < '0' || phone[i] > '9') {
            return GL_SMS_PHONE;
        }
    }
    if (n < 10 || n > 11 || phone[0] != '0' || phone[1] != '1') {
        return GL_SMS_PHONE;
    }
    switch (phone[2]) {
    case '0':
        return n == 11 ? GL_OK : GL_SMS_PHONE;
    case '1':
    case '6':
    case '7':
    case '8':
    case '9':
        return GL_OK;
    default:
        return GL_SMS_PHONE;
    }
}

int notify_text_check(const char *text)
{
    const unsigned char *p = (const unsigned char *)text;
    size_t chars = 0;

    if (p == NULL || *p == '\0') {
        return GL_SMS_TEXT;
    }
    while (*p != '\0') {
        uint32_t cp;
        int more;
        if (*p < 0x80) {
            cp = *p;
            more = 0;
        } else if ((*p & 0xe0) == 0xc0) {
            cp = *p & 0x1f;
            more = 1;
        } else if ((*p & 0xf0) == 0xe0) {
            cp = *p & 0x0f;
            more = 2;
        } else {
            return GL_SMS_TEXT; /* 4-octet forms lie outside UCS-2 */
        }
        p++;
        for (int i = 0; i < more; i++, p++) {
            if ((*p & 0xc0) != 0x80) {
                return GL_SMS_TEXT;
            }
            cp = cp << 6 | (*p & 0x3f);
        }
        if ((more == 1 && cp < 0x80) || (more == 2 && cp < 0x800) ||
            (cp >= 0xd800 && cp <= 0xdfff)) {
            return GL_SMS_TEXT; /* overlong or a surrogate */
        }
        if (++chars > NOTIFY_TEXT_CHARS) {
            return GL_SMS_TEXT;
        }
    }
    return GL_OK;
}

int64_t notify_backoff(const struct notify_retry *r, int attempts)
{
    int64_t base = r != NULL && r->base_s > 0 ? r->base_s : 5;
    int64_t cap = r != NULL && r->cap_s > 0 ? r->cap_s : 600;
    int64_t d = base;
    for (int i = 1; i < attempts && d < cap; i++) {
        d *= 2;
    }
    return d < cap ? d : cap;
}

/* ---- enqueue ----------------------------------------------------------- */

/* Runs sql once on db with a bound (the enqueue functions take a bare
 * connection, no handle).  *col0 (may be NULL) gets column 0 of the first
 * row, -1 without one. */
static int nt_once(sqlite3 *db, const char *sql, const struct store_val *a,
                   size_t n, int64_t *col0)
{
    sqlite3_stmt *s = NULL;
    int src = sqlite3_prepare_v2(db, sql, -1, &s, NULL);
    if (src == SQLITE_OK) {
        src = gl_sql_bind(s, a, n);
    }
    if (src == SQLITE_OK) {
        src = sqlite3_step(s);
    }
    if (col0 != NULL) {
        *col0 = src == SQLITE_ROW ? sqlite3_column_int64(s, 0) : -1;
    }
    sqlite3_finalize(s);
    return nt_err(src);
}

static int nt_key_bad(sqlite3 *db, const char *key)
{
    return db == NULL || key == NULL || key[0] == '\0' ||
           strlen(key) >= NOTIFY_KEY_MAX;
}

/* Logs an enqueue refused for rc (what: "" or "MMS "); returns rc. */
static int nt_refused(const char *what, const char *key, const char *phone,
                      int rc)
{
    char masked[GL_MASK_MAX];
    GL_LOG_WARN(MOD, "enqueue %s%s to %s refused: %s", what, key,
                gl_mask_phone(masked, phone), gl_strerror(rc));
    return rc;
}

/* Adds the outbox row of kind ("sms", "mms") unless its key is known.
 * *inserted: 1 if it was added. */
static int nt_insert(sqlite3 *db, const char *kind, const char *key,
                     const char *phone, const char *text, int64_t now,
                     int *inserted)
{
    int rc = nt_once(db,
                     "INSERT INTO outbox (created, kind, phone, text,"
                     " idem_key, next_at, updated)"
                     " VALUES (?1, ?5, ?2, ?3, ?4, ?1, ?1)"
                     " ON CONFLICT (idem_key) DO NOTHING",
                     STORE_ARGS(STORE_I(now), STORE_T(phone), STORE_T(text),
                                STORE_T(key), STORE_T(kind)),
                     NULL);
    *inserted = rc == GL_OK && sqlite3_changes(db) == 1;
    return rc;
}

/* The key is known: the same request again (sql's column 0 is 1: GL_OK) or
 * a conflicting one (GL_SMS_CONFLICT, logged; what: "" or "MMS "). */
static int nt_known(sqlite3 *db, const char *what, const char *key,
                    const char *sql, const struct store_val *a, size_t n)
{
    int64_t same;
    int rc = nt_once(db, sql, a, n, &same);
    if (rc == GL_OK && same < 0) {
        rc = GL_DB; /* the key vanished */
    } else if (rc == GL_OK && same == 0) {
        rc = GL_SMS_CONFLICT;
        GL_LOG_WARN(MOD, "enqueue %s%s: key already used for another message",
                    what, key);
    }
    return rc;
}

int notify_enqueue(sqlite3 *db, const char *key, const char *phone,
                   const char *text)
{
    return notify_enqueue_at(db, key, phone, text, (int64_t)time(NULL));
}

int notify_enqueue_at(sqlite3 *db, const char *key, const char *phone,
                      const char *text, int64_t now)
{
    int rc, inserted;

    if (nt_key_bad(db, key)) {
        return GL_EINVAL;
    }
    rc = notify_phone_check(phone);
    if (rc == GL_OK) {
        rc = notify_text_check(text);
    }
    if (rc != GL_OK) {
        return nt_refused("", key, phone, rc);
    }
    rc = nt_insert(db, "sms", key, phone, text, now, &inserted);
    if (rc != GL_OK || inserted) {
        return rc;
    }
    return nt_known(db, "", key,
                    "SELECT kind = 'sms' AND phone = ?2"
                    " AND text = ?3 FROM outbox WHERE idem_key = ?1",
                    STORE_ARGS(STORE_T(key), STORE_T(phone), STORE_T(text)));
}

int notify_enqueue_mms(sqlite3 *db, const char *key, const char *phone,
                       const char *subject, const char *text,
                       const char *barcode, const char *const *addons,
                       int naddons)
{
    return notify_enqueue_mms_at(db, key, phone, subject, text, barcode,
                                 addons, naddons, (int64_t)time(NULL));
}

int notify_enqueue_mms_at(sqlite3 *db, const char *key, const char *phone,
                          const char *subject, const char *text,
                          const char *barcode, const char *const *addons,
                          int naddons, int64_t now)
{
    char list[MMS_ADDONS_MAX * MMS_PATH_MAX] = "";
    int rc, inserted;

    if (nt_key_bad(db, key)) {
        return GL_EINVAL;
    }
    rc = notify_phone_check(phone);
    if (rc == GL_OK) {
        rc = notify_text_check(text);
    }
    if (rc == GL_OK) {
        rc = mms_check(subject, barcode, addons, naddons);
    }
    if (rc != GL_OK) {
        return nt_refused("MMS ", key, phone, rc);
    }
    for (int i = 0; i < naddons; i++) {
        size_t n = strlen(list);
        snprintf(list + n, sizeof list - n, "%s%s", i > 0 ? "\n" : "",
                 addons[i]);
    }
    rc = nt_insert(db, "mms", key, phone, text, now, &inserted);
    if (rc != GL_OK) {
        return rc;
    }
    if (inserted) {
        /* The caller's transaction (or the statement's own) rolls the
         * outbox row back with it if this fails. */
        return nt_once(db,
                       "INSERT INTO outbox_mms (outbox_id, subject,"
                       " barcode, addons) VALUES (?1, ?2, ?3, ?4)",
                       STORE_ARGS(STORE_I(sqlite3_last_insert_rowid(db)),
                                  STORE_T(subject), STORE_T(barcode),
                                  STORE_T(list)),
                       NULL);
    }
    return nt_known(
        db, "MMS ", key,
        "SELECT o.kind = 'mms' AND o.phone = ?2 AND o.text = ?3"
        " AND m.subject = ?4 AND COALESCE(m.barcode, '') = ?5"
        " AND m.addons = ?6"
        " FROM outbox o LEFT JOIN outbox_mms m ON m.outbox_id = o.id"
        " WHERE o.idem_key = ?1",
        STORE_ARGS(STORE_T(key), STORE_T(phone), STORE_T(text),
                   STORE_T(subject), STORE_T(barcode != NULL ? barcode : ""),
                   STORE_T(list)));
}

/* ---- the outbox handle ------------------------------------------------- */

#define NT_ROW_COLS                                                            \
    "id, created, kind, phone, text, idem_key, state, attempts, next_at,"      \
    " parts, COALESCE(smsc_id, ''), COALESCE(last_error, '')"

static const char *const nt_sql[NOTIFY_Q__COUNT] = {
    [NOTIFY_Q_TAKE] =
        "UPDATE outbox SET state = 'sending', next_at = ?1 + ?2, updated = ?1"
        " WHERE id = (SELECT id FROM outbox"
        "   WHERE kind = 'sms' AND state IN ('queued', 'sending')"
        "   AND next_at <= ?1 ORDER BY next_at, id LIMIT 1)"
        " RETURNING id, phone, text, attempts",
    [NOTIFY_Q_PARTS] = "SELECT part FROM outbox_part WHERE outbox_id = ?1",
    [NOTIFY_Q_PART_INSERT] =
        "INSERT INTO outbox_part (outbox_id, part, smsc_id, sent_at)"
        " VALUES (?1, ?2, ?3, ?4)"
        " ON CONFLICT DO UPDATE SET smsc_id = excluded.smsc_id",
    [NOTIFY_Q_PART_DONE] =
        "UPDATE outbox SET parts = ?2, updated = ?4,"
        " smsc_id = COALESCE(smsc_id, ?3),"
        " state = CASE WHEN (SELECT COUNT(*) FROM outbox_part"
        "   WHERE outbox_id = ?1) >= ?2 THEN 'sent' ELSE state END,"
        " last_error = CASE WHEN (SELECT COUNT(*) FROM outbox_part"
        "   WHERE outbox_id = ?1) >= ?2 THEN NULL ELSE last_error END"
        " WHERE id = ?1 AND state IN ('queued', 'sending')",
    [NOTIFY_Q_RETRY] =
        "UPDATE outbox SET attempts = ?2, last_error = ?3, updated = ?4,"
        " state = ?5, next_at = ?6 WHERE id = ?1 AND state = 'sending'",
    [NOTIFY_Q_FAIL] =
        "UPDATE outbox SET state = 'failed', attempts = attempts + 1,"
        " last_error = ?2, updated = ?3"
        " WHERE id = ?1 AND state IN ('queued', 'sending')",
    [NOTIFY_Q_RELEASE] =
        "UPDATE outbox SET state = 'queued', next_at = ?3, last_error = ?2,"
        " updated = ?3 WHERE id = ?1 AND state = 'sending'",
    [NOTIFY_Q_NOTE_DUE] = "UPDATE outbox SET last_error = ?1, updated = ?2"
                          " WHERE kind = 'sms' AND state = 'queued'"
                          " AND next_at <= ?2",
    [NOTIFY_Q_RECEIPT] =
        "UPDATE outbox_part SET stat = ?2, receipt_at = ?3 WHERE smsc_id = ?1"
        " RETURNING outbox_id",
    [NOTIFY_Q_DELIVERED] =
        "UPDATE outbox SET state = 'delivered', updated = ?2"
        " WHERE id = ?1 AND state = 'sent' AND NOT EXISTS (SELECT 1"
        "   FROM outbox_part WHERE outbox_id = ?1"
        "   AND (stat IS NULL OR stat != 'DELIVRD'))",
    [NOTIFY_Q_UNDELIVERED] =
        "UPDATE outbox SET state = 'failed', last_error = ?2, updated = ?3"
        " WHERE id = ?1 AND state IN ('sending', 'sent')",
    [NOTIFY_Q_GET] = "SELECT " NT_ROW_COLS " FROM outbox WHERE id = ?1",
    [NOTIFY_Q_GET_BY_KEY] =
        "SELECT " NT_ROW_COLS " FROM outbox WHERE idem_key = ?1",
    [NOTIFY_Q_TAKE_MMS] =
        "UPDATE outbox SET state = 'sending', next_at = ?1 + ?2, updated = ?1"
        " WHERE id = (SELECT id FROM outbox"
        "   WHERE kind = 'mms' AND state IN ('queued', 'sending')"
        "   AND next_at <= ?1 ORDER BY next_at, id LIMIT 1)"
        " RETURNING id, phone, text, attempts, idem_key",
    [NOTIFY_Q_MMS_PARTS] =
        "SELECT subject, COALESCE(barcode, ''), addons FROM outbox_mms"
        " WHERE outbox_id = ?1",
};

_Static_assert(NOTIFY_Q__COUNT <= GL_SQL_STMT_MAX,
               "room for the outbox's statements");

void notify_outbox_close(struct notify_outbox *ob)
{
    gl_sql_close(&ob->sql);
}

int notify_outbox_open(struct notify_outbox *ob, sqlite3 *db,
                       const struct notify_retry *retry)
{
    int rc;

    memset(ob, 0, sizeof *ob);
    if (retry != NULL) {
        ob->retry = *retry;
    }
    if (ob->retry.base_s <= 0) {
        ob->retry.base_s = 5;
    }
    if (ob->retry.cap_s <= 0) {
        ob->retry.cap_s = 600;
    }
    if (ob->retry.max_attempts <= 0) {
        ob->retry.max_attempts = 8;
    }
    if (ob->retry.lease_s <= 0) {
        ob->retry.lease_s = 300;
    }
    rc = notify_outbox_init(db);
    if (rc != GL_OK) {
        snprintf(ob->sql.errmsg, sizeof ob->sql.errmsg, "outbox migration: %s",
                 db != NULL ? sqlite3_errmsg(db) : "no database");
        return rc;
    }
    return gl_sql_open(&ob->sql, db, "outbox", NULL, nt_sql, NOTIFY_Q__COUNT);
}

/* Ends a use of st whose last sqlite3_step returned src: resets it and
 * clears its bindings, translating src (SQLite's text kept in errmsg and
 * logged). */
static int nt_done(struct notify_outbox *ob, sqlite3_stmt *st, int src)
{
    int rc = gl_sql_err(&ob->sql, src);
    if (rc != GL_OK) {
        GL_LOG_ERR(MOD, "outbox: %s", ob->sql.errmsg);
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc;
}

/* Runs statement q with a bound to its end. */
static int nt_exec(struct notify_outbox *ob, int q, const struct store_val *a,
                   size_t n)
{
    sqlite3_stmt *st = gl_sql_stmt(&ob->sql, q, a, n);
    int src;
    while ((src = sqlite3_step(st)) == SQLITE_ROW) {
    }
    return nt_done(ob, st, src);
}

/*
 * Claims the row q (NOTIFY_Q_TAKE or NOTIFY_Q_TAKE_MMS) finds due at now
 * and marks it sending: its id (the caller zeroed it), phone, text and
 * attempts, and with key != NULL its key.  GL_ENOTFOUND if none is due.
 */
static int nt_take(struct notify_outbox *ob, int q, int64_t now, int64_t *id,
                   char phone[NOTIFY_PHONE_MAX], char text[NOTIFY_TEXT_MAX],
                   int *attempts, char key[NOTIFY_KEY_MAX])
{
    sqlite3_stmt *st = gl_sql_stmt(
        &ob->sql, q, STORE_ARGS(STORE_I(now), STORE_I(ob->retry.lease_s)));
    int src = sqlite3_step(st);
    if (src == SQLITE_ROW) {
        *id = sqlite3_column_int64(st, 0);
        gl_sql_copy_text(phone, NOTIFY_PHONE_MAX, st, 1);
        gl_sql_copy_text(text, NOTIFY_TEXT_MAX, st, 2);
        *attempts = sqlite3_column_int(st, 3);
        if (key != NULL) {
            gl_sql_copy_text(key, NOTIFY_KEY_MAX, st, 4);
        }
        src = sqlite3_step(st);
    }
    int rc = nt_done(ob, st, src);
    return rc == GL_OK && *id == 0 ? GL_ENOTFOUND : rc;
}

int notify_outbox_take(struct notify_outbox *ob, int64_t now,
                       struct notify_msg *m)
{
    sqlite3_stmt *st;
    int src;

    memset(m, 0, sizeof *m);
    int rc = nt_take(ob, NOTIFY_Q_TAKE, now, &m->id, m->phone, m->text,
                     &m->attempts, NULL);
    if (rc != GL_OK) {
        return rc;
    }
    st = gl_sql_stmt(&ob->sql, NOTIFY_Q_PARTS, STORE_ARGS(STORE_I(m->id)));
    while ((src = sqlite3_step(st)) == SQLITE_ROW) {
        int p = sqlite3_column_int(st, 0);
        if (p >= 1 && p <= 32) {
            m->done_parts |= 1u << (p - 1);
        }
    }
    return nt_done(ob, st, src);
}

/* Splits the stored add-on list (paths, one a line) into m. */
static void nt_addons_split(struct notify_mms *m, const char *list)
{
    m->naddons = 0;
    while (list != NULL && *list != '\0' && m->naddons < MMS_ADDONS_MAX) {
        const char *nl = strchr(list, '\n');
        size_t n = nl != NULL ? (size_t)(nl - list) : strlen(list);
        snprintf(m->addons[m->naddons++], MMS_PATH_MAX, "%.*s", (int)n, list);
        list = nl != NULL ? nl + 1 : NULL;
    }
}

int notify_outbox_take_mms(struct notify_outbox *ob, int64_t now,
                           struct notify_mms *m)
{
    for (;;) {
        int src, found = 0;

        memset(m, 0, sizeof *m);
        int rc = nt_take(ob, NOTIFY_Q_TAKE_MMS, now, &m->id, m->phone, m->text,
                         &m->attempts, m->key);
        if (rc != GL_OK) {
            return rc;
        }
        sqlite3_stmt *st = gl_sql_stmt(&ob->sql, NOTIFY_Q_MMS_PARTS,
                                       STORE_ARGS(STORE_I(m->id)));
        src = sqlite3_step(st);
        if (src == SQLITE_ROW) {
            found = 1;
            gl_sql_copy_text(m->subject, sizeof m->subject, st, 0);
            gl_sql_copy_text(m->barcode, sizeof m->barcode, st, 1);
            nt_addons_split(m, (const char *)sqlite3_column_text(st, 2));
            src = sqlite3_step(st);
        }
        rc = nt_done(ob, st, src);
        if (rc != GL_OK || found) {
            return rc;
        }
        rc = notify_outbox_fail(ob, m->id, "MMS row without its outbox_mms row",
                                now);
        if (rc != GL_OK) {
            return rc;
        }
    }
}

/* Records part of row id accepted as smsc_id (NULL: none new) and marks the
 * row sent once all total parts are in. */
static int nt_parts_done(struct notify_outbox *ob, int64_t id, int total,
                         const char *smsc_id, int64_t now)
{
    return nt_exec(ob, NOTIFY_Q_PART_DONE,
                   STORE_ARGS(STORE_I(id), STORE_I(total), STORE_T(smsc_id),
                              STORE_I(now)));
}

int notify_outbox_part_sent(struct notify_outbox *ob, int64_t id, int part,
                            int total, const char *smsc_id, int64_t now)
{
    int rc = nt_exec(
        ob, NOTIFY_Q_PART_INSERT,
        STORE_ARGS(STORE_I(id), STORE_I(part), STORE_T(smsc_id), STORE_I(now)));
    return rc == GL_OK ? nt_parts_done(ob, id, total, smsc_id, now) : rc;
}

static int nt_retry(struct notify_outbox *ob, int64_t id, int prev_attempts,
                    const char *why, int64_t now)
{
    int attempts = prev_attempts + 1;
    int failed = attempts >= ob->retry.max_attempts;
    int64_t next = now + notify_backoff(&ob->retry, attempts);

    int rc =
        nt_exec(ob, NOTIFY_Q_RETRY,
                STORE_ARGS(STORE_I(id), STORE_I(attempts), STORE_T(why),
                           STORE_I(now), STORE_T(failed ? "failed" : "queued"),
                           STORE_I(failed ? now : next)));
    if (rc == GL_OK) {
        if (failed) {
            GL_LOG_WARN(MOD, "outbox %lld failed after %d attempts: %s",
                        (long long)id, attempts, why);
        } else {
            GL_LOG_INFO(MOD,
                        "outbox %lld: attempt %d failed (%s); next in "
                        "%lld s",
                        (long long)id, attempts, why,
                        (long long)(next - now));
        }
    }
    return rc;
}

int notify_outbox_retry(struct notify_outbox *ob, const struct notify_msg *m,
                        const char *why, int64_t now)
{
    return nt_retry(ob, m->id, m->attempts, why, now);
}

int notify_outbox_fail(struct notify_outbox *ob, int64_t id, const char *why,
                       int64_t now)
{
    GL_LOG_WARN(MOD, "outbox %lld failed: %s", (long long)id, why);
    return nt_exec(ob, NOTIFY_Q_FAIL,
                   STORE_ARGS(STORE_I(id), STORE_T(why), STORE_I(now)));
}

int notify_outbox_release(struct notify_outbox *ob, int64_t id, const char *why,
                          int64_t now)
{
    return nt_exec(ob, NOTIFY_Q_RELEASE,
                   STORE_ARGS(STORE_I(id), STORE_T(why), STORE_I(now)));
}

int notify_outbox_note_due(struct notify_outbox *ob, const char *why,
                           int64_t now)
{
    return nt_exec(ob, NOTIFY_Q_NOTE_DUE,
                   STORE_ARGS(STORE_T(why), STORE_I(now)));
}

int notify_outbox_receipt(struct notify_outbox *ob, const char *smsc_id,
                          const char *stat, const char *err, int64_t now)
{
    static const char *const failed[] = {"UNDELIV", "EXPIRED", "DELETED",
                                         "REJECTD", "UNKNOWN"};
    sqlite3_stmt *st =
        gl_sql_stmt(&ob->sql, NOTIFY_Q_RECEIPT,
                    STORE_ARGS(STORE_T(smsc_id), STORE_T(stat), STORE_I(now)));
    int64_t id = 0;
    int src, rc;

    src = sqlite3_step(st);
    if (src == SQLITE_ROW) {
        id = sqlite3_column_int64(st, 0);
        while ((src = sqlite3_step(st)) == SQLITE_ROW) {
        }
    }
    rc = nt_done(ob, st, src);
    if (rc != GL_OK) {
        return rc;
    }
    if (id == 0) {
        GL_LOG_WARN(MOD, "receipt for unknown SMSC message id %s (stat %s)",
                    smsc_id, stat);
        return GL_ENOTFOUND;
    }
    if (strcmp(stat, "DELIVRD") == 0) {
        return nt_exec(ob, NOTIFY_Q_DELIVERED,
                       STORE_ARGS(STORE_I(id), STORE_I(now)));
    }
    for (size_t i = 0; i < sizeof failed / sizeof failed[0]; i++) {
        if (strcmp(stat, failed[i]) == 0) {
            char why[96];
            snprintf(why, sizeof why, "delivery receipt: stat %s err %s", stat,
                     err != NULL && err[0] != '\0' ? err : "-");
            GL_LOG_WARN(MOD, "outbox %lld not delivered: %s", (long long)id,
                        why);
            return nt_exec(ob, NOTIFY_Q_UNDELIVERED,
                           STORE_ARGS(STORE_I(id), STORE_T(why), STORE_I(now)));
        }
    }
    return GL_OK; /* ENROUTE, ACCEPTD: not final */
}

/* The row statement q (GET, GET_BY_KEY) finds for argument a. */
static int nt_get(struct notify_outbox *ob, int q, struct store_val a,
                  struct notify_row *r)
{
    sqlite3_stmt *st = gl_sql_stmt(&ob->sql, q, &a, 1);
    int src = sqlite3_step(st);
    memset(r, 0, sizeof *r);
    if (src == SQLITE_ROW) {
        r->id = sqlite3_column_int64(st, 0);
        r->created = sqlite3_column_int64(st, 1);
        gl_sql_copy_text(r->kind, sizeof r->kind, st, 2);
        gl_sql_copy_text(r->phone, sizeof r->phone, st, 3);
        gl_sql_copy_text(r->text, sizeof r->text, st, 4);
        gl_sql_copy_text(r->key, sizeof r->key, st, 5);
        r->state = nt_state_parse((const char *)sqlite3_column_text(st, 6));
        r->attempts = sqlite3_column_int(st, 7);
        r->next_at = sqlite3_column_int64(st, 8);
        r->parts = sqlite3_column_int(st, 9);
        gl_sql_copy_text(r->smsc_id, sizeof r->smsc_id, st, 10);
        gl_sql_copy_text(r->last_error, sizeof r->last_error, st, 11);
        src = sqlite3_step(st);
    }
    int rc = nt_done(ob, st, src);
    return rc == GL_OK && r->id == 0 ? GL_ENOTFOUND : rc;
}

int notify_outbox_get(struct notify_outbox *ob, int64_t id,
                      struct notify_row *row)
{
    return nt_get(ob, NOTIFY_Q_GET, (struct store_val)STORE_I(id), row);
}

int notify_outbox_get_by_key(struct notify_outbox *ob, const char *key,
                             struct notify_row *row)
{
    return nt_get(ob, NOTIFY_Q_GET_BY_KEY, STORE_T(key), row);
}

/* ---- the sender -------------------------------------------------------- */

static void ns_on_receipt(void *ctx, const struct smpp_receipt *r)
{
    struct notify_sender *s = ctx;
    (void)notify_outbox_receipt(&s->ob, r->msg_id, r->stat, r->err, s->now);
}

const char *notify_sender_errmsg(const struct notify_sender *s)
{
    return s->errmsg;
}

int notify_sender_init(struct notify_sender *s, sqlite3 *db,
                       const struct notify_sender_config *cfg)
{
    struct smpp_client_config sc = cfg->smpp;
    int rc;

    memset(s, 0, sizeof *s);
    s->utf8_to_ucs2 = (iconv_t)-1;
    s->batch = cfg->batch > 0 ? cfg->batch : 32;
    sc.on_receipt = ns_on_receipt;
    sc.ctx = s;
    smpp_client_init(&s->smpp, &sc);
    rc = notify_outbox_open(&s->ob, db, &cfg->retry);
    if (rc != GL_OK) {
        snprintf(s->errmsg, sizeof s->errmsg, "%s", s->ob.sql.errmsg);
        return rc;
    }
    if (cfg->mms.url != NULL && cfg->mms.url[0] != '\0') {
        rc = mms_client_init(&s->mms, &cfg->mms);
        if (rc != GL_OK) {
            snprintf(s->errmsg, sizeof s->errmsg, "MMS: %s",
                     mms_client_errmsg(&s->mms));
            notify_outbox_close(&s->ob);
            return rc;
        }
        s->mms_on = 1;
    }
    s->utf8_to_ucs2 = iconv_open("UCS-2BE", "UTF-8");
    if (s->utf8_to_ucs2 == (iconv_t)-1) {
        snprintf(s->errmsg, sizeof s->errmsg,
                 "no UTF-8 to UCS-2BE converter: %s", strerror(errno));
        notify_outbox_close(&s->ob);
        mms_client_deinit(&s->mms);
        s->mms_on = 0;
        return GL_ENOTSUP;
    }
    return GL_OK;
}

void notify_sender_deinit(struct notify_sender *s)
{
    smpp_client_close(&s->smpp);
    notify_outbox_close(&s->ob);
    if (s->mms_on) {
        mms_client_deinit(&s->mms);
        s->mms_on = 0;
    }
    if (s->utf8_to_ucs2 != (iconv_t)-1) {
        iconv_close(s->utf8_to_ucs2);
        s->utf8_to_ucs2 = (iconv_t)-1;
    }
}

/* UTF-8 text -> UCS-2BE in out; its length in octets, or <0. */
static int ns_to_ucs2(struct notify_sender *s, const char *text, uint8_t *out,
                      size_t cap, size_t *n)
{
    char *in = (char *)text, *o = (char *)out;
    size_t inleft = strlen(text), outleft = cap;

    iconv(s->utf8_to_ucs2, NULL, NULL, NULL, NULL); /* reset the state */
    if (iconv(s->utf8_to_ucs2, &in, &inleft, &o, &outleft) == (size_t)-1) {
        return GL_SMS_TEXT;
    }
    *n = cap - outleft;
    return *n > 0 ? GL_OK : GL_SMS_TEXT;
}

static int ns_link_error(int rc)
{
    return rc == GL_ETIMEDOUT || rc == GL_ECLOSED || rc == GL_SMS_PDU ||
           rc == GL_EIO;
}

/*
 * Sends the parts of m not yet accepted.  Returns GL_OK when the row became
 * sent, a permanent error after failing the row, or a retryable error after
 * scheduling the retry (the caller ends the pass).
 */
static int ns_send_one(struct notify_sender *s, struct notify_msg *m,
                       int64_t now)
{
    uint8_t ucs2[SMPP_MAX_PARTS * SMPP_PART_OCTETS];
    char why[320], masked[GL_MASK_MAX], msg_id[SMPP_MSGID_MAX];
    size_t n = 0;
    int rc;

    gl_mask_phone(masked, m->phone);
    rc = ns_to_ucs2(s, m->text, ucs2, sizeof ucs2, &n);
    if (rc == GL_OK && smpp_parts(n) > SMPP_MAX_PARTS) {
        rc = GL_SMS_TEXT;
    }
    if (rc != GL_OK) {
        snprintf(why, sizeof why, "%s", gl_strerror(rc));
        notify_outbox_fail(&s->ob, m->id, why, now);
        return rc;
    }
    int total = smpp_parts(n);
    /* The concatenation reference comes from the row id, so a retried part
     * joins the parts the handset already has. */
    uint8_t ref = (uint8_t)(m->id & 0xff);
    int submitted = 0;
    for (int p = 1; p <= total; p++) {
        if (m->done_parts & (1u << (p - 1))) {
            continue;
        }
        size_t off = total == 1 ? 0 : (size_t)(p - 1) * SMPP_PART_OCTETS;
        size_t len = total == 1                   ? n
                     : n - off < SMPP_PART_OCTETS ? n - off
                                                  : SMPP_PART_OCTETS;
        rc = smpp_client_submit(&s->smpp, m->phone, ucs2 + off, len, ref, p,
                                total, msg_id);
        if (rc != GL_OK) {
            snprintf(why, sizeof why, "part %d/%d: %s: %s", p, total,
                     gl_strerror(rc), smpp_client_errmsg(&s->smpp));
            snprintf(s->errmsg, sizeof s->errmsg, "outbox %lld to %s: %.200s",
                     (long long)m->id, masked, why);
            if (rc == GL_SMS_REJECTED || rc == GL_EINVAL) {
                notify_outbox_fail(&s->ob, m->id, why, now);
            } else {
                notify_outbox_retry(&s->ob, m, why, now);
            }
            return rc;
        }
        GL_LOG_INFO(MOD, "outbox %lld to %s: part %d/%d accepted as %s",
                    (long long)m->id, masked, p, total, msg_id);
        rc = notify_outbox_part_sent(&s->ob, m->id, p, total, msg_id, now);
        if (rc != GL_OK) {
            return rc;
        }
        m->done_parts |= 1u << (p - 1);
        submitted = 1;
    }
    if (!submitted) {
        /* every part had been accepted before (a crash between the two
         * writes of the last part): only the row's state is behind */
        return nt_parts_done(&s->ob, m->id, total, NULL, now);
    }
    return GL_OK;
}

static int ns_connect(struct notify_sender *s, int64_t now)
{
    if (smpp_client_is_bound(&s->smpp)) {
        return GL_OK;
    }
    if (now < s->next_connect_at) {
        return GL_EAGAIN;
    }
    int rc = smpp_client_open(&s->smpp);
    if (rc == GL_OK) {
        s->connect_failures = 0;
        s->next_connect_at = 0;
        return GL_OK;
    }
    s->connect_failures++;
    s->next_connect_at =
        now + notify_backoff(&s->ob.retry, s->connect_failures);
    snprintf(s->errmsg, sizeof s->errmsg, "SMSC link: %s: %s", gl_strerror(rc),
             smpp_client_errmsg(&s->smpp));
    GL_LOG_WARN(MOD, "%s; next try in %lld s", s->errmsg,
                (long long)(s->next_connect_at - now));
    notify_outbox_note_due(&s->ob, s->errmsg, now);
    return rc;
}

static int ns_mms_permanent(int rc)
{
    return rc == GL_MMS_REJECTED || rc == GL_MMS_CONTENT ||
           rc == GL_MMS_ADDON || rc == GL_MMS_BARCODE || rc == GL_MMS_TOOBIG;
}

/*
 * Posts one MMS row.  GL_OK when it became sent; a permanent error after
 * failing the row; a retryable one after scheduling the retry.
 */
static int ns_send_mms(struct notify_sender *s, struct notify_mms *m,
                       int64_t now)
{
    const char *paths[MMS_ADDONS_MAX];
    char why[400], masked[GL_MASK_MAX], msg_id[MMS_MSGID_MAX];
    struct mms_message mm = {
        .transaction_id = m->key,
        .to = m->phone,
        .subject = m->subject,
        .text = m->text,
        .barcode = m->barcode[0] != '\0' ? m->barcode : NULL,
        .addons = paths,
        .naddons = m->naddons,
    };

    for (int i = 0; i < m->naddons; i++) {
        paths[i] = m->addons[i];
    }
    gl_mask_phone(masked, m->phone);
    int rc = mms_submit(&s->mms, &mm, msg_id);
    if (rc == GL_OK) {
        GL_LOG_INFO(MOD, "outbox %lld to %s: MMS accepted as %s",
                    (long long)m->id, masked, msg_id);
        return notify_outbox_part_sent(&s->ob, m->id, 1, 1, msg_id, now);
    }
    snprintf(why, sizeof why, "MMS: %s: %s", gl_strerror(rc),
             mms_client_errmsg(&s->mms));
    snprintf(s->errmsg, sizeof s->errmsg, "outbox %lld to %s: %.400s",
             (long long)m->id, masked, why);
    if (ns_mms_permanent(rc)) {
        notify_outbox_fail(&s->ob, m->id, why, now);
    } else {
        nt_retry(&s->ob, m->id, m->attempts, why, now);
    }
    return rc;
}

/* The MMS pass of notify_send_due. */
static int ns_send_due_mms(struct notify_sender *s, int64_t now, int *nsent)
{
    int rc = GL_OK;
    for (int i = 0; rc == GL_OK && i < s->batch; i++) {
        rc = notify_outbox_take_mms(&s->ob, now, &s->cur_mms);
        if (rc == GL_ENOTFOUND) {
            return GL_OK;
        }
        if (rc != GL_OK) {
            break;
        }
        rc = ns_send_mms(s, &s->cur_mms, now);
        if (rc == GL_OK) {
            (*nsent)++;
        } else if (ns_mms_permanent(rc)) {
            rc = GL_OK; /* that row failed; the others go on */
        } else {
            GL_LOG_WARN(MOD, "%s", s->errmsg);
        }
    }
    return rc;
}

int notify_send_due(struct notify_sender *s, int64_t now, int *sent)
{
    struct notify_msg *m = &s->cur;
    int rc = GL_OK, nsent = 0, mms_rc = GL_OK;
    char mms_err[sizeof s->errmsg];

    s->now = now;
    s->errmsg[0] = '\0';
    mms_err[0] = '\0';
    if (s->mms_on) {
        mms_rc = ns_send_due_mms(s, now, &nsent);
        snprintf(mms_err, sizeof mms_err, "%s", s->errmsg);
        s->errmsg[0] = '\0';
    }
    rc = ns_connect(s, now);
    for (int i = 0; rc == GL_OK && i < s->batch; i++) {
        rc = notify_outbox_take(&s->ob, now, m);
        if (rc == GL_ENOTFOUND) {
            rc = GL_OK;
            break;
        }
        if (rc != GL_OK) {
            break;
        }
        rc = ns_send_one(s, m, now);
        if (rc == GL_OK) {
            nsent++;
        } else if (rc == GL_SMS_REJECTED || rc == GL_SMS_TEXT ||
                   rc == GL_EINVAL) {
            rc = GL_OK; /* that row failed; the others go on */
        } else if (ns_link_error(rc)) {
            GL_LOG_WARN(MOD, "%s", s->errmsg);
        }
    }
    if (sent != NULL) {
        *sent = nsent;
    }
    if (rc == GL_OK && mms_rc != GL_OK) {
        snprintf(s->errmsg, sizeof s->errmsg, "%s", mms_err);
        rc = mms_rc;
    }
    return rc;
}

int notify_sender_poll(struct notify_sender *s, int64_t now, int timeout_ms)
{
    s->now = now;
    if (s->smpp.fd < 0) {
        return GL_ECLOSED;
    }
    int rc = smpp_client_poll(&s->smpp, timeout_ms);
    if (rc != GL_OK) {
        snprintf(s->errmsg, sizeof s->errmsg, "SMSC link: %s: %s",
                 gl_strerror(rc), smpp_client_errmsg(&s->smpp));
    }
    return rc;
}
