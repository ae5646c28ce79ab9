/*
 * gift.c - the customer's gift of vouchers (contract in gift.h).
 *
 * Like shop.c, our tables live in the store's SQLite database and are
 * reached through the store's connection with statements of our own,
 * prepared once.  They take part in the store's transactions:
 * ledger_batch_begin opens one, the registry's and the ledger's operations
 * run in SAVEPOINTs inside it, our statements run in it directly, and
 * ledger_batch_commit commits the lot.
 *
 * Two of our statements write the registry's voucher table (owner and
 * expiry): the registry has no call for either and its statements are the
 * store's append-only list (store.h, store_sqlite.c), which this module
 * does not own.  They should move into the registry
 * (registry_voucher_set_member) when that list is next extended.
 */
#include "gift.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <mbedtls/sha256.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "crypto.h"
#include "gl_err.h"
#include "gl_log.h"
#include "gl_text.h"
#include "mms.h"
#include "notify.h"
#include "store.h"

#define GF_DAY 86400
#define GF_DEFAULT_BASE "https://giftlink.example/g/"

static const char gf_schema[] =
    "CREATE TABLE IF NOT EXISTS gift_content ("
    "  id INTEGER PRIMARY KEY,"
    "  kind INTEGER NOT NULL CHECK (kind BETWEEN 1 AND 4),"
    "  title TEXT NOT NULL, mime TEXT NOT NULL,"
    "  file TEXT NOT NULL," /* name under the content directory */
    "  size INTEGER NOT NULL, sha256 TEXT NOT NULL,"
    "  created INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS gift ("
    "  id INTEGER PRIMARY KEY,"
    "  idem_key TEXT NOT NULL UNIQUE,"
    "  req_hash TEXT NOT NULL," /* SHA-256 of the request's content */
    "  giver TEXT NOT NULL, recipient TEXT NOT NULL,"
    "  message TEXT NOT NULL,"
    "  token_hash BLOB NOT NULL UNIQUE,"
    "  state TEXT NOT NULL CHECK (state IN ('pending', 'accepted',"
    "    'refused', 'expired')),"
    "  total INTEGER NOT NULL,"
    "  joined INTEGER NOT NULL DEFAULT 0,"
    "  created INTEGER NOT NULL, expires_at INTEGER NOT NULL,"
    "  closed_at INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX IF NOT EXISTS gift_giver ON gift(giver, id);"
    "CREATE INDEX IF NOT EXISTS gift_recipient ON gift(recipient, id);"
    "CREATE INDEX IF NOT EXISTS gift_due ON gift(state, expires_at);"
    "CREATE TABLE IF NOT EXISTS gift_item ("
    "  gift_id INTEGER NOT NULL REFERENCES gift(id),"
    "  seq INTEGER NOT NULL,"
    "  voucher TEXT NOT NULL," /* the voucher given (a part: the new one) */
    "  source TEXT NOT NULL,"  /* a part: the original; else = voucher */
    "  amount INTEGER NOT NULL, part INTEGER NOT NULL,"
    "  open INTEGER NOT NULL,"
    "  PRIMARY KEY (gift_id, seq));"
    "CREATE UNIQUE INDEX IF NOT EXISTS gift_item_open"
    "  ON gift_item(voucher) WHERE open = 1;"
    "CREATE TABLE IF NOT EXISTS gift_addon ("
    "  gift_id INTEGER NOT NULL REFERENCES gift(id),"
    "  seq INTEGER NOT NULL,"
    "  content_id INTEGER NOT NULL REFERENCES gift_content(id),"
    "  PRIMARY KEY (gift_id, seq));";

#define GF_COLS                                                                \
    "id, idem_key, req_hash, giver, recipient, message, state, total,"         \
    " joined, created, expires_at, closed_at"
#define GF_CONTENT_COLS "id, kind, title, mime, file, size, sha256, created"

static const char *const gf_sql[GIFT_Q__COUNT] = {
    [GIFT_Q_BY_KEY] = "SELECT " GF_COLS " FROM gift WHERE idem_key = ?1",
    [GIFT_Q_BY_TOKEN] = "SELECT " GF_COLS " FROM gift WHERE token_hash = ?1",
    [GIFT_Q_BY_ID] = "SELECT " GF_COLS " FROM gift WHERE id = ?1",
    [GIFT_Q_INSERT] =
        "INSERT INTO gift (idem_key, req_hash, giver, recipient, message,"
        " token_hash, state, total, created, expires_at)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'pending', ?7, ?8, ?9)",
    [GIFT_Q_CLOSE] = "UPDATE gift SET state = ?2, closed_at = ?3, joined = ?4"
                     " WHERE id = ?1 AND state = 'pending'",
    [GIFT_Q_ITEM_INSERT] =
        "INSERT INTO gift_item (gift_id, seq, voucher, source, amount, part,"
        " open) VALUES (?1, ?2, ?3, ?4, ?5, ?6, 1)",
    [GIFT_Q_ITEMS] = "SELECT seq, voucher, source, amount, part"
                     " FROM gift_item WHERE gift_id = ?1 ORDER BY seq",
    [GIFT_Q_ITEM_OPEN] =
        "SELECT gift_id FROM gift_item WHERE voucher = ?1 AND open = 1",
    [GIFT_Q_ITEMS_CLOSE] = "UPDATE gift_item SET open = 0 WHERE gift_id = ?1",
    [GIFT_Q_ADDON_INSERT] = "INSERT INTO gift_addon (gift_id, seq, content_id)"
                            " VALUES (?1, ?2, ?3)",
    [GIFT_Q_ADDONS] = "SELECT c.id, c.kind, c.title, c.mime FROM gift_addon a"
                      " JOIN gift_content c ON c.id = a.content_id"
                      " WHERE a.gift_id = ?1 ORDER BY a.seq",
    [GIFT_Q_DUE] = "SELECT id FROM gift WHERE state = 'pending'"
                   " AND expires_at <= ?1 ORDER BY expires_at, id LIMIT 1",
    [GIFT_Q_LIST_SENT] =
        "SELECT g.id, g.state, g.recipient, g.message, g.total, g.created,"
        " g.expires_at, g.closed_at, (SELECT COUNT(*) FROM gift_item i"
        " WHERE i.gift_id = g.id) FROM gift g WHERE g.giver = ?1"
        " ORDER BY g.id DESC",
    [GIFT_Q_LIST_RECEIVED] =
        "SELECT g.id, g.state, g.giver, g.message, g.total, g.created,"
        " g.expires_at, g.closed_at, (SELECT COUNT(*) FROM gift_item i"
        " WHERE i.gift_id = g.id) FROM gift g WHERE g.recipient = ?1"
        " ORDER BY g.id DESC",
    /* The registry's table (see the file comment). */
    [GIFT_Q_V_SET_MEMBER] =
        "UPDATE voucher SET member_id = (SELECT id FROM member"
        " WHERE phone = ?2) WHERE number = ?1",
    [GIFT_Q_V_SET_EXPIRES] =
        "UPDATE voucher SET expires = ?2 WHERE number = ?1",
    [GIFT_Q_CONTENT_INSERT] =
        "INSERT INTO gift_content (kind, title, mime, file, size, sha256,"
        " created) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    [GIFT_Q_CONTENT_GET] =
        "SELECT " GF_CONTENT_COLS " FROM gift_content WHERE id = ?1",
    [GIFT_Q_CONTENT_LIST] = "SELECT " GF_CONTENT_COLS " FROM gift_content"
                            " WHERE ?1 = 0 OR kind = ?1 ORDER BY kind, id",
};

_Static_assert(GIFT_Q__COUNT <= GL_SQL_STMT_MAX, "room for gift's statements");

/* A stored gift row. */
struct gf_row {
    int64_t id;
    char key[GIFT_KEY_MAX + 1];
    char req_hash[65];
    char giver[REGISTRY_PHONE_MAX + 1];
    char recipient[REGISTRY_PHONE_MAX + 1];
    char message[GIFT_MESSAGE_CAP];
    enum gift_state state;
    int64_t total;
    int joined;
    int64_t created, expires_at, closed_at;
};

/* A stored item. */
struct gf_item_row {
    int seq;
    char voucher[VOUCHER_NUM_LEN + 1];
    char source[VOUCHER_NUM_LEN + 1];
    int64_t amount;
    int part;
};

/* A checked voucher of a request (holds whole numbers: wiped after use). */
struct gf_check {
    struct registry_voucher v;
    char brand[65];
    int64_t amount; /* given */
    int part;
};

/* ---- names -------------------------------------------------------------- */

const char *gift_outcome_name(enum gift_outcome o)
{
    static const char *const names[] = {
        "done",      "not_member",      "not_owner", "unusable",
        "reserved",  "no_partial",      "amount",    "conflict",
        "bad_token", "wrong_recipient", "closed",    "failed"};
    return (unsigned)o <= GIFT_FAILED ? names[o] : "";
}

const char *gift_state_name(enum gift_state s)
{
    static const char *const names[] = {"pending", "accepted", "refused",
                                        "expired"};
    return (unsigned)s <= GIFT_EXPIRED ? names[s] : "";
}

static enum gift_state gf_state_parse(const char *s)
{
    for (int i = GIFT_PENDING; i <= GIFT_EXPIRED; i++) {
        if (strcmp(s, gift_state_name((enum gift_state)i)) == 0) {
            return (enum gift_state)i;
        }
    }
    return GIFT_PENDING;
}

const char *gift_content_kind_name(int kind)
{
    static const char *const names[] = {"", "ring_tone", "theme_card",
                                        "background_music", "character"};
    return kind >= 1 && kind <= 4 ? names[kind] : "";
}

int gift_content_kind_parse(const char *name)
{
    for (int k = 1; name != NULL && k <= 4; k++) {
        if (strcmp(name, gift_content_kind_name(k)) == 0) {
            return k;
        }
    }
    return GL_EINVAL;
}

const char *gift_errmsg(const struct gift *g)
{
    return g->sql.errmsg;
}

/* ---- statements -----------------------------------------------------------
 */

/* The gift by q (BY_KEY, BY_TOKEN, BY_ID) with argument a. */
static int gf_load(struct gift *g, int q, struct store_val a, struct gf_row *r)
{
    sqlite3_stmt *st = gl_sql_stmt(&g->sql, q, &a, 1);
    int src = sqlite3_step(st);
    int rc = GL_OK;
    memset(r, 0, sizeof *r);
    if (src == SQLITE_ROW) {
        r->id = sqlite3_column_int64(st, 0);
        gl_sql_copy_text(r->key, sizeof r->key, st, 1);
        gl_sql_copy_text(r->req_hash, sizeof r->req_hash, st, 2);
        gl_sql_copy_text(r->giver, sizeof r->giver, st, 3);
        gl_sql_copy_text(r->recipient, sizeof r->recipient, st, 4);
        gl_sql_copy_text(r->message, sizeof r->message, st, 5);
        r->state = gf_state_parse((const char *)sqlite3_column_text(st, 6));
        r->total = sqlite3_column_int64(st, 7);
        r->joined = sqlite3_column_int(st, 8);
        r->created = sqlite3_column_int64(st, 9);
        r->expires_at = sqlite3_column_int64(st, 10);
        r->closed_at = sqlite3_column_int64(st, 11);
    } else if (src == SQLITE_DONE) {
        rc = GL_ENOTFOUND;
    } else {
        rc = gl_sql_last_err(&g->sql);
    }
    sqlite3_reset(st);
    return rc;
}

/* The items of gift id into it[GIFT_ITEMS_MAX]; *n gets how many. */
static int gf_items(struct gift *g, int64_t id, struct gf_item_row *it,
                    size_t *n)
{
    sqlite3_stmt *st =
        gl_sql_stmt(&g->sql, GIFT_Q_ITEMS, STORE_ARGS(STORE_I(id)));
    int src, rc = GL_OK;
    *n = 0;
    while ((src = sqlite3_step(st)) == SQLITE_ROW && *n < GIFT_ITEMS_MAX) {
        struct gf_item_row *r = &it[(*n)++];
        memset(r, 0, sizeof *r);
        r->seq = sqlite3_column_int(st, 0);
        gl_sql_copy_text(r->voucher, sizeof r->voucher, st, 1);
        gl_sql_copy_text(r->source, sizeof r->source, st, 2);
        r->amount = sqlite3_column_int64(st, 3);
        r->part = sqlite3_column_int(st, 4);
    }
    if (src != SQLITE_ROW && src != SQLITE_DONE) {
        rc = gl_sql_last_err(&g->sql);
    }
    sqlite3_reset(st);
    return rc;
}

/* ---- open / close ---------------------------------------------------------
 */

void gift_close(struct gift *g)
{
    gl_sql_close(&g->sql);
}

int gift_open(struct gift *g, struct registry *reg,
              const struct gift_config *cfg)
{
    struct gift_config c = {0};
    int rc;
    memset(g, 0, sizeof *g);
    g->reg = reg;
    g->lg = reg->lg;
    g->st = reg->st;
    if (cfg != NULL) {
        c = *cfg;
    }
    g->expire_days = c.expire_days > 0 ? c.expire_days : GIFT_DEFAULT_DAYS;
    g->mms = c.mms != 0;
    g->content_max =
        c.content_max > 0 ? c.content_max : GIFT_DEFAULT_CONTENT_MAX;
    if (c.claim_base == NULL) {
        c.claim_base = GF_DEFAULT_BASE;
    }
    if (strlen(c.claim_base) > GIFT_LINK_MAX ||
        (c.content_dir != NULL &&
         (c.content_dir[0] == '\0' || strlen(c.content_dir) > GIFT_DIR_MAX))) {
        snprintf(g->sql.errmsg, sizeof g->sql.errmsg,
                 "claim_base or content_dir too long");
        return GL_EINVAL;
    }
    snprintf(g->claim_base, sizeof g->claim_base, "%s", c.claim_base);
    if (c.content_dir != NULL) {
        snprintf(g->content_dir, sizeof g->content_dir, "%s", c.content_dir);
        if (mkdir(g->content_dir, 0750) != 0 && errno != EEXIST) {
            snprintf(g->sql.errmsg, sizeof g->sql.errmsg,
                     "content dir %.160s: %s", g->content_dir, strerror(errno));
            return GL_EOS;
        }
    }
    if (g->st->ops != &store_sqlite_ops) {
        snprintf(g->sql.errmsg, sizeof g->sql.errmsg,
                 "gifts need the SQLite store, not %s", g->st->ops->name);
        return GL_ENOTSUP;
    }
    rc = notify_outbox_init(g->st->db);
    if (rc != GL_OK) {
        snprintf(g->sql.errmsg, sizeof g->sql.errmsg, "outbox: %s",
                 sqlite3_errmsg(g->st->db));
        goto out;
    }
    rc = gl_sql_open(&g->sql, g->st->db, "gift", gf_schema, gf_sql,
                     GIFT_Q__COUNT);
out:
    if (rc != GL_OK) {
        gift_close(g);
    }
    return rc;
}

/* ---- helpers --------------------------------------------------------------
 */

/* "MM/DD" of t in Korea Standard Time. */
static void gf_date(char out[16], int64_t t)
{
    struct tm tm;
    gl_kst(t, &tm);
    snprintf(out, 16, "%02u/%02u", (unsigned)(tm.tm_mon % 12) + 1u,
             (unsigned)tm.tm_mday % 32u);
}

static int gf_key_ok(const char *k)
{
    size_t n = k != NULL ? strlen(k) : 0;
    if (n == 0 || n > GIFT_KEY_MAX) {
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        if (k[i] <= 0x20 || k[i] >= 0x7f) {
            return 0;
        }
    }
    return 1;
}

/* Well-formed UTF-8 of at most max characters, none a control character
 * (below U+0020, U+007F) and none beyond the BMP (SMS carries UCS-2). */
static int gf_text_ok(const char *s, size_t max, int empty_ok)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t chars = 0;
    if (s == NULL || *s == '\0') {
        return empty_ok;
    }
    while (*p) {
        unsigned c = *p;
        int len;
        uint32_t cp;
        if (c < 0x80) {
            len = 1;
            cp = c;
        } else if ((c & 0xe0) == 0xc0) {
            len = 2;
            cp = c & 0x1f;
        } else if ((c & 0xf0) == 0xe0) {
            len = 3;
            cp = c & 0x0f;
        } else {
            return 0;
        }
        for (int i = 1; i < len; i++) {
            if ((p[i] & 0xc0) != 0x80) {
                return 0;
            }
            cp = (cp << 6) | (p[i] & 0x3f);
        }
        if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) ||
            (cp >= 0xd800 && cp <= 0xdfff) || cp < 0x20 || cp == 0x7f) {
            return 0;
        }
        p += len;
        if (++chars > max) {
            return 0;
        }
    }
    return 1;
}

static void gf_hex(char *out, const uint8_t *b, size_t n)
{
    static const char hx[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hx[b[i] >> 4];
        out[2 * i + 1] = hx[b[i] & 15];
    }
    out[2 * n] = '\0';
}

static int gf_sha256(const void *p, size_t n, uint8_t out[32])
{
    return mbedtls_sha256_ret(p, n, out, 0) == 0 ? GL_OK : GL_CRYPTO;
}

/* The stored hash of a claim token; GL_EINVAL unless 32 lowercase hex. */
static int gf_token_hash(const char *token, uint8_t out[32])
{
    if (token == NULL || strlen(token) != GIFT_TOKEN_LEN) {
        return GL_EINVAL;
    }
    for (size_t i = 0; i < GIFT_TOKEN_LEN; i++) {
        char c = token[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
            return GL_EINVAL;
        }
    }
    return gf_sha256(token, GIFT_TOKEN_LEN, out);
}

static int gf_fail(struct gift_result *res, int rc, const char *what,
                   const char *detail)
{
    res->outcome = GIFT_FAILED;
    snprintf(res->err, sizeof res->err, "%s: %s (%.160s)", what,
             gl_strerror(rc), detail != NULL ? detail : "");
    return rc;
}

static int gf_invalid(struct gift_result *res, const char *why)
{
    res->outcome = GIFT_FAILED;
    snprintf(res->err, sizeof res->err, "%s", why);
    return GL_EINVAL;
}

static int gf_refuse(struct gift_result *res, enum gift_outcome o, int item,
                     const char *why)
{
    res->outcome = o;
    res->item = item;
    snprintf(res->err, sizeof res->err, "%s", why);
    return GL_OK;
}

/* ---- the content catalogue ----------------------------------------------- */

static void gf_content_read(struct gift *g, sqlite3_stmt *st,
                            struct gift_content *c)
{
    char file[72];
    memset(c, 0, sizeof *c);
    c->id = sqlite3_column_int64(st, 0);
    c->kind = sqlite3_column_int(st, 1);
    gl_sql_copy_text(c->title, sizeof c->title, st, 2);
    gl_sql_copy_text(c->mime, sizeof c->mime, st, 3);
    gl_sql_copy_text(file, sizeof file, st, 4);
    snprintf(c->path, sizeof c->path, "%s/%s", g->content_dir, file);
    c->size = sqlite3_column_int64(st, 5);
    gl_sql_copy_text(c->sha256, sizeof c->sha256, st, 6);
    c->created = sqlite3_column_int64(st, 7);
}

int gift_content_get(struct gift *g, int64_t id, struct gift_content *out)
{
    sqlite3_stmt *st =
        gl_sql_stmt(&g->sql, GIFT_Q_CONTENT_GET, STORE_ARGS(STORE_I(id)));
    int src = sqlite3_step(st);
    int rc = GL_OK;
    memset(out, 0, sizeof *out);
    if (src == SQLITE_ROW) {
        gf_content_read(g, st, out);
    } else if (src == SQLITE_DONE) {
        rc = GL_ENOTFOUND;
    } else {
        rc = gl_sql_last_err(&g->sql);
    }
    sqlite3_reset(st);
    return rc;
}

int gift_content_list(struct gift *g, int kind, gift_content_cb cb, void *ctx)
{
    struct gift_content c;
    sqlite3_stmt *st =
        gl_sql_stmt(&g->sql, GIFT_Q_CONTENT_LIST, STORE_ARGS(STORE_I(kind)));
    int src, rc = GL_OK;
    if (kind != 0 && gift_content_kind_name(kind)[0] == '\0') {
        sqlite3_reset(st);
        return GL_EINVAL;
    }
    while ((src = sqlite3_step(st)) == SQLITE_ROW) {
        gf_content_read(g, st, &c);
        rc = cb(ctx, &c);
        if (rc != 0) {
            break;
        }
    }
    if (rc == GL_OK && src != SQLITE_DONE) {
        rc = gl_sql_last_err(&g->sql);
    }
    sqlite3_reset(st);
    return rc;
}

/* "type/subtype" of the kind's family, printable, no spaces. */
static int gf_mime_ok(int kind, const char *mime)
{
    const char *fam = kind == GIFT_RING_TONE || kind == GIFT_BACKGROUND_MUSIC
                          ? "audio/"
                          : "image/";
    size_t n = mime != NULL ? strlen(mime) : 0;
    if (n <= strlen(fam) || n > GIFT_MIME_MAX ||
        strncmp(mime, fam, strlen(fam)) != 0) {
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        if (mime[i] <= 0x20 || mime[i] >= 0x7f ||
            (i >= strlen(fam) && mime[i] == '/')) {
            return 0;
        }
    }
    return 1;
}

/* Copies fd (size bytes) to a temporary file of the content directory,
 * synced; tmp gets its path, hex the content's SHA-256. */
static int gf_copy_file(struct gift *g, int in, int64_t size,
                        char tmp[GIFT_PATH_MAX], char hex[65])
{
    mbedtls_sha256_context sha;
    uint8_t buf[16384], sum[32];
    int64_t total = 0;
    int out = -1, rc = GL_OK;

    snprintf(tmp, GIFT_PATH_MAX, "%s/.tmp-XXXXXX", g->content_dir);
    mbedtls_sha256_init(&sha);
    out = mkstemp(tmp);
    if (out < 0) {
        snprintf(g->sql.errmsg, sizeof g->sql.errmsg, "%s: %s", tmp,
                 strerror(errno));
        tmp[0] = '\0';
        rc = GL_EIO;
        goto out;
    }
    if (mbedtls_sha256_starts_ret(&sha, 0) != 0) {
        rc = GL_CRYPTO;
        goto out;
    }
    for (;;) {
        ssize_t n = read(in, buf, sizeof buf);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            snprintf(g->sql.errmsg, sizeof g->sql.errmsg, "read: %s",
                     strerror(errno));
            rc = GL_EIO;
            goto out;
        }
        if (n == 0) {
            break;
        }
        total += n;
        if (total > g->content_max) {
            rc = GL_ERANGE;
            goto out;
        }
        if (mbedtls_sha256_update_ret(&sha, buf, (size_t)n) != 0) {
            rc = GL_CRYPTO;
            goto out;
        }
        for (ssize_t w = 0; w < n;) {
            ssize_t k = write(out, buf + w, (size_t)(n - w));
            if (k < 0 && errno == EINTR) {
                continue;
            }
            if (k < 0) {
                snprintf(g->sql.errmsg, sizeof g->sql.errmsg, "write: %s",
                         strerror(errno));
                rc = GL_EIO;
                goto out;
            }
            w += k;
        }
    }
    if (total != size) {
        snprintf(g->sql.errmsg, sizeof g->sql.errmsg,
                 "the file changed while it was copied");
        rc = GL_EIO;
        goto out;
    }
    if (mbedtls_sha256_finish_ret(&sha, sum) != 0) {
        rc = GL_CRYPTO;
        goto out;
    }
    gf_hex(hex, sum, sizeof sum);
    if (fsync(out) != 0) {
        snprintf(g->sql.errmsg, sizeof g->sql.errmsg, "fsync: %s",
                 strerror(errno));
        rc = GL_EIO;
    }
out:
    mbedtls_sha256_free(&sha);
    if (out >= 0 && close(out) != 0 && rc == GL_OK) {
        rc = GL_EIO;
    }
    if (rc != GL_OK && tmp[0] != '\0') {
        unlink(tmp);
        tmp[0] = '\0';
    }
    return rc;
}

int gift_content_add(struct gift *g, int kind, const char *title,
                     const char *mime, const char *src_file, int64_t *id)
{
    char tmp[GIFT_PATH_MAX] = "", dst[GIFT_PATH_MAX], hex[65] = "";
    struct stat sb;
    int in = -1, rc, created = 0;

    if (id != NULL) {
        *id = 0;
    }
    if (g->content_dir[0] == '\0') {
        snprintf(g->sql.errmsg, sizeof g->sql.errmsg, "no content directory");
        return GL_ENOTSUP;
    }
    if (gift_content_kind_name(kind)[0] == '\0' ||
        !gf_text_ok(title, GIFT_TITLE_MAX, 0) || !gf_mime_ok(kind, mime) ||
        src_file == NULL) {
        return GL_EINVAL;
    }
    in = open(src_file, O_RDONLY | O_CLOEXEC);
    if (in < 0) {
        snprintf(g->sql.errmsg, sizeof g->sql.errmsg, "%s: %s", src_file,
                 strerror(errno));
        return errno == ENOENT ? GL_EINVAL : GL_EIO;
    }
    if (fstat(in, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        rc = GL_EINVAL;
        goto out;
    }
    if (sb.st_size <= 0 || sb.st_size > g->content_max) {
        rc = GL_ERANGE;
        goto out;
    }
    rc = gf_copy_file(g, in, (int64_t)sb.st_size, tmp, hex);
    if (rc != GL_OK) {
        goto out;
    }
    snprintf(dst, sizeof dst, "%s/%s", g->content_dir, hex);
    if (access(dst, F_OK) == 0) {
        unlink(tmp); /* the same content is there already */
    } else if (rename(tmp, dst) != 0) {
        snprintf(g->sql.errmsg, sizeof g->sql.errmsg, "rename: %s",
                 strerror(errno));
        unlink(tmp);
        rc = GL_EIO;
        goto out;
    } else {
        created = 1;
        int dfd = open(g->content_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0) {
            (void)fsync(dfd); /* the rename survives a power cut */
            close(dfd);
        }
    }
    tmp[0] = '\0';
    rc = gl_sql_exec(&g->sql, GIFT_Q_CONTENT_INSERT,
                     STORE_ARGS(STORE_I(kind), STORE_T(title), STORE_T(mime),
                                STORE_T(hex), STORE_I(sb.st_size), STORE_T(hex),
                                STORE_I(ledger_now(g->lg))),
                     NULL);
    if (rc != GL_OK) {
        if (created) {
            unlink(dst);
        }
        goto out;
    }
    if (id != NULL) {
        *id = sqlite3_last_insert_rowid(g->sql.db);
    }
    GL_LOG_INFO(
        "gift",
        "content %" PRId64 " added: %s \"%s\" %s %" PRId64 " bytes sha256 %s",
        (int64_t)sqlite3_last_insert_rowid(g->sql.db),
        gift_content_kind_name(kind), title, mime, (int64_t)sb.st_size, hex);
out:
    if (in >= 0) {
        close(in);
    }
    return rc;
}

/* ---- checks ---------------------------------------------------------------
 */

/* Syntax of a request (key only when with_key). */
static int gf_validate(const struct gift_request *req, int with_key,
                       struct gift_result *res)
{
    if (with_key && !gf_key_ok(req->key)) {
        return gf_invalid(res, "idempotency key must be 1..64 printable "
                               "characters without spaces");
    }
    if (req->giver == NULL || notify_phone_check(req->giver) != GL_OK) {
        return gf_invalid(res, "giver must be a Korean mobile number, digits "
                               "only");
    }
    if (req->recipient == NULL || notify_phone_check(req->recipient) != GL_OK) {
        return gf_invalid(res, "recipient must be a Korean mobile number, "
                               "digits only (01X and 7 or 8 more digits)");
    }
    if (strcmp(req->giver, req->recipient) == 0) {
        return gf_invalid(res, "a gift to oneself");
    }
    if (req->message != NULL &&
        !gf_text_ok(req->message, GIFT_MESSAGE_MAX, 1)) {
        return gf_invalid(res, "message must be at most 60 characters of "
                               "text without control characters");
    }
    if (req->nitems < 1 || req->nitems > GIFT_ITEMS_MAX || req->items == NULL) {
        return gf_invalid(res, "a gift has 1..10 vouchers");
    }
    for (size_t i = 0; i < req->nitems; i++) {
        const char *n = req->items[i].number;
        if (n == NULL || n[0] == '\0' || strlen(n) > VOUCHER_NUM_LEN) {
            res->item = (int)i;
            return gf_invalid(res, "voucher number missing or too long");
        }
        if (req->items[i].amount < 0) {
            res->item = (int)i;
            return gf_invalid(res, "amount must be 0 (whole) or positive");
        }
        for (size_t j = 0; j < i; j++) {
            if (strcmp(req->items[j].number, n) == 0) {
                res->item = (int)i;
                return gf_invalid(res, "a voucher named twice");
            }
        }
    }
    if (req->naddons > GIFT_ADDONS_MAX ||
        (req->naddons > 0 && req->addons == NULL)) {
        return gf_invalid(res, "at most 4 add-ons");
    }
    for (size_t i = 0; i < req->naddons; i++) {
        for (size_t j = 0; j < i; j++) {
            if (req->addons[j] == req->addons[i]) {
                return gf_invalid(res, "an add-on named twice");
            }
        }
    }
    return GL_OK;
}

/* SHA-256 (hex) of the request's content, to tell a replay of its key from
 * a conflict. */
static int gf_req_hash(const struct gift_request *req, char hex[65])
{
    mbedtls_sha256_context c;
    uint8_t sum[32];
    char num[48];
    int bad = 0;
    mbedtls_sha256_init(&c);
    bad |= mbedtls_sha256_starts_ret(&c, 0);
#define GF_H(p, n)                                                             \
    (bad |= mbedtls_sha256_update_ret(&c, (const void *)(p), (n)))
    GF_H(req->giver, strlen(req->giver) + 1);
    GF_H(req->recipient, strlen(req->recipient) + 1);
    GF_H(req->message ? req->message : "",
         strlen(req->message ? req->message : "") + 1);
    for (size_t i = 0; i < req->nitems; i++) {
        int n = snprintf(num, sizeof num, "%s:%" PRId64 ";",
                         req->items[i].number, req->items[i].amount);
        GF_H(num, (size_t)n);
    }
    GF_H("|", 1);
    for (size_t i = 0; i < req->naddons; i++) {
        int n = snprintf(num, sizeof num, "%" PRId64 ";", req->addons[i]);
        GF_H(num, (size_t)n);
    }
#undef GF_H
    bad |= mbedtls_sha256_finish_ret(&c, sum);
    mbedtls_sha256_free(&c);
    gf_hex(hex, sum, sizeof sum);
    return bad ? GL_CRYPTO : GL_OK;
}

/*
 * Checks the request against the registry at now: the giver a member, each
 * voucher the giver's, active, unexpired, not in a pending gift, with value
 * and no payment in progress; parts only of partial-use products and below
 * the available balance; the add-ons known.  chk[] gets the vouchers and
 * res->pkg the package.  GL_OK with res->outcome set (GIFT_DONE or a
 * refusal), GL_EINVAL (unknown add-on), or a storage error.
 */
static int gf_check(struct gift *g, const struct gift_request *req, int64_t now,
                    struct gf_check *chk, struct gift_result *res)
{
    struct gift_package *pkg = &res->pkg;
    struct registry_product p;
    int64_t mid = 0, open_gift = 0;
    int rc;

    res->outcome = GIFT_DONE;
    gl_mask_phone(pkg->giver, req->giver);
    gl_mask_phone(pkg->recipient, req->recipient);
    snprintf(pkg->message, sizeof pkg->message, "%s",
             req->message != NULL ? req->message : "");
    pkg->created = now;
    pkg->expires_at = now + (int64_t)g->expire_days * GF_DAY;

    rc = registry_member_find(g->reg, req->giver, &mid);
    if (rc == GL_ENOTFOUND) {
        return gf_refuse(res, GIFT_NOT_MEMBER, -1,
                         "the giver is not a member: join and buy first");
    }
    if (rc != GL_OK) {
        return gf_fail(res, rc, "member lookup", store_errmsg(g->st));
    }
    for (size_t i = 0; i < req->nitems; i++) {
        struct gf_check *c = &chk[i];
        struct gift_item *it = &pkg->items[i];
        int64_t amount = req->items[i].amount;
        int idx = (int)i;

        memset(c, 0, sizeof *c);
        rc = registry_voucher_get(g->reg, req->items[i].number, &c->v);
        if (rc == GL_ENOTFOUND ||
            (rc == GL_OK && strcmp(c->v.member_phone, req->giver) != 0)) {
            return gf_refuse(res, GIFT_NOT_OWNER, idx,
                             "not one of the giver's vouchers");
        }
        if (rc != GL_OK) {
            return gf_fail(res, rc, "voucher lookup", store_errmsg(g->st));
        }
        rc = gl_sql_get_int(&g->sql, GIFT_Q_ITEM_OPEN,
                            STORE_ARGS(STORE_T(c->v.number)), &open_gift);
        if (rc == GL_OK) {
            return gf_refuse(res, GIFT_RESERVED, idx,
                             "the voucher is in a pending gift");
        }
        if (rc != GL_ENOTFOUND) {
            return gf_fail(res, rc, "gift lookup", g->sql.errmsg);
        }
        if (c->v.status != REGISTRY_V_ACTIVE || now >= c->v.expires) {
            return gf_refuse(res, GIFT_UNUSABLE, idx,
                             c->v.status != REGISTRY_V_ACTIVE
                                 ? "the voucher is not active"
                                 : "the voucher has expired");
        }
        if (c->v.available <= 0) {
            return gf_refuse(res, GIFT_UNUSABLE, idx,
                             "the voucher has no value left");
        }
        if (amount > c->v.available) {
            return gf_refuse(res, GIFT_AMOUNT, idx,
                             "more than the voucher's balance");
        }
        rc = registry_product_get(g->reg, c->v.product, &p);
        if (rc != GL_OK) {
            return gf_fail(res, rc, "product lookup", store_errmsg(g->st));
        }
        if (amount == 0 || amount == c->v.available) {
            if (c->v.available != c->v.balance) {
                return gf_refuse(res, GIFT_UNUSABLE, idx,
                                 "a payment with the voucher is in progress");
            }
            c->amount = c->v.balance;
            c->part = 0;
        } else {
            if (!p.partial_ok) {
                return gf_refuse(res, GIFT_NO_PARTIAL, idx,
                                 "the product does not allow partial use");
            }
            c->amount = amount;
            c->part = 1;
        }
        snprintf(c->brand, sizeof c->brand, "%s", p.brand);
        gl_mask_pan(it->masked, c->v.number, strlen(c->v.number));
        if (c->part) {
            snprintf(it->source, sizeof it->source, "%s", it->masked);
            snprintf(it->masked, sizeof it->masked, "(new)");
        }
        snprintf(it->product, sizeof it->product, "%s", c->v.product);
        snprintf(it->brand, sizeof it->brand, "%s", p.brand);
        it->amount = c->amount;
        it->part = c->part;
        it->expires = c->v.expires;
        pkg->total += c->amount;
        pkg->nitems++;
    }
    for (size_t i = 0; i < req->naddons; i++) {
        struct gift_content gc;
        rc = gift_content_get(g, req->addons[i], &gc);
        if (rc == GL_ENOTFOUND) {
            return gf_invalid(res, "unknown add-on");
        }
        if (rc != GL_OK) {
            return gf_fail(res, rc, "add-on lookup", g->sql.errmsg);
        }
        pkg->addons[i].id = gc.id;
        pkg->addons[i].kind = gc.kind;
        snprintf(pkg->addons[i].title, sizeof pkg->addons[i].title, "%s",
                 gc.title);
        snprintf(pkg->addons[i].mime, sizeof pkg->addons[i].mime, "%s",
                 gc.mime);
        pkg->naddons++;
    }
    return GL_OK;
}

/* The package of a stored gift; whole: the whole numbers too. */
static int gf_package(struct gift *g, const struct gf_row *r, int whole,
                      struct gift_result *res)
{
    struct gift_package *pkg = &res->pkg;
    struct gf_item_row it[GIFT_ITEMS_MAX];
    size_t n = 0;
    int rc, src;

    memset(pkg, 0, sizeof *pkg);
    pkg->gift_id = r->id;
    pkg->state = r->state;
    gl_mask_phone(pkg->giver, r->giver);
    gl_mask_phone(pkg->recipient, r->recipient);
    snprintf(pkg->message, sizeof pkg->message, "%s", r->message);
    pkg->total = r->total;
    pkg->created = r->created;
    pkg->expires_at = r->expires_at;
    pkg->closed_at = r->closed_at;
    rc = gf_items(g, r->id, it, &n);
    if (rc != GL_OK) {
        return gf_fail(res, rc, "gift items", g->sql.errmsg);
    }
    for (size_t i = 0; i < n; i++) {
        struct gift_item *gi = &pkg->items[i];
        struct registry_voucher v;
        struct registry_product p;
        rc = registry_voucher_get(g->reg, it[i].voucher, &v);
        if (rc == GL_OK) {
            rc = registry_product_get(g->reg, v.product, &p);
        }
        if (rc != GL_OK) {
            crypto_wipe(it, sizeof it);
            return gf_fail(res, rc, "gift voucher", store_errmsg(g->st));
        }
        if (whole) {
            snprintf(gi->number, sizeof gi->number, "%s", v.number);
        }
        gl_mask_pan(gi->masked, v.number, strlen(v.number));
        if (it[i].part) {
            gl_mask_pan(gi->source, it[i].source, strlen(it[i].source));
        }
        snprintf(gi->product, sizeof gi->product, "%s", v.product);
        snprintf(gi->brand, sizeof gi->brand, "%s", p.brand);
        gi->amount = it[i].amount;
        gi->part = it[i].part;
        gi->expires = v.expires;
        pkg->nitems++;
        crypto_wipe(&v, sizeof v);
    }
    crypto_wipe(it, sizeof it);
    sqlite3_stmt *st =
        gl_sql_stmt(&g->sql, GIFT_Q_ADDONS, STORE_ARGS(STORE_I(r->id)));
    while ((src = sqlite3_step(st)) == SQLITE_ROW &&
           pkg->naddons < GIFT_ADDONS_MAX) {
        struct gift_addon *a = &pkg->addons[pkg->naddons++];
        a->id = sqlite3_column_int64(st, 0);
        a->kind = sqlite3_column_int(st, 1);
        gl_sql_copy_text(a->title, sizeof a->title, st, 2);
        gl_sql_copy_text(a->mime, sizeof a->mime, st, 3);
    }
    if (src != SQLITE_ROW && src != SQLITE_DONE) {
        rc = gl_sql_last_err(&g->sql);
    }
    sqlite3_reset(st);
    if (rc != GL_OK) {
        return gf_fail(res, rc, "gift add-ons", g->sql.errmsg);
    }
    return GL_OK;
}

/* ---- preview and send -----------------------------------------------------
 */

int gift_preview(struct gift *g, const struct gift_request *req,
                 struct gift_result *res)
{
    struct gf_check chk[GIFT_ITEMS_MAX];
    int rc;
    memset(res, 0, sizeof *res);
    res->item = -1;
    rc = gf_validate(req, 0, res);
    if (rc == GL_OK) {
        rc = gf_check(g, req, ledger_now(g->lg), chk, res);
    }
    if (rc != GL_OK || res->outcome != GIFT_DONE) {
        memset(&res->pkg.items, 0, sizeof res->pkg.items);
        res->pkg.nitems = 0;
    }
    crypto_wipe(chk, sizeof chk);
    return rc;
}

/* The key's first result (GL_OK, res filled: replay or conflict), or
 * GL_ENOTFOUND when the key is new. */
static int gf_lookup(struct gift *g, const struct gift_request *req,
                     const char *req_hash, struct gift_result *res)
{
    struct gf_row r;
    int rc = gf_load(g, GIFT_Q_BY_KEY, (struct store_val)STORE_T(req->key), &r);
    if (rc != GL_OK) {
        if (rc != GL_ENOTFOUND) {
            gf_fail(res, rc, "gift lookup", g->sql.errmsg);
        }
        return rc;
    }
    if (strcmp(r.req_hash, req_hash) != 0) {
        res->outcome = GIFT_CONFLICT;
        res->pkg.gift_id = r.id;
        snprintf(res->err, sizeof res->err,
                 "idempotency key already used for another gift");
        return GL_OK;
    }
    rc = gf_package(g, &r, 0, res);
    if (rc == GL_OK) {
        res->outcome = GIFT_DONE;
        res->replay = 1;
    }
    return rc;
}

/* Inside the transaction: item seq of gift gid from checked voucher c.  A
 * part is split off into a new voucher first; the voucher given is frozen
 * and recorded.  given gets its number. */
static int gf_reserve(struct gift *g, int64_t gid, int seq,
                      const struct gf_check *c, const char *giver,
                      char given[VOUCHER_NUM_LEN + 1], struct gift_result *res)
{
    struct registry_voucher nv;
    struct ledger_result lr;
    char xid[LEDGER_ID_CAP + 1];
    int rc = GL_OK;

    memset(&nv, 0, sizeof nv);
    snprintf(given, VOUCHER_NUM_LEN + 1, "%s", c->v.number);
    if (c->part) {
        struct registry_issue ri = {
            .product = c->v.product,
            .face = c->v.face,
            .member = giver,
            .unfunded = 1,
        };
        rc = registry_voucher_issue(g->reg, &ri, &nv);
        if (rc != GL_OK) {
            gf_fail(res, rc, "part voucher", store_errmsg(g->st));
            goto out;
        }
        snprintf(xid, sizeof xid, "gift:%" PRId64 ":%d", gid, seq);
        struct ledger_transfer t = {
            .id = xid,
            .debit = c->v.account,
            .credit = nv.account,
            .amount = c->amount,
            .kind = LEDGER_TK_ADJUST,
        };
        rc = ledger_transfer_apply(g->lg, &t, &lr);
        if (rc != GL_OK) {
            gf_fail(res, rc, "part transfer", store_errmsg(g->st));
            goto out;
        }
        rc = gl_sql_exec(&g->sql, GIFT_Q_V_SET_EXPIRES,
                         STORE_ARGS(STORE_T(nv.number), STORE_I(c->v.expires)),
                         NULL);
        if (rc != GL_OK) {
            gf_fail(res, rc, "part expiry", g->sql.errmsg);
            goto out;
        }
        snprintf(given, VOUCHER_NUM_LEN + 1, "%s", nv.number);
    }
    rc = registry_voucher_set_status(g->reg, given, REGISTRY_V_FROZEN);
    if (rc != GL_OK) {
        gf_fail(res, rc, "reserve voucher", store_errmsg(g->st));
        goto out;
    }
    rc = gl_sql_exec(&g->sql, GIFT_Q_ITEM_INSERT,
                     STORE_ARGS(STORE_I(gid), STORE_I(seq), STORE_T(given),
                                STORE_T(c->v.number), STORE_I(c->amount),
                                STORE_I(c->part)),
                     NULL);
    if (rc == GL_EEXIST) {
        /* Reserved by another gift since the check: cannot happen inside
         * BEGIN IMMEDIATE, but the index has the last word. */
        gf_refuse(res, GIFT_RESERVED, seq, "the voucher is in a pending gift");
    } else if (rc != GL_OK) {
        gf_fail(res, rc, "gift item", g->sql.errmsg);
    }
out:
    crypto_wipe(&nv, sizeof nv);
    return rc;
}

/* The SMS to the recipient of a new gift. */
static int gf_sms_offer(struct gift *g, int64_t gid,
                        const struct gift_request *req,
                        const struct gift_package *pkg, const char *link,
                        int64_t now)
{
    char text[NOTIFY_TEXT_MAX], key[48], total[32], date[16];
    size_t o;
    gl_krw(total, pkg->total);
    gf_date(date, pkg->expires_at);
    o = (size_t)snprintf(text, sizeof text,
                         "[giftlink] %s님이 상품권 %zu장(%s원)을 선물했습니다.",
                         pkg->giver, pkg->nitems, total);
    if (req->message != NULL && req->message[0] != '\0' && o < sizeof text) {
        o += (size_t)snprintf(text + o, sizeof text - o, " \"%s\"",
                              req->message);
    }
    if (pkg->naddons > 0 && o < sizeof text) {
        o += (size_t)snprintf(text + o, sizeof text - o, " +추가 선물 %zu개",
                              pkg->naddons);
    }
    if (o < sizeof text) {
        snprintf(text + o, sizeof text - o, " 받기/거절(%s까지): %s", date,
                 link);
    }
    snprintf(key, sizeof key, "gift:%" PRId64 ":offer", gid);
    return notify_enqueue_at(g->sql.db, key, req->recipient, text, now);
}

/*
 * The add-on's file under a name the MMS sender can type by its extension
 * ("<sha256>.<ext>", a hard link beside the catalogue's file, made once):
 * out[0] is '\0' for a type MMS cannot carry or a link that cannot be
 * made (the add-on is left out of the MMS, never the gift).
 */
static void gf_addon_file(const struct gift_content *gc, char *out,
                          size_t cap)
{
    static const struct {
        const char *mime, *ext;
    } types[] = {
        {"image/png", "png"},  {"image/jpeg", "jpg"}, {"image/gif", "gif"},
        {"audio/midi", "mid"}, {"audio/mid", "mid"},  {"audio/amr", "amr"},
        {"audio/mpeg", "mp3"}, {"audio/3gpp", "3gp"}, {"video/3gpp", "3gp"}};
    out[0] = '\0';
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        if (strcasecmp(gc->mime, types[i].mime) != 0) {
            continue;
        }
        snprintf(out, cap, "%s.%s", gc->path, types[i].ext);
        if (link(gc->path, out) != 0 && errno != EEXIST) {
            GL_LOG_WARN("gift", "content %" PRId64 ": link: %s", gc->id,
                        strerror(errno));
            out[0] = '\0';
        } else if (mms_addon_type(out) == NULL) {
            out[0] = '\0';
        }
        return;
    }
}

/* The recipient's MMS of a new gift: the claim link and the add-on files,
 * no barcode yet (the gift may still be refused).  In the caller's
 * transaction. */
static int gf_mms_offer(struct gift *g, int64_t gid,
                        const struct gift_request *req,
                        const struct gift_package *pkg, const char *link,
                        int64_t now)
{
    char files[GIFT_ADDONS_MAX][GIFT_PATH_MAX + 8];
    const char *paths[GIFT_ADDONS_MAX];
    char text[NOTIFY_TEXT_MAX], key[48], total[GL_KRW_MAX];
    struct gift_content gc;
    int n = 0, rc;

    for (size_t i = 0; i < req->naddons && n < GIFT_ADDONS_MAX; i++) {
        rc = gift_content_get(g, req->addons[i], &gc);
        if (rc != GL_OK) {
            return rc;
        }
        gf_addon_file(&gc, files[n], sizeof files[n]);
        if (files[n][0] != '\0') {
            paths[n] = files[n];
            n++;
        }
    }
    snprintf(text, sizeof text,
             "[giftlink] %s님이 상품권 %zu장(%s원)을 선물했습니다.%s%s "
             "받기/거절: %s",
             pkg->giver, pkg->nitems, gl_krw(total, pkg->total),
             req->message != NULL && req->message[0] ? " 메시지: " : "",
             req->message != NULL ? req->message : "", link);
    snprintf(key, sizeof key, "gift:%" PRId64 ":mms", gid);
    rc = notify_enqueue_mms_at(g->sql.db, key, req->recipient, "giftlink 선물",
                               text, NULL, paths, n, now);
    crypto_wipe(text, sizeof text);
    return rc;
}

/* The new owner's MMS with an accepted voucher's barcode.  In the caller's
 * transaction. */
static int gf_mms_voucher(struct gift *g, int64_t gid, size_t i,
                          const char *number, const char *phone, int64_t now)
{
    struct registry_voucher v;
    struct registry_product p;
    char text[NOTIFY_TEXT_MAX], key[48], amount[GL_KRW_MAX];
    int rc = registry_voucher_get(g->reg, number, &v);
    if (rc == GL_OK) {
        rc = registry_product_get(g->reg, v.product, &p);
    }
    if (rc == GL_OK) {
        snprintf(text, sizeof text,
                 "[giftlink] 받은 상품권: %s %s원. 매장에서 바코드를 보여 "
                 "주세요.",
                 p.brand, gl_krw(amount, v.balance));
        snprintf(key, sizeof key, "gift:%" PRId64 ":mms:v%zu", gid, i);
        rc = notify_enqueue_mms_at(g->sql.db, key, phone, "giftlink 상품권",
                                   text, number, NULL, 0, now);
    }
    crypto_wipe(&v, sizeof v);
    return rc;
}

int gift_send(struct gift *g, const struct gift_request *req,
              struct gift_result *res)
{
    struct gf_check chk[GIFT_ITEMS_MAX];
    char req_hash[65], given[VOUCHER_NUM_LEN + 1], mp[GL_MASK_MAX];
    uint8_t raw[16], th[32];
    int64_t now, gid = 0;
    int rc;

    memset(res, 0, sizeof *res);
    res->item = -1;
    rc = gf_validate(req, 1, res);
    if (rc != GL_OK) {
        return rc;
    }
    rc = gf_req_hash(req, req_hash);
    if (rc != GL_OK) {
        return gf_fail(res, rc, "request hash", "");
    }
    rc = crypto_random(g->reg->f_rng, g->reg->p_rng, raw, sizeof raw);
    if (rc == GL_OK) {
        gf_hex(res->token, raw, sizeof raw);
        rc = gf_sha256(res->token, GIFT_TOKEN_LEN, th);
    }
    crypto_wipe(raw, sizeof raw);
    if (rc != GL_OK) {
        gf_fail(res, rc, "claim token", "");
        goto wipe;
    }
    rc = ledger_batch_begin(g->lg);
    if (rc != GL_OK) {
        gf_fail(res, rc, "begin", store_errmsg(g->st));
        goto wipe;
    }
    now = ledger_now(g->lg);
    /* The key's first result, checked inside the write transaction. */
    rc = gf_lookup(g, req, req_hash, res);
    if (rc != GL_ENOTFOUND) {
        ledger_batch_rollback(g->lg);
        goto wipe;
    }
    res->err[0] = '\0';
    rc = gf_check(g, req, now, chk, res);
    if (rc != GL_OK || res->outcome != GIFT_DONE) {
        ledger_batch_rollback(g->lg);
        goto wipe;
    }
    rc = gl_sql_exec(&g->sql, GIFT_Q_INSERT,
                     STORE_ARGS(STORE_T(req->key), STORE_T(req_hash),
                                STORE_T(req->giver), STORE_T(req->recipient),
                                STORE_T(req->message ? req->message : ""),
                                STORE_B(th, sizeof th), STORE_I(res->pkg.total),
                                STORE_I(now), STORE_I(res->pkg.expires_at)),
                     NULL);
    if (rc != GL_OK) {
        gf_fail(res, rc, "gift row", g->sql.errmsg);
        goto fail;
    }
    gid = sqlite3_last_insert_rowid(g->sql.db);
    for (size_t i = 0; i < req->nitems; i++) {
        rc = gf_reserve(g, gid, (int)i, &chk[i], req->giver, given, res);
        if (rc != GL_OK) {
            goto fail;
        }
        gl_mask_pan(res->pkg.items[i].masked, given, strlen(given));
    }
    for (size_t i = 0; i < req->naddons; i++) {
        rc = gl_sql_exec(
            &g->sql, GIFT_Q_ADDON_INSERT,
            STORE_ARGS(STORE_I(gid), STORE_I(i), STORE_I(req->addons[i])),
            NULL);
        if (rc != GL_OK) {
            gf_fail(res, rc, "gift add-on", g->sql.errmsg);
            goto fail;
        }
    }
    snprintf(res->link, sizeof res->link, "%s%s", g->claim_base, res->token);
    rc = gf_sms_offer(g, gid, req, &res->pkg, res->link, now);
    if (rc != GL_OK) {
        gf_fail(res, rc, "SMS outbox", sqlite3_errmsg(g->sql.db));
        goto fail;
    }
    if (g->mms) {
        rc = gf_mms_offer(g, gid, req, &res->pkg, res->link, now);
        if (rc != GL_OK) {
            gf_fail(res, rc, "MMS outbox", sqlite3_errmsg(g->sql.db));
            goto fail;
        }
    }
    rc = ledger_batch_commit(g->lg);
    if (rc != GL_OK) {
        gf_fail(res, rc, "commit", store_errmsg(g->st));
        goto failed;
    }
    res->pkg.gift_id = gid;
    res->pkg.state = GIFT_PENDING;
    res->outcome = GIFT_DONE;
    GL_LOG_INFO("gift",
                "gift %" PRId64 " sent: %s -> %s, %zu vouchers %" PRId64
                " KRW, expires %" PRId64,
                gid, res->pkg.giver, res->pkg.recipient, res->pkg.nitems,
                res->pkg.total, res->pkg.expires_at);
    goto wipe;
fail:
    ledger_batch_rollback(g->lg);
failed:
    if (rc == GL_EEXIST && res->outcome != GIFT_RESERVED) {
        /* Another writer took the key meanwhile: its result. */
        memset(res, 0, sizeof *res);
        res->item = -1;
        rc = gf_lookup(g, req, req_hash, res);
        if (rc == GL_ENOTFOUND) {
            /* Not the key: another unique value (a token's hash). */
            rc = gf_fail(res, GL_EEXIST, "gift row", "unique value taken");
        }
        goto wipe;
    }
    if (res->outcome == GIFT_RESERVED) {
        rc = GL_OK;
    } else {
        res->outcome = GIFT_FAILED;
    }
    memset(&res->pkg, 0, sizeof res->pkg);
    GL_LOG_WARN("gift", "gift from %s failed, nothing done: %s",
                gl_mask_phone(mp, req->giver), res->err);
wipe:
    if (res->outcome != GIFT_DONE || res->replay) {
        memset(res->token, 0, sizeof res->token);
        memset(res->link, 0, sizeof res->link);
    }
    if (res->outcome != GIFT_DONE && res->outcome != GIFT_CONFLICT) {
        memset(&res->pkg.items, 0, sizeof res->pkg.items);
        res->pkg.nitems = 0;
    }
    crypto_wipe(chk, sizeof chk);
    crypto_wipe(th, sizeof th);
    return rc;
}

/* ---- claim: info, accept, refuse, expiry ----------------------------------
 */

int gift_claim_info(struct gift *g, const char *token, struct gift_result *res)
{
    uint8_t th[32];
    struct gf_row r;
    int rc;
    int bad_token = gf_token_hash(token, th) != GL_OK; /* before the memset:
                                                          token may be res's */
    memset(res, 0, sizeof *res);
    res->item = -1;
    if (bad_token) {
        return gf_refuse(res, GIFT_BAD_TOKEN, -1, "unknown claim link");
    }
    rc = gf_load(g, GIFT_Q_BY_TOKEN, (struct store_val)STORE_B(th, sizeof th),
                 &r);
    if (rc == GL_ENOTFOUND) {
        return gf_refuse(res, GIFT_BAD_TOKEN, -1, "unknown claim link");
    }
    if (rc != GL_OK) {
        return gf_fail(res, rc, "gift lookup", g->sql.errmsg);
    }
    rc = gf_package(g, &r, 0, res);
    if (rc == GL_OK) {
        res->outcome = GIFT_DONE;
    }
    return rc;
}

/* A voucher of a closing gift back to active, if the gift froze it (an
 * operator's cancel meanwhile stands). */
static int gf_unfreeze(struct gift *g, const char *number)
{
    struct registry_voucher v;
    int rc = registry_voucher_get(g->reg, number, &v);
    if (rc == GL_OK && v.status == REGISTRY_V_FROZEN) {
        rc = registry_voucher_set_status(g->reg, number, REGISTRY_V_ACTIVE);
    }
    crypto_wipe(&v, sizeof v);
    return rc;
}

/* The SMS to the giver about how gift r closed. */
static int gf_sms_closed(struct gift *g, const struct gf_row *r,
                         enum gift_state state, size_t nitems, int64_t now)
{
    char text[NOTIFY_TEXT_MAX], key[48], total[32], rm[GL_MASK_MAX];
    gl_krw(total, r->total);
    gl_mask_phone(rm, r->recipient);
    if (state == GIFT_ACCEPTED) {
        snprintf(text, sizeof text,
                 "[giftlink] %s님이 선물하신 상품권 %zu장(%s원)을 "
                 "받았습니다.",
                 rm, nitems, total);
    } else if (state == GIFT_REFUSED) {
        snprintf(text, sizeof text,
                 "[giftlink] %s님이 선물을 거절하여 상품권 %zu장(%s원)이 "
                 "돌아왔습니다.",
                 rm, nitems, total);
    } else {
        snprintf(text, sizeof text,
                 "[giftlink] %s님이 %d일 동안 받지 않아 선물하신 상품권 "
                 "%zu장(%s원)이 돌아왔습니다.",
                 rm, g->expire_days, nitems, total);
    }
    snprintf(key, sizeof key, "gift:%" PRId64 ":%s", r->id,
             gift_state_name(state));
    return notify_enqueue_at(g->sql.db, key, r->giver, text, now);
}

/*
 * Inside the transaction: closes pending gift r as state (accepted: to
 * phone; refused, expired: back to the giver, parts into their originals),
 * with the giver's SMS.
 */
static int gf_close(struct gift *g, const struct gf_row *r,
                    enum gift_state state, const char *phone, int joined,
                    int64_t now, struct gift_result *res)
{
    struct gf_item_row it[GIFT_ITEMS_MAX];
    struct ledger_result lr;
    int64_t changes = 0;
    size_t n = 0;
    int rc = gf_items(g, r->id, it, &n);
    if (rc != GL_OK) {
        gf_fail(res, rc, "gift items", g->sql.errmsg);
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        if (state == GIFT_ACCEPTED) {
            rc = gl_sql_exec(&g->sql, GIFT_Q_V_SET_MEMBER,
                             STORE_ARGS(STORE_T(it[i].voucher), STORE_T(phone)),
                             NULL);
            if (rc == GL_OK) {
                rc = gf_unfreeze(g, it[i].voucher);
            }
            if (rc == GL_OK && g->mms) {
                rc = gf_mms_voucher(g, r->id, i, it[i].voucher, phone, now);
            }
        } else if (it[i].part) {
            /* The value back into the original; the part voucher ends. */
            struct registry_voucher pv, sv;
            char xid[LEDGER_ID_CAP + 1];
            rc = registry_voucher_get(g->reg, it[i].voucher, &pv);
            if (rc == GL_OK) {
                rc = registry_voucher_get(g->reg, it[i].source, &sv);
            }
            if (rc == GL_OK && pv.balance > 0) {
                snprintf(xid, sizeof xid, "gift:%" PRId64 ":%d:back", r->id,
                         it[i].seq);
                struct ledger_transfer t = {
                    .id = xid,
                    .debit = pv.account,
                    .credit = sv.account,
                    .amount = pv.balance,
                    .kind = LEDGER_TK_ADJUST,
                };
                rc = ledger_transfer_apply(g->lg, &t, &lr);
            }
            if (rc == GL_OK) {
                rc = registry_voucher_set_status(g->reg, it[i].voucher,
                                                 REGISTRY_V_CANCELLED);
            }
            crypto_wipe(&pv, sizeof pv);
            crypto_wipe(&sv, sizeof sv);
        } else {
            rc = gf_unfreeze(g, it[i].voucher);
        }
        if (rc != GL_OK) {
            gf_fail(res, rc, "gift voucher", store_errmsg(g->st));
            goto out;
        }
    }
    rc = gl_sql_exec(&g->sql, GIFT_Q_ITEMS_CLOSE, STORE_ARGS(STORE_I(r->id)),
                     NULL);
    if (rc == GL_OK) {
        rc = gl_sql_exec(&g->sql, GIFT_Q_CLOSE,
                         STORE_ARGS(STORE_I(r->id),
                                    STORE_T(gift_state_name(state)),
                                    STORE_I(now), STORE_I(joined)),
                         &changes);
    }
    if (rc == GL_OK && changes != 1) {
        rc = GL_DB; /* not pending any more: cannot happen in the txn */
        snprintf(g->sql.errmsg, sizeof g->sql.errmsg,
                 "gift %" PRId64 " was not pending", r->id);
    }
    if (rc != GL_OK) {
        gf_fail(res, rc, "gift row", g->sql.errmsg);
        goto out;
    }
    rc = gf_sms_closed(g, r, state, n, now);
    if (rc != GL_OK) {
        gf_fail(res, rc, "SMS outbox", sqlite3_errmsg(g->sql.db));
    }
out:
    crypto_wipe(it, sizeof it);
    return rc;
}

/*
 * The common path of accept (phone != NULL) and refuse.  Opens the
 * transaction, finds the gift, decides, closes it, commits.
 */
static int gf_claim(struct gift *g, const char *token, const char *phone,
                    struct gift_result *res)
{
    enum gift_state want = phone != NULL ? GIFT_ACCEPTED : GIFT_REFUSED;
    uint8_t th[32];
    struct gf_row r;
    char mp[GL_MASK_MAX];
    int64_t now, mid = 0;
    int rc, joined = 0;

    /* Hashed before res is cleared: token may be res->token. */
    int bad_token = gf_token_hash(token, th) != GL_OK;
    memset(res, 0, sizeof *res);
    res->item = -1;
    if (phone != NULL && notify_phone_check(phone) != GL_OK) {
        return gf_invalid(res, "phone must be a Korean mobile number, digits "
                               "only");
    }
    if (bad_token) {
        return gf_refuse(res, GIFT_BAD_TOKEN, -1, "unknown claim link");
    }
    rc = ledger_batch_begin(g->lg);
    if (rc != GL_OK) {
        return gf_fail(res, rc, "begin", store_errmsg(g->st));
    }
    now = ledger_now(g->lg);
    rc = gf_load(g, GIFT_Q_BY_TOKEN, (struct store_val)STORE_B(th, sizeof th),
                 &r);
    if (rc == GL_ENOTFOUND) {
        ledger_batch_rollback(g->lg);
        return gf_refuse(res, GIFT_BAD_TOKEN, -1, "unknown claim link");
    }
    if (rc != GL_OK) {
        ledger_batch_rollback(g->lg);
        return gf_fail(res, rc, "gift lookup", g->sql.errmsg);
    }
    if (phone != NULL && strcmp(phone, r.recipient) != 0) {
        ledger_batch_rollback(g->lg);
        return gf_refuse(res, GIFT_WRONG_RECIPIENT, -1,
                         "the gift was sent to another phone");
    }
    if (r.state != GIFT_PENDING) {
        ledger_batch_rollback(g->lg);
        rc =
            gf_package(g, &r, r.state == GIFT_ACCEPTED && want == r.state, res);
        if (rc != GL_OK) {
            return rc;
        }
        if (r.state == want) {
            res->outcome = GIFT_DONE;
            res->replay = 1;
            res->joined = r.joined;
        } else {
            gf_refuse(res, GIFT_CLOSED, -1, "");
            snprintf(res->err, sizeof res->err, "the gift is already %s",
                     gift_state_name(r.state));
        }
        return GL_OK;
    }
    if (now >= r.expires_at) {
        want = GIFT_EXPIRED; /* too late: back to the giver now */
    } else if (want == GIFT_ACCEPTED) {
        rc = registry_member_find(g->reg, phone, &mid);
        if (rc == GL_ENOTFOUND) {
            rc = registry_member_add(g->reg, phone, &mid);
            joined = rc == GL_OK;
        }
        if (rc != GL_OK) {
            gf_fail(res, rc, "member", store_errmsg(g->st));
            goto fail;
        }
    }
    rc = gf_close(g, &r, want, phone, joined, now, res);
    if (rc != GL_OK) {
        goto fail;
    }
    rc = ledger_batch_commit(g->lg);
    if (rc != GL_OK) {
        gf_fail(res, rc, "commit", store_errmsg(g->st));
        goto failed;
    }
    r.state = want;
    r.closed_at = now;
    r.joined = joined;
    rc = gf_package(g, &r, want == GIFT_ACCEPTED, res);
    if (rc != GL_OK) {
        return rc; /* done, but not readable now: a retry replays */
    }
    if (want == GIFT_EXPIRED) {
        gf_refuse(res, GIFT_CLOSED, -1, "the gift has expired");
    } else {
        res->outcome = GIFT_DONE;
        res->joined = joined;
    }
    GL_LOG_INFO("gift", "gift %" PRId64 " %s%s by %s", r.id,
                gift_state_name(want), joined ? " (joined)" : "",
                gl_mask_phone(mp, r.recipient));
    return GL_OK;
fail:
    ledger_batch_rollback(g->lg);
failed:
    res->outcome = GIFT_FAILED;
    memset(&res->pkg, 0, sizeof res->pkg);
    GL_LOG_WARN("gift", "gift %" PRId64 " not %s, nothing done: %s", r.id,
                gift_state_name(want), res->err);
    return rc;
}

int gift_accept(struct gift *g, const char *token, const char *phone,
                struct gift_result *res)
{
    if (phone == NULL) {
        memset(res, 0, sizeof *res);
        res->item = -1;
        return gf_invalid(res, "phone missing");
    }
    return gf_claim(g, token, phone, res);
}

int gift_refuse(struct gift *g, const char *token, struct gift_result *res)
{
    return gf_claim(g, token, NULL, res);
}

int gift_expire_due(struct gift *g, int64_t now, int *n)
{
    struct gift_result res;
    struct gf_row r;
    int64_t id = 0;
    int count = 0, rc;

    for (;;) {
        rc = ledger_batch_begin(g->lg);
        if (rc != GL_OK) {
            break;
        }
        memset(&res, 0, sizeof res);
        rc = gl_sql_get_int(&g->sql, GIFT_Q_DUE, STORE_ARGS(STORE_I(now)), &id);
        if (rc == GL_ENOTFOUND) {
            ledger_batch_rollback(g->lg);
            rc = GL_OK; /* none left */
            break;
        }
        if (rc == GL_OK) {
            rc = gf_load(g, GIFT_Q_BY_ID, (struct store_val)STORE_I(id), &r);
        }
        if (rc == GL_OK) {
            rc = gf_close(g, &r, GIFT_EXPIRED, NULL, 0, now, &res);
        }
        if (rc != GL_OK) {
            ledger_batch_rollback(g->lg);
            {
                GL_LOG_WARN("gift", "gift %" PRId64 " not expired: %s", id,
                            res.err[0] ? res.err : g->sql.errmsg);
            }
            break;
        }
        rc = ledger_batch_commit(g->lg);
        if (rc != GL_OK) {
            break;
        }
        count++;
        GL_LOG_INFO("gift", "gift %" PRId64 " expired: back to the giver", id);
    }
    if (n != NULL) {
        *n = count;
    }
    return rc;
}

/* ---- history --------------------------------------------------------------
 */

int gift_list(struct gift *g, const char *phone, enum gift_direction dir,
              gift_list_cb cb, void *ctx)
{
    struct gift_summary s;
    sqlite3_stmt *st;
    int src, rc = GL_OK;
    char other[REGISTRY_PHONE_MAX + 1];

    if (phone == NULL || notify_phone_check(phone) != GL_OK ||
        (dir != GIFT_SENT && dir != GIFT_RECEIVED)) {
        return GL_EINVAL;
    }
    st = gl_sql_stmt(&g->sql,
                     dir == GIFT_SENT ? GIFT_Q_LIST_SENT : GIFT_Q_LIST_RECEIVED,
                     STORE_ARGS(STORE_T(phone)));
    while ((src = sqlite3_step(st)) == SQLITE_ROW) {
        memset(&s, 0, sizeof s);
        s.id = sqlite3_column_int64(st, 0);
        s.state = gf_state_parse((const char *)sqlite3_column_text(st, 1));
        gl_sql_copy_text(other, sizeof other, st, 2);
        gl_mask_phone(s.counterpart, other);
        gl_sql_copy_text(s.message, sizeof s.message, st, 3);
        s.total = sqlite3_column_int64(st, 4);
        s.created = sqlite3_column_int64(st, 5);
        s.expires_at = sqlite3_column_int64(st, 6);
        s.closed_at = sqlite3_column_int64(st, 7);
        s.nitems = sqlite3_column_int(st, 8);
        rc = cb(ctx, &s);
        if (rc != 0) {
            break;
        }
    }
    if (rc == GL_OK && src != SQLITE_DONE) {
        rc = gl_sql_last_err(&g->sql);
    }
    sqlite3_reset(st);
    return rc;
}
