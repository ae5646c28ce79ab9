/*
 * hostd_loop.c - the event loops of gl-hostd.
 *
 * One loop per thread (hostd.h): epoll over the shared listening socket and
 * the loop's own terminal connections (TLS through hal/net).  The loop that
 * accepts a connection deals it to the next loop in turn (its eventfd and
 * inbox).  The loops share one ledger writer (struct hledger): one SQLite
 * connection whose group commits they take in turn under a mutex, so the
 * page cache stays warm, the rate limits are counted once for the whole
 * host and a voucher's redemptions are serialised as with one loop.  A
 * round:
 *   1. wait for events; accept, drive handshakes, read;
 *   2. each complete frame is unpacked, its DE 41 compared with the
 *      certificate's CN and its MAC verified, then queued;
 *   3. the queued requests are applied in ONE group commit (a savepoint
 *      each, the ledger writer's mutex held from BEGIN to COMMIT) and
 *      committed.  The connection runs synchronous=NORMAL, so the
 *      COMMIT only writes the WAL frames (page cache) and returns;
 *   4. the round's answers are MACed and set aside with a ticket of the
 *      sync thread, and the loop goes straight back to step 1;
 *   5. the sync thread calls fdatasync() on the WAL (its own read-only fd of
 *      the same inode) and wakes the loops through their eventfds; a loop
 *      then writes the answers of every round whose ticket is covered, in
 *      round order.
 * So no answer leaves before its transaction is durable: a ticket is taken
 * after the round's COMMIT returned, and it is covered only by an
 * fdatasync that started after that, which flushes every WAL frame written
 * before it started (a WAL reset after a checkpoint rewrites the same file
 * from its start: same inode, still covered; the sync thread checks after
 * every fdatasync that the WAL path still names that inode and stops the
 * host otherwise).  Declines, repeats and 30/96 answers wait the same way:
 * they may have been computed from an earlier round that is not durable
 * yet (a 51 from a balance such a round reduced), and answers of a
 * connection must leave in order.  The same holds across loops: a round
 * that read what another loop's round wrote committed after it, so its
 * ticket, taken after its own COMMIT, is covered only by an fdatasync
 * that also covers the other round.  Meanwhile the loop keeps applying and
 * committing new rounds: the disk's flush latency no longer stalls it, and
 * one fdatasync covers every round committed before it started.  Two sync
 * threads may have an fdatasync in flight at once, so a round committed
 * while one runs need not wait for it to end before its own starts.
 * Checkpoints stay SQLite's automatic ones on the loop's connection (every
 * 1000 WAL pages, PASSIVE): in NORMAL mode they sync the WAL before copying
 * and the database after, so the database file never holds a page whose
 * WAL frame is not durable.
 *
 * Frames that fail: unpack -> answer 30 when MTI, DE 11, DE 41 (= CN) and
 * the KS of DE 48 could still be read, else close; DE 41 not the CN ->
 * close; MAC failure -> logged, no answer, close after cfg->mac_failures.
 * Oversize length headers close (iso_reasm), and so does a frame left
 * unfinished for cfg->frame_timeout seconds.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
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
    size_t held;       /* answers waiting in pending batches */
    uint64_t open_seq; /* its handshake's number among all loops' */
    struct conn *prev, *next;
    struct loop *lp;
};

/*
 * The answers of one round, MACed and framed, waiting for the sync that
 * makes the round durable.  buf holds entries: a struct pent, then len
 * bytes of frame.  Each entry holds a reference on its connection
 * (conn.held), so a connection is not freed while an answer names it.
 */
struct pent {
    struct conn *c;
    size_t len;
};

struct pbatch {
    uint64_t ticket; /* released when the sync thread's done >= ticket */
    uint8_t *buf;
    size_t len, cap;
    size_t n;
    struct pbatch *next;
};

/*
 * The sync threads (HSYNC_THREADS per process, shared by the loops):
 * fdatasync of the WAL on demand.  A ticket taken (hsync_ticket) after a
 * round's COMMIT has returned is done once an fdatasync that STARTED after
 * the ticket was taken has returned; that fdatasync covers every WAL frame
 * written before it started, so the round's transaction, and every
 * transaction whose effects the round read, is on disk.  Syncs may
 * overlap; done only grows (max of the completed targets).
 */
#ifndef HSYNC_THREADS
#define HSYNC_THREADS 2
#endif

struct hsync {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    uint64_t want;  /* tickets handed out */
    uint64_t started; /* the highest ticket an fdatasync in flight covers */
    uint64_t done;  /* tickets covered by a completed fdatasync */
    int stop;
    int failed;     /* an fdatasync failed or the WAL was replaced */
    int walfd;
    char walpath[HOSTD_PATH_MAX + 16];
    dev_t dev;
    ino_t ino;
    int *wake;      /* the loops' eventfds */
    int nwake;
    uint64_t syncs;
};

struct rq {
    struct conn *c;
    struct iso_msg req;
    struct iso_msg resp;
    int action;
    /* The request's MAC keys, derived once for verifying the request and
     * signing its answer (same KSN); wiped when the round is answered. */
    struct crypto_mac_keys keys;
};

/*
 * The ledger writer every loop shares: one worker (one SQLite connection,
 * so one page cache kept warm, one set of rate-limit tables, one sequence
 * of retrieval references), used by one loop at a time under mu.  A loop
 * holds mu only from BEGIN to COMMIT of its round; reading, unpacking,
 * MAC checks, signing and TLS run outside it, in parallel with the round
 * of another loop.
 */
struct hledger {
    pthread_mutex_t mu;
    struct hostd_worker w;
};

/* A message to a loop from another: fd >= 0, an accepted socket to adopt;
 * fd < 0, terminal tid completed handshake number seq on another loop, so
 * its connections here that completed theirs before are replaced. */
struct inmsg {
    int fd;
    uint64_t seq;
    char tid[NET_CN_MAX];
};

struct loop {
    const struct hostd_config *cfg;
    int id;
    struct hledger *ld;         /* shared */
    struct hsync *sy;
    int evfd;                   /* written by the sync thread, other loops */
    /* Messages of the other loops, under inmu: accepted sockets dealt to
     * this loop, and terminals that opened a new connection elsewhere. */
    pthread_mutex_t inmu;
    struct inmsg *inbox;
    size_t nin, capin;
    struct loop *all;           /* every loop, all[0 .. nall-1] */
    int nall;
    atomic_uint *deal;          /* shared: the next connection's loop */
    atomic_uint_fast64_t *opens; /* shared: handshakes completed */
    struct pbatch *cur;         /* this round's answers */
    struct pbatch *phead, *ptail; /* sealed, waiting for their sync */
    struct pbatch *pfree;       /* spare batches */
    struct net_ctx *tls;
    struct net_listener *lst; /* shared, borrowed */
    int ep;
    struct conn head; /* list sentinel */
    size_t nconns;
    struct rq **rq;
    size_t nrq, caprq;
    atomic_int *stop, *reopen;
    int64_t last_sweep;
    uint64_t frames, commits;
    uint64_t slow_commits; /* COMMITs over 5 ms (checkpoints) */
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
    if (c->outlen == 0 && c->closing && c->held == 0) {
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

/* ---- the sync thread ------------------------------------------------- */

static void *hsync_main(void *arg)
{
    struct hsync *sy = arg;
    pthread_mutex_lock(&sy->mu);
    for (;;) {
        while (sy->started == sy->want && !sy->stop && !sy->failed) {
            pthread_cond_wait(&sy->cv, &sy->mu);
        }
        if (sy->failed || (sy->stop && sy->started == sy->want)) {
            break;
        }
        uint64_t target = sy->want;
        sy->started = target;
        pthread_mutex_unlock(&sy->mu);
        int rc = fdatasync(sy->walfd);
        int err = errno;
        struct stat st;
        /* The fd must still be the database's WAL: SQLite keeps the file
         * while a connection is open (a WAL reset rewrites it in place). */
        int same = stat(sy->walpath, &st) == 0 && st.st_dev == sy->dev &&
                   st.st_ino == sy->ino;
        pthread_mutex_lock(&sy->mu);
        if (rc != 0 || !same) {
            GL_LOG_ERR("hostd", "sync: %s: answers withheld, stopping",
                       rc != 0 ? strerror(err)
                               : "the WAL file was replaced or removed");
            sy->failed = 1;
        } else {
            if (target > sy->done) {
                sy->done = target;
            }
            sy->syncs++;
        }
        for (int i = 0; i < sy->nwake; i++) {
            uint64_t one = 1;
            if (write(sy->wake[i], &one, sizeof one) < 0) {
                /* the counter is saturated: the loop is awake anyway */
            }
        }
    }
    pthread_mutex_unlock(&sy->mu);
    return NULL;
}

/* A ticket for everything the caller has written to the WAL so far. */
static uint64_t hsync_ticket(struct hsync *sy)
{
    pthread_mutex_lock(&sy->mu);
    uint64_t t = ++sy->want;
    pthread_cond_signal(&sy->cv);
    pthread_mutex_unlock(&sy->mu);
    return t;
}

/* The highest ticket covered; *failed set when syncing has failed. */
static uint64_t hsync_done(struct hsync *sy, int *failed)
{
    pthread_mutex_lock(&sy->mu);
    uint64_t d = sy->done;
    *failed = sy->failed;
    pthread_mutex_unlock(&sy->mu);
    return d;
}

/* ---- pending answers -------------------------------------------------- */

static struct pbatch *pb_cur(struct loop *lp)
{
    if (lp->cur == NULL) {
        struct pbatch *b = lp->pfree;
        if (b != NULL) {
            lp->pfree = b->next;
        } else {
            b = calloc(1, sizeof *b);
            if (b == NULL) {
                return NULL;
            }
        }
        b->len = b->n = 0;
        b->next = NULL;
        lp->cur = b;
    }
    return lp->cur;
}

/* Room for an entry of up to len frame bytes at the end of b. */
static uint8_t *pb_room(struct pbatch *b, size_t len)
{
    size_t need = b->len + sizeof(struct pent) + len;
    if (need > b->cap) {
        size_t cap = b->cap * 2 + sizeof(struct pent) + len + 16384;
        uint8_t *n = realloc(b->buf, cap);
        if (n == NULL) {
            return NULL;
        }
        b->buf = n;
        b->cap = cap;
    }
    return b->buf + b->len + sizeof(struct pent);
}

/* Seals this round's answers with a ticket (after its COMMIT). */
static void pb_seal(struct loop *lp)
{
    struct pbatch *b = lp->cur;
    if (b == NULL || b->n == 0) {
        return;
    }
    lp->cur = NULL;
    b->ticket = hsync_ticket(lp->sy);
    if (lp->ptail != NULL) {
        lp->ptail->next = b;
    } else {
        lp->phead = b;
    }
    lp->ptail = b;
}

/* Queues the answers of every batch the sync thread has covered, in
 * order.  Returns 0, or -1 when syncing failed (nothing more is sent). */
static int pb_release(struct loop *lp)
{
    int failed = 0;
    uint64_t done;
    if (lp->phead == NULL) {
        return 0;
    }
    done = hsync_done(lp->sy, &failed);
    if (failed) {
        return -1;
    }
    while (lp->phead != NULL && lp->phead->ticket <= done) {
        struct pbatch *b = lp->phead;
        size_t off = 0;
        while (off < b->len) {
            struct pent e;
            memcpy(&e, b->buf + off, sizeof e);
            off += sizeof e;
            if (!e.c->dead && conn_queue(e.c, b->buf + off, e.len) != GL_OK) {
                GL_LOG_ERR("hostd", "loop %d: %s: answer not sent: out of "
                           "memory", lp->id, e.c->sess.tid);
                e.c->closing = 1;
            }
            e.c->held--;
            off += e.len;
        }
        lp->phead = b->next;
        if (lp->phead == NULL) {
            lp->ptail = NULL;
        }
        b->next = lp->pfree;
        lp->pfree = b;
    }
    return 0;
}

/* MACs resp (under keys when they belong to its KS, else under keys
 * derived from the BDK) and adds it to this round's answers, which leave
 * once the round is durable.  keys may be NULL. */
static void conn_answer(struct loop *lp, struct conn *c, struct iso_msg *resp,
                        const struct crypto_mac_keys *keys)
{
    struct iso_error err;
    struct pbatch *b = pb_cur(lp);
    uint8_t *frame = b != NULL ? pb_room(b, ISO_HDR_LEN + ISO_FRAME_MAX)
                               : NULL;
    size_t n = 0;
    int rc = frame != NULL ? GL_OK : GL_ENOMEM;
    if (rc == GL_OK && keys != NULL) {
        rc = crypto_mac_sign(&iso_profile_ascii, resp, keys,
                             CRYPTO_MAC_RESPONSE, &err);
    }
    if (rc == GL_OK && keys == NULL) {
        rc = crypto_mac_sign_bdk(&iso_profile_ascii, resp, &lp->ld->w.bdk,
                                 CRYPTO_MAC_RESPONSE, &err);
    } else if (rc == GL_DUKPT_BADKSN || rc == GL_MAC_KSN_MISSING) {
        /* not the request's KSN: derive for the answer's own */
        rc = crypto_mac_sign_bdk(&iso_profile_ascii, resp, &lp->ld->w.bdk,
                                 CRYPTO_MAC_RESPONSE, &err);
    }
    if (rc == GL_OK) {
        rc = iso_pack_frame(&iso_profile_ascii, resp, frame,
                            ISO_HDR_LEN + ISO_FRAME_MAX, &n, &err);
    }
    if (rc != GL_OK) {
        GL_LOG_ERR("hostd", "loop %d: %s: answer not sent: %s", lp->id,
                   c->sess.tid, gl_strerror(rc));
        c->closing = 1;
        return;
    }
    struct pent e = {.c = c, .len = n};
    memcpy(b->buf + b->len, &e, sizeof e);
    b->len += sizeof e + n;
    b->n++;
    c->held++;
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
            conn_answer(lp, c, &r->resp, NULL);
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
    rc = crypto_mac_keys_from_bdk(&lp->ld->w.bdk, &r->req, &r->keys);
    if (rc == GL_OK) {
        rc = crypto_mac_verify(&iso_profile_ascii, &r->req, &r->keys,
                               CRYPTO_MAC_REQUEST, &err);
    }
    if (rc != GL_OK) {
        char line[600];
        crypto_mac_keys_wipe(&r->keys);
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

/* Puts m into the inbox of loop `to` and wakes it.  GL_OK or GL_ENOMEM. */
static int inbox_put(struct loop *to, const struct inmsg *m)
{
    uint64_t one = 1;
    int rc = GL_OK;
    pthread_mutex_lock(&to->inmu);
    if (to->nin == to->capin) {
        size_t cap = to->capin * 2 + 16;
        struct inmsg *n = realloc(to->inbox, cap * sizeof *n);
        if (n != NULL) {
            to->inbox = n;
            to->capin = cap;
        } else {
            rc = GL_ENOMEM;
        }
    }
    if (rc == GL_OK) {
        to->inbox[to->nin++] = *m;
    }
    pthread_mutex_unlock(&to->inmu);
    if (rc == GL_OK && write(to->evfd, &one, sizeof one) < 0) {
        /* the counter is saturated: the loop is awake anyway */
    }
    return rc;
}

/* Closes this loop's connections of tid whose handshake came before seq
 * (one connection per terminal: a new one replaces the older). */
static void conn_replace(struct loop *lp, const char *tid, uint64_t seq)
{
    for (struct conn *o = lp->head.next; o != &lp->head; o = o->next) {
        if (!o->dead && o->state == CONN_OPEN && o->open_seq < seq &&
            strcmp(o->sess.tid, tid) == 0) {
            conn_kill(lp, o, "replaced by a new connection");
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
    /* One connection per terminal: a new one replaces the older, here and
     * on the other loops. */
    c->open_seq = atomic_fetch_add(lp->opens, 1) + 1;
    conn_replace(lp, c->sess.tid, c->open_seq);
    for (int i = 0; i < lp->nall; i++) {
        struct inmsg m = {.fd = -1, .seq = c->open_seq};
        if (&lp->all[i] == lp) {
            continue;
        }
        snprintf(m.tid, sizeof m.tid, "%s", c->sess.tid);
        if (inbox_put(&lp->all[i], &m) != GL_OK) {
            GL_LOG_WARN("hostd", "loop %d: %s: out of memory: an older "
                        "connection on loop %d stays open", lp->id,
                        c->sess.tid, i);
        }
    }
    conn_events(lp, c, EPOLLIN);
    if (net_conn_pending(c->nc)) {
        conn_read(lp, c);
    }
}

/* Starts the TLS server side of an accepted socket in this loop. */
static void conn_adopt(struct loop *lp, int fd)
{
    struct net_conn *nc = NULL;
    if (lp->nconns >= (size_t)lp->cfg->max_conns) {
        close(fd);
        GL_LOG_WARN("hostd", "loop %d: connection limit reached", lp->id);
        return;
    }
    int rc = net_conn_adopt(lp->tls, fd, &nc);
    if (rc != GL_OK) {
        GL_LOG_WARN("hostd", "loop %d: accept: %s", lp->id, gl_strerror(rc));
        return;
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
        return;
    }
    c->events = EPOLLIN;
    c->next = lp->head.next;
    c->prev = &lp->head;
    lp->head.next->prev = c;
    lp->head.next = c;
    lp->nconns++;
    conn_handshake(lp, c);
}

/* Hands fd to loop `to`, which adopts it when its eventfd wakes it. */
static void conn_hand_over(struct loop *lp, struct loop *to, int fd)
{
    struct inmsg m = {.fd = fd};
    if (inbox_put(to, &m) != GL_OK) {
        conn_adopt(lp, fd); /* out of memory: keep it here */
    }
}

/* Takes the messages other loops sent to this one. */
static void inbox_take(struct loop *lp)
{
    struct inmsg ms[32];
    size_t n;
    do {
        pthread_mutex_lock(&lp->inmu);
        n = lp->nin < 32 ? lp->nin : 32;
        if (n > 0) {
            memcpy(ms, lp->inbox, n * sizeof ms[0]);
            memmove(lp->inbox, lp->inbox + n, (lp->nin - n) * sizeof ms[0]);
            lp->nin -= n;
        }
        pthread_mutex_unlock(&lp->inmu);
        for (size_t i = 0; i < n; i++) {
            if (ms[i].fd >= 0) {
                conn_adopt(lp, ms[i].fd);
            } else {
                conn_replace(lp, ms[i].tid, ms[i].seq);
            }
        }
    } while (n == 32);
}

/*
 * Accepts what waits on the shared listener and deals the connections out
 * to the loops in turn, so that a burst of connections (every terminal of
 * a store after a network failure) does not all land on the loop that
 * woke first.
 */
static void do_accept(struct loop *lp)
{
    for (int i = 0; i < 64; i++) {
        int fd;
        int rc = net_accept_fd(lp->lst, &fd);
        if (rc == GL_EAGAIN) {
            return;
        }
        if (rc != GL_OK) {
            GL_LOG_WARN("hostd", "loop %d: accept: %s", lp->id,
                        gl_strerror(rc));
            return;
        }
        struct loop *to = &lp->all[atomic_fetch_add(lp->deal, 1) %
                                   (unsigned)lp->nall];
        if (to == lp) {
            conn_adopt(lp, fd);
        } else {
            conn_hand_over(lp, to, fd);
        }
    }
}

/* Applies the queued requests in one group commit, then answers. */
static void run_batch(struct loop *lp)
{
    struct hostd_worker *w = &lp->ld->w;
    int committed = 0;
    int rc;

    pthread_mutex_lock(&lp->ld->mu);
    rc = hostd_batch_begin(w);
    if (rc == GL_OK) {
        hostd_expire_holds(w);
        for (size_t i = 0; i < lp->nrq; i++) {
            struct rq *r = lp->rq[i];
            if (r->c->dead) {
                r->action = HOSTD_SILENT;
                continue;
            }
            r->action = hostd_proc_request(w, &r->c->sess, &r->req,
                                           &r->resp);
        }
        int64_t t0 = now_ms();
        rc = hostd_batch_commit(w);
        lp->slow_commits += now_ms() - t0 > 5;
        committed = rc == GL_OK;
        lp->commits++;
    }
    if (!committed) {
        GL_LOG_ERR("hostd", "loop %d: group commit of %zu request(s) failed: "
                   "%s: answering 96", lp->id, lp->nrq, gl_strerror(rc));
        hostd_batch_rollback(w);
    }
    pthread_mutex_unlock(&lp->ld->mu);
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
        conn_answer(lp, c, &r->resp, &r->keys);
    }
    for (size_t i = 0; i < lp->nrq; i++) {
        crypto_mac_keys_wipe(&lp->rq[i]->keys);
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
        if (!c->dead && c->closing && c->outlen == 0 && c->held == 0) {
            conn_kill(lp, c, "closed by the host");
        }
        if (c->dead && c->held == 0) {
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
        if (atomic_load(lp->stop) && stop_at == 0) {
            stop_at = now_ms() + 2000;
            (void)epoll_ctl(lp->ep, EPOLL_CTL_DEL, net_listener_fd(lp->lst),
                            NULL);
            for (struct conn *c = lp->head.next; c != &lp->head; c = c->next) {
                c->closing = 1; /* read no more; write what is answered */
                conn_flush(lp, c);
            }
        }
        if (stop_at != 0) {
            int pending = lp->phead != NULL ||
                          (lp->cur != NULL && lp->cur->n > 0);
            for (struct conn *c = lp->head.next; c != &lp->head; c = c->next) {
                pending |= !c->dead && (c->outlen > 0 || c->held > 0);
            }
            if (!pending || now_ms() > stop_at) {
                break;
            }
        }
        if (lp->id == 0 && atomic_exchange(lp->reopen, 0)) {
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
            if (c == (struct conn *)&lp->evfd) {
                uint64_t v;
                if (read(lp->evfd, &v, sizeof v) < 0) {
                    /* EAGAIN: another round already took it */
                }
                inbox_take(lp);
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
        pb_seal(lp);
        if (pb_release(lp) != 0) {
            GL_LOG_ERR("hostd", "loop %d: the log could not be synced: "
                       "stopping without answering", lp->id);
            lp->rc = GL_EIO;
            break;
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
            if (lp->nrq == 0) {
                struct hostd_worker *w = &lp->ld->w;
                pthread_mutex_lock(&lp->ld->mu);
                if (hostd_batch_begin(w) == GL_OK) {
                    hostd_expire_holds(w);
                    if (hostd_batch_commit(w) != GL_OK) {
                        hostd_batch_rollback(w);
                    }
                }
                pthread_mutex_unlock(&lp->ld->mu);
            }
        }
        reap(lp);
    }
    while (lp->head.next != &lp->head) {
        struct conn *c = lp->head.next;
        c->dead = 1;
        conn_free(lp, c);
    }
    GL_LOG_INFO("hostd", "loop %d: stopped after %llu frames, %llu commits "
                "(%llu over 5 ms)", lp->id, (unsigned long long)lp->frames,
                (unsigned long long)lp->commits,
                (unsigned long long)lp->slow_commits);
    if (lp->phead != NULL || (lp->cur != NULL && lp->cur->n > 0)) {
        GL_LOG_WARN("hostd", "loop %d: stopped with answers not sent",
                    lp->id);
    }
    return NULL;
}

static void pb_free_list(struct pbatch *b)
{
    while (b != NULL) {
        struct pbatch *next = b->next;
        free(b->buf);
        free(b);
        b = next;
    }
}

static void loop_deinit(struct loop *lp)
{
    for (size_t i = 0; i < lp->caprq; i++) {
        free(lp->rq[i]);
    }
    free(lp->rq);
    pb_free_list(lp->cur);
    pb_free_list(lp->phead);
    pb_free_list(lp->pfree);
    if (lp->ep >= 0) {
        close(lp->ep);
    }
    if (lp->evfd >= 0) {
        close(lp->evfd);
    }
    net_ctx_free(lp->tls);
    for (size_t i = 0; i < lp->nin; i++) {
        if (lp->inbox[i].fd >= 0) {
            close(lp->inbox[i].fd);
        }
    }
    free(lp->inbox);
    pthread_mutex_destroy(&lp->inmu);
}

/* Opens the WAL for fdatasync and starts the sync thread.  The WAL exists:
 * the workers' connections have read the database in WAL mode. */
static int hsync_start(struct hsync *sy, struct hostd_worker *w,
                       pthread_t th[HSYNC_THREADS], int *nth)
{
    struct stat st;
    if (hostd_db_wal_path(w, sy->walpath, sizeof sy->walpath) != GL_OK) {
        GL_LOG_ERR("hostd", "cannot start: the database has no WAL path");
        return GL_DB;
    }
    sy->walfd = open(sy->walpath, O_RDONLY | O_CLOEXEC);
    if (sy->walfd < 0 || fstat(sy->walfd, &st) != 0) {
        GL_LOG_ERR("hostd", "cannot start: %s: %s", sy->walpath,
                   strerror(errno));
        return GL_EIO;
    }
    sy->dev = st.st_dev;
    sy->ino = st.st_ino;
    for (*nth = 0; *nth < HSYNC_THREADS; (*nth)++) {
        if (pthread_create(&th[*nth], NULL, hsync_main, sy) != 0) {
            return GL_EOS;
        }
    }
    return GL_OK;
}

static void hsync_stop(struct hsync *sy, pthread_t th[HSYNC_THREADS],
                       int nth)
{
    pthread_mutex_lock(&sy->mu);
    sy->stop = 1;
    pthread_cond_broadcast(&sy->cv);
    pthread_mutex_unlock(&sy->mu);
    for (int i = 0; i < nth; i++) {
        pthread_join(th[i], NULL);
    }
    GL_LOG_INFO("hostd", "sync: %llu fdatasync(s) of the WAL",
                (unsigned long long)sy->syncs);
}

int hostd_run(const struct hostd_config *cfg, atomic_int *stop,
              atomic_int *reopen_logs)
{
    struct net_listener *lst = NULL;
    struct loop *loops = NULL;
    pthread_t *th = NULL;
    pthread_t sth[HSYNC_THREADS];
    struct hsync sy;
    struct hledger ld;
    atomic_uint deal;
    atomic_uint_fast64_t opens;
    int nsth = 0, ld_open = 0;
    char err[NET_ERR_MAX];
    int rc, started = 0;
    int nloops = (int)cfg->loops;

    memset(&sy, 0, sizeof sy);
    memset(&ld, 0, sizeof ld);
    atomic_init(&deal, 0);
    atomic_init(&opens, 0);
    sy.walfd = -1;
    pthread_mutex_init(&ld.mu, NULL);
    pthread_mutex_init(&sy.mu, NULL);
    pthread_cond_init(&sy.cv, NULL);
    loops = calloc((size_t)nloops, sizeof *loops);
    th = calloc((size_t)nloops, sizeof *th);
    sy.wake = calloc((size_t)nloops, sizeof *sy.wake);
    if (loops == NULL || th == NULL || sy.wake == NULL) {
        rc = GL_ENOMEM;
        goto out;
    }
    for (int i = 0; i < nloops; i++) {
        loops[i].ep = -1;
        loops[i].evfd = -1;
        pthread_mutex_init(&loops[i].inmu, NULL);
    }
    {
        char werr[256];
        ld_open = 1;
        rc = hostd_worker_init(&ld.w, cfg, 0, werr);
        if (rc != GL_OK) {
            GL_LOG_ERR("hostd", "cannot start: %s", werr[0] ? werr
                                                            : gl_strerror(rc));
            goto out;
        }
    }
    struct net_tls_config tcfg = {.ca_file = cfg->ca_file,
                                  .cert_file = cfg->cert_file,
                                  .key_file = cfg->key_file};
    for (int i = 0; i < nloops; i++) {
        struct loop *lp = &loops[i];
        lp->cfg = cfg;
        lp->id = i;
        lp->stop = stop;
        lp->reopen = reopen_logs;
        lp->head.next = lp->head.prev = &lp->head;
        lp->ld = &ld;
        lp->all = loops;
        lp->nall = nloops;
        lp->deal = &deal;
        lp->opens = &opens;
        rc = net_ctx_new(&lp->tls, NET_ROLE_SERVER, &tcfg, err, sizeof err);
        if (rc != GL_OK) {
            GL_LOG_ERR("hostd", "cannot start: TLS: %s", err);
            goto out;
        }
        lp->ep = epoll_create1(EPOLL_CLOEXEC);
        lp->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        if (lp->ep < 0 || lp->evfd < 0) {
            rc = GL_EOS;
            goto out;
        }
        struct epoll_event e = {.events = EPOLLIN, .data.ptr = &lp->evfd};
        if (epoll_ctl(lp->ep, EPOLL_CTL_ADD, lp->evfd, &e) != 0) {
            rc = GL_EOS;
            goto out;
        }
        lp->sy = &sy;
        sy.wake[i] = lp->evfd;
    }
    sy.nwake = nloops;
    rc = hsync_start(&sy, &ld.w, sth, &nsth);
    if (rc != GL_OK) {
        goto out;
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
            atomic_store(stop, 1);
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
    hsync_stop(&sy, sth, nsth);
    if (loops != NULL) {
        for (int i = 0; i < nloops; i++) {
            loop_deinit(&loops[i]);
        }
    }
    if (ld_open) {
        hostd_worker_deinit(&ld.w);
    }
    pthread_mutex_destroy(&ld.mu);
    if (sy.walfd >= 0) {
        close(sy.walfd);
    }
    pthread_mutex_destroy(&sy.mu);
    pthread_cond_destroy(&sy.cv);
    free(sy.wake);
    net_listener_close(lst);
    free(loops);
    free(th);
    return rc;
}
