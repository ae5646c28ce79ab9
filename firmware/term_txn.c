/*
 * term_txn.c - the transaction engine of gl-term (docs/host-interface.md
 * sections 11.5 to 11.9, from the terminal's side).
 *
 * The order of every financial request:
 *   1. what is owed first: an unanswered reversal or advice is sent (and
 *      must be answered) before any new 0100/0200;
 *   2. one journal transaction: next STAN, next DUKPT counter (unless the
 *      PIN pad took it with the PIN block), the row in state `pending`;
 *      committed (fsync) before a byte leaves;
 *   3. send, wait for the answer (response_timeout);
 *   4. answer: the row becomes `done` with DE 39/38/4/54/VD, committed;
 *      no answer, a broken link or a bad MAC: the row becomes `reverse`
 *      with the reversal's own STAN and DE 7, committed, then the 0400 is
 *      sent at once (on a new connection if needed) and repeated as 0401
 *      until a 0410 comes;
 *   5. after a power cut (tx_recover) every `pending` row is owed a 0420.
 * Offline (off by default): with the link down, a redemption up to the
 * floor limit without a PIN is approved by the terminal (`advice`) and
 * sent later as a 0220 (0221 repeats).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "gl_err.h"
#include "gl_log.h"
#include "term.h"

#define MOD "txn"

static const struct {
    const char *name, *mti, *proc;
} KINDS[] = {
    [TK_REDEEM] = {"redeem", "0200", "006000"},
    [TK_BALANCE] = {"balance", "0100", "316000"},
    [TK_REFUND] = {"refund", "0200", "200060"},
    [TK_VOID] = {"void", "0200", "026000"},
    [TK_ACTIVATE] = {"activate", "0200", "900060"},
    [TK_RELOAD] = {"reload", "0200", "210060"},
    [TK_CASHOUT] = {"cashout", "0200", "616000"},
};

/* ---- fault points ---------------------------------------------------- */

void tx_fault_point(const char *step)
{
    static int parsed, want_n, seen;
    static char want[48];
    if (!parsed) {
        const char *e = getenv("GL_TERM_KILL_AT");
        parsed = 1;
        if (e != NULL) {
            const char *h = strchr(e, '#');
            size_t n = h ? (size_t)(h - e) : strlen(e);
            if (n < sizeof want) {
                memcpy(want, e, n);
                want[n] = '\0';
                want_n = h ? atoi(h + 1) : 1;
            }
        }
    }
    if (want[0] != '\0' && strcmp(step, want) == 0 && ++seen == want_n) {
        fprintf(stderr, "gl-term: killed at %s#%d (GL_TERM_KILL_AT)\n", step,
                want_n);
        raise(SIGKILL);
    }
}

static void journal_failed(struct term *t, int rc);

/* ---- time ------------------------------------------------------------ */

struct kst {
    char de7[11], de12[7], de13[5], de15[5], iso[20], rrn6[7];
};

static void kst_now(struct kst *k)
{
    char b[96];
    time_t s = time(NULL) + 9 * 3600;
    struct tm tm;
    gmtime_r(&s, &tm);
    /* MMDDhhmmss YYYY-MM-DD hh:mm:ss YDDDhh, cut into the fields */
    snprintf(b, sizeof b, "%02d%02d%02d%02d%02d|%04d-%02d-%02d %02d:%02d:%02d|"
             "%01d%03d%02d", tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
             tm.tm_sec, tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
             tm.tm_hour, tm.tm_min, tm.tm_sec, tm.tm_year % 10, tm.tm_yday + 1,
             tm.tm_hour);
    memcpy(k->de7, b, 10);
    k->de7[10] = '\0';
    memcpy(k->de12, b + 4, 6);
    k->de12[6] = '\0';
    memcpy(k->de13, b, 4);
    k->de13[4] = '\0';
    memcpy(k->de15, b, 4);
    k->de15[4] = '\0';
    memcpy(k->iso, b + 11, 19);
    k->iso[19] = '\0';
    memcpy(k->rrn6, b + 31, 6);
    k->rrn6[6] = '\0';
}

static int64_t wall_s(void)
{
    return (int64_t)time(NULL);
}

/* Inside a journal transaction: the next STAN, saved. */
static int next_stan(struct term *t, int *stan)
{
    int64_t v = 0;
    if (tj_meta_int(&t->j, "stan", &v) != GL_OK) {
        v = 0;
    }
    v = v % 999999 + 1;
    *stan = (int)v;
    return tj_meta_set_int(&t->j, "stan", v);
}

/* 30, 60, 120, 240 s, then every 300 s (configurable first and max). */
static int64_t repeat_after(const struct term *t, int sends)
{
    int64_t s = t->cfg.repeat_first_s;
    for (int i = 1; i < sends && s < t->cfg.repeat_max_s; i++) {
        s *= 2;
    }
    return s < t->cfg.repeat_max_s ? s : t->cfg.repeat_max_s;
}

/* ---- message building ------------------------------------------------ */

static void set_str(struct iso_msg *m, int f, const char *v)
{
    if (v != NULL && v[0] != '\0') {
        iso_msg_set_str(m, f, v, NULL);
    }
}

static void de90_of(const struct term_txn *o, char out[43])
{
    snprintf(out, 43, "%.4s%06d%.10s0000000000000000000000", o->mti, o->stan,
             o->de7);
}

/* DE 48 without KS: CA, then the row's extra elements (PC CH AT ...),
 * then `more` (OF, BN): the order of section 7. */
static int set_de48(struct iso_msg *m, const struct term_txn *r,
                    const char *more)
{
    char v[TERM_DE48X_MAX + 400];
    snprintf(v, sizeof v, "CA%03zu%s%s%s", strlen(r->cashier), r->cashier,
             r->de48x, more ? more : "");
    return iso_msg_set_str(m, 48, v, NULL);
}

/* The fields every request about this row's card carries. */
static void common_fields(struct term *t, struct iso_msg *m,
                          const struct term_txn *r)
{
    set_str(m, 2, r->pan);
    set_str(m, 3, r->proc);
    set_str(m, 41, t->cfg.tid);
    set_str(m, 42, t->cfg.merchant);
    set_str(m, 49, "410");
}

static void build_request(struct term *t, struct iso_msg *m,
                          const struct term_txn *r)
{
    iso_msg_init(m);
    iso_msg_set_mti(m, r->mti);
    common_fields(t, m, r);
    if (strcmp(r->kind, "balance") != 0) {
        iso_msg_set_u64(m, 4, (uint64_t)r->amount);
    }
    set_str(m, 7, r->de7);
    iso_msg_set_u64(m, 11, (uint64_t)r->stan);
    set_str(m, 12, r->de12);
    set_str(m, 13, r->de13);
    set_str(m, 14, r->expiry);
    set_str(m, 22, r->entry);
    set_str(m, 25, "00");
    set_str(m, 37, r->rrn);
    set_str(m, 90, r->de90);
    set_de48(m, r, NULL);
}

/* ---- answers --------------------------------------------------------- */

/* DE 54's available balance (type 02), signed. */
static int parse_de54(const struct iso_msg *m, int64_t *bal)
{
    char v[121];
    if (iso_msg_get_str(m, 54, v, sizeof v) != GL_OK) {
        return 0;
    }
    for (size_t i = 0; i + 20 <= strlen(v); i += 20) {
        if (memcmp(v + i, "6002", 4) == 0) {
            int64_t a = 0;
            for (int k = 8; k < 20; k++) {
                if (v[i + k] < '0' || v[i + k] > '9') {
                    return 0;
                }
                a = a * 10 + (v[i + k] - '0');
            }
            *bal = v[i + 7] == 'D' ? -a : a;
            return 1;
        }
    }
    return 0;
}

static void take_answer(struct term *t, struct term_txn *r)
{
    const struct iso_msg *m = &t->resp;
    const uint8_t *v, *vd;
    size_t vn, vdn;
    uint64_t a;
    struct kst k;

    kst_now(&k);
    iso_msg_get_str(m, 39, r->rc, sizeof r->rc);
    iso_msg_get_str(m, 38, r->auth, sizeof r->auth);
    r->approved = -1;
    if (strcmp(r->rc, "00") == 0 || strcmp(r->rc, "10") == 0) {
        r->approved = r->amount;
        if (strcmp(r->rc, "10") == 0 && iso_msg_get_u64(m, 4, &a) == GL_OK &&
            (int64_t)a <= r->amount) {
            r->approved = (int64_t)a;
        }
    }
    r->has_balance = parse_de54(m, &r->balance);
    r->vd[0] = '\0';
    if (iso_msg_get(m, 48, &v, &vn) == GL_OK &&
        iso_tlv_find(v, vn, "VD", &vd, &vdn) == GL_OK && vdn < sizeof r->vd) {
        memcpy(r->vd, vd, vdn);
        r->vd[vdn] = '\0';
    }
    snprintf(r->state, sizeof r->state, "done");
    snprintf(r->answered, sizeof r->answered, "%s", k.iso);
}

/* ---- what is owed: reversals and advices ----------------------------- */

/*
 * Before one more transmission of an owed reversal or advice: the next DUKPT
 * keys, the count of transmissions and the time of the next repeat, saved
 * in one journal transaction.
 */
static int next_transmission(struct term *t, struct term_txn *r, int *sends,
                             struct crypto_mac_keys *keys)
{
    int rc = tj_begin(&t->j);
    if (rc == GL_OK) {
        rc = link_next_keys(t, keys);
    }
    if (rc == GL_OK) {
        (*sends)++;
        r->next_at = wall_s() + repeat_after(t, *sends);
        rc = tj_txn_update(&t->j, r);
    }
    if (rc == GL_OK) {
        rc = tj_commit(&t->j);
    } else {
        (*sends)--;
        tj_rollback(&t->j);
    }
    return rc;
}

static int send_reversal(struct term *t, struct term_txn *r)
{
    struct crypto_mac_keys keys;
    struct iso_msg *m = &t->req;
    char mti[5], de90[43];
    int rc = next_transmission(t, r, &r->rev_sends, &keys);

    if (rc != GL_OK) {
        return rc;
    }
    snprintf(mti, sizeof mti, "%.3s%c", r->rev_mti, r->rev_sends > 1 ? '1' : '0');
    iso_msg_init(m);
    iso_msg_set_mti(m, mti);
    common_fields(t, m, r);
    iso_msg_set_u64(m, 4, (uint64_t)r->amount);
    set_str(m, 7, r->rev_de7);
    iso_msg_set_u64(m, 11, (uint64_t)r->rev_stan);
    set_str(m, 12, r->de12);
    set_str(m, 13, r->de13);
    set_str(m, 22, r->entry);
    set_str(m, 25, "00");
    de90_of(r, de90);
    set_str(m, 90, de90);
    /* a phone's cryptogram elements belong to the original only */
    char ca[32];
    snprintf(ca, sizeof ca, "CA%03zu%s", strlen(r->cashier), r->cashier);
    iso_msg_set_str(m, 48, ca, NULL);
    rc = link_set_ks(m, &keys);
    if (rc == GL_OK) {
        rc = link_exchange(t, m, &keys, t->cfg.response_timeout_s);
    }
    crypto_mac_keys_wipe(&keys);
    if (rc != GL_OK) {
        GL_LOG_WARN(MOD, "%s for STAN %06d unanswered (%s); next in %llds",
                    mti, r->stan, gl_strerror(rc),
                    (long long)(r->next_at - wall_s()));
        return rc;
    }
    tx_fault_point("reversal_answered");
    iso_msg_get_str(&t->resp, 39, r->rev_rc, sizeof r->rev_rc);
    snprintf(r->state, sizeof r->state, "reversed");
    rc = tj_txn_update(&t->j, r);
    GL_LOG_INFO(MOD, "%s for STAN %06d answered %s", mti, r->stan, r->rev_rc);
    return rc;
}

static int send_advice(struct term *t, struct term_txn *r)
{
    struct crypto_mac_keys keys;
    struct iso_msg *m = &t->req;
    char mti[5];
    int rc = next_transmission(t, r, &r->adv_sends, &keys);

    if (rc != GL_OK) {
        return rc;
    }
    snprintf(mti, sizeof mti, "022%c", r->adv_sends > 1 ? '1' : '0');
    build_request(t, m, r);
    iso_msg_set_mti(m, mti);
    set_str(m, 38, r->auth);
    set_str(m, 39, "00");
    set_de48(m, r, "OF001Y");
    rc = link_set_ks(m, &keys);
    if (rc == GL_OK) {
        rc = link_exchange(t, m, &keys, t->cfg.response_timeout_s);
    }
    crypto_mac_keys_wipe(&keys);
    if (rc != GL_OK) {
        GL_LOG_WARN(MOD, "%s STAN %06d unanswered (%s)", mti, r->stan,
                    gl_strerror(rc));
        return rc;
    }
    tx_fault_point("advice_answered");
    iso_msg_get_str(&t->resp, 39, r->adv_rc, sizeof r->adv_rc);
    /* 14: an unknown number; nothing moved (the merchant's loss) */
    snprintf(r->state, sizeof r->state, "%s",
             strcmp(r->adv_rc, "14") == 0 ? "refused" : "done");
    rc = tj_txn_update(&t->j, r);
    GL_LOG_INFO(MOD, "%s STAN %06d answered %s", mti, r->stan, r->adv_rc);
    return rc;
}

int tx_flush(struct term *t, int force)
{
    struct term_txn *r = &t->aux;
    if (t->journal_broken) {
        return GL_DB;
    }
    for (;;) {
        int rc = tj_txn_first_in(&t->j, "reverse,advice", r);
        if (rc == GL_ENOTFOUND) {
            return GL_OK;
        }
        if (rc != GL_OK) {
            return rc;
        }
        if (!force && r->next_at > wall_s()) {
            return GL_EAGAIN;
        }
        rc = link_up(t, force);
        if (rc != GL_OK) {
            return rc;
        }
        rc = strcmp(r->state, "reverse") == 0 ? send_reversal(t, r)
                                               : send_advice(t, r);
        if (rc != GL_OK) {
            journal_failed(t, rc);
            return rc;
        }
    }
}

int tx_recover(struct term *t)
{
    struct term_txn *r = &t->aux;
    struct kst k;
    int n = 0, rc = tj_begin(&t->j);

    while (rc == GL_OK) {
        rc = tj_txn_first_in(&t->j, "pending", r);
        if (rc == GL_ENOTFOUND) {
            rc = GL_OK;
            break;
        }
        if (rc != GL_OK) {
            break;
        }
        if (strcmp(r->kind, "balance") == 0) {
            snprintf(r->state, sizeof r->state, "dropped");
        } else {
            kst_now(&k);
            snprintf(r->state, sizeof r->state, "reverse");
            snprintf(r->rev_mti, sizeof r->rev_mti, "0420");
            snprintf(r->rev_de7, sizeof r->rev_de7, "%s", k.de7);
            rc = next_stan(t, &r->rev_stan);
            r->next_at = 0;
            n++;
        }
        if (rc == GL_OK) {
            rc = tj_txn_update(&t->j, r);
        }
    }
    if (rc == GL_OK) {
        rc = tj_commit(&t->j);
    } else {
        tj_rollback(&t->j);
    }
    if (rc == GL_OK && n > 0) {
        GL_LOG_WARN(MOD, "%d request(s) unanswered at the last stop: "
                    "reversal advices (0420) owed", n);
    }
    return rc;
}

/* ---- a journal that cannot be written --------------------------------- */

static int is_db_error(int rc)
{
    return rc == GL_DB || rc == GL_DB_FULL || rc == GL_DB_BUSY ||
           rc == GL_DB_CORRUPT;
}

/* A write failed: no new transaction until the journal takes writes again
 * (the full disk freed); the rows it could not update stay `pending` and
 * are reversed then, as after a power cut. */
static void journal_failed(struct term *t, int rc)
{
    if (is_db_error(rc) && !t->journal_broken) {
        t->journal_broken = 1;
        GL_LOG_ERR(MOD, "the journal cannot be written (%s): no transactions "
                   "until it can", gl_strerror(rc));
    }
}

int tx_journal_retry(struct term *t)
{
    if (!t->journal_broken) {
        return GL_OK;
    }
    int rc = tx_recover(t);
    if (rc == GL_OK) {
        t->journal_broken = 0;
        GL_LOG_WARN(MOD, "the journal takes writes again");
    }
    return rc;
}

/* ---- one transaction ------------------------------------------------- */

static void result_msg(struct term_result *res, enum term_msg_id id, int code)
{
    res->msg = id;
    res->has_msg = 1;
    res->code = code;
}

static int need_pin_voucher(const struct term *t, const char *pan)
{
    const char *p = t->cfg.pin_prefixes;
    while (*p != '\0') {
        size_t n = strcspn(p, ", ");
        if (n > 0 && strncmp(pan, p, n) == 0) {
            return 1;
        }
        p += n;
        p += strspn(p, ", ");
    }
    return 0;
}

/* Offline approval: the link is down, offline mode is on, a redemption up
 * to the floor limit whose presentation needs no host proof. */
static int offline_ok(const struct term *t, enum term_kind kind,
                      int64_t amount, const struct term_present *p)
{
    return t->cfg.offline && kind == TK_REDEEM && amount > 0 &&
           amount <= t->cfg.floor_limit && !p->need_pin &&
           (strcmp(p->method, "barcode") == 0 ||
            strcmp(p->method, "keyed") == 0);
}

static int journal_new(struct term *t, struct term_txn *r, int take_keys,
                       struct crypto_mac_keys *keys)
{
    struct kst k;
    int rc = tj_begin(&t->j);
    kst_now(&k);
    if (rc == GL_OK) {
        rc = next_stan(t, &r->stan);
    }
    if (rc == GL_OK && take_keys) {
        rc = link_next_keys(t, keys);
    }
    if (rc == GL_OK) {
        snprintf(r->de7, sizeof r->de7, "%s", k.de7);
        snprintf(r->de12, sizeof r->de12, "%s", k.de12);
        snprintf(r->de13, sizeof r->de13, "%s", k.de13);
        snprintf(r->created, sizeof r->created, "%s", k.iso);
        snprintf(r->rrn, sizeof r->rrn, "%s%06d", k.rrn6, r->stan);
        r->batch = t->batch;
        if (r->offline) {
            /* DE 38 of an offline approval: OFF + the STAN's last digits */
            int s3 = r->stan % 1000;
            memcpy(r->auth, "OFF", 3);
            r->auth[3] = (char)('0' + s3 / 100);
            r->auth[4] = (char)('0' + s3 / 10 % 10);
            r->auth[5] = (char)('0' + s3 % 10);
            r->auth[6] = '\0';
        }
        rc = tj_txn_insert(&t->j, r);
    }
    if (rc == GL_OK && r->offline) {
        rc = tj_meta_set_int(&t->j, "last_receipt", r->id);
    }
    if (rc == GL_OK) {
        rc = tj_commit(&t->j);
    } else {
        tj_rollback(&t->j);
    }
    return rc;
}

int tx_run(struct term *t, enum term_kind kind, int64_t amount,
           const struct term_present *p, const char *orig_rrn,
           struct term_result *res)
{
    struct term_txn *r = &t->cur;
    struct crypto_mac_keys keys;
    struct pinpad_block pb;
    int rc, pin = 0;

    memset(res, 0, sizeof *res);
    memset(r, 0, sizeof *r);
    memset(&keys, 0, sizeof keys);
    rc = tx_journal_retry(t);
    if (rc != GL_OK) {
        result_msg(res, TERM_MSG_JOURNAL_FULL, rc);
        return rc;
    }
    if (kind != TK_VOID) {
        pin = p->need_pin || ((strcmp(p->method, "barcode") == 0 ||
                               strcmp(p->method, "keyed") == 0) &&
                              need_pin_voucher(t, p->pan));
    }
    if (kind != TK_BALANCE && tx_flush(t, 1) != GL_OK) {
        /* 11.6: no new 0100/0200 while a reversal is unanswered; queued
         * advices do not hold anything up, and an offline approval sends
         * nothing */
        int64_t rev = 0;
        rc = tj_count_state(&t->j, "reverse", &rev);
        if (rc != GL_OK || (rev > 0 && (t->link.signed_on || pin ||
                                        !offline_ok(t, kind, amount, p)))) {
            result_msg(res, TERM_MSG_REVERSAL_PENDING,
                       rc != GL_OK ? rc : GL_EAGAIN);
            return rc != GL_OK ? rc : GL_EAGAIN;
        }
    }
    snprintf(r->kind, sizeof r->kind, "%s", KINDS[kind].name);
    snprintf(r->mti, sizeof r->mti, "%s", KINDS[kind].mti);
    snprintf(r->proc, sizeof r->proc, "%s", KINDS[kind].proc);
    snprintf(r->cashier, sizeof r->cashier, "%s", t->cfg.cashier);
    r->amount = kind == TK_BALANCE ? 0 : amount;
    r->approved = -1;
    snprintf(r->state, sizeof r->state, "pending");

    if (kind == TK_VOID || (kind == TK_REFUND && orig_rrn != NULL)) {
        struct term_txn *o = &t->aux;
        rc = (orig_rrn == NULL || strcmp(orig_rrn, "last") == 0)
                 ? tj_txn_last(&t->j, o)
                 : tj_txn_by_rrn(&t->j, orig_rrn, o);
        if (rc != GL_OK || strcmp(o->state, "done") != 0 ||
            (strcmp(o->rc, "00") != 0 && strcmp(o->rc, "10") != 0) ||
            strcmp(o->kind, "void") == 0 || strcmp(o->kind, "balance") == 0 ||
            o->voided_by != 0 ||
            (kind == TK_REFUND && strcmp(o->kind, "redeem") != 0)) {
            result_msg(res, TERM_MSG_NOTHING_TO_VOID, GL_ENOTFOUND);
            return GL_ENOTFOUND;
        }
        r->orig_id = o->id;
        de90_of(o, r->de90);
        if (kind == TK_VOID) {
            /* the original's number, method and approved amount */
            snprintf(r->pan, sizeof r->pan, "%s", o->pan);
            snprintf(r->expiry, sizeof r->expiry, "%s", o->expiry);
            snprintf(r->entry, sizeof r->entry, "%s", o->entry);
            snprintf(r->method, sizeof r->method, "%s", o->method);
            r->amount = o->approved;
        }
    }
    if (kind != TK_VOID) {
        snprintf(r->pan, sizeof r->pan, "%s", p->pan);
        snprintf(r->expiry, sizeof r->expiry, "%s", p->expiry);
        snprintf(r->entry, sizeof r->entry, "%s", p->entry);
        snprintf(r->method, sizeof r->method, "%s", p->method);
        snprintf(r->de48x, sizeof r->de48x, "%s", p->de48x);
    }

    rc = link_up(t, 1);
    if (rc != GL_OK) {
        if (kind != TK_VOID && offline_ok(t, kind, amount, p) && !pin) {
            snprintf(r->state, sizeof r->state, "advice");
            snprintf(r->rc, sizeof r->rc, "00");
            r->offline = 1;
            r->approved = r->amount;
            rc = journal_new(t, r, 0, NULL);
            if (rc != GL_OK) {
                journal_failed(t, rc);
                result_msg(res, is_db_error(rc) ? TERM_MSG_JOURNAL_FULL
                                                : TERM_MSG_SYSTEM_ERROR,
                           rc);
                return rc;
            }
            snprintf(res->rc, sizeof res->rc, "00");
            result_msg(res, TERM_MSG_OFFLINE_APPROVED, GL_OK);
            GL_LOG_INFO(MOD, "offline approval STAN %06d, %lld KRW", r->stan,
                        (long long)r->amount);
            return GL_OK;
        }
        result_msg(res, TERM_MSG_LINK_DOWN, rc);
        return rc;
    }

    if (pin) {
        rc = dev_pin(t, r->pan, &pb);
        if (rc != GL_OK) {
            result_msg(res, rc == GL_PIN_CANCEL || rc == GL_ETIMEDOUT
                                ? TERM_MSG_PIN_CANCELLED
                                : TERM_MSG_SYSTEM_ERROR,
                       rc);
            return rc;
        }
        keys = pb.mac;
        rc = journal_new(t, r, 0, NULL);
        if (rc == GL_OK) {
            /* PF and PB: only this transmission carries them, never the
             * journal (a repeat or reversal sends no PIN block) */
            char hex[2 * CRYPTO_PINBLOCK_AES_LEN + 1], more[48];
            build_request(t, &t->req, r);
            crypto_hex_encode(pb.block, sizeof pb.block, hex);
            snprintf(more, sizeof more, "PF0014PB032%s", hex);
            rc = set_de48(&t->req, r, more);
            crypto_wipe(hex, sizeof hex);
            crypto_wipe(more, sizeof more);
        }
        crypto_wipe(&pb, sizeof pb);
    } else {
        rc = journal_new(t, r, 1, &keys);
        if (rc == GL_OK) {
            build_request(t, &t->req, r);
        }
    }
    if (rc != GL_OK) {
        crypto_mac_keys_wipe(&keys);
        journal_failed(t, rc);
        result_msg(res, rc == GL_DUKPT_EXHAUSTED ? TERM_MSG_KEYS_EXHAUSTED
                        : is_db_error(rc)        ? TERM_MSG_JOURNAL_FULL
                                                 : TERM_MSG_SYSTEM_ERROR,
                   rc);
        return rc;
    }
    tx_fault_point("journalled");
    rc = link_set_ks(&t->req, &keys);
    if (rc == GL_OK) {
        rc = link_exchange(t, &t->req, &keys, t->cfg.response_timeout_s);
    }
    crypto_mac_keys_wipe(&keys);
    if (rc == GL_OK) {
        tx_fault_point("answered");
        take_answer(t, r);
        rc = tj_begin(&t->j);
        if (rc == GL_OK) {
            rc = tj_txn_update(&t->j, r);
        }
        if (rc == GL_OK && kind != TK_BALANCE &&
            (strcmp(r->rc, "00") == 0 || strcmp(r->rc, "10") == 0)) {
            /* the receipt `reprint` prints, in the same commit */
            rc = tj_meta_set_int(&t->j, "last_receipt", r->id);
        }
        if (rc == GL_OK && kind == TK_VOID && strcmp(r->rc, "00") == 0) {
            struct term_txn *o = &t->aux;
            rc = tj_txn_get(&t->j, r->orig_id, o);
            if (rc == GL_OK) {
                o->voided_by = r->id;
                rc = tj_txn_update(&t->j, o);
            }
        }
        if (rc == GL_OK) {
            rc = tj_commit(&t->j);
        } else {
            tj_rollback(&t->j);
        }
        if (rc != GL_OK) {
            /* the answer could not be journalled: the row stays pending and
             * is reversed once the journal takes writes again (or after a
             * restart); the sale did not happen */
            journal_failed(t, rc);
            result_msg(res, TERM_MSG_JOURNAL_FULL, rc);
            return rc;
        }
        tx_fault_point("answer_journalled");
        snprintf(res->rc, sizeof res->rc, "%s", r->rc);
        res->code = GL_OK;
        return GL_OK;
    }

    /* no answer: a balance inquiry is dropped, anything else reversed */
    GL_LOG_WARN(MOD, "%s STAN %06d unanswered: %s", r->mti, r->stan,
                gl_strerror(rc));
    struct kst k;
    kst_now(&k);
    int jrc = tj_begin(&t->j);
    if (strcmp(r->kind, "balance") == 0) {
        snprintf(r->state, sizeof r->state, "dropped");
    } else {
        snprintf(r->state, sizeof r->state, "reverse");
        snprintf(r->rev_mti, sizeof r->rev_mti, "0400");
        snprintf(r->rev_de7, sizeof r->rev_de7, "%s", k.de7);
        r->next_at = 0;
        if (jrc == GL_OK) {
            jrc = next_stan(t, &r->rev_stan);
        }
    }
    if (jrc == GL_OK) {
        jrc = tj_txn_update(&t->j, r);
    }
    if (jrc == GL_OK) {
        jrc = tj_commit(&t->j);
    } else {
        tj_rollback(&t->j);
    }
    result_msg(res, TERM_MSG_NO_ANSWER, rc);
    if (jrc != GL_OK) {
        journal_failed(t, jrc);
        return jrc; /* still pending: reversed (0420) once it can be */
    }
    tx_fault_point("reversal_journalled");
    if (strcmp(r->state, "reverse") == 0) {
        (void)tx_flush(t, 1);
    }
    return rc;
}

/* ---- batch close ----------------------------------------------------- */

struct upload_ctx {
    struct term *t;
    int bn, sent, failed;
};

static int upload_one(void *ctx, const struct term_txn *r)
{
    struct upload_ctx *u = ctx;
    struct term *t = u->t;
    struct iso_msg *m = &t->req;
    struct crypto_mac_keys keys;
    struct kst k;
    char de90[43], more[32];
    int stan, rc = link_new_stan_keys(t, &stan, &keys);

    if (rc != GL_OK) {
        return rc;
    }
    kst_now(&k);
    iso_msg_init(m);
    iso_msg_set_mti(m, "0320");
    common_fields(t, m, r);
    iso_msg_set_u64(m, 4, (uint64_t)r->approved);
    set_str(m, 7, k.de7);
    iso_msg_set_u64(m, 11, (uint64_t)stan);
    set_str(m, 12, r->de12);
    set_str(m, 13, r->de13);
    set_str(m, 22, r->entry);
    set_str(m, 25, "00");
    set_str(m, 37, r->rrn);
    set_str(m, 38, r->auth);
    de90_of(r, de90);
    set_str(m, 90, de90);
    snprintf(more, sizeof more, "%sBN006%06d", r->offline ? "OF001Y" : "",
             u->bn);
    char v[64];
    snprintf(v, sizeof v, "CA%03zu%s%s", strlen(r->cashier), r->cashier, more);
    iso_msg_set_str(m, 48, v, NULL);
    rc = link_set_ks(m, &keys);
    if (rc == GL_OK) {
        rc = link_exchange(t, m, &keys, t->cfg.response_timeout_s);
    }
    crypto_mac_keys_wipe(&keys);
    if (rc != GL_OK) {
        return rc;
    }
    char rc39[3] = "";
    iso_msg_get_str(&t->resp, 39, rc39, sizeof rc39);
    u->sent++;
    if (strcmp(rc39, "00") != 0) {
        u->failed++;
        GL_LOG_WARN(MOD, "0330 for RRN %s: %s (the host differs)", r->rrn,
                    rc39);
    }
    return GL_OK;
}

/*
 * One 0500 for batch bn.  Its identity (STAN, DE 7) is saved in the journal
 * (meta close_bn, close_stan, close_de7) with the DUKPT state before it is
 * sent, and forgotten when an answer is journalled; after a crash in
 * between, the close is resumed at start-up with the same identity, so a
 * host that accepted it answers the repeat with its stored 00 instead of
 * refusing a second close of the batch (12).
 */
static int send_0500(struct term *t, int bn, int resume, char rc39[3])
{
    struct term_totals tot;
    struct iso_msg *m = &t->req;
    struct crypto_mac_keys keys;
    struct kst k;
    char v[32];
    int64_t cbn = 0, cstan = 0, cde7 = 0;
    int stan = 0, rc = tj_totals(&t->j, bn, &tot);

    kst_now(&k);
    if (rc == GL_OK) {
        rc = tj_begin(&t->j);
    }
    if (rc == GL_OK && resume && tj_meta_int(&t->j, "close_bn", &cbn) == GL_OK &&
        cbn == bn && tj_meta_int(&t->j, "close_stan", &cstan) == GL_OK &&
        cstan > 0 && tj_meta_int(&t->j, "close_de7", &cde7) == GL_OK) {
        char b[32];
        stan = (int)cstan;
        snprintf(b, sizeof b, "%010lld", (long long)cde7);
        memcpy(k.de7, b, 10);
    } else if (rc == GL_OK) {
        rc = next_stan(t, &stan);
        if (rc == GL_OK) {
            rc = tj_meta_set_int(&t->j, "close_bn", bn);
        }
        if (rc == GL_OK) {
            rc = tj_meta_set_int(&t->j, "close_stan", stan);
        }
        if (rc == GL_OK) {
            rc = tj_meta_set_int(&t->j, "close_de7", atoll(k.de7));
        }
    }
    if (rc == GL_OK) {
        rc = link_next_keys(t, &keys);
    }
    if (rc == GL_OK) {
        rc = tj_commit(&t->j);
    } else {
        tj_rollback(&t->j);
    }
    if (rc != GL_OK) {
        return rc;
    }
    iso_msg_init(m);
    iso_msg_set_mti(m, "0500");
    set_str(m, 7, k.de7);
    iso_msg_set_u64(m, 11, (uint64_t)stan);
    set_str(m, 15, k.de15);
    set_str(m, 41, t->cfg.tid);
    set_str(m, 42, t->cfg.merchant);
    snprintf(v, sizeof v, "BN006%06d", bn);
    iso_msg_set_str(m, 48, v, NULL);
    set_str(m, 49, "410");
    iso_msg_set_u64(m, 74, (uint64_t)tot.credits_n);
    iso_msg_set_u64(m, 75, (uint64_t)tot.credits_rev_n);
    iso_msg_set_u64(m, 76, (uint64_t)tot.debits_n);
    iso_msg_set_u64(m, 77, (uint64_t)tot.debits_rev_n);
    iso_msg_set_u64(m, 80, (uint64_t)tot.inquiries_n);
    iso_msg_set_u64(m, 86, (uint64_t)tot.credits_amt);
    iso_msg_set_u64(m, 87, (uint64_t)tot.credits_rev_amt);
    iso_msg_set_u64(m, 88, (uint64_t)tot.debits_amt);
    iso_msg_set_u64(m, 89, (uint64_t)tot.debits_rev_amt);
    snprintf(v, sizeof v, "%c%016lld", tot.net >= 0 ? 'D' : 'C',
             (long long)(tot.net >= 0 ? tot.net : -tot.net));
    iso_msg_set_str(m, 97, v, NULL);
    rc = link_set_ks(m, &keys);
    if (rc == GL_OK) {
        rc = link_exchange(t, m, &keys, t->cfg.close_timeout_s);
    }
    crypto_mac_keys_wipe(&keys);
    if (rc == GL_OK) {
        iso_msg_get_str(&t->resp, 39, rc39, 3);
        tx_fault_point("close_answered");
        if (strcmp(rc39, "00") != 0) {
            /* answered: the next 0500 of this batch is a new request */
            rc = tj_meta_set_int(&t->j, "close_stan", 0);
        }
    }
    return rc;
}

int tx_close_pending(struct term *t)
{
    int64_t cbn = 0, cstan = 0;
    return tj_meta_int(&t->j, "close_bn", &cbn) == GL_OK && cbn == t->batch &&
           tj_meta_int(&t->j, "close_stan", &cstan) == GL_OK && cstan > 0;
}

int tx_close(struct term *t, struct term_result *res)
{
    char rc39[3] = "";
    int bn = t->batch, rc;

    memset(res, 0, sizeof *res);
    rc = tx_flush(t, 1);
    if (rc != GL_OK) {
        result_msg(res, TERM_MSG_CLOSE_PENDING, rc);
        return rc;
    }
    rc = link_up(t, 1);
    if (rc != GL_OK) {
        result_msg(res, TERM_MSG_LINK_DOWN, rc);
        return rc;
    }
    rc = send_0500(t, bn, 1, rc39);
    if (rc == GL_OK && strcmp(rc39, "95") == 0) {
        struct upload_ctx u = {.t = t, .bn = bn};
        GL_LOG_WARN(MOD, "batch %06d out of balance: uploading", bn);
        rc = tj_each_counted(&t->j, bn, upload_one, &u);
        if (rc == GL_OK) {
            GL_LOG_INFO(MOD, "uploaded %d transaction(s), %d differ(s)", u.sent,
                        u.failed);
            rc = send_0500(t, bn, 0, rc39);
        }
    }
    if (rc != GL_OK) {
        result_msg(res, TERM_MSG_NO_ANSWER, rc);
        return rc;
    }
    snprintf(res->rc, sizeof res->rc, "%s", rc39);
    if (strcmp(rc39, "00") != 0) {
        GL_LOG_ERR(MOD, "batch %06d: close refused (%s): left open", bn, rc39);
        result_msg(res, TERM_MSG_CLOSE_FAILED, GL_EINVAL);
        return GL_EINVAL;
    }
    t->batch = bn % 999999 + 1;
    rc = tj_begin(&t->j);
    if (rc == GL_OK) {
        rc = tj_meta_set_int(&t->j, "batch", t->batch);
    }
    if (rc == GL_OK) {
        rc = tj_meta_set_int(&t->j, "close_stan", 0);
    }
    if (rc == GL_OK) {
        rc = tj_commit(&t->j);
    } else {
        tj_rollback(&t->j);
    }
    if (rc != GL_OK) {
        t->batch = bn;
        result_msg(res, TERM_MSG_SYSTEM_ERROR, rc);
        return rc;
    }
    GL_LOG_INFO(MOD, "batch %06d closed; batch %06d open", bn, t->batch);
    result_msg(res, TERM_MSG_CLOSE_OK, GL_OK);
    return GL_OK;
}
