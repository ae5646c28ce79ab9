/*
 * term_link.c - gl-term's side of the host link (docs/host-interface.md):
 * TLS 1.2 with the terminal's certificate (hal/net, sessions resumed on a
 * reconnect), sign-on as the first message of every connection, echo after
 * an idle minute, and one request/answer exchange at a time, each request
 * under a new DUKPT KSN that is saved in the journal before use.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "gl_err.h"
#include "gl_log.h"
#include "term.h"

#define MOD "link"

static uint64_t now_ms(struct term *t)
{
    return t->clock.ops->now_ms(&t->clock);
}

int link_init(struct term *t, char *err, size_t errlen)
{
    struct net_tls_config cfg = {.ca_file = t->cfg.ca,
                                 .cert_file = t->cfg.cert,
                                 .key_file = t->cfg.key,
                                 .server_cn = t->cfg.server_cn};
    memset(&t->link, 0, sizeof t->link);
    iso_reasm_init(&t->link.ra, ISO_FRAME_MAX);
    return net_ctx_new(&t->link.ctx, NET_ROLE_CLIENT, &cfg, err, errlen);
}

void link_free(struct term *t)
{
    link_close(t, NULL);
    net_ctx_free(t->link.ctx);
    t->link.ctx = NULL;
}

void link_close(struct term *t, const char *why)
{
    struct term_link *l = &t->link;
    if (l->c == NULL) {
        return;
    }
    if (why != NULL) {
        GL_LOG_WARN(MOD, "closing the host link: %s", why);
    }
    net_conn_close(l->c);
    l->c = NULL;
    l->signed_on = 0;
    iso_reasm_init(&l->ra, ISO_FRAME_MAX);
}

int link_fd(const struct term *t)
{
    return t->link.c != NULL ? net_conn_fd(t->link.c) : -1;
}

static int wait_io(struct term *t, uint64_t deadline)
{
    uint64_t now = now_ms(t);
    if (now >= deadline) {
        return GL_ETIMEDOUT;
    }
    int w = net_conn_want(t->link.c);
    struct pollfd p = {.fd = net_conn_fd(t->link.c),
                       .events = (short)(((w & NET_WANT_WRITE) ? POLLOUT : 0) |
                                         ((w & NET_WANT_READ) ? POLLIN : 0))};
    if (p.events == 0) {
        p.events = POLLIN;
    }
    int n = poll(&p, 1, (int)(deadline - now));
    if (n < 0 && errno != EINTR) {
        return GL_EOS;
    }
    return n == 0 ? GL_ETIMEDOUT : GL_OK;
}

static int write_all(struct term *t, const uint8_t *b, size_t n,
                     uint64_t deadline)
{
    size_t off = 0;
    while (off < n) {
        int w = net_conn_write(t->link.c, b + off, n - off);
        if (w == GL_EAGAIN) {
            int rc = wait_io(t, deadline);
            if (rc != GL_OK) {
                return rc;
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

static struct iso_msg g_frame; /* scratch for each frame read */

/* Every frame read: the awaited answer is kept in link.in; anything else
 * (a late answer to a request given up, an unasked message) is dropped. */
static int on_frame(void *ctx, const uint8_t *b, size_t n)
{
    struct term *t = ctx;
    struct term_link *l = &t->link;
    struct iso_error e;
    char stan[7] = "", de7[11] = "";

    l->received++;
    if (iso_unpack(&iso_profile_ascii, &g_frame, b, n, &e) != GL_OK) {
        GL_LOG_WARN(MOD, "undecodable frame from the host: field %d at "
                    "offset %zu: %s", e.field, e.offset, e.text);
        l->bad_frame = 1;
        return 0;
    }
    iso_msg_get_str(&g_frame, 11, stan, sizeof stan);
    iso_msg_get_str(&g_frame, 7, de7, sizeof de7);
    if (l->want_mti[0] != '\0' && !l->have_in &&
        strcmp(g_frame.mti, l->want_mti) == 0 &&
        strcmp(stan, l->want_stan) == 0 && strcmp(de7, l->want_de7) == 0) {
        iso_msg_copy(&l->in, &g_frame);
        l->have_in = 1;
    } else {
        GL_LOG_INFO(MOD, "dropping %s STAN %s: not the answer awaited",
                    g_frame.mti, stan);
    }
    return 0;
}

/* Reads what is there: 1 once the awaited answer is in, 0 when nothing
 * more can be read now, < 0 when the connection failed or sent garbage. */
static int read_frame(struct term *t)
{
    uint8_t buf[4096];
    for (;;) {
        if (t->link.have_in) {
            return 1;
        }
        if (t->link.bad_frame) {
            return GL_DEV_BADFRAME;
        }
        int n = net_conn_read(t->link.c, buf, sizeof buf);
        if (n == GL_EAGAIN) {
            return 0;
        }
        if (n == 0) {
            return GL_ECLOSED;
        }
        if (n < 0) {
            return n;
        }
        t->link.last_io_ms = now_ms(t);
        int rc = iso_reasm_feed(&t->link.ra, buf, (size_t)n, on_frame, t);
        if (rc < 0) {
            return rc; /* a frame length the link does not allow */
        }
    }
}

int link_next_keys(struct term *t, struct crypto_mac_keys *keys)
{
    struct crypto_dukpt_aes_txn txn;
    int rc = crypto_dukpt_aes_term_next(&t->dk, &txn);
    if (rc != GL_OK) {
        return rc;
    }
    rc = dev_persist_dukpt(t, &t->dk);
    if (rc == GL_OK) {
        rc = crypto_mac_keys_from_aes_txn(&txn, keys);
    }
    crypto_dukpt_aes_txn_wipe(&txn);
    return rc;
}

int link_set_ks(struct iso_msg *m, const struct crypto_mac_keys *keys)
{
    uint8_t out[1000];
    char ks[2 * CRYPTO_DUKPT_AES_KSN_LEN + 1];
    const uint8_t *v = NULL, *ca;
    size_t vn = 0, n = 0, can;

    crypto_hex_encode(keys->ksn, keys->ksn_len, ks);
    if (iso_msg_get(m, 48, &v, &vn) != GL_OK) {
        vn = 0;
    }
    if (vn > 0 && iso_tlv_find(v, vn, "CA", &ca, &can) == GL_OK) {
        int rc = iso_tlv_append(out, sizeof out, &n, "CA", ca, can);
        if (rc != GL_OK) {
            return rc;
        }
    }
    int rc = iso_tlv_append(out, sizeof out, &n, "KS", ks, strlen(ks));
    for (size_t pos = 0; rc == GL_OK && pos + 5 <= vn;) {
        size_t l = (size_t)((v[pos + 2] - '0') * 100 + (v[pos + 3] - '0') * 10 +
                            (v[pos + 4] - '0'));
        if (pos + 5 + l > vn) {
            return GL_ISO_BADTLV;
        }
        if (memcmp(v + pos, "CA", 2) != 0 && memcmp(v + pos, "KS", 2) != 0) {
            if (n + 5 + l > sizeof out) {
                return GL_ENOSPC;
            }
            memcpy(out + n, v + pos, 5 + l);
            n += 5 + l;
        }
        pos += 5 + l;
    }
    return rc == GL_OK ? iso_msg_set(m, 48, out, n, NULL) : rc;
}

static void de7_now(char out[11])
{
    char tmp[64];
    time_t s = time(NULL) + 9 * 3600; /* KST */
    struct tm tm;
    gmtime_r(&s, &tm);
    snprintf(tmp, sizeof tmp, "%02d%02d%02d%02d%02d", tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    memcpy(out, tmp, 10);
    out[10] = '\0';
}

int link_new_stan_keys(struct term *t, int *stan, struct crypto_mac_keys *keys)
{
    int64_t v = 0;
    int rc = tj_begin(&t->j);
    if (rc == GL_OK) {
        if (tj_meta_int(&t->j, "stan", &v) != GL_OK) {
            v = 0;
        }
        v = v % 999999 + 1; /* 000001..999999, never 000000 */
        *stan = (int)v;
        rc = tj_meta_set_int(&t->j, "stan", v);
    }
    if (rc == GL_OK) {
        rc = link_next_keys(t, keys);
    }
    if (rc == GL_OK) {
        rc = tj_commit(&t->j);
    } else {
        tj_rollback(&t->j);
    }
    return rc;
}

/* A network management message (DE 70 code) with a fresh STAN. */
static int netmgmt(struct term *t, const char *code, long long timeout_s)
{
    struct crypto_mac_keys keys;
    struct iso_msg *m = &t->req;
    char de7[11], ca[32];
    int stan = 0;
    int rc = link_new_stan_keys(t, &stan, &keys);

    if (rc != GL_OK) {
        return rc;
    }
    iso_msg_init(m);
    iso_msg_set_mti(m, "0800");
    de7_now(de7);
    iso_msg_set_str(m, 7, de7, NULL);
    iso_msg_set_u64(m, 11, (uint64_t)stan);
    iso_msg_set_str(m, 41, t->cfg.tid, NULL);
    if (strcmp(code, "001") == 0) {
        iso_msg_set_str(m, 42, t->cfg.merchant, NULL);
    }
    snprintf(ca, sizeof ca, "CA%03zu%s", strlen(t->cfg.cashier), t->cfg.cashier);
    iso_msg_set_str(m, 48, ca, NULL);
    iso_msg_set_str(m, 70, code, NULL);
    rc = link_set_ks(m, &keys);
    if (rc == GL_OK) {
        rc = link_exchange(t, m, &keys, timeout_s);
    }
    crypto_mac_keys_wipe(&keys);
    return rc;
}

static int64_t backoff_s(int failures)
{
    static const int steps[] = {1, 2, 4, 8, 16, 32};
    return failures <= 6 ? steps[failures - 1] : 60;
}

int link_up(struct term *t, int at_once)
{
    struct term_link *l = &t->link;
    uint64_t now = now_ms(t);
    int rc;

    if (l->c != NULL && l->signed_on) {
        return GL_OK;
    }
    /* the back-off paces automatic retries; a cashier's request tries at
     * once, except after a refused sign-on (11.3: 5 minutes) */
    if (now < l->next_try_ms && (!at_once || l->refused)) {
        return GL_NET_CONNECT;
    }
    link_close(t, NULL);
    rc = net_connect(l->ctx, t->cfg.host, t->cfg.port, &l->c);
    if (rc == GL_OK) {
        uint64_t dl = now + (uint64_t)t->cfg.connect_timeout_s * 1000;
        while ((rc = net_conn_handshake(l->c)) == GL_EAGAIN) {
            rc = wait_io(t, dl);
            if (rc != GL_OK) {
                break;
            }
        }
    }
    if (rc == GL_OK) {
        l->reconnects++;
        l->have_in = 0;
        l->bad_frame = 0;
        l->resumed += (unsigned long)net_conn_resumed(l->c);
        l->last_io_ms = now_ms(t);
        rc = netmgmt(t, "001", t->cfg.connect_timeout_s);
        if (rc == GL_OK) {
            char rc39[3] = "";
            iso_msg_get_str(&t->resp, 39, rc39, sizeof rc39);
            if (strcmp(rc39, "00") == 0) {
                l->signed_on = 1;
                l->refused = 0;
                l->failures = 0;
                GL_LOG_INFO(MOD, "signed on to %s:%s (%s session)",
                            t->cfg.host, t->cfg.port,
                            net_conn_resumed(l->c) ? "resumed" : "new");
                return GL_OK;
            }
            /* 11.3: a refused sign-on retries only after 5 minutes */
            GL_LOG_ERR(MOD, "sign-on refused: DE 39 = %s", rc39);
            l->refused = 1;
            link_close(t, NULL);
            l->next_try_ms = now_ms(t) + (uint64_t)t->cfg.signon_retry_s * 1000;
            return GL_NET_CONNECT;
        }
    } else {
        GL_LOG_WARN(MOD, "cannot reach the host %s:%s: %s%s%s", t->cfg.host,
                    t->cfg.port, gl_strerror(rc), l->c ? ": " : "",
                    l->c ? net_conn_errstr(l->c) : "");
    }
    link_close(t, NULL);
    l->failures++;
    /* 1, 2, 4 ... 32 s, then every 60 s, each +-20 % */
    uint8_t r;
    crypto_random(crypto_rng_fill, &t->rng, &r, 1);
    int64_t ms = backoff_s(l->failures);
    ms = (ms < t->cfg.reconnect_max_s ? ms : t->cfg.reconnect_max_s) * 1000;
    ms = ms * (80 + (int64_t)(r % 41)) / 100;
    l->next_try_ms = now_ms(t) + (uint64_t)ms;
    return rc == GL_OK ? GL_NET_CONNECT : rc;
}

/* The response MTI of a request MTI: 0200 -> 0210, 0401 -> 0410. */
static void resp_mti(const char *req, char out[5])
{
    out[0] = req[0];
    out[1] = req[1];
    out[2] = (char)(req[2] + 1);
    out[3] = '0';
    out[4] = '\0';
}

int link_exchange(struct term *t, struct iso_msg *req,
                  const struct crypto_mac_keys *keys, long long timeout_s)
{
    static uint8_t frame[ISO_HDR_LEN + ISO_FRAME_MAX];
    struct term_link *l = &t->link;
    struct iso_error e;
    size_t n;
    int rc;

    if (l->c == NULL) {
        return GL_ECLOSED;
    }
    rc = crypto_mac_sign(&iso_profile_ascii, req, keys, CRYPTO_MAC_REQUEST, &e);
    if (rc == GL_OK) {
        rc = iso_pack_frame(&iso_profile_ascii, req, frame, sizeof frame, &n, &e);
    }
    if (rc != GL_OK) {
        GL_LOG_ERR(MOD, "cannot build %s: field %d: %s", req->mti, e.field,
                   e.text);
        return rc;
    }
    resp_mti(req->mti, l->want_mti);
    iso_msg_get_str(req, 11, l->want_stan, sizeof l->want_stan);
    iso_msg_get_str(req, 7, l->want_de7, sizeof l->want_de7);
    l->have_in = 0;
    l->bad_frame = 0;
    uint64_t dl = now_ms(t) + (uint64_t)timeout_s * 1000;
    /* crash tests: the points of a new financial request only */
    int faults = strcmp(req->mti, "0200") == 0 || strcmp(req->mti, "0100") == 0;
    if (faults) {
        tx_fault_point("before_send");
    }
    rc = write_all(t, frame, n, dl);
    if (rc != GL_OK) {
        l->want_mti[0] = '\0';
        link_close(t, "write failed");
        return rc == GL_ETIMEDOUT ? GL_ETIMEDOUT : GL_ECLOSED;
    }
    l->sent++;
    l->last_io_ms = now_ms(t);
    if (faults) {
        tx_fault_point("after_send");
    }
    for (;;) {
        rc = read_frame(t);
        if (rc == 1) {
            break;
        }
        if (rc < 0) {
            /* 11.1: a response that cannot be decoded: close, unanswered */
            l->want_mti[0] = '\0';
            link_close(t, rc == GL_DEV_BADFRAME ? "undecodable answer"
                                                : gl_strerror(rc));
            return GL_ECLOSED;
        }
        rc = wait_io(t, dl);
        if (rc != GL_OK) {
            l->want_mti[0] = '\0';
            return rc == GL_ETIMEDOUT ? GL_ETIMEDOUT : GL_ECLOSED;
        }
    }
    l->want_mti[0] = '\0';
    rc = crypto_mac_verify(&iso_profile_ascii, &l->in, keys,
                           CRYPTO_MAC_RESPONSE, &e);
    if (rc != GL_OK) {
        GL_LOG_ERR(MOD, "answer %s STAN %s fails its MAC: %s", l->in.mti,
                   l->want_stan, gl_strerror(rc));
        link_close(t, "MAC failure");
        return GL_ECLOSED;
    }
    iso_msg_copy(&t->resp, &l->in);
    return GL_OK;
}

void link_tick(struct term *t)
{
    struct term_link *l = &t->link;
    if (l->c == NULL) {
        return;
    }
    /* anything unasked: a late answer, or the host closing */
    l->want_mti[0] = '\0';
    l->have_in = 0;
    l->bad_frame = 0;
    if (read_frame(t) < 0) {
        link_close(t, "the host closed the connection");
        return;
    }
    if (l->signed_on &&
        now_ms(t) - l->last_io_ms >= (uint64_t)t->cfg.echo_idle_s * 1000) {
        int rc = netmgmt(t, "301", t->cfg.connect_timeout_s);
        if (rc != GL_OK) {
            link_close(t, "no answer to the echo");
        }
    }
}

void link_signoff(struct term *t)
{
    if (t->link.c != NULL && t->link.signed_on) {
        (void)netmgmt(t, "002", t->cfg.connect_timeout_s);
    }
    link_close(t, NULL);
}
