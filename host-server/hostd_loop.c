/*
 * hostd_loop.c - the event loops of gl-hostd.
 *
 * One loop per thread (hostd.h): epoll over the shared listening socket and
 * the loop's own terminal connections (TLS through hal/net).  A round:
 *   1. wait for events; accept, drive handshakes, read;
 *   2. each complete frame is unpacked, its DE 41 compared with the
 *      certificate's CN and its MAC verified, then queued;
 *   3. the queued requests are applied in ONE group commit (a savepoint
 *      each) and committed (WAL, synchronous=FULL): requests that arrived
 *      while the previous commit was running are exactly the next round's;
 *   4. only then are the answers MACed and written.
 * So no approval leaves before its transfer is durable, and the commit
 * cost is shared by everything that arrived meanwhile.
 *
 * Frames that fail: unpack -> answer 30 when MTI, DE 11, DE 41 (= CN) and
 * the KS of DE 48 could still be read, else close; DE 41 not the CN ->
 * close; MAC failure -> logged, no answer, close after cfg->mac_failures.
 * Oversize length headers close (iso_reasm), and so does a frame left
 * unfinished for cfg->frame_timeout seconds.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "crypto_mac_msg.h"
#include "gl_err.h"
#include "gl_log.h"
#include "hostd_int.h"
#include "net.h"

enum { CONN_HANDSHAKE = 0, CONN_OPEN = 1 };

struct conn {
    struct net_conn *nc;
    int fd;
    int state;
    int dead;          /* closing: freed at the end of the round */
    int closing;       /* close once the pending answers are written */
    int mac_failures;
    uint32_t events;   /* registered epoll events */
    int64_t created, last_msg, frame_start; /* ms */
    struct hostd_sess sess;
    struct iso_reasm reasm;
    uint8_t *out;
    size_t outlen, outcap;
    struct conn *prev, *next;
    struct loop *lp;
};

struct rq {
    struct conn *c;
    struct iso_msg req;
    struct iso_msg resp;
    int action;
};

struct loop {
    const struct hostd_config *cfg;
    int id;
    struct hostd_worker w;
    struct net_ctx *tls;
    struct net_listener *lst; /* shared, borrowed */
    int ep;
    struct conn head; /* list sentinel */
    size_t nconns;
    struct rq **rq;
    size_t nrq, caprq;
    volatile sig_atomic_t *stop, *reopen;
    int64_t last_sweep;
    uint64_t frames, commits;
    int rc;
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void conn_events(struct loop *lp, struct conn *c, uint32_t ev)
{
    if (c->dead || ev == c->events) {
        return;
    }
    struct epoll_event e = {.events = ev, .data.ptr = c};
    if (epoll_ctl(lp->ep, EPOLL_CTL_MOD, c->fd, &e) == 0) {
        c->events = ev;
    }
}

static void conn_kill(struct loop *lp, struct conn *c, const char *why)
{
    if (c->dead) {
        return;
    }
    c->dead = 1;
    (void)epoll_ctl(lp->ep, EPOLL_CTL_DEL, c->fd, NULL);
    GL_LOG_INFO("hostd", "loop %d: %s: connection closed: %s", lp->id,
                c->sess.tid[0] != '\0' ? c->sess.tid : "(no handshake)", why);
}

static void conn_free(struct loop *lp, struct conn *c)
{
    c->prev->next = c->next;
    c->next->prev = c->prev;
    lp->nconns--;
    net_conn_close(c->nc);
    free(c->out);
    free(c);
}

/* Writes what is pending; registers for writability when blocked. */
static void conn_flush(struct loop *lp, struct conn *c)
{
    size_t off = 0;
    while (!c->dead && off < c->outlen) {
        int n = net_conn_write(c->nc, c->out + off, c->outlen - off);
        if (n == GL_EAGAIN) {
            break;
        }
        if (n < 0) {
            conn_kill(lp, c, gl_strerror(n));
            return;
        }
        off += (size_t)n;
    }
    if (off > 0) {
        memmove(c->out, c->out + off, c->outlen - off);
        c->outlen -= off;
    }
    if (c->dead) {
        return;
    }
    if (c->outlen == 0 && c->closing) {
        conn_kill(lp, c, "closed by the host");
        return;
    }
    uint32_t ev = c->closing ? 0 : EPOLLIN;
    if (c->outlen > 0) {
        ev |= (net_conn_want(c->nc) & NET_WANT_READ) ? EPOLLIN : EPOLLOUT;
    }
    conn_events(lp, c, ev);
}

static int conn_queue(struct conn *c, const uint8_t *buf, size_t len)
{
    if (c->outlen + len > c->outcap) {
        size_t cap = c->outcap * 2 + len + 4096;
        uint8_t *n = realloc(c->out, cap);
        if (n == NULL) {
            return GL_ENOMEM;
        }
        c->out = n;
        c->outcap = cap;
    }
    memcpy(c->out + c->outlen, buf, len);
    c->outlen += len;
    return GL_OK;
}

/* MACs resp under the BDK and queues it on c. */
static void conn_answer(struct loop *lp, struct conn *c, struct iso_msg *resp)
{
    uint8_t frame[ISO_HDR_LEN + ISO_FRAME_MAX];
    struct iso_error err;
    size_t n = 0;
    int rc = crypto_mac_sign_bdk(&iso_profile_ascii, resp, &lp->w.bdk,
                                 CRYPTO_MAC_RESPONSE, &err);
    if (rc == GL_OK) {
        rc = iso_pack_frame(&iso_profile_ascii, resp, frame, sizeof frame, &n,
                            &err);
    }
    if (rc == GL_OK) {
        rc = conn_queue(c, frame, n);
    }
    if (rc != GL_OK) {
        GL_LOG_ERR("hostd", "loop %d: %s: answer not sent: %s", lp->id,
                   c->sess.tid, gl_strerror(rc));
        c->closing = 1;
    }
}

static struct rq *rq_take(struct loop *lp)
{
    if (lp->nrq == lp->caprq) {
        size_t cap = lp->caprq * 2 + 16;
        struct rq **n = realloc(lp->rq, cap * sizeof *n);
        if (n == NULL) {
            return NULL;
        }
        for (size_t i = lp->caprq; i < cap; i++) {
            n[i] = NULL;
        }
        lp->rq = n;
        lp->caprq = cap;
    }
    if (lp->rq[lp->nrq] == NULL) {
        lp->rq[lp->nrq] = malloc(sizeof(struct rq));
        if (lp->rq[lp->nrq] == NULL) {
            return NULL;
        }
    }
    return lp->rq[lp->nrq++];
}

/*
 * A frame that does not unpack whole: reads the fields in front of the
 * failing one (the bitmap cut down to them), so that the MTI, STAN, DE 41
 * and KS may still be known.  Returns GL_OK with m filled.
 */
static int partial_unpack(const uint8_t *buf, size_t len,
                          const struct iso_error *e, struct iso_msg *m)
{
    uint8_t tmp[ISO_FRAME_MAX];
    size_t hdr, nhdr;
    int sec;

    if (e->field <= 48 || len < 12 || len > sizeof tmp) {
        return GL_ENOTFOUND;
    }
    sec = (buf[4] & 0x80) != 0;
    hdr = sec ? 20 : 12;
    if (len < hdr || e->offset > len) {
        return GL_ENOTFOUND;
    }
    memcpy(tmp, buf, 12);
    /* Keep fields below e->field in the primary bitmap. */
    for (int f = 2; f <= 64; f++) {
        if (f >= e->field) {
            tmp[4 + (f - 1) / 8] &= (uint8_t)~(0x80u >> ((f - 1) % 8));
        }
    }
    int keep_sec = 0;
    if (sec && e->field > 65) {
        memcpy(tmp + 12, buf + 12, 8);
        for (int f = 65; f <= 128; f++) {
            if (f >= e->field) {
                tmp[12 + (f - 65) / 8] &= (uint8_t)~(0x80u >> ((f - 65) % 8));
            }
        }
        for (int i = 0; i < 8; i++) {
            keep_sec |= tmp[12 + i] != 0;
        }
    }
    if (!keep_sec) {
        tmp[4] &= 0x7f;
    }
    nhdr = keep_sec ? 20 : 12;
    size_t lo = e->offset > 1100 ? e->offset - 1100 : 0;
    if (lo < hdr) {
        lo = hdr;
    }
    for (size_t end = e->offset; end >= lo && end <= len; end--) {
        size_t body = end - hdr;
        memcpy(tmp + nhdr, buf + hdr, body);
        if (iso_unpack(&iso_profile_ascii, m, tmp, nhdr + body, NULL) ==
            GL_OK) {
            return GL_OK;
        }
        if (end == lo) {
            break;
        }
    }
    return GL_ENOTFOUND;
}

static int on_frame(void *ctx, const uint8_t *buf, size_t len)
{
    struct conn *c = ctx;
    struct loop *lp = c->lp;
    struct iso_error err;
    struct rq *r;
    char de41[16];
    int rc;

    c->last_msg = now_ms();
    c->frame_start = 0;
    lp->frames++;
    r = rq_take(lp);
    if (r == NULL) {
        conn_kill(lp, c, "out of memory");
        return 1;
    }
    r->c = c;
    r->action = HOSTD_ANSWER;
    rc = iso_unpack(&iso_profile_ascii, &r->req, buf, len, &err);
    if (rc != GL_OK) {
        lp->nrq--;
        GL_LOG_WARN("hostd", "loop %d: %s: undecodable message: field %d at "
                    "offset %zu: %s", lp->id, c->sess.tid, err.field,
                    err.offset, err.text);
        if (partial_unpack(buf, len, &err, &r->req) == GL_OK &&
            iso_msg_get_str(&r->req, 41, de41, sizeof de41) == GL_OK &&
            strcmp(de41, c->sess.tid) == 0 &&
            hostd_error_answer(&r->req, "30", &r->resp) == GL_OK) {
            conn_answer(lp, c, &r->resp);
            return 0;
        }
        c->closing = 1;
        return 1;
    }
    if (iso_msg_get_str(&r->req, 41, de41, sizeof de41) != GL_OK ||
        strcmp(de41, c->sess.tid) != 0) {
        lp->nrq--;
        GL_LOG_WARN("hostd", "loop %d: %s: DE 41 is not the certificate's "
                    "CN: closing", lp->id, c->sess.tid);
        c->closing = 1;
        return 1;
    }
    rc = crypto_mac_verify_bdk(&iso_profile_ascii, &r->req, &lp->w.bdk,
                               CRYPTO_MAC_REQUEST, &err);
    if (rc != GL_OK) {
        char line[600];
        lp->nrq--;
        c->mac_failures++;
        if (iso_msg_print(&r->req, 0, line, sizeof line) < 0) {
            line[sizeof line - 1] = '\0';
        }
        for (char *q = line; *q != '\0'; q++) {
            if (*q == '\n') {
                *q = ' ';
            }
        }
        GL_LOG_WARN("hostd", "loop %d: %s: MAC failure %d (%s), not "
                    "answered: %s", lp->id, c->sess.tid, c->mac_failures,
                    gl_strerror(rc), line);
        if (c->mac_failures >= lp->cfg->mac_failures) {
            c->closing = 1;
            return 1;
        }
        return 0;
    }
    return 0;
}

static void conn_read(struct loop *lp, struct conn *c)
{
    uint8_t buf[16384];
    for (int rounds = 0; rounds < 64 && !c->dead && !c->closing; rounds++) {
        int n = net_conn_read(c->nc, buf, sizeof buf);
        if (n == GL_EAGAIN) {
            break;
        }
        if (n < 0) {
            conn_kill(lp, c, n == GL_ECLOSED ? "closed by the terminal"
                                             : gl_strerror(n));
            return;
        }
        int rc = iso_reasm_feed(&c->reasm, buf, (size_t)n, on_frame, c);
        if (rc == GL_ISO_FRAMELEN) {
            GL_LOG_WARN("hostd", "loop %d: %s: frame length 0 or above %d: "
                        "closing", lp->id, c->sess.tid, ISO_FRAME_MAX);
            c->closing = 1;
        }
        if (iso_reasm_pending(&c->reasm) > 0 && c->frame_start == 0) {
            c->frame_start = now_ms();
        }
    }
}

static void conn_handshake(struct loop *lp, struct conn *c)
{
    int rc = net_conn_handshake(c->nc);
    if (rc == GL_EAGAIN) {
        int want = net_conn_want(c->nc);
        conn_events(lp, c, (want & NET_WANT_WRITE) ? EPOLLOUT : EPOLLIN);
        return;
    }
    if (rc != GL_OK) {
        GL_LOG_WARN("hostd", "loop %d: handshake failed: %s (%s)", lp->id,
                    gl_strerror(rc), net_conn_errstr(c->nc));
        conn_kill(lp, c, "handshake failed");
        return;
    }
    c->state = CONN_OPEN;
    c->last_msg = now_ms();
    snprintf(c->sess.tid, sizeof c->sess.tid, "%s", net_conn_peer_cn(c->nc));
    /* One connection per terminal: a new one replaces the older. */
    for (struct conn *o = lp->head.next; o != &lp->head; o = o->next) {
        if (o != c && !o->dead && o->state == CONN_OPEN &&
            strcmp(o->sess.tid, c->sess.tid) == 0) {
            conn_kill(lp, o, "replaced by a new connection");
        }
    }
    conn_events(lp, c, EPOLLIN);
    if (net_conn_pending(c->nc)) {
        conn_read(lp, c);
    }
}

static void do_accept(struct loop *lp)
{
    for (int i = 0; i < 64; i++) {
        struct net_conn *nc = NULL;
        int rc = net_accept(lp->lst, lp->tls, &nc);
        if (rc == GL_EAGAIN) {
            return;
        }
        if (rc != GL_OK) {
            GL_LOG_WARN("hostd", "loop %d: accept: %s", lp->id,
                        gl_strerror(rc));
            return;
        }
        if (lp->nconns >= (size_t)lp->cfg->max_conns) {
            net_conn_close(nc);
            GL_LOG_WARN("hostd", "loop %d: connection limit reached", lp->id);
            continue;
        }
        struct conn *c = calloc(1, sizeof *c);
        if (c == NULL) {
            net_conn_close(nc);
            return;
        }
        c->nc = nc;
        c->fd = net_conn_fd(nc);
        c->lp = lp;
        c->created = now_ms();
        iso_reasm_init(&c->reasm, ISO_FRAME_MAX);
        struct epoll_event e = {.events = EPOLLIN, .data.ptr = c};
        if (epoll_ctl(lp->ep, EPOLL_CTL_ADD, c->fd, &e) != 0) {
            net_conn_close(nc);
            free(c);
            continue;
        }
        c->events = EPOLLIN;
        c->next = lp->head.next;
        c->prev = &lp->head;
        lp->head.next->prev = c;
        lp->head.next = c;
        lp->nconns++;
        conn_handshake(lp, c);
    }
}

/* Applies the queued requests in one group commit, then answers. */
static void run_batch(struct loop *lp)
{
    int rc = hostd_batch_begin(&lp->w);
    int committed = 0;

    if (rc == GL_OK) {
        hostd_expire_holds(&lp->w);
        for (size_t i = 0; i < lp->nrq; i++) {
            struct rq *r = lp->rq[i];
            if (r->c->dead) {
                r->action = HOSTD_SILENT;
                continue;
            }
            r->action = hostd_proc_request(&lp->w, &r->c->sess, &r->req,
                                           &r->resp);
        }
        rc = hostd_batch_commit(&lp->w);
        committed = rc == GL_OK;
        lp->commits++;
    }
    if (!committed) {
        GL_LOG_ERR("hostd", "loop %d: group commit of %zu request(s) failed: "
                   "%s: answering 96", lp->id, lp->nrq, gl_strerror(rc));
        hostd_batch_rollback(&lp->w);
    }
    for (size_t i = 0; i < lp->nrq; i++) {
        struct rq *r = lp->rq[i];
        struct conn *c = r->c;
        if (c->dead) {
            continue;
        }
        if (r->action == HOSTD_CLOSE) {
            c->closing = 1;
            continue;
        }
        if (r->action != HOSTD_ANSWER) {
            continue;
        }
        if (!committed && strcmp(r->req.mti, "0800") != 0) {
            if (hostd_error_answer(&r->req, "96", &r->resp) != GL_OK) {
                continue;
            }
        }
        conn_answer(lp, c, &r->resp);
    }
    lp->nrq = 0;
}

static void sweep(struct loop *lp, int64_t now)
{
    const struct hostd_config *cfg = lp->cfg;
    for (struct conn *c = lp->head.next; c != &lp->head; c = c->next) {
        if (c->dead) {
            continue;
        }
        if (c->state == CONN_HANDSHAKE &&
            now - c->created > cfg->handshake_timeout * 1000) {
            conn_kill(lp, c, "handshake timed out");
        } else if (c->state == CONN_OPEN && c->frame_start != 0 &&
                   now - c->frame_start > cfg->frame_timeout * 1000) {
            conn_kill(lp, c, "frame left unfinished");
        } else if (c->state == CONN_OPEN &&
                   now - c->last_msg > cfg->idle_timeout * 1000) {
            conn_kill(lp, c, "idle");
        }
    }
}

static void reap(struct loop *lp)
{
    struct conn *c = lp->head.next;
    while (c != &lp->head) {
        struct conn *next = c->next;
        if (!c->dead && c->closing && c->outlen == 0) {
            conn_kill(lp, c, "closed by the host");
        }
        if (c->dead) {
            conn_free(lp, c);
        }
        c = next;
    }
}

static void *loop_main(void *arg)
{
    struct loop *lp = arg;
    struct epoll_event evs[256];
    int64_t stop_at = 0;

    for (;;) {
        if (*lp->stop && stop_at == 0) {
            stop_at = now_ms() + 2000;
            (void)epoll_ctl(lp->ep, EPOLL_CTL_DEL, net_listener_fd(lp->lst),
                            NULL);
            for (struct conn *c = lp->head.next; c != &lp->head; c = c->next) {
                c->closing = 1; /* read no more; write what is answered */
                conn_flush(lp, c);
            }
        }
        if (stop_at != 0) {
            int pending = 0;
            for (struct conn *c = lp->head.next; c != &lp->head; c = c->next) {
                pending |= !c->dead && c->outlen > 0;
            }
            if (!pending || now_ms() > stop_at) {
                break;
            }
        }
        if (lp->id == 0 && *lp->reopen) {
            *lp->reopen = 0;
            gl_log_close();
            gl_log_open("gl-hostd", lp->cfg->syslog);
            GL_LOG_INFO("hostd", "log reopened");
        }
        int n = epoll_wait(lp->ep, evs, 256, 500);
        if (n < 0 && errno != EINTR) {
            GL_LOG_ERR("hostd", "loop %d: epoll_wait: %s", lp->id,
                       strerror(errno));
            lp->rc = GL_EOS;
            break;
        }
        for (int i = 0; i < n; i++) {
            struct conn *c = evs[i].data.ptr;
            if (c == NULL) {
                do_accept(lp);
                continue;
            }
            if (c->dead) {
                continue;
            }
            if (c->state == CONN_HANDSHAKE) {
                conn_handshake(lp, c);
                continue;
            }
            if ((evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) &&
                !c->closing) {
                conn_read(lp, c);
            }
            if (!c->dead && c->outlen > 0) {
                conn_flush(lp, c);
            }
        }
        /* mbedTLS may hold decrypted records the socket no longer shows. */
        for (struct conn *c = lp->head.next; c != &lp->head; c = c->next) {
            if (!c->dead && !c->closing && c->state == CONN_OPEN &&
                net_conn_pending(c->nc)) {
                conn_read(lp, c);
            }
        }
        if (lp->nrq > 0) {
            run_batch(lp);
        }
        for (struct conn *c = lp->head.next; c != &lp->head; c = c->next) {
            if (!c->dead && (c->outlen > 0 || c->closing)) {
                conn_flush(lp, c);
            }
        }
        int64_t now = now_ms();
        if (now - lp->last_sweep >= 1000) {
            lp->last_sweep = now;
            sweep(lp, now);
            if (lp->nrq == 0 && hostd_batch_begin(&lp->w) == GL_OK) {
                hostd_expire_holds(&lp->w);
                if (hostd_batch_commit(&lp->w) != GL_OK) {
                    hostd_batch_rollback(&lp->w);
                }
            }
        }
        reap(lp);
    }
    while (lp->head.next != &lp->head) {
        struct conn *c = lp->head.next;
        c->dead = 1;
        conn_free(lp, c);
    }
    GL_LOG_INFO("hostd", "loop %d: stopped after %llu frames, %llu commits",
                lp->id, (unsigned long long)lp->frames,
                (unsigned long long)lp->commits);
    return NULL;
}

static void loop_deinit(struct loop *lp)
{
    for (size_t i = 0; i < lp->caprq; i++) {
        free(lp->rq[i]);
    }
    free(lp->rq);
    if (lp->ep >= 0) {
        close(lp->ep);
    }
    net_ctx_free(lp->tls);
    hostd_worker_deinit(&lp->w);
}

int hostd_run(const struct hostd_config *cfg, volatile sig_atomic_t *stop,
              volatile sig_atomic_t *reopen_logs)
{
    struct net_listener *lst = NULL;
    struct loop *loops = NULL;
    pthread_t *th = NULL;
    char err[NET_ERR_MAX];
    int rc, started = 0;
    int nloops = (int)cfg->loops;

    loops = calloc((size_t)nloops, sizeof *loops);
    th = calloc((size_t)nloops, sizeof *th);
    if (loops == NULL || th == NULL) {
        rc = GL_ENOMEM;
        goto out;
    }
    for (int i = 0; i < nloops; i++) {
        loops[i].ep = -1;
    }
    struct net_tls_config tcfg = {.ca_file = cfg->ca_file,
                                  .cert_file = cfg->cert_file,
                                  .key_file = cfg->key_file};
    for (int i = 0; i < nloops; i++) {
        struct loop *lp = &loops[i];
        char werr[256];
        lp->cfg = cfg;
        lp->id = i;
        lp->stop = stop;
        lp->reopen = reopen_logs;
        lp->head.next = lp->head.prev = &lp->head;
        rc = hostd_worker_init(&lp->w, cfg, i, werr);
        if (rc != GL_OK) {
            GL_LOG_ERR("hostd", "cannot start: %s", werr[0] ? werr
                                                            : gl_strerror(rc));
            goto out;
        }
        rc = net_ctx_new(&lp->tls, NET_ROLE_SERVER, &tcfg, err, sizeof err);
        if (rc != GL_OK) {
            GL_LOG_ERR("hostd", "cannot start: TLS: %s", err);
            goto out;
        }
        lp->ep = epoll_create1(EPOLL_CLOEXEC);
        if (lp->ep < 0) {
            rc = GL_EOS;
            goto out;
        }
    }
    rc = net_listen(&lst, cfg->address, cfg->port, (int)cfg->backlog);
    if (rc != GL_OK) {
        GL_LOG_ERR("hostd", "cannot listen on %s:%s: %s", cfg->address,
                   cfg->port, gl_strerror(rc));
        goto out;
    }
    for (int i = 0; i < nloops; i++) {
        struct epoll_event e = {.events = EPOLLIN | EPOLLEXCLUSIVE,
                                .data.ptr = NULL};
        loops[i].lst = lst;
        if (epoll_ctl(loops[i].ep, EPOLL_CTL_ADD, net_listener_fd(lst), &e) !=
            0) {
            rc = GL_EOS;
            goto out;
        }
    }
    GL_LOG_INFO("hostd", "listening on %s:%d with %d loop(s)",
                cfg->address[0] ? cfg->address : "*", net_listener_port(lst),
                nloops);
    for (started = 0; started < nloops; started++) {
        if (pthread_create(&th[started], NULL, loop_main, &loops[started]) !=
            0) {
            rc = GL_EOS;
            *stop = 1;
            break;
        }
    }
    for (int i = 0; i < started; i++) {
        pthread_join(th[i], NULL);
        if (loops[i].rc != GL_OK && rc == GL_OK) {
            rc = loops[i].rc;
        }
    }
out:
    if (loops != NULL) {
        for (int i = 0; i < nloops; i++) {
            loop_deinit(&loops[i]);
        }
    }
    net_listener_close(lst);
    free(loops);
    free(th);
    return rc;
}
