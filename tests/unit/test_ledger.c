/*
 * test_ledger.c - the double-entry ledger on a real SQLite database:
 * transfers and balances, idempotent retries and conflicts, holds, the
 * no-negative rule and its offline exception, group commit with a failing
 * operation, the consistency check against hand-made corruption, a full
 * disk, kill -9 crash safety and two processes redeeming one voucher.
 */
#include <signal.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "gl_err.h"
#include "../gl_test.h"
#include "ledger.h"
#include "store.h"

static int64_t fake_now = 1700000000;
static int64_t fake_clock(void *ctx)
{
    (void)ctx;
    return fake_now;
}

static char db_path[256];
static struct store st;
static struct ledger lg;
static int64_t a_clear, a_merch, a_v1, a_v2, a_refunds;

static void db_remove(const char *path)
{
    char p[300];
    unlink(path);
    snprintf(p, sizeof p, "%s-wal", path);
    unlink(p);
    snprintf(p, sizeof p, "%s-shm", path);
    unlink(p);
}

/* A fresh database with a clearing account, a merchant payable, a refunds
 * account and two voucher accounts; v1 is issued 1000. */
static void setup(const char *name)
{
    struct ledger_config cfg = {.clock = fake_clock};
    struct ledger_result r;
    snprintf(db_path, sizeof db_path, "/tmp/gl_test_ledger_%d_%s.db",
             (int)getpid(), name);
    db_remove(db_path);
    fake_now = 1700000000;
    GL_CHECK_INT(GL_OK, store_open(&st, NULL, NULL, db_path));
    GL_CHECK_INT(GL_OK, ledger_init(&lg, &st, &cfg));
    GL_CHECK_INT(GL_OK, ledger_account_ensure(&lg, LEDGER_ACC_CLEARING,
                                              LEDGER_CH_CARD, 0, &a_clear));
    GL_CHECK_INT(GL_OK, ledger_account_ensure(&lg, LEDGER_ACC_MERCHANT, "M1",
                                              0, &a_merch));
    GL_CHECK_INT(GL_OK, ledger_account_ensure(&lg, LEDGER_ACC_REFUNDS, "", 0,
                                              &a_refunds));
    GL_CHECK_INT(GL_OK, ledger_account_ensure(&lg, LEDGER_ACC_VOUCHER,
                                              "6274010000000001",
                                              LEDGER_AF_NONNEG, &a_v1));
    GL_CHECK_INT(GL_OK, ledger_account_ensure(&lg, LEDGER_ACC_VOUCHER,
                                              "6274010000000002",
                                              LEDGER_AF_NONNEG, &a_v2));
    struct ledger_transfer t = {.id = "issue-v1", .debit = a_clear,
                                .credit = a_v1, .amount = 1000,
                                .kind = LEDGER_TK_ISSUE};
    GL_CHECK_INT(GL_OK, ledger_transfer_apply(&lg, &t, &r));
}

static void teardown(void)
{
    ledger_deinit(&lg);
    store_close(&st);
    db_remove(db_path);
}

static int64_t balance(int64_t acc)
{
    struct ledger_account a;
    if (ledger_account_get(&lg, acc, &a) != GL_OK) {
        return INT64_MIN;
    }
    return a.balance;
}

static int64_t available(int64_t acc)
{
    struct ledger_account a;
    if (ledger_account_get(&lg, acc, &a) != GL_OK) {
        return INT64_MIN;
    }
    return a.available;
}

/* Runs one SQL text on a second, raw connection (the "by hand" edits). */
static int raw_sql(const char *sql)
{
    sqlite3 *db = NULL;
    int rc = sqlite3_open(db_path, &db);
    if (rc == SQLITE_OK) {
        sqlite3_busy_timeout(db, 5000);
        rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
    }
    sqlite3_close(db);
    return rc;
}

static int64_t raw_int(const char *sql)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *s = NULL;
    int64_t v = -1;
    if (sqlite3_open(db_path, &db) == SQLITE_OK &&
        sqlite3_prepare_v2(db, sql, -1, &s, NULL) == SQLITE_OK &&
        sqlite3_step(s) == SQLITE_ROW) {
        v = sqlite3_column_int64(s, 0);
    }
    sqlite3_finalize(s);
    sqlite3_close(db);
    return v;
}

static int redeem(const char *id, int64_t voucher, int64_t amount,
                  unsigned flags, struct ledger_result *r)
{
    struct ledger_transfer t = {.id = id, .debit = voucher,
                                .credit = a_merch, .amount = amount,
                                .kind = LEDGER_TK_REDEEM, .flags = flags};
    return ledger_transfer_apply(&lg, &t, r);
}

static size_t check_findings(struct ledger_report *rep)
{
    int rc = ledger_check(&lg, fake_now, rep);
    GL_CHECK_INT(GL_OK, rc);
    return rep->n;
}

static const struct ledger_finding *
find(const struct ledger_report *rep, enum ledger_check_what what,
     int64_t account)
{
    for (size_t i = 0; i < rep->n; i++) {
        if (rep->items[i].what == what && rep->items[i].account == account) {
            return &rep->items[i];
        }
    }
    return NULL;
}

/* ---- tests ------------------------------------------------------------ */

GL_TEST(test_schema_pragmas)
{
    setup("schema");
    GL_CHECK_INT(store_schema_version(), raw_int("PRAGMA user_version"));
    GL_CHECK(store_schema_version() >= 2);
    /* WAL is a property of the file; the others of the connection. */
    GL_CHECK_INT(1, raw_int("SELECT journal_mode = 'wal'"
                            " FROM pragma_journal_mode"));
    /* Reopening an up-to-date file applies nothing and keeps data. */
    store_close(&st);
    GL_CHECK_INT(GL_OK, store_open(&st, NULL, NULL, db_path));
    GL_CHECK_INT(1000, balance(a_v1));
    /* Transfers are immutable. */
    GL_CHECK(raw_sql("UPDATE transfer SET amount = 1") != SQLITE_OK);
    GL_CHECK(raw_sql("DELETE FROM transfer") != SQLITE_OK);
    GL_CHECK_INT(1, raw_int("SELECT COUNT(*) FROM transfer"));
    teardown();
}

GL_TEST(test_transfers_balances)
{
    struct ledger_result r;
    struct ledger_report rep;
    setup("basic");
    GL_CHECK_INT(-1000, balance(a_clear));
    GL_CHECK_INT(1000, balance(a_v1));
    GL_CHECK_INT(GL_OK, redeem("T1-000001-0101", a_v1, 300, 0, &r));
    GL_CHECK_INT(300, r.amount);
    GL_CHECK_INT(700, r.debit_balance);
    GL_CHECK_INT(300, r.credit_balance);
    GL_CHECK_INT(0, r.duplicate);
    GL_CHECK_INT(1700000000, r.created);
    GL_CHECK_INT(700, balance(a_v1));
    GL_CHECK_INT(300, balance(a_merch));
    GL_CHECK_INT(-1000, balance(a_clear));
    /* Same account on both sides, zero and negative amounts. */
    struct ledger_transfer t = {.id = "x1", .debit = a_v1, .credit = a_v1,
                                .amount = 5, .kind = LEDGER_TK_REDEEM};
    GL_CHECK_INT(GL_EINVAL, ledger_transfer_apply(&lg, &t, &r));
    GL_CHECK_INT(GL_LEDGER_AMOUNT, redeem("x2", a_v1, 0, 0, &r));
    GL_CHECK_INT(GL_LEDGER_AMOUNT, redeem("x3", a_v1, -5, 0, &r));
    GL_CHECK_INT(GL_LEDGER_NOACCOUNT, redeem("x4", 999, 5, 0, &r));
    GL_CHECK_INT(GL_EINVAL, redeem("", a_v1, 5, 0, &r));
    GL_CHECK_INT(0, check_findings(&rep));
    GL_CHECK_INT(0, rep.total);
    GL_CHECK_INT(5, rep.accounts);
    ledger_report_free(&rep);
    teardown();
}

GL_TEST(test_idempotent_retries)
{
    struct ledger_result first, r;
    setup("idem");
    GL_CHECK_INT(GL_OK, redeem("T1-000002-0101", a_v1, 250, 0, &first));
    for (int i = 0; i < 4; i++) {
        fake_now += 7; /* a later retry still gets the first answer */
        GL_CHECK_INT(GL_OK, redeem("T1-000002-0101", a_v1, 250, 0, &r));
        GL_CHECK_INT(1, r.duplicate);
        GL_CHECK_INT(first.seq, r.seq);
        GL_CHECK_INT(first.amount, r.amount);
        GL_CHECK_INT(first.created, r.created);
        GL_CHECK_INT(first.debit_balance, r.debit_balance);
        GL_CHECK_INT(first.credit_balance, r.credit_balance);
    }
    GL_CHECK_INT(750, balance(a_v1));
    GL_CHECK_INT(250, balance(a_merch));
    GL_CHECK_INT(1, raw_int("SELECT COUNT(*) FROM transfer"
                            " WHERE id = 'T1-000002-0101'"));
    GL_CHECK_INT(2, raw_int("SELECT COUNT(*) FROM transfer"));
    teardown();
}

GL_TEST(test_conflicts)
{
    struct ledger_result r;
    setup("conflict");
    GL_CHECK_INT(GL_OK, redeem("K1", a_v1, 100, 0, &r));
    GL_CHECK_INT(GL_LEDGER_CONFLICT, redeem("K1", a_v1, 101, 0, &r));
    GL_CHECK_INT(GL_LEDGER_CONFLICT, redeem("K1", a_v2, 100, 0, &r));
    struct ledger_transfer t = {.id = "K1", .debit = a_v1,
                                .credit = a_refunds, .amount = 100,
                                .kind = LEDGER_TK_REDEEM};
    GL_CHECK_INT(GL_LEDGER_CONFLICT, ledger_transfer_apply(&lg, &t, &r));
    t.credit = a_merch;
    t.kind = LEDGER_TK_CASHOUT;
    GL_CHECK_INT(GL_LEDGER_CONFLICT, ledger_transfer_apply(&lg, &t, &r));
    GL_CHECK_INT(GL_LEDGER_CONFLICT,
                 redeem("K1", a_v1, 100, LEDGER_F_PARTIAL, &r));
    GL_CHECK_INT(900, balance(a_v1));
    GL_CHECK_INT(100, balance(a_merch));
    teardown();
}

GL_TEST(test_no_voucher_below_zero)
{
    struct ledger_result r;
    setup("funds");
    GL_CHECK_INT(GL_LEDGER_FUNDS, redeem("F1", a_v1, 1001, 0, &r));
    GL_CHECK_INT(1000, balance(a_v1));
    GL_CHECK_INT(GL_LEDGER_FUNDS, redeem("F2", a_v2, 1, 0, &r));
    /* Partial approval moves what is there and records what was asked. */
    GL_CHECK_INT(GL_OK, redeem("F3", a_v1, 1500, LEDGER_F_PARTIAL, &r));
    GL_CHECK_INT(1000, r.amount);
    GL_CHECK_INT(0, balance(a_v1));
    struct ledger_transfer_row row;
    GL_CHECK_INT(GL_OK, ledger_transfer_get(&lg, "F3", &row));
    GL_CHECK_INT(1500, row.requested);
    GL_CHECK_INT(1000, row.amount);
    GL_CHECK_INT(GL_LEDGER_FUNDS, redeem("F4", a_v1, 5, LEDGER_F_PARTIAL, &r));
    /* Non-voucher accounts may go negative (clearing is). */
    GL_CHECK_INT(-1000, balance(a_clear));
    teardown();
}

static int count_cb(void *ctx, const struct ledger_transfer_row *r)
{
    int *n = ctx;
    (*n)++;
    return r->amount == 200 ? 0 : 1;
}

GL_TEST(test_offline_overdraft)
{
    struct ledger_result r;
    struct ledger_report rep;
    setup("overdraft");
    GL_CHECK_INT(GL_OK, redeem("O1", a_v1, 900, 0, &r));
    GL_CHECK_INT(GL_LEDGER_FUNDS, redeem("O2", a_v1, 300, 0, &r));
    GL_CHECK_INT(GL_OK, redeem("O2", a_v1, 300, LEDGER_F_OFFLINE_OVERDRAFT,
                               &r));
    GL_CHECK_INT(300, r.amount);
    GL_CHECK_INT(-200, balance(a_v1));
    /* The flag is only for plain transfers, not holds. */
    struct ledger_transfer t = {.id = "O3", .debit = a_v1, .credit = a_merch,
                                .amount = 5, .kind = LEDGER_TK_REDEEM,
                                .flags = LEDGER_F_PENDING |
                                         LEDGER_F_OFFLINE_OVERDRAFT};
    GL_CHECK_INT(GL_EINVAL, ledger_transfer_apply(&lg, &t, &r));
    /* Listed: one row (O2, 300); the callback's 1 for a row of another
     * amount than 200 comes back as the listing's result. */
    int n = 0;
    GL_CHECK_INT(1, ledger_overdrafts_list(&lg, count_cb, &n));
    GL_CHECK_INT(1, n);
    struct ledger_transfer_row row;
    GL_CHECK_INT(GL_OK, ledger_transfer_get(&lg, "O2", &row));
    GL_CHECK_INT(LEDGER_F_OFFLINE_OVERDRAFT, row.flags);
    /* A flagged voucher below zero is not a finding. */
    GL_CHECK_INT(0, check_findings(&rep));
    ledger_report_free(&rep);
    teardown();
}

GL_TEST(test_holds)
{
    struct ledger_result r;
    struct ledger_report rep;
    setup("holds");
    struct ledger_transfer h = {.id = "H1", .debit = a_v1, .credit = a_merch,
                                .amount = 400, .kind = LEDGER_TK_REDEEM,
                                .flags = LEDGER_F_PENDING, .timeout = 60};
    GL_CHECK_INT(GL_OK, ledger_transfer_apply(&lg, &h, &r));
    GL_CHECK_INT(400, r.amount);
    GL_CHECK_INT(1000, balance(a_v1));
    GL_CHECK_INT(600, available(a_v1));
    GL_CHECK_INT(GL_LEDGER_FUNDS, redeem("R1", a_v1, 700, 0, &r));
    /* Post less than held: the rest is released. */
    struct ledger_transfer p = {.id = "P1", .amount = 250,
                                .kind = LEDGER_TK_REDEEM,
                                .flags = LEDGER_F_POST, .pending_id = "H1"};
    p.amount = 401;
    GL_CHECK_INT(GL_LEDGER_AMOUNT, ledger_transfer_apply(&lg, &p, &r));
    p.amount = 250;
    GL_CHECK_INT(GL_OK, ledger_transfer_apply(&lg, &p, &r));
    GL_CHECK_INT(250, r.amount);
    GL_CHECK_INT(750, balance(a_v1));
    GL_CHECK_INT(750, available(a_v1));
    GL_CHECK_INT(250, balance(a_merch));
    /* The retry of the post is a duplicate; a second post is refused. */
    GL_CHECK_INT(GL_OK, ledger_transfer_apply(&lg, &p, &r));
    GL_CHECK_INT(1, r.duplicate);
    p.id = "P2";
    GL_CHECK_INT(GL_LEDGER_HOLD_CLOSED, ledger_transfer_apply(&lg, &p, &r));
    p.pending_id = "nope";
    GL_CHECK_INT(GL_LEDGER_NOHOLD, ledger_transfer_apply(&lg, &p, &r));

    /* Void. */
    h.id = "H2";
    h.amount = 100;
    GL_CHECK_INT(GL_OK, ledger_transfer_apply(&lg, &h, &r));
    GL_CHECK_INT(650, available(a_v1));
    struct ledger_transfer v = {.id = "V2", .kind = LEDGER_TK_REDEEM,
                                .flags = LEDGER_F_VOID, .pending_id = "H2"};
    GL_CHECK_INT(GL_OK, ledger_transfer_apply(&lg, &v, &r));
    GL_CHECK_INT(750, available(a_v1));
    GL_CHECK_INT(750, balance(a_v1));

    /* Full post with LEDGER_AMOUNT_HOLD. */
    h.id = "H3";
    h.amount = 50;
    GL_CHECK_INT(GL_OK, ledger_transfer_apply(&lg, &h, &r));
    p.id = "P3";
    p.pending_id = "H3";
    p.amount = LEDGER_AMOUNT_HOLD;
    GL_CHECK_INT(GL_OK, ledger_transfer_apply(&lg, &p, &r));
    GL_CHECK_INT(50, r.amount);
    GL_CHECK_INT(700, balance(a_v1));

    /* Expiry: after the timeout the hold cannot post; the sweep releases. */
    h.id = "H4";
    h.amount = 300;
    h.timeout = 60;
    GL_CHECK_INT(GL_OK, ledger_transfer_apply(&lg, &h, &r));
    GL_CHECK_INT(400, available(a_v1));
    fake_now += 59;
    int n = -1;
    GL_CHECK_INT(GL_OK, ledger_holds_expire(&lg, fake_now, &n));
    GL_CHECK_INT(0, n);
    fake_now += 1;
    p.id = "P4";
    p.pending_id = "H4";
    GL_CHECK_INT(GL_LEDGER_HOLD_EXPIRED, ledger_transfer_apply(&lg, &p, &r));
    GL_CHECK_INT(1, check_findings(&rep));
    GL_CHECK_INT(LEDGER_CHK_HOLD_EXPIRED, rep.items[0].what);
    GL_CHECK_STR("H4", rep.items[0].hold);
    ledger_report_free(&rep);
    GL_CHECK_INT(GL_OK, ledger_holds_expire(&lg, fake_now, &n));
    GL_CHECK_INT(1, n);
    GL_CHECK_INT(700, available(a_v1));
    struct ledger_transfer_row row;
    GL_CHECK_INT(GL_OK, ledger_transfer_get(&lg, "expire:H4", &row));
    GL_CHECK_INT(LEDGER_F_VOID | LEDGER_F_EXPIRED, row.flags);
    GL_CHECK_INT(300, row.amount);
    GL_CHECK_INT(GL_LEDGER_HOLD_CLOSED, ledger_transfer_apply(&lg, &p, &r));
    GL_CHECK_INT(GL_OK, ledger_holds_expire(&lg, fake_now, &n));
    GL_CHECK_INT(0, n);
    GL_CHECK_INT(0, check_findings(&rep));
    ledger_report_free(&rep);
    GL_CHECK_INT(700, balance(a_v1));
    GL_CHECK_INT(300, balance(a_merch));
    teardown();
}

GL_TEST(test_group_commit)
{
    struct ledger_result r;
    struct ledger_report rep;
    setup("group");
    /* An operation that fails after it wrote: its balance updates are
     * done, then the transfer insert is refused by an injected trigger. */
    GL_CHECK_INT(SQLITE_OK,
                 raw_sql("CREATE TRIGGER inject BEFORE INSERT ON transfer"
                         " WHEN NEW.id = 'G-boom' BEGIN"
                         " SELECT RAISE(ABORT, 'injected'); END;"));
    GL_CHECK_INT(GL_OK, ledger_batch_begin(&lg));
    GL_CHECK_INT(GL_OK, redeem("G1", a_v1, 100, 0, &r));
    GL_CHECK_INT(900, r.debit_balance);
    GL_CHECK_INT(GL_LEDGER_FUNDS, redeem("G2", a_v1, 5000, 0, &r));
    GL_CHECK_INT(GL_DB, redeem("G-boom", a_v1, 200, 0, &r));
    GL_CHECK_INT(GL_OK, redeem("G3", a_v1, 300, 0, &r));
    GL_CHECK_INT(600, r.debit_balance); /* G-boom's 200 was undone */
    GL_CHECK_INT(GL_OK, redeem("G1", a_v1, 100, 0, &r)); /* dup in batch */
    GL_CHECK_INT(1, r.duplicate);
    /* Another connection sees nothing before the commit. */
    GL_CHECK_INT(1000, raw_int("SELECT balance FROM account"
                               " WHERE ref = '6274010000000001'"));
    GL_CHECK_INT(GL_OK, ledger_batch_commit(&lg));
    GL_CHECK_INT(600, raw_int("SELECT balance FROM account"
                              " WHERE ref = '6274010000000001'"));
    GL_CHECK_INT(400, balance(a_merch));
    GL_CHECK_INT(1, raw_int("SELECT COUNT(*) FROM transfer WHERE id='G1'"));
    GL_CHECK_INT(1, raw_int("SELECT COUNT(*) FROM transfer WHERE id='G3'"));
    GL_CHECK_INT(0, raw_int("SELECT COUNT(*) FROM transfer"
                            " WHERE id IN ('G2', 'G-boom')"));
    GL_CHECK_INT(0, check_findings(&rep));
    ledger_report_free(&rep);
    /* A rolled-back batch leaves nothing. */
    GL_CHECK_INT(GL_OK, ledger_batch_begin(&lg));
    GL_CHECK_INT(GL_OK, redeem("G4", a_v1, 100, 0, &r));
    ledger_batch_rollback(&lg);
    GL_CHECK_INT(600, balance(a_v1));
    GL_CHECK_INT(GL_ENOTFOUND, ledger_transfer_get(&lg, "G4",
                                                   &(struct ledger_transfer_row){0}));
    teardown();
}

GL_TEST(test_check_finds_corruption)
{
    struct ledger_result r;
    struct ledger_report rep;
    const struct ledger_finding *f;
    char sql[256];
    setup("check");
    GL_CHECK_INT(GL_OK, redeem("C1", a_v1, 300, 0, &r));
    GL_CHECK_INT(0, check_findings(&rep));
    ledger_report_free(&rep);

    /* 1. A balance edited by hand. */
    snprintf(sql, sizeof sql,
             "UPDATE account SET balance = 750 WHERE id = %lld",
             (long long)a_v1);
    GL_CHECK_INT(SQLITE_OK, raw_sql(sql));
    GL_CHECK_INT(2, check_findings(&rep));
    f = find(&rep, LEDGER_CHK_SUM, 0);
    GL_CHECK(f != NULL);
    if (f != NULL) {
        GL_CHECK_INT(0, f->expected);
        GL_CHECK_INT(50, f->actual);
        GL_CHECK_STR("sum of all balances is 50, expected 0", f->text);
    }
    f = find(&rep, LEDGER_CHK_BALANCE, a_v1);
    GL_CHECK(f != NULL);
    if (f != NULL) {
        GL_CHECK_INT(700, f->expected);
        GL_CHECK_INT(750, f->actual);
        snprintf(sql, sizeof sql,
                 "account %lld (voucher 627401******0001): stored balance "
                 "750, its transfers give 700",
                 (long long)a_v1);
        GL_CHECK_STR(sql, f->text);
    }
    ledger_report_free(&rep);
    snprintf(sql, sizeof sql,
             "UPDATE account SET balance = 700 WHERE id = %lld",
             (long long)a_v1);
    GL_CHECK_INT(SQLITE_OK, raw_sql(sql));
    GL_CHECK_INT(0, check_findings(&rep));
    ledger_report_free(&rep);

    /* 2. A transfer deleted (its immutability trigger dropped first). */
    GL_CHECK_INT(SQLITE_OK, raw_sql("DROP TRIGGER transfer_no_delete;"
                                    "DELETE FROM transfer WHERE id = 'C1'"));
    GL_CHECK_INT(2, check_findings(&rep));
    f = find(&rep, LEDGER_CHK_BALANCE, a_v1);
    GL_CHECK(f != NULL && f->expected == 1000 && f->actual == 700);
    f = find(&rep, LEDGER_CHK_BALANCE, a_merch);
    GL_CHECK(f != NULL && f->expected == 0 && f->actual == 300);
    GL_CHECK(find(&rep, LEDGER_CHK_SUM, 0) == NULL);
    ledger_report_free(&rep);
    /* Put the balances back in line with the transfers. */
    snprintf(sql, sizeof sql,
             "UPDATE account SET balance = 1000 WHERE id = %lld;"
             "UPDATE account SET balance = 0 WHERE id = %lld",
             (long long)a_v1, (long long)a_merch);
    GL_CHECK_INT(SQLITE_OK, raw_sql(sql));
    GL_CHECK_INT(0, check_findings(&rep));
    ledger_report_free(&rep);

    /* 3. A hold past its timeout that nobody released. */
    struct ledger_transfer h = {.id = "CH", .debit = a_v1, .credit = a_merch,
                                .amount = 120, .kind = LEDGER_TK_REDEEM,
                                .flags = LEDGER_F_PENDING, .timeout = 30};
    GL_CHECK_INT(GL_OK, ledger_transfer_apply(&lg, &h, &r));
    GL_CHECK_INT(0, check_findings(&rep));
    ledger_report_free(&rep);
    fake_now += 31;
    GL_CHECK_INT(1, check_findings(&rep));
    f = find(&rep, LEDGER_CHK_HOLD_EXPIRED, a_v1);
    GL_CHECK(f != NULL);
    if (f != NULL) {
        GL_CHECK_STR("CH", f->hold);
        GL_CHECK_INT(120, f->actual);
        GL_CHECK_INT(0, f->expected);
        snprintf(sql, sizeof sql,
                 "hold CH on account %lld: 120 still held, expired at "
                 "1700000030, not released",
                 (long long)a_v1);
        GL_CHECK_STR(sql, f->text);
    }
    ledger_report_free(&rep);
    GL_CHECK_INT(GL_OK, ledger_holds_expire(&lg, fake_now, NULL));

    /* 4. A held amount edited, an orphaned hold, a voucher below zero. */
    snprintf(sql, sizeof sql,
             "PRAGMA foreign_keys = OFF;"
             "INSERT INTO hold (transfer_id, debit, credit, amount, timeout,"
             " state) VALUES ('ghost', %lld, %lld, 0, 9999999999, 0);"
             "UPDATE account SET balance = -5 WHERE id = %lld;"
             "UPDATE account SET balance = 5 WHERE id = %lld",
             (long long)a_v2, (long long)a_merch, (long long)a_v2,
             (long long)a_refunds);
    GL_CHECK_INT(SQLITE_OK, raw_sql(sql));
    check_findings(&rep);
    f = find(&rep, LEDGER_CHK_HOLD_ORPHAN, a_merch);
    GL_CHECK(f != NULL);
    if (f != NULL) {
        GL_CHECK_STR("ghost", f->hold);
        GL_CHECK_STR("hold ghost of 0: its pending transfer is missing",
                     f->text);
    }
    f = find(&rep, LEDGER_CHK_NEGATIVE, a_v2);
    GL_CHECK(f != NULL && f->actual == -5);
    f = find(&rep, LEDGER_CHK_BALANCE, a_v2);
    GL_CHECK(f != NULL && f->expected == 0 && f->actual == -5);
    f = find(&rep, LEDGER_CHK_BALANCE, a_refunds);
    GL_CHECK(f != NULL && f->expected == 0 && f->actual == 5);
    GL_CHECK_INT(4, rep.n);
    ledger_report_free(&rep);
    teardown();
}

GL_TEST(test_disk_full)
{
    struct ledger_result r;
    struct ledger_report rep;
    char id[64], sql[64];
    int rc = GL_OK, ok = 0;
    setup("full");
    /* SQLite's own limit: the file may not grow by a page. */
    int64_t pages = raw_int("PRAGMA page_count");
    snprintf(sql, sizeof sql, "PRAGMA max_page_count = %lld",
             (long long)pages);
    GL_CHECK_INT(GL_OK, store_exec_sql(&st, sql));
    for (int i = 0; i < 5000 && rc == GL_OK; i++) {
        snprintf(id, sizeof id, "full-%06d-padding-padding-padding-%d", i, i);
        rc = redeem(id, a_v1, 1, 0, &r);
        if (rc == GL_OK) {
            ok++;
        }
    }
    GL_CHECK_INT(GL_DB_FULL, rc);
    GL_CHECK(ok > 0 && ok < 1000);
    GL_CHECK_INT(GL_ENOTFOUND,
                 ledger_transfer_get(&lg, id, &(struct ledger_transfer_row){0}));
    GL_CHECK_INT(1000 - ok, balance(a_v1));
    GL_CHECK_INT(ok, balance(a_merch));
    GL_CHECK_INT(0, check_findings(&rep));
    ledger_report_free(&rep);

    /* The same inside a group: what commits is whole, nothing else. */
    int before = ok, in_batch = 0;
    snprintf(sql, sizeof sql, "PRAGMA max_page_count = %lld",
             (long long)raw_int("PRAGMA page_count") + 2);
    GL_CHECK_INT(GL_OK, store_exec_sql(&st, sql));
    GL_CHECK_INT(GL_OK, ledger_batch_begin(&lg));
    rc = GL_OK;
    for (int i = 0; i < 200 && rc == GL_OK; i++) {
        snprintf(id, sizeof id, "grp-%06d-padding-padding-padding-%d", i, i);
        rc = redeem(id, a_v1, 1, 0, &r);
        in_batch += rc == GL_OK;
    }
    GL_CHECK(rc == GL_DB_FULL || rc == GL_LEDGER_ABORTED);
    int crc = ledger_batch_commit(&lg);
    printf("  full: %d single transfers fit, then %d in a group; group's "
           "last op %s, commit %s\n",
           ok, in_batch, gl_errname(rc), gl_errname(crc));
    GL_CHECK(in_batch > 0);
    int64_t moved = balance(a_merch) - before;
    if (crc == GL_OK) {
        GL_CHECK_INT(in_batch, moved);
    } else {
        GL_CHECK_INT(0, moved);
    }
    GL_CHECK_INT(0, check_findings(&rep));
    ledger_report_free(&rep);
    /* Room again: work goes on. */
    GL_CHECK_INT(GL_OK, store_exec_sql(&st, "PRAGMA max_page_count = 1000000"));
    GL_CHECK_INT(GL_OK, redeem("after-full", a_v1, 1, 0, &r));
    teardown();
}

/* ---- processes -------------------------------------------------------- */

static void child_open(struct store *cst, struct ledger *cl)
{
    if (store_open(cst, NULL, NULL, db_path) != GL_OK ||
        ledger_init(cl, cst, NULL) != GL_OK) {
        _exit(3);
    }
}

/* Applies transfers forever, alone or in groups of 4, and writes the
 * number of each one to fd after its commit returned. */
static void crash_child(int fd, int start)
{
    struct store cst;
    struct ledger cl;
    struct ledger_result r;
    char id[32];
    child_open(&cst, &cl);
    for (int i = start;; i += 4) {
        int group = (i / 4) % 2;
        if (group && ledger_batch_begin(&cl) != GL_OK) {
            _exit(4);
        }
        for (int k = 0; k < 4; k++) {
            snprintf(id, sizeof id, "crash-%d", i + k);
            struct ledger_transfer t = {.id = id, .debit = a_clear,
                                        .credit = a_v2, .amount = 1,
                                        .kind = LEDGER_TK_RELOAD};
            if (ledger_transfer_apply(&cl, &t, &r) != GL_OK) {
                _exit(5);
            }
            if (!group) {
                int n = i + k;
                if (write(fd, &n, sizeof n) != sizeof n) {
                    _exit(6);
                }
            }
        }
        if (group) {
            if (ledger_batch_commit(&cl) != GL_OK) {
                _exit(7);
            }
            for (int k = 0; k < 4; k++) {
                int n = i + k;
                if (write(fd, &n, sizeof n) != sizeof n) {
                    _exit(6);
                }
            }
        }
    }
}

GL_TEST(test_crash_kill9)
{
    struct ledger_report rep;
    int next = 0, reported_total = 0, missing = 0;
    setup("crash");
    srand((unsigned)time(NULL) ^ (unsigned)getpid());
    store_close(&st);
    for (int round = 0; round < 6; round++) {
        int fds[2];
        if (pipe(fds) != 0) {
            GL_CHECK(0);
            break;
        }
        pid_t pid = fork();
        if (pid == 0) {
            close(fds[0]);
            crash_child(fds[1], next);
        }
        close(fds[1]);
        usleep((useconds_t)(20000 + rand() % 180000));
        kill(pid, SIGKILL);
        int status = 0;
        waitpid(pid, &status, 0);
        GL_CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
        /* Every number the child reported must be there. */
        GL_CHECK_INT(GL_OK, store_open(&st, NULL, NULL, db_path));
        int n, max = next - 1, reported = 0;
        while (read(fds[0], &n, sizeof n) == sizeof n) {
            struct ledger_transfer_row row;
            char id[32];
            snprintf(id, sizeof id, "crash-%d", n);
            if (ledger_transfer_get(&lg, id, &row) != GL_OK) {
                missing++;
            }
            reported++;
            max = n > max ? n : max;
        }
        close(fds[0]);
        reported_total += reported;
        GL_CHECK_INT(0, check_findings(&rep));
        for (size_t i = 0; i < rep.n; i++) {
            printf("  finding: %s\n", rep.items[i].text);
        }
        ledger_report_free(&rep);
        /* Transfers and balance agree (committed but unreported ones are
         * allowed: the kill may fall between commit and write). */
        int64_t rows = raw_int("SELECT COUNT(*) FROM transfer"
                               " WHERE id LIKE 'crash-%'");
        GL_CHECK_INT(rows, balance(a_v2));
        GL_CHECK(rows >= reported_total);
        store_close(&st);
        next = ((max + 1 + 3) / 4) * 4 + 4 * 8; /* fresh numbers */
    }
    GL_CHECK_INT(0, missing);
    GL_CHECK(reported_total > 0);
    printf("  crash: %d transfers reported committed over 6 kills\n",
           reported_total);
    GL_CHECK_INT(GL_OK, store_open(&st, NULL, NULL, db_path));
    teardown();
}

GL_TEST(test_two_processes_one_voucher)
{
    struct ledger_report rep;
    int go[2], res[2];
    pid_t pids[2];
    setup("concurrent");
    GL_CHECK_INT(0, pipe(go));
    GL_CHECK_INT(0, pipe(res));
    for (int c = 0; c < 2; c++) {
        pids[c] = fork();
        if (pids[c] == 0) {
            struct store cst;
            struct ledger cl;
            struct ledger_result r;
            char id[32], b;
            int64_t sum = 0;
            close(go[1]);
            close(res[0]);
            child_open(&cst, &cl);
            if (read(go[0], &b, 1) != 1) {
                _exit(8);
            }
            for (int i = 0; i < 40; i++) {
                snprintf(id, sizeof id, "p%d-%d", c, i);
                struct ledger_transfer t = {.id = id, .debit = a_v1,
                                            .credit = a_merch, .amount = 30,
                                            .kind = LEDGER_TK_REDEEM};
                int rc = ledger_transfer_apply(&cl, &t, &r);
                if (rc == GL_OK) {
                    sum += r.amount;
                } else if (rc != GL_LEDGER_FUNDS) {
                    _exit(9);
                }
            }
            if (write(res[1], &sum, sizeof sum) != sizeof sum) {
                _exit(10);
            }
            _exit(0);
        }
    }
    close(go[0]);
    close(res[1]);
    /* Both start together. */
    GL_CHECK_INT(2, write(go[1], "gg", 2));
    close(go[1]);
    int64_t total = 0, s;
    for (int c = 0; c < 2; c++) {
        int status = 0;
        waitpid(pids[c], &status, 0);
        GL_CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    while (read(res[0], &s, sizeof s) == sizeof s) {
        total += s;
    }
    close(res[0]);
    GL_CHECK_INT(990, total); /* 33 x 30 of 1000 */
    GL_CHECK_INT(10, balance(a_v1));
    GL_CHECK_INT(990, balance(a_merch));
    GL_CHECK_INT(33, raw_int("SELECT COUNT(*) FROM transfer"
                             " WHERE id LIKE 'p%'"));
    GL_CHECK_INT(0, check_findings(&rep));
    ledger_report_free(&rep);
    teardown();
}

int main(void)
{
    GL_RUN(test_schema_pragmas);
    GL_RUN(test_transfers_balances);
    GL_RUN(test_idempotent_retries);
    GL_RUN(test_conflicts);
    GL_RUN(test_no_voucher_below_zero);
    GL_RUN(test_offline_overdraft);
    GL_RUN(test_holds);
    GL_RUN(test_group_commit);
    GL_RUN(test_check_finds_corruption);
    GL_RUN(test_disk_full);
    GL_RUN(test_crash_kill9);
    GL_RUN(test_two_processes_one_voucher);
    return GL_TEST_END();
}
