/*
 * test_term_print.c - gl-term's cashier messages, receipts and batch
 * reports.  Receipts and reports are encoded to ESC/POS, decoded back to
 * text and compared with golden files (tests/golden/term_receipt_*.txt,
 * tests/golden/term_report_x.txt); the lines that matter (the amount left
 * to collect, decline messages, vouchers drawn, offline and reprint marks)
 * are asserted as exact text as well, no full voucher number may appear
 * anywhere, and a receipt allocates nothing.  The report runs over a real
 * journal (tj_open, tj_txn_insert) holding approved, partial, declined,
 * voided, reversed, offline and refused rows of several cashiers and
 * methods; its figures are asserted as numbers, against tj_totals(), and
 * as CSV.
 *
 * GL_UPDATE_GOLDEN=1 in the environment rewrites the golden files.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../gl_test.h"
#include "escpos.h"
#include "escpos_decode.h"
#include "gl_err.h"
#include "malloc_count.h"
#include "term_journal.h"
#include "term_msg.h"
#include "term_print.h"

#define VOUCHER "9410010000008903" /* a 16-digit voucher number */
#define VOUCHER_MASKED "941001******8903"
#define CARD "6274870000123456"
#define CARD_MASKED "627487******3456"

static uint8_t g_buf[16384];
static struct escpos_enc g_enc;
static char g_dir[64];

static const struct term_ident ID_KO = {
    "GLT00001",
    "GLSTORE00000001",
    "기프트링크 시청점\n서울시 중구 세종대로 110",
    TERM_LANG_KO,
    0,
};
static const struct term_ident ID_EN = {
    "GLT00001", "GLSTORE00000001", "GIFTLINK CITY HALL", TERM_LANG_EN, 0,
};

/* ---- helpers ------------------------------------------------------------ */

static char *read_text(const char *path)
{
    static char buf[32768];
    size_t n;
    FILE *f = fopen(path, "rb");

    if (f == NULL) {
        return NULL;
    }
    n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

/* Compares text with tests/golden/<name>.txt (rewritten first with
 * GL_UPDATE_GOLDEN=1), printing the first line that differs. */
static void check_golden(const char *name, const char *text)
{
    char path[128];
    const char *golden;

    snprintf(path, sizeof path, "tests/golden/%s.txt", name);
    if (getenv("GL_UPDATE_GOLDEN") != NULL) {
        FILE *f = fopen(path, "wb");
        if (f != NULL) {
            fputs(text, f);
            fclose(f);
        }
    }
    golden = read_text(path);
    GL_CHECK(golden != NULL);
    if (golden == NULL) {
        return;
    }
    if (strcmp(golden, text) != 0) {
        const char *g = golden, *t = text;
        int line = 1;
        while (*g != '\0' && *g == *t) {
            line += *g == '\n';
            g++;
            t++;
        }
        printf("  %s differs at line %d\n", path, line);
    }
    GL_CHECK(strcmp(golden, text) == 0);
}

/* Decodes what the encoder holds into out; GL_OK or the first error. */
static int decode(char *out, size_t cap)
{
    size_t len = 0, bad = 0;
    int rc = escpos_enc_finish(&g_enc, &len);

    out[0] = '\0';
    if (rc != GL_OK) {
        return rc;
    }
    return escpos_decode(g_buf, len, out, cap, &bad);
}

/* 1 when text holds a run of 13 or more digits (an unmasked number). */
static int has_long_digit_run(const char *text)
{
    int run = 0;
    for (; *text != '\0'; text++) {
        run = (*text >= '0' && *text <= '9') ? run + 1 : 0;
        if (run >= 13) {
            return 1;
        }
    }
    return 0;
}

static void set(char *dst, size_t cap, const char *s)
{
    snprintf(dst, cap, "%s", s);
}
#define SET(field, s) set((field), sizeof(field), (s))

/* A journal row as the terminal writes it before sending: batch 1,
 * cashier 07, no answer yet. */
static void txn_new(struct term_txn *t, const char *kind, const char *method,
                    const char *pan, int64_t amount, int stan)
{
    static const struct {
        const char *kind, *mti, *proc;
    } kinds[] = {
        {"redeem", "0200", "006000"},   {"balance", "0100", "316000"},
        {"refund", "0200", "200060"},   {"void", "0200", "026000"},
        {"activate", "0200", "900060"}, {"reload", "0200", "210060"},
        {"cashout", "0200", "616000"},
    };
    static const struct {
        const char *method, *entry;
    } methods[] = {
        {"barcode", "031"},   {"card", "021"},       {"contactless", "071"},
        {"nfc_phone", "811"}, {"irda_phone", "821"}, {"keyed", "011"},
    };

    memset(t, 0, sizeof *t);
    t->batch = 1;
    SET(t->kind, kind);
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        if (strcmp(kind, kinds[i].kind) == 0) {
            SET(t->mti, kinds[i].mti);
            SET(t->proc, kinds[i].proc);
        }
    }
    SET(t->method, method);
    for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++) {
        if (strcmp(method, methods[i].method) == 0) {
            SET(t->entry, methods[i].entry);
        }
    }
    SET(t->pan, pan);
    t->amount = amount;
    t->approved = -1;
    t->stan = stan;
    SET(t->de7, "1125101500");
    SET(t->de12, "101500");
    SET(t->de13, "1125");
    snprintf(t->rrn, sizeof t->rrn, "4330101%05d", stan);
    SET(t->cashier, "07");
    SET(t->state, "pending");
    t->balance = INT64_MIN;
    SET(t->created, "2024-11-25 10:15:00");
}

/* The host's answer: state done, rc, approved amount (-1: none), approval
 * code, balance (INT64_MIN: none). */
static void txn_answer(struct term_txn *t, const char *rc, int64_t approved,
                       const char *auth, int64_t balance)
{
    SET(t->state, "done");
    SET(t->rc, rc);
    t->approved = approved;
    SET(t->auth, auth);
    t->balance = balance;
    t->has_balance = balance != INT64_MIN;
    SET(t->answered, "2024-11-25 10:15:02");
}

/* Renders one receipt and decodes it into out; checks that it encodes,
 * allocates nothing and shows no full number. */
static void receipt(const struct term_ident *id, const struct term_txn *t,
                    enum term_copy copy, int reprint, char *out, size_t cap)
{
    long allocs;
    int rc;

    escpos_enc_reset(&g_enc);
    malloc_count_start();
    rc = term_receipt(&g_enc, id, t, copy, reprint);
    allocs = malloc_count_stop();
    GL_CHECK_INT(GL_OK, rc);
    GL_CHECK_INT(0, allocs);
    GL_CHECK_INT(GL_OK, decode(out, cap));
    GL_CHECK(t->pan[0] == '\0' || strstr(out, t->pan) == NULL);
    GL_CHECK(!has_long_digit_run(out));
}

/* ---- messages ------------------------------------------------------------ */

/* docs/host-interface.md section 6, copied here so that the test pins the
 * texts of the specification, not of the code. */
static const struct {
    const char *rc, *en, *ko;
} SPEC_RC[] = {
    {"00", "Approved", "승인되었습니다"},
    {"10", "Partly approved: collect the rest another way",
     "부분 승인: 나머지 금액은 다른 결제수단으로 받으세요"},
    {"05", "Declined", "거절되었습니다"},
    {"12", "Transaction not allowed", "처리할 수 없는 거래입니다"},
    {"13", "Invalid amount", "금액이 올바르지 않습니다"},
    {"14", "Invalid number or PIN", "번호 또는 비밀번호가 올바르지 않습니다"},
    {"25", "Original transaction not found", "원거래를 찾을 수 없습니다"},
    {"30", "System error: call support", "시스템 오류: 고객센터에 문의하세요"},
    {"51", "Insufficient balance", "잔액이 부족합니다"},
    {"54", "Expired", "유효기간이 지났습니다"},
    {"55", "Wrong PIN: ask again", "비밀번호가 틀렸습니다"},
    {"57", "Not allowed for this voucher",
     "이 상품권으로는 할 수 없는 거래입니다"},
    {"58", "Not accepted at this store", "이 가맹점에서는 사용할 수 없습니다"},
    {"61", "Over the limit", "한도를 초과했습니다"},
    {"62", "Frozen: customer must call the issuer",
     "사용이 정지되었습니다: 발행사에 문의하세요"},
    {"75", "PIN locked: too many wrong PINs",
     "비밀번호 오류 횟수 초과로 잠겼습니다"},
    {"78", "Not activated", "활성화되지 않은 상품권입니다"},
    {"91", "Host unavailable: try again",
     "승인 서버에 연결할 수 없습니다. 다시 시도하세요"},
    {"94", "Duplicate transaction", "중복 거래입니다"},
    {"95", "Close out of balance: uploading",
     "정산 불일치: 거래 내역을 전송합니다"},
    {"96", "System error: try again", "시스템 오류: 다시 시도하세요"},
};

/* 1 when s goes through the encoder (printable, within KS X 1001). */
static int printable(const char *s)
{
    size_t len = 0;
    escpos_enc_reset(&g_enc);
    escpos_line(&g_enc, s);
    return escpos_enc_finish(&g_enc, &len) == GL_OK && len > 0;
}

GL_TEST(messages)
{
    static const char *kinds[] = {"redeem",   "balance", "refund", "void",
                                  "activate", "reload",  "cashout"};
    static const char *methods[] = {"barcode",   "card",       "contactless",
                                    "nfc_phone", "irda_phone", "keyed"};
    enum term_lang lang = TERM_LANG_EN;
    int bad = 0;

    GL_CHECK_INT(GL_OK, term_lang_parse("ko", &lang));
    GL_CHECK_INT(TERM_LANG_KO, lang);
    GL_CHECK_INT(GL_OK, term_lang_parse("en", &lang));
    GL_CHECK_INT(TERM_LANG_EN, lang);
    GL_CHECK_INT(GL_EINVAL, term_lang_parse("KO", &lang));
    GL_CHECK_INT(GL_EINVAL, term_lang_parse("", &lang));
    GL_CHECK_INT(GL_EINVAL, term_lang_parse(NULL, &lang));
    GL_CHECK_INT(TERM_LANG_EN, lang); /* unchanged by the refusals */

    for (size_t i = 0; i < sizeof SPEC_RC / sizeof SPEC_RC[0]; i++) {
        GL_CHECK_STR(SPEC_RC[i].en, term_msg_rc(SPEC_RC[i].rc, TERM_LANG_EN));
        GL_CHECK_STR(SPEC_RC[i].ko, term_msg_rc(SPEC_RC[i].rc, TERM_LANG_KO));
        bad += !printable(SPEC_RC[i].ko);
    }
    /* a code section 6 does not list: the generic decline */
    GL_CHECK_STR("Declined", term_msg_rc("99", TERM_LANG_EN));
    GL_CHECK_STR("거절되었습니다", term_msg_rc("99", TERM_LANG_KO));
    GL_CHECK_STR("Declined", term_msg_rc("", TERM_LANG_EN));
    GL_CHECK_STR("거절되었습니다", term_msg_rc(NULL, TERM_LANG_KO));

    GL_CHECK_STR("No answer from host: transaction cancelled",
                 term_msg(TERM_MSG_NO_ANSWER, TERM_LANG_EN));
    GL_CHECK_STR("승인 서버 응답 없음: 거래가 취소되었습니다",
                 term_msg(TERM_MSG_NO_ANSWER, TERM_LANG_KO));
    GL_CHECK_STR("Approved offline",
                 term_msg(TERM_MSG_OFFLINE_APPROVED, TERM_LANG_EN));
    GL_CHECK_STR("오프라인 승인",
                 term_msg(TERM_MSG_OFFLINE_APPROVED, TERM_LANG_KO));
    GL_CHECK_STR("Close out of balance: uploading",
                 term_msg(TERM_MSG_CLOSE_UPLOAD, TERM_LANG_EN));
    GL_CHECK_STR(term_msg_rc("95", TERM_LANG_KO),
                 term_msg(TERM_MSG_CLOSE_UPLOAD, TERM_LANG_KO));
    GL_CHECK_STR("Close failed: call support",
                 term_msg(TERM_MSG_CLOSE_FAILED, TERM_LANG_EN));
    GL_CHECK_STR("PIN/MAC keys used up: call support",
                 term_msg(TERM_MSG_KEYS_EXHAUSTED, TERM_LANG_EN));

    /* every text exists in both languages and can be printed */
    for (int id = 0; id < TERM_MSG_COUNT_; id++) {
        const char *en = term_msg((enum term_msg_id)id, TERM_LANG_EN);
        const char *ko = term_msg((enum term_msg_id)id, TERM_LANG_KO);
        if (en == NULL || ko == NULL || en[0] == '\0' || ko[0] == '\0' ||
            strcmp(en, ko) == 0 || !printable(en) || !printable(ko)) {
            printf("  message %d: \"%s\" / \"%s\"\n", id, en ? en : "",
                   ko ? ko : "");
            bad++;
        }
    }
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        bad += !printable(term_msg_kind(kinds[i], TERM_LANG_KO));
        bad += strcmp(term_msg_kind(kinds[i], TERM_LANG_EN), kinds[i]) == 0;
    }
    for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++) {
        bad += !printable(term_msg_method(methods[i], TERM_LANG_KO));
        bad +=
            strcmp(term_msg_method(methods[i], TERM_LANG_EN), methods[i]) == 0;
    }
    GL_CHECK_INT(0, bad);
    GL_CHECK_STR("Redemption", term_msg_kind("redeem", TERM_LANG_EN));
    GL_CHECK_STR("상품권 사용", term_msg_kind("redeem", TERM_LANG_KO));
    GL_CHECK_STR("hold", term_msg_kind("hold", TERM_LANG_KO));
    GL_CHECK_STR("", term_msg_method(NULL, TERM_LANG_KO));
    escpos_enc_reset(&g_enc);
}

/* ---- receipts ------------------------------------------------------------ */

GL_TEST(receipt_approved_barcode)
{
    static char out[8192];
    struct term_txn t;

    txn_new(&t, "redeem", "barcode", VOUCHER, 25000, 123);
    txn_answer(&t, "00", 25000, "A12345", 25000);
    receipt(&ID_KO, &t, TERM_COPY_MERCHANT, 0, out, sizeof out);
    check_golden("term_receipt_approved", out);
    GL_CHECK(strstr(out, "상품권 번호               " VOUCHER_MASKED "\n"));
    GL_CHECK(strstr(out, "<b>승인 금액                         25,000원\n"));
    GL_CHECK(strstr(out, "</b>잔액                              25,000원\n"));
    GL_CHECK(strstr(out, "<b>승인되었습니다\n"));
    GL_CHECK(strstr(out, "[CODE128 433010100123]\n[FEED 3]\n[CUT partial]"));
    GL_CHECK(strstr(out, "재발행") == NULL);
    GL_CHECK(strstr(out, "추가 결제 금액") == NULL);
}

GL_TEST(receipt_partial)
{
    static char out[8192];
    struct term_txn t;

    /* docs/host-interface.md 14, 0210 partial approval: 25,000 asked,
     * 20,000 approved, 5,000 to collect by another tender */
    txn_new(&t, "redeem", "nfc_phone", VOUCHER, 25000, 124);
    txn_answer(&t, "10", 20000, "A12346", 0);
    receipt(&ID_KO, &t, TERM_COPY_CUSTOMER, 0, out, sizeof out);
    check_golden("term_receipt_partial", out);
    GL_CHECK(strstr(out, "요청 금액                         25,000원\n"));
    GL_CHECK(strstr(out, "<b>승인 금액                         20,000원\n"
                         "<size 1x2>추가 결제 금액                     "
                         "5,000원\n<size 1x1></b>"));
    GL_CHECK(
        strstr(out, "부분 승인: 나머지 금액은 다른 결제수단으로 받으세요"));
    GL_CHECK(strstr(out, "잔액                                   0원\n"));

    receipt(&ID_EN, &t, TERM_COPY_CUSTOMER, 0, out, sizeof out);
    GL_CHECK(strstr(out, "<size 1x2>Left to collect                  "
                         "5,000 KRW\n"));
    GL_CHECK(strstr(out, "<b>Partly approved: collect the rest another way"));
}

GL_TEST(receipt_decline)
{
    static char out[8192];
    struct term_txn t;

    txn_new(&t, "redeem", "barcode", VOUCHER, 30000, 125);
    txn_answer(&t, "51", -1, "", 12000);
    receipt(&ID_KO, &t, TERM_COPY_MERCHANT, 0, out, sizeof out);
    check_golden("term_receipt_decline_ko", out);
    GL_CHECK(strstr(out, "<b>잔액이 부족합니다\n"));
    GL_CHECK(strstr(out, "응답 코드                               51\n"));
    GL_CHECK(strstr(out, "승인 금액") == NULL);
    GL_CHECK(strstr(out, "승인 번호") == NULL);

    receipt(&ID_EN, &t, TERM_COPY_MERCHANT, 0, out, sizeof out);
    check_golden("term_receipt_decline_en", out);
    GL_CHECK(strstr(out, "<b>Insufficient balance\n"));
    GL_CHECK(strstr(out, "Response code                           51\n"));
    GL_CHECK(strstr(out, "Amount                          30,000 KRW\n"));

    /* a code that section 6 does not list: the generic decline */
    txn_answer(&t, "99", -1, "", INT64_MIN);
    receipt(&ID_EN, &t, TERM_COPY_MERCHANT, 0, out, sizeof out);
    GL_CHECK(strstr(out, "<b>Declined\n"));
    GL_CHECK(strstr(out, "Balance") == NULL);

    /* no answer: the journal row was reversed */
    txn_new(&t, "redeem", "barcode", VOUCHER, 30000, 126);
    SET(t.state, "reversed");
    receipt(&ID_KO, &t, TERM_COPY_MERCHANT, 0, out, sizeof out);
    GL_CHECK(strstr(out, "<b>승인 서버 응답 없음: 거래가 취소되었습니다\n"));
    GL_CHECK(strstr(out, "응답 코드") == NULL);
}

GL_TEST(receipt_card_vouchers)
{
    static char out[8192];
    struct term_txn t;

    /* 14, 0210 to the membership-card redemption: two vouchers drawn */
    txn_new(&t, "redeem", "card", CARD, 15000, 127);
    SET(t.expiry, "2812");
    txn_answer(&t, "00", 15000, "A12347", 20000);
    SET(t.vd, "941001******8903:10000,941001******3213:5000");
    SET(t.cashier, "12");
    receipt(&ID_KO, &t, TERM_COPY_MERCHANT, 0, out, sizeof out);
    check_golden("term_receipt_card", out);
    GL_CHECK(strstr(out, "카드 번호                 " CARD_MASKED "\n"));
    GL_CHECK(strstr(out, "사용된 상품권\n"
                         "941001******8903                  10,000원\n"
                         "941001******3213                   5,000원\n"));

    /* a VD entry that arrives unmasked is masked before printing */
    SET(t.vd, VOUCHER ":15000");
    receipt(&ID_EN, &t, TERM_COPY_MERCHANT, 0, out, sizeof out);
    GL_CHECK(strstr(out, VOUCHER) == NULL);
    GL_CHECK(strstr(out, VOUCHER_MASKED "                15,000 KRW\n"));
}

GL_TEST(receipt_offline)
{
    static char out[8192];
    struct term_txn t;

    /* approved by the terminal under the floor limit; 0220 still owed */
    txn_new(&t, "redeem", "barcode", VOUCHER, 5000, 128);
    SET(t.state, "advice");
    SET(t.rc, "00");
    SET(t.auth, "OFF128");
    t.approved = 5000;
    t.offline = 1;
    receipt(&ID_EN, &t, TERM_COPY_MERCHANT, 0, out, sizeof out);
    check_golden("term_receipt_offline", out);
    GL_CHECK(strstr(out, "<b>*** OFFLINE ***\n</b>"));
    GL_CHECK(strstr(out, "<b>Approved offline\n"));
    GL_CHECK(strstr(out, "Approval code                       OFF128\n"));
    GL_CHECK(strstr(out, "Balance") == NULL);

    receipt(&ID_KO, &t, TERM_COPY_MERCHANT, 0, out, sizeof out);
    GL_CHECK(strstr(out, "<b>*** 오프라인 ***\n</b>"));
    GL_CHECK(strstr(out, "<b>오프라인 승인\n"));

    /* after the 0220: the host's balance, below zero (an overdraft) */
    SET(t.state, "done");
    t.has_balance = 1;
    t.balance = -3000;
    receipt(&ID_KO, &t, TERM_COPY_MERCHANT, 1, out, sizeof out);
    GL_CHECK(strstr(out, "잔액                              -3,000원\n"));

    /* the host refused the advice (unknown number): a decline after all */
    SET(t.state, "refused");
    SET(t.adv_rc, "14");
    t.has_balance = 0;
    receipt(&ID_EN, &t, TERM_COPY_MERCHANT, 1, out, sizeof out);
    GL_CHECK(strstr(out, "<b>Invalid number or PIN\n"));
    GL_CHECK(strstr(out, "Response code                           14\n"));
    GL_CHECK(strstr(out, "Approved amount") == NULL);
}

GL_TEST(receipt_void)
{
    static char out[8192];
    struct term_txn t;

    /* the void of STAN 000123, reprinted for the customer */
    txn_new(&t, "void", "barcode", VOUCHER, 25000, 129);
    SET(t.de90, "020000012311251015000000000000000000000000");
    t.orig_id = 1;
    txn_answer(&t, "00", 25000, "A12349", 50000);
    receipt(&ID_KO, &t, TERM_COPY_CUSTOMER, 1, out, sizeof out);
    check_golden("term_receipt_void", out);
    GL_CHECK(strstr(out, "<b><size 2x2>거래 취소\n<size 1x1></b>고객용\n"
                         "<b>*** 재발행 ***\n</b>"));
    GL_CHECK(strstr(out, "원거래 일련번호                     000123\n"));
    GL_CHECK(strstr(out, "\n일련번호                            000129\n"));
}

GL_TEST(receipt_layout)
{
    static char out[8192];
    struct term_ident narrow = ID_EN;
    struct term_txn t;
    size_t len = 0;

    /* 32 columns: a pair that does not fit puts its value on the next
     * line, flush right */
    narrow.cols = 32;
    txn_new(&t, "cashout", "irda_phone", VOUCHER, 1234567890, 130);
    txn_answer(&t, "00", 1234567890, "A12350", 0);
    receipt(&narrow, &t, TERM_COPY_MERCHANT, 0, out, sizeof out);
    GL_CHECK(strstr(out, "<b>Approved amount\n"
                         "               1,234,567,890 KRW\n"));
    GL_CHECK(strstr(out, "Presented by        Phone (IrDA)\n"));
    GL_CHECK(strstr(out, "--------------------------------\n"));

    /* a balance inquiry shows the balance, no amounts */
    txn_new(&t, "balance", "barcode", VOUCHER, 0, 131);
    txn_answer(&t, "00", -1, "", 37500);
    receipt(&ID_KO, &t, TERM_COPY_CUSTOMER, 0, out, sizeof out);
    GL_CHECK(strstr(out, "<b><size 2x2>잔액 조회\n"));
    GL_CHECK(strstr(out, "잔액                              37,500원\n"));
    GL_CHECK(strstr(out, "요청 금액") == NULL);
    GL_CHECK(strstr(out, "승인 금액") == NULL);

    /* the encoder's errors come back: a full buffer, a control character
     * in the configured header */
    {
        struct escpos_enc small;
        uint8_t b[200];
        GL_CHECK_INT(GL_OK, escpos_enc_init(&small, b, sizeof b));
        GL_CHECK_INT(GL_ENOSPC,
                     term_receipt(&small, &ID_KO, &t, TERM_COPY_MERCHANT, 0));
        escpos_enc_deinit(&small);
    }
    narrow.cols = 0;
    set(narrow.header, sizeof narrow.header, "SHOP\x1b@");
    escpos_enc_reset(&g_enc);
    GL_CHECK_INT(GL_EINVAL,
                 term_receipt(&g_enc, &narrow, &t, TERM_COPY_MERCHANT, 0));
    GL_CHECK_INT(GL_EINVAL, escpos_enc_finish(&g_enc, &len));
    escpos_enc_reset(&g_enc);
}

/* ---- the batch report ---------------------------------------------------- */

static struct term_journal g_j;
static char g_jpath[128];

/* Inserts t; returns its id. */
static int64_t put(struct term_txn *t)
{
    int rc = tj_txn_insert(&g_j, t);
    GL_CHECK_INT(GL_OK, rc);
    return t->id;
}

/*
 * Batch 1 (cashiers 07 and 12), amounts in KRW:
 *   a redeem barcode 07   25,000 approved               D  +25,000
 *   b redeem nfc     07   30,000 partly: 20,000 (10)    D  +20,000
 *   c redeem barcode 12   10,000 declined 51            -
 *   d redeem card    12   15,000 approved, voided by f  D  +15,000
 *   e redeem barcode 07    8,000 reversed (no answer)   -
 *   f void of d      12   15,000                        DR -15,000
 *   g redeem barcode 07    5,000 offline, 0220 owed     D  +5,000
 *   h redeem contactl 12   4,000 offline, 0220 answered D  +4,000
 *   i activate keyed 07   50,000                        C  -50,000
 *   j reload barcode 12   20,000, voided by k           C  -20,000
 *   k void of j      12   20,000                        CR +20,000
 *   l refund barcode 07    3,000                        C  -3,000
 *   m cashout irda   07    2,000                        D  +2,000
 *   n balance        07    approved                     inquiry
 *   o balance        07    dropped (no answer)          -
 *   p redeem barcode 07    6,000 reversal owed          -
 *   q redeem barcode 07    3,500 offline, advice refused 14   -
 *   r void of a      07   25,000 reversed (no answer)   -
 *   s redeem keyed   12    7,000 declined 14            -
 * Batch 2: one approved redemption of 99,000 (must not count in batch 1).
 */
static int fill_journal(void)
{
    struct term_txn t;
    int64_t a, d, j;
    char err[256] = "";
    int rc;

    snprintf(g_jpath, sizeof g_jpath, "%s/journal.db", g_dir);
    rc = tj_open(&g_j, g_jpath, err, sizeof err);
    if (rc != GL_OK) {
        printf("  tj_open: %s %s\n", gl_errname(rc), err);
        return rc;
    }
    txn_new(&t, "redeem", "barcode", VOUCHER, 25000, 1);
    txn_answer(&t, "00", 25000, "A00001", 25000);
    a = put(&t);
    txn_new(&t, "redeem", "nfc_phone", "9410010000001115", 30000, 2);
    txn_answer(&t, "10", 20000, "A00002", 0);
    put(&t);
    txn_new(&t, "redeem", "barcode", "9410010000002220", 10000, 3);
    SET(t.cashier, "12");
    txn_answer(&t, "51", -1, "", 4000);
    put(&t);
    txn_new(&t, "redeem", "card", CARD, 15000, 4);
    SET(t.cashier, "12");
    txn_answer(&t, "00", 15000, "A00004", 5000);
    SET(t.vd, "941001******8903:15000");
    d = put(&t);
    txn_new(&t, "redeem", "barcode", "9410010000003335", 8000, 5);
    SET(t.state, "reversed");
    SET(t.rev_mti, "0400");
    SET(t.rev_rc, "00");
    put(&t);
    txn_new(&t, "void", "card", CARD, 15000, 6);
    SET(t.cashier, "12");
    t.orig_id = d;
    SET(t.de90, "020000000411251015000000000000000000000000");
    txn_answer(&t, "00", 15000, "A00006", 20000);
    put(&t);
    txn_new(&t, "redeem", "barcode", "9410010000004440", 5000, 7);
    SET(t.state, "advice");
    SET(t.rc, "00");
    SET(t.auth, "OFF007");
    t.approved = 5000;
    t.offline = 1;
    put(&t);
    txn_new(&t, "redeem", "contactless", "9410010000005557", 4000, 8);
    SET(t.cashier, "12");
    txn_answer(&t, "00", 4000, "OFF008", INT64_MIN);
    t.offline = 1;
    SET(t.adv_rc, "00");
    put(&t);
    txn_new(&t, "activate", "keyed", "9410010000006662", 50000, 9);
    txn_answer(&t, "00", 50000, "A00009", 50000);
    put(&t);
    txn_new(&t, "reload", "barcode", "9410010000007777", 20000, 10);
    SET(t.cashier, "12");
    txn_answer(&t, "00", 20000, "A00010", 30000);
    j = put(&t);
    txn_new(&t, "void", "barcode", "9410010000007777", 20000, 11);
    SET(t.cashier, "12");
    t.orig_id = j;
    txn_answer(&t, "00", 20000, "A00011", 10000);
    put(&t);
    txn_new(&t, "refund", "barcode", "9410010000008882", 3000, 12);
    txn_answer(&t, "00", 3000, "A00012", 8000);
    put(&t);
    txn_new(&t, "cashout", "irda_phone", "9410010000009997", 2000, 13);
    txn_answer(&t, "00", 2000, "A00013", 0);
    put(&t);
    txn_new(&t, "balance", "barcode", "9410010000001115", 0, 14);
    txn_answer(&t, "00", -1, "", 0);
    put(&t);
    txn_new(&t, "balance", "barcode", "9410010000002220", 0, 15);
    SET(t.state, "dropped");
    put(&t);
    txn_new(&t, "redeem", "barcode", "9410010000003335", 6000, 16);
    SET(t.state, "reverse");
    SET(t.rev_mti, "0400");
    put(&t);
    txn_new(&t, "redeem", "barcode", "9410010000000000", 3500, 17);
    SET(t.state, "refused");
    SET(t.rc, "00");
    SET(t.auth, "OFF017");
    t.approved = 3500;
    t.offline = 1;
    SET(t.adv_rc, "14");
    put(&t);
    txn_new(&t, "void", "barcode", VOUCHER, 25000, 18);
    t.orig_id = a;
    SET(t.state, "reversed");
    SET(t.rev_mti, "0400");
    put(&t);
    txn_new(&t, "redeem", "keyed", "9410010000001990", 7000, 19);
    SET(t.cashier, "12");
    txn_answer(&t, "14", -1, "", INT64_MIN);
    put(&t);
    /* batch 2 */
    txn_new(&t, "redeem", "barcode", VOUCHER, 99000, 20);
    t.batch = 2;
    txn_answer(&t, "00", 99000, "A00020", 0);
    put(&t);
    return GL_OK;
}

struct fig_table {
    int n;
    struct {
        char section[16], key[24];
        long long count, amount;
    } f[64];
    int starts;
};

static int collect(void *ctx, const struct term_figure *f)
{
    struct fig_table *tb = ctx;
    if (f->key == NULL) {
        tb->starts++;
        return 0;
    }
    if (tb->n < 64) {
        set(tb->f[tb->n].section, sizeof tb->f[0].section, f->section);
        set(tb->f[tb->n].key, sizeof tb->f[0].key, f->key);
        tb->f[tb->n].count = f->count;
        tb->f[tb->n].amount = f->amount;
    }
    tb->n++;
    return 0;
}

static int stop_at_third(void *ctx, const struct term_figure *f)
{
    int *n = ctx;
    (void)f;
    return ++*n == 3 ? 77 : 0;
}

/* The figure section/key of tb, as "count amount" (or "absent"). */
static const char *fig(const struct fig_table *tb, const char *section,
                       const char *key)
{
    static char out[64];
    for (int i = 0; i < tb->n && i < 64; i++) {
        if (strcmp(tb->f[i].section, section) == 0 &&
            strcmp(tb->f[i].key, key) == 0) {
            snprintf(out, sizeof out, "%lld %lld", tb->f[i].count,
                     tb->f[i].amount);
            return out;
        }
    }
    return "absent";
}

GL_TEST(report_figures)
{
    static struct fig_table tb;
    struct term_totals tot;
    long long net_m = 0, net_c = 0;
    int n = 0;

    memset(&tb, 0, sizeof tb);
    GL_CHECK_INT(GL_OK, term_report_each(g_j.db, 1, collect, &tb));
    GL_CHECK_INT(5, tb.starts);
    GL_CHECK_INT(6 + 6 + 2 + 6 + 6, tb.n);
    /* by type: approved amounts of the counted rows */
    GL_CHECK_STR("5 69000", fig(&tb, "type", "redeem"));
    GL_CHECK_STR("1 2000", fig(&tb, "type", "cashout"));
    GL_CHECK_STR("1 3000", fig(&tb, "type", "refund"));
    GL_CHECK_STR("1 50000", fig(&tb, "type", "activate"));
    GL_CHECK_STR("1 20000", fig(&tb, "type", "reload"));
    GL_CHECK_STR("2 35000", fig(&tb, "type", "void"));
    /* by method and by cashier: nets that add up to the settlement's */
    GL_CHECK_STR("5 27000", fig(&tb, "method", "barcode"));
    GL_CHECK_STR("2 0", fig(&tb, "method", "card"));
    GL_CHECK_STR("1 4000", fig(&tb, "method", "contactless"));
    GL_CHECK_STR("1 20000", fig(&tb, "method", "nfc_phone"));
    GL_CHECK_STR("1 2000", fig(&tb, "method", "irda_phone"));
    GL_CHECK_STR("1 -50000", fig(&tb, "method", "keyed"));
    GL_CHECK_STR("6 -1000", fig(&tb, "cashier", "07"));
    GL_CHECK_STR("5 4000", fig(&tb, "cashier", "12"));
    for (int i = 0; i < tb.n; i++) {
        if (strcmp(tb.f[i].section, "method") == 0) {
            net_m += tb.f[i].amount;
        } else if (strcmp(tb.f[i].section, "cashier") == 0) {
            net_c += tb.f[i].amount;
        }
    }
    GL_CHECK_INT(3000, net_m);
    GL_CHECK_INT(3000, net_c);
    /* exceptions */
    GL_CHECK_STR("2 35000", fig(&tb, "exception", "void"));
    GL_CHECK_STR("3 39000", fig(&tb, "exception", "reversal"));
    GL_CHECK_STR("2 9000", fig(&tb, "exception", "offline"));
    GL_CHECK_STR("1 5000", fig(&tb, "exception", "offline_pending"));
    GL_CHECK_STR("1 3500", fig(&tb, "exception", "offline_refused"));
    GL_CHECK_STR("2 17000", fig(&tb, "exception", "decline"));
    /* settlement (11.8), the same as the journal's own totals */
    GL_CHECK_STR("6 71000", fig(&tb, "settlement", "debits"));
    GL_CHECK_STR("1 15000", fig(&tb, "settlement", "debit_reversals"));
    GL_CHECK_STR("3 73000", fig(&tb, "settlement", "credits"));
    GL_CHECK_STR("1 20000", fig(&tb, "settlement", "credit_reversals"));
    GL_CHECK_STR("1 0", fig(&tb, "settlement", "inquiries"));
    GL_CHECK_STR("0 3000", fig(&tb, "settlement", "net"));
    GL_CHECK_INT(GL_OK, tj_totals(&g_j, 1, &tot));
    GL_CHECK_INT(tot.debits_n, 6);
    GL_CHECK_INT(tot.debits_amt, 71000);
    GL_CHECK_INT(tot.debits_rev_n, 1);
    GL_CHECK_INT(tot.debits_rev_amt, 15000);
    GL_CHECK_INT(tot.credits_n, 3);
    GL_CHECK_INT(tot.credits_amt, 73000);
    GL_CHECK_INT(tot.credits_rev_n, 1);
    GL_CHECK_INT(tot.credits_rev_amt, 20000);
    GL_CHECK_INT(tot.inquiries_n, 1);
    GL_CHECK_INT(tot.net, 3000);

    /* another batch, and an empty one */
    memset(&tb, 0, sizeof tb);
    GL_CHECK_INT(GL_OK, term_report_each(g_j.db, 2, collect, &tb));
    GL_CHECK_STR("1 99000", fig(&tb, "type", "redeem"));
    GL_CHECK_STR("0 99000", fig(&tb, "settlement", "net"));
    memset(&tb, 0, sizeof tb);
    GL_CHECK_INT(GL_OK, term_report_each(g_j.db, 7, collect, &tb));
    GL_CHECK_INT(6 + 6 + 6, tb.n); /* no methods, no cashiers */
    GL_CHECK_STR("0 0", fig(&tb, "type", "void"));
    GL_CHECK_STR("0 0", fig(&tb, "settlement", "net"));

    /* the callback can stop the walk; a database without the journal's
     * schema is a database error */
    GL_CHECK_INT(77, term_report_each(g_j.db, 1, stop_at_third, &n));
    GL_CHECK_INT(3, n);
    {
        sqlite3 *db = NULL;
        GL_CHECK_INT(SQLITE_OK, sqlite3_open(":memory:", &db));
        memset(&tb, 0, sizeof tb);
        GL_CHECK_INT(GL_DB, term_report_each(db, 1, collect, &tb));
        sqlite3_close(db);
    }
}

GL_TEST(report_printed)
{
    static char out[16384];

    escpos_enc_reset(&g_enc);
    GL_CHECK_INT(GL_OK, term_report(&g_enc, g_j.db, &ID_KO, 1, 0,
                                    "2024-11-25 21:00:00"));
    GL_CHECK_INT(GL_OK, decode(out, sizeof out));
    check_golden("term_report_x", out);
    GL_CHECK(strstr(out, "<b><size 2x2>X 리포트\n"));
    GL_CHECK(strstr(out, "배치 번호                           000001\n"));
    GL_CHECK(strstr(out, "상품권 사용             5         69,000원\n"));
    GL_CHECK(strstr(out, "07                      6         -1,000원\n"));
    GL_CHECK(strstr(out, "망취소                  3         39,000원\n"));
    GL_CHECK(strstr(out, "\n거절                    2\n"));
    GL_CHECK(strstr(out, "<b>정산 순액                        D 3,000원\n"));
    GL_CHECK(!has_long_digit_run(out));

    /* the Z report of the same batch, in English */
    escpos_enc_reset(&g_enc);
    GL_CHECK_INT(GL_OK, term_report(&g_enc, g_j.db, &ID_EN, 1, 1,
                                    "2024-11-25 23:00:05"));
    GL_CHECK_INT(GL_OK, decode(out, sizeof out));
    GL_CHECK(
        strstr(out, "<b><size 2x2>Z REPORT\n<size 1x1></b>Batch closed\n"));
    GL_CHECK(strstr(out, "Debits                  6       71,000 KRW\n"));
    GL_CHECK(strstr(out, "Credit reversals        1       20,000 KRW\n"));
    GL_CHECK(strstr(out, "<b>Net                            D 3,000 KRW\n"));
    GL_CHECK(strstr(out, "[CUT partial]"));

    /* credits above debits: C */
    {
        struct term_txn t;
        txn_new(&t, "activate", "keyed", "9410010000002006", 100000, 30);
        t.batch = 3;
        txn_answer(&t, "00", 100000, "A00030", 100000);
        put(&t);
        escpos_enc_reset(&g_enc);
        GL_CHECK_INT(GL_OK, term_report(&g_enc, g_j.db, &ID_EN, 3, 0, "-"));
        GL_CHECK_INT(GL_OK, decode(out, sizeof out));
        GL_CHECK(
            strstr(out, "<b>Net                          C 100,000 KRW\n"));
    }

    /* a report too large for the buffer */
    {
        struct escpos_enc small;
        uint8_t b[512];
        GL_CHECK_INT(GL_OK, escpos_enc_init(&small, b, sizeof b));
        GL_CHECK_INT(GL_ENOSPC, term_report(&small, g_j.db, &ID_KO, 1, 0, "-"));
        escpos_enc_deinit(&small);
    }
    escpos_enc_reset(&g_enc);
}

/* Writes a CSV through fn into a memory stream; returns it (static). */
static const char *csv_of(int (*fn)(FILE *, sqlite3 *, int), int bn, int *rc)
{
    static char text[16384];
    FILE *f = fmemopen(text, sizeof text, "w");

    text[0] = '\0';
    if (f == NULL) {
        *rc = GL_EIO;
        return text;
    }
    *rc = fn(f, g_j.db, bn);
    fclose(f);
    return text;
}

#define ROWS_HEADER                                                            \
    "id,created,kind,method,cashier,number,amount,approved,rc,auth,rrn,"       \
    "stan,state,offline,orig_id,voided_by,counted\n"

GL_TEST(report_csv)
{
    static const char expected[] = "section,key,count,amount\n"
                                   "type,redeem,5,69000\n"
                                   "type,cashout,1,2000\n"
                                   "type,refund,1,3000\n"
                                   "type,activate,1,50000\n"
                                   "type,reload,1,20000\n"
                                   "type,void,2,35000\n"
                                   "method,barcode,5,27000\n"
                                   "method,card,2,0\n"
                                   "method,contactless,1,4000\n"
                                   "method,nfc_phone,1,20000\n"
                                   "method,irda_phone,1,2000\n"
                                   "method,keyed,1,-50000\n"
                                   "cashier,07,6,-1000\n"
                                   "cashier,12,5,4000\n"
                                   "exception,void,2,35000\n"
                                   "exception,reversal,3,39000\n"
                                   "exception,offline,2,9000\n"
                                   "exception,offline_pending,1,5000\n"
                                   "exception,offline_refused,1,3500\n"
                                   "exception,decline,2,17000\n"
                                   "settlement,debits,6,71000\n"
                                   "settlement,debit_reversals,1,15000\n"
                                   "settlement,credits,3,73000\n"
                                   "settlement,credit_reversals,1,20000\n"
                                   "settlement,inquiries,1,0\n"
                                   "settlement,net,0,3000\n";
    const char *csv;
    int rc = GL_EIO, lines = 0;

    csv = csv_of(term_report_csv, 1, &rc);
    GL_CHECK_INT(GL_OK, rc);
    GL_CHECK_STR(expected, csv);

    csv = csv_of(term_rows_csv, 1, &rc);
    GL_CHECK_INT(GL_OK, rc);
    for (const char *p = csv; *p != '\0'; p++) {
        lines += *p == '\n';
    }
    GL_CHECK_INT(1 + 19, lines); /* header + the 19 rows of batch 1 */
    GL_CHECK(strncmp(csv, ROWS_HEADER, strlen(ROWS_HEADER)) == 0);
    GL_CHECK(strstr(csv,
                    "\n1,2024-11-25 10:15:00,redeem,barcode,07," VOUCHER_MASKED
                    ",25000,25000,00,A00001,"
                    "433010100001,000001,done,0,0,0,1\n"));
    GL_CHECK(strstr(csv, "\n3,2024-11-25 10:15:00,redeem,barcode,12,"
                         "941001******2220,10000,,51,,433010100003,000003,"
                         "done,0,0,0,0\n"));
    GL_CHECK(strstr(csv, "\n6,2024-11-25 10:15:00,void,card,12," CARD_MASKED
                         ",15000,15000,00,A00006,"
                         "433010100006,000006,done,0,4,0,1\n"));
    GL_CHECK(strstr(csv, VOUCHER) == NULL);
    GL_CHECK(strstr(csv, CARD) == NULL);
    GL_CHECK(!has_long_digit_run(csv));
    GL_CHECK(strstr(csv, "99000") == NULL); /* batch 2 */

    /* a cashier id with a comma and a quote is quoted */
    {
        struct term_txn t;
        txn_new(&t, "redeem", "barcode", VOUCHER, 1000, 40);
        t.batch = 4;
        SET(t.cashier, "a,\"b");
        txn_answer(&t, "00", 1000, "A00040", 0);
        put(&t);
        csv = csv_of(term_report_csv, 4, &rc);
        GL_CHECK_INT(GL_OK, rc);
        GL_CHECK(strstr(csv, "\ncashier,\"a,\"\"b\",1,1000\n"));
        csv = csv_of(term_rows_csv, 4, &rc);
        GL_CHECK(strstr(csv, ",barcode,\"a,\"\"b\"," VOUCHER_MASKED ","));
    }

    /* a stream that cannot be written */
    {
        FILE *f = fopen("/dev/full", "w");
        if (f != NULL) {
            setvbuf(f, NULL, _IONBF, 0);
            GL_CHECK_INT(GL_EIO, term_report_csv(f, g_j.db, 1));
            fclose(f);
        }
    }
}

int main(void)
{
    int rc;

    malloc_count_install();
    snprintf(g_dir, sizeof g_dir, "/tmp/gl-test-term-print-XXXXXX");
    if (mkdtemp(g_dir) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    if (escpos_enc_init(&g_enc, g_buf, sizeof g_buf) != GL_OK) {
        printf("no EUC-KR converter\n");
        return 1;
    }
    GL_CHECK_INT(1, malloc_count_selftest());
    GL_RUN(messages);
    GL_RUN(receipt_approved_barcode);
    GL_RUN(receipt_partial);
    GL_RUN(receipt_decline);
    GL_RUN(receipt_card_vouchers);
    GL_RUN(receipt_offline);
    GL_RUN(receipt_void);
    GL_RUN(receipt_layout);
    rc = fill_journal();
    GL_CHECK_INT(GL_OK, rc);
    if (rc == GL_OK) {
        GL_RUN(report_figures);
        GL_RUN(report_printed);
        GL_RUN(report_csv);
        tj_close(&g_j);
    }
    escpos_enc_deinit(&g_enc);
    {
        char p[160];
        static const char *const suffix[] = {"", "-wal", "-shm"};
        for (size_t i = 0; i < 3; i++) {
            snprintf(p, sizeof p, "%s%s", g_jpath, suffix[i]);
            unlink(p);
        }
    }
    rmdir(g_dir);
    return GL_TEST_END();
}
