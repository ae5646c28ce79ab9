/*
 * test_registry.c - the catalogue on a real SQLite database: voucher numbers
 * (length, prefix, Luhn, no collision in 100k issued), PIN hashing and
 * lockout, one answer for unknown numbers and wrong PINs, products and
 * merchant-group acceptance, a member's vouchers earliest expiry first.
 */
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../gl_test.h"
#include "crypto.h"
#include "gl_err.h"
#include "ledger.h"
#include "registry.h"
#include "store.h"
#include "voucher_num.h"

static int64_t fake_now = 1700000000;
static int64_t fake_clock(void *ctx)
{
    (void)ctx;
    return fake_now;
}

static const uint8_t pin_key[32] = "0123456789abcdef0123456789abcdef";
static char db_path[256];
static struct store st;
static struct ledger lg;
static struct registry reg;

static void db_remove(const char *path)
{
    char p[300];
    unlink(path);
    snprintf(p, sizeof p, "%s-wal", path);
    unlink(p);
    snprintf(p, sizeof p, "%s-shm", path);
    unlink(p);
}

static void add_product(const char *id, const char *prefix, int type,
                        int days, int partial, const char *group)
{
    struct registry_product p = {.type = type, .validity_days = days,
                                 .partial_ok = partial, .nfaces = 2,
                                 .faces = {10000, 50000}};
    snprintf(p.id, sizeof p.id, "%s", id);
    snprintf(p.issuer, sizeof p.issuer, "Issuer %s", id);
    snprintf(p.brand, sizeof p.brand, "Brand %s", id);
    snprintf(p.prefix, sizeof p.prefix, "%s", prefix);
    if (group != NULL) {
        snprintf(p.groups[0], sizeof p.groups[0], "%s", group);
        p.ngroups = 1;
    }
    GL_CHECK_INT(GL_OK, registry_product_add(&reg, &p));
}

/* Merchants M-DEPT (group dept), M-BOOK (books), products DEPT and BOOK. */
static void setup(const char *name, const struct registry_config *rcfg)
{
    struct ledger_config lcfg = {.clock = fake_clock};
    struct registry_config def = {.pin_key = pin_key,
                                  .pin_key_len = sizeof pin_key};
    snprintf(db_path, sizeof db_path, "/tmp/gl_test_registry_%d_%s.db",
             (int)getpid(), name);
    db_remove(db_path);
    fake_now = 1700000000;
    GL_CHECK_INT(GL_OK, store_open(&st, NULL, NULL, db_path));
    GL_CHECK_INT(GL_OK, ledger_init(&lg, &st, &lcfg));
    GL_CHECK_INT(GL_OK, registry_init(&reg, &lg, rcfg ? rcfg : &def));
    const char *dept[] = {"dept"}, *books[] = {"books", "culture"};
    GL_CHECK_INT(GL_OK,
                 registry_merchant_add(&reg, "M-DEPT", "Dept Store", dept, 1));
    GL_CHECK_INT(GL_OK,
                 registry_merchant_add(&reg, "M-BOOK", "Book Shop", books, 2));
    add_product("DEPT", "627401", REGISTRY_TYPE_DEPARTMENT, 365, 1, "dept");
    add_product("BOOK", "627402", REGISTRY_TYPE_BOOKS, 180, 0, "books");
}

static void teardown(void)
{
    registry_deinit(&reg);
    ledger_deinit(&lg);
    store_close(&st);
    db_remove(db_path);
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

static int issue(const char *product, int64_t face, const char *member,
                 const char *pin, struct registry_voucher *v)
{
    struct registry_issue req = {.product = product, .face = face,
                                 .channel = LEDGER_CH_PHONE_BILL,
                                 .member = member, .pin = pin};
    return registry_voucher_issue(&reg, &req, v);
}

/* ---- numbers ---------------------------------------------------------- */

GL_TEST(test_luhn)
{
    GL_CHECK_INT('3', voucher_num_luhn_digit("7992739871", 10));
    GL_CHECK_INT(1, voucher_num_valid("4111111111111111"));
    GL_CHECK_INT(0, voucher_num_valid("4111111111111112"));
    GL_CHECK_INT(0, voucher_num_valid("411111111111111"));
    GL_CHECK_INT(0, voucher_num_valid("41111111111111a1"));
    GL_CHECK_INT(1, voucher_num_prefix_valid("627401"));
    GL_CHECK_INT(0, voucher_num_prefix_valid("62740x"));
    GL_CHECK_INT(0, voucher_num_prefix_valid(""));
    GL_CHECK_INT(0, voucher_num_prefix_valid("12345678901"));
}

GL_TEST(test_numbers_generated)
{
    struct crypto_rng rng;
    char num[VOUCHER_NUM_LEN + 1];
    int bad = 0, digit_counts[10] = {0};
    GL_CHECK_INT(GL_OK, crypto_rng_init(&rng, "test"));
    for (int i = 0; i < 10000; i++) {
        if (voucher_num_generate(crypto_rng_fill, &rng, "627401", num) !=
                GL_OK ||
            strlen(num) != 16 || strncmp(num, "627401", 6) != 0 ||
            !voucher_num_valid(num)) {
            bad++;
        }
        for (int k = 6; k < 15; k++) {
            digit_counts[num[k] - '0']++;
        }
    }
    GL_CHECK_INT(0, bad);
    /* 90000 random digits: each about 9000; far outside means bias. */
    for (int d = 0; d < 10; d++) {
        GL_CHECK(digit_counts[d] > 8400 && digit_counts[d] < 9600);
    }
    GL_CHECK_INT(GL_EINVAL, voucher_num_generate(crypto_rng_fill, &rng,
                                                 "12a", num));
    GL_CHECK_STR("", num);
    crypto_rng_deinit(&rng);
}

/* A broken generator: always the same bytes. */
static int same_rng(void *ctx, unsigned char *buf, size_t len)
{
    (void)ctx;
    memset(buf, 7, len);
    return 0;
}

GL_TEST(test_collision_retry)
{
    struct registry_config cfg = {.pin_key = pin_key,
                                  .pin_key_len = sizeof pin_key,
                                  .f_rng = same_rng};
    struct registry_voucher v;
    setup("collide", &cfg);
    GL_CHECK_INT(GL_OK, issue("DEPT", 10000, NULL, NULL, &v));
    GL_CHECK_STR("6274017777777772", v.number);
    GL_CHECK_INT(GL_REG_NUMSPACE, issue("DEPT", 10000, NULL, NULL, &v));
    GL_CHECK_INT(16, reg.collisions);
    GL_CHECK_INT(1, raw_int("SELECT COUNT(*) FROM voucher"));
    teardown();
}

GL_TEST(test_no_collision_100k)
{
    struct registry_voucher v;
    int bad = 0, failed = 0;
    setup("100k", NULL);
    GL_CHECK_INT(GL_OK, ledger_batch_begin(&lg));
    for (int i = 0; i < 100000; i++) {
        if (issue("DEPT", 10000, NULL, NULL, &v) != GL_OK) {
            failed++;
            continue;
        }
        if (strlen(v.number) != 16 || strncmp(v.number, "627401", 6) != 0 ||
            !voucher_num_valid(v.number)) {
            bad++;
        }
    }
    GL_CHECK_INT(GL_OK, ledger_batch_commit(&lg));
    GL_CHECK_INT(0, failed);
    GL_CHECK_INT(0, bad);
    GL_CHECK_INT(100000, raw_int("SELECT COUNT(DISTINCT number) FROM voucher"));
    GL_CHECK_INT(100000, raw_int("SELECT COUNT(*) FROM voucher"));
    /* 9 random digits: about 5 collisions expected among 100k draws. */
    printf("  100k: %lld numbers drawn again\n", (long long)reg.collisions);
    GL_CHECK_INT(-1000000000LL, raw_int("SELECT balance FROM account"
                                        " WHERE ref = 'phone_bill'"));
    teardown();
}

/* ---- issuing, PINs ---------------------------------------------------- */

GL_TEST(test_issue_one_transaction)
{
    struct registry_voucher v;
    struct ledger_report rep;
    setup("issue", NULL);
    GL_CHECK_INT(GL_OK, issue("BOOK", 50000, "+821012345678", NULL, &v));
    GL_CHECK_INT(50000, v.balance);
    GL_CHECK_INT(50000, v.available);
    GL_CHECK_STR("+821012345678", v.member_phone);
    GL_CHECK_INT(fake_now + 180 * 86400LL, v.expires);
    GL_CHECK_INT(0, v.has_pin);
    GL_CHECK_INT(REGISTRY_V_ACTIVE, v.status);
    /* A face the product does not offer: nothing at all is created. */
    GL_CHECK_INT(GL_EINVAL, issue("BOOK", 12345, "+821099999999", NULL, &v));
    GL_CHECK_INT(GL_ENOTFOUND, issue("NOPE", 10000, NULL, NULL, &v));
    GL_CHECK_INT(1, raw_int("SELECT COUNT(*) FROM voucher"));
    GL_CHECK_INT(1, raw_int("SELECT COUNT(*) FROM member"));
    GL_CHECK_INT(1, raw_int("SELECT COUNT(*) FROM transfer"));
    GL_CHECK_INT(GL_OK, ledger_check(&lg, fake_now, &rep));
    GL_CHECK_INT(0, rep.n);
    ledger_report_free(&rep);
    /* An issue id used twice. */
    struct registry_issue req = {.product = "DEPT", .face = 10000,
                                 .xfer_id = "order-77"};
    GL_CHECK_INT(GL_OK, registry_voucher_issue(&reg, &req, &v));
    GL_CHECK_INT(GL_EEXIST, registry_voucher_issue(&reg, &req, &v));
    GL_CHECK_INT(2, raw_int("SELECT COUNT(*) FROM voucher"));
    teardown();
}

GL_TEST(test_pin_hash_and_lockout)
{
    struct registry_voucher v, a;
    uint8_t expect[CRYPTO_HMAC_LEN];
    char sql[160], number[17];
    setup("pin", NULL);
    GL_CHECK_INT(GL_EINVAL, issue("DEPT", 10000, NULL, "12", &v));
    GL_CHECK_INT(GL_OK, issue("DEPT", 10000, NULL, "4321", &v));
    GL_CHECK_INT(1, v.has_pin);
    snprintf(number, sizeof number, "%s", v.number);
    /* Stored: HMAC-SHA-256(key, number || PIN), nothing else. */
    GL_CHECK_INT(GL_OK, crypto_hmac_sha256(pin_key, sizeof pin_key, number,
                                           16, "4321", 4, expect));
    sqlite3 *db = NULL;
    sqlite3_stmt *s = NULL;
    sqlite3_open(db_path, &db);
    snprintf(sql, sizeof sql, "SELECT pin_hash FROM voucher WHERE number='%s'",
             number);
    sqlite3_prepare_v2(db, sql, -1, &s, NULL);
    GL_CHECK_INT(SQLITE_ROW, sqlite3_step(s));
    GL_CHECK_INT(32, sqlite3_column_bytes(s, 0));
    GL_CHECK_MEM(expect, sqlite3_column_blob(s, 0), 32);
    sqlite3_finalize(s);
    sqlite3_close(db);

    GL_CHECK_INT(GL_OK, registry_voucher_authorize(&reg, number, "4321",
                                                   "M-DEPT", &a));
    GL_CHECK_INT(10000, a.available);
    /* Two wrong, then right: the counter resets. */
    GL_CHECK_INT(GL_REG_AUTH,
                 registry_voucher_authorize(&reg, number, "0000", NULL, &a));
    GL_CHECK_INT(GL_REG_AUTH,
                 registry_voucher_authorize(&reg, number, "1111", NULL, &a));
    registry_voucher_get(&reg, number, &a);
    GL_CHECK_INT(2, a.pin_tries);
    GL_CHECK_INT(GL_OK,
                 registry_voucher_authorize(&reg, number, "4321", NULL, &a));
    registry_voucher_get(&reg, number, &a);
    GL_CHECK_INT(0, a.pin_tries);
    /* No PIN given: refused, not counted. */
    GL_CHECK_INT(GL_REG_AUTH,
                 registry_voucher_authorize(&reg, number, NULL, NULL, &a));
    registry_voucher_get(&reg, number, &a);
    GL_CHECK_INT(0, a.pin_tries);
    /* Three wrong: locked, and the right PIN gets the same answer. */
    for (int i = 0; i < 3; i++) {
        GL_CHECK_INT(GL_REG_AUTH, registry_voucher_authorize(&reg, number,
                                                             "9999", NULL, &a));
    }
    GL_CHECK_INT(GL_REG_AUTH,
                 registry_voucher_authorize(&reg, number, "4321", NULL, &a));
    registry_voucher_get(&reg, number, &a);
    GL_CHECK_INT(3, a.pin_tries);
    /* Inside a group whose operation is refused, the count still sticks. */
    GL_CHECK_INT(GL_OK, registry_voucher_set_status(&reg, number,
                                                    REGISTRY_V_ACTIVE));
    GL_CHECK_INT(GL_OK, ledger_batch_begin(&lg));
    GL_CHECK_INT(GL_REG_AUTH,
                 registry_voucher_authorize(&reg, number, "5555", NULL, &a));
    GL_CHECK_INT(GL_OK, ledger_batch_commit(&lg));
    registry_voucher_get(&reg, number, &a);
    GL_CHECK_INT(1, a.pin_tries);
    GL_CHECK_INT(GL_OK,
                 registry_voucher_authorize(&reg, number, "4321", NULL, &a));
    teardown();
}

GL_TEST(test_same_answer_unknown_and_wrong_pin)
{
    struct registry_voucher v, a;
    char unknown[17];
    setup("enum", NULL);
    GL_CHECK_INT(GL_OK, issue("DEPT", 10000, NULL, "2468", &v));
    snprintf(unknown, sizeof unknown, "%s", v.number);
    unknown[10] = unknown[10] == '0' ? '1' : '0';
    int wrong = registry_voucher_authorize(&reg, v.number, "1357", NULL, &a);
    int unk = registry_voucher_authorize(&reg, unknown, "1357", NULL, &a);
    int unk_nopin = registry_voucher_authorize(&reg, unknown, NULL, NULL, &a);
    GL_CHECK_INT(GL_REG_AUTH, wrong);
    GL_CHECK_INT(wrong, unk);
    GL_CHECK_INT(wrong, unk_nopin);
    GL_CHECK_STR(gl_strerror(wrong), gl_strerror(unk));
    /* Status is told only to the right PIN. */
    GL_CHECK_INT(GL_OK, registry_voucher_set_status(&reg, v.number,
                                                    REGISTRY_V_FROZEN));
    GL_CHECK_INT(GL_REG_AUTH,
                 registry_voucher_authorize(&reg, v.number, "1357", NULL, &a));
    GL_CHECK_INT(GL_REG_FROZEN,
                 registry_voucher_authorize(&reg, v.number, "2468", NULL, &a));
    GL_CHECK_INT(GL_OK, registry_voucher_set_status(&reg, v.number,
                                                    REGISTRY_V_ACTIVE));
    GL_CHECK_INT(GL_ENOTFOUND, registry_voucher_set_status(&reg, unknown,
                                                           REGISTRY_V_FROZEN));
    /* Expiry. */
    fake_now = v.expires;
    GL_CHECK_INT(GL_REG_EXPIRED,
                 registry_voucher_authorize(&reg, v.number, "2468", NULL, &a));
    teardown();
}

/* ---- products, acceptance, members ------------------------------------ */

GL_TEST(test_products_and_acceptance)
{
    struct registry_product p;
    struct registry_voucher v, a;
    setup("accept", NULL);
    GL_CHECK_INT(GL_OK, registry_product_get(&reg, "BOOK", &p));
    GL_CHECK_STR("Issuer BOOK", p.issuer);
    GL_CHECK_INT(REGISTRY_TYPE_BOOKS, p.type);
    GL_CHECK_STR("books", registry_type_name(p.type));
    GL_CHECK_INT(REGISTRY_TYPE_CARRIER, registry_type_parse("carrier"));
    GL_CHECK_INT(GL_EINVAL, registry_type_parse("toys"));
    GL_CHECK_INT(2, p.nfaces);
    GL_CHECK_INT(10000, p.faces[0]);
    GL_CHECK_INT(50000, p.faces[1]);
    GL_CHECK_INT(180, p.validity_days);
    GL_CHECK_INT(0, p.partial_ok);
    GL_CHECK_INT(1, p.ngroups);
    GL_CHECK_STR("books", p.groups[0]);
    GL_CHECK_INT(1, registry_product_accepted(&reg, "BOOK", "M-BOOK"));
    GL_CHECK_INT(0, registry_product_accepted(&reg, "BOOK", "M-DEPT"));
    GL_CHECK_INT(1, registry_product_accepted(&reg, "DEPT", "M-DEPT"));
    GL_CHECK_INT(0, registry_product_accepted(&reg, "DEPT", "M-BOOK"));
    /* A product accepted by two groups. */
    struct registry_product q = {.id = "CULT", .issuer = "Culture Co",
                                 .brand = "Culture", .prefix = "627403",
                                 .type = REGISTRY_TYPE_CULTURE,
                                 .validity_days = 90, .nfaces = 1,
                                 .faces = {5000},
                                 .groups = {"culture", "dept"},
                                 .ngroups = 2};
    GL_CHECK_INT(GL_OK, registry_product_add(&reg, &q));
    GL_CHECK_INT(1, registry_product_accepted(&reg, "CULT", "M-BOOK"));
    GL_CHECK_INT(1, registry_product_accepted(&reg, "CULT", "M-DEPT"));
    GL_CHECK_INT(GL_EEXIST, registry_product_add(&reg, &q));
    snprintf(q.id, sizeof q.id, "BAD");
    snprintf(q.prefix, sizeof q.prefix, "62x");
    GL_CHECK_INT(GL_EINVAL, registry_product_add(&reg, &q));
    /* At the counter. */
    GL_CHECK_INT(GL_OK, issue("BOOK", 10000, NULL, NULL, &v));
    GL_CHECK_INT(GL_OK,
                 registry_voucher_authorize(&reg, v.number, NULL, "M-BOOK", &a));
    GL_CHECK_INT(GL_REG_NOTACCEPTED,
                 registry_voucher_authorize(&reg, v.number, NULL, "M-DEPT", &a));
    /* Merchants, stores, terminals. */
    struct registry_merchant m;
    GL_CHECK_INT(GL_OK, registry_merchant_get(&reg, "M-BOOK", &m));
    GL_CHECK_STR("books,culture", m.groups);
    GL_CHECK(m.account > 0);
    GL_CHECK_INT(GL_EEXIST, registry_merchant_add(&reg, "M-BOOK", "x", NULL, 0));
    int64_t sid = 0;
    GL_CHECK_INT(GL_OK, registry_store_add(&reg, "M-BOOK", "S01", "Gangnam",
                                           &sid));
    GL_CHECK(sid > 0);
    GL_CHECK_INT(GL_ENOTFOUND,
                 registry_store_add(&reg, "M-NONE", "S01", "x", NULL));
    struct registry_terminal t = {.id = "T0000001", .merchant = "M-BOOK",
                                  .store = "S01", .cert_cn = "T0000001",
                                  .key_id = "BDK1-0001"};
    GL_CHECK_INT(GL_OK, registry_terminal_add(&reg, &t));
    struct registry_terminal t2;
    GL_CHECK_INT(GL_OK, registry_terminal_get(&reg, "T0000001", &t2));
    GL_CHECK_STR("S01", t2.store);
    GL_CHECK_STR("BDK1-0001", t2.key_id);
    GL_CHECK_INT(1, t2.batch_no);
    GL_CHECK_INT(GL_OK, registry_terminal_set_batch(&reg, "T0000001", 2));
    GL_CHECK_INT(GL_OK, registry_terminal_set_status(&reg, "T0000001",
                                                     REGISTRY_T_DISABLED));
    GL_CHECK_INT(GL_OK, registry_terminal_get(&reg, "T0000001", &t2));
    GL_CHECK_INT(2, t2.batch_no);
    GL_CHECK_INT(REGISTRY_T_DISABLED, t2.status);
    snprintf(t.store, sizeof t.store, "S99");
    snprintf(t.id, sizeof t.id, "T0000002");
    GL_CHECK_INT(GL_ENOTFOUND, registry_terminal_add(&reg, &t));
    teardown();
}

struct order {
    char numbers[8][17];
    int n;
};

static int collect(void *ctx, const struct registry_voucher *v)
{
    struct order *o = ctx;
    if (o->n < 8) {
        snprintf(o->numbers[o->n++], 17, "%s", v->number);
    }
    return 0;
}

GL_TEST(test_member_vouchers_earliest_expiry)
{
    struct registry_voucher v30, v10, v20, vbook, vfrozen, vspent, vother;
    struct ledger_result r;
    struct order o = {0};
    int64_t mid = 0, mid2 = 0, merch = 0;
    const char *phone = "+821055501234";
    setup("member", NULL);
    add_product("D30", "627410", REGISTRY_TYPE_DEPARTMENT, 30, 1, "dept");
    add_product("D10", "627411", REGISTRY_TYPE_DEPARTMENT, 10, 1, "dept");
    add_product("D20", "627412", REGISTRY_TYPE_CARRIER, 20, 1, "dept");
    GL_CHECK_INT(GL_OK, issue("D30", 10000, phone, NULL, &v30));
    GL_CHECK_INT(GL_OK, issue("D10", 10000, phone, NULL, &v10));
    GL_CHECK_INT(GL_OK, issue("D20", 10000, phone, NULL, &v20));
    GL_CHECK_INT(GL_OK, issue("BOOK", 10000, phone, NULL, &vbook));
    GL_CHECK_INT(GL_OK, issue("D10", 10000, phone, NULL, &vfrozen));
    GL_CHECK_INT(GL_OK, issue("D10", 10000, phone, NULL, &vspent));
    GL_CHECK_INT(GL_OK, issue("D10", 10000, "+821000000000", NULL, &vother));
    GL_CHECK_INT(GL_OK, registry_voucher_set_status(&reg, vfrozen.number,
                                                    REGISTRY_V_FROZEN));
    GL_CHECK_INT(GL_OK, ledger_account_find(&lg, LEDGER_ACC_MERCHANT,
                                            "M-DEPT", &merch));
    struct ledger_transfer t = {.id = "spend", .debit = vspent.account,
                                .credit = merch, .amount = 10000,
                                .kind = LEDGER_TK_REDEEM};
    GL_CHECK_INT(GL_OK, ledger_transfer_apply(&lg, &t, &r));
    GL_CHECK_INT(GL_OK, registry_member_find(&reg, phone, &mid));
    GL_CHECK_INT(GL_OK, registry_member_card_add(&reg, phone,
                                                 "9410123412341234",
                                                 REGISTRY_CARD_MEMBERSHIP));
    GL_CHECK_INT(GL_OK, registry_member_by_card(&reg, "9410123412341234",
                                                &mid2));
    GL_CHECK_INT(mid, mid2);
    GL_CHECK_INT(GL_OK, registry_vouchers_for_member(&reg, mid, "M-DEPT",
                                                     collect, &o));
    GL_CHECK_INT(3, o.n);
    GL_CHECK_STR(v10.number, o.numbers[0]);
    GL_CHECK_STR(v20.number, o.numbers[1]);
    GL_CHECK_STR(v30.number, o.numbers[2]);
    memset(&o, 0, sizeof o);
    GL_CHECK_INT(GL_OK, registry_vouchers_for_member(&reg, mid, "M-BOOK",
                                                     collect, &o));
    GL_CHECK_INT(1, o.n);
    GL_CHECK_STR(vbook.number, o.numbers[0]);
    /* After 15 days the 10-day voucher drops out. */
    fake_now += 15 * 86400;
    memset(&o, 0, sizeof o);
    GL_CHECK_INT(GL_OK, registry_vouchers_for_member(&reg, mid, "M-DEPT",
                                                     collect, &o));
    GL_CHECK_INT(2, o.n);
    GL_CHECK_STR(v20.number, o.numbers[0]);
    GL_CHECK_STR(v30.number, o.numbers[1]);
    teardown();
}

int main(void)
{
    GL_RUN(test_luhn);
    GL_RUN(test_numbers_generated);
    GL_RUN(test_collision_retry);
    GL_RUN(test_no_collision_100k);
    GL_RUN(test_issue_one_transaction);
    GL_RUN(test_pin_hash_and_lockout);
    GL_RUN(test_same_answer_unknown_and_wrong_pin);
    GL_RUN(test_products_and_acceptance);
    GL_RUN(test_member_vouchers_earliest_expiry);
    return GL_TEST_END();
}
