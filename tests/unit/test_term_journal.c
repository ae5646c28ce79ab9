/*
 * test_term_journal.c - gl-term's journal (firmware/term_journal.h): the
 * schema and its version, meta values and blobs, every column surviving a
 * write and a read, the queries the engine depends on (first row owed,
 * last sale, by RRN), the batch totals of docs/host-interface.md 11.8
 * (declined, reversed, pending, balance and other batches count nowhere;
 * voids count in their original's class), and a file that is not a
 * journal.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../gl_test.h"
#include "gl_err.h"
#include "term_journal.h"

static char g_dir[] = "/tmp/gl-tj-XXXXXX";
static char g_path[256];

static void row(struct term_txn *t, const char *kind, const char *state,
                const char *rc, int64_t amount, int64_t approved, int stan)
{
    memset(t, 0, sizeof *t);
    t->batch = 1;
    snprintf(t->kind, sizeof t->kind, "%s", kind);
    snprintf(t->mti, sizeof t->mti, "%s", strcmp(kind, "balance") ? "0200" : "0100");
    snprintf(t->proc, sizeof t->proc, "006000");
    snprintf(t->pan, sizeof t->pan, "9410012345678908");
    snprintf(t->entry, sizeof t->entry, "031");
    snprintf(t->method, sizeof t->method, "barcode");
    t->amount = amount;
    t->approved = approved;
    t->stan = stan;
    snprintf(t->de7, sizeof t->de7, "1201101500");
    snprintf(t->rrn, sizeof t->rrn, "633510%06d", stan);
    snprintf(t->cashier, sizeof t->cashier, "C001");
    snprintf(t->state, sizeof t->state, "%s", state);
    snprintf(t->rc, sizeof t->rc, "%s", rc);
    snprintf(t->created, sizeof t->created, "2026-12-01 10:15:00");
}

GL_TEST(open_and_schema)
{
    struct term_journal j;
    char err[256] = "";
    struct stat st;
    GL_CHECK_INT(GL_OK, tj_open(&j, g_path, err, sizeof err));
    GL_CHECK(stat(g_path, &st) == 0 && (st.st_mode & 077) == 0);
    sqlite3_stmt *s;
    GL_CHECK_INT(SQLITE_OK, sqlite3_prepare_v2(j.db, "PRAGMA user_version", -1, &s, NULL));
    GL_CHECK_INT(SQLITE_ROW, sqlite3_step(s));
    GL_CHECK_INT(1, sqlite3_column_int(s, 0));
    sqlite3_finalize(s);
    GL_CHECK_INT(SQLITE_OK, sqlite3_prepare_v2(j.db, "PRAGMA journal_mode", -1, &s, NULL));
    GL_CHECK_INT(SQLITE_ROW, sqlite3_step(s));
    GL_CHECK_STR("wal", (const char *)sqlite3_column_text(s, 0));
    sqlite3_finalize(s);
    tj_close(&j);
    /* opening again does not migrate twice */
    GL_CHECK_INT(GL_OK, tj_open(&j, g_path, err, sizeof err));
    tj_close(&j);
}

GL_TEST(meta_values)
{
    struct term_journal j;
    char err[256];
    int64_t v = 0;
    uint8_t blob[64], got[64];
    size_t n = 0;
    GL_CHECK_INT(GL_OK, tj_open(&j, g_path, err, sizeof err));
    GL_CHECK_INT(GL_ENOTFOUND, tj_meta_int(&j, "stan", &v));
    GL_CHECK_INT(GL_OK, tj_meta_set_int(&j, "stan", 999999));
    GL_CHECK_INT(GL_OK, tj_meta_int(&j, "stan", &v));
    GL_CHECK_INT(999999, v);
    for (size_t i = 0; i < sizeof blob; i++) {
        blob[i] = (uint8_t)(i * 7);
    }
    GL_CHECK_INT(GL_OK, tj_meta_set_blob(&j, "dukpt", blob, sizeof blob));
    GL_CHECK_INT(GL_ENOSPC, tj_meta_blob(&j, "dukpt", got, 10, &n));
    GL_CHECK_INT(GL_OK, tj_meta_blob(&j, "dukpt", got, sizeof got, &n));
    GL_CHECK_INT(sizeof blob, n);
    GL_CHECK_MEM(blob, got, sizeof blob);
    /* a rolled-back transaction leaves nothing */
    GL_CHECK_INT(GL_OK, tj_begin(&j));
    GL_CHECK_INT(GL_OK, tj_meta_set_int(&j, "stan", 5));
    tj_rollback(&j);
    GL_CHECK_INT(GL_OK, tj_meta_int(&j, "stan", &v));
    GL_CHECK_INT(999999, v);
    tj_close(&j);
}

GL_TEST(rows_round_trip_and_queries)
{
    struct term_journal j;
    struct term_txn a, b, got;
    char err[256];
    GL_CHECK_INT(GL_OK, tj_open(&j, g_path, err, sizeof err));
    row(&a, "redeem", "reverse", "", 5000, -1, 101);
    snprintf(a.rev_mti, sizeof a.rev_mti, "0400");
    a.rev_stan = 102;
    snprintf(a.rev_de7, sizeof a.rev_de7, "1201101530");
    snprintf(a.de48x, sizeof a.de48x, "PC016%s", "0123456789ABCDEF");
    a.has_balance = 1;
    a.balance = -2500;
    a.next_at = 1764500000;
    GL_CHECK_INT(GL_OK, tj_txn_insert(&j, &a));
    GL_CHECK(a.id > 0);
    GL_CHECK_INT(GL_OK, tj_txn_get(&j, a.id, &got));
    GL_CHECK(memcmp(&a, &got, sizeof a) == 0);
    row(&b, "redeem", "advice", "00", 3000, 3000, 103);
    b.offline = 1;
    GL_CHECK_INT(GL_OK, tj_txn_insert(&j, &b));
    /* the oldest row owed, whatever its kind of debt */
    GL_CHECK_INT(GL_OK, tj_txn_first_in(&j, "reverse,advice", &got));
    GL_CHECK_INT(a.id, got.id);
    GL_CHECK_INT(GL_OK, tj_txn_first_in(&j, "advice", &got));
    GL_CHECK_INT(b.id, got.id);
    GL_CHECK_INT(GL_ENOTFOUND, tj_txn_first_in(&j, "pending", &got));
    snprintf(a.state, sizeof a.state, "reversed");
    GL_CHECK_INT(GL_OK, tj_txn_update(&j, &a));
    GL_CHECK_INT(GL_OK, tj_txn_first_in(&j, "reverse,advice", &got));
    GL_CHECK_INT(b.id, got.id);
    GL_CHECK_INT(GL_OK, tj_txn_by_rrn(&j, b.rrn, &got));
    GL_CHECK_INT(b.id, got.id);
    GL_CHECK_INT(GL_ENOTFOUND, tj_txn_by_rrn(&j, "000000000000", &got));
    GL_CHECK_INT(GL_OK, tj_txn_last(&j, &got));
    GL_CHECK_INT(b.id, got.id);
    /* an RRN is unique */
    row(&got, "redeem", "done", "00", 1, 1, 103);
    GL_CHECK(tj_txn_insert(&j, &got) != GL_OK);
    /* a state outside the list is refused by the schema */
    row(&got, "redeem", "maybe", "00", 1, 1, 104);
    GL_CHECK(tj_txn_insert(&j, &got) != GL_OK);
    /* updating a row that does not exist */
    got.id = 999999;
    GL_CHECK_INT(GL_ENOTFOUND, tj_txn_update(&j, &got));
    int64_t n = 0;
    GL_CHECK_INT(GL_OK, tj_count_state(&j, "advice", &n));
    GL_CHECK_INT(1, n);
    tj_close(&j);
}

static int count_cb(void *ctx, const struct term_txn *t)
{
    int *n = ctx;
    (void)t;
    (*n)++;
    return 0;
}

GL_TEST(batch_totals)
{
    struct term_journal j;
    struct term_txn t, o;
    struct term_totals tot;
    char err[256];
    int stan = 200, n = 0;
    unlink(g_path);
    GL_CHECK_INT(GL_OK, tj_open(&j, g_path, err, sizeof err));
#define ADD(kind, state, rc, amt, appr)                                       \
    do {                                                                      \
        row(&t, kind, state, rc, amt, appr, ++stan);                          \
        GL_CHECK_INT(GL_OK, tj_txn_insert(&j, &t));                           \
    } while (0)
    ADD("redeem", "done", "00", 10000, 10000);   /* debit */
    ADD("redeem", "done", "10", 45000, 30000);   /* debit, partial */
    ADD("cashout", "done", "00", 2000, 2000);    /* debit */
    ADD("redeem", "advice", "00", 3000, 3000);   /* offline, not yet sent */
    ADD("redeem", "refused", "00", 900, 900);    /* offline, refused: none */
    ADD("redeem", "done", "51", 9000, -1);       /* declined */
    ADD("redeem", "reversed", "", 7000, -1);     /* reversed */
    ADD("redeem", "pending", "", 8000, -1);      /* unanswered */
    ADD("balance", "done", "00", 0, 0);          /* inquiry */
    ADD("refund", "done", "00", 4000, 4000);     /* credit */
    ADD("activate", "done", "00", 10000, 10000); /* credit */
    o = t;                                       /* the activation */
    ADD("redeem", "done", "00", 5000, 5000);     /* debit, voided below */
    int64_t voided = t.id;
    row(&t, "void", "done", "00", 5000, 5000, ++stan);
    t.orig_id = voided;
    GL_CHECK_INT(GL_OK, tj_txn_insert(&j, &t));  /* debit reversal */
    row(&t, "void", "done", "00", 10000, 10000, ++stan);
    t.orig_id = o.id;
    GL_CHECK_INT(GL_OK, tj_txn_insert(&j, &t));  /* credit reversal */
    row(&t, "redeem", "done", "00", 99999, 99999, ++stan);
    t.batch = 2;                                 /* another batch */
    GL_CHECK_INT(GL_OK, tj_txn_insert(&j, &t));
#undef ADD
    GL_CHECK_INT(GL_OK, tj_totals(&j, 1, &tot));
    GL_CHECK_INT(5, tot.debits_n);     /* 10000 30000 2000 3000 5000 */
    GL_CHECK_INT(50000, tot.debits_amt);
    GL_CHECK_INT(1, tot.debits_rev_n);
    GL_CHECK_INT(5000, tot.debits_rev_amt);
    GL_CHECK_INT(2, tot.credits_n);
    GL_CHECK_INT(14000, tot.credits_amt);
    GL_CHECK_INT(1, tot.credits_rev_n);
    GL_CHECK_INT(10000, tot.credits_rev_amt);
    GL_CHECK_INT(1, tot.inquiries_n);
    GL_CHECK_INT((50000 - 5000) - (14000 - 10000), tot.net);
    GL_CHECK_INT(GL_OK, tj_each_counted(&j, 1, count_cb, &n));
    GL_CHECK_INT(9, n); /* 5 debits (the voided one too), 2 credits, 2 voids */
    GL_CHECK_INT(GL_OK, tj_totals(&j, 3, &tot));
    GL_CHECK_INT(0, tot.debits_n);
    GL_CHECK_INT(0, tot.net);
    tj_close(&j);
}

GL_TEST(not_a_journal)
{
    struct term_journal j;
    char err[256] = "", bad[300];
    snprintf(bad, sizeof bad, "%s/garbage.db", g_dir);
    FILE *f = fopen(bad, "w");
    GL_CHECK(f != NULL);
    if (f == NULL) {
        return;
    }
    for (int i = 0; i < 4096; i++) {
        fputc('x', f);
    }
    fclose(f);
    GL_CHECK(tj_open(&j, bad, err, sizeof err) != GL_OK);
    GL_CHECK(strstr(err, "garbage.db") != NULL);
    snprintf(bad, sizeof bad, "%s/no/such/dir/j.db", g_dir);
    GL_CHECK(tj_open(&j, bad, err, sizeof err) != GL_OK);
}

int main(void)
{
    if (mkdtemp(g_dir) == NULL) {
        return 1;
    }
    snprintf(g_path, sizeof g_path, "%s/term.db", g_dir);
    GL_RUN(open_and_schema);
    GL_RUN(meta_values);
    GL_RUN(rows_round_trip_and_queries);
    GL_RUN(batch_totals);
    GL_RUN(not_a_journal);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", g_dir);
    if (system(cmd) != 0) {
        return 1;
    }
    return GL_TEST_END();
}
