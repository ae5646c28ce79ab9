/*
 * ledger.c - double-entry transfers, holds, group commit and the
 * consistency check (contract in ledger.h).
 *
 * Every public operation is bracketed by store_op_begin/store_op_end: its
 * own transaction, or its own SAVEPOINT inside a batch.  The ledger__*
 * functions do the work inside whatever transaction is open.
 */
#include "ledger.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gl_err.h"
#include "gl_log.h"
#include "ledger_int.h"

/* Flags whose transfers do not move balances. */
#define LG_NONMOVING (LEDGER_F_PENDING | LEDGER_F_VOID)
#define LG_ALLFLAGS                                                           \
    (LEDGER_F_PENDING | LEDGER_F_VOID | LEDGER_F_POST |                       \
     LEDGER_F_OFFLINE_OVERDRAFT | LEDGER_F_EXPIRED | LEDGER_F_PARTIAL)

/* Hold states. */
enum { LG_HOLD_OPEN = 0, LG_HOLD_POSTED = 1, LG_HOLD_VOIDED = 2,
       LG_HOLD_EXPIRED = 3 };

int ledger_init(struct ledger *l, struct store *st,
                const struct ledger_config *cfg)
{
    assert(l != NULL && st != NULL);
    memset(l, 0, sizeof *l);
    l->st = st;
    if (cfg != NULL) {
        l->cfg = *cfg;
    }
    return GL_OK;
}

void ledger_deinit(struct ledger *l)
{
    if (l != NULL) {
        l->st = NULL;
    }
}

int64_t ledger_now(const struct ledger *l)
{
    if (l->cfg.clock != NULL) {
        return l->cfg.clock(l->cfg.clock_ctx);
    }
    return (int64_t)time(NULL);
}

/* ---- accounts -------------------------------------------------------- */

int ledger__account_ensure(struct ledger *l, int kind, const char *ref,
                           unsigned flags, int64_t *id)
{
    int rc = store_get_int(l->st, STORE_Q_ACCOUNT_BY_REF,
                           STORE_ARGS(STORE_I(kind), STORE_T(ref)), id);
    if (rc != GL_ENOTFOUND) {
        return rc;
    }
    if (strlen(ref) > LEDGER_REF_MAX) {
        return GL_EINVAL;
    }
    return store_get_int(l->st, STORE_Q_ACCOUNT_INSERT,
                         STORE_ARGS(STORE_I(kind), STORE_T(ref),
                                    STORE_I(flags), STORE_I(ledger_now(l))),
                         id);
}

int ledger__account_get(struct ledger *l, int64_t id,
                        struct ledger_account *out)
{
    struct store_cursor cur = {0};
    int rc = store_query(l->st, STORE_Q_ACCOUNT_GET, STORE_ARGS(STORE_I(id)),
                         &cur);
    memset(out, 0, sizeof *out);
    if (rc != GL_OK) {
        return rc;
    }
    rc = store_next(&cur);
    if (rc == 1) {
        out->id = store_col_int(&cur, 0);
        out->kind = (int)store_col_int(&cur, 1);
        snprintf(out->ref, sizeof out->ref, "%s", store_col_text(&cur, 2));
        out->flags = (unsigned)store_col_int(&cur, 3);
        out->balance = store_col_int(&cur, 4);
        out->held = store_col_int(&cur, 5);
        out->available = out->balance - out->held;
        out->created = store_col_int(&cur, 6);
        rc = GL_OK;
    } else if (rc == 0) {
        rc = GL_LEDGER_NOACCOUNT;
    }
    store_done(&cur);
    return rc;
}

int ledger_account_ensure(struct ledger *l, int kind, const char *ref,
                          unsigned flags, int64_t *id)
{
    int rc = store_op_begin(l->st);
    *id = 0;
    if (rc != GL_OK) {
        return rc;
    }
    rc = ledger__account_ensure(l, kind, ref, flags, id);
    rc = store_op_end(l->st, rc);
    if (rc != GL_OK) {
        *id = 0;
    }
    return rc;
}

int ledger_account_find(struct ledger *l, int kind, const char *ref,
                        int64_t *id)
{
    int rc = store_get_int(l->st, STORE_Q_ACCOUNT_BY_REF,
                           STORE_ARGS(STORE_I(kind), STORE_T(ref)), id);
    return rc == GL_ENOTFOUND ? GL_LEDGER_NOACCOUNT : rc;
}

int ledger_account_get(struct ledger *l, int64_t id,
                       struct ledger_account *out)
{
    return ledger__account_get(l, id, out);
}

/* ---- transfers ------------------------------------------------------- */

static void lg_row_read(struct store_cursor *cur,
                        struct ledger_transfer_row *r)
{
    r->seq = store_col_int(cur, 0);
    snprintf(r->id, sizeof r->id, "%s", store_col_text(cur, 1));
    r->debit = store_col_int(cur, 2);
    r->credit = store_col_int(cur, 3);
    r->requested = store_col_int(cur, 4);
    r->amount = store_col_int(cur, 5);
    r->kind = (int)store_col_int(cur, 6);
    r->flags = (unsigned)store_col_int(cur, 7);
    snprintf(r->pending_id, sizeof r->pending_id, "%s",
             store_col_text(cur, 8));
    r->timeout = store_col_int(cur, 9);
    r->created = store_col_int(cur, 10);
    r->debit_after = store_col_int(cur, 11);
    r->credit_after = store_col_int(cur, 12);
}

int ledger_transfer_get(struct ledger *l, const char *id,
                        struct ledger_transfer_row *out)
{
    struct store_cursor cur = {0};
    int rc = store_query(l->st, STORE_Q_TRANSFER_BY_ID,
                         STORE_ARGS(STORE_T(id)), &cur);
    memset(out, 0, sizeof *out);
    if (rc != GL_OK) {
        return rc;
    }
    rc = store_next(&cur);
    if (rc == 1) {
        lg_row_read(&cur, out);
        rc = GL_OK;
    } else if (rc == 0) {
        rc = GL_ENOTFOUND;
    }
    store_done(&cur);
    return rc;
}

struct lg_hold {
    int64_t debit, credit, amount, timeout;
    int state;
};

static int lg_hold_get(struct ledger *l, const char *id, struct lg_hold *h)
{
    struct store_cursor cur = {0};
    int rc = store_query(l->st, STORE_Q_HOLD_BY_ID, STORE_ARGS(STORE_T(id)),
                         &cur);
    memset(h, 0, sizeof *h);
    if (rc != GL_OK) {
        return rc;
    }
    rc = store_next(&cur);
    if (rc == 1) {
        h->debit = store_col_int(&cur, 1);
        h->credit = store_col_int(&cur, 2);
        h->amount = store_col_int(&cur, 3);
        h->timeout = store_col_int(&cur, 4);
        h->state = (int)store_col_int(&cur, 5);
        rc = GL_OK;
    } else if (rc == 0) {
        rc = GL_LEDGER_NOHOLD;
    }
    store_done(&cur);
    return rc;
}

/* Is the stored transfer the same request as t? */
static int lg_same_request(const struct ledger_transfer_row *r,
                           const struct ledger_transfer *t)
{
    const char *pid = t->pending_id != NULL ? t->pending_id : "";
    if (r->flags != t->flags || r->kind != t->kind ||
        strcmp(r->pending_id, pid) != 0) {
        return 0;
    }
    if ((t->debit != 0 || !(t->flags & (LEDGER_F_POST | LEDGER_F_VOID))) &&
        t->debit != r->debit) {
        return 0;
    }
    if ((t->credit != 0 || !(t->flags & (LEDGER_F_POST | LEDGER_F_VOID))) &&
        t->credit != r->credit) {
        return 0;
    }
    if (!(t->flags & LEDGER_F_VOID) && t->amount != r->requested) {
        return 0;
    }
    return 1;
}

static int lg_flags_valid(unsigned f)
{
    unsigned mode = f & (LEDGER_F_PENDING | LEDGER_F_VOID | LEDGER_F_POST);
    if ((f & ~(unsigned)LG_ALLFLAGS) != 0) {
        return 0;
    }
    if (mode != 0 && mode != LEDGER_F_PENDING && mode != LEDGER_F_VOID &&
        mode != LEDGER_F_POST) {
        return 0;
    }
    if ((f & LEDGER_F_OFFLINE_OVERDRAFT) && mode != 0) {
        return 0;
    }
    if ((f & LEDGER_F_PARTIAL) &&
        (mode == LEDGER_F_VOID || mode == LEDGER_F_POST)) {
        return 0;
    }
    if ((f & LEDGER_F_EXPIRED) && mode != LEDGER_F_VOID) {
        return 0;
    }
    return 1;
}

static int lg_add(struct ledger *l, enum store_q q, int64_t account,
                  int64_t delta)
{
    int64_t n = 0;
    int rc = store_exec(l->st, q, STORE_ARGS(STORE_I(account), STORE_I(delta)),
                        &n);
    if (rc == GL_OK && n != 1) {
        rc = GL_LEDGER_NOACCOUNT;
    }
    return rc;
}

int ledger__transfer(struct ledger *l, const struct ledger_transfer *t,
                     struct ledger_result *res)
{
    struct ledger_transfer_row prev;
    struct ledger_account da, ca;
    struct lg_hold hold = {0};
    int64_t debit = t->debit, credit = t->credit, amount = t->amount;
    int64_t now = ledger_now(l), expiry = 0;
    unsigned mode = t->flags & (LEDGER_F_PENDING | LEDGER_F_VOID |
                                LEDGER_F_POST);
    int rc;

    memset(res, 0, sizeof *res);
    if (t->id == NULL || t->id[0] == '\0' || strlen(t->id) > LEDGER_ID_CAP ||
        !lg_flags_valid(t->flags)) {
        return GL_EINVAL;
    }
    if ((mode == LEDGER_F_POST || mode == LEDGER_F_VOID) &&
        (t->pending_id == NULL || t->pending_id[0] == '\0')) {
        return GL_EINVAL;
    }

    /* A retry finds the first result. */
    rc = ledger_transfer_get(l, t->id, &prev);
    if (rc == GL_OK) {
        if (!lg_same_request(&prev, t)) {
            return GL_LEDGER_CONFLICT;
        }
        res->seq = prev.seq;
        res->amount = prev.amount;
        res->created = prev.created;
        res->debit_balance = prev.debit_after;
        res->credit_balance = prev.credit_after;
        res->duplicate = 1;
        return GL_OK;
    }
    if (rc != GL_ENOTFOUND) {
        return rc;
    }

    if (mode == LEDGER_F_POST || mode == LEDGER_F_VOID) {
        rc = lg_hold_get(l, t->pending_id, &hold);
        if (rc != GL_OK) {
            return rc;
        }
        if (hold.state != LG_HOLD_OPEN) {
            return GL_LEDGER_HOLD_CLOSED;
        }
        if ((debit != 0 && debit != hold.debit) ||
            (credit != 0 && credit != hold.credit)) {
            return GL_LEDGER_CONFLICT;
        }
        debit = hold.debit;
        credit = hold.credit;
        if (mode == LEDGER_F_POST) {
            if (now >= hold.timeout) {
                return GL_LEDGER_HOLD_EXPIRED;
            }
            if (amount == LEDGER_AMOUNT_HOLD) {
                amount = hold.amount;
            }
            if (amount <= 0 || amount > hold.amount) {
                return GL_LEDGER_AMOUNT;
            }
        } else {
            amount = hold.amount;
        }
        rc = lg_add(l, STORE_Q_ACCOUNT_ADD_HELD, debit, -hold.amount);
        if (rc == GL_OK && mode == LEDGER_F_POST) {
            rc = lg_add(l, STORE_Q_ACCOUNT_ADD_BALANCE, debit, -amount);
            if (rc == GL_OK) {
                rc = lg_add(l, STORE_Q_ACCOUNT_ADD_BALANCE, credit, amount);
            }
        }
        if (rc == GL_OK) {
            int64_t n = 0;
            int state = mode == LEDGER_F_POST ? LG_HOLD_POSTED
                        : (t->flags & LEDGER_F_EXPIRED) ? LG_HOLD_EXPIRED
                                                         : LG_HOLD_VOIDED;
            rc = store_exec(l->st, STORE_Q_HOLD_CLOSE,
                            STORE_ARGS(STORE_T(t->pending_id), STORE_I(state),
                                       STORE_T(t->id)),
                            &n);
            if (rc == GL_OK && n != 1) {
                rc = GL_LEDGER_HOLD_CLOSED;
            }
        }
        if (rc != GL_OK) {
            return rc;
        }
    } else {
        if (debit == credit) {
            return GL_EINVAL;
        }
        if (amount <= 0) {
            return GL_LEDGER_AMOUNT;
        }
        rc = ledger__account_get(l, debit, &da);
        if (rc == GL_OK) {
            rc = ledger__account_get(l, credit, &ca);
        }
        if (rc != GL_OK) {
            return rc;
        }
        if ((da.flags & LEDGER_AF_NONNEG) &&
            !(t->flags & LEDGER_F_OFFLINE_OVERDRAFT) &&
            da.available < amount) {
            if (!(t->flags & LEDGER_F_PARTIAL) || da.available <= 0) {
                return GL_LEDGER_FUNDS;
            }
            amount = da.available;
        }
        if (mode == LEDGER_F_PENDING) {
            expiry = t->timeout > 0 ? now + t->timeout : INT64_MAX;
            rc = lg_add(l, STORE_Q_ACCOUNT_ADD_HELD, debit, amount);
        } else {
            rc = lg_add(l, STORE_Q_ACCOUNT_ADD_BALANCE, debit, -amount);
            if (rc == GL_OK) {
                rc = lg_add(l, STORE_Q_ACCOUNT_ADD_BALANCE, credit, amount);
            }
        }
        if (rc != GL_OK) {
            return rc;
        }
    }

    rc = ledger__account_get(l, debit, &da);
    if (rc == GL_OK) {
        rc = ledger__account_get(l, credit, &ca);
    }
    if (rc != GL_OK) {
        return rc;
    }
    rc = store_get_int(
        l->st, STORE_Q_TRANSFER_INSERT,
        STORE_ARGS(STORE_T(t->id), STORE_I(debit), STORE_I(credit),
                   STORE_I(mode == LEDGER_F_VOID ? 0 : t->amount),
                   STORE_I(amount), STORE_I(t->kind), STORE_I(t->flags),
                   STORE_T(t->pending_id), STORE_I(expiry), STORE_I(now),
                   STORE_I(da.balance), STORE_I(ca.balance)),
        &res->seq);
    if (rc == GL_OK && mode == LEDGER_F_PENDING) {
        rc = store_exec(l->st, STORE_Q_HOLD_INSERT,
                        STORE_ARGS(STORE_T(t->id), STORE_I(debit),
                                   STORE_I(credit), STORE_I(amount),
                                   STORE_I(expiry)),
                        NULL);
    }
    if (rc != GL_OK) {
        return rc;
    }
    res->amount = amount;
    res->created = now;
    res->debit_balance = da.balance;
    res->credit_balance = ca.balance;
    res->duplicate = 0;
    return GL_OK;
}

int ledger_transfer_apply(struct ledger *l, const struct ledger_transfer *t,
                          struct ledger_result *res)
{
    int rc;
    assert(l != NULL && t != NULL && res != NULL);
    memset(res, 0, sizeof *res);
    if (t->id == NULL || t->id[0] == '\0' || strlen(t->id) > LEDGER_ID_MAX) {
        return GL_EINVAL;
    }
    rc = store_op_begin(l->st);
    if (rc != GL_OK) {
        return rc;
    }
    rc = ledger__transfer(l, t, res);
    rc = store_op_end(l->st, rc);
    if (rc != GL_OK) {
        memset(res, 0, sizeof *res);
    }
    return rc;
}

/* ---- holds ----------------------------------------------------------- */

#define LG_EXPIRE_CHUNK 64

int ledger_holds_expire(struct ledger *l, int64_t now, int *count)
{
    char ids[LG_EXPIRE_CHUNK][LEDGER_ID_CAP + 1];
    int total = 0, rc, got;

    if (count != NULL) {
        *count = 0;
    }
    rc = store_op_begin(l->st);
    if (rc != GL_OK) {
        return rc;
    }
    do {
        struct store_cursor cur = {0};
        got = 0;
        rc = store_query(l->st, STORE_Q_HOLD_EXPIRED,
                         STORE_ARGS(STORE_I(now), STORE_I(LG_EXPIRE_CHUNK)),
                         &cur);
        if (rc != GL_OK) {
            break;
        }
        while (got < LG_EXPIRE_CHUNK && (rc = store_next(&cur)) == 1) {
            snprintf(ids[got], sizeof ids[got], "%s", store_col_text(&cur, 0));
            got++;
        }
        store_done(&cur);
        for (int i = 0; i < got && rc == GL_OK; i++) {
            char xid[LEDGER_ID_CAP + 16];
            struct ledger_result res;
            snprintf(xid, sizeof xid, "expire:%.*s", LEDGER_ID_CAP, ids[i]);
            struct ledger_transfer t = {
                .id = xid,
                .kind = LEDGER_TK_EXPIRE,
                .flags = LEDGER_F_VOID | LEDGER_F_EXPIRED,
                .pending_id = ids[i],
            };
            rc = ledger__transfer(l, &t, &res);
            total++;
        }
    } while (rc == GL_OK && got == LG_EXPIRE_CHUNK);
    rc = store_op_end(l->st, rc);
    if (rc == GL_OK && count != NULL) {
        *count = total;
    }
    return rc;
}

/* ---- listings -------------------------------------------------------- */

static int lg_list(struct ledger *l, enum store_q q, const struct store_val *a,
                   size_t n, ledger_row_cb cb, void *ctx)
{
    struct store_cursor cur = {0};
    struct ledger_transfer_row row;
    int rc = store_query(l->st, q, a, n, &cur);
    if (rc != GL_OK) {
        return rc;
    }
    while ((rc = store_next(&cur)) == 1) {
        lg_row_read(&cur, &row);
        rc = cb(ctx, &row);
        if (rc != 0) {
            break;
        }
    }
    store_done(&cur);
    return rc;
}

int ledger_history(struct ledger *l, int64_t account, ledger_row_cb cb,
                   void *ctx)
{
    return lg_list(l, STORE_Q_TRANSFER_HISTORY, STORE_ARGS(STORE_I(account)),
                   cb, ctx);
}

int ledger_overdrafts_list(struct ledger *l, ledger_row_cb cb, void *ctx)
{
    return lg_list(l, STORE_Q_TRANSFER_OVERDRAFTS,
                   STORE_ARGS(STORE_I(LEDGER_F_OFFLINE_OVERDRAFT)), cb, ctx);
}

/* ---- group commit ---------------------------------------------------- */

int ledger_batch_begin(struct ledger *l)
{
    return store_txn_begin(l->st);
}

int ledger_batch_commit(struct ledger *l)
{
    return store_txn_commit(l->st);
}

void ledger_batch_rollback(struct ledger *l)
{
    store_txn_rollback(l->st);
}

/* ---- check ----------------------------------------------------------- */

const char *ledger_check_name(enum ledger_check_what what)
{
    switch (what) {
    case LEDGER_CHK_SUM:
        return "sum";
    case LEDGER_CHK_BALANCE:
        return "balance";
    case LEDGER_CHK_HELD:
        return "held";
    case LEDGER_CHK_HOLD_ORPHAN:
        return "hold-orphan";
    case LEDGER_CHK_HOLD_EXPIRED:
        return "hold-expired";
    case LEDGER_CHK_NEGATIVE:
        return "negative";
    case LEDGER_CHK_TRANSFER_ORPHAN:
        return "transfer-orphan";
    }
    return "unknown";
}

static struct ledger_finding *lg_finding_add(struct ledger_report *rep,
                                             enum ledger_check_what what)
{
    if (rep->n == rep->cap) {
        size_t cap = rep->cap ? rep->cap * 2 : 8;
        struct ledger_finding *p = realloc(rep->items, cap * sizeof *p);
        if (p == NULL) {
            return NULL;
        }
        rep->items = p;
        rep->cap = cap;
    }
    struct ledger_finding *f = &rep->items[rep->n++];
    memset(f, 0, sizeof *f);
    f->what = what;
    return f;
}

/* "account 12 (voucher 627401******1234)" */
static void lg_account_name(char *out, size_t cap, int64_t id, int kind,
                            const char *ref)
{
    static const char *const names[] = {"?",        "voucher",  "merchant",
                                        "clearing", "breakage", "refunds",
                                        "cashout"};
    const char *kn = kind >= 1 && kind <= 6 ? names[kind] : names[0];
    char masked[GL_MASK_MAX];
    const char *shown = ref;
    if (kind == LEDGER_ACC_VOUCHER) {
        shown = gl_mask_pan(masked, ref, strlen(ref));
    }
    if (shown[0] != '\0') {
        snprintf(out, cap, "account %" PRId64 " (%s %s)", id, kn, shown);
    } else {
        snprintf(out, cap, "account %" PRId64 " (%s)", id, kn);
    }
}

static int lg_check_rows(struct ledger *l, struct ledger_report *rep,
                         enum ledger_check_what what, enum store_q q,
                         const struct store_val *a, size_t n)
{
    struct store_cursor cur = {0};
    char name[160];
    int rc = store_query(l->st, q, a, n, &cur);
    if (rc != GL_OK) {
        return rc;
    }
    while ((rc = store_next(&cur)) == 1) {
        struct ledger_finding *f = lg_finding_add(rep, what);
        if (f == NULL) {
            rc = GL_ENOMEM;
            break;
        }
        switch (what) {
        case LEDGER_CHK_BALANCE:
        case LEDGER_CHK_HELD:
            f->account = store_col_int(&cur, 0);
            lg_account_name(name, sizeof name, f->account,
                            (int)store_col_int(&cur, 1),
                            store_col_text(&cur, 2));
            f->actual = store_col_int(&cur, 3);
            f->expected = store_col_int(&cur, 4);
            snprintf(f->text, sizeof f->text,
                     "%s: stored %s %" PRId64 ", its %s give %" PRId64, name,
                     what == LEDGER_CHK_BALANCE ? "balance" : "held amount",
                     f->actual,
                     what == LEDGER_CHK_BALANCE ? "transfers" : "open holds",
                     f->expected);
            break;
        case LEDGER_CHK_HOLD_ORPHAN: {
            snprintf(f->hold, sizeof f->hold, "%s", store_col_text(&cur, 0));
            int64_t deb = store_col_int(&cur, 1), cre = store_col_int(&cur, 2);
            int no_t = (int)store_col_int(&cur, 3);
            int no_d = (int)store_col_int(&cur, 4);
            f->account = no_d ? deb : cre;
            f->expected = store_col_int(&cur, 6);
            f->actual = 0;
            snprintf(f->text, sizeof f->text,
                     "hold %s of %" PRId64 ": %s%s%s", f->hold, f->expected,
                     no_t ? "its pending transfer is missing" : "",
                     no_t && (no_d || store_col_int(&cur, 5)) ? ", " : "",
                     no_d   ? "its debit account is missing"
                     : store_col_int(&cur, 5) ? "its credit account is missing"
                                               : "");
            break;
        }
        case LEDGER_CHK_HOLD_EXPIRED: {
            snprintf(f->hold, sizeof f->hold, "%s", store_col_text(&cur, 0));
            f->account = store_col_int(&cur, 1);
            f->actual = store_col_int(&cur, 2);
            f->expected = 0;
            snprintf(f->text, sizeof f->text,
                     "hold %s on account %" PRId64 ": %" PRId64
                     " still held, expired at %" PRId64 ", not released",
                     f->hold, f->account, f->actual, store_col_int(&cur, 3));
            break;
        }
        case LEDGER_CHK_NEGATIVE:
            f->account = store_col_int(&cur, 0);
            lg_account_name(name, sizeof name, f->account,
                            (int)store_col_int(&cur, 1),
                            store_col_text(&cur, 2));
            f->actual = store_col_int(&cur, 3) - store_col_int(&cur, 4);
            f->expected = 0;
            snprintf(f->text, sizeof f->text,
                     "%s: available %" PRId64
                     " below zero with no offline-overdraft transfer",
                     name, f->actual);
            break;
        case LEDGER_CHK_TRANSFER_ORPHAN:
            snprintf(f->hold, sizeof f->hold, "%s", store_col_text(&cur, 0));
            f->account = store_col_int(&cur, 1);
            f->expected = store_col_int(&cur, 3);
            snprintf(f->text, sizeof f->text,
                     "transfer %s of %" PRId64 " names a missing account"
                     " (debit %" PRId64 ", credit %" PRId64 ")",
                     f->hold, f->expected, store_col_int(&cur, 1),
                     store_col_int(&cur, 2));
            break;
        case LEDGER_CHK_SUM:
            break;
        }
    }
    store_done(&cur);
    return rc;
}

int ledger_check(struct ledger *l, int64_t now, struct ledger_report *rep)
{
    struct store_cursor cur = {0};
    int rc;

    memset(rep, 0, sizeof *rep);
    rc = store_op_begin(l->st);
    if (rc != GL_OK) {
        return rc;
    }
    rc = store_query(l->st, STORE_Q_CHECK_SUM, NULL, 0, &cur);
    if (rc == GL_OK) {
        rc = store_next(&cur);
        if (rc == 1) {
            rep->total = store_col_int(&cur, 0);
            rep->accounts = store_col_int(&cur, 1);
            rc = GL_OK;
        } else if (rc == 0) {
            rc = GL_DB;
        }
        store_done(&cur);
    }
    if (rc == GL_OK && rep->total != 0) {
        struct ledger_finding *f = lg_finding_add(rep, LEDGER_CHK_SUM);
        if (f == NULL) {
            rc = GL_ENOMEM;
        } else {
            f->expected = 0;
            f->actual = rep->total;
            snprintf(f->text, sizeof f->text,
                     "sum of all balances is %" PRId64 ", expected 0",
                     rep->total);
        }
    }
    if (rc == GL_OK) {
        rc = lg_check_rows(l, rep, LEDGER_CHK_BALANCE, STORE_Q_CHECK_BALANCES,
                           STORE_ARGS(STORE_I(LG_NONMOVING)));
    }
    if (rc == GL_OK) {
        rc = lg_check_rows(l, rep, LEDGER_CHK_HELD, STORE_Q_CHECK_HELD, NULL,
                           0);
    }
    if (rc == GL_OK) {
        rc = lg_check_rows(l, rep, LEDGER_CHK_TRANSFER_ORPHAN,
                           STORE_Q_CHECK_TRANSFER_ORPHANS, NULL, 0);
    }
    if (rc == GL_OK) {
        rc = lg_check_rows(l, rep, LEDGER_CHK_HOLD_ORPHAN,
                           STORE_Q_CHECK_HOLD_ORPHANS, NULL, 0);
    }
    if (rc == GL_OK) {
        rc = lg_check_rows(l, rep, LEDGER_CHK_HOLD_EXPIRED,
                           STORE_Q_CHECK_HOLD_EXPIRED,
                           STORE_ARGS(STORE_I(now)));
    }
    if (rc == GL_OK) {
        rc = lg_check_rows(l, rep, LEDGER_CHK_NEGATIVE, STORE_Q_CHECK_NEGATIVE,
                           STORE_ARGS(STORE_I(LEDGER_AF_NONNEG),
                                      STORE_I(LEDGER_F_OFFLINE_OVERDRAFT)));
    }
    /* Read only: end the transaction either way. */
    rc = store_op_end(l->st, rc);
    if (rc != GL_OK) {
        ledger_report_free(rep);
    }
    return rc;
}

void ledger_report_free(struct ledger_report *rep)
{
    if (rep == NULL) {
        return;
    }
    free(rep->items);
    memset(rep, 0, sizeof *rep);
}
