/*
 * test_shop.c - host-server/shop.c: the customer's purchase of vouchers, on
 * a temporary SQLite database provisioned through the registry API, with
 * card payments at the acquirer emulator (tests/emulators/acq_emu.c) over
 * plain TCP on loopback.
 *
 * What is pinned: a phone-bill purchase issues N vouchers of the face value
 * to the member, with the transfers from the phone-bill clearing account,
 * a clean ledger and the SMS in the outbox; a retry with the same key gives
 * the first result and issues nothing; the same key with other content is
 * a conflict; a non-member is told to join and nothing is done; the
 * month's limit (default and per phone) refuses with nothing charged or
 * issued, and a new month starts afresh; the carrier's statement CSV; card
 * approval (the emulator's charge is the amount), declines by the
 * emulator's rules, a time-out reversed at once or by
 * shop_flush_reversals, an abandoned authorization (crash) reversed by
 * the flush; a local transaction that fails after an approval (storage
 * faults injected at every table the purchase writes) is reversed and
 * leaves nothing; bad input; the refund terms; refunds: a phone-bill
 * refund cancels the vouchers, moves their value back and credits the
 * statement and the month's limit, with its SMS, once; a card refund turns
 * the kept authorization into a reversal the flush sends; refusals and a
 * storage fault change nothing; kept card data is purged after the window.
 */
#include <inttypes.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../gl_test.h"
#include "acq_emu.h"
#include "acquirer.h"
#include "gl_err.h"
#include "gl_log.h"
#include "ledger.h"
#include "registry.h"
#include "shop.h"
#include "store.h"

#define TIMEOUT_MS 400
#define PHONE_A "01012345678"
#define PHONE_B "01098765432"
#define PHONE_C "0162223333"

static char db_path[128];
static int64_t fake_now;
static struct store st;
static struct ledger lg;
static struct registry reg;
static struct shop shop;
static struct acq_emu *emu;
static struct acq_client *cli;
static char port[16];
static char pan_ok[20], pan_05[20];

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

static void make_pan(char out[20], const char *body)
{
    size_t n = strlen(body);
    int sum = 0;
    for (size_t i = 0; i < n; i++) {
        int d = body[n - 1 - i] - '0';
        if (i % 2 == 0) {
            d *= 2;
            if (d > 9) {
                d -= 9;
            }
        }
        sum += d;
    }
    snprintf(out, 20, "%s%d", body, (10 - sum % 10) % 10);
}

static void emu_cmd(const char *line)
{
    char reply[256];
    int rc = acq_emu_command(emu, line, reply, sizeof reply);
    if (rc != GL_OK) {
        printf("  emulator '%s': %s\n", line, reply);
    }
    GL_CHECK_INT(GL_OK, rc);
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
        sqlite3_step(s) == SQLITE_ROW) {
        snprintf(out, cap, "%s", (const char *)sqlite3_column_text(s, 0));
    }
    sqlite3_finalize(s);
}

static int64_t vouchers_total(void)
{
    return sql_int("SELECT COUNT(*) FROM voucher");
}

static int64_t clearing(const char *channel)
{
    int64_t id = 0;
    struct ledger_account a;
    if (ledger_account_find(&lg, LEDGER_ACC_CLEARING, channel, &id) != GL_OK) {
        return 0;
    }
    if (ledger_account_get(&lg, id, &a) != GL_OK) {
        return -1;
    }
    return a.balance;
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

static struct shop_request bill_req(const char *key, const char *phone,
                                    int64_t face, int count)
{
    struct shop_request r = {.key = key,
                             .phone = phone,
                             .product = "CARRIER",
                             .face = face,
                             .count = count,
                             .method = SHOP_PHONE_BILL};
    return r;
}

static struct shop_request card_req(const char *key, const char *pan,
                                    int64_t face, int count)
{
    struct shop_request r = {.key = key,
                             .phone = PHONE_A,
                             .product = "DEPT",
                             .face = face,
                             .count = count,
                             .method = SHOP_CARD,
                             .card_pan = pan,
                             .card_expiry = "3012"};
    return r;
}

static void add_product(const char *id, const char *brand, const char *prefix,
                        int type)
{
    struct registry_product p = {.type = type,
                                 .validity_days = 365,
                                 .partial_ok = 1,
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

/* ---- set-up ------------------------------------------------------------- */

GL_TEST(setup_database_and_acquirer)
{
    struct ledger_config lcfg = {.clock = fake_clock};
    struct acq_emu_config ecfg = {.plain = 1};
    struct acq_config acfg = {0};
    char err[256];
    int rc;

    snprintf(db_path, sizeof db_path, "/tmp/gl_test_shop_%d.db", (int)getpid());
    db_remove(db_path);
    fake_now = 1700000000; /* 2023-11-15 07:13 KST */
    GL_CHECK_INT(GL_OK, store_open(&st, NULL, NULL, db_path));
    GL_CHECK_INT(GL_OK, ledger_init(&lg, &st, &lcfg));
    GL_CHECK_INT(GL_OK, registry_init(&reg, &lg, NULL));
    const char *all[] = {"all"};
    GL_CHECK_INT(GL_OK, registry_merchant_add(&reg, "M1", "Shop", all, 1));
    add_product("CARRIER", "통신사 상품권", "627409", REGISTRY_TYPE_CARRIER);
    add_product("DEPT", "백화점 상품권", "627401", REGISTRY_TYPE_DEPARTMENT);
    GL_CHECK_INT(GL_OK, registry_member_add(&reg, PHONE_A, NULL));
    GL_CHECK_INT(GL_OK, registry_member_add(&reg, PHONE_B, NULL));

    rc = acq_emu_start(&emu, &ecfg, err);
    GL_CHECK_INT(GL_OK, rc);
    if (rc != GL_OK) {
        printf("  emulator: %s\n", err);
        exit(1);
    }
    snprintf(port, sizeof port, "%d", acq_emu_port(emu));
    acfg.host = "127.0.0.1";
    acfg.port = port;
    acfg.plain = 1;
    acfg.terminal_id = "GLWEB001";
    acfg.merchant_id = "GIFTLINK-WEB";
    acfg.timeout_ms = TIMEOUT_MS;
    GL_CHECK_INT(GL_OK, acq_client_new(&cli, &acfg, err));
    rc = shop_open(&shop, &reg, cli, NULL);
    GL_CHECK_INT(GL_OK, rc);
    if (rc != GL_OK) {
        printf("  shop_open: %s\n", shop_errmsg(&shop));
        exit(1);
    }
    make_pan(pan_ok, "411111000000001");
    make_pan(pan_05, "411111000000005"); /* emulator: 005 -> 05 */
}

/* ---- phone bill -----------------------------------------------------------
 */

GL_TEST(phone_bill_purchase_issues_the_vouchers_in_one_go)
{
    struct shop_request r = bill_req("k-bill-1", PHONE_A, 10000, 3);
    struct shop_result res;
    struct registry_voucher v;
    char text[1024], q[256];
    int64_t before = vouchers_total();

    GL_CHECK_INT(GL_OK, shop_purchase(&shop, &r, &res));
    GL_CHECK_STR("done", shop_outcome_name(res.outcome));
    GL_CHECK_INT(0, res.replay);
    GL_CHECK_INT(30000, res.amount);
    GL_CHECK_INT(3, res.nvouchers);
    GL_CHECK(strncmp(res.payment_ref, "bill:", 5) == 0);
    GL_CHECK_INT(before + 3, vouchers_total());
    for (int i = 0; i < res.nvouchers; i++) {
        GL_CHECK_INT(GL_OK, registry_voucher_get(&reg, res.vouchers[i], &v));
        GL_CHECK_INT(10000, v.balance);
        GL_CHECK_STR(PHONE_A, v.member_phone);
        GL_CHECK_STR("CARRIER", v.product);
        GL_CHECK(strncmp(v.number, "627409", 6) == 0);
    }
    GL_CHECK(strcmp(res.vouchers[0], res.vouchers[1]) != 0);
    GL_CHECK_INT(-30000, clearing(LEDGER_CH_PHONE_BILL));
    check_ledger_clean();
    /* The SMS, in the same transaction. */
    snprintf(q, sizeof q,
             "SELECT phone || '|' || state || '|' || text FROM outbox WHERE "
             "idem_key = 'shop:%" PRId64 "'",
             res.purchase_id);
    sql_text(q, text, sizeof text);
    GL_CHECK(strncmp(text, PHONE_A "|queued|", strlen(PHONE_A "|queued|")) ==
             0);
    GL_CHECK(strstr(text, "상품권 3장 구매 완료") != NULL);
    GL_CHECK(strstr(text, "30,000원") != NULL);
    GL_CHECK(strstr(text, res.vouchers[0]) == NULL); /* masked */
    char masked[GL_MASK_MAX];
    gl_mask_pan(masked, res.vouchers[2], 16);
    GL_CHECK(strstr(text, masked) != NULL);
    printf("  SMS: %s\n", text);
    /* The purchase row. */
    snprintf(q, sizeof q,
             "SELECT phone||','||product||','||face||','||count||','||method"
             "||','||amount||','||state FROM shop_purchase WHERE id = %" PRId64,
             res.purchase_id);
    sql_text(q, text, sizeof text);
    GL_CHECK_STR(PHONE_A ",CARRIER,10000,3,phone_bill,30000,done", text);
}

GL_TEST(a_retry_with_the_same_key_returns_the_first_result)
{
    struct shop_request r = bill_req("k-bill-1", PHONE_A, 10000, 3);
    struct shop_result first, again;
    int64_t before = vouchers_total();
    int64_t sms = sql_int("SELECT COUNT(*) FROM outbox");

    GL_CHECK_INT(GL_OK, shop_purchase(&shop, &r, &again));
    GL_CHECK_STR("done", shop_outcome_name(again.outcome));
    GL_CHECK_INT(1, again.replay);
    GL_CHECK_INT(3, again.nvouchers);
    GL_CHECK_INT(before, vouchers_total());
    GL_CHECK_INT(sms, sql_int("SELECT COUNT(*) FROM outbox"));
    GL_CHECK_INT(-30000, clearing(LEDGER_CH_PHONE_BILL));
    /* The same numbers as the first time (read from the ledger). */
    GL_CHECK_INT(GL_OK, shop_purchase(&shop, &r, &first));
    GL_CHECK_STR(first.vouchers[0], again.vouchers[0]);
    GL_CHECK_STR(first.payment_ref, again.payment_ref);
    GL_CHECK_INT(first.purchase_id, again.purchase_id);
}

GL_TEST(the_same_key_with_other_content_is_a_conflict)
{
    struct shop_request r = bill_req("k-bill-1", PHONE_A, 10000, 2);
    struct shop_result res;
    int64_t before = vouchers_total();

    GL_CHECK_INT(GL_OK, shop_purchase(&shop, &r, &res));
    GL_CHECK_STR("conflict", shop_outcome_name(res.outcome));
    GL_CHECK_INT(0, res.nvouchers);
    r = bill_req("k-bill-1", PHONE_B, 10000, 3);
    GL_CHECK_INT(GL_OK, shop_purchase(&shop, &r, &res));
    GL_CHECK_STR("conflict", shop_outcome_name(res.outcome));
    r = card_req("k-bill-1", pan_ok, 10000, 3);
    r.product = "CARRIER";
    GL_CHECK_INT(GL_OK, shop_purchase(&shop, &r, &res));
    GL_CHECK_STR("conflict", shop_outcome_name(res.outcome));
    GL_CHECK_INT(before, vouchers_total());
    GL_CHECK_INT(0, acq_emu_charged(emu, pan_ok));
}

GL_TEST(a_non_member_is_offered_to_join_and_nothing_is_done)
{
    struct shop_request r = bill_req("k-join", PHONE_C, 10000, 1);
    struct shop_result res;
    int64_t before = vouchers_total();
    int64_t rows = sql_int("SELECT COUNT(*) FROM shop_purchase");

    GL_CHECK_INT(GL_OK, shop_purchase(&shop, &r, &res));
    GL_CHECK_STR("not_member", shop_outcome_name(res.outcome));
    GL_CHECK_INT(before, vouchers_total());
    GL_CHECK_INT(rows, sql_int("SELECT COUNT(*) FROM shop_purchase"));
    GL_CHECK_INT(0, sql_int("SELECT COUNT(*) FROM shop_billing_charge WHERE "
                            "phone = '" PHONE_C "'"));
    /* S60'': joins, then the same key goes through. */
    GL_CHECK_INT(GL_OK, shop_join(&shop, PHONE_C));
    GL_CHECK_INT(GL_EEXIST, shop_join(&shop, PHONE_C));
    GL_CHECK_INT(GL_EINVAL, shop_join(&shop, "12345"));
    GL_CHECK_INT(GL_OK, shop_purchase(&shop, &r, &res));
    GL_CHECK_STR("done", shop_outcome_name(res.outcome));
    GL_CHECK_INT(1, res.nvouchers);
}

GL_TEST(the_monthly_limit_refuses_and_charges_nothing)
{
    struct shop_request r;
    struct shop_result res;
    int64_t limit = 0, left = 0, before;

    /* B: the default 300,000 a month. */
    GL_CHECK_INT(GL_OK,
                 shop_billing_remaining(&shop, PHONE_B, NULL, &limit, &left));
    GL_CHECK_INT(300000, limit);
    GL_CHECK_INT(300000, left);
    r = bill_req("k-lim-1", PHONE_B, 50000, 5);
    GL_CHECK_INT(GL_OK, shop_purchase(&shop, &r, &res));
    GL_CHECK_STR("done", shop_outcome_name(res.outcome));
    r = bill_req("k-lim-2", PHONE_B, 30000, 2);
    before = vouchers_total();
    int64_t cleared = clearing(LEDGER_CH_PHONE_BILL);
    GL_CHECK_INT(GL_OK, shop_purchase(&shop, &r, &res));
    GL_CHECK_STR("limit", shop_outcome_name(res.outcome));
    GL_CHECK(strstr(res.err, "50,000 KRW left") != NULL);
    printf("  %s\n", res.err);
    GL_CHECK_INT(0, res.nvouchers);
    GL_CHECK_INT(before, vouchers_total());
    GL_CHECK_INT(cleared, clearing(LEDGER_CH_PHONE_BILL));
    GL_CHECK_INT(250000, sql_int("SELECT SUM(amount) FROM shop_billing_charge"
                                 " WHERE phone = '" PHONE_B "'"));
    /* Its retry is the same refusal. */
    GL_CHECK_INT(GL_OK, shop_purchase(&shop, &r, &res));
    GL_CHECK_STR("limit", shop_outcome_name(res.outcome));
    GL_CHECK_INT(1, res.replay);
    /* Exactly what is left still goes. */
    r = bill_req("k-lim-3", PHONE_B, 50000, 1);
    GL_CHECK_INT(GL_OK, shop_purchase(&shop, &r, &res));
    GL_CHECK_STR("done", shop_outcome_name(res.outcome));
    GL_CHECK_INT(GL_OK,
                 shop_billing_remaining(&shop, PHONE_B, NULL, NULL, &left));
    GL_CHECK_INT(0, left);
    /* A per-phone override: C may spend 20,000 (10,000 spent already). */
    GL_CHECK_INT(GL_OK, shop_billing_set_limit(&shop, PHONE_C, 20000));
    r = bill_req("k-lim-4", PHONE_C, 10000, 2);
    GL_CHECK_INT(GL_OK, shop_purchase(&shop, &r, &res));
    GL_CHECK_STR("limit", shop_outcome_name(res.outcome));
    r = bill_req("k-lim-5", PHONE_C, 10000, 1);
    GL_CHECK_INT(GL_OK, shop_purchase(&shop, &r, &res));
    GL_CHECK_STR("done", shop_outcome_name(res.outcome));
    /* Back to the default. */
    GL_CHECK_INT(GL_OK, shop_billing_set_limit(&shop, PHONE_C, -1));
    GL_CHECK_INT(GL_OK,
                 shop_billing_remaining(&shop, PHONE_C, NULL, &limit, &left));
    GL_CHECK_INT(300000, limit);
    GL_CHECK_INT(280000, left);
    check_ledger_clean();
}

GL_TEST(the_statement_lists_the_months_charges_per_phone)
{
    char buf[1024];
    size_t n;
    FILE *f = tmpfile();
    GL_CHECK(f != NULL);
    if (f == NULL) {
        return;
    }
    GL_CHECK_INT(GL_OK, shop_billing_statement(&shop, "2023-11", f));
    rewind(f);
    n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    GL_CHECK_STR("month,phone,purchases,vouchers,amount,refunds,refunded,"
                 "net\n"
                 "2023-11,01012345678,1,3,30000,0,0,30000\n"
                 "2023-11,01098765432,2,6,300000,0,0,300000\n"
                 "2023-11,0162223333,2,2,20000,0,0,20000\n",
                 buf);
    /* A new month (KST) starts afresh and has its own statement. */
    struct shop_request r = bill_req("k-dec-1", PHONE_B, 30000, 1);
    struct shop_result res;
    int64_t saved = fake_now;
    fake_now = 1701356400; /* 2023-11-30 15:00 UTC = 2023-12-01 00:00 KST */
    GL_CHECK_INT(GL_OK, shop_purchase(&shop, &r, &res));
    GL_CHECK_STR("done", shop_outcome_name(res.outcome));
    f = tmpfile();
    GL_CHECK_INT(GL_OK, shop_billing_statement(&shop, "2023-12", f));
    rewind(f);
    n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    GL_CHECK_STR("month,phone,purchases,vouchers,amount,refunds,refunded,"
                 "net\n"
                 "2023-12,01098765432,1,1,30000,0,0,30000\n",
                 buf);
    GL_CHECK_INT(GL_EINVAL, shop_billing_statement(&shop, "2023-13", stdout));
    GL_CHECK_INT(GL_EINVAL, shop_billing_statement(&shop, "23-12", stdout));
    fake_now = saved;
}

/* ---- card -----------------------------------------------------------------
 */

GL_TEST(card_approved_charges_the_amount_and_issues)
{
    struct shop_request r = card_req("k-card-1", pan_ok, 50000, 2);
    struct shop_result res;
    struct registry_voucher v;
    char q[256], text[256];

    emu_cmd("reset");
    GL_CHECK_INT(GL_OK, shop_purchase(&shop, &r, &res));
    GL_CHECK_STR("done", shop_outcome_name(res.outcome));
    GL_CHECK_INT(100000, acq_emu_charged(emu, pan_ok));
    GL_CHECK_INT(6, strlen(res.payment_ref)); /* the approval code */
    GL_CHECK_STR("00", res.acq_rc);
    GL_CHECK_INT(2, res.nvouchers);
    GL_CHECK_INT(GL_OK, registry_voucher_get(&reg, res.vouchers[1], &v));
    GL_CHECK_INT(50000, v.balance);
    GL_CHECK_INT(-100000, clearing(LEDGER_CH_CARD));
    /* No card data left behind; the row keeps it masked. */
    GL_CHECK_INT(0, sql_int("SELECT COUNT(*) FROM shop_reversal"));
    /* The authorization is kept for a refund, for the window and a day. */
    snprintf(q, sizeof q,
             "SELECT keep_until - %" PRId64 " FROM shop_card_keep WHERE "
             "purchase_id = %" PRId64,
             fake_now, res.purchase_id);
    GL_CHECK_INT(8 * 86400, sql_int(q));
    snprintf(q, sizeof q,
             "SELECT card || ',' || payment_ref FROM shop_purchase WHERE "
             "id = %" PRId64,
             res.purchase_id);
    sql_text(q, text, sizeof text);
    char want[64], m[GL_MASK_MAX];
    snprintf(want, sizeof want, "%s,%s", gl_mask_pan(m, pan_ok, 16),
             res.payment_ref);
    GL_CHECK_STR(want, text);
    GL_CHECK(strstr(text, pan_ok) == NULL);
    /* The retry sends nothing. */
    struct acq_emu_stats s0, s1;
    acq_emu_stats(emu, &s0);
    GL_CHECK_INT(GL_OK, shop_purchase(&shop, &r, &res));
    GL_CHECK_INT(1, res.replay);
    GL_CHECK_STR("done", shop_outcome_name(res.outcome));
    acq_emu_stats(emu, &s1);
    GL_CHECK_INT(s0.requests, s1.requests);
    GL_CHECK_INT(100000, acq_emu_charged(emu, pan_ok));
    /* Another card is another purchase content. */
    r.card_pan = pan_05;
    GL_CHECK_INT(GL_OK, shop_purchase(&shop, &r, &res));
    GL_CHECK_STR("conflict", shop_outcome_name(res.outcome));
    check_ledger_clean();
}

GL_TEST(card_declined_by_the_acquirers_rules_issues_nothing)
{
    struct shop_request r = card_req("k-card-05", pan_05, 10000, 1);
    struct shop_result res;
    int64_t before = vouchers_total();

    emu_cmd("reset");
    GL_CHECK_INT(GL_OK, shop_purchase(&shop, &r, &res));
    GL_CHECK_STR("declined", shop_outcome_name(res.outcome));
    GL_CHECK_STR("05", res.acq_rc);
    GL_CHECK_INT(0, res.nvouchers);
    /* An expired card: 54; above the acquirer's limit: 61. */
    r = card_req("k-card-54", pan_ok, 10000, 1);
    r.card_expiry = "2001";
    GL_CHECK_INT(GL_OK, shop_purchase(&shop, &r, &res));
    GL_CHECK_STR("declined", shop_outcome_name(res.outcome));
    GL_CHECK_STR("54", res.acq_rc);
    emu_cmd("limit 20000");
    r = card_req("k-card-61", pan_ok, 10000, 3);
    GL_CHECK_INT(GL_OK, shop_purchase(&shop, &r, &res));
    GL_CHECK_STR("61", res.acq_rc);
    emu_cmd("limit 1000000");
    /* A listed card with its own code. */
    char line[64];
    snprintf(line, sizeof line, "decline %s 57", pan_ok);
    emu_cmd(line);
    r = card_req("k-card-57", pan_ok, 10000, 1);
    GL_CHECK_INT(GL_OK, shop_purchase(&shop, &r, &res));
    GL_CHECK_STR("declined", shop_outcome_name(res.outcome));
    GL_CHECK_STR("57", res.acq_rc);
    /* The retry is the same decline, without a request. */
    struct acq_emu_stats s0, s1;
    acq_emu_stats(emu, &s0);
    GL_CHECK_INT(GL_OK, shop_purchase(&shop, &r, &res));
    GL_CHECK_STR("declined", shop_outcome_name(res.outcome));
    GL_CHECK_STR("57", res.acq_rc);
    GL_CHECK_INT(1, res.replay);
    acq_emu_stats(emu, &s1);
    GL_CHECK_INT(s0.requests, s1.requests);
    emu_cmd("reset");
    GL_CHECK_INT(before, vouchers_total());
    GL_CHECK_INT(0, acq_emu_charged(emu, pan_ok));
    GL_CHECK_INT(0, sql_int("SELECT COUNT(*) FROM shop_reversal"));
    check_ledger_clean();
}

GL_TEST(card_time_out_is_reversed_and_issues_nothing)
{
    struct shop_request r = card_req("k-card-to", pan_ok, 30000, 1);
    struct shop_result res;
    struct acq_emu_stats s;
    int64_t before = vouchers_total();
    int64_t cleared = clearing(LEDGER_CH_CARD);

    emu_cmd("reset");
    emu_cmd("silent 1"); /* approves and charges, but does not answer */
    GL_CHECK_INT(GL_OK, shop_purchase(&shop, &r, &res));
    GL_CHECK_STR("payment_timeout", shop_outcome_name(res.outcome));
    printf("  %s\n", res.err);
    acq_emu_stats(emu, &s);
    GL_CHECK_INT(1, s.approvals);
    GL_CHECK_INT(1, s.reversals_applied);
    GL_CHECK_INT(0, acq_emu_charged(emu, pan_ok));
    GL_CHECK_INT(before, vouchers_total());
    GL_CHECK_INT(cleared, clearing(LEDGER_CH_CARD));
    GL_CHECK_INT(0, sql_int("SELECT COUNT(*) FROM shop_reversal"));
    GL_CHECK_INT(GL_OK, shop_purchase(&shop, &r, &res));
    GL_CHECK_STR("payment_timeout", shop_outcome_name(res.outcome));
    GL_CHECK_INT(1, res.replay);
}

GL_TEST(an_unanswered_reversal_is_repeated_by_the_flush)
{
    struct shop_request r = card_req("k-card-to2", pan_ok, 10000, 2);
    struct shop_result res;
    struct acq_emu_record rec;
    int sent = -1, left = -1;

    emu_cmd("reset");
    /* The 0100 and the first 0400 are processed but not answered. */
    emu_cmd("silent 2");
    GL_CHECK_INT(GL_OK, shop_purchase(&shop, &r, &res));
    GL_CHECK_STR("payment_timeout", shop_outcome_name(res.outcome));
    GL_CHECK_INT(1, sql_int("SELECT COUNT(*) FROM shop_reversal WHERE "
                            "state = 'due' AND attempts = 1"));
    emu_cmd("silent 1");
    GL_CHECK_INT(GL_OK, shop_flush_reversals(&shop, &sent, &left));
    GL_CHECK_INT(0, sent);
    GL_CHECK_INT(1, left);
    GL_CHECK_INT(GL_OK, shop_flush_reversals(&shop, &sent, &left));
    GL_CHECK_INT(1, sent);
    GL_CHECK_INT(0, left);
    GL_CHECK_INT(0, acq_emu_charged(emu, pan_ok));
    GL_CHECK_INT(0, sql_int("SELECT COUNT(*) FROM shop_reversal"));
    /* 0100, 0400, then repeats as 0401. */
    GL_CHECK_INT(GL_OK, acq_emu_record(emu, 1, &rec));
    GL_CHECK_STR("0400", rec.mti);
    GL_CHECK_INT(GL_OK, acq_emu_record(emu, 3, &rec));
    GL_CHECK_STR("0401", rec.mti);
    GL_CHECK_INT(GL_OK, shop_flush_reversals(&shop, &sent, &left));
    GL_CHECK_INT(0, sent + left);
}

GL_TEST(an_authorization_abandoned_by_a_crash_is_reversed_by_the_flush)
{
    /* What a crash between the first commit and the answer leaves: the
     * pending purchase and its armed reversal (made here from a time-out
     * whose reversal went unanswered, by putting the rows back). */
    struct shop_request r = card_req("k-card-crash", pan_ok, 10000, 1);
    struct shop_result res;
    struct acq_emu_stats s0, s1;
    int sent = -1, left = -1;

    emu_cmd("reset");
    emu_cmd("silent 2");
    GL_CHECK_INT(GL_OK, shop_purchase(&shop, &r, &res));
    GL_CHECK_INT(GL_OK, store_exec_sql(&st, "UPDATE shop_reversal SET state = "
                                            "'armed', attempts = 0;"
                                            "UPDATE shop_purchase SET state = "
                                            "'pending' WHERE idem_key = "
                                            "'k-card-crash';"));
    /* Until abandon_s has passed it may still be in flight. */
    GL_CHECK_INT(GL_OK, shop_purchase(&shop, &r, &res));
    GL_CHECK_STR("in_progress", shop_outcome_name(res.outcome));
    GL_CHECK_INT(GL_OK, shop_flush_reversals(&shop, &sent, &left));
    GL_CHECK_INT(0, sent + left);
    fake_now += 301;
    acq_emu_stats(emu, &s0);
    GL_CHECK_INT(GL_OK, shop_flush_reversals(&shop, &sent, &left));
    GL_CHECK_INT(1, sent);
    acq_emu_stats(emu, &s1);
    GL_CHECK_INT(s0.reversals + 1, s1.reversals);
    GL_CHECK_INT(0, sql_int("SELECT COUNT(*) FROM shop_reversal"));
    GL_CHECK_INT(0, acq_emu_charged(emu, pan_ok));
    GL_CHECK_INT(GL_OK, shop_purchase(&shop, &r, &res));
    GL_CHECK_STR("payment_timeout", shop_outcome_name(res.outcome));
    fake_now -= 301;
}

GL_TEST(a_local_failure_after_approval_is_reversed_and_leaves_nothing)
{
    /* Storage faults at every table the local transaction writes (a
     * trigger makes the statement fail, as a full disk would). */
    static const char *const faults[] = {
        "CREATE TEMP TRIGGER fault BEFORE INSERT ON voucher "
        "BEGIN SELECT RAISE(ABORT, 'injected fault'); END;",
        "CREATE TEMP TRIGGER fault BEFORE INSERT ON account "
        "BEGIN SELECT RAISE(ABORT, 'injected fault'); END;",
        "CREATE TEMP TRIGGER fault BEFORE INSERT ON transfer "
        "WHEN NEW.id LIKE 'shop:%:1' "
        "BEGIN SELECT RAISE(ABORT, 'injected fault'); END;",
        "CREATE TEMP TRIGGER fault BEFORE INSERT ON outbox "
        "BEGIN SELECT RAISE(ABORT, 'injected fault'); END;",
        "CREATE TEMP TRIGGER fault BEFORE UPDATE ON shop_purchase "
        "WHEN NEW.state = 'done' "
        "BEGIN SELECT RAISE(ABORT, 'injected fault'); END;",
        "CREATE TEMP TRIGGER fault BEFORE DELETE ON shop_reversal "
        "WHEN (SELECT state FROM shop_purchase WHERE id = OLD.purchase_id)"
        " = 'done' "
        "BEGIN SELECT RAISE(ABORT, 'injected fault'); END;",
        "CREATE TEMP TRIGGER fault BEFORE INSERT ON shop_billing_charge "
        "BEGIN SELECT RAISE(ABORT, 'injected fault'); END;",
    };
    for (size_t i = 0; i < sizeof faults / sizeof faults[0]; i++) {
        char key[32];
        struct shop_result res;
        int64_t before = vouchers_total();
        int64_t card = clearing(LEDGER_CH_CARD);
        int64_t bill = clearing(LEDGER_CH_PHONE_BILL);
        int64_t sms = sql_int("SELECT COUNT(*) FROM outbox");
        int64_t charges = sql_int("SELECT COUNT(*) FROM shop_billing_charge");

        printf("  fault %zu\n", i);
        emu_cmd("reset");
        GL_CHECK_INT(GL_OK, store_exec_sql(&st, faults[i]));
        snprintf(key, sizeof key, "k-fault-card-%zu", i);
        struct shop_request r = card_req(key, pan_ok, 10000, 2);
        int rc = shop_purchase(&shop, &r, &res);
        int billing_only = strstr(faults[i], "billing") != NULL;
        GL_CHECK_INT(GL_OK, rc);
        GL_CHECK_STR(billing_only ? "done" : "failed",
                     shop_outcome_name(res.outcome));
        if (!billing_only) {
            GL_CHECK(res.err[0] != '\0');
            GL_CHECK_INT(0, acq_emu_charged(emu, pan_ok));
            GL_CHECK_INT(before, vouchers_total());
            GL_CHECK_INT(card, clearing(LEDGER_CH_CARD));
            GL_CHECK_INT(sms, sql_int("SELECT COUNT(*) FROM outbox"));
            GL_CHECK_INT(0, sql_int("SELECT COUNT(*) FROM shop_reversal"));
            GL_CHECK_INT(GL_OK, shop_purchase(&shop, &r, &res));
            GL_CHECK_STR("failed", shop_outcome_name(res.outcome));
            GL_CHECK_INT(1, res.replay);
        }
        /* The same fault under a phone-bill purchase: nothing charged. */
        before = vouchers_total();
        sms = sql_int("SELECT COUNT(*) FROM outbox");
        snprintf(key, sizeof key, "k-fault-bill-%zu", i);
        r = bill_req(key, PHONE_A, 10000, 2);
        rc = shop_purchase(&shop, &r, &res);
        int bill_hit = strstr(faults[i], "reversal") == NULL;
        if (bill_hit) {
            GL_CHECK(rc != GL_OK);
            GL_CHECK_STR("failed", shop_outcome_name(res.outcome));
            GL_CHECK_INT(0, res.nvouchers);
            GL_CHECK_INT(before, vouchers_total());
            GL_CHECK_INT(bill, clearing(LEDGER_CH_PHONE_BILL));
            GL_CHECK_INT(sms, sql_int("SELECT COUNT(*) FROM outbox"));
            GL_CHECK_INT(charges,
                         sql_int("SELECT COUNT(*) FROM shop_billing_charge"));
            char q[128];
            snprintf(q, sizeof q,
                     "SELECT COUNT(*) FROM shop_purchase WHERE idem_key = "
                     "'%s'",
                     key);
            GL_CHECK_INT(0, sql_int(q));
        }
        GL_CHECK_INT(GL_OK, store_exec_sql(&st, "DROP TRIGGER temp.fault;"));
        /* Without the fault the same key goes through. */
        if (bill_hit) {
            rc = shop_purchase(&shop, &r, &res);
            GL_CHECK_INT(GL_OK, rc);
            GL_CHECK_STR("done", shop_outcome_name(res.outcome));
        }
        check_ledger_clean();
    }
}

GL_TEST(a_closed_acquirer_is_unavailable_and_the_key_stays_free)
{
    struct shop_request r = card_req("k-card-closed", pan_ok, 10000, 1);
    struct shop_result res;
    struct acq_client *dead = NULL;
    struct acq_config acfg = {.host = "127.0.0.1",
                              .port = "1",
                              .plain = 1,
                              .terminal_id = "GLWEB001",
                              .merchant_id = "GIFTLINK-WEB",
                              .timeout_ms = TIMEOUT_MS};
    struct shop s2;
    char err[ACQ_ERR_MAX];

    GL_CHECK_INT(GL_OK, acq_client_new(&dead, &acfg, err));
    GL_CHECK_INT(GL_OK, shop_open(&s2, &reg, dead, NULL));
    GL_CHECK_INT(GL_OK, shop_purchase(&s2, &r, &res));
    GL_CHECK_STR("payment_unavailable", shop_outcome_name(res.outcome));
    printf("  %s\n", res.err);
    shop_close(&s2);
    acq_client_free(dead);
    /* The key was not used up. */
    emu_cmd("reset");
    GL_CHECK_INT(GL_OK, shop_purchase(&shop, &r, &res));
    GL_CHECK_STR("done", shop_outcome_name(res.outcome));
    GL_CHECK_INT(0, res.replay);
    GL_CHECK_INT(10000, acq_emu_charged(emu, pan_ok));
    /* Without a client card payments are refused. */
    GL_CHECK_INT(GL_OK, shop_open(&s2, &reg, NULL, NULL));
    r.key = "k-card-none";
    GL_CHECK_INT(GL_ENOTSUP, shop_purchase(&s2, &r, &res));
    GL_CHECK_INT(GL_ENOTSUP, shop_flush_reversals(&s2, NULL, NULL));
    shop_close(&s2);
}

/* ---- bad input ------------------------------------------------------------
 */

GL_TEST(bad_input_is_refused_with_a_clear_reason)
{
    struct shop_request r;
    struct shop_result res;
    int64_t rows = sql_int("SELECT COUNT(*) FROM shop_purchase");

    r = bill_req("k-bad", PHONE_A, 10000, 0);
    GL_CHECK_INT(GL_EINVAL, shop_purchase(&shop, &r, &res));
    GL_CHECK_STR("count must be 1..10", res.err);
    r.count = 11;
    GL_CHECK_INT(GL_EINVAL, shop_purchase(&shop, &r, &res));
    r = bill_req("k-bad", PHONE_A, 10000, 1);
    r.product = "NOPE";
    GL_CHECK_INT(GL_EINVAL, shop_purchase(&shop, &r, &res));
    GL_CHECK_STR("unknown product", res.err);
    r = bill_req("k-bad", PHONE_A, 20000, 1);
    GL_CHECK_INT(GL_EINVAL, shop_purchase(&shop, &r, &res));
    GL_CHECK_STR("face value not offered by the product", res.err);
    const char *phones[] = {
        "0101234567", "01012345678901", "+821012345678", "02-123-4567", "",
        NULL};
    for (size_t i = 0; i < sizeof phones / sizeof phones[0]; i++) {
        r = bill_req("k-bad", phones[i], 10000, 1);
        GL_CHECK_INT(GL_EINVAL, shop_purchase(&shop, &r, &res));
        GL_CHECK(strncmp(res.err, "phone must be", 13) == 0);
    }
    r = bill_req("", PHONE_A, 10000, 1);
    GL_CHECK_INT(GL_EINVAL, shop_purchase(&shop, &r, &res));
    r = bill_req("two words", PHONE_A, 10000, 1);
    GL_CHECK_INT(GL_EINVAL, shop_purchase(&shop, &r, &res));
    r = bill_req("k-bad", PHONE_A, 10000, 1);
    r.method = 7;
    GL_CHECK_INT(GL_EINVAL, shop_purchase(&shop, &r, &res));
    char bad_luhn[20];
    snprintf(bad_luhn, sizeof bad_luhn, "%s", pan_ok);
    bad_luhn[15] = bad_luhn[15] == '9' ? '0' : (char)(bad_luhn[15] + 1);
    r = card_req("k-bad", bad_luhn, 10000, 1);
    GL_CHECK_INT(GL_EINVAL, shop_purchase(&shop, &r, &res));
    GL_CHECK(strstr(res.err, "check digit") != NULL);
    r = card_req("k-bad", pan_ok, 10000, 1);
    r.card_expiry = "3013";
    GL_CHECK_INT(GL_EINVAL, shop_purchase(&shop, &r, &res));
    GL_CHECK_STR("card expiry must be YYMM", res.err);
    r.card_expiry = NULL;
    GL_CHECK_INT(GL_EINVAL, shop_purchase(&shop, &r, &res));
    GL_CHECK_INT(rows, sql_int("SELECT COUNT(*) FROM shop_purchase"));
}

/* ---- standard terms -------------------------------------------------------
 */

GL_TEST(refund_terms_seven_days_untouched)
{
    struct shop_request r = bill_req("k-refund", PHONE_A, 10000, 2);
    struct shop_result res;
    int verdict = -1;
    int64_t saved = fake_now;

    GL_CHECK_INT(GL_OK, shop_purchase(&shop, &r, &res));
    GL_CHECK_INT(GL_OK, shop_refund_check(&shop, "k-refund", &verdict));
    GL_CHECK_STR("ok", shop_refund_name(verdict));
    fake_now += 7 * 86400;
    GL_CHECK_INT(GL_OK, shop_refund_check(&shop, "k-refund", &verdict));
    GL_CHECK_STR("ok", shop_refund_name(verdict));
    fake_now += 1;
    GL_CHECK_INT(GL_OK, shop_refund_check(&shop, "k-refund", &verdict));
    GL_CHECK_STR("too_late", shop_refund_name(verdict));
    fake_now = saved;
    /* One voucher used (a redemption to a merchant). */
    struct registry_merchant m;
    struct registry_voucher v;
    struct ledger_result lr;
    GL_CHECK_INT(GL_OK, registry_merchant_get(&reg, "M1", &m));
    GL_CHECK_INT(GL_OK, registry_voucher_get(&reg, res.vouchers[1], &v));
    struct ledger_transfer t = {.id = "redeem-test",
                                .debit = v.account,
                                .credit = m.account,
                                .amount = 1000,
                                .kind = LEDGER_TK_REDEEM};
    GL_CHECK_INT(GL_OK, ledger_transfer_apply(&lg, &t, &lr));
    GL_CHECK_INT(GL_OK, shop_refund_check(&shop, "k-refund", &verdict));
    GL_CHECK_STR("used", shop_refund_name(verdict));
    /* Not issued, unknown. */
    GL_CHECK_INT(GL_OK, shop_refund_check(&shop, "k-lim-2", &verdict));
    GL_CHECK_STR("not_done", shop_refund_name(verdict));
    GL_CHECK_INT(GL_ENOTFOUND, shop_refund_check(&shop, "nope", &verdict));
    check_ledger_clean();
}

static int64_t transfers_total(void)
{
    return sql_int("SELECT COUNT(*) FROM transfer");
}

static int refunded_seen;
static int64_t refunded_id;
static int list_cb(void *ctx, const struct shop_purchase_info *p)
{
    (void)ctx;
    if (p->id == refunded_id) {
        refunded_seen = p->refunded != 0;
    }
    return 0;
}

GL_TEST(a_phone_bill_refund_cancels_the_vouchers_and_credits_the_bill)
{
    struct shop_request r = bill_req("k-ref-bill", PHONE_A, 10000, 2);
    struct shop_result res;
    struct shop_refund_result rf;
    struct registry_voucher v;
    int64_t left0 = 0, left1 = 0, left2 = 0, clr0, xfers;
    char q[256], text[1024], buf[1024];

    GL_CHECK_INT(GL_OK,
                 shop_billing_remaining(&shop, PHONE_A, NULL, NULL, &left0));
    clr0 = clearing(LEDGER_CH_PHONE_BILL);
    GL_CHECK_INT(GL_OK, shop_purchase(&shop, &r, &res));
    GL_CHECK_STR("done", shop_outcome_name(res.outcome));
    GL_CHECK_INT(GL_OK,
                 shop_billing_remaining(&shop, PHONE_A, NULL, NULL, &left1));
    GL_CHECK_INT(left0 - 20000, left1);

    /* Someone else's purchase is not found; a bad phone is bad input. */
    GL_CHECK_INT(GL_ENOTFOUND,
                 shop_refund(&shop, res.purchase_id, PHONE_B, &rf));
    GL_CHECK_INT(GL_EINVAL, shop_refund(&shop, res.purchase_id, "12", &rf));
    GL_CHECK_INT(GL_ENOTFOUND, shop_refund(&shop, 999999, PHONE_A, &rf));

    GL_CHECK_INT(GL_OK, shop_refund(&shop, res.purchase_id, PHONE_A, &rf));
    GL_CHECK_STR("ok", shop_refund_name(rf.verdict));
    GL_CHECK_INT(0, rf.replay);
    GL_CHECK_INT(20000, rf.amount);
    GL_CHECK_STR("phone_bill", rf.method);
    GL_CHECK_INT(2, rf.nvouchers);
    for (int i = 0; i < 2; i++) {
        GL_CHECK_STR(res.vouchers[i], rf.vouchers[i]);
        GL_CHECK_INT(GL_OK, registry_voucher_get(&reg, res.vouchers[i], &v));
        GL_CHECK_INT(REGISTRY_V_CANCELLED, v.status);
        GL_CHECK_INT(0, v.balance);
    }
    GL_CHECK_INT(clr0, clearing(LEDGER_CH_PHONE_BILL));
    /* The month's limit is free again; the statement shows the credit. */
    GL_CHECK_INT(GL_OK,
                 shop_billing_remaining(&shop, PHONE_A, NULL, NULL, &left2));
    GL_CHECK_INT(left0, left2);
    FILE *f = tmpfile();
    GL_CHECK_INT(GL_OK, shop_billing_statement(&shop, "2023-11", f));
    rewind(f);
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    GL_CHECK(strstr(buf, "\n2023-11,01012345678,") != NULL);
    GL_CHECK(strstr(buf, ",1,20000,") != NULL);
    printf("%s", buf);
    /* The SMS, in the same transaction. */
    snprintf(q, sizeof q,
             "SELECT phone || '|' || text FROM outbox WHERE "
             "idem_key = 'shop-refund:%" PRId64 "'",
             res.purchase_id);
    sql_text(q, text, sizeof text);
    GL_CHECK(strncmp(text, PHONE_A "|", strlen(PHONE_A "|")) == 0);
    GL_CHECK(strstr(text, "구매 취소") != NULL);
    GL_CHECK(strstr(text, "20,000원 환불") != NULL);
    check_ledger_clean();

    /* Again: the same answer, nothing moved. */
    xfers = transfers_total();
    GL_CHECK_INT(GL_OK, shop_refund(&shop, res.purchase_id, PHONE_A, &rf));
    GL_CHECK_STR("ok", shop_refund_name(rf.verdict));
    GL_CHECK_INT(1, rf.replay);
    GL_CHECK_INT(20000, rf.amount);
    GL_CHECK_INT(2, rf.nvouchers);
    GL_CHECK_INT(xfers, transfers_total());
    GL_CHECK_INT(clr0, clearing(LEDGER_CH_PHONE_BILL));
    /* The history says so. */
    refunded_id = res.purchase_id;
    refunded_seen = 0;
    GL_CHECK_INT(GL_OK, shop_list(&shop, PHONE_A, 0, list_cb, NULL));
    GL_CHECK_INT(1, refunded_seen);
}

GL_TEST(a_refund_refused_or_failing_changes_nothing)
{
    struct shop_request r = bill_req("k-ref-fail", PHONE_A, 10000, 1);
    struct shop_result res;
    struct shop_refund_result rf;
    struct registry_voucher v;
    int64_t clr0, xfers, sms;

    /* The purchase with a used voucher (refund_terms_seven_days_untouched)
     * is refused: used. */
    GL_CHECK_INT(GL_OK, shop_purchase(&shop, &r, &res));
    GL_CHECK_STR("done", shop_outcome_name(res.outcome));
    clr0 = clearing(LEDGER_CH_PHONE_BILL);
    xfers = transfers_total();
    sms = sql_int("SELECT COUNT(*) FROM outbox");
    /* A storage fault at the refund row: the transaction is undone. */
    GL_CHECK_INT(0, sqlite3_exec((sqlite3 *)st.db,
                                 "CREATE TEMP TRIGGER no_refund BEFORE INSERT "
                                 "ON shop_refund BEGIN SELECT RAISE(ABORT, "
                                 "'injected'); END",
                                 NULL, NULL, NULL));
    GL_CHECK_INT(GL_DB, shop_refund(&shop, res.purchase_id, PHONE_A, &rf));
    printf("  %s\n", rf.err);
    GL_CHECK(strstr(rf.err, "injected") != NULL);
    GL_CHECK_INT(0, sqlite3_exec((sqlite3 *)st.db, "DROP TRIGGER no_refund",
                                 NULL, NULL, NULL));
    GL_CHECK_INT(GL_OK, registry_voucher_get(&reg, res.vouchers[0], &v));
    GL_CHECK_INT(REGISTRY_V_ACTIVE, v.status);
    GL_CHECK_INT(10000, v.balance);
    GL_CHECK_INT(clr0, clearing(LEDGER_CH_PHONE_BILL));
    GL_CHECK_INT(xfers, transfers_total());
    GL_CHECK_INT(sms, sql_int("SELECT COUNT(*) FROM outbox"));
    /* Too late: nothing either. */
    int64_t saved = fake_now;
    fake_now += 7 * 86400 + 1;
    GL_CHECK_INT(GL_OK, shop_refund(&shop, res.purchase_id, PHONE_A, &rf));
    GL_CHECK_STR("too_late", shop_refund_name(rf.verdict));
    fake_now = saved;
    /* A used voucher: nothing. */
    struct registry_merchant m;
    struct ledger_result lr;
    GL_CHECK_INT(GL_OK, registry_merchant_get(&reg, "M1", &m));
    struct ledger_transfer t = {.id = "redeem-test-2",
                                .debit = v.account,
                                .credit = m.account,
                                .amount = 500,
                                .kind = LEDGER_TK_REDEEM};
    GL_CHECK_INT(GL_OK, ledger_transfer_apply(&lg, &t, &lr));
    xfers = transfers_total();
    GL_CHECK_INT(GL_OK, shop_refund(&shop, res.purchase_id, PHONE_A, &rf));
    GL_CHECK_STR("used", shop_refund_name(rf.verdict));
    GL_CHECK_INT(xfers, transfers_total());
    GL_CHECK_INT(0, sql_int("SELECT COUNT(*) FROM shop_refund WHERE "
                            "purchase_id NOT IN (SELECT id FROM shop_purchase "
                            "WHERE idem_key = 'k-ref-bill')"));
    /* A purchase that issued nothing. */
    int64_t lim = sql_int("SELECT id FROM shop_purchase WHERE state = "
                          "'limit' ORDER BY id LIMIT 1");
    char phone[32], q[128];
    snprintf(q, sizeof q, "SELECT phone FROM shop_purchase WHERE id = %" PRId64,
             lim);
    sql_text(q, phone, sizeof phone);
    GL_CHECK_INT(GL_OK, shop_refund(&shop, lim, phone, &rf));
    GL_CHECK_STR("not_done", shop_refund_name(rf.verdict));
    check_ledger_clean();
}

GL_TEST(a_card_refund_reverses_the_kept_authorization)
{
    struct shop_request r = card_req("k-ref-card", pan_ok, 10000, 1);
    struct shop_result res;
    struct shop_refund_result rf;
    struct acq_emu_record rec;
    struct acq_emu_stats es;
    int64_t clr0;
    int sent = -1, left = -1;
    char q[256];

    emu_cmd("reset");
    clr0 = clearing(LEDGER_CH_CARD);
    GL_CHECK_INT(GL_OK, shop_purchase(&shop, &r, &res));
    GL_CHECK_STR("done", shop_outcome_name(res.outcome));
    GL_CHECK_INT(10000, acq_emu_charged(emu, pan_ok));
    GL_CHECK_INT(GL_OK, shop_refund(&shop, res.purchase_id, PHONE_A, &rf));
    GL_CHECK_STR("ok", shop_refund_name(rf.verdict));
    GL_CHECK_STR("card", rf.method);
    GL_CHECK_INT(clr0, clearing(LEDGER_CH_CARD));
    /* The kept authorization became a due reversal without an identity
     * yet: the sender chooses it. */
    snprintf(q, sizeof q,
             "SELECT COUNT(*) FROM shop_card_keep WHERE purchase_id = %" PRId64,
             res.purchase_id);
    GL_CHECK_INT(0, sql_int(q));
    snprintf(q, sizeof q,
             "SELECT COUNT(*) FROM shop_reversal WHERE purchase_id = %" PRId64
             " AND state = 'due' AND rev_stan = ''",
             res.purchase_id);
    GL_CHECK_INT(1, sql_int(q));
    /* Not on the phone bill's statement. */
    GL_CHECK_INT(0, sql_int("SELECT COUNT(*) FROM shop_refund WHERE "
                            "method = 'card' AND charge_month != ''"));
    /* The acquirer does not answer the first time, then does. */
    emu_cmd("silent 1");
    GL_CHECK_INT(GL_OK, shop_flush_reversals(&shop, &sent, &left));
    GL_CHECK_INT(0, sent);
    GL_CHECK_INT(1, left);
    snprintf(q, sizeof q,
             "SELECT COUNT(*) FROM shop_reversal WHERE purchase_id = %" PRId64
             " AND length(rev_stan) = 6 AND attempts = 1",
             res.purchase_id);
    GL_CHECK_INT(1, sql_int(q));
    GL_CHECK_INT(GL_OK, shop_flush_reversals(&shop, &sent, &left));
    GL_CHECK_INT(1, sent);
    GL_CHECK_INT(0, left);
    GL_CHECK_INT(0, acq_emu_charged(emu, pan_ok));
    acq_emu_stats(emu, &es);
    GL_CHECK_INT(1, es.reversals_applied);
    GL_CHECK_INT(GL_OK, acq_emu_record(emu, 1, &rec));
    GL_CHECK_STR("0400", rec.mti);
    GL_CHECK_INT(GL_OK, acq_emu_record(emu, 2, &rec));
    GL_CHECK_STR("0401", rec.mti);
    GL_CHECK_INT(0, sql_int("SELECT COUNT(*) FROM shop_reversal"));
    check_ledger_clean();
}

GL_TEST(kept_card_data_goes_after_the_window)
{
    struct shop_request r = card_req("k-ref-card2", pan_ok, 10000, 1);
    struct shop_result res;
    struct shop_refund_result rf;
    struct registry_voucher v;
    int64_t saved = fake_now;
    char q[160];

    emu_cmd("reset");
    GL_CHECK_INT(GL_OK, shop_purchase(&shop, &r, &res));
    GL_CHECK_STR("done", shop_outcome_name(res.outcome));
    snprintf(q, sizeof q,
             "SELECT COUNT(*) FROM shop_card_keep WHERE purchase_id = %" PRId64,
             res.purchase_id);
    GL_CHECK_INT(1, sql_int(q));
    fake_now += 7 * 86400;
    GL_CHECK_INT(GL_OK, shop_purge_card_data(&shop));
    GL_CHECK_INT(1, sql_int(q)); /* still refundable */
    fake_now += 86400 + 1;
    GL_CHECK_INT(GL_OK, shop_purge_card_data(&shop));
    GL_CHECK_INT(0, sql_int(q));
    GL_CHECK_INT(0, sql_int("SELECT COUNT(*) FROM shop_card_keep WHERE "
                            "keep_until < (SELECT MAX(created) FROM "
                            "shop_purchase)"));
    fake_now = saved;
    /* Had it gone inside the window (a purchase from before the data was
     * kept), the refund is refused and nothing changes. */
    GL_CHECK_INT(GL_OK, shop_refund(&shop, res.purchase_id, PHONE_A, &rf));
    GL_CHECK_STR("no_card_data", shop_refund_name(rf.verdict));
    GL_CHECK_INT(GL_OK, registry_voucher_get(&reg, res.vouchers[0], &v));
    GL_CHECK_INT(REGISTRY_V_ACTIVE, v.status);
    GL_CHECK_INT(10000, v.balance);
    GL_CHECK_INT(10000, acq_emu_charged(emu, pan_ok));
    check_ledger_clean();
}

GL_TEST(stans_come_from_one_counter_in_the_database)
{
    /* Two shops (as gl-webd's card worker and sender thread have) with
     * clients of their own: the STANs never repeat, and a new shop goes on
     * from the stored counter. */
    struct acq_client *cli2 = NULL;
    struct acq_config acfg = {0};
    struct shop shop2;
    struct shop_request r = card_req("k-stan-1", pan_ok, 10000, 1);
    struct shop_result res;
    struct acq_emu_record rec;
    char err[256], want[8];
    int64_t last;

    acfg.host = "127.0.0.1";
    acfg.port = port;
    acfg.plain = 1;
    acfg.terminal_id = "GLWEB001";
    acfg.merchant_id = "GIFTLINK-WEB";
    acfg.timeout_ms = TIMEOUT_MS;
    acfg.stan_start = 1; /* a client counter that would collide */
    GL_CHECK_INT(GL_OK, acq_client_new(&cli2, &acfg, err));
    GL_CHECK_INT(GL_OK, shop_open(&shop2, &reg, cli2, NULL));
    emu_cmd("reset");
    last = sql_int("SELECT last FROM shop_stan");
    GL_CHECK(last > 0);
    GL_CHECK_INT(GL_OK, shop_purchase(&shop2, &r, &res));
    GL_CHECK_STR("done", shop_outcome_name(res.outcome));
    GL_CHECK_INT(GL_OK, acq_emu_record(emu, 0, &rec));
    snprintf(want, sizeof want, "%06d", (int)(last + 1));
    GL_CHECK_STR(want, rec.stan); /* the 0100; +2 is its reversal's */
    r.key = "k-stan-2";
    GL_CHECK_INT(GL_OK, shop_purchase(&shop, &r, &res));
    GL_CHECK_INT(GL_OK, acq_emu_record(emu, 1, &rec));
    snprintf(want, sizeof want, "%06d", (int)(last + 3));
    GL_CHECK_STR(want, rec.stan);
    GL_CHECK_INT(last + 4, sql_int("SELECT last FROM shop_stan"));
    /* The counter wraps within 1..999999. */
    GL_CHECK_INT(0, sqlite3_exec((sqlite3 *)st.db,
                                 "UPDATE shop_stan SET last = 999999", NULL,
                                 NULL, NULL));
    r.key = "k-stan-3";
    GL_CHECK_INT(GL_OK, shop_purchase(&shop2, &r, &res));
    GL_CHECK_INT(GL_OK, acq_emu_record(emu, 2, &rec));
    GL_CHECK_STR("000001", rec.stan);
    shop_close(&shop2);
    acq_client_free(cli2);
    check_ledger_clean();
}

GL_TEST(teardown)
{
    shop_close(&shop);
    acq_client_free(cli);
    acq_emu_free(emu);
    registry_deinit(&reg);
    ledger_deinit(&lg);
    store_close(&st);
    db_remove(db_path);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    gl_log_open("test_shop", 0);
    gl_log_set_level(GL_LOG_ERROR);
    GL_RUN(setup_database_and_acquirer);
    GL_RUN(phone_bill_purchase_issues_the_vouchers_in_one_go);
    GL_RUN(a_retry_with_the_same_key_returns_the_first_result);
    GL_RUN(the_same_key_with_other_content_is_a_conflict);
    GL_RUN(a_non_member_is_offered_to_join_and_nothing_is_done);
    GL_RUN(the_monthly_limit_refuses_and_charges_nothing);
    GL_RUN(the_statement_lists_the_months_charges_per_phone);
    GL_RUN(card_approved_charges_the_amount_and_issues);
    GL_RUN(card_declined_by_the_acquirers_rules_issues_nothing);
    GL_RUN(card_time_out_is_reversed_and_issues_nothing);
    GL_RUN(an_unanswered_reversal_is_repeated_by_the_flush);
    GL_RUN(an_authorization_abandoned_by_a_crash_is_reversed_by_the_flush);
    GL_RUN(a_local_failure_after_approval_is_reversed_and_leaves_nothing);
    GL_RUN(a_closed_acquirer_is_unavailable_and_the_key_stays_free);
    GL_RUN(bad_input_is_refused_with_a_clear_reason);
    GL_RUN(refund_terms_seven_days_untouched);
    GL_RUN(a_phone_bill_refund_cancels_the_vouchers_and_credits_the_bill);
    GL_RUN(a_refund_refused_or_failing_changes_nothing);
    GL_RUN(a_card_refund_reverses_the_kept_authorization);
    GL_RUN(kept_card_data_goes_after_the_window);
    GL_RUN(stans_come_from_one_counter_in_the_database);
    GL_RUN(teardown);
    return GL_TEST_END();
}
