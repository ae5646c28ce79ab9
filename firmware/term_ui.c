/*
 * term_ui.c - the cashier's commands, shared by the line-scripted mode
 * (stdin, one command a line, one `result` line back) and the screen.
 *
 *   redeem AMOUNT HOW [N]   HOW: scan | card | nfc | irda | key:NUMBER;
 *                           N: which voucher of a phone's wallet (1..)
 *   balance HOW
 *   refund AMOUNT HOW [RRN] with RRN: the redemption refunded
 *   void [last | RRN]
 *   activate AMOUNT HOW | reload AMOUNT HOW | cashout HOW
 *   close                   batch close (0500; 0320 uploads on 95), Z report
 *   report                  X report of the open batch
 *   export [PATH]           CSV of the open batch (default: export_dir)
 *   reprint                 the last receipt again
 *   cashier ID              the cashier at the counter (DE 48 CA)
 *   status                  link, batch, what is owed
 *   quit                    sign off and stop
 * The result line: `result <command> rc=<DE 39 or -> key=value ...
 * msg="<cashier message>"`; amounts in KRW.
 */
#include <ctype.h>
#include <inttypes.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gl_err.h"
#include "gl_log.h"
#include "term.h"
#include "term_ui.h"

#define MOD "ui"

static enum term_kind kind_of(const char *w, int *ok)
{
    static const char *const names[] = {
        [TK_REDEEM] = "redeem",     [TK_BALANCE] = "balance",
        [TK_REFUND] = "refund",     [TK_VOID] = "void",
        [TK_ACTIVATE] = "activate", [TK_RELOAD] = "reload",
        [TK_CASHOUT] = "cashout",
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (strcmp(w, names[i]) == 0) {
            *ok = 1;
            return (enum term_kind)i;
        }
    }
    *ok = 0;
    return TK_REDEEM;
}

static int parse_amount(const char *s, int64_t *v)
{
    char *end;
    if (s == NULL || !isdigit((unsigned char)s[0])) {
        return GL_EINVAL;
    }
    long long a = strtoll(s, &end, 10);
    if (*end != '\0' || a <= 0 || a > 999999999999LL) {
        return GL_ERANGE;
    }
    *v = a;
    return GL_OK;
}

static void when_now(char out[20])
{
    char b[80];
    time_t s = time(NULL) + 9 * 3600;
    struct tm tm;
    gmtime_r(&s, &tm);
    snprintf(b, sizeof b, "%04d-%02d-%02d %02d:%02d:%02d", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    memcpy(out, b, 19);
    out[19] = '\0';
}

/* VmHWM of /proc/self/status, kB (-1 when unknown). */
static long peak_rss_kb(void)
{
    char line[128];
    long kb = -1;
    FILE *f = fopen("/proc/self/status", "r");
    if (f == NULL) {
        return -1;
    }
    while (fgets(line, sizeof line, f) != NULL) {
        if (sscanf(line, "VmHWM: %ld", &kb) == 1) {
            break;
        }
    }
    fclose(f);
    return kb;
}

static void out_msg(struct ui_out *o, const struct term *t,
                    const struct term_result *res)
{
    const char *m = NULL;
    if (res->rc[0] != '\0' && !(res->has_msg && res->msg == TERM_MSG_OFFLINE_APPROVED)) {
        m = term_msg_rc(res->rc, t->lang);
    } else if (res->has_msg) {
        m = term_msg(res->msg, t->lang);
    }
    snprintf(o->msg, sizeof o->msg, "%s", m ? m : "");
}

/* Receipts of t->cur: merchant copy (when configured), customer copy. */
static void print_receipts(struct term *t, const struct term_txn *r, int reprint,
                           struct ui_out *o)
{
    struct term_result pr;
    memset(&pr, 0, sizeof pr);
    for (int copy = (t->cfg.copies == 2 && !reprint) ? 0 : 1; copy < 2; copy++) {
        escpos_enc_reset(&t->enc);
        term_receipt(&t->enc, &t->ident, r,
                     copy == 0 ? TERM_COPY_MERCHANT : TERM_COPY_CUSTOMER,
                     reprint);
        int rc = dev_print(t, &pr);
        if (rc != GL_OK && rc != GL_DEV_NODEV) {
            snprintf(o->extra + strlen(o->extra),
                     sizeof o->extra - strlen(o->extra), " print=\"%s\"",
                     term_msg(pr.msg, t->lang));
            break;
        }
    }
}

static void txn_fields(struct ui_out *o, const struct term_txn *r)
{
    size_t n = strlen(o->extra);
    n += (size_t)snprintf(o->extra + n, sizeof o->extra - n,
                          " amount=%" PRId64, r->amount);
    if (r->approved >= 0) {
        n += (size_t)snprintf(o->extra + n, sizeof o->extra - n,
                              " approved=%" PRId64, r->approved);
        if (r->approved < r->amount) {
            n += (size_t)snprintf(o->extra + n, sizeof o->extra - n,
                                  " collect=%" PRId64, r->amount - r->approved);
        }
    }
    if (r->has_balance) {
        n += (size_t)snprintf(o->extra + n, sizeof o->extra - n,
                              " balance=%" PRId64, r->balance);
    }
    if (r->auth[0] != '\0') {
        n += (size_t)snprintf(o->extra + n, sizeof o->extra - n, " auth=%s",
                              r->auth);
    }
    snprintf(o->extra + n, sizeof o->extra - n, " rrn=%s stan=%06d", r->rrn,
             r->stan);
}

static int do_txn(struct term *t, enum term_kind kind, char **arg, int nargs,
                  struct ui_out *o)
{
    struct term_present p;
    struct term_result res;
    int64_t amount = 0;
    const char *how = NULL, *ref = NULL;
    int index = 0, rc, a = 0;

    memset(&p, 0, sizeof p);
    memset(&res, 0, sizeof res);
    if (kind == TK_VOID) {
        ref = nargs > 0 ? arg[0] : "last";
    } else {
        if (kind != TK_BALANCE && kind != TK_CASHOUT) {
            if (nargs < 1 || parse_amount(arg[a], &amount) != GL_OK) {
                snprintf(o->error, sizeof o->error, "amount: a number of KRW "
                         "above 0 expected");
                return GL_EINVAL;
            }
            a++;
        }
        if (nargs <= a) {
            snprintf(o->error, sizeof o->error,
                     "how: scan, card, nfc, irda or key:NUMBER expected");
            return GL_EINVAL;
        }
        how = arg[a++];
        if (nargs > a) {
            if (kind == TK_REFUND) {
                ref = arg[a];
            } else {
                index = atoi(arg[a]);
            }
        }
        if ((kind == TK_BALANCE || kind == TK_CASHOUT) &&
            (strcmp(how, "nfc") == 0 || strcmp(how, "irda") == 0)) {
            snprintf(o->error, sizeof o->error, "a phone shows its balance "
                     "itself; %s needs a scan, card or keyed number",
                     kind == TK_BALANCE ? "balance" : "cashout");
            return GL_EINVAL;
        }
        rc = dev_present(t, how, amount, index, &p, &res);
        if (rc != GL_OK) {
            out_msg(o, t, &res);
            snprintf(o->rc, sizeof o->rc, "-");
            snprintf(o->extra, sizeof o->extra, " error=\"%s\"",
                     gl_strerror(rc));
            return rc;
        }
        if (kind == TK_CASHOUT) {
            /* the amount of a cash-out is the whole available balance */
            rc = tx_run(t, TK_BALANCE, 0, &p, NULL, &res);
            if (rc != GL_OK || strcmp(res.rc, "00") != 0 ||
                !t->cur.has_balance) {
                out_msg(o, t, &res);
                snprintf(o->rc, sizeof o->rc, "%s", res.rc[0] ? res.rc : "-");
                return rc != GL_OK ? rc : GL_EINVAL;
            }
            amount = t->cur.balance;
            if (amount <= 0) {
                snprintf(o->rc, sizeof o->rc, "51");
                snprintf(o->msg, sizeof o->msg, "%s", term_msg_rc("51", t->lang));
                return GL_EINVAL;
            }
        }
    }
    rc = tx_run(t, kind, amount, &p, ref, &res);
    crypto_wipe(&p, sizeof p);
    out_msg(o, t, &res);
    snprintf(o->rc, sizeof o->rc, "%s", res.rc[0] ? res.rc : "-");
    if (t->cur.id != 0 && res.rc[0] == '\0') {
        /* no answer that stands: what was asked and the request's identity */
        size_t n = strlen(o->extra);
        snprintf(o->extra + n, sizeof o->extra - n,
                 " amount=%" PRId64 " rrn=%s stan=%06d", t->cur.amount,
                 t->cur.rrn, t->cur.stan);
    } else if (t->cur.id != 0) {
        txn_fields(o, &t->cur);
        if (kind != TK_BALANCE && (strcmp(t->cur.rc, "00") == 0 ||
                                   strcmp(t->cur.rc, "10") == 0)) {
            print_receipts(t, &t->cur, 0, o);
        }
    }
    if (rc != GL_OK && res.code != GL_OK) {
        size_t n = strlen(o->extra);
        snprintf(o->extra + n, sizeof o->extra - n, " error=\"%s\"",
                 gl_strerror(res.code));
    }
    return rc;
}

static int do_close(struct term *t, struct ui_out *o)
{
    struct term_result res;
    char when[20];
    int bn = t->batch;
    int rc = tx_close(t, &res);
    out_msg(o, t, &res);
    if (res.has_msg) {
        /* the close's own outcome, not the 0510's code as a sale */
        snprintf(o->msg, sizeof o->msg, "%s", term_msg(res.msg, t->lang));
    }
    snprintf(o->rc, sizeof o->rc, "%s", res.rc[0] ? res.rc : "-");
    snprintf(o->extra, sizeof o->extra, " batch=%06d", bn);
    if (rc == GL_OK) {
        struct term_result pr;
        when_now(when);
        escpos_enc_reset(&t->enc);
        term_report(&t->enc, t->j.db, &t->ident, bn, 1, when);
        memset(&pr, 0, sizeof pr);
        if (dev_print(t, &pr) != GL_OK && pr.has_msg) {
            size_t n = strlen(o->extra);
            snprintf(o->extra + n, sizeof o->extra - n, " print=\"%s\"",
                     term_msg(pr.msg, t->lang));
        }
        size_t n = strlen(o->extra);
        snprintf(o->extra + n, sizeof o->extra - n, " next=%06d", t->batch);
    }
    return rc;
}

/* Two files: PATH (the report's figures) and PATH with "-rows" before its
 * extension (every row of the batch, numbers masked). */
static int do_export(struct term *t, const char *path, struct ui_out *o)
{
    char def[TERM_PATH_MAX + 32], rows[TERM_PATH_MAX + 48];
    if (path == NULL) {
        snprintf(def, sizeof def, "%.255s/batch-%06d.csv",
                 t->cfg.export_dir[0] ? t->cfg.export_dir : ".", t->batch);
        path = def;
    }
    const char *dot = strrchr(path, '.');
    const char *slash = strrchr(path, '/');
    int stem = (dot != NULL && (slash == NULL || dot > slash))
                   ? (int)(dot - path)
                   : (int)strlen(path);
    snprintf(rows, sizeof rows, "%.*s-rows%s", stem > 255 ? 255 : stem, path,
             path[stem] ? path + stem : ".csv");
    int rc = GL_OK;
    for (int k = 0; k < 2 && rc == GL_OK; k++) {
        const char *p = k == 0 ? path : rows;
        FILE *f = fopen(p, "w");
        if (f == NULL) {
            snprintf(o->error, sizeof o->error, "cannot write %.150s", p);
            return GL_EIO;
        }
        rc = k == 0 ? term_report_csv(f, t->j.db, t->batch)
                    : term_rows_csv(f, t->j.db, t->batch);
        if (fclose(f) != 0 && rc == GL_OK) {
            rc = GL_EIO;
        }
        if (rc != GL_OK) {
            snprintf(o->error, sizeof o->error, "export %.120s: %s", p,
                     gl_strerror(rc));
            return rc;
        }
    }
    snprintf(o->rc, sizeof o->rc, "-");
    snprintf(o->extra, sizeof o->extra, " file=%.250s rows=%.250s", path, rows);
    return GL_OK;
}

int ui_exec(struct term *t, char *line, struct ui_out *o)
{
    char *arg[8], *save = NULL;
    int n = 0, ok;

    memset(o, 0, sizeof *o);
    for (char *w = strtok_r(line, " \t\r\n", &save); w != NULL && n < 8;
         w = strtok_r(NULL, " \t\r\n", &save)) {
        arg[n++] = w;
    }
    if (n == 0 || arg[0][0] == '#') {
        return GL_ENOTFOUND; /* blank or comment: no answer */
    }
    snprintf(o->cmd, sizeof o->cmd, "%s", arg[0]);
    enum term_kind k = kind_of(arg[0], &ok);
    if (ok) {
        return do_txn(t, k, arg + 1, n - 1, o);
    }
    if (strcmp(arg[0], "close") == 0) {
        return do_close(t, o);
    }
    if (strcmp(arg[0], "report") == 0) {
        char when[20];
        struct term_result pr;
        when_now(when);
        escpos_enc_reset(&t->enc);
        term_report(&t->enc, t->j.db, &t->ident, t->batch, 0, when);
        memset(&pr, 0, sizeof pr);
        int rc = dev_print(t, &pr);
        snprintf(o->rc, sizeof o->rc, "-");
        snprintf(o->extra, sizeof o->extra, " batch=%06d", t->batch);
        if (rc != GL_OK && pr.has_msg) {
            snprintf(o->msg, sizeof o->msg, "%s", term_msg(pr.msg, t->lang));
        }
        return rc == GL_DEV_NODEV ? GL_OK : rc;
    }
    if (strcmp(arg[0], "export") == 0) {
        return do_export(t, n > 1 ? arg[1] : NULL, o);
    }
    if (strcmp(arg[0], "reprint") == 0) {
        int64_t id = 0;
        snprintf(o->rc, sizeof o->rc, "-");
        if (tj_meta_int(&t->j, "last_receipt", &id) != GL_OK ||
            tj_txn_get(&t->j, id, &t->aux) != GL_OK) {
            snprintf(o->msg, sizeof o->msg, "%s",
                     term_msg(TERM_MSG_NOTHING_TO_REPRINT, t->lang));
            return GL_ENOTFOUND;
        }
        print_receipts(t, &t->aux, 1, o);
        snprintf(o->extra + strlen(o->extra), sizeof o->extra - strlen(o->extra),
                 " rrn=%s", t->aux.rrn);
        return GL_OK;
    }
    if (strcmp(arg[0], "cashier") == 0 && n == 2 && strlen(arg[1]) <= 8) {
        snprintf(t->cfg.cashier, sizeof t->cfg.cashier, "%s", arg[1]);
        snprintf(o->rc, sizeof o->rc, "-");
        snprintf(o->extra, sizeof o->extra, " cashier=%s", t->cfg.cashier);
        return GL_OK;
    }
    if (strcmp(arg[0], "status") == 0) {
        int64_t rev = 0, adv = 0;
        struct mallinfo2 mi = mallinfo2();
        tj_count_state(&t->j, "reverse", &rev);
        tj_count_state(&t->j, "advice", &adv);
        snprintf(o->rc, sizeof o->rc, "-");
        /* heap: bytes allocated now (malloc's own count), for the
         * zero-growth benchmark; hwm: peak resident set, kB */
        snprintf(o->extra, sizeof o->extra,
                 " link=%s batch=%06d reversals=%" PRId64 " advices=%" PRId64
                 " sent=%lu received=%lu reconnects=%lu resumed=%lu heap=%zu"
                 " hwm=%ld",
                 t->link.signed_on ? "up" : "down", t->batch, rev, adv,
                 t->link.sent, t->link.received, t->link.reconnects,
                 t->link.resumed, mi.uordblks, peak_rss_kb());
        return GL_OK;
    }
    if (strcmp(arg[0], "quit") == 0) {
        t->stopping = 1;
        snprintf(o->rc, sizeof o->rc, "-");
        return GL_OK;
    }
    snprintf(o->error, sizeof o->error, "unknown command \"%s\"", arg[0]);
    return GL_EINVAL;
}

void ui_format(const struct ui_out *o, char *buf, size_t cap)
{
    if (o->error[0] != '\0') {
        snprintf(buf, cap, "error %s: %s", o->cmd, o->error);
        return;
    }
    snprintf(buf, cap, "result %s rc=%s%s msg=\"%s\"", o->cmd, o->rc, o->extra,
             o->msg);
}

int ui_script_line(struct term *t, char *line)
{
    struct ui_out o;
    char buf[sizeof o.extra + sizeof o.msg + 128];
    int rc = ui_exec(t, line, &o);
    if (rc == GL_ENOTFOUND && o.cmd[0] == '\0') {
        return GL_OK;
    }
    ui_format(&o, buf, sizeof buf);
    printf("%s\n", buf);
    fflush(stdout);
    return rc;
}
