/*
 * hostd_proc.c - what gl-hostd does with one request (docs/host-interface.md
 * 11.1 and the sections it names; the host's own choices are in its last
 * section, "Host behaviour").
 *
 * Order of checks for a request that decoded, whose DE 41 is the
 * certificate's CN and whose MAC verified (the loop did those):
 *   key ID of KS registered to the terminal (else close), sign-on (91),
 *   identity and duplicates (stored answer, or 94), reversal-before-
 *   original (12), field rules (30), DE 49 (13), processing code for the
 *   MTI (12), DE 42 (58), enumeration cool-down (05), then the transaction.
 * Every answer to a 0100/0200/0220/0320/0400/0420/0500 is stored with the
 * request's identity in the same transaction as its transfers.
 */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "crypto_dukpt.h"
#include "crypto_pinblock.h"
#include "gl_err.h"
#include "gl_log.h"
#include "hostd_int.h"

/* A request in processing. */
struct pctx {
    struct hostd_worker *w;
    struct hostd_sess *s;
    const struct iso_msg *req;
    struct iso_msg *resp;
    char mti[5], rmti[5];
    char tid[REGISTRY_TID_MAX + 1];
    char stan[7], de7[11];
    char pan[20], proc[7], de22[4];
    char ks[25];
    int64_t amount;
    int has_amount;
    uint8_t tlv[1024]; /* response DE 48 after KS */
    size_t tlvlen;
    char rc[3];
    struct hostd_txn t; /* the record stored for this request */
    int64_t now;
};

/* An original named by DE 90. */
struct orig_key {
    char mti[5], stan[7], de7[11];
};

/* ---- small helpers ------------------------------------------------------ */

static int getf(const struct iso_msg *m, int f, char *buf, size_t cap)
{
    if (iso_msg_get_str(m, f, buf, cap) != GL_OK) {
        buf[0] = '\0';
        return 0;
    }
    return 1;
}

/* DE 48 tag of the request into buf: 1 found, 0 not. */
static int tag(const struct iso_msg *m, const char t[2], char *buf,
               size_t cap)
{
    const uint8_t *de48, *v;
    size_t n, vn;
    buf[0] = '\0';
    if (iso_msg_get(m, 48, &de48, &n) != GL_OK ||
        iso_tlv_find(de48, n, t, &v, &vn) != GL_OK || vn >= cap) {
        return 0;
    }
    memcpy(buf, v, vn);
    buf[vn] = '\0';
    return 1;
}

static void add_tag(struct pctx *p, const char t[2], const char *v)
{
    (void)iso_tlv_append(p->tlv, sizeof p->tlv, &p->tlvlen, t, v, strlen(v));
}

static void set_rc(struct pctx *p, const char *rc)
{
    snprintf(p->rc, sizeof p->rc, "%s", rc);
}

static const char *rs_text(const char *rc)
{
    static const struct {
        const char *rc, *text;
    } t[] = {
        {"05", "TOO MANY INVALID NUMBERS"}, {"12", "INVALID TRANSACTION"},
        {"13", "INVALID AMOUNT"},           {"14", "INVALID NUMBER OR PIN"},
        {"25", "ORIGINAL NOT FOUND"},       {"30", "FORMAT ERROR"},
        {"51", "INSUFFICIENT FUNDS"},       {"54", "EXPIRED"},
        {"57", "NOT ALLOWED FOR THIS VOUCHER"},
        {"58", "NOT ACCEPTED HERE"},        {"61", "OVER THE LIMIT"},
        {"62", "FROZEN"},                   {"78", "NOT ACTIVATED"},
        {"91", "SIGN ON FIRST"},            {"94", "DUPLICATE TRANSMISSION"},
        {"95", "TOTALS DIFFER"},            {"96", "SYSTEM ERROR"},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        if (strcmp(t[i].rc, rc) == 0) {
            return t[i].text;
        }
    }
    return "DECLINED";
}

/* A decline with its RS text (the default one when rs is NULL). */
#define decline(p, rc, rs) decline_at((p), (rc), (rs), __LINE__)
static void decline_at(struct pctx *p, const char *rc, const char *rs,
                       int line)
{
    GL_LOG_DEBUG("hostd", "%s: STAN %s: %s %s (hostd_proc.c:%d)", p->tid,
                 p->stan, p->mti, rc, line);
    set_rc(p, rc);
    add_tag(p, "RS", rs != NULL ? rs : rs_text(rc));
}

void hostd_resp_mti(const char *mti, char out[5])
{
    memcpy(out, mti, 4);
    out[4] = '\0';
    if (((out[2] - '0') & 1) == 0) {
        out[2]++;
    }
    out[3] = '0';
}

static int is_approved(const char *rc)
{
    return strcmp(rc, "00") == 0 || strcmp(rc, "10") == 0;
}

static void echo(struct pctx *p, const int *fields)
{
    const uint8_t *v;
    size_t n;
    for (; *fields != 0; fields++) {
        if (iso_msg_get(p->req, *fields, &v, &n) == GL_OK) {
            (void)iso_msg_set(p->resp, *fields, v, n, NULL);
        }
    }
}

static void resp_start(struct pctx *p)
{
    static const int f0810[] = {7, 11, 41, 70, 0};
    static const int f0110[] = {2, 3, 4, 7, 11, 37, 41, 49, 0};
    static const int f0230[] = {2, 3, 4, 7, 11, 41, 0};
    static const int f0410[] = {2, 3, 4, 7, 11, 41, 49, 90, 0};
    static const int f0430[] = {7, 11, 41, 90, 0};
    static const int f0510[] = {7, 11, 15, 41, 0};
    static const int fdef[] = {7, 11, 41, 0};
    const int *f = fdef;

    iso_msg_init(p->resp);
    (void)iso_msg_set_mti(p->resp, p->rmti);
    if (strcmp(p->rmti, "0810") == 0) {
        f = f0810;
    } else if (strcmp(p->rmti, "0110") == 0 ||
               strcmp(p->rmti, "0210") == 0) {
        f = f0110;
    } else if (strcmp(p->rmti, "0230") == 0) {
        f = f0230;
    } else if (strcmp(p->rmti, "0410") == 0) {
        f = f0410;
    } else if (strcmp(p->rmti, "0430") == 0) {
        f = f0430;
    } else if (strcmp(p->rmti, "0510") == 0) {
        f = f0510;
    }
    echo(p, f);
}

/* DE 39 and DE 48 (KS first, then the tags gathered). */
static void resp_finish(struct iso_msg *resp, const char *ks,
                        const uint8_t *extra, size_t extralen)
{
    uint8_t de48[1100];
    size_t n = 0;
    (void)iso_tlv_append(de48, sizeof de48, &n, "KS", ks, strlen(ks));
    if (extralen > 0 && n + extralen <= 999) {
        memcpy(de48 + n, extra, extralen);
        n += extralen;
    }
    (void)iso_msg_set(resp, 48, de48, n, NULL);
}

/* One DE 54 entry: available (02) or ledger (01) balance. */
static void de54_entry(char *out, const char *type, int64_t v)
{
    int64_t a = v < 0 ? -v : v;
    snprintf(out, 21, "60%s410%c%012" PRId64, type, v < 0 ? 'D' : 'C',
             (int64_t)(a % 1000000000000LL));
}

static void set_de54(struct pctx *p, int64_t balance, int64_t available)
{
    char buf[41];
    if (balance != available) {
        de54_entry(buf, "01", balance);
        de54_entry(buf + 20, "02", available);
    } else {
        de54_entry(buf, "02", available);
    }
    (void)iso_msg_set_str(p->resp, 54, buf, NULL);
}

static int de54_account(struct pctx *p, int64_t acct)
{
    struct ledger_account a;
    int rc = ledger_account_get(&p->w->lg, acct, &a);
    if (rc == GL_OK) {
        set_de54(p, a.balance, a.available);
    }
    return rc;
}

static void set_approval(struct pctx *p, int64_t seq)
{
    char code[8];
    snprintf(code, sizeof code, "%06" PRId64, (seq < 0 ? -seq : seq) % 1000000);
    (void)iso_msg_set_str(p->resp, 38, code, NULL);
}

static void xid(const struct pctx *p, char pfx, int i, char out[LEDGER_ID_MAX + 1])
{
    if (pfx != '\0') {
        snprintf(out, LEDGER_ID_MAX + 1, "%c:%s:%s:%s:%d", pfx, p->tid,
                 p->stan, p->de7, i);
    } else {
        snprintf(out, LEDGER_ID_MAX + 1, "%s:%s:%s:%d", p->tid, p->stan,
                 p->de7, i);
    }
}

static void piece_add(struct pctx *p, const char *id, int64_t debit,
                      int64_t credit, int64_t amount)
{
    size_t n = strlen(p->t.pieces);
    snprintf(p->t.pieces + n, sizeof p->t.pieces - n,
             "%s %" PRId64 " %" PRId64 " %" PRId64 ";", id, debit, credit,
             amount);
}

/* Iterates "id debit credit amount;" pieces.  Returns 1 per piece. */
static int piece_next(const char **cur, char id[LEDGER_ID_CAP + 1],
                      int64_t *debit, int64_t *credit, int64_t *amount)
{
    char idbuf[LEDGER_ID_CAP + 1];
    long long d, c, a;
    int used = 0;
    if (**cur == '\0' ||
        sscanf(*cur, "%80s %lld %lld %lld;%n", idbuf, &d, &c, &a, &used) != 4 ||
        used == 0) {
        return 0;
    }
    *cur += used;
    snprintf(id, LEDGER_ID_CAP + 1, "%s", idbuf);
    *debit = d;
    *credit = c;
    *amount = a;
    return 1;
}

static void trim_right(char *s)
{
    size_t n = strlen(s);
    while (n > 0 && s[n - 1] == ' ') {
        s[--n] = '\0';
    }
}

static int all_digits(const char *s, size_t n)
{
    if (strlen(s) != n) {
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i])) {
            return 0;
        }
    }
    return 1;
}

static int parse_de90(const struct iso_msg *m, struct orig_key *o)
{
    char v[43];
    if (!getf(m, 90, v, sizeof v) || strlen(v) != 42) {
        return 0;
    }
    memcpy(o->mti, v, 4);
    o->mti[4] = '\0';
    memcpy(o->stan, v + 4, 6);
    o->stan[6] = '\0';
    memcpy(o->de7, v + 10, 10);
    o->de7[10] = '\0';
    return 1;
}

/* The content of a request that a repeat must carry unchanged (11.1). */
static void digest(const struct pctx *p, char out[65])
{
    static const uint8_t key[] = "giftlink hostd request content";
    static const int f[] = {2, 3, 4, 42, 49, 90};
    char buf[512];
    uint8_t mac[CRYPTO_HMAC_LEN];
    size_t n = 0;
    n += (size_t)snprintf(buf, sizeof buf, "%.3s", p->mti);
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) {
        char v[64];
        getf(p->req, f[i], v, sizeof v);
        n += (size_t)snprintf(buf + n, sizeof buf - n, "|%s", v);
        if (n >= sizeof buf) {
            n = sizeof buf - 1;
        }
    }
    crypto_hmac_sha256(key, sizeof key - 1, buf, n, NULL, 0, mac);
    crypto_hex_encode(mac, sizeof mac, out);
}

/* ---- rate limits ---------------------------------------------------- */

static struct hostd_rl_entry *rl_slot(struct hostd_rl *rl, const char *key,
                                      int create, int64_t now)
{
    uint32_t h = 2166136261u;
    for (const char *c = key; *c != '\0'; c++) {
        h = (h ^ (uint8_t)*c) * 16777619u;
    }
    for (int i = 0; i < 8; i++) {
        struct hostd_rl_entry *e = &rl->slot[(h + (uint32_t)i) % HOSTD_RL_SLOTS];
        if (strncmp(e->key, key, sizeof e->key) == 0) {
            return e;
        }
    }
    if (!create) {
        return NULL;
    }
    /* Take an empty or stale slot; else the least recent. */
    struct hostd_rl_entry *best = NULL;
    for (int i = 0; i < 8; i++) {
        struct hostd_rl_entry *e = &rl->slot[(h + (uint32_t)i) % HOSTD_RL_SLOTS];
        if (e->key[0] == '\0' || (e->cool_until <= now && e->start < now - 86400)) {
            best = e;
            break;
        }
        if (best == NULL || (e->cool_until <= now && e->start < best->start)) {
            best = e;
        }
    }
    memset(best, 0, sizeof *best);
    snprintf(best->key, sizeof best->key, "%s", key);
    best->start = now;
    return best;
}

static int rl_blocked(struct hostd_rl *rl, const char *key, int64_t now)
{
    struct hostd_rl_entry *e = rl_slot(rl, key, 0, now);
    return e != NULL && e->cool_until > now;
}

static void rl_hit(struct hostd_rl *rl, const char *key, int64_t now,
                   long long limit, long long window, long long cooldown,
                   const char *what)
{
    struct hostd_rl_entry *e = rl_slot(rl, key, 1, now);
    if (now - e->start >= window) {
        e->start = now;
        e->count = 0;
    }
    e->count++;
    if (e->count > limit && e->cool_until <= now) {
        e->cool_until = now + cooldown;
        GL_LOG_WARN("hostd", "alarm: %s %s: %lld invalid numbers or PINs "
                    "within %lld s: answering 05 for %lld s", what,
                    what[0] == 't' ? key : "(masked)", (long long)e->count,
                    window, cooldown);
    }
}

static void count_invalid(struct pctx *p)
{
    const struct hostd_config *c = p->w->cfg;
    rl_hit(p->w->rl_term, p->tid, p->now, c->term_declines, c->term_window,
           c->term_cooldown, "terminal");
    if (p->pan[0] != '\0') {
        rl_hit(p->w->rl_voucher, p->pan, p->now, c->voucher_declines,
               c->voucher_window, c->voucher_cooldown, "number");
    }
}

/* ---- presentations ------------------------------------------------------ */

/* Maps a registry refusal to DE 39. */
static const char *reg_code(int rc)
{
    switch (rc) {
    case GL_REG_AUTH:
    case GL_REG_CANCELLED:
    case GL_ENOTFOUND:
        return "14";
    case GL_REG_FROZEN:
        return "62";
    case GL_REG_EXPIRED:
        return "54";
    case GL_REG_NOTACCEPTED:
        return "58";
    default:
        return NULL;
    }
}

/* The keyed hash of the request's PIN block, if it has one.
 * Returns 1 (hash set), 0 (no PIN block), <0 format error (30). */
static int pin_hash(struct pctx *p, uint8_t hash[CRYPTO_HMAC_LEN])
{
    char pf[4], pbhex[40];
    uint8_t key[CRYPTO_KEY_MAX], block[16], ksn[CRYPTO_DUKPT_AES_KSN_LEN];
    size_t ksn_len = 0, klen = 0, blen = 0;
    struct crypto_pinblock pb;
    const struct crypto_bdk *bdk = &p->w->bdk;
    const uint8_t *v;
    size_t vn;
    int rc;

    if (!tag(p->req, "PF", pf, sizeof pf)) {
        return iso_msg_has(p->req, 52) ? -1 : 0;
    }
    if (crypto_mac_msg_ksn(p->req, ksn, &ksn_len) != GL_OK) {
        return -1;
    }
    memset(&pb, 0, sizeof pb);
    if (strcmp(pf, "4") == 0) {
        if (!tag(p->req, "PB", pbhex, sizeof pbhex) || strlen(pbhex) != 32 ||
            crypto_hex_decode(pbhex, 32, block, 16) != GL_OK ||
            bdk->type == CRYPTO_KEY_TDES2) {
            return -1;
        }
        rc = crypto_dukpt_aes_host_key(bdk->key, bdk->type, ksn,
                                       CRYPTO_USAGE_PIN, bdk->type, key);
        klen = crypto_key_len(bdk->type);
        pb.fmt = CRYPTO_PIN_FMT4;
        blen = 16;
    } else if (strcmp(pf, "0") == 0 || strcmp(pf, "3") == 0) {
        if (iso_msg_get(p->req, 52, &v, &vn) != GL_OK || vn != 8 ||
            bdk->type != CRYPTO_KEY_TDES2) {
            return -1;
        }
        memcpy(block, v, 8);
        rc = crypto_dukpt_tdes_key(bdk->key, ksn, key);
        if (rc == GL_OK) {
            rc = crypto_dukpt_tdes_variant(key, CRYPTO_TDES_PIN, key);
        }
        klen = 16;
        pb.fmt = pf[0] == '0' ? CRYPTO_PIN_FMT0 : CRYPTO_PIN_FMT3;
        blen = 8;
    } else {
        return -1;
    }
    (void)blen;
    if (rc == GL_OK) {
        pb.key = key;
        pb.key_len = klen;
        pb.block = block;
        pb.pan = p->pan;
        rc = registry_pin_hash_block(&p->w->reg, &pb, hash);
    }
    crypto_wipe(key, sizeof key);
    crypto_wipe(block, sizeof block);
    if (rc != GL_OK) {
        /* A block that does not decrypt well is a wrong PIN. */
        memset(hash, 0xA5, CRYPTO_HMAC_LEN);
    }
    return 1;
}

/* Phone wallet (docs/phone-wallet.md): cryptogram and ATC.  Returns "00"
 * style code: NULL verified, else the decline. */
static const char *phone_verify(struct pctx *p)
{
    char pc[20], ch[20], at[8];
    uint8_t cg[8], chal[8], data[26], kd[32], kv[16], mac[16], bcd[8];
    int64_t atc, last;
    const char *res = NULL;

    if (!tag(p->req, "PC", pc, sizeof pc) || !tag(p->req, "CH", ch, sizeof ch) ||
        !tag(p->req, "AT", at, sizeof at) || strlen(pc) != 16 ||
        strlen(ch) != 16 || !all_digits(at, 5) ||
        crypto_hex_decode(pc, 16, cg, 8) != GL_OK ||
        crypto_hex_decode(ch, 16, chal, 8) != GL_OK ||
        !all_digits(p->pan, 16) || !p->has_amount) {
        return "30";
    }
    if (!p->w->have_imk) {
        return "57";
    }
    atc = atoll(at);
    for (int i = 0; i < 8; i++) {
        bcd[i] = (uint8_t)((p->pan[2 * i] - '0') << 4 | (p->pan[2 * i + 1] - '0'));
    }
    /* K_v = CMAC(IMK, 01 || "GLWALLET" || 00 || number-BCD(8) || 00 80) */
    kd[0] = 0x01;
    memcpy(kd + 1, "GLWALLET", 8);
    kd[9] = 0x00;
    memcpy(kd + 10, bcd, 8);
    kd[18] = 0x00;
    kd[19] = 0x80;
    if (crypto_cmac_aes(p->w->imk, 16, kd, 20, kv) != GL_OK) {
        return "96";
    }
    /* MAC = CMAC(K_v, amount(6 BCD) || tid(8) || challenge(8) || ATC(4)) */
    {
        char amt[13];
        snprintf(amt, sizeof amt, "%012" PRId64, p->amount);
        for (int i = 0; i < 6; i++) {
            data[i] = (uint8_t)((amt[2 * i] - '0') << 4 | (amt[2 * i + 1] - '0'));
        }
    }
    memcpy(data + 6, p->tid, 8);
    memcpy(data + 14, chal, 8);
    data[22] = (uint8_t)(atc >> 24);
    data[23] = (uint8_t)(atc >> 16);
    data[24] = (uint8_t)(atc >> 8);
    data[25] = (uint8_t)atc;
    if (strlen(p->tid) != 8 || crypto_cmac_aes(kv, 16, data, 26, mac) != GL_OK) {
        res = "14";
    } else if (!crypto_ct_equal(mac, cg, 8)) {
        res = "14";
    } else {
        last = hostd_db_atc_get(p->w, p->pan);
        if (last < 0) {
            res = "96";
        } else if (atc <= last) {
            res = "14"; /* replay */
        } else if (hostd_db_atc_put(p->w, p->pan, atc) != GL_OK) {
            res = "96";
        }
    }
    crypto_wipe(kv, sizeof kv);
    crypto_wipe(mac, sizeof mac);
    return res;
}

/* Status checks for a voucher read without its PIN (phone wallet: the
 * phone verified it; credits: refund, reload).  NULL when usable. */
static const char *voucher_status(struct pctx *p, const struct registry_voucher *v)
{
    if (v->status == REGISTRY_V_CANCELLED) {
        return "14";
    }
    if (v->status == REGISTRY_V_FROZEN) {
        return "62";
    }
    if (v->status == REGISTRY_V_EXPIRED || p->now >= v->expires) {
        return "54";
    }
    int acc = registry_product_accepted(&p->w->reg, v->product,
                                        p->s->term.merchant);
    if (acc < 0) {
        return "96";
    }
    return acc == 0 ? "58" : NULL;
}

static int first_row(void *ctx, const struct ledger_transfer_row *r)
{
    (void)ctx;
    (void)r;
    return 1;
}

/* 1 when the voucher's account never received value (a till card not yet
 * sold), 0 when it did, <0 on error. */
static int never_funded(struct pctx *p, const struct registry_voucher *v)
{
    if (v->balance != 0 || v->available != 0) {
        return 0;
    }
    int rc = ledger_history(&p->w->lg, v->account, first_row, NULL);
    return rc == 1 ? 0 : rc == GL_OK ? 1 : rc;
}

/*
 * Finds the voucher of the request.  with_pin: check the PIN (debits);
 * else only that it exists and its status (credits).  Returns GL_OK with
 * *v filled and p->rc empty, GL_OK with p->rc set (a decline), or a storage
 * error.
 */
static int find_voucher(struct pctx *p, int with_pin, struct registry_voucher *v)
{
    uint8_t hash[CRYPTO_HMAC_LEN];
    const char *code = NULL;
    int rc = GL_OK, ph;
    int phone = strncmp(p->de22, "81", 2) == 0 || strncmp(p->de22, "82", 2) == 0;

    memset(v, 0, sizeof *v);
    if (rl_blocked(p->w->rl_term, p->tid, p->now) ||
        rl_blocked(p->w->rl_voucher, p->pan, p->now)) {
        decline(p, "05", NULL);
        return GL_OK;
    }
    if (phone) {
        code = phone_verify(p);
        if (code == NULL) {
            rc = registry_voucher_get(&p->w->reg, p->pan, v);
            if (rc == GL_ENOTFOUND) {
                code = "14";
                rc = GL_OK;
            } else if (rc == GL_OK) {
                code = voucher_status(p, v);
            }
        }
    } else if (!with_pin) {
        rc = registry_voucher_get(&p->w->reg, p->pan, v);
        if (rc == GL_ENOTFOUND) {
            code = "14";
            rc = GL_OK;
        } else if (rc == GL_OK) {
            code = voucher_status(p, v);
        }
    } else {
        ph = pin_hash(p, hash);
        if (ph < 0) {
            code = "30";
        } else {
            rc = registry_voucher_authorize_hash(&p->w->reg, p->pan,
                                                 ph > 0 ? hash : NULL,
                                                 p->s->term.merchant, v);
            crypto_wipe(hash, sizeof hash);
            code = reg_code(rc);
            if (code != NULL) {
                rc = GL_OK;
            }
        }
    }
    if (rc != GL_OK) {
        return rc;
    }
    if (code == NULL && p->t.op != HOP_ACTIVATE) {
        int nf = never_funded(p, v);
        if (nf < 0) {
            return nf;
        }
        code = nf ? "78" : NULL;
    }
    if (code != NULL) {
        if (strcmp(code, "14") == 0) {
            count_invalid(p);
        }
        decline(p, code, NULL);
    }
    return GL_OK;
}

/* ---- transfers ------------------------------------------------------ */

static int apply(struct pctx *p, const char *id, int64_t debit, int64_t credit,
                 int64_t amount, int kind, unsigned flags, const char *pending,
                 int64_t timeout, struct ledger_result *res)
{
    struct ledger_transfer t = {.id = id, .debit = debit, .credit = credit,
                                .amount = amount, .kind = kind, .flags = flags,
                                .pending_id = pending, .timeout = timeout};
    return ledger_transfer_apply(&p->w->lg, &t, res);
}

/*
 * Moves p->amount (or less, with LEDGER_F_PARTIAL) from voucher v to the
 * account to, as one piece of the request, and answers: 00, 10 with DE 4 =
 * what was taken when it is less, or 51; DE 54 the voucher's remainder.
 * Holds (LEDGER_F_PENDING with a timeout), redemptions and cash-outs.
 */
static int debit_voucher(struct pctx *p, const struct registry_voucher *v,
                         int64_t to, int kind, unsigned flags, int64_t timeout)
{
    struct ledger_result res;
    char id[LEDGER_ID_MAX + 1];
    int rc;

    xid(p, 0, 0, id);
    rc = apply(p, id, v->account, to, p->amount, kind, flags, NULL, timeout,
               &res);
    if (rc == GL_LEDGER_FUNDS) {
        decline(p, "51", NULL);
        return de54_account(p, v->account);
    }
    if (rc != GL_OK) {
        return rc;
    }
    piece_add(p, id, v->account, to, res.amount);
    p->t.amount = res.amount;
    if (res.amount < p->amount) {
        set_rc(p, "10");
        (void)iso_msg_set_u64(p->resp, 4, (uint64_t)res.amount);
    } else {
        set_rc(p, "00");
    }
    set_approval(p, res.seq);
    return de54_account(p, v->account);
}

/* Undoes the pieces of t with ids prefixed pfx; credits already spent are
 * taken back as flagged overdrafts when force, else GL_LEDGER_FUNDS.  The
 * undo pieces are recorded in p->t.pieces. */
static int undo_pieces(struct pctx *p, const struct hostd_txn *t, char pfx,
                       int force)
{
    const char *cur = t->pieces;
    char id[LEDGER_ID_CAP + 1], nid[LEDGER_ID_CAP + 8];
    int64_t d, c, a;
    struct ledger_result res;
    int rc = GL_OK;

    while (rc == GL_OK && piece_next(&cur, id, &d, &c, &a)) {
        snprintf(nid, sizeof nid, "%c%s", pfx, id);
        if (strlen(nid) > LEDGER_ID_MAX) {
            nid[LEDGER_ID_MAX] = '\0';
        }
        rc = apply(p, nid, c, d, a, LEDGER_TK_ADJUST, 0, NULL, 0, &res);
        if (rc == GL_LEDGER_FUNDS && force) {
            rc = apply(p, nid, c, d, a, LEDGER_TK_ADJUST,
                       LEDGER_F_OFFLINE_OVERDRAFT, NULL, 0, &res);
            if (rc == GL_OK) {
                GL_LOG_WARN("hostd", "%s: undo of spent value flagged as "
                            "overdraft", p->tid);
            }
        }
        if (rc == GL_OK) {
            piece_add(p, nid, c, d, a);
        }
    }
    return rc;
}

/* ---- balance, holds, redemptions --------------------------------------- */

struct draw {
    struct pctx *p;
    struct registry_voucher v[HOSTD_PIECES_MAX];
    size_t n;
};

static int draw_cb(void *ctx, const struct registry_voucher *v)
{
    struct draw *d = ctx;
    if (d->n >= HOSTD_PIECES_MAX) {
        return 1;
    }
    d->v[d->n++] = *v;
    return 0;
}

static int member_vouchers(struct pctx *p, int64_t member, struct draw *d)
{
    memset(d, 0, sizeof *d);
    d->p = p;
    int rc = registry_vouchers_for_member(&p->w->reg, member,
                                          p->s->term.merchant, draw_cb, d);
    return rc == 1 ? GL_OK : rc;
}

/* 1: DE 2 is a registered membership or brand card (member set). */
static int is_member(struct pctx *p, int64_t *member, int *rc)
{
    *rc = GL_OK;
    if (strncmp(p->de22, "81", 2) == 0 || strncmp(p->de22, "82", 2) == 0 ||
        strncmp(p->de22, "03", 2) == 0) {
        return 0;
    }
    int r = registry_member_by_card(&p->w->reg, p->pan, member);
    if (r == GL_OK) {
        return 1;
    }
    if (r != GL_ENOTFOUND) {
        *rc = r;
    }
    return 0;
}

static int op_balance(struct pctx *p)
{
    struct registry_voucher v;
    struct draw d;
    int64_t member, bal = 0, avail = 0;
    int rc;

    p->t.op = HOP_BALANCE;
    if (is_member(p, &member, &rc)) {
        rc = member_vouchers(p, member, &d);
        for (size_t i = 0; rc == GL_OK && i < d.n; i++) {
            bal += d.v[i].balance;
            avail += d.v[i].available;
        }
        if (rc == GL_OK) {
            set_rc(p, "00");
            set_de54(p, bal, avail);
        }
        return rc;
    }
    if (rc != GL_OK) {
        return rc;
    }
    rc = find_voucher(p, 1, &v);
    if (rc != GL_OK || p->rc[0] != '\0') {
        return rc;
    }
    set_rc(p, "00");
    set_de54(p, v.balance, v.available);
    return GL_OK;
}

static int op_hold(struct pctx *p)
{
    struct registry_voucher v;
    int64_t member;
    int rc;

    p->t.op = HOP_HOLD;
    if (is_member(p, &member, &rc)) {
        decline(p, "57", "NO HOLDS ON MEMBER CARDS");
        return GL_OK;
    }
    if (rc != GL_OK) {
        return rc;
    }
    rc = find_voucher(p, 1, &v);
    if (rc != GL_OK || p->rc[0] != '\0') {
        return rc;
    }
    return debit_voucher(p, &v, p->s->merchant_acct, LEDGER_TK_REDEEM,
                         LEDGER_F_PENDING, p->w->cfg->hold_timeout);
}

static int redeem_member(struct pctx *p, int64_t member)
{
    struct draw d;
    struct registry_product prod;
    struct ledger_result res;
    char id[LEDGER_ID_MAX + 1], vd[1000], masked[GL_MASK_MAX];
    int64_t left = p->amount, taken = 0, bal = 0, avail = 0, seq = 0;
    size_t vdn = 0, k = 0;
    int rc = member_vouchers(p, member, &d);

    vd[0] = '\0';
    for (size_t i = 0; rc == GL_OK && i < d.n && left > 0; i++) {
        struct registry_voucher *v = &d.v[i];
        int64_t take = v->available < left ? v->available : left;
        if (take <= 0) {
            continue;
        }
        rc = registry_product_get(&p->w->reg, v->product, &prod);
        if (rc != GL_OK) {
            break;
        }
        if (take < v->available && !prod.partial_ok) {
            continue; /* a single-use voucher is taken whole or not at all */
        }
        xid(p, 0, (int)k++, id);
        rc = apply(p, id, v->account, p->s->merchant_acct, take,
                   LEDGER_TK_REDEEM, 0, NULL, 0, &res);
        if (rc == GL_LEDGER_FUNDS) {
            rc = GL_OK; /* drawn meanwhile: skip it */
            continue;
        }
        if (rc != GL_OK) {
            break;
        }
        if (seq == 0) {
            seq = res.seq;
        }
        piece_add(p, id, v->account, p->s->merchant_acct, res.amount);
        left -= res.amount;
        taken += res.amount;
        v->available -= res.amount;
        v->balance -= res.amount;
        int w = snprintf(vd + vdn, sizeof vd - vdn, "%s%s:%" PRId64,
                         vdn > 0 ? "," : "",
                         gl_mask_pan(masked, v->number, strlen(v->number)),
                         res.amount);
        if (w > 0 && (size_t)w < sizeof vd - vdn) {
            vdn += (size_t)w;
        }
    }
    if (rc != GL_OK) {
        return rc;
    }
    for (size_t i = 0; i < d.n; i++) {
        bal += d.v[i].balance;
        avail += d.v[i].available;
    }
    if (taken == 0) {
        decline(p, "51", NULL);
        set_de54(p, bal, avail);
        return GL_OK;
    }
    p->t.amount = taken;
    set_rc(p, taken < p->amount ? "10" : "00");
    if (taken < p->amount) {
        (void)iso_msg_set_u64(p->resp, 4, (uint64_t)taken);
    }
    set_approval(p, seq);
    add_tag(p, "VD", vd);
    set_de54(p, bal, avail);
    return GL_OK;
}

static int op_redeem(struct pctx *p)
{
    struct registry_voucher v;
    struct registry_product prod;
    int64_t member;
    int rc;

    p->t.op = HOP_REDEEM;
    p->t.bcls = HBC_DEBIT;
    if (is_member(p, &member, &rc)) {
        if (rl_blocked(p->w->rl_term, p->tid, p->now)) {
            decline(p, "05", NULL);
            return GL_OK;
        }
        return redeem_member(p, member);
    }
    if (rc != GL_OK) {
        return rc;
    }
    rc = find_voucher(p, 1, &v);
    if (rc != GL_OK || p->rc[0] != '\0') {
        return rc;
    }
    rc = registry_product_get(&p->w->reg, v.product, &prod);
    if (rc != GL_OK) {
        return rc;
    }
    return debit_voucher(p, &v, p->s->merchant_acct, LEDGER_TK_REDEEM,
                         prod.partial_ok ? LEDGER_F_PARTIAL : 0, 0);
}

static int op_cashout(struct pctx *p)
{
    struct registry_voucher v;
    int rc;

    p->t.op = HOP_CASHOUT;
    p->t.bcls = HBC_DEBIT;
    rc = find_voucher(p, 1, &v);
    if (rc != GL_OK || p->rc[0] != '\0') {
        return rc;
    }
    if (p->amount != v.available || v.available <= 0) {
        decline(p, "13", NULL);
        return GL_OK;
    }
    if (!registry_cashout_used_enough(v.face, v.balance)) {
        decline(p, "57", NULL);
        return GL_OK;
    }
    return debit_voucher(p, &v, p->w->cashout_acct, LEDGER_TK_CASHOUT, 0, 0);
}

/* Credits: refund (200060), reload (210060), activation (900060). */
static int op_credit(struct pctx *p, int op)
{
    struct registry_voucher v;
    struct ledger_result res;
    struct hostd_txn *orig = NULL;
    struct orig_key ok;
    char id[LEDGER_ID_MAX + 1];
    int64_t from, member;
    int kind, rc;

    p->t.op = op;
    p->t.bcls = HBC_CREDIT;
    if (is_member(p, &member, &rc)) {
        decline(p, "57", "NOT FOR MEMBER CARDS");
        return GL_OK;
    }
    if (rc != GL_OK) {
        return rc;
    }
    rc = find_voucher(p, 0, &v);
    if (rc != GL_OK || p->rc[0] != '\0') {
        return rc;
    }
    if (op == HOP_ACTIVATE) {
        /* A voucher sold at the till: issued without value (face kept in
         * the registry), activated once with exactly its face value. */
        rc = never_funded(p, &v);
        if (rc < 0) {
            return rc;
        }
        if (rc == 0) {
            decline(p, "12", "ALREADY ACTIVATED");
            return GL_OK;
        }
        if (p->amount != v.face) {
            decline(p, "13", NULL);
            return GL_OK;
        }
        from = p->w->cash_acct;
        kind = LEDGER_TK_ACTIVATE;
    } else if (op == HOP_RELOAD) {
        if (v.balance + p->amount > p->w->cfg->reload_max) {
            decline(p, "61", NULL);
            return GL_OK;
        }
        from = p->w->cash_acct;
        kind = LEDGER_TK_RELOAD;
    } else {
        int64_t max;
        if (parse_de90(p->req, &ok)) {
            orig = p->w->orig_buf; /* one per worker: ops never nest */
            if (orig == NULL) {
                return GL_ENOMEM;
            }
            rc = hostd_db_txn_get(p->w, p->tid, ok.stan, ok.de7, orig);
            if (rc == GL_ENOTFOUND || (rc == GL_OK &&
                (orig->op != HOP_REDEEM || !is_approved(orig->rc) ||
                 orig->state != HST_NORMAL ||
                 strcmp(orig->pan, p->pan) != 0))) {
                decline(p, "25", NULL);
                return GL_OK;
            }
            if (rc != GL_OK) {
                return rc;
            }
            max = orig->amount - orig->refunded;
        } else {
            max = v.face - v.balance;
        }
        if (p->amount > max) {
            decline(p, "13", NULL);
            return GL_OK;
        }
        if (orig != NULL) {
            rc = hostd_db_txn_add_refunded(p->w, p->tid, ok.stan, ok.de7,
                                           p->amount);
            if (rc != GL_OK) {
                return rc;
            }
        }
        from = p->s->merchant_acct;
        kind = LEDGER_TK_REFUND;
    }
    xid(p, 0, 0, id);
    rc = apply(p, id, from, v.account, p->amount, kind, 0, NULL, 0, &res);
    if (rc != GL_OK) {
        return rc;
    }
    piece_add(p, id, from, v.account, res.amount);
    p->t.amount = res.amount;
    set_rc(p, "00");
    set_approval(p, res.seq);
    return de54_account(p, v.account);
}

/* The voucher account touched by a stored request (for DE 54). */
static int64_t txn_voucher_account(const struct hostd_txn *t)
{
    const char *cur = t->pieces;
    char id[LEDGER_ID_CAP + 1];
    int64_t d, c, a;
    if (!piece_next(&cur, id, &d, &c, &a)) {
        return 0;
    }
    return t->bcls == HBC_CREDIT ? c : d;
}

static int op_void(struct pctx *p)
{
    struct orig_key ok;
    struct hostd_txn *o;
    int rc;

    p->t.op = HOP_VOID;
    if (!parse_de90(p->req, &ok)) {
        decline(p, "30", NULL);
        return GL_OK;
    }
    o = p->w->orig_buf; /* one per worker: ops never nest */
    if (o == NULL) {
        return GL_ENOMEM;
    }
    rc = hostd_db_txn_get(p->w, p->tid, ok.stan, ok.de7, o);
    if (rc == GL_ENOTFOUND || (rc == GL_OK && (strcmp(o->mti, "0200") != 0 ||
                                               strcmp(ok.mti, "0200") != 0 ||
                                               strcmp(o->pan, p->pan) != 0 ||
                                               !is_approved(o->rc)))) {
        decline(p, "25", NULL);
        rc = GL_OK;
        goto out;
    }
    if (rc != GL_OK) {
        goto out;
    }
    if (o->op == HOP_VOID || o->op == HOP_BALANCE || o->state != HST_NORMAL ||
        p->now - o->created > p->w->cfg->void_window) {
        decline(p, "12", NULL);
        goto out;
    }
    if (p->amount != o->amount) {
        decline(p, "13", NULL);
        goto out;
    }
    rc = undo_pieces(p, o, 'V', 0);
    if (rc == GL_LEDGER_FUNDS) {
        /* An activation or reload whose value has been used. */
        p->t.pieces[0] = '\0';
        decline(p, "12", "VALUE ALREADY USED");
        rc = GL_OK;
        goto out;
    }
    if (rc != GL_OK) {
        goto out;
    }
    rc = hostd_db_txn_set_state(p->w, p->tid, ok.stan, ok.de7, HST_VOIDED);
    if (rc != GL_OK) {
        goto out;
    }
    snprintf(p->t.target, sizeof p->t.target, "%s %s", ok.stan, ok.de7);
    p->t.amount = o->amount;
    p->t.bcls = o->bcls == HBC_CREDIT ? HBC_CREDIT_REV : HBC_DEBIT_REV;
    set_rc(p, "00");
    set_approval(p, (int64_t)(p->now % 1000000));
    {
        int64_t acct = txn_voucher_account(o);
        if (acct != 0) {
            rc = de54_account(p, acct);
        }
    }
out:
    return rc;
}

/* ---- advices, reversals ----------------------------------------------- */

static int op_completion(struct pctx *p, const struct orig_key *ok)
{
    struct hostd_txn *o = p->w->orig_buf; /* one per worker: ops never nest */
    struct ledger_result res;
    char id[LEDGER_ID_MAX + 1], hid[LEDGER_ID_CAP + 1];
    const char *cur;
    int64_t d, c, a, post;
    int rc;

    p->t.op = HOP_COMPLETION;
    p->t.bcls = HBC_DEBIT;
    if (o == NULL) {
        return GL_ENOMEM;
    }
    rc = hostd_db_txn_get(p->w, p->tid, ok->stan, ok->de7, o);
    cur = rc == GL_OK ? o->pieces : "";
    if (rc == GL_ENOTFOUND ||
        (rc == GL_OK && (o->op != HOP_HOLD || !is_approved(o->rc) ||
                         o->state != HST_NORMAL ||
                         !piece_next(&cur, hid, &d, &c, &a)))) {
        decline(p, "25", NULL);
        rc = GL_OK;
        goto out;
    }
    if (rc != GL_OK) {
        goto out;
    }
    post = p->amount < a ? p->amount : a;
    xid(p, 0, 0, id);
    rc = apply(p, id, 0, 0, post, LEDGER_TK_REDEEM, LEDGER_F_POST, hid, 0,
               &res);
    if (rc == GL_LEDGER_NOHOLD || rc == GL_LEDGER_HOLD_CLOSED ||
        rc == GL_LEDGER_HOLD_EXPIRED) {
        decline(p, "25", "HOLD NOT OPEN");
        rc = GL_OK;
        goto out;
    }
    if (rc != GL_OK) {
        goto out;
    }
    piece_add(p, id, d, c, res.amount);
    p->t.amount = res.amount;
    if (res.amount < p->amount) {
        set_rc(p, "10");
        (void)iso_msg_set_u64(p->resp, 4, (uint64_t)res.amount);
    } else {
        set_rc(p, "00");
    }
    rc = de54_account(p, d);
out:
    return rc;
}

/* An offline approval (0220 OF=Y, or the 0320 upload of one never
 * received): applied even below zero, flagged.  id_key names the transfer. */
static int apply_offline(struct pctx *p, const char *tid, const char *stan,
                         const char *de7)
{
    struct registry_voucher v;
    struct ledger_result res;
    char id[LEDGER_ID_MAX + 1];
    int rc = registry_voucher_get(&p->w->reg, p->pan, &v);

    if (rc == GL_ENOTFOUND) {
        decline(p, "14", NULL);
        return GL_OK;
    }
    if (rc != GL_OK) {
        return rc;
    }
    snprintf(id, sizeof id, "%s:%s:%s:0", tid, stan, de7);
    rc = apply(p, id, v.account, p->s->merchant_acct, p->amount,
               LEDGER_TK_REDEEM, 0, NULL, 0, &res);
    if (rc == GL_LEDGER_FUNDS || rc == GL_LEDGER_CONFLICT) {
        rc = apply(p, id, v.account, p->s->merchant_acct, p->amount,
                   LEDGER_TK_REDEEM, LEDGER_F_OFFLINE_OVERDRAFT, NULL, 0,
                   &res);
        if (rc == GL_OK) {
            GL_LOG_WARN("hostd", "%s: offline advice overdraws a voucher: "
                        "flagged", p->tid);
        }
    }
    if (rc != GL_OK) {
        return rc;
    }
    piece_add(p, id, v.account, p->s->merchant_acct, res.amount);
    p->t.amount = res.amount;
    set_rc(p, "00");
    return de54_account(p, v.account);
}

static int op_advice(struct pctx *p)
{
    struct orig_key ok;
    char of[4];
    if (parse_de90(p->req, &ok)) {
        return op_completion(p, &ok);
    }
    if (tag(p->req, "OF", of, sizeof of) && strcmp(of, "Y") == 0) {
        p->t.op = HOP_OFFLINE;
        p->t.bcls = HBC_DEBIT;
        return apply_offline(p, p->tid, p->stan, p->de7);
    }
    decline(p, "30", NULL);
    return GL_OK;
}

static int op_reversal(struct pctx *p)
{
    struct orig_key ok;
    struct hostd_txn *o;
    char de4[16];
    int rc;

    p->t.op = HOP_REVERSAL;
    if (!parse_de90(p->req, &ok)) {
        decline(p, "30", NULL);
        return GL_OK;
    }
    o = p->w->orig_buf; /* one per worker: ops never nest */
    if (o == NULL) {
        return GL_ENOMEM;
    }
    rc = hostd_db_txn_get(p->w, p->tid, ok.stan, ok.de7, o);
    if (rc == GL_ENOTFOUND || (rc == GL_OK && strcmp(o->mti, ok.mti) != 0)) {
        /* Never seen (yet): acknowledged, and remembered so that a late
         * original is refused. */
        rc = hostd_db_early_put(p->w, p->tid, ok.stan, ok.de7, p->now);
        if (rc == GL_OK) {
            set_rc(p, "00");
            GL_LOG_INFO("hostd", "%s: reversal of an unseen request "
                        "remembered", p->tid);
        }
        goto out;
    }
    if (rc != GL_OK) {
        goto out;
    }
    if (!is_approved(o->rc) || o->state == HST_REVERSED ||
        o->op == HOP_BALANCE) {
        set_rc(p, "00"); /* nothing to undo */
        goto out;
    }
    getf(p->req, 4, de4, sizeof de4);
    if (strcmp(o->pan, p->pan) != 0 || strcmp(o->proc, p->proc) != 0 ||
        (de4[0] != '\0' ? atoll(de4) : 0) != o->req_amount) {
        decline(p, "12", "NOT THE ORIGINAL");
        goto out;
    }
    if (o->op == HOP_HOLD) {
        const char *cur = o->pieces;
        char hid[LEDGER_ID_CAP + 1], id[LEDGER_ID_MAX + 1];
        int64_t d, c, a;
        struct ledger_result res;
        if (piece_next(&cur, hid, &d, &c, &a)) {
            xid(p, 'R', 0, id);
            rc = apply(p, id, 0, 0, 0, LEDGER_TK_REDEEM, LEDGER_F_VOID, hid, 0,
                       &res);
            if (rc == GL_LEDGER_HOLD_CLOSED || rc == GL_LEDGER_NOHOLD ||
                rc == GL_LEDGER_HOLD_EXPIRED) {
                rc = GL_OK; /* completed or expired: nothing held */
            }
        }
    } else {
        rc = undo_pieces(p, o, 'R', 1);
        if (rc == GL_OK && o->op == HOP_VOID) {
            char stan[7], de7[11];
            if (sscanf(o->target, "%6s %10s", stan, de7) == 2) {
                rc = hostd_db_txn_set_state(p->w, p->tid, stan, de7,
                                            HST_NORMAL);
            }
        }
    }
    if (rc == GL_OK) {
        rc = hostd_db_txn_set_state(p->w, p->tid, ok.stan, ok.de7,
                                    HST_REVERSED);
    }
    if (rc == GL_OK) {
        set_rc(p, "00");
    }
out:
    return rc;
}

/* ---- batch close ------------------------------------------------------- */

static int64_t num(const struct iso_msg *m, int f, int *missing)
{
    uint64_t v = 0;
    if (iso_msg_get_u64(m, f, &v) != GL_OK) {
        *missing = 1;
        return 0;
    }
    return (int64_t)v;
}

static void net_text(int64_t dr, int64_t drr, int64_t cr, int64_t crr,
                     char out[24])
{
    int64_t net = (dr - drr) - (cr - crr);
    snprintf(out, 24, "%c%016" PRId64, net >= 0 ? 'D' : 'C',
             (int64_t)((net >= 0 ? net : -net) % 10000000000000000LL));
}

static int totals_equal(const int64_t t[9], const int64_t cnt[5],
                        const int64_t sum[5], const char *de97)
{
    char net[24];
    net_text(sum[HBC_DEBIT], sum[HBC_DEBIT_REV], sum[HBC_CREDIT],
             sum[HBC_CREDIT_REV], net);
    return t[0] == cnt[HBC_CREDIT] && t[1] == cnt[HBC_CREDIT_REV] &&
           t[2] == cnt[HBC_DEBIT] && t[3] == cnt[HBC_DEBIT_REV] &&
           t[4] == sum[HBC_CREDIT] && t[5] == sum[HBC_CREDIT_REV] &&
           t[6] == sum[HBC_DEBIT] && t[7] == sum[HBC_DEBIT_REV] &&
           strcmp(net, de97) == 0;
}

static int op_reconcile(struct pctx *p)
{
    static const int f[8] = {74, 75, 76, 77, 86, 87, 88, 89};
    char bn[8], de97[20];
    int64_t t[9], cnt[5], sum[5], batch;
    int missing = 0, rc;

    p->t.op = HOP_RECONCILE;
    for (int i = 0; i < 8; i++) {
        t[i] = num(p->req, f[i], &missing);
    }
    if (!tag(p->req, "BN", bn, sizeof bn) || !all_digits(bn, 6) || missing ||
        !getf(p->req, 97, de97, sizeof de97)) {
        decline(p, "30", NULL);
        return GL_OK;
    }
    add_tag(p, "BN", bn);
    batch = atoll(bn);
    if (batch != p->s->term.batch_no) {
        decline(p, "12", "BATCH NOT OPEN");
        return GL_OK;
    }
    rc = hostd_db_totals(p->w, HDB_TXN_TOTALS, p->tid, batch, cnt, sum);
    if (rc != GL_OK) {
        return rc;
    }
    if (!totals_equal(t, cnt, sum, de97)) {
        int64_t uc[5], us[5];
        rc = hostd_db_totals(p->w, HDB_UPLOAD_TOTALS, p->tid, batch, uc, us);
        if (rc != GL_OK) {
            return rc;
        }
        if (uc[1] + uc[2] + uc[3] + uc[4] == 0 || !totals_equal(t, uc, us, de97)) {
            decline(p, "95", NULL);
            return GL_OK;
        }
        GL_LOG_WARN("hostd", "%s: batch %s closed on its uploads: the host's "
                    "totals differ (report)", p->tid, bn);
    }
    int64_t next = batch >= 999999 ? 1 : batch + 1;
    rc = registry_terminal_set_batch(&p->w->reg, p->tid, next);
    if (rc != GL_OK) {
        return rc;
    }
    p->s->term.batch_no = next; /* the connection's view; stored is durable */
    set_rc(p, "00");
    return GL_OK;
}

static int op_upload(struct pctx *p)
{
    struct orig_key ok;
    struct hostd_txn *o;
    char bn[8], of[4];
    int rc;

    p->t.op = HOP_UPLOAD;
    if (!parse_de90(p->req, &ok) || !tag(p->req, "BN", bn, sizeof bn) ||
        !all_digits(bn, 6) || !p->has_amount) {
        decline(p, "30", NULL);
        return GL_OK;
    }
    o = p->w->orig_buf; /* one per worker: ops never nest */
    if (o == NULL) {
        return GL_ENOMEM;
    }
    rc = hostd_db_txn_get(p->w, p->tid, ok.stan, ok.de7, o);
    if (rc == GL_OK && is_approved(o->rc) && o->state != HST_REVERSED &&
        o->bcls != HBC_NONE) {
        if (o->amount != p->amount) {
            decline(p, "13", NULL);
        } else {
            set_rc(p, "00");
        }
        rc = hostd_db_upload_put(p->w, p->tid, atoll(bn), ok.stan, ok.de7,
                                 o->bcls, p->amount);
    } else if (rc == GL_OK || rc == GL_ENOTFOUND) {
        if (tag(p->req, "OF", of, sizeof of) && strcmp(of, "Y") == 0 &&
            rc == GL_ENOTFOUND) {
            rc = apply_offline(p, p->tid, ok.stan, ok.de7);
            if (rc == GL_OK && strcmp(p->rc, "00") == 0) {
                rc = hostd_db_upload_put(p->w, p->tid, atoll(bn), ok.stan,
                                         ok.de7, HBC_DEBIT, p->amount);
            }
        } else {
            decline(p, "25", NULL);
            rc = GL_OK;
        }
    }
    return rc;
}

/* ---- network management --------------------------------------------- */

static int keyid_ok(const struct hostd_sess *s, const char *ks)
{
    const char *k = s->term.key_id;
    size_t n = strlen(k);
    if (n != 16 && n != 20) {
        return 1; /* not a KSN prefix: no binding registered */
    }
    for (size_t i = 0; i < n; i++) {
        if (!isxdigit((unsigned char)k[i])) {
            return 1;
        }
    }
    /* AES: the 16-hex initial key ID; TDES: the KSN without its counter
     * (the first 15 hex digits are the key set and device). */
    size_t cmp = strlen(ks) == 24 ? 16 : 15;
    if (n < cmp) {
        return 0;
    }
    return strncasecmp(k, ks, cmp) == 0;
}

static int load_terminal(struct pctx *p)
{
    struct registry_merchant m;
    int rc = registry_terminal_get(&p->w->reg, p->tid, &p->s->term);
    if (rc != GL_OK) {
        memset(&p->s->term, 0, sizeof p->s->term);
        return rc;
    }
    rc = registry_merchant_get(&p->w->reg, p->s->term.merchant, &m);
    if (rc == GL_OK) {
        p->s->merchant_acct = m.account;
    }
    return rc;
}

static int op_netmgmt(struct pctx *p)
{
    char de70[8], de42[20];
    int rc;

    getf(p->req, 70, de70, sizeof de70);
    if (strcmp(de70, "301") == 0) {
        set_rc(p, "00");
    } else if (strcmp(de70, "001") == 0 || strcmp(de70, "161") == 0) {
        p->s->signed_on = 0;
        rc = load_terminal(p);
        if (rc != GL_OK && rc != GL_ENOTFOUND) {
            return rc;
        }
        getf(p->req, 42, de42, sizeof de42);
        trim_right(de42);
        if (rc == GL_ENOTFOUND || p->s->term.status != REGISTRY_T_ACTIVE ||
            (de70[0] == '0' && strcmp(de42, p->s->term.merchant) != 0) ||
            !keyid_ok(p->s, p->ks)) {
            decline(p, "58", "TERMINAL NOT REGISTERED");
            GL_LOG_WARN("hostd", "%s: sign-on refused", p->tid);
        } else {
            p->s->signed_on = 1;
            set_rc(p, "00");
            GL_LOG_INFO("hostd", "%s: signed on (merchant %s)", p->tid,
                        p->s->term.merchant);
        }
    } else if (strcmp(de70, "002") == 0) {
        p->s->signed_on = 0;
        set_rc(p, "00");
    } else {
        decline(p, "30", NULL);
    }
    return GL_OK;
}

/* ---- the request ------------------------------------------------------- */

static int proc_valid(const char *mti, const char *proc)
{
    static const struct {
        const char *mti, *proc;
    } t[] = {
        {"010", "316000"}, {"010", "006000"}, {"020", "006000"},
        {"020", "200060"}, {"020", "026000"}, {"020", "900060"},
        {"020", "210060"}, {"020", "616000"}, {"022", "006000"},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        if (strncmp(mti, t[i].mti, 3) == 0 && strcmp(proc, t[i].proc) == 0) {
            return 1;
        }
    }
    return 0;
}

static int de22_valid(const char *v)
{
    static const char *const ok[] = {"01", "02", "03", "07", "81", "82"};
    if (!all_digits(v, 3) || (v[2] != '1' && v[2] != '2')) {
        return 0;
    }
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        if (strncmp(v, ok[i], 2) == 0) {
            return 1;
        }
    }
    return 0;
}

/* Field rules (30), currency (13), processing code (12), merchant (58).
 * Sets p->rc on a refusal. */
static void field_rules(struct pctx *p)
{
    char de25[4], de49[4], de42[20];
    int fin = strncmp(p->mti, "010", 3) == 0 || strncmp(p->mti, "020", 3) == 0 ||
              strncmp(p->mti, "022", 3) == 0;
    int rev = strncmp(p->mti, "040", 3) == 0 || strncmp(p->mti, "042", 3) == 0;

    if (getf(p->req, 25, de25, sizeof de25) && strcmp(de25, "00") != 0) {
        decline(p, "30", NULL);
        return;
    }
    if ((fin || rev || strncmp(p->mti, "032", 3) == 0) &&
        (p->pan[0] == '\0' || p->proc[0] == '\0')) {
        decline(p, "30", NULL);
        return;
    }
    if (fin && !de22_valid(p->de22)) {
        decline(p, "30", NULL);
        return;
    }
    if (fin && !p->has_amount && strcmp(p->proc, "316000") != 0) {
        decline(p, "30", NULL);
        return;
    }
    if (getf(p->req, 49, de49, sizeof de49) && strcmp(de49, "410") != 0) {
        decline(p, "13", NULL);
        return;
    }
    if (fin && p->has_amount && p->amount <= 0) {
        decline(p, "13", NULL);
        return;
    }
    if (fin && !proc_valid(p->mti, p->proc)) {
        decline(p, "12", NULL);
        return;
    }
    if (getf(p->req, 42, de42, sizeof de42)) {
        trim_right(de42);
        if (strcmp(de42, p->s->term.merchant) != 0) {
            decline(p, "58", NULL);
        }
    } else if (fin || strncmp(p->mti, "050", 3) == 0) {
        decline(p, "30", NULL);
    }
}

static int dispatch(struct pctx *p)
{
    const char *m = p->mti;
    if (strncmp(m, "010", 3) == 0) {
        return strcmp(p->proc, "316000") == 0 ? op_balance(p) : op_hold(p);
    }
    if (strncmp(m, "020", 3) == 0) {
        if (strcmp(p->proc, "006000") == 0) {
            return op_redeem(p);
        }
        if (strcmp(p->proc, "200060") == 0) {
            return op_credit(p, HOP_REFUND);
        }
        if (strcmp(p->proc, "210060") == 0) {
            return op_credit(p, HOP_RELOAD);
        }
        if (strcmp(p->proc, "900060") == 0) {
            return op_credit(p, HOP_ACTIVATE);
        }
        if (strcmp(p->proc, "616000") == 0) {
            return op_cashout(p);
        }
        return op_void(p);
    }
    if (strncmp(m, "022", 3) == 0) {
        return op_advice(p);
    }
    if (strncmp(m, "040", 3) == 0 || strncmp(m, "042", 3) == 0) {
        return op_reversal(p);
    }
    if (strncmp(m, "050", 3) == 0) {
        return op_reconcile(p);
    }
    if (strncmp(m, "032", 3) == 0) {
        return op_upload(p);
    }
    decline(p, "12", NULL);
    return GL_OK;
}

/* Answers a repeat with the stored answer (fresh KS; the loop MACs it). */
static int replay(struct pctx *p, const struct hostd_txn *t)
{
    const uint8_t *v = NULL;
    size_t n = 0;
    int rc = iso_unpack(&iso_profile_ascii, p->resp, t->resp, t->resp_len,
                        NULL);
    if (rc != GL_OK) {
        return rc;
    }
    /* The repeat MTI (0401 -> 0410 either way). */
    (void)iso_msg_set_mti(p->resp, p->rmti);
    uint8_t extra[1024];
    if (iso_msg_get(p->resp, 48, &v, &n) == GL_OK && n <= sizeof extra) {
        memcpy(extra, v, n);
    } else {
        n = 0;
    }
    resp_finish(p->resp, p->ks, extra, n);
    return GL_OK;
}

int hostd_proc_scratch_init(struct hostd_worker *w)
{
    w->pctx_buf = calloc(1, sizeof(struct pctx));
    w->orig_buf = calloc(1, sizeof *w->orig_buf);
    return w->pctx_buf != NULL && w->orig_buf != NULL ? GL_OK : GL_ENOMEM;
}

void hostd_proc_scratch_free(struct hostd_worker *w)
{
    if (w->pctx_buf != NULL) {
        crypto_wipe(w->pctx_buf, sizeof(struct pctx));
    }
    free(w->pctx_buf);
    free(w->orig_buf);
    w->pctx_buf = NULL;
    w->orig_buf = NULL;
}

int hostd_proc_request(struct hostd_worker *w, struct hostd_sess *s,
                       const struct iso_msg *req, struct iso_msg *resp)
{
    struct pctx *p = w->pctx_buf;
    char de4[16];
    int rc = GL_OK, action = HOSTD_ANSWER, stored = 0, savepoint = 0;

    if (p == NULL) {
        return HOSTD_CLOSE;
    }
    memset(p, 0, sizeof *p);
    p->w = w;
    p->s = s;
    p->req = req;
    p->resp = resp;
    p->now = ledger_now(&w->lg);
    memcpy(p->mti, req->mti, 5);
    hostd_resp_mti(p->mti, p->rmti);
    snprintf(p->tid, sizeof p->tid, "%.16s", s->tid);
    getf(req, 11, p->stan, sizeof p->stan);
    getf(req, 7, p->de7, sizeof p->de7);
    getf(req, 2, p->pan, sizeof p->pan);
    getf(req, 3, p->proc, sizeof p->proc);
    getf(req, 22, p->de22, sizeof p->de22);
    if (getf(req, 4, de4, sizeof de4)) {
        p->has_amount = 1;
        p->amount = atoll(de4);
    }
    tag(req, "KS", p->ks, sizeof p->ks);
    resp_start(p);

    if (s->term.id[0] != '\0' && !keyid_ok(s, p->ks)) {
        GL_LOG_WARN("hostd", "%s: message under a key ID not registered to "
                    "the terminal: closing", p->tid);
        action = HOSTD_CLOSE;
        goto out;
    }
    if (strcmp(p->mti, "0800") == 0) {
        rc = op_netmgmt(p);
        goto answer;
    }
    if (!s->signed_on) {
        decline(p, "91", NULL);
        goto answer;
    }
    if (!all_digits(p->stan, 6) || !all_digits(p->de7, 10)) {
        decline(p, "30", NULL);
        goto answer;
    }
    /* Everything below is stored: one savepoint per request. */
    rc = hostd_db_savepoint(w, HDB_SAVEPOINT);
    if (rc != GL_OK) {
        goto answer;
    }
    savepoint = 1;
    digest(p, p->t.digest);
    {
        struct hostd_txn *old = w->orig_buf;
        if (old == NULL) {
            rc = GL_ENOMEM;
            goto answer;
        }
        rc = hostd_db_txn_get(w, p->tid, p->stan, p->de7, old);
        if (rc == GL_OK) {
            if (strncmp(old->mti, p->mti, 3) == 0 &&
                strcmp(old->digest, p->t.digest) == 0) {
                rc = replay(p, old);
                if (rc == GL_OK) {
                    GL_LOG_DEBUG("hostd", "%s: repeat of STAN %s answered "
                                 "from the store", p->tid, p->stan);
                }
                stored = 1; /* nothing new to store */
                goto done;
            }
            decline(p, "94", NULL);
            stored = 1; /* the first answer stays */
            goto answer;
        }
        if (rc != GL_ENOTFOUND) {
            goto answer;
        }
        rc = GL_OK;
    }
    if (strncmp(p->mti, "010", 3) == 0 || strncmp(p->mti, "020", 3) == 0) {
        int early = hostd_db_early_get(w, p->tid, p->stan, p->de7);
        if (early < 0) {
            rc = early;
            goto answer;
        }
        if (early) {
            decline(p, "12", "REVERSED BEFORE ARRIVAL");
            goto answer;
        }
    }
    field_rules(p);
    if (p->rc[0] == '\0') {
        rc = dispatch(p);
    }

answer:
    if (rc != GL_OK) {
        GL_LOG_ERR("hostd", "%s: STAN %s: %s: answering 96", p->tid, p->stan,
                   gl_strerror(rc));
        if (savepoint) {
            (void)hostd_db_savepoint(w, HDB_ROLLBACK_TO);
        }
        stored = 1; /* a 96 is not stored: a retry is evaluated again */
        resp_start(p);
        p->tlvlen = 0;
        decline(p, "96", NULL);
        rc = GL_OK;
    }
    (void)iso_msg_set_str(resp, 39, p->rc[0] != '\0' ? p->rc : "96", NULL);
    if (strcmp(p->rmti, "0110") == 0 && !iso_msg_has(resp, 37)) {
        char rrn[16];
        snprintf(rrn, sizeof rrn, "H%02d%09" PRIu64, w->id % 100,
                 (uint64_t)(p->now % 100000) * 10000 + (w->seq++ % 10000));
        (void)iso_msg_set_str(resp, 37, rrn, NULL);
    }
    if (!is_approved(p->rc)) {
        iso_msg_unset(resp, 38);
    }
    if (p->tlvlen > 0) {
        (void)iso_msg_set(resp, 48, p->tlv, p->tlvlen, NULL);
    }
    if (savepoint && !stored) {
        struct hostd_txn *t = &p->t;
        snprintf(t->tid, sizeof t->tid, "%s", p->tid);
        memcpy(t->stan, p->stan, sizeof t->stan);
        memcpy(t->de7, p->de7, sizeof t->de7);
        memcpy(t->mti, p->mti, sizeof t->mti);
        if (t->mti[3] == '1') {
            t->mti[3] = '0'; /* the identity's first MTI */
        }
        memcpy(t->proc, p->proc, sizeof t->proc);
        memcpy(t->pan, p->pan, sizeof t->pan);
        t->req_amount = p->amount;
        memcpy(t->rc, p->rc, sizeof t->rc);
        t->batch = s->term.batch_no;
        t->created = p->now;
        if (!is_approved(p->rc)) {
            t->bcls = HBC_NONE;
        }
        rc = iso_pack(&iso_profile_ascii, resp, t->resp, sizeof t->resp,
                      &t->resp_len, NULL);
        if (rc == GL_OK) {
            rc = hostd_db_txn_put(w, t);
        }
        if (rc != GL_OK) {
            savepoint = 1;
            stored = 0;
            GL_LOG_ERR("hostd", "%s: storing the answer: %s", p->tid,
                       gl_strerror(rc));
            (void)hostd_db_savepoint(w, HDB_ROLLBACK_TO);
            resp_start(p);
            p->tlvlen = 0;
            decline(p, "96", NULL);
            (void)iso_msg_set_str(resp, 39, "96", NULL);
            (void)iso_msg_set(resp, 48, p->tlv, p->tlvlen, NULL);
            rc = GL_OK;
        }
    }
    {
        const uint8_t *v = NULL;
        size_t n = 0;
        uint8_t extra[1024];
        if (iso_msg_get(resp, 48, &v, &n) == GL_OK && n <= sizeof extra) {
            memcpy(extra, v, n);
        } else {
            n = 0;
        }
        resp_finish(resp, p->ks, extra, n);
    }
done:
    if (savepoint) {
        (void)hostd_db_savepoint(w, HDB_RELEASE);
    }
    if (rc != GL_OK) {
        action = HOSTD_CLOSE;
    }
out:
    crypto_wipe(p, sizeof *p);
    return action;
}

int hostd_error_answer(const struct iso_msg *req, const char *code,
                       struct iso_msg *resp)
{
    static const int f[] = {7, 11, 41};
    char mti[5], ks[32];
    const uint8_t *v;
    size_t n;

    if (!tag(req, "KS", ks, sizeof ks) || !iso_msg_has(req, 11) ||
        !iso_msg_has(req, 41) || req->mti[0] == '\0') {
        return GL_ENOTFOUND;
    }
    hostd_resp_mti(req->mti, mti);
    iso_msg_init(resp);
    (void)iso_msg_set_mti(resp, mti);
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) {
        if (iso_msg_get(req, f[i], &v, &n) == GL_OK) {
            (void)iso_msg_set(resp, f[i], v, n, NULL);
        }
    }
    (void)iso_msg_set_str(resp, 39, code, NULL);
    uint8_t extra[64];
    size_t en = 0;
    const char *rs = rs_text(code);
    (void)iso_tlv_append(extra, sizeof extra, &en, "RS", rs, strlen(rs));
    resp_finish(resp, ks, extra, en);
    return GL_OK;
}
