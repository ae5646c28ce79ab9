/*
 * gl_load.c - gl-load, a terminal simulator for gl-hostd: real TLS (hal/net,
 * mutual certificates), real AES DUKPT keys (the terminal side of
 * crypto_dukpt.h, loaded from a `glctl pki ikey` file) and real MACs.
 *
 *   gl-load send --tid TID [common options] [--auto] [--clear] [--timeout S]
 *       Reads messages in the gl-iso text form ("mti=0200", "2=...", binary
 *       fields as hex) separated by blank lines from stdin.  Per message:
 *       --auto fills DE 7 (now, KST) and DE 11 when absent; the KS of a new
 *       DUKPT transaction is added to DE 48, any DE 64/128 dropped and the
 *       MAC computed.  Pseudo-fields:
 *         pin=NNNN     ISO 9564 format 4 PIN block of DE 2 under the DUKPT
 *                      PIN key, in DE 48 PB with PF=4
 *         mac=bad      send a wrong MAC
 *         raw=HEX      send these bytes as they are (a frame, or a part of
 *                      one); no MAC, nothing filled
 *         wait=S       seconds to wait for an answer (default --timeout)
 *         repeat=N     send the message N times (new KS and MAC each time)
 *       Prints each answer decoded (masked unless --clear), with a line
 *       "mac=ok" or "mac=BAD", then a blank line; "closed" when the host
 *       closed the connection, "no answer" after the wait.  Exit 0 when
 *       every message was sent.
 *
 *   gl-load run -c CONNS (-d SECONDS | -n REQUESTS) --tid-prefix PP
 *       --vouchers FILE --merchant ID [--mix redeem=70,balance=20,refund=10]
 *       [--amount KRW] [--approvals FILE] [common options]
 *       CONNS terminals PP000001.. (certificates DIR/term-<TID>.crt/.key),
 *       each signs on, then sends one request at a time for the duration (or
 *       until REQUESTS were sent in all), vouchers drawn at random from FILE.
 *       Prints BENCH lines (throughput, approved redemptions per second,
 *       latency percentiles) and "rc XX=count" lines; --approvals writes the
 *       ledger transfer id and amount of every approval received.
 *
 *   common: --host H (127.0.0.1) --port P --ca FILE --cert-dir DIR
 *           --server-cn NAME --ikey FILE
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "crypto.h"
#include "crypto_dukpt.h"
#include "crypto_mac_msg.h"
#include "crypto_pinblock.h"
#include "gl_err.h"
#include "iso8583.h"
#include "net.h"

struct opts {
    const char *host, *port, *ca, *cert_dir, *server_cn, *ikey_file;
    const char *tid, *tid_prefix, *vouchers, *merchant, *mix, *approvals;
    int auto_fill, clear, conns;
    double timeout, duration;
    long requests;
    long long amount;
};

/* One simulated terminal. */
struct term {
    char tid[16];
    struct net_ctx *ctx;
    struct net_conn *c;
    struct crypto_dukpt_aes_term dk;
    struct crypto_mac_keys keys; /* of the outstanding request */
    struct iso_reasm ra;
    struct iso_msg got;
    int have_answer, closed;
    uint32_t stan;
    /* run mode */
    int state; /* 0 handshake, 1 sign-on sent, 2 idle, 3 waiting */
    int op;
    double sent_at;
    char cur_pan[20];
};

static struct crypto_rng g_rng;
static struct crypto_ikey g_ikey;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void de7_now(char out[11])
{
    char tmp[64];
    time_t t = time(NULL) + 9 * 3600; /* KST */
    struct tm tm;
    gmtime_r(&t, &tm);
    snprintf(tmp, sizeof tmp, "%02d%02d%02d%02d%02d", tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    memcpy(out, tmp, 10);
    out[10] = '\0';
}

static int load_ikey(const char *path)
{
    char text[1024];
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        return GL_EIO;
    }
    size_t n = fread(text, 1, sizeof text, f);
    fclose(f);
    int rc = crypto_ikey_parse(text, n, &g_ikey);
    crypto_wipe(text, sizeof text);
    return rc;
}

static int term_open(struct term *t, const struct opts *o)
{
    char crt[1024], key[1024], err[NET_ERR_MAX];
    struct net_tls_config cfg = {.ca_file = o->ca, .cert_file = crt,
                                 .key_file = key, .server_cn = o->server_cn};
    snprintf(crt, sizeof crt, "%s/term-%s.crt", o->cert_dir, t->tid);
    snprintf(key, sizeof key, "%s/term-%s.key", o->cert_dir, t->tid);
    int rc = net_ctx_new(&t->ctx, NET_ROLE_CLIENT, &cfg, err, sizeof err);
    if (rc != GL_OK) {
        fprintf(stderr, "gl-load: %s: TLS: %s\n", t->tid, err);
        return rc;
    }
    rc = crypto_dukpt_aes_term_load(&t->dk, g_ikey.key, g_ikey.type,
                                    g_ikey.key_id);
    if (rc != GL_OK) {
        return rc;
    }
    /* Start the counter somewhere new, so runs do not reuse KSNs. */
    uint8_t r[4];
    crypto_random(crypto_rng_fill, &g_rng, r, sizeof r);
    t->stan = (uint32_t)(r[0] << 16 | r[1] << 8 | r[2]) % 900000 + 1;
    iso_reasm_init(&t->ra, ISO_FRAME_MAX);
    return net_connect(t->ctx, o->host, o->port, &t->c);
}

static short events_of(const struct net_conn *c)
{
    int w = net_conn_want(c);
    return (short)(((w & NET_WANT_READ) ? POLLIN : 0) |
                   ((w & NET_WANT_WRITE) ? POLLOUT : 0));
}

/* Blocking helpers for send mode. */
static int wait_io(struct net_conn *c, double deadline)
{
    double left = deadline - now_s();
    if (left <= 0) {
        return GL_ETIMEDOUT;
    }
    struct pollfd p = {.fd = net_conn_fd(c), .events = events_of(c)};
    if (p.events == 0) {
        p.events = POLLIN;
    }
    int n = poll(&p, 1, (int)(left * 1000) + 1);
    return n == 0 ? GL_ETIMEDOUT : GL_OK;
}

static int handshake_blocking(struct term *t, double timeout)
{
    double dl = now_s() + timeout;
    for (;;) {
        int rc = net_conn_handshake(t->c);
        if (rc != GL_EAGAIN) {
            return rc;
        }
        if (wait_io(t->c, dl) != GL_OK) {
            return GL_ETIMEDOUT;
        }
    }
}

static int write_all(struct term *t, const uint8_t *b, size_t n, double timeout)
{
    double dl = now_s() + timeout;
    size_t off = 0;
    while (off < n) {
        int w = net_conn_write(t->c, b + off, n - off);
        if (w == GL_EAGAIN) {
            if (wait_io(t->c, dl) != GL_OK) {
                return GL_ETIMEDOUT;
            }
            continue;
        }
        if (w < 0) {
            return w;
        }
        off += (size_t)w;
    }
    return GL_OK;
}

static int on_frame(void *ctx, const uint8_t *b, size_t n)
{
    struct term *t = ctx;
    if (iso_unpack(&iso_profile_ascii, &t->got, b, n, NULL) != GL_OK) {
        iso_msg_init(&t->got);
    }
    t->have_answer = 1;
    return 1; /* one answer at a time */
}

/* Reads what is there; 1 when an answer is complete, 0 not yet, <0 closed. */
static int read_some(struct term *t)
{
    uint8_t buf[16384];
    for (;;) {
        int n = net_conn_read(t->c, buf, sizeof buf);
        if (n == GL_EAGAIN) {
            return t->have_answer;
        }
        if (n < 0) {
            t->closed = 1;
            return n;
        }
        (void)iso_reasm_feed(&t->ra, buf, (size_t)n, on_frame, t);
        if (t->have_answer) {
            return 1;
        }
    }
}

static int read_answer(struct term *t, double timeout)
{
    double dl = now_s() + timeout;
    t->have_answer = 0;
    for (;;) {
        int rc = read_some(t);
        if (rc != 0) {
            return rc > 0 ? GL_OK : rc;
        }
        if (wait_io(t->c, dl) != GL_OK) {
            return GL_ETIMEDOUT;
        }
    }
}

/* Adds KS (and a PIN block) to DE 48, signs; the keys stay in t->keys. */
static int prepare(struct term *t, struct iso_msg *m, const char *pin,
                   int bad_mac)
{
    struct crypto_dukpt_aes_txn txn;
    uint8_t de48[1100], pk[CRYPTO_KEY_MAX], pb[16];
    char ks[25], pan[24], hex[33];
    const uint8_t *v;
    size_t n = 0, vn;
    int rc = crypto_dukpt_aes_term_next(&t->dk, &txn);
    if (rc != GL_OK) {
        return rc;
    }
    rc = crypto_mac_keys_from_aes_txn(&txn, &t->keys);
    crypto_hex_encode(txn.ksn, sizeof txn.ksn, ks);
    if (iso_msg_get(m, 48, &v, &vn) == GL_OK && vn < 900) {
        /* CA first when present, then KS, then the rest. */
        const uint8_t *ca;
        size_t can;
        if (iso_tlv_find(v, vn, "CA", &ca, &can) == GL_OK) {
            (void)iso_tlv_append(de48, sizeof de48, &n, "CA", ca, can);
        }
        (void)iso_tlv_append(de48, sizeof de48, &n, "KS", ks, strlen(ks));
        size_t pos = 0;
        while (pos + 5 <= vn) {
            size_t l = (size_t)((v[pos + 2] - '0') * 100 + (v[pos + 3] - '0') * 10 +
                                (v[pos + 4] - '0'));
            if (pos + 5 + l > vn) {
                break;
            }
            if (memcmp(v + pos, "CA", 2) != 0 && memcmp(v + pos, "KS", 2) != 0) {
                memcpy(de48 + n, v + pos, 5 + l);
                n += 5 + l;
            }
            pos += 5 + l;
        }
    } else {
        (void)iso_tlv_append(de48, sizeof de48, &n, "KS", ks, strlen(ks));
    }
    if (rc == GL_OK && pin != NULL) {
        if (iso_msg_get_str(m, 2, pan, sizeof pan) != GL_OK) {
            pan[0] = '\0';
        }
        rc = crypto_dukpt_aes_txn_key(&txn, CRYPTO_USAGE_PIN, txn.type, pk);
        if (rc == GL_OK) {
            rc = crypto_pinblock_f4_encrypt(pk, crypto_key_len(txn.type), pin,
                                            pan, crypto_rng_fill, &g_rng, pb);
        }
        if (rc == GL_OK) {
            crypto_hex_encode(pb, 16, hex);
            (void)iso_tlv_append(de48, sizeof de48, &n, "PF", "4", 1);
            (void)iso_tlv_append(de48, sizeof de48, &n, "PB", hex, 32);
        }
        crypto_wipe(pk, sizeof pk);
        crypto_wipe(pb, sizeof pb);
        crypto_wipe(hex, sizeof hex);
    }
    crypto_dukpt_aes_txn_wipe(&txn);
    if (rc != GL_OK) {
        return rc;
    }
    rc = iso_msg_set(m, 48, de48, n, NULL);
    if (rc == GL_OK) {
        iso_msg_unset(m, 64);
        iso_msg_unset(m, 128);
        rc = crypto_mac_sign(&iso_profile_ascii, m, &t->keys,
                             CRYPTO_MAC_REQUEST, NULL);
    }
    if (rc == GL_OK && bad_mac) {
        int f = iso_msg_has(m, 128) ? 128 : 64;
        const uint8_t *mv;
        size_t ml;
        uint8_t bad[8];
        iso_msg_get(m, f, &mv, &ml);
        memcpy(bad, mv, 8);
        bad[0] ^= 0x55;
        iso_msg_set(m, f, bad, 8, NULL);
    }
    return rc;
}

static int send_msg(struct term *t, const struct iso_msg *m, double timeout)
{
    uint8_t frame[ISO_HDR_LEN + ISO_FRAME_MAX];
    size_t n;
    int rc = iso_pack_frame(&iso_profile_ascii, m, frame, sizeof frame, &n,
                            NULL);
    return rc == GL_OK ? write_all(t, frame, n, timeout) : rc;
}

/* ---- send mode ------------------------------------------------------- */

static int hexbytes(const char *s, uint8_t *out, size_t cap, size_t *n)
{
    size_t len = strlen(s);
    if (len % 2 != 0 || len / 2 > cap) {
        return GL_EINVAL;
    }
    *n = len / 2;
    return crypto_hex_decode(s, len, out, *n);
}

static void print_answer(struct term *t, int clear)
{
    static char out[16384];
    if (t->got.mti[0] == '\0') {
        printf("undecodable answer\n\n");
        return;
    }
    iso_msg_print(&t->got, clear, out, sizeof out);
    fputs(out, stdout);
    int rc = crypto_mac_verify(&iso_profile_ascii, &t->got, &t->keys,
                               CRYPTO_MAC_RESPONSE, NULL);
    printf("mac=%s\n\n", rc == GL_OK ? "ok" : "BAD");
}

static int send_one(struct term *t, const struct opts *o, struct iso_msg *m,
                    const char *pin, int bad_mac, const uint8_t *raw,
                    size_t rawlen, double wait, int repeat)
{
    char v[16];
    int rc = GL_OK;
    if (raw != NULL) {
        rc = write_all(t, raw, rawlen, o->timeout);
    } else {
        if (o->auto_fill && !iso_msg_has(m, 7)) {
            de7_now(v);
            iso_msg_set_str(m, 7, v, NULL);
        }
        if (o->auto_fill && !iso_msg_has(m, 11)) {
            iso_msg_set_u64(m, 11, t->stan);
            t->stan = t->stan % 999999 + 1;
        }
        for (int i = 0; i < repeat; i++) {
            rc = prepare(t, m, pin, bad_mac);
            if (rc == GL_OK) {
                rc = send_msg(t, m, o->timeout);
            }
            if (rc != GL_OK) {
                break;
            }
            if (i + 1 < repeat) {
                rc = read_answer(t, wait);
                if (rc == GL_OK) {
                    print_answer(t, o->clear);
                } else {
                    printf("%s\n\n", rc == GL_ETIMEDOUT ? "no answer" : "closed");
                }
            }
        }
    }
    if (rc != GL_OK) {
        printf("closed\n\n");
        return rc;
    }
    rc = read_answer(t, wait);
    if (rc == GL_OK) {
        print_answer(t, o->clear);
    } else {
        printf("%s\n\n", rc == GL_ETIMEDOUT ? "no answer" : "closed");
    }
    fflush(stdout);
    return GL_OK;
}

static int cmd_send(const struct opts *o)
{
    static struct iso_msg m;
    static uint8_t raw[70000];
    struct term *t = calloc(1, sizeof *t);
    char line[8192], pin[16];
    size_t rawlen = 0;
    int have = 0, bad_mac = 0, has_pin = 0, is_raw = 0, repeat = 1, rc;
    double wait = o->timeout;

    if (t == NULL || o->tid == NULL) {
        fprintf(stderr, "gl-load send: --tid is required\n");
        free(t);
        return 2;
    }
    snprintf(t->tid, sizeof t->tid, "%s", o->tid);
    rc = term_open(t, o);
    if (rc == GL_OK) {
        rc = handshake_blocking(t, o->timeout);
    }
    if (rc != GL_OK) {
        fprintf(stderr, "gl-load send: connect: %s (%s)\n", gl_strerror(rc),
                t->c != NULL ? net_conn_errstr(t->c) : "");
        net_conn_close(t->c);
        net_ctx_free(t->ctx);
        free(t);
        return 1;
    }
    iso_msg_init(&m);
    for (int eof = 0; !eof;) {
        eof = fgets(line, sizeof line, stdin) == NULL;
        size_t len = eof ? 0 : strlen(line);
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) {
            line[--len] = '\0';
        }
        if (len > 0 && line[0] == '#') {
            continue;
        }
        if (len == 0) {
            if (have) {
                if (t->closed) {
                    printf("closed\n\n");
                } else {
                    send_one(t, o, &m, has_pin ? pin : NULL, bad_mac,
                             is_raw ? raw : NULL, rawlen, wait, repeat);
                }
                iso_msg_init(&m);
                have = bad_mac = has_pin = is_raw = 0;
                rawlen = 0;
                repeat = 1;
                wait = o->timeout;
            }
            continue;
        }
        char *eq = strchr(line, '=');
        if (eq == NULL) {
            fprintf(stderr, "gl-load: expected key=value: %s\n", line);
            continue;
        }
        *eq = '\0';
        const char *k = line, *v = eq + 1;
        have = 1;
        if (strcmp(k, "mti") == 0) {
            iso_msg_set_mti(&m, v);
        } else if (strcmp(k, "pin") == 0) {
            snprintf(pin, sizeof pin, "%s", v);
            has_pin = 1;
        } else if (strcmp(k, "mac") == 0) {
            bad_mac = strcmp(v, "bad") == 0;
        } else if (strcmp(k, "raw") == 0) {
            size_t n = 0;
            if (hexbytes(v, raw + rawlen, sizeof raw - rawlen, &n) == GL_OK) {
                rawlen += n;
            }
            is_raw = 1;
        } else if (strcmp(k, "wait") == 0) {
            wait = atof(v);
        } else if (strcmp(k, "repeat") == 0) {
            repeat = atoi(v) > 0 ? atoi(v) : 1;
        } else {
            int f = atoi(k);
            struct iso_error err;
            if (f == 52 || f == 64 || f == 128) {
                uint8_t b[8];
                size_t n = 0;
                if (hexbytes(v, b, sizeof b, &n) == GL_OK) {
                    iso_msg_set(&m, f, b, n, NULL);
                }
            } else if ((f == 41 || f == 42) && strlen(v) < (f == 41 ? 8u : 15u)) {
                char pad[32];
                snprintf(pad, sizeof pad, "%-*.15s", f == 41 ? 8 : 15, v);
                iso_msg_set_str(&m, f, pad, NULL);
            } else if (iso_msg_set_str(&m, f, v, &err) != GL_OK) {
                fprintf(stderr, "gl-load: field %d: %s\n", f, err.text);
            }
        }
    }
    crypto_mac_keys_wipe(&t->keys);
    crypto_dukpt_aes_term_wipe(&t->dk);
    net_conn_close(t->c);
    net_ctx_free(t->ctx);
    free(t);
    return 0;
}

/* ---- run mode -------------------------------------------------------- */

enum { OP_REDEEM = 0, OP_BALANCE = 1, OP_REFUND = 2, OP_N = 3 };
static const char *const op_names[OP_N] = {"redeem", "balance", "refund"};

struct run {
    const struct opts *o;
    char (*vouchers)[20];
    size_t nv;
    int mix[OP_N];
    double *lat;
    size_t nlat, caplat;
    long sent, answered, approved_redeem, rc_count[100];
    FILE *approvals;
    int unflushed; /* approvals written since the last fflush */
};

static int run_build(struct run *r, struct term *t, struct iso_msg *m)
{
    char v[16];
    uint8_t rnd[4];
    crypto_random(crypto_rng_fill, &g_rng, rnd, sizeof rnd);
    uint32_t x = (uint32_t)rnd[0] << 24 | (uint32_t)rnd[1] << 16 |
                 (uint32_t)rnd[2] << 8 | rnd[3];
    int pick = (int)(x % 100), op = OP_REDEEM, acc = 0;
    for (int i = 0; i < OP_N; i++) {
        acc += r->mix[i];
        if (pick < acc) {
            op = i;
            break;
        }
    }
    t->op = op;
    snprintf(t->cur_pan, sizeof t->cur_pan, "%s", r->vouchers[(x >> 8) % r->nv]);
    iso_msg_init(m);
    iso_msg_set_mti(m, op == OP_BALANCE ? "0100" : "0200");
    iso_msg_set_str(m, 2, t->cur_pan, NULL);
    iso_msg_set_str(m, 3, op == OP_BALANCE ? "316000"
                          : op == OP_REFUND ? "200060" : "006000", NULL);
    if (op != OP_BALANCE) {
        iso_msg_set_u64(m, 4, (uint64_t)r->o->amount);
    }
    de7_now(v);
    iso_msg_set_str(m, 7, v, NULL);
    iso_msg_set_u64(m, 11, t->stan);
    t->stan = t->stan % 999999 + 1;
    iso_msg_set_str(m, 12, v + 4, NULL);
    char d13[5];
    memcpy(d13, v, 4);
    d13[4] = '\0';
    iso_msg_set_str(m, 13, d13, NULL);
    iso_msg_set_str(m, 22, "031", NULL);
    iso_msg_set_str(m, 25, "00", NULL);
    iso_msg_set_str(m, 41, t->tid, NULL);
    char de42[16];
    snprintf(de42, sizeof de42, "%-15s", r->o->merchant);
    iso_msg_set_str(m, 42, de42, NULL);
    iso_msg_set_str(m, 48, "CA004C001", NULL);
    iso_msg_set_str(m, 49, "410", NULL);
    return prepare(t, m, NULL, 0);
}

static int run_signon(struct run *r, struct term *t, struct iso_msg *m)
{
    char v[11], de42[16];
    iso_msg_init(m);
    iso_msg_set_mti(m, "0800");
    de7_now(v);
    iso_msg_set_str(m, 7, v, NULL);
    iso_msg_set_u64(m, 11, t->stan);
    t->stan = t->stan % 999999 + 1;
    iso_msg_set_str(m, 41, t->tid, NULL);
    snprintf(de42, sizeof de42, "%-15s", r->o->merchant);
    iso_msg_set_str(m, 42, de42, NULL);
    iso_msg_set_str(m, 70, "001", NULL);
    return prepare(t, m, NULL, 0);
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void run_answer(struct run *r, struct term *t)
{
    char rc[4] = "", v[16], stan[8], de7[12];
    double lat = now_s() - t->sent_at;
    r->answered++;
    if (iso_msg_get_str(&t->got, 39, rc, sizeof rc) == GL_OK &&
        rc[0] >= '0' && rc[0] <= '9' && rc[1] >= '0' && rc[1] <= '9') {
        r->rc_count[(rc[0] - '0') * 10 + (rc[1] - '0')]++;
    }
    if (r->nlat == r->caplat) {
        r->caplat = r->caplat * 2 + 1024;
        r->lat = realloc(r->lat, r->caplat * sizeof *r->lat);
    }
    if (r->lat != NULL) {
        r->lat[r->nlat++] = lat;
    }
    int ok = strcmp(rc, "00") == 0 || strcmp(rc, "10") == 0;
    if (ok && crypto_mac_verify(&iso_profile_ascii, &t->got, &t->keys,
                                CRYPTO_MAC_RESPONSE, NULL) != GL_OK) {
        fprintf(stderr, "gl-load: %s: answer with a bad MAC\n", t->tid);
        return;
    }
    if (ok && t->op == OP_REDEEM) {
        r->approved_redeem++;
    }
    if (ok && t->op != OP_BALANCE && r->approvals != NULL &&
        iso_msg_get_str(&t->got, 11, stan, sizeof stan) == GL_OK &&
        iso_msg_get_str(&t->got, 7, de7, sizeof de7) == GL_OK &&
        iso_msg_get_str(&t->got, 4, v, sizeof v) == GL_OK) {
        fprintf(r->approvals, "%s:%s:%s:0 %lld %s\n", t->tid, stan, de7,
                atoll(v), op_names[t->op]);
        r->unflushed = 1; /* flushed once per round of the run loop */
    }
}

static int cmd_run(const struct opts *o)
{
    struct run r;
    struct term *ts = NULL;
    struct pollfd *pf = NULL;
    char *ready = NULL; /* the last poll saw the connection readable */
    static struct iso_msg m;
    char line[64];
    int rc = 1;

    memset(&r, 0, sizeof r);
    r.o = o;
    if (o->tid_prefix == NULL || o->vouchers == NULL || o->merchant == NULL ||
        o->conns < 1 || (o->duration <= 0 && o->requests <= 0)) {
        fprintf(stderr, "gl-load run: -c, -d or -n, --tid-prefix, --vouchers "
                        "and --merchant are required\n");
        return 2;
    }
    r.mix[OP_REDEEM] = 100;
    if (o->mix != NULL) {
        char buf[128];
        snprintf(buf, sizeof buf, "%s", o->mix);
        memset(r.mix, 0, sizeof r.mix);
        for (char *tok = strtok(buf, ","); tok != NULL; tok = strtok(NULL, ",")) {
            char *eq = strchr(tok, '=');
            for (int i = 0; eq != NULL && i < OP_N; i++) {
                if (strncmp(tok, op_names[i], (size_t)(eq - tok)) == 0) {
                    r.mix[i] = atoi(eq + 1);
                }
            }
        }
    }
    FILE *vf = fopen(o->vouchers, "r");
    if (vf == NULL) {
        fprintf(stderr, "gl-load: cannot read %s\n", o->vouchers);
        return 1;
    }
    while (fgets(line, sizeof line, vf) != NULL) {
        line[strcspn(line, " \r\n")] = '\0';
        if (strlen(line) < 12) {
            continue;
        }
        void *nv = realloc(r.vouchers, (r.nv + 1) * sizeof *r.vouchers);
        if (nv == NULL) {
            break;
        }
        r.vouchers = nv;
        snprintf(r.vouchers[r.nv++], 20, "%.19s", line);
    }
    fclose(vf);
    if (r.nv == 0) {
        fprintf(stderr, "gl-load: no voucher numbers in %s\n", o->vouchers);
        goto out;
    }
    if (o->approvals != NULL) {
        r.approvals = fopen(o->approvals, "a");
    }
    ts = calloc((size_t)o->conns, sizeof *ts);
    pf = calloc((size_t)o->conns, sizeof *pf);
    ready = malloc((size_t)o->conns);
    if (ts == NULL || pf == NULL || ready == NULL) {
        goto out;
    }
    for (int i = 0; i < o->conns; i++) {
        snprintf(ts[i].tid, sizeof ts[i].tid, "%s%06d", o->tid_prefix, i + 1);
        if (term_open(&ts[i], o) != GL_OK) {
            fprintf(stderr, "gl-load: %s: cannot connect\n", ts[i].tid);
            goto out;
        }
    }
    double start = now_s(), end = o->duration > 0 ? start + o->duration : 1e18;
    double last_progress = start;
    int live = o->conns;
    memset(ready, 1, (size_t)o->conns);
    while (live > 0) {
        double now = now_s();
        int stop_new = now >= end || (o->requests > 0 && r.sent >= o->requests);
        live = 0;
        for (int i = 0; i < o->conns; i++) {
            struct term *t = &ts[i];
            pf[i].fd = -1;
            if (t->closed) {
                continue;
            }
            if (t->state == 0) {
                int h = net_conn_handshake(t->c);
                if (h == GL_OK) {
                    if (run_signon(&r, t, &m) != GL_OK ||
                        send_msg(t, &m, 10) != GL_OK) {
                        t->closed = 1;
                        continue;
                    }
                    t->state = 1;
                    t->have_answer = 0;
                } else if (h != GL_EAGAIN) {
                    fprintf(stderr, "gl-load: %s: handshake: %s\n", t->tid,
                            gl_strerror(h));
                    t->closed = 1;
                    continue;
                }
            }
            /* Only a connection poll found readable can have an answer
             * (read_some drains what the TLS layer holds), so the others
             * are not asked: a read per waiting terminal per round cost
             * more than the host's own work per request. */
            if ((t->state == 1 || t->state == 3) && ready[i]) {
                int a = read_some(t);
                if (a < 0) {
                    if (t->state == 3) {
                        fprintf(stderr, "gl-load: %s: closed with a request "
                                        "outstanding\n", t->tid);
                    }
                    continue;
                }
                if (a > 0) {
                    char rc39[4] = "";
                    iso_msg_get_str(&t->got, 39, rc39, sizeof rc39);
                    if (t->state == 1 && strcmp(rc39, "00") != 0) {
                        fprintf(stderr, "gl-load: %s: sign-on answered %s\n",
                                t->tid, rc39);
                        t->closed = 1;
                        continue;
                    }
                    if (t->state == 3) {
                        run_answer(&r, t);
                    }
                    t->state = 2;
                    t->have_answer = 0;
                }
            }
            if (t->state == 2) {
                if (stop_new || (o->requests > 0 && r.sent >= o->requests)) {
                    t->closed = 1;
                    continue;
                }
                if (run_build(&r, t, &m) != GL_OK || send_msg(t, &m, 10) != GL_OK) {
                    t->closed = 1;
                    continue;
                }
                r.sent++;
                t->sent_at = now_s();
                t->state = 3;
                t->have_answer = 0;
            }
            live++;
            pf[i].fd = net_conn_fd(t->c);
            pf[i].events = t->state == 0 ? events_of(t->c) : POLLIN;
            if (pf[i].events == 0) {
                pf[i].events = POLLIN;
            }
        }
        if (live == 0) {
            break;
        }
        if (now - last_progress > 60 && o->duration <= 0) {
            fprintf(stderr, "gl-load: no progress for 60 s: giving up\n");
            break;
        }
        if (r.unflushed) {
            fflush(r.approvals);
            r.unflushed = 0;
        }
        int n = poll(pf, (nfds_t)o->conns, 200);
        if (n > 0) {
            last_progress = now_s();
        }
        for (int i = 0; i < o->conns; i++) {
            ready[i] = pf[i].fd >= 0 &&
                       ((n > 0 && pf[i].revents != 0) ||
                        net_conn_pending(ts[i].c));
        }
    }
    double secs = now_s() - start;
    qsort(r.lat, r.nlat, sizeof *r.lat, cmp_d);
    double p50 = r.nlat ? r.lat[r.nlat / 2] : 0;
    double p99 = r.nlat ? r.lat[(size_t)((double)r.nlat * 0.99)] : 0;
    double mx = r.nlat ? r.lat[r.nlat - 1] : 0;
    printf("BENCH name=hostd_requests value=%.0f unit=req/s\n",
           (double)r.answered / secs);
    printf("BENCH name=hostd_approved_redemptions value=%.0f unit=req/s\n",
           (double)r.approved_redeem / secs);
    printf("BENCH name=hostd_latency_p50 value=%.2f unit=ms\n", p50 * 1000);
    printf("BENCH name=hostd_latency_p99 value=%.2f unit=ms\n", p99 * 1000);
    printf("BENCH name=hostd_latency_max value=%.2f unit=ms\n", mx * 1000);
    printf("sent=%ld answered=%ld approved_redeem=%ld seconds=%.2f conns=%d\n",
           r.sent, r.answered, r.approved_redeem, secs, o->conns);
    for (int i = 0; i < 100; i++) {
        if (r.rc_count[i] > 0) {
            printf("rc %02d=%ld\n", i, r.rc_count[i]);
        }
    }
    rc = 0;
out:
    for (int i = 0; ts != NULL && i < o->conns; i++) {
        net_conn_close(ts[i].c);
        net_ctx_free(ts[i].ctx);
        crypto_dukpt_aes_term_wipe(&ts[i].dk);
        crypto_mac_keys_wipe(&ts[i].keys);
    }
    if (r.approvals != NULL) {
        fclose(r.approvals);
    }
    free(ts);
    free(pf);
    free(ready);
    free(r.vouchers);
    free(r.lat);
    return rc;
}

static void usage(FILE *f)
{
    fputs("usage: gl-load send --tid TID [--auto] [--clear] [--timeout S] COMMON\n"
          "       gl-load run -c CONNS (-d SECONDS | -n REQUESTS) --tid-prefix PP\n"
          "               --vouchers FILE --merchant ID [--mix redeem=70,balance=20,refund=10]\n"
          "               [--amount KRW] [--approvals FILE] COMMON\n"
          "COMMON: --port P --ca FILE --cert-dir DIR --server-cn NAME --ikey FILE\n"
          "        [--host H]\n",
          f);
}

int main(int argc, char **argv)
{
    struct opts o = {.host = "127.0.0.1", .timeout = 10, .amount = 100};
    int rc;
    if (argc < 2 || (strcmp(argv[1], "send") != 0 && strcmp(argv[1], "run") != 0)) {
        usage(argc >= 2 && strcmp(argv[1], "--help") == 0 ? stdout : stderr);
        return argc >= 2 && strcmp(argv[1], "--help") == 0 ? 0 : 2;
    }
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--auto") == 0) {
            o.auto_fill = 1;
        } else if (strcmp(a, "--clear") == 0) {
            o.clear = 1;
        } else if (v == NULL) {
            usage(stderr);
            return 2;
        } else if (strcmp(a, "--host") == 0) {
            o.host = v, i++;
        } else if (strcmp(a, "--port") == 0) {
            o.port = v, i++;
        } else if (strcmp(a, "--ca") == 0) {
            o.ca = v, i++;
        } else if (strcmp(a, "--cert-dir") == 0) {
            o.cert_dir = v, i++;
        } else if (strcmp(a, "--server-cn") == 0) {
            o.server_cn = v, i++;
        } else if (strcmp(a, "--ikey") == 0) {
            o.ikey_file = v, i++;
        } else if (strcmp(a, "--tid") == 0) {
            o.tid = v, i++;
        } else if (strcmp(a, "--tid-prefix") == 0) {
            o.tid_prefix = v, i++;
        } else if (strcmp(a, "--vouchers") == 0) {
            o.vouchers = v, i++;
        } else if (strcmp(a, "--merchant") == 0) {
            o.merchant = v, i++;
        } else if (strcmp(a, "--mix") == 0) {
            o.mix = v, i++;
        } else if (strcmp(a, "--approvals") == 0) {
            o.approvals = v, i++;
        } else if (strcmp(a, "--timeout") == 0) {
            o.timeout = atof(v), i++;
        } else if (strcmp(a, "-c") == 0) {
            o.conns = atoi(v), i++;
        } else if (strcmp(a, "-d") == 0) {
            o.duration = atof(v), i++;
        } else if (strcmp(a, "-n") == 0) {
            o.requests = atol(v), i++;
        } else if (strcmp(a, "--amount") == 0) {
            o.amount = atoll(v), i++;
        } else {
            usage(stderr);
            return 2;
        }
    }
    if (o.port == NULL || o.ca == NULL || o.cert_dir == NULL ||
        o.server_cn == NULL || o.ikey_file == NULL) {
        usage(stderr);
        return 2;
    }
    if (crypto_rng_init(&g_rng, "gl-load") != GL_OK) {
        crypto_rng_deinit(&g_rng);
        return 1;
    }
    if (load_ikey(o.ikey_file) != GL_OK || g_ikey.type == CRYPTO_KEY_TDES2) {
        fprintf(stderr, "gl-load: %s: not an AES initial key file\n",
                o.ikey_file);
        crypto_rng_deinit(&g_rng);
        return 1;
    }
    rc = strcmp(argv[1], "send") == 0 ? cmd_send(&o) : cmd_run(&o);
    crypto_wipe(&g_ikey, sizeof g_ikey);
    crypto_rng_deinit(&g_rng);
    return rc;
}
