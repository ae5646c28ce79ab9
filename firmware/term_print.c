/*
 * term_print.c - receipts, X/Z reports and CSV from the journal
 * (term_print.h).
 *
 * The report's figures are produced in one place, term_report_each(), from
 * SQL over the journal's view `counted`; the printed report and the CSV
 * are two renderings of that walk, so they cannot disagree.
 */
#include "term_print.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "gl_err.h"
#include "gl_log.h"
#include "gl_sql.h"
#include "gl_text.h"

/* Bytes of one printed line: 64 columns of Korean text are 96 bytes, and
 * labels and values are short. */
#define LINE_CAP 512
/* Report columns: the count, and the amount ("1,234,567,890원"). */
#define COUNT_COLS 5
#define AMOUNT_COLS 16

/* ---- layout ------------------------------------------------------------ */

struct pr {
    struct escpos_enc *e;
    enum term_lang lang;
    int cols;
};

static void pr_init(struct pr *p, struct escpos_enc *e,
                    const struct term_ident *id)
{
    p->e = e;
    p->lang = id->lang == TERM_LANG_EN ? TERM_LANG_EN : TERM_LANG_KO;
    p->cols = id->cols == 0 ? TERM_PRINT_COLS : id->cols;
    if (p->cols < TERM_PRINT_COLS_MIN) {
        p->cols = TERM_PRINT_COLS_MIN;
    } else if (p->cols > TERM_PRINT_COLS_MAX) {
        p->cols = TERM_PRINT_COLS_MAX;
    }
}

static const char *msg(const struct pr *p, enum term_msg_id id)
{
    return term_msg(id, p->lang);
}

/* Printed columns of UTF-8 text: one per ASCII character, two per other
 * character (all of them are two-byte KS X 1001 characters on paper). */
static int text_cols(const char *s)
{
    int n = 0;
    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;
        if (c < 0x80) {
            n++;
        } else if (c >= 0xC0) {
            n += 2;
        }
    }
    return n;
}

/* s right-aligned in width columns, into out[cap]. */
static const char *pad_left(char *out, size_t cap, const char *s, int width)
{
    int pad = width - text_cols(s);
    snprintf(out, cap, "%*s%s", pad > 0 ? pad : 0, "", s);
    return out;
}

/* A line with left at the margin and right flush right; when both do not
 * fit, left goes on a line of its own. */
static void put_lr(struct pr *p, const char *left, const char *right)
{
    char line[LINE_CAP];
    int lw = text_cols(left), rw = text_cols(right), pad;
    size_t n;

    if (lw > 0 && lw + 1 + rw > p->cols) {
        escpos_line(p->e, left);
        left = "";
        lw = 0;
    }
    pad = p->cols - lw - rw;
    n = (size_t)snprintf(line, sizeof line, "%s%*s%s", left, pad > 0 ? pad : 0,
                         "", right);
    if (n >= sizeof line) {
        n = sizeof line - 1;
    }
    while (n > 0 && line[n - 1] == ' ') { /* an empty last column */
        line[--n] = '\0';
    }
    escpos_line(p->e, line);
}

/* Report row: label, count and amount columns (either may be ""). */
static void put_row(struct pr *p, const char *label, const char *count,
                    const char *amount)
{
    char c[64], a[96], right[192];

    snprintf(right, sizeof right, "%s %s",
             pad_left(c, sizeof c, count, COUNT_COLS),
             pad_left(a, sizeof a, amount, AMOUNT_COLS));
    put_lr(p, label, right);
}

static void put_rule(struct pr *p)
{
    char line[TERM_PRINT_COLS_MAX + 1];
    memset(line, '-', (size_t)p->cols);
    line[p->cols] = '\0';
    escpos_line(p->e, line);
}

static void put_bold_line(struct pr *p, const char *s)
{
    escpos_bold(p->e, 1);
    escpos_line(p->e, s);
    escpos_bold(p->e, 0);
}

/* A title: bold, double size when it fits the line at double width. */
static void put_title(struct pr *p, const char *s)
{
    int big = text_cols(s) * 2 <= p->cols;
    escpos_bold(p->e, 1);
    if (big) {
        escpos_size(p->e, 2, 2);
    }
    escpos_line(p->e, s);
    if (big) {
        escpos_size(p->e, 1, 1);
    }
    escpos_bold(p->e, 0);
}

/* KRW with thousands separators: "12,500원" or "12,500 KRW"; sign first
 * when negative. */
static const char *fmt_money(char *out, size_t cap, int64_t v,
                             enum term_lang lang)
{
    char digits[GL_KRW_MAX];
    snprintf(out, cap, lang == TERM_LANG_EN ? "%s KRW" : "%s원",
             gl_krw(digits, v));
    return out;
}

/* ---- receipt ----------------------------------------------------------- */

enum rcpt_status { R_APPROVED, R_DECLINED, R_REFUSED, R_NOANSWER };

static int is(const char *a, const char *b)
{
    return strcmp(a, b) == 0;
}

static enum rcpt_status receipt_status(const struct term_txn *t)
{
    if (is(t->state, "refused")) {
        return R_REFUSED;
    }
    if (t->rc[0] == '\0' || is(t->state, "pending") ||
        is(t->state, "reverse") || is(t->state, "reversed") ||
        is(t->state, "dropped")) {
        return R_NOANSWER;
    }
    if (is(t->rc, "00") || is(t->rc, "10")) {
        return R_APPROVED;
    }
    return R_DECLINED;
}

/* The vouchers drawn: "masked:amount,masked:amount" (DE 48 VD), one line
 * each.  Digit runs are masked again: the host sends them masked, and a
 * full number must not reach paper even if it did not. */
static void put_vouchers(struct pr *p, const char *vd)
{
    char list[sizeof(((struct term_txn *)0)->vd)], money[48];
    char *entry = list, *next, *colon;

    snprintf(list, sizeof list, "%s", vd);
    gl_mask_digit_runs(list, strlen(list));
    escpos_line(p->e, msg(p, TERM_MSG_L_VOUCHERS_USED));
    while (entry != NULL && *entry != '\0') {
        next = strchr(entry, ',');
        if (next != NULL) {
            *next++ = '\0';
        }
        colon = strchr(entry, ':');
        if (colon != NULL) {
            *colon = '\0';
            fmt_money(money, sizeof money, strtoll(colon + 1, NULL, 10),
                      p->lang);
            put_lr(p, entry, money);
        } else {
            escpos_line(p->e, entry);
        }
        entry = next;
    }
}

int term_receipt(struct escpos_enc *e, const struct term_ident *id,
                 const struct term_txn *t, enum term_copy copy, int reprint)
{
    struct pr p;
    enum rcpt_status st;
    int balance_inquiry;
    int64_t approved;
    char masked[GL_MASK_MAX], money[48], text[64];
    const char *status;
    size_t len;

    assert(e != NULL && id != NULL && t != NULL);
    st = receipt_status(t);
    balance_inquiry = is(t->kind, "balance");
    approved = t->approved >= 0 ? t->approved : t->amount;
    pr_init(&p, e, id);
    escpos_initialize(e);
    escpos_align(e, ESCPOS_CENTER);
    if (id->header[0] != '\0') {
        escpos_line(e, id->header);
    }
    put_title(&p, term_msg_kind(t->kind, p.lang));
    escpos_line(e,
                msg(&p, copy == TERM_COPY_CUSTOMER ? TERM_MSG_L_CUSTOMER_COPY
                                                   : TERM_MSG_L_MERCHANT_COPY));
    if (reprint) {
        put_bold_line(&p, msg(&p, TERM_MSG_L_REPRINT));
    }
    if (t->offline) {
        put_bold_line(&p, msg(&p, TERM_MSG_L_OFFLINE));
    }

    escpos_align(e, ESCPOS_LEFT);
    put_rule(&p);
    put_lr(&p, msg(&p, TERM_MSG_L_TERMINAL), id->tid);
    put_lr(&p, msg(&p, TERM_MSG_L_MERCHANT), id->merchant);
    snprintf(text, sizeof text, "%s", t->created);
    if (strlen(text) > 10 && text[10] == 'T') { /* "2024-11-25T10:15:00" */
        text[10] = ' ';
    }
    put_lr(&p, msg(&p, TERM_MSG_L_DATE), text);
    if (t->cashier[0] != '\0') {
        put_lr(&p, msg(&p, TERM_MSG_L_CASHIER), t->cashier);
    }
    put_lr(&p, msg(&p, TERM_MSG_L_METHOD), term_msg_method(t->method, p.lang));
    if (t->pan[0] != '\0') {
        int card = is(t->method, "card") || is(t->method, "contactless");
        put_lr(&p, msg(&p, card ? TERM_MSG_L_CARD_NO : TERM_MSG_L_VOUCHER_NO),
               gl_mask_pan(masked, t->pan, strlen(t->pan)));
    }

    put_rule(&p);
    if (!balance_inquiry) {
        put_lr(&p, msg(&p, TERM_MSG_L_AMOUNT),
               fmt_money(money, sizeof money, t->amount, p.lang));
    }
    if (st == R_APPROVED && !balance_inquiry) {
        escpos_bold(e, 1);
        put_lr(&p, msg(&p, TERM_MSG_L_APPROVED),
               fmt_money(money, sizeof money, approved, p.lang));
        if (is(t->rc, "10")) {
            /* split tender: what the cashier still has to collect */
            escpos_size(e, 1, 2);
            put_lr(
                &p, msg(&p, TERM_MSG_L_TO_COLLECT),
                fmt_money(money, sizeof money, t->amount - approved, p.lang));
            escpos_size(e, 1, 1);
        }
        escpos_bold(e, 0);
    } else if (st == R_DECLINED || st == R_REFUSED) {
        put_lr(&p, msg(&p, TERM_MSG_L_RESPONSE),
               st == R_DECLINED ? t->rc : t->adv_rc);
    }
    if (t->has_balance) {
        put_lr(&p, msg(&p, TERM_MSG_L_BALANCE),
               fmt_money(money, sizeof money, t->balance, p.lang));
    }
    if (st == R_APPROVED && t->auth[0] != '\0') {
        put_lr(&p, msg(&p, TERM_MSG_L_AUTH), t->auth);
    }
    if (t->rrn[0] != '\0') {
        put_lr(&p, msg(&p, TERM_MSG_L_RRN), t->rrn);
    }
    snprintf(text, sizeof text, "%06d", t->stan);
    put_lr(&p, msg(&p, TERM_MSG_L_STAN), text);
    if ((is(t->kind, "void") || is(t->kind, "refund")) &&
        strlen(t->de90) >= 10) {
        snprintf(text, sizeof text, "%.6s", t->de90 + 4); /* DE 90 STAN */
        put_lr(&p, msg(&p, TERM_MSG_L_ORIGINAL), text);
    }
    if (st == R_APPROVED && t->vd[0] != '\0') {
        put_vouchers(&p, t->vd);
    }
    put_rule(&p);

    switch (st) {
    case R_APPROVED:
        status = t->offline ? msg(&p, TERM_MSG_OFFLINE_APPROVED)
                            : term_msg_rc(t->rc, p.lang);
        break;
    case R_DECLINED:
        status = term_msg_rc(t->rc, p.lang);
        break;
    case R_REFUSED:
        status = term_msg_rc(t->adv_rc, p.lang);
        break;
    default:
        status = msg(&p, TERM_MSG_NO_ANSWER);
        break;
    }
    escpos_align(e, ESCPOS_CENTER);
    put_bold_line(&p, status);
    if (t->rrn[0] != '\0') {
        escpos_code128(e, t->rrn, strlen(t->rrn), 60);
    }
    escpos_feed(e, 3);
    escpos_cut(e, 1);
    return escpos_enc_finish(e, &len);
}

/* ---- report figures ---------------------------------------------------- */

/*
 * The counted rows of batch ?1 with their class (D debit, C credit, DR and
 * CR voids of either: a void takes its original's class, as tj_totals()
 * does), amount (the approved amount; a void: its own amount, which the
 * host checked to be the original's approved amount) and signed net.
 */
#define COUNTED_CTE                                                            \
    "WITH c AS (SELECT r.kind AS kind, ifnull(r.method, '') AS method,"        \
    "  ifnull(r.cashier, '') AS cashier, r.offline AS offline,"                \
    "  CASE WHEN r.kind = 'void' THEN r.amount ELSE r.approved END AS amt,"    \
    "  CASE WHEN r.kind IN ('redeem', 'cashout') THEN 'D'"                     \
    "   WHEN r.kind IN ('refund', 'activate', 'reload') THEN 'C'"              \
    "   WHEN r.kind = 'void' AND o.kind IN ('redeem', 'cashout') THEN 'DR'"    \
    "   WHEN r.kind = 'void' AND o.kind IN ('refund', 'activate', 'reload')"   \
    "    THEN 'CR' ELSE '' END AS cls"                                         \
    " FROM counted r LEFT JOIN txn o ON o.id = r.orig_id"                      \
    " WHERE r.batch = ?1),"                                                    \
    " s AS (SELECT *, CASE WHEN cls IN ('D', 'CR') THEN amt"                   \
    "  WHEN cls IN ('C', 'DR') THEN -amt ELSE 0 END AS net FROM c) "

static const char SQL_TYPE[] = COUNTED_CTE
    ", k(kind, o) AS (VALUES ('redeem', 0), ('cashout', 1), ('refund', 2),"
    " ('activate', 3), ('reload', 4), ('void', 5))"
    " SELECT kind, count(amt), ifnull(sum(amt), 0) FROM ("
    "  SELECT kind, NULL AS amt, o FROM k"
    "  UNION ALL SELECT s.kind, s.amt,"
    "  ifnull((SELECT o FROM k WHERE k.kind = s.kind), 9) FROM s)"
    " GROUP BY kind ORDER BY min(o), kind";

static const char SQL_METHOD[] = COUNTED_CTE
    "SELECT method, count(*), sum(net) FROM s GROUP BY method"
    " ORDER BY CASE method WHEN 'barcode' THEN 0 WHEN 'card' THEN 1"
    " WHEN 'contactless' THEN 2 WHEN 'nfc_phone' THEN 3"
    " WHEN 'irda_phone' THEN 4 WHEN 'keyed' THEN 5 ELSE 9 END, method";

static const char SQL_CASHIER[] =
    COUNTED_CTE "SELECT cashier, count(*), sum(net) FROM s GROUP BY cashier"
                " ORDER BY cashier";

static const char *const EXCEPTION_KEYS[] = {
    "void",    "reversal", "offline", "offline_pending", "offline_refused",
    "decline",
};
static const char SQL_EXCEPTION[] = COUNTED_CTE
    "SELECT (SELECT count(*) FROM s WHERE kind = 'void'),"
    " (SELECT ifnull(sum(amt), 0) FROM s WHERE kind = 'void'),"
    " ifnull(sum(state IN ('reverse', 'reversed')), 0),"
    " ifnull(sum(CASE WHEN state IN ('reverse', 'reversed') THEN amount END),"
    "  0),"
    " (SELECT count(*) FROM s WHERE offline = 1),"
    " (SELECT ifnull(sum(amt), 0) FROM s WHERE offline = 1),"
    " ifnull(sum(state = 'advice'), 0),"
    " ifnull(sum(CASE WHEN state = 'advice' THEN"
    "  CASE WHEN approved >= 0 THEN approved ELSE amount END END), 0),"
    " ifnull(sum(state = 'refused'), 0),"
    " ifnull(sum(CASE WHEN state = 'refused' THEN amount END), 0),"
    " ifnull(sum(state = 'done' AND ifnull(rc, '') NOT IN ('00', '10')), 0),"
    " ifnull(sum(CASE WHEN state = 'done' AND ifnull(rc, '') NOT IN"
    "  ('00', '10') THEN amount END), 0)"
    " FROM txn WHERE batch = ?1";

static const char *const SETTLEMENT_KEYS[] = {
    "debits",           "debit_reversals", "credits",
    "credit_reversals", "inquiries",       "net",
};
static const char SQL_SETTLEMENT[] = COUNTED_CTE
    "SELECT ifnull(sum(cls = 'D'), 0),"
    " ifnull(sum(CASE WHEN cls = 'D' THEN amt END), 0),"
    " ifnull(sum(cls = 'DR'), 0),"
    " ifnull(sum(CASE WHEN cls = 'DR' THEN amt END), 0),"
    " ifnull(sum(cls = 'C'), 0),"
    " ifnull(sum(CASE WHEN cls = 'C' THEN amt END), 0),"
    " ifnull(sum(cls = 'CR'), 0),"
    " ifnull(sum(CASE WHEN cls = 'CR' THEN amt END), 0),"
    " (SELECT count(*) FROM txn WHERE batch = ?1 AND kind = 'balance'"
    "  AND state = 'done' AND rc = '00'), 0,"
    " 0, ifnull(sum(net), 0)"
    " FROM s";

typedef int (*figure_fn)(void *ctx, const struct term_figure *f);

/*
 * One section: its start, then either one figure per result row (keys ==
 * NULL: columns key, count, amount) or, from a single result row of
 * 2 * nkeys columns (count, amount each), one figure per key.
 */
static int walk_section(sqlite3 *db, int bn, const char *section,
                        const char *sql, const char *const *keys, size_t nkeys,
                        figure_fn fn, void *ctx)
{
    struct term_figure f = {section, NULL, 0, 0};
    sqlite3_stmt *st = NULL;
    int rc, src;

    rc = fn(ctx, &f);
    if (rc != 0) {
        goto out;
    }
    src = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
    if (src != SQLITE_OK) {
        rc = gl_sql_rc(src);
        goto out;
    }
    sqlite3_bind_int(st, 1, bn);
    while ((src = sqlite3_step(st)) == SQLITE_ROW) {
        if (keys == NULL) {
            const unsigned char *k = sqlite3_column_text(st, 0);
            f.key = k != NULL ? (const char *)k : "";
            f.count = sqlite3_column_int64(st, 1);
            f.amount = sqlite3_column_int64(st, 2);
            rc = fn(ctx, &f);
            if (rc != 0) {
                goto out;
            }
            continue;
        }
        for (size_t i = 0; i < nkeys; i++) {
            f.key = keys[i];
            f.count = sqlite3_column_int64(st, (int)(2 * i));
            f.amount = sqlite3_column_int64(st, (int)(2 * i + 1));
            rc = fn(ctx, &f);
            if (rc != 0) {
                goto out;
            }
        }
    }
    rc = src == SQLITE_DONE ? GL_OK : gl_sql_rc(src);
out:
    sqlite3_finalize(st);
    return rc;
}

int term_report_each(sqlite3 *db, int bn, figure_fn fn, void *ctx)
{
    int rc = walk_section(db, bn, "type", SQL_TYPE, NULL, 0, fn, ctx);
    if (rc == GL_OK) {
        rc = walk_section(db, bn, "method", SQL_METHOD, NULL, 0, fn, ctx);
    }
    if (rc == GL_OK) {
        rc = walk_section(db, bn, "cashier", SQL_CASHIER, NULL, 0, fn, ctx);
    }
    if (rc == GL_OK) {
        rc = walk_section(db, bn, "exception", SQL_EXCEPTION, EXCEPTION_KEYS,
                          sizeof EXCEPTION_KEYS / sizeof EXCEPTION_KEYS[0], fn,
                          ctx);
    }
    if (rc == GL_OK) {
        rc = walk_section(db, bn, "settlement", SQL_SETTLEMENT, SETTLEMENT_KEYS,
                          sizeof SETTLEMENT_KEYS / sizeof SETTLEMENT_KEYS[0],
                          fn, ctx);
    }
    return rc;
}

/* ---- printed report ---------------------------------------------------- */

static const struct {
    const char *key;
    enum term_msg_id label;
} FIGURE_LABELS[] = {
    {"type", TERM_MSG_L_BY_TYPE},
    {"method", TERM_MSG_L_BY_METHOD},
    {"cashier", TERM_MSG_L_BY_CASHIER},
    {"exception", TERM_MSG_L_EXCEPTIONS},
    {"settlement", TERM_MSG_L_SETTLEMENT},
    {"void", TERM_MSG_L_VOIDS},
    {"reversal", TERM_MSG_L_REVERSALS},
    {"offline", TERM_MSG_L_OFFLINE_ALL},
    {"offline_pending", TERM_MSG_L_OFFLINE_WAITING},
    {"offline_refused", TERM_MSG_L_OFFLINE_REFUSED},
    {"decline", TERM_MSG_L_DECLINES},
    {"debits", TERM_MSG_L_DEBITS},
    {"debit_reversals", TERM_MSG_L_DEBIT_REVERSALS},
    {"credits", TERM_MSG_L_CREDITS},
    {"credit_reversals", TERM_MSG_L_CREDIT_REVERSALS},
    {"inquiries", TERM_MSG_L_INQUIRIES},
    {"net", TERM_MSG_L_NET},
};

static const char *figure_label(const struct pr *p, const char *key)
{
    for (size_t i = 0; i < sizeof FIGURE_LABELS / sizeof FIGURE_LABELS[0];
         i++) {
        if (is(key, FIGURE_LABELS[i].key)) {
            return msg(p, FIGURE_LABELS[i].label);
        }
    }
    return key;
}

static int print_figure(void *ctx, const struct term_figure *f)
{
    struct pr *p = ctx;
    char count[24], money[48], net[64];
    const char *label;

    if (f->key == NULL) {
        put_rule(p);
        put_bold_line(p, figure_label(p, f->section));
        put_row(p, "", msg(p, TERM_MSG_L_COUNT), msg(p, TERM_MSG_L_SUM));
        return 0;
    }
    if (is(f->section, "type")) {
        label = term_msg_kind(f->key, p->lang);
    } else if (is(f->section, "method")) {
        label = term_msg_method(f->key, p->lang);
    } else if (is(f->section, "cashier")) {
        label = f->key[0] != '\0' ? f->key : "-";
    } else {
        label = figure_label(p, f->key);
    }
    snprintf(count, sizeof count, "%lld", (long long)f->count);
    fmt_money(money, sizeof money, f->amount, p->lang);
    if (is(f->key, "decline") || is(f->key, "inquiries")) {
        put_row(p, label, count, "");
    } else if (is(f->section, "settlement") && is(f->key, "net")) {
        /* DE 97: D when the issuer owes the merchant, C the other way */
        fmt_money(money, sizeof money, f->amount < 0 ? -f->amount : f->amount,
                  p->lang);
        snprintf(net, sizeof net, "%c %s", f->amount < 0 ? 'C' : 'D', money);
        escpos_bold(p->e, 1);
        put_row(p, label, "", net);
        escpos_bold(p->e, 0);
    } else {
        put_row(p, label, count, money);
    }
    return 0;
}

int term_report(struct escpos_enc *e, sqlite3 *db, const struct term_ident *id,
                int bn, int z, const char *when)
{
    struct pr p;
    char text[16];
    size_t len;
    int rc;

    assert(e != NULL && db != NULL && id != NULL);
    pr_init(&p, e, id);
    escpos_initialize(e);
    escpos_align(e, ESCPOS_CENTER);
    if (id->header[0] != '\0') {
        escpos_line(e, id->header);
    }
    put_title(&p, msg(&p, z ? TERM_MSG_L_Z_REPORT : TERM_MSG_L_X_REPORT));
    escpos_line(e, msg(&p, z ? TERM_MSG_L_Z_NOTE : TERM_MSG_L_X_NOTE));
    escpos_align(e, ESCPOS_LEFT);
    put_rule(&p);
    snprintf(text, sizeof text, "%06d", bn);
    put_lr(&p, msg(&p, TERM_MSG_L_BATCH), text);
    put_lr(&p, msg(&p, TERM_MSG_L_TERMINAL), id->tid);
    put_lr(&p, msg(&p, TERM_MSG_L_MERCHANT), id->merchant);
    put_lr(&p, msg(&p, TERM_MSG_L_PRINTED), when != NULL ? when : "");
    rc = term_report_each(db, bn, print_figure, &p);
    put_rule(&p);
    escpos_feed(e, 3);
    escpos_cut(e, 1);
    if (rc == GL_OK) {
        rc = escpos_enc_finish(e, &len);
    }
    return rc;
}

/* ---- CSV --------------------------------------------------------------- */

/* One field: quoted (quotes doubled) when it holds a comma, a quote or a
 * line end. */
static void csv_field(FILE *f, const char *s)
{
    if (strpbrk(s, ",\"\r\n") == NULL) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s != '\0'; s++) {
        if (*s == '"') {
            fputc('"', f);
        }
        fputc(*s, f);
    }
    fputc('"', f);
}

/* A text column of a journal row, digit runs masked. */
static void csv_text(FILE *f, sqlite3_stmt *st, int col)
{
    char buf[128];
    const unsigned char *s = sqlite3_column_text(st, col);

    snprintf(buf, sizeof buf, "%s", s != NULL ? (const char *)s : "");
    gl_mask_digit_runs(buf, strlen(buf));
    csv_field(f, buf);
}

static int csv_figure(void *ctx, const struct term_figure *fig)
{
    FILE *f = ctx;

    if (fig->key == NULL) {
        return 0;
    }
    fprintf(f, "%s,", fig->section);
    csv_field(f, fig->key);
    fprintf(f, ",%lld,%lld\n", (long long)fig->count, (long long)fig->amount);
    return 0;
}

int term_report_csv(FILE *f, sqlite3 *db, int bn)
{
    int rc;

    fputs("section,key,count,amount\n", f);
    rc = term_report_each(db, bn, csv_figure, f);
    if (rc == GL_OK && ferror(f)) {
        rc = GL_EIO;
    }
    return rc;
}

int term_rows_csv(FILE *f, sqlite3 *db, int bn)
{
    static const char sql[] =
        "SELECT id, created, kind, method, cashier, pan, amount, approved,"
        " rc, auth, rrn, stan, state, offline, orig_id, voided_by,"
        " id IN (SELECT id FROM counted WHERE batch = ?1)"
        " FROM txn WHERE batch = ?1 ORDER BY id";
    sqlite3_stmt *st = NULL;
    char masked[GL_MASK_MAX];
    int rc, src;

    fputs("id,created,kind,method,cashier,number,amount,approved,rc,auth,"
          "rrn,stan,state,offline,orig_id,voided_by,counted\n",
          f);
    src = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
    if (src != SQLITE_OK) {
        rc = gl_sql_rc(src);
        goto out;
    }
    sqlite3_bind_int(st, 1, bn);
    while ((src = sqlite3_step(st)) == SQLITE_ROW) {
        const unsigned char *pan = sqlite3_column_text(st, 5);
        int64_t approved = sqlite3_column_int64(st, 7);

        fprintf(f, "%lld,", (long long)sqlite3_column_int64(st, 0));
        for (int col = 1; col <= 4; col++) {
            csv_text(f, st, col);
            fputc(',', f);
        }
        csv_field(f, pan != NULL ? gl_mask_pan(masked, (const char *)pan,
                                               strlen((const char *)pan))
                                 : "");
        fprintf(f, ",%lld,", (long long)sqlite3_column_int64(st, 6));
        if (sqlite3_column_type(st, 7) != SQLITE_NULL && approved >= 0) {
            fprintf(f, "%lld", (long long)approved);
        }
        for (int col = 8; col <= 10; col++) {
            fputc(',', f);
            csv_text(f, st, col);
        }
        fprintf(f, ",%06lld,", (long long)sqlite3_column_int64(st, 11));
        csv_text(f, st, 12);
        fprintf(f, ",%lld,%lld,%lld,%lld\n",
                (long long)sqlite3_column_int64(st, 13),
                (long long)sqlite3_column_int64(st, 14),
                (long long)sqlite3_column_int64(st, 15),
                (long long)sqlite3_column_int64(st, 16));
    }
    rc = src == SQLITE_DONE ? GL_OK : gl_sql_rc(src);
    if (rc == GL_OK && ferror(f)) {
        rc = GL_EIO;
    }
out:
    sqlite3_finalize(st);
    return rc;
}
