/*
 * test_online.c - host-server/online.c: vouchers used in merchants' web
 * shops, on a temporary SQLite database provisioned through the registry
 * API, with the ledger's clock moved by the test.
 *
 * What is pinned: API keys (shown once, checked, revoked; a wrong secret is
 * an unknown key); authorize -> capture moves the captured amount to the
 * merchant's payable and releases the rest, authorize -> void gives the
 * hold back, a void after a capture refunds it within the window; partial
 * authorization when the product allows partial use, insufficient funds
 * when not; a PIN voucher's wrong, missing or locked PIN answers exactly
 * like an unknown number; frozen, expired, cancelled, not accepted; retries
 * of a key replay the first answer and move nothing, other content is a
 * conflict, keys are per merchant; another merchant's authorization is not
 * found; capture above the hold and a second capture are refused; a hold
 * past its timeout cannot be captured and ledger_holds_expire releases it;
 * the cash-out rule at its boundaries (60 % / 80 % at 10,000 KRW or less);
 * the expiring list; extension once, bounded; bad input.  The ledger check
 * is clean after each flow.
 */
#include <inttypes.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../gl_test.h"
#include "gl_err.h"
#include "ledger.h"
#include "online.h"
#include "registry.h"
#include "store.h"

#define DAY 86400
#define T0 1700000000

static const uint8_t pin_key[32] = "0123456789abcdef0123456789abcdef";
static char db_path[128];
static int64_t fake_now;
static struct store st;
static struct ledger lg;
static struct registry reg;
static struct online on;
static int64_t m1_acct, m2_acct;

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

static void add_product(const char *id, const char *prefix, int partial_ok,
                        int validity_days, const char *group)
{
    struct registry_product p = {.type = REGISTRY_TYPE_DEPARTMENT,
                                 .validity_days = validity_days,
                                 .partial_ok = partial_ok,
                                 .faces = {5000, 10000, 50000},
                                 .nfaces = 3,
                                 .ngroups = 1};
    snprintf(p.id, sizeof p.id, "%s", id);
    snprintf(p.issuer, sizeof p.issuer, "giftlink");
    snprintf(p.brand, sizeof p.brand, "%s", id);
    snprintf(p.prefix, sizeof p.prefix, "%s", prefix);
    snprintf(p.groups[0], sizeof p.groups[0], "%s", group);
    GL_CHECK_INT(GL_OK, registry_product_add(&reg, &p));
}

/* Issues a voucher of product and face (pin and member may be NULL);
 * number into out. */
static void issue_for(const char *product, int64_t face, const char *pin,
                      const char *member, char out[VOUCHER_NUM_LEN + 1])
{
    struct registry_issue req = {.product = product,
                                 .face = face,
                                 .channel = LEDGER_CH_CARD,
                                 .pin = pin,
                                 .member = member};
    struct registry_voucher v;
    GL_CHECK_INT(GL_OK, registry_voucher_issue(&reg, &req, &v));
    snprintf(out, VOUCHER_NUM_LEN + 1, "%s", v.number);
}

static void issue(const char *product, int64_t face, const char *pin,
                  char out[VOUCHER_NUM_LEN + 1])
{
    issue_for(product, face, pin, NULL, out);
}

static struct registry_voucher voucher(const char *number)
{
    struct registry_voucher v;
    GL_CHECK_INT(GL_OK, registry_voucher_get(&reg, number, &v));
    return v;
}

static int64_t balance_of(int64_t account)
{
    struct ledger_account a;
    GL_CHECK_INT(GL_OK, ledger_account_get(&lg, account, &a));
    return a.balance;
}

static void check_ledger_clean(void)
{
    struct ledger_report rep;
    memset(&rep, 0, sizeof rep);
    GL_CHECK_INT(GL_OK, ledger_check(&lg, fake_now, &rep));
    GL_CHECK_INT(0, rep.n);
    for (size_t i = 0; i < rep.n; i++) {
        printf("       finding: %s\n", rep.items[i].text);
    }
    GL_CHECK_INT(0, rep.total);
    ledger_report_free(&rep);
}

/* Takes amount off the voucher at M1 (authorize and capture). */
static void spend(const char *number, int64_t amount)
{
    static int n;
    struct online_result r;
    char key[32];
    snprintf(key, sizeof key, "spend-a-%d", ++n);
    GL_CHECK_INT(GL_OK,
                 online_authorize(&on, "M1", key, number, NULL, amount, &r));
    GL_CHECK_INT(ONLINE_APPROVED, r.outcome);
    snprintf(key, sizeof key, "spend-c-%d", n);
    GL_CHECK_INT(GL_OK, online_capture(&on, "M1", key, r.auth_id, amount, &r));
    GL_CHECK_INT(ONLINE_APPROVED, r.outcome);
}

/* ---- set-up ------------------------------------------------------------- */

GL_TEST(setup_database)
{
    struct ledger_config lcfg = {.clock = fake_clock};
    struct registry_config rcfg = {.pin_key = pin_key,
                                   .pin_key_len = sizeof pin_key};
    struct registry_merchant m;
    const char *all[] = {"all"};
    int rc;

    snprintf(db_path, sizeof db_path, "/tmp/gl_test_online_%d.db",
             (int)getpid());
    db_remove(db_path);
    fake_now = T0;
    GL_CHECK_INT(GL_OK, store_open(&st, NULL, NULL, db_path));
    GL_CHECK_INT(GL_OK, ledger_init(&lg, &st, &lcfg));
    GL_CHECK_INT(GL_OK, registry_init(&reg, &lg, &rcfg));
    GL_CHECK_INT(GL_OK, registry_merchant_add(&reg, "M1", "Web shop", all, 1));
    GL_CHECK_INT(GL_OK, registry_merchant_add(&reg, "M2", "Other", all, 1));
    GL_CHECK_INT(GL_OK, registry_merchant_get(&reg, "M1", &m));
    m1_acct = m.account;
    GL_CHECK_INT(GL_OK, registry_merchant_get(&reg, "M2", &m));
    m2_acct = m.account;
    add_product("DEPT", "627401", 1, 365, "all");    /* partial use */
    add_product("SINGLE", "627402", 0, 365, "all");  /* no partial use */
    add_product("BOOKS", "627403", 1, 365, "books"); /* not at M1/M2 */
    add_product("SHORT", "627404", 1, 20, "all");    /* expires soon */
    rc = online_open(&on, &reg, NULL);
    GL_CHECK_INT(GL_OK, rc);
    if (rc != GL_OK) {
        printf("  online_open: %s\n", online_errmsg(&on));
        exit(1);
    }
    GL_CHECK_INT(ONLINE_DEFAULT_HOLD_TIMEOUT, on.cfg.hold_timeout);
    GL_CHECK_INT(ONLINE_DEFAULT_VOID_WINDOW, on.cfg.void_window);
}

/* ---- API keys ------------------------------------------------------------ */

GL_TEST(api_key_shown_once_checked_and_revoked)
{
    char k1[ONLINE_KEY_LEN + 1], k2[ONLINE_KEY_LEN + 1],
        bad[ONLINE_KEY_LEN + 1];
    char m[REGISTRY_ID_MAX + 1], id[ONLINE_KEY_ID_LEN + 1];

    GL_CHECK_INT(GL_OK, online_key_add(&on, "M1", k1));
    GL_CHECK_INT(GL_OK, online_key_add(&on, "M2", k2));
    GL_CHECK_INT(ONLINE_KEY_LEN, strlen(k1));
    GL_CHECK(strncmp(k1, "glk_", 4) == 0);
    GL_CHECK(strcmp(k1, k2) != 0);
    GL_CHECK_INT(GL_OK, online_key_check(&on, k1, m));
    GL_CHECK_STR("M1", m);
    GL_CHECK_INT(GL_OK, online_key_check(&on, k2, m));
    GL_CHECK_STR("M2", m);
    /* Only a MAC of the secret is stored: the secret is nowhere in the
     * table. */
    {
        sqlite3_stmt *q = NULL;
        int found = 0;
        GL_CHECK_INT(0, sqlite3_prepare_v2(st.db,
                                           "SELECT count(*) FROM online_key"
                                           " WHERE instr(CAST(secret_mac AS"
                                           " TEXT), ?1) > 0 OR key_id = ?1",
                                           -1, &q, NULL));
        sqlite3_bind_text(q, 1, k1 + 21, -1, SQLITE_STATIC);
        if (sqlite3_step(q) == SQLITE_ROW) {
            found = sqlite3_column_int(q, 0);
        }
        sqlite3_finalize(q);
        GL_CHECK_INT(0, found);
    }
    /* A wrong secret, a malformed key, an unknown id. */
    memcpy(bad, k1, sizeof bad);
    bad[ONLINE_KEY_LEN - 1] = bad[ONLINE_KEY_LEN - 1] == '0' ? '1' : '0';
    GL_CHECK_INT(GL_ENOTFOUND, online_key_check(&on, bad, m));
    GL_CHECK_STR("", m);
    GL_CHECK_INT(GL_ENOTFOUND, online_key_check(&on, "glk_short", m));
    GL_CHECK_INT(GL_ENOTFOUND, online_key_check(&on, NULL, m));
    memcpy(bad, k1, sizeof bad);
    bad[4] = bad[4] == 'a' ? 'b' : 'a';
    GL_CHECK_INT(GL_ENOTFOUND, online_key_check(&on, bad, m));
    /* Merchants must exist. */
    GL_CHECK_INT(GL_ENOTFOUND, online_key_add(&on, "NOPE", bad));
    GL_CHECK_INT(GL_EINVAL, online_key_add(&on, "", bad));
    /* Revoked. */
    memcpy(id, k1 + 4, ONLINE_KEY_ID_LEN);
    id[ONLINE_KEY_ID_LEN] = '\0';
    GL_CHECK_INT(GL_OK, online_key_revoke(&on, id));
    GL_CHECK_INT(GL_ENOTFOUND, online_key_check(&on, k1, m));
    GL_CHECK_INT(GL_OK, online_key_check(&on, k2, m));
    GL_CHECK_INT(GL_ENOTFOUND, online_key_revoke(&on, "0000000000000000"));
}

/* ---- authorize / capture / void ------------------------------------------ */

GL_TEST(authorize_then_capture_moves_value_to_the_merchant)
{
    char n[VOUCHER_NUM_LEN + 1];
    struct online_result a, c;
    struct online_auth info;
    int64_t m1_before = balance_of(m1_acct);

    issue("DEPT", 50000, NULL, n);
    GL_CHECK_INT(GL_OK,
                 online_authorize(&on, "M1", "order-1", n, NULL, 30000, &a));
    GL_CHECK_INT(ONLINE_APPROVED, a.outcome);
    GL_CHECK_STR("approved", online_outcome_name(a.outcome));
    GL_CHECK_STR("00", online_outcome_code(a.outcome));
    GL_CHECK_INT(0, a.replay);
    GL_CHECK_INT(ONLINE_AUTH_ID_LEN, strlen(a.auth_id));
    GL_CHECK_INT(30000, a.amount);
    GL_CHECK_INT(50000, a.balance);
    GL_CHECK_INT(20000, a.available);
    GL_CHECK_INT(fake_now + ONLINE_DEFAULT_HOLD_TIMEOUT, a.hold_expires);
    GL_CHECK_INT(m1_before, balance_of(m1_acct)); /* a hold moves nothing */
    GL_CHECK_INT(GL_OK, online_auth_get(&on, "M1", a.auth_id, &info));
    GL_CHECK_INT(ONLINE_A_HELD, info.state);
    GL_CHECK_INT(30000, info.held);
    GL_CHECK(strstr(info.voucher_masked, n) == NULL);
    check_ledger_clean();

    fake_now += 60;
    GL_CHECK_INT(
        GL_OK, online_capture(&on, "M1", "order-1-cap", a.auth_id, 25000, &c));
    GL_CHECK_INT(ONLINE_APPROVED, c.outcome);
    GL_CHECK_STR(a.auth_id, c.auth_id);
    GL_CHECK_INT(25000, c.amount);
    GL_CHECK_INT(5000, c.released);
    GL_CHECK_INT(25000, c.balance);
    GL_CHECK_INT(25000, c.available);
    GL_CHECK_INT(25000, voucher(n).balance);
    GL_CHECK_INT(25000, voucher(n).available);
    GL_CHECK_INT(m1_before + 25000, balance_of(m1_acct));
    GL_CHECK_INT(GL_OK, online_auth_get(&on, "M1", a.auth_id, &info));
    GL_CHECK_INT(ONLINE_A_CAPTURED, info.state);
    GL_CHECK_INT(25000, info.captured);
    check_ledger_clean();
}

GL_TEST(authorize_then_void_restores_the_balance)
{
    char n[VOUCHER_NUM_LEN + 1];
    struct online_result a, v, x;
    struct online_auth info;
    int64_t m1_before = balance_of(m1_acct);

    issue("DEPT", 10000, NULL, n);
    GL_CHECK_INT(GL_OK,
                 online_authorize(&on, "M1", "order-2", n, NULL, 7000, &a));
    GL_CHECK_INT(ONLINE_APPROVED, a.outcome);
    GL_CHECK_INT(3000, voucher(n).available);
    GL_CHECK_INT(GL_OK, online_void(&on, "M1", "order-2-void", a.auth_id, &v));
    GL_CHECK_INT(ONLINE_APPROVED, v.outcome);
    GL_CHECK_INT(7000, v.amount);
    GL_CHECK_INT(10000, v.balance);
    GL_CHECK_INT(10000, v.available);
    GL_CHECK_INT(10000, voucher(n).available);
    GL_CHECK_INT(m1_before, balance_of(m1_acct));
    GL_CHECK_INT(GL_OK, online_auth_get(&on, "M1", a.auth_id, &info));
    GL_CHECK_INT(ONLINE_A_VOIDED, info.state);
    /* Nothing more to do with it. */
    GL_CHECK_INT(GL_OK, online_void(&on, "M1", "order-2-void2", a.auth_id, &x));
    GL_CHECK_INT(ONLINE_NOT_ALLOWED, x.outcome);
    GL_CHECK_INT(GL_OK,
                 online_capture(&on, "M1", "order-2-cap", a.auth_id, 7000, &x));
    GL_CHECK_INT(ONLINE_NOT_ALLOWED, x.outcome);
    GL_CHECK_INT(10000, voucher(n).balance);
    check_ledger_clean();
}

GL_TEST(void_after_capture_refunds_within_the_window)
{
    char n[VOUCHER_NUM_LEN + 1];
    struct online_result a, r;
    struct online_auth info;
    int64_t m1_before = balance_of(m1_acct);

    issue("DEPT", 10000, NULL, n);
    GL_CHECK_INT(GL_OK,
                 online_authorize(&on, "M1", "order-3", n, NULL, 4000, &a));
    GL_CHECK_INT(GL_OK,
                 online_capture(&on, "M1", "order-3-cap", a.auth_id, 4000, &r));
    GL_CHECK_INT(ONLINE_APPROVED, r.outcome);
    GL_CHECK_INT(m1_before + 4000, balance_of(m1_acct));
    fake_now += ONLINE_DEFAULT_VOID_WINDOW; /* at the edge: still allowed */
    GL_CHECK_INT(GL_OK, online_void(&on, "M1", "order-3-void", a.auth_id, &r));
    GL_CHECK_INT(ONLINE_APPROVED, r.outcome);
    GL_CHECK_INT(4000, r.amount);
    GL_CHECK_INT(10000, r.balance);
    GL_CHECK_INT(10000, voucher(n).balance);
    GL_CHECK_INT(m1_before, balance_of(m1_acct));
    GL_CHECK_INT(GL_OK, online_auth_get(&on, "M1", a.auth_id, &info));
    GL_CHECK_INT(ONLINE_A_REFUNDED, info.state);
    GL_CHECK_INT(4000, info.refunded);
    check_ledger_clean();

    /* Past the window: refused, nothing moves. */
    GL_CHECK_INT(GL_OK,
                 online_authorize(&on, "M1", "order-4", n, NULL, 1000, &a));
    GL_CHECK_INT(GL_OK,
                 online_capture(&on, "M1", "order-4-cap", a.auth_id, 1000, &r));
    fake_now += ONLINE_DEFAULT_VOID_WINDOW + 1;
    GL_CHECK_INT(GL_OK, online_void(&on, "M1", "order-4-void", a.auth_id, &r));
    GL_CHECK_INT(ONLINE_NOT_ALLOWED, r.outcome);
    GL_CHECK_INT(9000, voucher(n).balance);
    check_ledger_clean();
}

GL_TEST(partial_authorization_follows_the_product)
{
    char n[VOUCHER_NUM_LEN + 1], s[VOUCHER_NUM_LEN + 1];
    struct online_result r;

    issue("DEPT", 10000, NULL, n);
    GL_CHECK_INT(GL_OK,
                 online_authorize(&on, "M1", "part-1", n, NULL, 15000, &r));
    GL_CHECK_INT(ONLINE_PARTIAL, r.outcome);
    GL_CHECK_STR("10", online_outcome_code(r.outcome));
    GL_CHECK_INT(10000, r.amount);
    GL_CHECK_INT(0, r.available);
    GL_CHECK_INT(10000, r.balance);
    /* Nothing left: insufficient, not partial. */
    GL_CHECK_INT(GL_OK,
                 online_authorize(&on, "M1", "part-2", n, NULL, 100, &r));
    GL_CHECK_INT(ONLINE_INSUFFICIENT, r.outcome);
    GL_CHECK_STR("", r.auth_id);

    issue("SINGLE", 10000, NULL, s);
    GL_CHECK_INT(GL_OK,
                 online_authorize(&on, "M1", "part-3", s, NULL, 15000, &r));
    GL_CHECK_INT(ONLINE_INSUFFICIENT, r.outcome);
    GL_CHECK_STR("51", online_outcome_code(r.outcome));
    GL_CHECK_INT(0, r.amount);
    GL_CHECK_INT(10000, r.balance); /* told after the voucher was verified */
    GL_CHECK_INT(10000, voucher(s).available);
    GL_CHECK_INT(GL_OK,
                 online_authorize(&on, "M1", "part-4", s, NULL, 10000, &r));
    GL_CHECK_INT(ONLINE_APPROVED, r.outcome);
    check_ledger_clean();
}

/* The refusal fields a caller could tell apart. */
static void check_same_refusal(const struct online_result *a,
                               const struct online_result *b)
{
    GL_CHECK_INT(a->outcome, b->outcome);
    GL_CHECK_STR(a->err, b->err);
    GL_CHECK_STR(a->auth_id, b->auth_id);
    GL_CHECK_INT(a->amount, b->amount);
    GL_CHECK_INT(a->balance, b->balance);
    GL_CHECK_INT(a->available, b->available);
    GL_CHECK_INT(a->hold_expires, b->hold_expires);
}

GL_TEST(wrong_pin_answers_like_an_unknown_number)
{
    char n[VOUCHER_NUM_LEN + 1], l[VOUCHER_NUM_LEN + 1];
    char unknown[VOUCHER_NUM_LEN + 1] = "6274010000000001";
    struct online_result unk, wrong, missing, ok, locked;

    issue("DEPT", 10000, "4321", n);
    GL_CHECK_INT(
        GL_OK, online_authorize(&on, "M1", "pin-0", unknown, NULL, 1000, &unk));
    GL_CHECK_INT(ONLINE_INVALID, unk.outcome);
    GL_CHECK_STR("14", online_outcome_code(unk.outcome));
    GL_CHECK_INT(GL_OK,
                 online_authorize(&on, "M1", "pin-1", n, "9999", 1000, &wrong));
    check_same_refusal(&unk, &wrong);
    GL_CHECK_INT(GL_OK,
                 online_authorize(&on, "M1", "pin-2", n, NULL, 1000, &missing));
    check_same_refusal(&unk, &missing);
    GL_CHECK_INT(GL_OK,
                 online_authorize(&on, "M1", "pin-2b", n, "", 1000, &missing));
    check_same_refusal(&unk, &missing);
    /* The right PIN (one wrong try counted, under the limit). */
    GL_CHECK_INT(GL_OK,
                 online_authorize(&on, "M1", "pin-3", n, "4321", 1000, &ok));
    GL_CHECK_INT(ONLINE_APPROVED, ok.outcome);
    GL_CHECK_INT(0, voucher(n).pin_tries);

    /* Locked after REGISTRY_PIN_TRIES wrong PINs: even the right one is
     * refused like an unknown number, and the tries were committed. */
    issue("DEPT", 10000, "1111", l);
    for (int i = 0; i < REGISTRY_PIN_TRIES; i++) {
        char key[32];
        snprintf(key, sizeof key, "lock-%d", i);
        GL_CHECK_INT(GL_OK,
                     online_authorize(&on, "M1", key, l, "2222", 1000, &wrong));
        check_same_refusal(&unk, &wrong);
    }
    GL_CHECK_INT(REGISTRY_PIN_TRIES, voucher(l).pin_tries);
    GL_CHECK_INT(GL_OK, online_authorize(&on, "M1", "lock-right", l, "1111",
                                         1000, &locked));
    check_same_refusal(&unk, &locked);
    GL_CHECK_INT(10000, voucher(l).available);
    check_ledger_clean();
}

GL_TEST(frozen_expired_cancelled_not_accepted)
{
    char f[VOUCHER_NUM_LEN + 1], c[VOUCHER_NUM_LEN + 1], b[VOUCHER_NUM_LEN + 1];
    char e[VOUCHER_NUM_LEN + 1];
    struct online_result r, unk;
    int64_t saved = fake_now;

    GL_CHECK_INT(GL_OK, online_authorize(&on, "M1", "st-0", "6274010000000002",
                                         NULL, 1000, &unk));
    issue("DEPT", 10000, NULL, f);
    GL_CHECK_INT(GL_OK,
                 registry_voucher_set_status(&reg, f, REGISTRY_V_FROZEN));
    GL_CHECK_INT(GL_OK, online_authorize(&on, "M1", "st-1", f, NULL, 1000, &r));
    GL_CHECK_INT(ONLINE_FROZEN, r.outcome);
    GL_CHECK_STR("62", online_outcome_code(r.outcome));
    GL_CHECK_INT(0, r.balance);

    issue("DEPT", 10000, NULL, c);
    GL_CHECK_INT(GL_OK,
                 registry_voucher_set_status(&reg, c, REGISTRY_V_CANCELLED));
    GL_CHECK_INT(GL_OK, online_authorize(&on, "M1", "st-2", c, NULL, 1000, &r));
    check_same_refusal(&unk, &r);

    issue("BOOKS", 10000, NULL, b);
    GL_CHECK_INT(GL_OK, online_authorize(&on, "M1", "st-3", b, NULL, 1000, &r));
    GL_CHECK_INT(ONLINE_NOT_ACCEPTED, r.outcome);
    GL_CHECK_STR("58", online_outcome_code(r.outcome));

    issue("DEPT", 10000, NULL, e);
    fake_now = voucher(e).expires;
    GL_CHECK_INT(GL_OK, online_authorize(&on, "M1", "st-4", e, NULL, 1000, &r));
    GL_CHECK_INT(ONLINE_EXPIRED, r.outcome);
    GL_CHECK_STR("54", online_outcome_code(r.outcome));
    fake_now = voucher(e).expires - 1;
    GL_CHECK_INT(GL_OK, online_authorize(&on, "M1", "st-5", e, NULL, 1000, &r));
    GL_CHECK_INT(ONLINE_APPROVED, r.outcome);
    GL_CHECK_INT(GL_OK, online_void(&on, "M1", "st-5v", r.auth_id, &r));
    GL_CHECK_INT(ONLINE_APPROVED, r.outcome);
    fake_now = saved;
    GL_CHECK_INT(10000, voucher(f).available);
    check_ledger_clean();
}

GL_TEST(retries_replay_and_other_content_conflicts)
{
    char n[VOUCHER_NUM_LEN + 1], p[VOUCHER_NUM_LEN + 1];
    struct online_result a, r;

    issue("DEPT", 50000, NULL, n);
    GL_CHECK_INT(GL_OK,
                 online_authorize(&on, "M1", "idem-1", n, NULL, 10000, &a));
    GL_CHECK_INT(ONLINE_APPROVED, a.outcome);
    GL_CHECK_INT(GL_OK,
                 online_authorize(&on, "M1", "idem-1", n, NULL, 10000, &r));
    GL_CHECK_INT(ONLINE_APPROVED, r.outcome);
    GL_CHECK_INT(1, r.replay);
    GL_CHECK_STR(a.auth_id, r.auth_id);
    GL_CHECK_INT(a.amount, r.amount);
    GL_CHECK_INT(a.available, r.available);
    GL_CHECK_INT(a.hold_expires, r.hold_expires);
    GL_CHECK_INT(40000, voucher(n).available); /* one hold, not two */

    /* Same key, other content. */
    GL_CHECK_INT(GL_OK,
                 online_authorize(&on, "M1", "idem-1", n, NULL, 10001, &r));
    GL_CHECK_INT(ONLINE_CONFLICT, r.outcome);
    GL_CHECK_STR("94", online_outcome_code(r.outcome));
    GL_CHECK_STR("", r.auth_id);
    GL_CHECK_INT(GL_OK,
                 online_capture(&on, "M1", "idem-1", a.auth_id, 10000, &r));
    GL_CHECK_INT(ONLINE_CONFLICT, r.outcome);
    GL_CHECK_INT(40000, voucher(n).available);
    GL_CHECK_INT(50000, voucher(n).balance);

    /* Keys are the merchant's: M2 may use the same one. */
    GL_CHECK_INT(GL_OK,
                 online_authorize(&on, "M2", "idem-1", n, NULL, 10000, &r));
    GL_CHECK_INT(ONLINE_APPROVED, r.outcome);
    GL_CHECK_INT(0, r.replay);
    GL_CHECK(strcmp(r.auth_id, a.auth_id) != 0);
    GL_CHECK_INT(30000, voucher(n).available);
    GL_CHECK_INT(0, balance_of(m2_acct)); /* a hold moves nothing */

    /* Capture and void retries. */
    GL_CHECK_INT(GL_OK,
                 online_capture(&on, "M1", "idem-cap", a.auth_id, 8000, &r));
    GL_CHECK_INT(ONLINE_APPROVED, r.outcome);
    GL_CHECK_INT(GL_OK,
                 online_capture(&on, "M1", "idem-cap", a.auth_id, 8000, &r));
    GL_CHECK_INT(ONLINE_APPROVED, r.outcome);
    GL_CHECK_INT(1, r.replay);
    GL_CHECK_INT(8000, r.amount);
    GL_CHECK_INT(2000, r.released);
    GL_CHECK_INT(42000, voucher(n).balance);
    GL_CHECK_INT(GL_OK,
                 online_capture(&on, "M1", "idem-cap", a.auth_id, 9000, &r));
    GL_CHECK_INT(ONLINE_CONFLICT, r.outcome);
    GL_CHECK_INT(GL_OK, online_void(&on, "M1", "idem-void", a.auth_id, &r));
    GL_CHECK_INT(ONLINE_APPROVED, r.outcome);
    GL_CHECK_INT(GL_OK, online_void(&on, "M1", "idem-void", a.auth_id, &r));
    GL_CHECK_INT(ONLINE_APPROVED, r.outcome);
    GL_CHECK_INT(1, r.replay);
    GL_CHECK_INT(50000, voucher(n).balance);

    /* A refusal is the key's answer too: a retry with the right PIN under
     * the same key replays the refusal (and counts no try). */
    issue("DEPT", 10000, "5555", p);
    GL_CHECK_INT(GL_OK,
                 online_authorize(&on, "M1", "idem-pin", p, "1234", 1000, &r));
    GL_CHECK_INT(ONLINE_INVALID, r.outcome);
    GL_CHECK_INT(GL_OK,
                 online_authorize(&on, "M1", "idem-pin", p, "5555", 1000, &r));
    GL_CHECK_INT(ONLINE_INVALID, r.outcome);
    GL_CHECK_INT(1, r.replay);
    GL_CHECK_INT(1, voucher(p).pin_tries);
    check_ledger_clean();
}

GL_TEST(another_merchants_authorization_is_not_found)
{
    char n[VOUCHER_NUM_LEN + 1];
    struct online_result a, r, unk;
    struct online_auth info;

    issue("DEPT", 10000, NULL, n);
    GL_CHECK_INT(GL_OK,
                 online_authorize(&on, "M1", "own-1", n, NULL, 5000, &a));
    GL_CHECK_INT(GL_OK,
                 online_capture(&on, "M2", "steal-1", a.auth_id, 5000, &r));
    GL_CHECK_INT(ONLINE_NOT_FOUND, r.outcome);
    GL_CHECK_INT(GL_OK, online_capture(&on, "M2", "steal-2",
                                       "au_00000000000000000000000000000000",
                                       5000, &unk));
    check_same_refusal(&unk, &r);
    GL_CHECK_INT(GL_OK, online_void(&on, "M2", "steal-3", a.auth_id, &r));
    GL_CHECK_INT(ONLINE_NOT_FOUND, r.outcome);
    GL_CHECK_INT(GL_ENOTFOUND, online_auth_get(&on, "M2", a.auth_id, &info));
    GL_CHECK_INT(GL_ENOTFOUND, online_auth_get(&on, "M1", "au_x", &info));
    GL_CHECK_INT(5000, voucher(n).available);
    GL_CHECK_INT(GL_OK, online_void(&on, "M1", "own-1v", a.auth_id, &r));
    GL_CHECK_INT(ONLINE_APPROVED, r.outcome);
    check_ledger_clean();
}

GL_TEST(capture_above_the_hold_and_double_capture)
{
    char n[VOUCHER_NUM_LEN + 1];
    struct online_result a, r;
    int64_t m1_before = balance_of(m1_acct);

    issue("DEPT", 10000, NULL, n);
    GL_CHECK_INT(GL_OK,
                 online_authorize(&on, "M1", "dbl-1", n, NULL, 6000, &a));
    GL_CHECK_INT(GL_OK,
                 online_capture(&on, "M1", "dbl-c0", a.auth_id, 6001, &r));
    GL_CHECK_INT(ONLINE_AMOUNT, r.outcome);
    GL_CHECK_STR("13", online_outcome_code(r.outcome));
    GL_CHECK_INT(4000, voucher(n).available);
    GL_CHECK_INT(GL_OK,
                 online_capture(&on, "M1", "dbl-c1", a.auth_id, 6000, &r));
    GL_CHECK_INT(ONLINE_APPROVED, r.outcome);
    GL_CHECK_INT(0, r.released);
    GL_CHECK_INT(GL_OK,
                 online_capture(&on, "M1", "dbl-c2", a.auth_id, 6000, &r));
    GL_CHECK_INT(ONLINE_NOT_ALLOWED, r.outcome);
    GL_CHECK_INT(4000, voucher(n).balance);
    GL_CHECK_INT(m1_before + 6000, balance_of(m1_acct));
    check_ledger_clean();
}

GL_TEST(an_expired_hold_cannot_be_captured_and_is_released)
{
    char n[VOUCHER_NUM_LEN + 1];
    struct online_result a, b, r;
    struct online_auth info;
    struct ledger_report rep;
    int count = 0;

    /* Holds left open by the tests above lapse first. */
    fake_now += ONLINE_DEFAULT_HOLD_TIMEOUT;
    GL_CHECK_INT(GL_OK, ledger_holds_expire(&lg, fake_now, NULL));
    check_ledger_clean();
    issue("DEPT", 10000, NULL, n);
    GL_CHECK_INT(GL_OK,
                 online_authorize(&on, "M1", "exp-1", n, NULL, 3000, &a));
    GL_CHECK_INT(GL_OK,
                 online_authorize(&on, "M1", "exp-2", n, NULL, 2000, &b));
    GL_CHECK_INT(5000, voucher(n).available);
    fake_now = a.hold_expires - 1;
    GL_CHECK_INT(GL_OK, online_auth_get(&on, "M1", a.auth_id, &info));
    GL_CHECK_INT(ONLINE_A_HELD, info.state);
    fake_now = a.hold_expires;
    GL_CHECK_INT(GL_OK, online_auth_get(&on, "M1", a.auth_id, &info));
    GL_CHECK_INT(ONLINE_A_EXPIRED, info.state);
    /* Past the timeout, before the sweep: no capture. */
    GL_CHECK_INT(GL_OK,
                 online_capture(&on, "M1", "exp-1c", a.auth_id, 3000, &r));
    GL_CHECK_INT(ONLINE_HOLD_EXPIRED, r.outcome);
    memset(&rep, 0, sizeof rep);
    GL_CHECK_INT(GL_OK, ledger_check(&lg, fake_now, &rep));
    GL_CHECK_INT(2, rep.n); /* both holds: expired but open */
    ledger_report_free(&rep);
    /* The sweep releases them. */
    GL_CHECK_INT(GL_OK, ledger_holds_expire(&lg, fake_now, &count));
    GL_CHECK_INT(2, count);
    GL_CHECK_INT(10000, voucher(n).available);
    check_ledger_clean();
    GL_CHECK_INT(GL_OK,
                 online_capture(&on, "M1", "exp-2c", b.auth_id, 2000, &r));
    GL_CHECK_INT(ONLINE_HOLD_EXPIRED, r.outcome);
    GL_CHECK_INT(GL_OK, online_void(&on, "M1", "exp-2v", b.auth_id, &r));
    GL_CHECK_INT(ONLINE_HOLD_EXPIRED, r.outcome);
    GL_CHECK_INT(GL_OK, online_void(&on, "M1", "exp-1v", a.auth_id, &r));
    GL_CHECK_INT(ONLINE_HOLD_EXPIRED, r.outcome);
    GL_CHECK_INT(10000, voucher(n).balance);
    check_ledger_clean();
}

/* ---- standard terms ----------------------------------------------------- */

static int cashout_verdict(const char *n, struct online_cashout *c)
{
    GL_CHECK_INT(GL_OK, online_cashout_allowed(&on, n, c));
    return c->verdict;
}

GL_TEST(cashout_rule_at_its_boundaries)
{
    char a[VOUCHER_NUM_LEN + 1], b[VOUCHER_NUM_LEN + 1], c[VOUCHER_NUM_LEN + 1];
    char d[VOUCHER_NUM_LEN + 1];
    struct online_cashout v;

    /* 10,000 KRW: 80 % must be used (balance <= 2,000). */
    issue("DEPT", 10000, NULL, a);
    GL_CHECK_INT(ONLINE_CASHOUT_TOO_LITTLE_USED, cashout_verdict(a, &v));
    GL_CHECK_INT(80, v.used_pct_required);
    GL_CHECK_INT(8000, v.min_used);
    spend(a, 7999);
    GL_CHECK_INT(ONLINE_CASHOUT_TOO_LITTLE_USED, cashout_verdict(a, &v));
    GL_CHECK_INT(2001, v.balance);
    GL_CHECK_INT(0, v.payout);
    spend(a, 1);
    GL_CHECK_INT(ONLINE_CASHOUT_OK, cashout_verdict(a, &v));
    GL_CHECK_STR("ok", online_cashout_name(v.verdict));
    GL_CHECK_INT(2000, v.payout);
    GL_CHECK_INT(8000, v.used);

    /* 5,000 KRW (below 10,000): 80 % too. */
    issue("DEPT", 5000, NULL, d);
    spend(d, 3999);
    GL_CHECK_INT(ONLINE_CASHOUT_TOO_LITTLE_USED, cashout_verdict(d, &v));
    spend(d, 1);
    GL_CHECK_INT(ONLINE_CASHOUT_OK, cashout_verdict(d, &v));

    /* 50,000 KRW: 60 % (balance <= 20,000). */
    issue("DEPT", 50000, NULL, b);
    spend(b, 29999);
    GL_CHECK_INT(ONLINE_CASHOUT_TOO_LITTLE_USED, cashout_verdict(b, &v));
    GL_CHECK_INT(60, v.used_pct_required);
    GL_CHECK_INT(30000, v.min_used);
    spend(b, 1);
    GL_CHECK_INT(ONLINE_CASHOUT_OK, cashout_verdict(b, &v));
    GL_CHECK_INT(20000, v.payout);
    /* An open hold lowers what may be paid out; all held: nothing left. */
    {
        struct online_result r;
        GL_CHECK_INT(
            GL_OK, online_authorize(&on, "M1", "co-hold", b, NULL, 20000, &r));
        GL_CHECK_INT(ONLINE_CASHOUT_NOTHING_LEFT, cashout_verdict(b, &v));
        GL_CHECK_INT(GL_OK, online_void(&on, "M1", "co-hold-v", r.auth_id, &r));
    }
    spend(b, 20000);
    GL_CHECK_INT(ONLINE_CASHOUT_NOTHING_LEFT, cashout_verdict(b, &v));

    /* Frozen: not usable. */
    issue("DEPT", 10000, NULL, c);
    spend(c, 9000);
    GL_CHECK_INT(GL_OK,
                 registry_voucher_set_status(&reg, c, REGISTRY_V_FROZEN));
    GL_CHECK_INT(ONLINE_CASHOUT_NOT_USABLE, cashout_verdict(c, &v));
    GL_CHECK_INT(GL_ENOTFOUND,
                 online_cashout_allowed(&on, "6274010000000003", &v));
    GL_CHECK_INT(GL_EINVAL, online_cashout_allowed(&on, "12345", &v));
    check_ledger_clean();
}

struct listed {
    int n;
    char numbers[8][VOUCHER_NUM_LEN + 1];
};

static int list_cb(void *ctx, const struct registry_voucher *v)
{
    struct listed *l = ctx;
    if (l->n < 8) {
        snprintf(l->numbers[l->n], sizeof l->numbers[0], "%s", v->number);
    }
    l->n++;
    return 0;
}

static int listed_has(const struct listed *l, const char *n)
{
    for (int i = 0; i < l->n && i < 8; i++) {
        if (strcmp(l->numbers[i], n) == 0) {
            return 1;
        }
    }
    return 0;
}

GL_TEST(expiring_list_and_extension)
{
    char s1[VOUCHER_NUM_LEN + 1], s2[VOUCHER_NUM_LEN + 1];
    char s3[VOUCHER_NUM_LEN + 1], s4[VOUCHER_NUM_LEN + 1];
    struct online_extension x;
    struct listed l;
    int64_t exp1;

    issue("SHORT", 10000, NULL, s1); /* listed */
    issue("SHORT", 10000, NULL, s2); /* spent: not listed */
    issue("SHORT", 10000, NULL, s3); /* frozen: not listed */
    issue("SHORT", 10000, NULL, s4); /* expires later */
    spend(s2, 10000);
    GL_CHECK_INT(GL_OK,
                 registry_voucher_set_status(&reg, s3, REGISTRY_V_FROZEN));
    exp1 = voucher(s1).expires;
    GL_CHECK_INT(fake_now + 20 * DAY, exp1);

    memset(&l, 0, sizeof l);
    GL_CHECK_INT(GL_OK, online_expiring(&on, fake_now, 30, list_cb, &l));
    GL_CHECK_INT(2, l.n); /* s1, s4; the 365-day vouchers are not */
    GL_CHECK(listed_has(&l, s1));
    GL_CHECK(listed_has(&l, s4));
    memset(&l, 0, sizeof l);
    GL_CHECK_INT(GL_OK, online_expiring(&on, fake_now, 19, list_cb, &l));
    GL_CHECK_INT(0, l.n); /* 20 days away: not within 19 */
    memset(&l, 0, sizeof l);
    GL_CHECK_INT(GL_OK, online_expiring(&on, exp1 - 20 * DAY, 20, list_cb, &l));
    GL_CHECK_INT(2, l.n); /* at the bound: included */
    GL_CHECK_INT(GL_EINVAL, online_expiring(&on, fake_now, 0, list_cb, &l));
    GL_CHECK_INT(GL_EINVAL, online_expiring(&on, fake_now, 30, NULL, &l));

    /* Extension: once, at most 90 days. */
    GL_CHECK_INT(GL_EINVAL, online_extend(&on, s1, 0, &x));
    GL_CHECK_INT(GL_EINVAL,
                 online_extend(&on, s1, ONLINE_EXTEND_MAX_DAYS + 1, &x));
    GL_CHECK_INT(GL_OK, online_extend(&on, s1, 90, &x));
    GL_CHECK_INT(ONLINE_EXTEND_OK, x.verdict);
    GL_CHECK_INT(exp1, x.old_expires);
    GL_CHECK_INT(exp1 + 90 * DAY, x.new_expires);
    GL_CHECK_INT(exp1 + 90 * DAY, voucher(s1).expires);
    GL_CHECK_INT(GL_OK, online_extend(&on, s1, 30, &x));
    GL_CHECK_INT(ONLINE_EXTEND_ALREADY, x.verdict);
    GL_CHECK_STR("already_extended", online_extend_name(x.verdict));
    GL_CHECK_INT(exp1 + 90 * DAY, x.new_expires);
    GL_CHECK_INT(exp1 + 90 * DAY, voucher(s1).expires);
    memset(&l, 0, sizeof l);
    GL_CHECK_INT(GL_OK, online_expiring(&on, fake_now, 30, list_cb, &l));
    GL_CHECK_INT(1, l.n); /* s4 only now */

    GL_CHECK_INT(GL_OK, online_extend(&on, s2, 30, &x));
    GL_CHECK_INT(ONLINE_EXTEND_NOTHING_LEFT, x.verdict);
    GL_CHECK_INT(GL_OK, online_extend(&on, s3, 30, &x));
    GL_CHECK_INT(ONLINE_EXTEND_NOT_USABLE, x.verdict);
    GL_CHECK_INT(GL_ENOTFOUND, online_extend(&on, "6274040000000004", 30, &x));

    /* An expired voucher is not extended; an extended one is usable past
     * its old expiry. */
    {
        int64_t saved = fake_now;
        struct online_result r;
        fake_now = exp1 + DAY;
        GL_CHECK_INT(GL_OK, online_extend(&on, s4, 30, &x));
        GL_CHECK_INT(ONLINE_EXTEND_EXPIRED, x.verdict);
        GL_CHECK_INT(exp1, voucher(s4).expires);
        GL_CHECK_INT(
            GL_OK, online_authorize(&on, "M1", "ext-use", s1, NULL, 1000, &r));
        GL_CHECK_INT(ONLINE_APPROVED, r.outcome);
        GL_CHECK_INT(
            GL_OK, online_authorize(&on, "M1", "ext-use4", s4, NULL, 1000, &r));
        GL_CHECK_INT(ONLINE_EXPIRED, r.outcome);
        fake_now = saved;
    }
}

/* ---- cash-out payouts and expiry notices ----------------------------------
 */

#define OWNER "01033334444"

static int64_t sql_int(const char *sql)
{
    sqlite3_stmt *q = NULL;
    int64_t v = -1;
    if (sqlite3_prepare_v2(st.db, sql, -1, &q, NULL) == SQLITE_OK &&
        sqlite3_step(q) == SQLITE_ROW) {
        v = sqlite3_column_int64(q, 0);
    } else {
        printf("  sql '%s': %s\n", sql, sqlite3_errmsg(st.db));
    }
    sqlite3_finalize(q);
    return v;
}

static void sql_text(const char *sql, char *out, size_t cap)
{
    sqlite3_stmt *q = NULL;
    out[0] = '\0';
    if (sqlite3_prepare_v2(st.db, sql, -1, &q, NULL) == SQLITE_OK &&
        sqlite3_step(q) == SQLITE_ROW) {
        snprintf(out, cap, "%s", (const char *)sqlite3_column_text(q, 0));
    }
    sqlite3_finalize(q);
}

GL_TEST(cashout_pays_the_owner_to_a_bank_account_once)
{
    char a[VOUCHER_NUM_LEN + 1], b[VOUCHER_NUM_LEN + 1], q[256], text[512];
    struct online_payout p, again;
    int64_t cash = 0, xfers, payouts;

    issue_for("DEPT", 10000, NULL, OWNER, a);
    spend(a, 8000);
    /* Bad input and someone else's voucher change nothing. */
    GL_CHECK_INT(GL_EINVAL,
                 online_cashout(&on, a, OWNER, "04", "1234567890", &p));
    GL_CHECK_INT(GL_EINVAL, online_cashout(&on, a, OWNER, "004", "12345", &p));
    GL_CHECK_INT(GL_EINVAL,
                 online_cashout(&on, a, OWNER, "004", "12345x7890", &p));
    GL_CHECK_INT(GL_EINVAL,
                 online_cashout(&on, a, "123", "004", "1234567890", &p));
    GL_CHECK_INT(GL_ENOTFOUND, online_cashout(&on, a, "01099990000", "004",
                                              "1234567890", &p));
    GL_CHECK_INT(2000, voucher(a).balance);

    xfers = sql_int("SELECT COUNT(*) FROM transfer");
    GL_CHECK_INT(GL_OK,
                 online_cashout(&on, a, OWNER, "004", "12345678901234", &p));
    GL_CHECK_STR("ok", online_cashout_name(p.check.verdict));
    GL_CHECK_INT(0, p.replay);
    GL_CHECK_INT(2000, p.amount);
    GL_CHECK(p.payout_id > 0);
    GL_CHECK_STR("004", p.bank);
    GL_CHECK(strstr(p.account_masked, "12345678901234") == NULL);
    GL_CHECK(strstr(p.account_masked, "1234") != NULL);
    GL_CHECK_INT(0, voucher(a).balance);
    GL_CHECK_INT(xfers + 1, sql_int("SELECT COUNT(*) FROM transfer"));
    GL_CHECK_INT(GL_OK,
                 ledger_account_find(&lg, LEDGER_ACC_CASHOUT, "", &cash));
    GL_CHECK(balance_of(cash) >= 2000);
    snprintf(q, sizeof q,
             "SELECT bank || ',' || bank_account || ',' || amount || ',' || "
             "state || ',' || (SELECT t.amount || ':' || t.debit FROM transfer"
             " t WHERE t.id = 'payout:' || p.id) FROM online_payout p"
             " WHERE p.id = %" PRId64,
             p.payout_id);
    sql_text(q, text, sizeof text);
    char want[128];
    snprintf(want, sizeof want, "004,12345678901234,2000,due,2000:%" PRId64,
             voucher(a).account);
    GL_CHECK_STR(want, text);
    snprintf(q, sizeof q,
             "SELECT phone || '|' || text FROM outbox WHERE idem_key = "
             "'payout:%" PRId64 "'",
             p.payout_id);
    sql_text(q, text, sizeof text);
    GL_CHECK(strncmp(text, OWNER "|", strlen(OWNER "|")) == 0);
    GL_CHECK(strstr(text, "2,000원 환급") != NULL);
    GL_CHECK(strstr(text, a) == NULL); /* the number masked */
    check_ledger_clean();

    /* The same request again: the same payout, nothing moved. */
    payouts = sql_int("SELECT COUNT(*) FROM online_payout");
    GL_CHECK_INT(
        GL_OK, online_cashout(&on, a, OWNER, "004", "12345678901234", &again));
    GL_CHECK_STR("ok", online_cashout_name(again.check.verdict));
    GL_CHECK_INT(1, again.replay);
    GL_CHECK_INT(p.payout_id, again.payout_id);
    GL_CHECK_INT(2000, again.amount);
    GL_CHECK_INT(payouts, sql_int("SELECT COUNT(*) FROM online_payout"));
    GL_CHECK_INT(xfers + 1, sql_int("SELECT COUNT(*) FROM transfer"));

    /* Too little used: refused, nothing written. */
    issue_for("DEPT", 50000, NULL, OWNER, b);
    spend(b, 10000);
    GL_CHECK_INT(GL_OK, online_cashout(&on, b, OWNER, "088", "1234567890", &p));
    GL_CHECK_STR("too_little_used", online_cashout_name(p.check.verdict));
    GL_CHECK_INT(0, p.payout_id);
    GL_CHECK_INT(40000, voucher(b).balance);
    GL_CHECK_INT(payouts, sql_int("SELECT COUNT(*) FROM online_payout"));
    check_ledger_clean();

    /* The bank transfer file: the due payout once, whole account number. */
    char path[128], path2[160], line[256];
    int n = -1;
    snprintf(path, sizeof path, "/tmp/gl_test_payout_%d.csv", (int)getpid());
    snprintf(path2, sizeof path2, "%s.2", path);
    unlink(path);
    unlink(path2);
    GL_CHECK_INT(GL_OK, online_payout_export(&on, path, &n));
    GL_CHECK_INT(1, n);
    FILE *f = fopen(path, "r");
    GL_CHECK(f != NULL);
    if (f != NULL) {
        GL_CHECK(fgets(line, sizeof line, f) != NULL);
        GL_CHECK_STR("payout_id,created,bank,account,amount,phone\n", line);
        GL_CHECK(fgets(line, sizeof line, f) != NULL);
        snprintf(want, sizeof want,
                 "%" PRId64 ",%" PRId64 ",004,12345678901234,2000," OWNER "\n",
                 again.payout_id, fake_now);
        GL_CHECK_STR(want, line);
        GL_CHECK(fgets(line, sizeof line, f) == NULL);
        fclose(f);
    }
    GL_CHECK_INT(1, sql_int("SELECT COUNT(*) FROM online_payout WHERE "
                            "state = 'exported'"));
    GL_CHECK_INT(GL_EEXIST, online_payout_export(&on, path, &n));
    GL_CHECK_INT(GL_OK, online_payout_export(&on, path2, &n));
    GL_CHECK_INT(0, n); /* nothing is paid twice */
    unlink(path);
    unlink(path2);
}

GL_TEST(expiry_notices_once_per_voucher_and_date)
{
    char a[VOUCHER_NUM_LEN + 1], bearer[VOUCHER_NUM_LEN + 1], q[256];
    char text[512];
    struct online_extension x;
    int queued = -1;
    struct registry_voucher v;

    issue_for("SHORT", 10000, NULL, OWNER, a);
    issue("SHORT", 10000, NULL, bearer); /* nobody to tell */
    v = voucher(a);
    GL_CHECK_INT(GL_OK, online_notify_expiring(&on, fake_now, 30, &queued));
    GL_CHECK_INT(1, queued);
    snprintf(q, sizeof q,
             "SELECT phone || '|' || text FROM outbox WHERE idem_key = "
             "'expiry:%" PRId64 ":%" PRId64 "'",
             v.account, v.expires);
    sql_text(q, text, sizeof text);
    GL_CHECK(strncmp(text, OWNER "|", strlen(OWNER "|")) == 0);
    GL_CHECK(strstr(text, "유효기간이") != NULL);
    GL_CHECK(strstr(text, "잔액 10,000원") != NULL);
    GL_CHECK(strstr(text, a) == NULL);
    printf("  %s\n", text);
    /* A second run adds nothing. */
    GL_CHECK_INT(GL_OK, online_notify_expiring(&on, fake_now, 30, &queued));
    GL_CHECK_INT(0, queued);
    /* Extended: the owner is told, and the new date gets its own notice
     * when it comes near. */
    GL_CHECK_INT(GL_OK, online_extend(&on, a, 60, &x));
    GL_CHECK_STR("ok", online_extend_name(x.verdict));
    snprintf(q, sizeof q,
             "SELECT text FROM outbox WHERE idem_key = 'extend:%" PRId64 "'",
             v.account);
    sql_text(q, text, sizeof text);
    GL_CHECK(strstr(text, "60일 연장") != NULL);
    GL_CHECK_INT(GL_OK, online_notify_expiring(&on, fake_now, 30, &queued));
    GL_CHECK_INT(0, queued);
    GL_CHECK_INT(GL_OK, online_notify_expiring(&on, x.new_expires - 10 * DAY,
                                               30, &queued));
    GL_CHECK_INT(1, queued);
    GL_CHECK_INT(2, sql_int("SELECT COUNT(*) FROM online_notice"));
    GL_CHECK_INT(GL_EINVAL, online_notify_expiring(&on, fake_now, 0, NULL));
    check_ledger_clean();
}

/* ---- bad input ---------------------------------------------------------- */

GL_TEST(bad_input_is_refused_and_not_recorded)
{
    char n[VOUCHER_NUM_LEN + 1], long_key[80];
    struct online_result r;

    issue("DEPT", 10000, NULL, n);
    memset(long_key, 'k', ONLINE_IDEM_MAX + 1);
    long_key[ONLINE_IDEM_MAX + 1] = '\0';
    GL_CHECK_INT(GL_EINVAL,
                 online_authorize(&on, NULL, "b-1", n, NULL, 1000, &r));
    GL_CHECK_INT(GL_EINVAL, online_authorize(&on, "M1", "", n, NULL, 1000, &r));
    GL_CHECK_INT(GL_EINVAL,
                 online_authorize(&on, "M1", NULL, n, NULL, 1000, &r));
    GL_CHECK_INT(GL_EINVAL,
                 online_authorize(&on, "M1", long_key, n, NULL, 1000, &r));
    GL_CHECK_INT(GL_EINVAL,
                 online_authorize(&on, "M1", "bad key", n, NULL, 1000, &r));
    GL_CHECK_INT(
        GL_EINVAL,
        online_authorize(&on, "M1", "b-1", "123456789012345", NULL, 1000, &r));
    GL_CHECK_INT(
        GL_EINVAL,
        online_authorize(&on, "M1", "b-1", "62740100000000x1", NULL, 1000, &r));
    GL_CHECK_INT(GL_EINVAL,
                 online_authorize(&on, "M1", "b-1", NULL, NULL, 1000, &r));
    GL_CHECK_INT(GL_EINVAL,
                 online_authorize(&on, "M1", "b-1", n, "12", 1000, &r));
    GL_CHECK_INT(GL_EINVAL,
                 online_authorize(&on, "M1", "b-1", n, "12a4", 1000, &r));
    GL_CHECK_INT(GL_EINVAL, online_authorize(&on, "M1", "b-1", n, NULL, 0, &r));
    GL_CHECK_INT(GL_EINVAL,
                 online_authorize(&on, "M1", "b-1", n, NULL, -5, &r));
    GL_CHECK_INT(GL_EINVAL, online_authorize(&on, "M1", "b-1", n, NULL,
                                             ONLINE_AMOUNT_MAX + 1, &r));
    GL_CHECK(r.err[0] != '\0');
    GL_CHECK_INT(GL_ENOTFOUND,
                 online_authorize(&on, "NOPE", "b-1", n, NULL, 1000, &r));
    GL_CHECK_INT(GL_EINVAL, online_capture(&on, "M1", "b-2", NULL, 1000, &r));
    GL_CHECK_INT(GL_EINVAL,
                 online_capture(&on, "M1", "b-2",
                                "au_00000000000000000000000000000000", 0, &r));
    GL_CHECK_INT(GL_EINVAL, online_void(&on, "M1", "b-2", "", &r));
    /* None of these was recorded: the key is still free. */
    GL_CHECK_INT(GL_OK, online_authorize(&on, "M1", "b-1", n, NULL, 1000, &r));
    GL_CHECK_INT(ONLINE_APPROVED, r.outcome);
    GL_CHECK_INT(0, r.replay);
    GL_CHECK_INT(GL_OK, online_void(&on, "M1", "b-2", r.auth_id, &r));
    GL_CHECK_INT(ONLINE_APPROVED, r.outcome);
    GL_CHECK_INT(9000 + 1000, voucher(n).available);

    {
        struct online o2;
        struct online_config bad = {.hold_timeout = 8 * DAY};
        GL_CHECK_INT(GL_EINVAL, online_open(&o2, &reg, &bad));
        online_close(&o2);
    }
    GL_CHECK_STR("", online_outcome_name((enum online_outcome)99));
    check_ledger_clean();
}

GL_TEST(teardown)
{
    check_ledger_clean();
    online_close(&on);
    online_close(&on); /* safe twice */
    registry_deinit(&reg);
    ledger_deinit(&lg);
    store_close(&st);
    db_remove(db_path);
}

int main(void)
{
    GL_RUN(setup_database);
    GL_RUN(api_key_shown_once_checked_and_revoked);
    GL_RUN(authorize_then_capture_moves_value_to_the_merchant);
    GL_RUN(authorize_then_void_restores_the_balance);
    GL_RUN(void_after_capture_refunds_within_the_window);
    GL_RUN(partial_authorization_follows_the_product);
    GL_RUN(wrong_pin_answers_like_an_unknown_number);
    GL_RUN(frozen_expired_cancelled_not_accepted);
    GL_RUN(retries_replay_and_other_content_conflicts);
    GL_RUN(another_merchants_authorization_is_not_found);
    GL_RUN(capture_above_the_hold_and_double_capture);
    GL_RUN(an_expired_hold_cannot_be_captured_and_is_released);
    GL_RUN(cashout_rule_at_its_boundaries);
    GL_RUN(expiring_list_and_extension);
    GL_RUN(cashout_pays_the_owner_to_a_bank_account_once);
    GL_RUN(expiry_notices_once_per_voucher_and_date);
    GL_RUN(bad_input_is_refused_and_not_recorded);
    GL_RUN(teardown);
    return GL_TEST_END();
}
