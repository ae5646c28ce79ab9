/*
 * test_gift.c - host-server/gift.c: the customer's gift of vouchers, on a
 * temporary SQLite database provisioned through the registry API, with a
 * clock the tests move.
 *
 * What is pinned: the add-on catalogue copies a file into the content
 * directory under its SHA-256 and serves it back; a preview shows the
 * package and changes nothing; a sent gift freezes its vouchers (refused at
 * the host's own check, registry_voucher_authorize) and queues the
 * recipient's SMS with the claim link and masked numbers only; accepting
 * moves them (a non-member joins), refusing and expiry return them, each
 * with the giver's SMS, and each is idempotent (a second accept is the
 * first result; accept after refuse is closed); a part of a partial-use
 * voucher becomes a new voucher funded from the original and goes back on
 * refusal; a reserved, someone else's or unknown voucher, a part of a
 * product without partial use, too large an amount, a non-member giver are
 * refused; wrong and malformed tokens, the wrong recipient; the
 * idempotency key's replay and conflict; bad input; the basket's history;
 * storage faults at every table an action writes leave nothing behind.
 * The ledger is checked clean after each step.
 */
#include <inttypes.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../gl_test.h"
#include "gift.h"
#include "gl_err.h"
#include "gl_log.h"
#include "ledger.h"
#include "registry.h"
#include "store.h"

#define PHONE_A "01012345678" /* the giver */
#define PHONE_B "01098765432" /* a member */
#define PHONE_C "0162223333"  /* not a member (yet) */
#define PHONE_D "01055556666" /* not a member, never joins */
#define BASE "https://gl.test/g/"
#define DAY 86400

static char db_path[128], content_dir[128];
static int64_t fake_now;
static struct store st;
static struct ledger lg;
static struct registry reg;
static struct gift gift;
static int64_t tone_id, card_id;

/* ---- helpers ------------------------------------------------------------ */

static int64_t fake_clock(void *ctx)
{
    (void)ctx;
    return fake_now;
}

static void db_remove(const char *path)
{
    char p[300];
    unlink(path);
    snprintf(p, sizeof p, "%s-wal", path);
    unlink(p);
    snprintf(p, sizeof p, "%s-shm", path);
    unlink(p);
}

static int64_t sql_int(const char *sql)
{
    sqlite3_stmt *s = NULL;
    int64_t v = -1;
    if (sqlite3_prepare_v2((sqlite3 *)st.db, sql, -1, &s, NULL) == SQLITE_OK &&
        sqlite3_step(s) == SQLITE_ROW) {
        v = sqlite3_column_int64(s, 0);
    } else {
        printf("  sql '%s': %s\n", sql, sqlite3_errmsg((sqlite3 *)st.db));
    }
    sqlite3_finalize(s);
    return v;
}

static void sql_text(const char *sql, char *out, size_t cap)
{
    sqlite3_stmt *s = NULL;
    out[0] = '\0';
    if (sqlite3_prepare_v2((sqlite3 *)st.db, sql, -1, &s, NULL) == SQLITE_OK &&
        sqlite3_step(s) == SQLITE_ROW && sqlite3_column_text(s, 0) != NULL) {
        snprintf(out, cap, "%s", (const char *)sqlite3_column_text(s, 0));
    }
    sqlite3_finalize(s);
}

/* The SMS of idempotency key key: "phone|text", "" if none. */
static void sms(const char *key, char *out, size_t cap)
{
    char q[256];
    snprintf(q, sizeof q,
             "SELECT phone || '|' || text FROM outbox WHERE idem_key = '%s'",
             key);
    sql_text(q, out, cap);
}

static void check_ledger_clean(void)
{
    struct ledger_report rep;
    GL_CHECK_INT(GL_OK, ledger_check(&lg, fake_now, &rep));
    GL_CHECK_INT(0, rep.n);
    for (size_t i = 0; i < rep.n; i++) {
        printf("  finding: %s\n", rep.items[i].text);
    }
    GL_CHECK_INT(0, rep.total);
    ledger_report_free(&rep);
}

static void add_product(const char *id, const char *brand, const char *prefix,
                        int partial)
{
    struct registry_product p = {.type = REGISTRY_TYPE_CARRIER,
                                 .validity_days = 365,
                                 .partial_ok = partial,
                                 .faces = {10000, 30000, 50000},
                                 .nfaces = 3,
                                 .groups = {"all"},
                                 .ngroups = 1};
    snprintf(p.id, sizeof p.id, "%s", id);
    snprintf(p.issuer, sizeof p.issuer, "giftlink");
    snprintf(p.brand, sizeof p.brand, "%s", brand);
    snprintf(p.prefix, sizeof p.prefix, "%s", prefix);
    GL_CHECK_INT(GL_OK, registry_product_add(&reg, &p));
}

/* Issues a voucher of product and face to phone; out gets its number. */
static void issue(const char *product, int64_t face, const char *phone,
                  char out[VOUCHER_NUM_LEN + 1])
{
    struct registry_issue ri = {
        .product = product, .face = face, .member = phone};
    struct registry_voucher v;
    GL_CHECK_INT(GL_OK, registry_voucher_issue(&reg, &ri, &v));
    snprintf(out, VOUCHER_NUM_LEN + 1, "%s", v.number);
}

static struct registry_voucher voucher(const char *number)
{
    struct registry_voucher v;
    GL_CHECK_INT(GL_OK, registry_voucher_get(&reg, number, &v));
    return v;
}

/* What the host's own check answers for a PIN-less voucher at M1. */
static int host_check(const char *number)
{
    struct registry_voucher v;
    return registry_voucher_authorize(&reg, number, NULL, "M1", &v);
}

/* Everything an action may write, as one string. */
static void snapshot(char *out, size_t cap)
{
    sql_text(
        "SELECT (SELECT COUNT(*) FROM gift) || '/' ||"
        " (SELECT COUNT(*) FROM gift_item) || '/' ||"
        " (SELECT COUNT(*) FROM gift_addon) || '/' ||"
        " (SELECT COUNT(*) FROM outbox) || '/' ||"
        " (SELECT COUNT(*) FROM transfer) || '/' ||"
        " (SELECT COUNT(*) FROM member) || '/' ||"
        " (SELECT group_concat(state || closed_at, ',') FROM gift) || '/' ||"
        " (SELECT group_concat(open, '') FROM gift_item) || '/' ||"
        " (SELECT group_concat(v.number || ':' || v.status || ':' ||"
        "   COALESCE(v.member_id, 0) || ':' || a.balance, ',')"
        "  FROM voucher v JOIN account a ON a.id = v.account_id)",
        out, cap);
}

static struct gift_request req1(const char *key, const char *number,
                                int64_t amount, const char *to,
                                struct gift_item_req *item)
{
    item->number = number;
    item->amount = amount;
    struct gift_request r = {.key = key,
                             .giver = PHONE_A,
                             .recipient = to,
                             .message = "생일 축하해!",
                             .items = item,
                             .nitems = 1};
    return r;
}

static int is_hex32(const char *t)
{
    if (strlen(t) != 32) {
        return 0;
    }
    for (int i = 0; i < 32; i++) {
        if (!((t[i] >= '0' && t[i] <= '9') || (t[i] >= 'a' && t[i] <= 'f'))) {
            return 0;
        }
    }
    return 1;
}

/* ---- set-up ------------------------------------------------------------- */

GL_TEST(setup_database)
{
    struct ledger_config lcfg = {.clock = fake_clock};
    struct gift_config gcfg = {.claim_base = BASE, .expire_days = 5, .mms = 1};
    int rc;

    snprintf(db_path, sizeof db_path, "/tmp/gl_test_gift_%d.db", (int)getpid());
    snprintf(content_dir, sizeof content_dir, "/tmp/gl_test_gift_%d_content",
             (int)getpid());
    db_remove(db_path);
    fake_now = 1700000000; /* 2023-11-15 07:13 KST */
    GL_CHECK_INT(GL_OK, store_open(&st, NULL, NULL, db_path));
    GL_CHECK_INT(GL_OK, ledger_init(&lg, &st, &lcfg));
    GL_CHECK_INT(GL_OK, registry_init(&reg, &lg, NULL));
    const char *all[] = {"all"};
    GL_CHECK_INT(GL_OK, registry_merchant_add(&reg, "M1", "Shop", all, 1));
    add_product("CARRIER", "통신사 상품권", "627409", 1);
    add_product("BOOK", "도서 상품권", "627410", 0);
    GL_CHECK_INT(GL_OK, registry_member_add(&reg, PHONE_A, NULL));
    GL_CHECK_INT(GL_OK, registry_member_add(&reg, PHONE_B, NULL));
    gcfg.content_dir = content_dir;
    rc = gift_open(&gift, &reg, &gcfg);
    GL_CHECK_INT(GL_OK, rc);
    if (rc != GL_OK) {
        printf("  gift_open: %s\n", gift_errmsg(&gift));
        exit(1);
    }
    /* Opening again over the same tables is harmless. */
    gift_close(&gift);
    GL_CHECK_INT(GL_OK, gift_open(&gift, &reg, &gcfg));
}

/* ---- the content catalogue ---------------------------------------------- */

static int count_cb(void *ctx, const struct gift_content *c)
{
    (void)c;
    (*(int *)ctx)++;
    return 0;
}

GL_TEST(content_add_copies_the_file_and_get_serves_it)
{
    char src[200], dir[200], buf[64];
    struct gift_content c, c2;
    struct stat sb;
    FILE *f;
    int n = 0;

    snprintf(src, sizeof src, "%s.src", content_dir);
    f = fopen(src, "wb");
    GL_CHECK(f != NULL);
    fputs("abc", f);
    fclose(f);
    GL_CHECK_INT(GL_OK, gift_content_add(&gift, GIFT_RING_TONE, "생일 벨소리",
                                         "audio/mpeg", src, &tone_id));
    GL_CHECK(tone_id > 0);
    GL_CHECK_INT(GL_OK, gift_content_get(&gift, tone_id, &c));
    GL_CHECK_INT(GIFT_RING_TONE, c.kind);
    GL_CHECK_STR("ring_tone", gift_content_kind_name(c.kind));
    GL_CHECK_STR("생일 벨소리", c.title);
    GL_CHECK_STR("audio/mpeg", c.mime);
    GL_CHECK_INT(3, c.size);
    /* SHA-256("abc"), FIPS 180-2 B.1 */
    GL_CHECK_STR(
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
        c.sha256);
    snprintf(dir, sizeof dir, "%s/%s", content_dir, c.sha256);
    GL_CHECK_STR(dir, c.path);
    f = fopen(c.path, "rb");
    GL_CHECK(f != NULL);
    if (f != NULL) {
        size_t got = fread(buf, 1, sizeof buf, f);
        fclose(f);
        GL_CHECK_INT(3, got);
        GL_CHECK(memcmp(buf, "abc", 3) == 0);
    }
    /* The source may go: the copy stays. */
    unlink(src);
    GL_CHECK_INT(0, stat(c.path, &sb));
    /* The same content under another title shares the file. */
    f = fopen(src, "wb");
    fputs("abc", f);
    fclose(f);
    GL_CHECK_INT(GL_OK, gift_content_add(&gift, GIFT_THEME_CARD, "케이크 카드",
                                         "image/png", src, &card_id));
    GL_CHECK_INT(GL_OK, gift_content_get(&gift, card_id, &c2));
    GL_CHECK_STR(c.path, c2.path);
    GL_CHECK_INT(GL_OK, gift_content_list(&gift, 0, count_cb, &n));
    GL_CHECK_INT(2, n);
    n = 0;
    GL_CHECK_INT(GL_OK,
                 gift_content_list(&gift, GIFT_THEME_CARD, count_cb, &n));
    GL_CHECK_INT(1, n);
    /* Refusals. */
    GL_CHECK_INT(GL_EINVAL,
                 gift_content_add(&gift, 9, "x", "audio/mpeg", src, NULL));
    GL_CHECK_INT(GL_EINVAL, gift_content_add(&gift, GIFT_RING_TONE, "x",
                                             "image/png", src, NULL));
    GL_CHECK_INT(GL_EINVAL, gift_content_add(&gift, GIFT_CHARACTER, "",
                                             "image/png", src, NULL));
    GL_CHECK_INT(GL_EINVAL,
                 gift_content_add(&gift, GIFT_CHARACTER, "x", "image/png",
                                  "/nonexistent/f", NULL));
    GL_CHECK_INT(GL_EINVAL, gift_content_add(&gift, GIFT_CHARACTER, "x",
                                             "image/png", "/tmp", NULL));
    f = fopen(src, "wb");
    fclose(f);
    GL_CHECK_INT(GL_ERANGE, gift_content_add(&gift, GIFT_CHARACTER, "x",
                                             "image/png", src, NULL));
    unlink(src);
    GL_CHECK_INT(GL_ENOTFOUND, gift_content_get(&gift, 999, &c));
    GL_CHECK_INT(GIFT_BACKGROUND_MUSIC,
                 gift_content_kind_parse("background_music"));
    GL_CHECK_INT(GL_EINVAL, gift_content_kind_parse("tone"));
    /* No temporary files left behind. */
    char q[300];
    snprintf(q, sizeof q, "ls -A %s | grep -c tmp", content_dir);
    FILE *p = popen(q, "r");
    GL_CHECK(p != NULL && fgets(buf, sizeof buf, p) != NULL);
    GL_CHECK_STR("0\n", buf);
    pclose(p);
}

/* ---- preview ------------------------------------------------------------ */

GL_TEST(preview_shows_the_package_and_changes_nothing)
{
    char v1[20], v2[20], before[4096], after[4096], m[GL_MASK_MAX];
    struct gift_item_req items[2];
    int64_t addons[] = {tone_id, card_id};
    struct gift_result res;

    issue("CARRIER", 10000, PHONE_A, v1);
    issue("CARRIER", 30000, PHONE_A, v2);
    items[0] = (struct gift_item_req){v1, 0};
    items[1] = (struct gift_item_req){v2, 5000};
    struct gift_request r = {.giver = PHONE_A,
                             .recipient = PHONE_B,
                             .message = "고마워",
                             .items = items,
                             .nitems = 2,
                             .addons = addons,
                             .naddons = 2};
    snapshot(before, sizeof before);
    GL_CHECK_INT(GL_OK, gift_preview(&gift, &r, &res));
    snapshot(after, sizeof after);
    GL_CHECK_STR(before, after);
    GL_CHECK_STR("done", gift_outcome_name(res.outcome));
    GL_CHECK_INT(0, res.pkg.gift_id);
    GL_CHECK_INT(2, res.pkg.nitems);
    GL_CHECK_INT(15000, res.pkg.total);
    GL_CHECK_STR(gl_mask_pan(m, v1, strlen(v1)), res.pkg.items[0].masked);
    GL_CHECK_STR("", res.pkg.items[0].number);
    GL_CHECK_INT(0, res.pkg.items[0].part);
    GL_CHECK_INT(10000, res.pkg.items[0].amount);
    GL_CHECK_INT(1, res.pkg.items[1].part);
    GL_CHECK_INT(5000, res.pkg.items[1].amount);
    GL_CHECK_STR(gl_mask_pan(m, v2, strlen(v2)), res.pkg.items[1].source);
    GL_CHECK_STR("통신사 상품권", res.pkg.items[1].brand);
    GL_CHECK_STR("고마워", res.pkg.message);
    GL_CHECK_STR("010****5678", res.pkg.giver);
    GL_CHECK_STR("010****5432", res.pkg.recipient);
    GL_CHECK_INT(2, res.pkg.naddons);
    GL_CHECK_STR("생일 벨소리", res.pkg.addons[0].title);
    GL_CHECK_STR("케이크 카드", res.pkg.addons[1].title);
    GL_CHECK_INT(fake_now + 5 * DAY, res.pkg.expires_at);
    check_ledger_clean();
}

/* ---- send, accept, refuse ------------------------------------------------ */

GL_TEST(send_reserves_and_accept_moves_the_voucher)
{
    char v[20], key[48], text[2048], q[256], m[GL_MASK_MAX], link[200];
    struct gift_item_req item;
    int64_t addons[] = {card_id};
    struct gift_result res, again, info;
    struct registry_voucher rv;

    issue("CARRIER", 10000, PHONE_A, v);
    struct gift_request r = req1("k-accept", v, 0, PHONE_B, &item);
    r.addons = addons;
    r.naddons = 1;
    GL_CHECK_INT(GL_OK, host_check(v));
    GL_CHECK_INT(GL_OK, gift_send(&gift, &r, &res));
    GL_CHECK_STR("done", gift_outcome_name(res.outcome));
    GL_CHECK_INT(0, res.replay);
    GL_CHECK(res.pkg.gift_id > 0);
    GL_CHECK_STR("pending", gift_state_name(res.pkg.state));
    GL_CHECK(is_hex32(res.token));
    snprintf(link, sizeof link, BASE "%s", res.token);
    GL_CHECK_STR(link, res.link);
    /* Reserved: frozen, and the host's check refuses it. */
    rv = voucher(v);
    GL_CHECK_INT(REGISTRY_V_FROZEN, rv.status);
    GL_CHECK_STR(PHONE_A, rv.member_phone);
    GL_CHECK_INT(GL_REG_FROZEN, host_check(v));
    /* The token is stored only hashed. */
    snprintf(q, sizeof q,
             "SELECT COUNT(*) FROM gift WHERE CAST(token_hash AS TEXT) = '%s'"
             " OR lower(hex(token_hash)) = '%s'",
             res.token, res.token);
    GL_CHECK_INT(0, sql_int(q));
    /* The recipient's SMS: link, masked giver, message; no whole number. */
    snprintf(key, sizeof key, "gift:%" PRId64 ":offer", res.pkg.gift_id);
    sms(key, text, sizeof text);
    GL_CHECK(strncmp(text, PHONE_B "|", 12) == 0);
    GL_CHECK(strstr(text, link) != NULL);
    GL_CHECK(strstr(text, "010****5678님이 상품권 1장(10,000원)을 선물") !=
             NULL);
    GL_CHECK(strstr(text, "생일 축하해!") != NULL);
    GL_CHECK(strstr(text, PHONE_A) == NULL);
    GL_CHECK(strstr(text, v) == NULL);
    printf("  SMS: %s\n", text);
    /* Its MMS, in the same transaction: the link and the add-on file under
     * a name with its extension; no barcode before acceptance. */
    snprintf(q, sizeof q,
             "SELECT o.phone || '|' || ifnull(m.barcode, '-') || '|' || "
             "m.addons || '|' || o.text FROM outbox o JOIN outbox_mms m ON "
             "m.outbox_id = o.id WHERE o.idem_key = 'gift:%" PRId64 ":mms'",
             res.pkg.gift_id);
    sql_text(q, text, sizeof text);
    GL_CHECK(strncmp(text, PHONE_B "|-|", 14) == 0);
    GL_CHECK(strstr(text, ".png|") != NULL);
    GL_CHECK(strstr(text, link) != NULL);
    GL_CHECK(strstr(text, v) == NULL);
    printf("  MMS: %s\n", text);
    check_ledger_clean();

    /* The claim page. */
    GL_CHECK_INT(GL_OK, gift_claim_info(&gift, res.token, &info));
    GL_CHECK_STR("done", gift_outcome_name(info.outcome));
    GL_CHECK_INT(res.pkg.gift_id, info.pkg.gift_id);
    GL_CHECK_STR(gl_mask_pan(m, v, strlen(v)), info.pkg.items[0].masked);
    GL_CHECK_STR("", info.pkg.items[0].number);
    GL_CHECK_STR("케이크 카드", info.pkg.addons[0].title);
    GL_CHECK_INT(1, info.pkg.naddons);

    /* Accept. */
    fake_now += 3600;
    GL_CHECK_INT(GL_OK, gift_accept(&gift, res.token, PHONE_B, &again));
    GL_CHECK_STR("done", gift_outcome_name(again.outcome));
    GL_CHECK_INT(0, again.replay);
    GL_CHECK_INT(0, again.joined);
    GL_CHECK_STR("accepted", gift_state_name(again.pkg.state));
    GL_CHECK_STR(v, again.pkg.items[0].number);
    GL_CHECK_INT(fake_now, again.pkg.closed_at);
    rv = voucher(v);
    GL_CHECK_STR(PHONE_B, rv.member_phone);
    GL_CHECK_INT(REGISTRY_V_ACTIVE, rv.status);
    GL_CHECK_INT(10000, rv.balance);
    GL_CHECK_INT(GL_OK, host_check(v));
    snprintf(key, sizeof key, "gift:%" PRId64 ":accepted", res.pkg.gift_id);
    sms(key, text, sizeof text);
    GL_CHECK(strncmp(text, PHONE_A "|", 12) == 0);
    GL_CHECK(strstr(text, "010****5432님이") != NULL);
    GL_CHECK(strstr(text, PHONE_B) == NULL);
    printf("  SMS: %s\n", text);
    /* The new owner's barcode MMS, in the acceptance's transaction. */
    snprintf(q, sizeof q,
             "SELECT o.phone || '|' || m.barcode FROM outbox o JOIN outbox_mms"
             " m ON m.outbox_id = o.id WHERE o.idem_key = 'gift:%" PRId64
             ":mms:v0'",
             res.pkg.gift_id);
    sql_text(q, text, sizeof text);
    char want[64];
    snprintf(want, sizeof want, PHONE_B "|%s", v);
    GL_CHECK_STR(want, text);
    check_ledger_clean();

    /* Accepting again: the same result, nothing done. */
    int64_t outbox = sql_int("SELECT COUNT(*) FROM outbox");
    GL_CHECK_INT(GL_OK, gift_accept(&gift, res.token, PHONE_B, &again));
    GL_CHECK_STR("done", gift_outcome_name(again.outcome));
    GL_CHECK_INT(1, again.replay);
    GL_CHECK_STR(v, again.pkg.items[0].number);
    GL_CHECK_INT(outbox, sql_int("SELECT COUNT(*) FROM outbox"));
    /* Refusing after the acceptance: closed. */
    GL_CHECK_INT(GL_OK, gift_refuse(&gift, res.token, &again));
    GL_CHECK_STR("closed", gift_outcome_name(again.outcome));
    GL_CHECK_STR("accepted", gift_state_name(again.pkg.state));
    GL_CHECK_STR("", again.pkg.items[0].number);
    GL_CHECK_STR(PHONE_B, voucher(v).member_phone);
    check_ledger_clean();
}

GL_TEST(refuse_returns_the_voucher_and_tells_the_giver)
{
    char v[20], key[48], text[2048];
    struct gift_item_req item;
    struct gift_result res, again;

    issue("BOOK", 30000, PHONE_A, v);
    struct gift_request r = req1("k-refuse", v, 0, PHONE_B, &item);
    GL_CHECK_INT(GL_OK, gift_send(&gift, &r, &res));
    GL_CHECK_STR("done", gift_outcome_name(res.outcome));
    GL_CHECK_INT(REGISTRY_V_FROZEN, voucher(v).status);
    GL_CHECK_INT(GL_OK, gift_refuse(&gift, res.token, &again));
    GL_CHECK_STR("done", gift_outcome_name(again.outcome));
    GL_CHECK_STR("refused", gift_state_name(again.pkg.state));
    GL_CHECK_INT(REGISTRY_V_ACTIVE, voucher(v).status);
    GL_CHECK_STR(PHONE_A, voucher(v).member_phone);
    GL_CHECK_INT(30000, voucher(v).balance);
    GL_CHECK_INT(GL_OK, host_check(v));
    snprintf(key, sizeof key, "gift:%" PRId64 ":refused", res.pkg.gift_id);
    sms(key, text, sizeof text);
    GL_CHECK(strncmp(text, PHONE_A "|", 12) == 0);
    GL_CHECK(strstr(text, "거절") != NULL);
    GL_CHECK(strstr(text, "010****5432") != NULL);
    printf("  SMS: %s\n", text);
    /* Refusing again: the first result; accepting now: closed. */
    GL_CHECK_INT(GL_OK, gift_refuse(&gift, res.token, &again));
    GL_CHECK_STR("done", gift_outcome_name(again.outcome));
    GL_CHECK_INT(1, again.replay);
    GL_CHECK_INT(GL_OK, gift_accept(&gift, res.token, PHONE_B, &again));
    GL_CHECK_STR("closed", gift_outcome_name(again.outcome));
    GL_CHECK_STR("refused", gift_state_name(again.pkg.state));
    GL_CHECK_STR(PHONE_A, voucher(v).member_phone);
    /* The voucher can be gifted again. */
    r.key = "k-refuse-2";
    GL_CHECK_INT(GL_OK, gift_send(&gift, &r, &res));
    GL_CHECK_STR("done", gift_outcome_name(res.outcome));
    GL_CHECK_INT(GL_OK, gift_refuse(&gift, res.token, &again));
    check_ledger_clean();
}

/* ---- parts ----------------------------------------------------------------
 */

GL_TEST(a_part_becomes_a_new_voucher_and_a_non_member_joins)
{
    char v[20], part[20], xid[64];
    struct gift_item_req item;
    struct gift_result res, acc;
    struct registry_voucher orig, nv;
    struct ledger_transfer_row t;
    int64_t mid = 0;

    issue("CARRIER", 30000, PHONE_A, v);
    struct gift_request r = req1("k-part", v, 12000, PHONE_C, &item);
    GL_CHECK_INT(GL_ENOTFOUND, registry_member_find(&reg, PHONE_C, &mid));
    GL_CHECK_INT(GL_OK, gift_send(&gift, &r, &res));
    GL_CHECK_STR("done", gift_outcome_name(res.outcome));
    GL_CHECK_INT(1, res.pkg.items[0].part);
    GL_CHECK_INT(12000, res.pkg.total);
    /* The original keeps the rest and stays usable. */
    orig = voucher(v);
    GL_CHECK_INT(18000, orig.balance);
    GL_CHECK_INT(REGISTRY_V_ACTIVE, orig.status);
    GL_CHECK_INT(GL_OK, host_check(v));
    /* The part: a new voucher, same product, face and expiry, funded by a
     * transfer from the original, reserved. */
    snprintf(xid, sizeof xid, "gift:%" PRId64 ":0", res.pkg.gift_id);
    GL_CHECK_INT(GL_OK, ledger_transfer_get(&lg, xid, &t));
    GL_CHECK_INT(orig.account, t.debit);
    GL_CHECK_INT(12000, t.amount);
    GL_CHECK_INT(LEDGER_TK_ADJUST, t.kind);
    char q[256];
    snprintf(q, sizeof q,
             "SELECT voucher FROM gift_item WHERE gift_id = %" PRId64,
             res.pkg.gift_id);
    sql_text(q, part, sizeof part);
    GL_CHECK(strcmp(part, v) != 0);
    nv = voucher(part);
    GL_CHECK_INT(t.credit, nv.account);
    GL_CHECK_INT(12000, nv.balance);
    GL_CHECK_STR("CARRIER", nv.product);
    GL_CHECK_INT(orig.face, nv.face);
    GL_CHECK_INT(orig.expires, nv.expires);
    GL_CHECK_INT(REGISTRY_V_FROZEN, nv.status);
    GL_CHECK_INT(GL_REG_FROZEN, host_check(part));
    check_ledger_clean();

    /* The non-member accepts and joins. */
    GL_CHECK_INT(GL_OK, gift_accept(&gift, res.token, PHONE_C, &acc));
    GL_CHECK_STR("done", gift_outcome_name(acc.outcome));
    GL_CHECK_INT(1, acc.joined);
    GL_CHECK_STR(part, acc.pkg.items[0].number);
    GL_CHECK_INT(GL_OK, registry_member_find(&reg, PHONE_C, &mid));
    nv = voucher(part);
    GL_CHECK_STR(PHONE_C, nv.member_phone);
    GL_CHECK_INT(REGISTRY_V_ACTIVE, nv.status);
    GL_CHECK_INT(12000, nv.balance);
    GL_CHECK_INT(GL_OK, host_check(part));
    GL_CHECK_STR(PHONE_A, voucher(v).member_phone);
    GL_CHECK_INT(18000, voucher(v).balance);
    /* A replay keeps saying the recipient joined by it. */
    GL_CHECK_INT(GL_OK, gift_accept(&gift, res.token, PHONE_C, &acc));
    GL_CHECK_INT(1, acc.replay);
    GL_CHECK_INT(1, acc.joined);
    check_ledger_clean();
}

GL_TEST(a_refused_part_goes_back_into_its_original)
{
    char v[20], part[20], q[256];
    struct gift_item_req item;
    struct gift_result res, ref;

    issue("CARRIER", 10000, PHONE_A, v);
    struct gift_request r = req1("k-part-back", v, 4000, PHONE_B, &item);
    GL_CHECK_INT(GL_OK, gift_send(&gift, &r, &res));
    GL_CHECK_STR("done", gift_outcome_name(res.outcome));
    GL_CHECK_INT(6000, voucher(v).balance);
    snprintf(q, sizeof q,
             "SELECT voucher FROM gift_item WHERE gift_id = %" PRId64,
             res.pkg.gift_id);
    sql_text(q, part, sizeof part);
    GL_CHECK_INT(GL_OK, gift_refuse(&gift, res.token, &ref));
    GL_CHECK_STR("done", gift_outcome_name(ref.outcome));
    GL_CHECK_INT(10000, voucher(v).balance);
    GL_CHECK_INT(REGISTRY_V_ACTIVE, voucher(v).status);
    GL_CHECK_INT(0, voucher(part).balance);
    GL_CHECK_INT(REGISTRY_V_CANCELLED, voucher(part).status);
    GL_CHECK_INT(GL_REG_CANCELLED, host_check(part));
    check_ledger_clean();
}

GL_TEST(parts_need_partial_use_and_the_balance)
{
    char book[20], v[20], before[4096], after[4096];
    struct gift_item_req item;
    struct gift_result res;

    issue("BOOK", 10000, PHONE_A, book);
    issue("CARRIER", 10000, PHONE_A, v);
    snapshot(before, sizeof before);
    struct gift_request r = req1("k-nopart", book, 3000, PHONE_B, &item);
    GL_CHECK_INT(GL_OK, gift_send(&gift, &r, &res));
    GL_CHECK_STR("no_partial", gift_outcome_name(res.outcome));
    GL_CHECK_INT(0, res.item);
    GL_CHECK_STR("", res.token);
    r = req1("k-toomuch", v, 10001, PHONE_B, &item);
    GL_CHECK_INT(GL_OK, gift_send(&gift, &r, &res));
    GL_CHECK_STR("amount", gift_outcome_name(res.outcome));
    GL_CHECK_INT(GL_OK, gift_preview(&gift, &r, &res));
    GL_CHECK_STR("amount", gift_outcome_name(res.outcome));
    snapshot(after, sizeof after);
    GL_CHECK_STR(before, after);
    /* The whole balance named as an amount is the whole voucher, allowed
     * without partial use. */
    r = req1("k-book-whole", book, 10000, PHONE_B, &item);
    GL_CHECK_INT(GL_OK, gift_send(&gift, &r, &res));
    GL_CHECK_STR("done", gift_outcome_name(res.outcome));
    GL_CHECK_INT(0, res.pkg.items[0].part);
    GL_CHECK_INT(GL_OK, gift_refuse(&gift, res.token, &res));
    check_ledger_clean();
}

/* ---- refusals -------------------------------------------------------------
 */

GL_TEST(a_reserved_voucher_is_refused_for_a_second_gift_and_at_the_host)
{
    char v[20], before[4096], after[4096];
    struct gift_item_req item;
    struct gift_result res, second;

    issue("CARRIER", 10000, PHONE_A, v);
    struct gift_request r = req1("k-res-1", v, 0, PHONE_B, &item);
    GL_CHECK_INT(GL_OK, gift_send(&gift, &r, &res));
    GL_CHECK_STR("done", gift_outcome_name(res.outcome));
    snapshot(before, sizeof before);
    r.key = "k-res-2";
    r.recipient = PHONE_C;
    GL_CHECK_INT(GL_OK, gift_send(&gift, &r, &second));
    GL_CHECK_STR("reserved", gift_outcome_name(second.outcome));
    GL_CHECK_INT(0, second.item);
    GL_CHECK_INT(GL_OK, gift_preview(&gift, &r, &second));
    GL_CHECK_STR("reserved", gift_outcome_name(second.outcome));
    /* A part of it neither. */
    item.amount = 1000;
    r.key = "k-res-3";
    GL_CHECK_INT(GL_OK, gift_send(&gift, &r, &second));
    GL_CHECK_STR("reserved", gift_outcome_name(second.outcome));
    snapshot(after, sizeof after);
    GL_CHECK_STR(before, after);
    /* The host's check (registry_voucher_authorize; hostd answers 62). */
    GL_CHECK_INT(GL_REG_FROZEN, host_check(v));
    GL_CHECK_INT(GL_OK, gift_refuse(&gift, res.token, &res));
    GL_CHECK_INT(GL_OK, host_check(v));
    check_ledger_clean();
}

GL_TEST(someone_elses_or_unknown_vouchers_and_non_member_givers_are_refused)
{
    char vb[20], va[20], cancelled[20], empty[20];
    struct gift_item_req item;
    struct gift_result res;

    issue("CARRIER", 10000, PHONE_B, vb);
    issue("CARRIER", 10000, PHONE_A, va);
    issue("CARRIER", 10000, PHONE_A, cancelled);
    GL_CHECK_INT(GL_OK, registry_voucher_set_status(&reg, cancelled,
                                                    REGISTRY_V_CANCELLED));
    struct gift_request r = req1("k-other", vb, 0, PHONE_C, &item);
    GL_CHECK_INT(GL_OK, gift_send(&gift, &r, &res));
    GL_CHECK_STR("not_owner", gift_outcome_name(res.outcome));
    GL_CHECK_INT(REGISTRY_V_ACTIVE, voucher(vb).status);
    r = req1("k-unknown", "6274090000000000", 0, PHONE_C, &item);
    GL_CHECK_INT(GL_OK, gift_send(&gift, &r, &res));
    GL_CHECK_STR("not_owner", gift_outcome_name(res.outcome));
    r = req1("k-cancelled", cancelled, 0, PHONE_C, &item);
    GL_CHECK_INT(GL_OK, gift_send(&gift, &r, &res));
    GL_CHECK_STR("unusable", gift_outcome_name(res.outcome));
    /* An expired voucher. */
    fake_now += 366 * DAY;
    r = req1("k-expired", va, 0, PHONE_C, &item);
    GL_CHECK_INT(GL_OK, gift_send(&gift, &r, &res));
    GL_CHECK_STR("unusable", gift_outcome_name(res.outcome));
    fake_now -= 366 * DAY;
    /* An empty one (spent at a till: a redeem transfer). */
    issue("CARRIER", 10000, PHONE_A, empty);
    {
        struct registry_voucher ev = voucher(empty);
        struct registry_merchant mm;
        struct ledger_result lr;
        GL_CHECK_INT(GL_OK, registry_merchant_get(&reg, "M1", &mm));
        struct ledger_transfer t = {.id = "test:spend",
                                    .debit = ev.account,
                                    .credit = mm.account,
                                    .amount = 10000,
                                    .kind = LEDGER_TK_REDEEM};
        GL_CHECK_INT(GL_OK, ledger_transfer_apply(&lg, &t, &lr));
    }
    r = req1("k-empty", empty, 0, PHONE_C, &item);
    GL_CHECK_INT(GL_OK, gift_send(&gift, &r, &res));
    GL_CHECK_STR("unusable", gift_outcome_name(res.outcome));
    /* A giver who is no member. */
    r = req1("k-nonmember", va, 0, PHONE_B, &item);
    r.giver = PHONE_D;
    GL_CHECK_INT(GL_OK, gift_send(&gift, &r, &res));
    GL_CHECK_STR("not_member", gift_outcome_name(res.outcome));
    GL_CHECK_INT(0, sql_int("SELECT COUNT(*) FROM gift WHERE idem_key IN"
                            " ('k-other', 'k-unknown', 'k-cancelled',"
                            " 'k-expired', 'k-empty', 'k-nonmember')"));
    check_ledger_clean();
}

GL_TEST(wrong_tokens_and_the_wrong_recipient_are_refused)
{
    char v[20];
    struct gift_item_req item;
    struct gift_result res, out;
    char forged[GIFT_TOKEN_LEN + 1];

    issue("CARRIER", 10000, PHONE_A, v);
    struct gift_request r = req1("k-token", v, 0, PHONE_B, &item);
    GL_CHECK_INT(GL_OK, gift_send(&gift, &r, &res));
    snprintf(forged, sizeof forged, "%s", res.token);
    forged[0] = forged[0] == 'a' ? 'b' : 'a';
    GL_CHECK_INT(GL_OK, gift_accept(&gift, forged, PHONE_B, &out));
    GL_CHECK_STR("bad_token", gift_outcome_name(out.outcome));
    GL_CHECK_INT(GL_OK, gift_refuse(&gift, forged, &out));
    GL_CHECK_STR("bad_token", gift_outcome_name(out.outcome));
    GL_CHECK_INT(GL_OK, gift_claim_info(&gift, forged, &out));
    GL_CHECK_STR("bad_token", gift_outcome_name(out.outcome));
    GL_CHECK_INT(GL_OK, gift_accept(&gift, "xyz", PHONE_B, &out));
    GL_CHECK_STR("bad_token", gift_outcome_name(out.outcome));
    GL_CHECK_INT(GL_OK, gift_accept(&gift, NULL, PHONE_B, &out));
    GL_CHECK_STR("bad_token", gift_outcome_name(out.outcome));
    /* Upper case is not the token either. */
    for (char *p = forged; *p; p++) {
        *p = *p >= 'a' && *p <= 'f' ? (char)(*p - 32) : *p;
    }
    GL_CHECK_INT(GL_OK, gift_accept(&gift, forged, PHONE_B, &out));
    GL_CHECK_STR("bad_token", gift_outcome_name(out.outcome));
    GL_CHECK_INT(GL_OK, gift_accept(&gift, res.token, PHONE_C, &out));
    GL_CHECK_STR("wrong_recipient", gift_outcome_name(out.outcome));
    GL_CHECK_INT(GL_EINVAL, gift_accept(&gift, res.token, "12345", &out));
    GL_CHECK_INT(REGISTRY_V_FROZEN, voucher(v).status);
    GL_CHECK_STR(PHONE_A, voucher(v).member_phone);
    GL_CHECK_INT(GL_OK, gift_accept(&gift, res.token, PHONE_B, &out));
    GL_CHECK_STR("done", gift_outcome_name(out.outcome));
    check_ledger_clean();
}

/* ---- idempotency ----------------------------------------------------------
 */

GL_TEST(the_key_replays_the_first_result_or_conflicts)
{
    char v[20], before[4096], after[4096];
    struct gift_item_req item;
    struct gift_result res, again;

    issue("CARRIER", 10000, PHONE_A, v);
    struct gift_request r = req1("k-idem", v, 0, PHONE_B, &item);
    GL_CHECK_INT(GL_OK, gift_send(&gift, &r, &res));
    GL_CHECK_STR("done", gift_outcome_name(res.outcome));
    snapshot(before, sizeof before);
    GL_CHECK_INT(GL_OK, gift_send(&gift, &r, &again));
    GL_CHECK_STR("done", gift_outcome_name(again.outcome));
    GL_CHECK_INT(1, again.replay);
    GL_CHECK_INT(res.pkg.gift_id, again.pkg.gift_id);
    GL_CHECK_INT(res.pkg.total, again.pkg.total);
    GL_CHECK_STR(res.pkg.items[0].masked, again.pkg.items[0].masked);
    GL_CHECK_STR("", again.token); /* given once */
    GL_CHECK_STR("", again.link);
    snapshot(after, sizeof after);
    GL_CHECK_STR(before, after);
    /* Other content under the key. */
    r.message = "다른 메시지";
    GL_CHECK_INT(GL_OK, gift_send(&gift, &r, &again));
    GL_CHECK_STR("conflict", gift_outcome_name(again.outcome));
    GL_CHECK_INT(res.pkg.gift_id, again.pkg.gift_id);
    r.message = "생일 축하해!";
    r.recipient = PHONE_C;
    GL_CHECK_INT(GL_OK, gift_send(&gift, &r, &again));
    GL_CHECK_STR("conflict", gift_outcome_name(again.outcome));
    snapshot(after, sizeof after);
    GL_CHECK_STR(before, after);
    /* A refused request leaves its key free. */
    r = req1("k-free", "6274090000000000", 0, PHONE_B, &item);
    GL_CHECK_INT(GL_OK, gift_send(&gift, &r, &again));
    GL_CHECK_STR("not_owner", gift_outcome_name(again.outcome));
    char w[20];
    issue("CARRIER", 10000, PHONE_A, w);
    r = req1("k-free", w, 0, PHONE_B, &item);
    GL_CHECK_INT(GL_OK, gift_send(&gift, &r, &again));
    GL_CHECK_STR("done", gift_outcome_name(again.outcome));
    GL_CHECK_INT(GL_OK, gift_refuse(&gift, again.token, &again));
    GL_CHECK_INT(GL_OK, gift_refuse(&gift, res.token, &again));
    check_ledger_clean();
}

/* ---- expiry -----------------------------------------------------------------
 */

GL_TEST(an_unclaimed_gift_returns_after_the_configured_days)
{
    char v[20], w[20], key[48], text[2048];
    struct gift_item_req item;
    struct gift_result res, late, out;
    int n = -1;

    /* Nothing of the earlier tests is still pending. */
    GL_CHECK_INT(0, sql_int("SELECT COUNT(*) FROM gift"
                            " WHERE state = 'pending'"));
    issue("CARRIER", 10000, PHONE_A, v);
    issue("CARRIER", 30000, PHONE_A, w);
    struct gift_request r = req1("k-expire", v, 0, PHONE_B, &item);
    GL_CHECK_INT(GL_OK, gift_send(&gift, &r, &res));
    GL_CHECK_INT(fake_now + 5 * DAY, res.pkg.expires_at);
    struct gift_item_req item2;
    struct gift_request r2 = req1("k-expire-part", w, 7000, PHONE_C, &item2);
    GL_CHECK_INT(GL_OK, gift_send(&gift, &r2, &late));
    GL_CHECK_INT(23000, voucher(w).balance);
    /* Not yet. */
    GL_CHECK_INT(GL_OK, gift_expire_due(&gift, fake_now + 5 * DAY - 1, &n));
    GL_CHECK_INT(0, n);
    GL_CHECK_INT(REGISTRY_V_FROZEN, voucher(v).status);
    /* Due: both return. */
    fake_now += 5 * DAY;
    GL_CHECK_INT(GL_OK, gift_expire_due(&gift, fake_now, &n));
    GL_CHECK_INT(2, n);
    GL_CHECK_INT(REGISTRY_V_ACTIVE, voucher(v).status);
    GL_CHECK_STR(PHONE_A, voucher(v).member_phone);
    GL_CHECK_INT(30000, voucher(w).balance);
    snprintf(key, sizeof key, "gift:%" PRId64 ":expired", res.pkg.gift_id);
    sms(key, text, sizeof text);
    GL_CHECK(strncmp(text, PHONE_A "|", 12) == 0);
    GL_CHECK(strstr(text, "5일 동안 받지 않아") != NULL);
    GL_CHECK(strstr(text, "010****5432") != NULL);
    printf("  SMS: %s\n", text);
    GL_CHECK_INT(GL_OK, gift_expire_due(&gift, fake_now, &n));
    GL_CHECK_INT(0, n);
    GL_CHECK_INT(GL_OK, gift_accept(&gift, res.token, PHONE_B, &out));
    GL_CHECK_STR("closed", gift_outcome_name(out.outcome));
    GL_CHECK_STR("expired", gift_state_name(out.pkg.state));
    check_ledger_clean();

    /* A claim after the expiry but before the sweep returns it at once. */
    r.key = "k-expire-late";
    GL_CHECK_INT(GL_OK, gift_send(&gift, &r, &res));
    fake_now += 5 * DAY;
    GL_CHECK_INT(GL_OK, gift_accept(&gift, res.token, PHONE_B, &out));
    GL_CHECK_STR("closed", gift_outcome_name(out.outcome));
    GL_CHECK_STR("expired", gift_state_name(out.pkg.state));
    GL_CHECK_INT(REGISTRY_V_ACTIVE, voucher(v).status);
    GL_CHECK_STR(PHONE_A, voucher(v).member_phone);
    snprintf(key, sizeof key, "gift:%" PRId64 ":expired", res.pkg.gift_id);
    sms(key, text, sizeof text);
    GL_CHECK(text[0] != '\0');
    GL_CHECK_INT(GL_OK, gift_expire_due(&gift, fake_now, &n));
    GL_CHECK_INT(0, n);
    check_ledger_clean();
}

/* ---- bad input -------------------------------------------------------------
 */

GL_TEST(bad_input_is_refused_with_a_reason)
{
    char v[20], before[4096], after[4096];
    struct gift_item_req item, many[11];
    int64_t addons[5] = {1, 2, 3, 4, 5};
    struct gift_result res;

    issue("CARRIER", 10000, PHONE_A, v);
    snapshot(before, sizeof before);
    struct gift_request r = req1(NULL, v, 0, PHONE_B, &item);
    GL_CHECK_INT(GL_EINVAL, gift_send(&gift, &r, &res));
    GL_CHECK(strstr(res.err, "key") != NULL);
    GL_CHECK_STR("failed", gift_outcome_name(res.outcome));
    r.key = "has space";
    GL_CHECK_INT(GL_EINVAL, gift_send(&gift, &r, &res));
    r.key = "k-bad";
    r.recipient = "0101234";
    GL_CHECK_INT(GL_EINVAL, gift_send(&gift, &r, &res));
    GL_CHECK(strstr(res.err, "recipient") != NULL);
    r.recipient = PHONE_A;
    GL_CHECK_INT(GL_EINVAL, gift_send(&gift, &r, &res));
    r.recipient = PHONE_B;
    r.giver = "abc";
    GL_CHECK_INT(GL_EINVAL, gift_send(&gift, &r, &res));
    r.giver = PHONE_A;
    r.message = "0123456789012345678901234567890123456789012345678901234567890";
    GL_CHECK_INT(GL_EINVAL, gift_send(&gift, &r, &res));
    GL_CHECK(strstr(res.err, "message") != NULL);
    r.message = "line\nbreak";
    GL_CHECK_INT(GL_EINVAL, gift_send(&gift, &r, &res));
    r.message = "\xc3\x28"; /* not UTF-8 */
    GL_CHECK_INT(GL_EINVAL, gift_send(&gift, &r, &res));
    r.message = "가나다라마바사아자차카타파하가나다라마바사아자차카타파하"
                "가나다라마바사아자차카타파하가나다라마바사아자차카타파하"
                "가나다라"; /* 60 characters: allowed */
    GL_CHECK_INT(GL_OK, gift_preview(&gift, &r, &res));
    GL_CHECK_STR("done", gift_outcome_name(res.outcome));
    r.message = NULL;
    r.nitems = 0;
    GL_CHECK_INT(GL_EINVAL, gift_send(&gift, &r, &res));
    for (int i = 0; i < 11; i++) {
        many[i] = (struct gift_item_req){v, 0};
    }
    r.items = many;
    r.nitems = 11;
    GL_CHECK_INT(GL_EINVAL, gift_send(&gift, &r, &res));
    r.nitems = 2; /* the same voucher twice */
    GL_CHECK_INT(GL_EINVAL, gift_send(&gift, &r, &res));
    GL_CHECK_INT(1, res.item);
    r.nitems = 1;
    many[0].amount = -5;
    GL_CHECK_INT(GL_EINVAL, gift_send(&gift, &r, &res));
    many[0].amount = 0;
    r.addons = addons;
    r.naddons = 5;
    GL_CHECK_INT(GL_EINVAL, gift_send(&gift, &r, &res));
    addons[0] = 999;
    r.naddons = 1;
    GL_CHECK_INT(GL_EINVAL, gift_send(&gift, &r, &res));
    GL_CHECK(strstr(res.err, "add-on") != NULL);
    addons[0] = tone_id;
    addons[1] = tone_id;
    r.naddons = 2;
    GL_CHECK_INT(GL_EINVAL, gift_send(&gift, &r, &res));
    snapshot(after, sizeof after);
    GL_CHECK_STR(before, after);
    GL_CHECK_INT(GL_EINVAL, gift_list(&gift, "x", GIFT_SENT, NULL, NULL));
    GL_CHECK_INT(GL_EINVAL, gift_list(&gift, PHONE_A, 7, NULL, NULL));
    check_ledger_clean();
}

/* ---- storage faults -------------------------------------------------------
 */

GL_TEST(storage_faults_leave_nothing_behind)
{
    static const char *const send_faults[] = {
        "CREATE TEMP TRIGGER fault BEFORE INSERT ON gift "
        "BEGIN SELECT RAISE(ABORT, 'injected fault'); END;",
        "CREATE TEMP TRIGGER fault BEFORE INSERT ON gift_item "
        "WHEN NEW.seq = 1 BEGIN SELECT RAISE(ABORT, 'injected fault'); END;",
        "CREATE TEMP TRIGGER fault BEFORE INSERT ON gift_addon "
        "BEGIN SELECT RAISE(ABORT, 'injected fault'); END;",
        "CREATE TEMP TRIGGER fault BEFORE INSERT ON voucher "
        "BEGIN SELECT RAISE(ABORT, 'injected fault'); END;",
        "CREATE TEMP TRIGGER fault BEFORE INSERT ON transfer "
        "WHEN NEW.id LIKE 'gift:%' "
        "BEGIN SELECT RAISE(ABORT, 'injected fault'); END;",
        "CREATE TEMP TRIGGER fault BEFORE UPDATE OF status ON voucher "
        "WHEN NEW.status = 1 "
        "BEGIN SELECT RAISE(ABORT, 'injected fault'); END;",
        "CREATE TEMP TRIGGER fault BEFORE INSERT ON outbox "
        "BEGIN SELECT RAISE(ABORT, 'injected fault'); END;",
        "CREATE TEMP TRIGGER fault BEFORE INSERT ON outbox_mms "
        "BEGIN SELECT RAISE(ABORT, 'injected fault'); END;",
    };
    /* Faults for the claim actions; for: 1 accept, 2 refuse, 3 both. */
    static const struct {
        const char *sql;
        int for_;
    } claim_faults[] = {
        {"CREATE TEMP TRIGGER fault BEFORE UPDATE OF member_id ON voucher "
         "BEGIN SELECT RAISE(ABORT, 'injected fault'); END;",
         1},
        {"CREATE TEMP TRIGGER fault BEFORE UPDATE OF status ON voucher "
         "WHEN NEW.status != 1 "
         "BEGIN SELECT RAISE(ABORT, 'injected fault'); END;",
         3},
        {"CREATE TEMP TRIGGER fault BEFORE INSERT ON member "
         "BEGIN SELECT RAISE(ABORT, 'injected fault'); END;",
         1},
        {"CREATE TEMP TRIGGER fault BEFORE INSERT ON transfer "
         "WHEN NEW.id LIKE 'gift:%:back' "
         "BEGIN SELECT RAISE(ABORT, 'injected fault'); END;",
         2},
        {"CREATE TEMP TRIGGER fault BEFORE UPDATE ON gift "
         "BEGIN SELECT RAISE(ABORT, 'injected fault'); END;",
         3},
        {"CREATE TEMP TRIGGER fault BEFORE UPDATE ON gift_item "
         "BEGIN SELECT RAISE(ABORT, 'injected fault'); END;",
         3},
        {"CREATE TEMP TRIGGER fault BEFORE INSERT ON outbox "
         "BEGIN SELECT RAISE(ABORT, 'injected fault'); END;",
         3},
        {"CREATE TEMP TRIGGER fault BEFORE INSERT ON outbox_mms "
         "BEGIN SELECT RAISE(ABORT, 'injected fault'); END;",
         1},
    };
    char v1[20], v2[20], before[4096], after[4096], key[32];
    struct gift_item_req items[2];
    int64_t addons[] = {tone_id};
    struct gift_result res, out;
    int rc;

    issue("CARRIER", 10000, PHONE_A, v1);
    issue("CARRIER", 30000, PHONE_A, v2);
    items[0] = (struct gift_item_req){v1, 0};
    items[1] = (struct gift_item_req){v2, 8000};
    struct gift_request r = {.key = key,
                             .giver = PHONE_A,
                             .recipient = PHONE_D,
                             .message = "fault",
                             .items = items,
                             .nitems = 2,
                             .addons = addons,
                             .naddons = 1};
    for (size_t i = 0; i < sizeof send_faults / sizeof send_faults[0]; i++) {
        snprintf(key, sizeof key, "k-fault-send-%zu", i);
        snapshot(before, sizeof before);
        GL_CHECK_INT(GL_OK, store_exec_sql(&st, send_faults[i]));
        rc = gift_send(&gift, &r, &res);
        GL_CHECK(rc != GL_OK);
        GL_CHECK_STR("failed", gift_outcome_name(res.outcome));
        GL_CHECK_STR("", res.token);
        snapshot(after, sizeof after);
        GL_CHECK_STR(before, after);
        GL_CHECK_INT(GL_OK, store_exec_sql(&st, "DROP TRIGGER temp.fault;"));
        check_ledger_clean();
    }
    /* Each claim action against each fault: accept (joins PHONE_D) and
     * refuse (returns a part). */
    for (int accept = 0; accept < 2; accept++) {
        snprintf(key, sizeof key, "k-fault-claim-%d", accept);
        GL_CHECK_INT(GL_OK, gift_send(&gift, &r, &res));
        GL_CHECK_STR("done", gift_outcome_name(res.outcome));
        for (size_t i = 0; i < sizeof claim_faults / sizeof claim_faults[0];
             i++) {
            if (!(claim_faults[i].for_ & (accept ? 1 : 2))) {
                continue;
            }
            snapshot(before, sizeof before);
            GL_CHECK_INT(GL_OK, store_exec_sql(&st, claim_faults[i].sql));
            rc = accept ? gift_accept(&gift, res.token, PHONE_D, &out)
                        : gift_refuse(&gift, res.token, &out);
            snapshot(after, sizeof after);
            GL_CHECK_INT(GL_OK,
                         store_exec_sql(&st, "DROP TRIGGER temp.fault;"));
            GL_CHECK(rc != GL_OK);
            GL_CHECK_STR("failed", gift_outcome_name(out.outcome));
            GL_CHECK_STR(before, after);
            check_ledger_clean();
        }
        rc = accept ? gift_accept(&gift, res.token, PHONE_D, &out)
                    : gift_refuse(&gift, res.token, &out);
        GL_CHECK_INT(GL_OK, rc);
        GL_CHECK_STR("done", gift_outcome_name(out.outcome));
        check_ledger_clean();
    }
    GL_CHECK_STR(PHONE_D, voucher(v1).member_phone);
}

/* ---- history --------------------------------------------------------------
 */

struct hist {
    int n, pending, accepted, refused, expired;
    char counterpart[GL_MASK_MAX];
    int64_t last_id;
    int ordered;
};

static int hist_cb(void *ctx, const struct gift_summary *s)
{
    struct hist *h = ctx;
    if (h->n > 0 && s->id >= h->last_id) {
        h->ordered = 0;
    }
    h->last_id = s->id;
    h->n++;
    h->pending += s->state == GIFT_PENDING;
    h->accepted += s->state == GIFT_ACCEPTED;
    h->refused += s->state == GIFT_REFUSED;
    h->expired += s->state == GIFT_EXPIRED;
    snprintf(h->counterpart, sizeof h->counterpart, "%s", s->counterpart);
    return 0;
}

GL_TEST(the_basket_lists_gifts_sent_and_received)
{
    struct hist sent = {.ordered = 1}, recv = {.ordered = 1};
    GL_CHECK_INT(GL_OK, gift_list(&gift, PHONE_A, GIFT_SENT, hist_cb, &sent));
    GL_CHECK_INT(
        sql_int("SELECT COUNT(*) FROM gift WHERE giver = '" PHONE_A "'"),
        sent.n);
    GL_CHECK(sent.accepted > 0 && sent.refused > 0 && sent.expired > 0);
    GL_CHECK_INT(1, sent.ordered);
    GL_CHECK_INT(GL_OK,
                 gift_list(&gift, PHONE_C, GIFT_RECEIVED, hist_cb, &recv));
    GL_CHECK_INT(
        sql_int("SELECT COUNT(*) FROM gift WHERE recipient = '" PHONE_C "'"),
        recv.n);
    GL_CHECK_STR("010****5678", recv.counterpart);
    /* Every gift SMS masks the numbers it names. */
    GL_CHECK_INT(0, sql_int("SELECT COUNT(*) FROM outbox WHERE idem_key LIKE"
                            " 'gift:%' AND (text LIKE '%" PHONE_A "%' OR"
                            " text LIKE '%" PHONE_B "%' OR text LIKE '%" PHONE_C
                            "%' OR text LIKE '%" PHONE_D "%')"));
    GL_CHECK_INT(0, sql_int("SELECT COUNT(*) FROM outbox o JOIN voucher v"
                            " ON instr(o.text, v.number) > 0"
                            " WHERE o.idem_key LIKE 'gift:%'"));
    check_ledger_clean();
}

GL_TEST(teardown)
{
    char cmd[300];
    gift_close(&gift);
    registry_deinit(&reg);
    ledger_deinit(&lg);
    store_close(&st);
    db_remove(db_path);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", content_dir);
    GL_CHECK_INT(0, system(cmd));
}

int main(void)
{
    gl_log_open("test_gift", 0);
    gl_log_set_level(GL_LOG_ERROR);
    GL_RUN(setup_database);
    GL_RUN(content_add_copies_the_file_and_get_serves_it);
    GL_RUN(preview_shows_the_package_and_changes_nothing);
    GL_RUN(send_reserves_and_accept_moves_the_voucher);
    GL_RUN(refuse_returns_the_voucher_and_tells_the_giver);
    GL_RUN(a_part_becomes_a_new_voucher_and_a_non_member_joins);
    GL_RUN(a_refused_part_goes_back_into_its_original);
    GL_RUN(parts_need_partial_use_and_the_balance);
    GL_RUN(a_reserved_voucher_is_refused_for_a_second_gift_and_at_the_host);
    GL_RUN(someone_elses_or_unknown_vouchers_and_non_member_givers_are_refused);
    GL_RUN(wrong_tokens_and_the_wrong_recipient_are_refused);
    GL_RUN(the_key_replays_the_first_result_or_conflicts);
    GL_RUN(an_unclaimed_gift_returns_after_the_configured_days);
    GL_RUN(bad_input_is_refused_with_a_reason);
    GL_RUN(storage_faults_leave_nothing_behind);
    GL_RUN(the_basket_lists_gifts_sent_and_received);
    GL_RUN(teardown);
    return GL_TEST_END();
}
