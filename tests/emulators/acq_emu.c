/*
 * acq_emu.c - the acquirer emulator (acq_emu.h) and the program gl-acq.
 *
 * One thread runs a poll loop over the listener, up to ACQ_EMU_CONNS
 * connections and a wake-up pipe.  It holds the state mutex while it
 * handles a request, so a command or a query from the test thread sees a
 * request either not started or fully applied.  Answers are queued with a
 * due time (the `delay` script) rather than slept on, so a reversal that
 * arrives while its 0100 is still "being processed" finds it applied.
 *
 * The program's main() is compiled only with -DACQ_EMU_MAIN (the gl-acq
 * rule of tests/emulators/module.mk), so the test links this file without
 * it.
 */
#include "acq_emu.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "gl_err.h"
#include "gl_log.h"
#include "iso8583.h"
#include "net.h"

#define MOD "acq-emu"
#define ACQ_EMU_CONNS 8
#define ACQ_EMU_QUEUE 8 /* answers waiting for their due time, per conn */
#define ACQ_EMU_ANS_MAX 512
#define ACQ_EMU_AUTHS 1024 /* 0100s (and reversals of unseen ones) kept */
#define ACQ_EMU_CARDS 256
#define ACQ_EMU_DECLINES 32
#define ACQ_EMU_RECORDS 2048

enum damage {
    DMG_NONE = 0,
    DMG_WRONGSTAN,
    DMG_WRONGDE7,
    DMG_TRUNCATED,
    DMG_BADBITMAP,
    DMG_OVERSIZE,
};

struct queued {
    uint64_t due_ms;
    size_t len;
    uint8_t buf[ACQ_EMU_ANS_MAX];
};

struct econn {
    int used;
    int up;
    int kill; /* close after this round */
    int fd;   /* plain */
    struct net_conn *tls;
    struct iso_reasm reasm;
    struct queued q[ACQ_EMU_QUEUE];
    int nq;
    uint8_t out[4096];
    size_t out_len, out_off;
};

struct auth {
    char tid[9];
    char stan[7];
    char de7[11];
    char pan[20];
    uint64_t amount;
    char rc[3];
    char approval[7];
    int reversed;       /* an approval undone */
    int reversed_first; /* remembered reversal of an unseen 0100 */
};

struct card {
    char pan[20];
    int64_t charged;
};

struct decline {
    char pan[20];
    char rc[3];
};

struct acq_emu {
    pthread_t th;
    int started;
    int stop;
    int wake[2];
    pthread_mutex_t mu;
    int plain;
    struct net_ctx *tls;
    struct net_listener *lst;
    int port;

    /* script */
    unsigned silent;
    unsigned delay_ms;
    int close_next;
    enum damage damage;
    uint64_t limit;
    struct decline declines[ACQ_EMU_DECLINES];
    int ndeclines;

    /* state */
    struct acq_emu_stats st;
    struct auth auths[ACQ_EMU_AUTHS];
    size_t nauths;
    struct card cards[ACQ_EMU_CARDS];
    size_t ncards;
    struct acq_emu_record recs[ACQ_EMU_RECORDS];
    size_t nrecs;
    unsigned approval_seq;

    struct econn conns[ACQ_EMU_CONNS];
    struct iso_msg req, ans;
    uint8_t in[4096];
    struct econn *cur; /* the connection whose frames are being handled */
};

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void pan_masked(char out[GL_MASK_MAX], const char *pan)
{
    gl_mask_pan(out, pan, strlen(pan));
}

/* ---- rules -------------------------------------------------------------- */

static int luhn_ok(const char *pan)
{
    size_t n = strlen(pan);
    int sum = 0;
    for (size_t i = 0; i < n; i++) {
        int d = pan[n - 1 - i] - '0';
        if (i % 2 == 1) {
            d *= 2;
            if (d > 9) {
                d -= 9;
            }
        }
        sum += d;
    }
    return n >= 12 && sum % 10 == 0;
}

static struct card *card_of(struct acq_emu *e, const char *pan, int create)
{
    for (size_t i = 0; i < e->ncards; i++) {
        if (strcmp(e->cards[i].pan, pan) == 0) {
            return &e->cards[i];
        }
    }
    if (!create || e->ncards == ACQ_EMU_CARDS) {
        return NULL;
    }
    snprintf(e->cards[e->ncards].pan, sizeof e->cards[0].pan, "%s", pan);
    e->cards[e->ncards].charged = 0;
    return &e->cards[e->ncards++];
}

static struct auth *auth_find(struct acq_emu *e, const char *tid,
                              const char *stan, const char *de7)
{
    for (size_t i = 0; i < e->nauths; i++) {
        struct auth *a = &e->auths[i];
        if (strcmp(a->tid, tid) == 0 && strcmp(a->stan, stan) == 0 &&
            strcmp(a->de7, de7) == 0) {
            return a;
        }
    }
    return NULL;
}

static struct auth *auth_add(struct acq_emu *e, const char *tid,
                             const char *stan, const char *de7)
{
    struct auth *a;
    if (e->nauths == ACQ_EMU_AUTHS) {
        /* A test tool: forget the oldest rather than refuse. */
        memmove(&e->auths[0], &e->auths[1],
                (ACQ_EMU_AUTHS - 1) * sizeof e->auths[0]);
        e->nauths--;
    }
    a = &e->auths[e->nauths++];
    memset(a, 0, sizeof *a);
    snprintf(a->tid, sizeof a->tid, "%s", tid);
    snprintf(a->stan, sizeof a->stan, "%s", stan);
    snprintf(a->de7, sizeof a->de7, "%s", de7);
    return a;
}

static void current_yymm(char out[5])
{
    time_t s = time(NULL) + 9 * 3600;
    struct tm tm;
    char all[16];

    gmtime_r(&s, &tm);
    snprintf(all, sizeof all, "%02u%02u", (unsigned)tm.tm_year % 100u,
             (unsigned)(tm.tm_mon + 1) % 100u);
    memcpy(out, all, 4);
    out[4] = '\0';
}

/* DE 39 for a new 0100 of pan/amount. */
static const char *decide(struct acq_emu *e, const char *pan,
                          const char *expiry, uint64_t amount)
{
    static const struct {
        const char *digits;
        const char *rc;
    } suffix[] = {{"005", "05"}, {"051", "51"}, {"054", "54"}};
    size_t n = strlen(pan);
    char yymm[5];

    if (!luhn_ok(pan)) {
        return "14";
    }
    for (int i = 0; i < e->ndeclines; i++) {
        if (strcmp(e->declines[i].pan, pan) == 0) {
            return e->declines[i].rc;
        }
    }
    for (size_t i = 0; i < sizeof suffix / sizeof suffix[0]; i++) {
        if (n >= 4 && memcmp(pan + n - 4, suffix[i].digits, 3) == 0) {
            return suffix[i].rc;
        }
    }
    current_yymm(yymm);
    if (strlen(expiry) == 4 && strcmp(expiry, yymm) < 0) {
        return "54";
    }
    if (amount > e->limit) {
        return "61";
    }
    return "00";
}

/* ---- answers ------------------------------------------------------------ */

static void copy_field(struct iso_msg *dst, const struct iso_msg *src, int f)
{
    const uint8_t *v;
    size_t n;
    if (iso_msg_get(src, f, &v, &n) == GL_OK) {
        (void)iso_msg_set(dst, f, v, n, NULL);
    }
}

/* Packs e->ans for the current connection, damaged as scripted, and queues
 * it (or drops it when the script says silent). */
static void send_answer(struct acq_emu *e, struct acq_emu_record *rec)
{
    struct econn *c = e->cur;
    struct queued *q;
    enum damage d = e->damage;
    size_t len = 0;

    if (e->silent > 0) {
        e->silent--;
        GL_LOG_INFO(MOD, "silent: %s stan=%s not answered", e->req.mti,
                    rec->stan);
        return;
    }
    if (e->close_next) {
        e->close_next = 0;
        c->kill = 1;
        GL_LOG_INFO(MOD, "close: connection dropped after %s stan=%s",
                    e->req.mti, rec->stan);
        return;
    }
    if (c->nq == ACQ_EMU_QUEUE) {
        GL_LOG_WARN(MOD, "answer queue full: %s stan=%s not answered",
                    e->req.mti, rec->stan);
        return;
    }
    e->damage = DMG_NONE;
    if (d == DMG_WRONGSTAN) {
        char s[7] = "";
        unsigned long v;
        (void)iso_msg_get_str(&e->ans, 11, s, sizeof s);
        v = strtoul(s, NULL, 10);
        snprintf(s, sizeof s, "%06lu", (v + 1) % 1000000);
        (void)iso_msg_set_str(&e->ans, 11, s, NULL);
    } else if (d == DMG_WRONGDE7) {
        char s[11] = "";
        (void)iso_msg_get_str(&e->ans, 7, s, sizeof s);
        s[9] = s[9] == '9' ? '0' : (char)(s[9] + 1);
        (void)iso_msg_set_str(&e->ans, 7, s, NULL);
    }
    q = &c->q[c->nq];
    if (iso_pack_frame(&iso_profile_ascii, &e->ans, q->buf, sizeof q->buf, &len,
                       NULL) != GL_OK) {
        GL_LOG_ERR(MOD, "cannot pack the %s", e->ans.mti);
        return;
    }
    switch (d) {
    case DMG_TRUNCATED:
        len -= 3;
        q->buf[0] = (uint8_t)((len - 2) >> 8);
        q->buf[1] = (uint8_t)(len - 2);
        break;
    case DMG_BADBITMAP:
        /* bit 1 set, followed by an all-zero secondary bitmap */
        memmove(q->buf + 2 + 4 + 8 + 8, q->buf + 2 + 4 + 8, len - 14);
        memset(q->buf + 2 + 4 + 8, 0, 8);
        q->buf[2 + 4] |= 0x80;
        len += 8;
        q->buf[0] = (uint8_t)((len - 2) >> 8);
        q->buf[1] = (uint8_t)(len - 2);
        break;
    case DMG_OVERSIZE:
        q->buf[0] = 0xFF;
        q->buf[1] = 0xFF;
        break;
    default:
        break;
    }
    q->len = len;
    q->due_ms = now_ms() + e->delay_ms;
    c->nq++;
    rec->answered = 1;
    e->st.answers++;
}

static void answer_base(struct acq_emu *e, const char *mti)
{
    iso_msg_init(&e->ans);
    (void)iso_msg_set_mti(&e->ans, mti);
    copy_field(&e->ans, &e->req, 2);
    copy_field(&e->ans, &e->req, 3);
    copy_field(&e->ans, &e->req, 4);
    copy_field(&e->ans, &e->req, 7);
    copy_field(&e->ans, &e->req, 11);
    copy_field(&e->ans, &e->req, 37);
    copy_field(&e->ans, &e->req, 41);
    copy_field(&e->ans, &e->req, 42);
    copy_field(&e->ans, &e->req, 49);
}

/* ---- requests ----------------------------------------------------------- */

static void handle_auth(struct acq_emu *e, struct acq_emu_record *rec)
{
    static const int mandatory[] = {2, 3, 4, 7, 11, 14, 22, 25, 41, 42, 49};
    char tid[9] = "", expiry[5] = "", cur[4] = "", masked[GL_MASK_MAX];
    const char *rc = NULL;
    struct auth *a;

    e->st.auths++;
    (void)iso_msg_get_str(&e->req, 41, tid, sizeof tid);
    (void)iso_msg_get_str(&e->req, 14, expiry, sizeof expiry);
    (void)iso_msg_get_str(&e->req, 49, cur, sizeof cur);
    pan_masked(masked, rec->pan);
    answer_base(e, "0110");

    a = auth_find(e, tid, rec->stan, rec->de7);
    if (a != NULL && a->reversed_first) {
        rc = "12"; /* reversed before it arrived */
        if (a->pan[0] == '\0') {
            snprintf(a->pan, sizeof a->pan, "%s", rec->pan);
            a->amount = rec->amount;
            snprintf(a->rc, sizeof a->rc, "12");
        }
        e->st.declines++;
    } else if (a != NULL) {
        e->st.duplicates++;
        if (strcmp(a->pan, rec->pan) != 0 || a->amount != rec->amount) {
            rc = "94";
        } else {
            rc = a->rc;
            if (a->approval[0] != '\0') {
                (void)iso_msg_set_str(&e->ans, 38, a->approval, NULL);
            }
        }
    } else {
        for (size_t i = 0; i < sizeof mandatory / sizeof mandatory[0]; i++) {
            if (!iso_msg_has(&e->req, mandatory[i])) {
                rc = "30";
            }
        }
        if (rc == NULL && strcmp(cur, "410") != 0) {
            rc = "13";
        }
        if (rc == NULL) {
            rc = decide(e, rec->pan, expiry, rec->amount);
        }
        a = auth_add(e, tid, rec->stan, rec->de7);
        snprintf(a->pan, sizeof a->pan, "%s", rec->pan);
        a->amount = rec->amount;
        snprintf(a->rc, sizeof a->rc, "%s", rc);
        if (strcmp(rc, "00") == 0) {
            struct card *cd = card_of(e, rec->pan, 1);
            e->approval_seq++;
            snprintf(a->approval, sizeof a->approval, "%06u",
                     (e->approval_seq * 7919u) % 1000000u);
            if (cd != NULL) {
                cd->charged += (int64_t)rec->amount;
            }
            e->st.approvals++;
            (void)iso_msg_set_str(&e->ans, 38, a->approval, NULL);
        } else {
            e->st.declines++;
        }
    }
    snprintf(rec->rc, sizeof rec->rc, "%s", rc);
    (void)iso_msg_set_str(&e->ans, 39, rc, NULL);
    GL_LOG_INFO(MOD, "0100 stan=%s card=%s amount=%llu -> %s", rec->stan,
                masked, (unsigned long long)rec->amount, rc);
    send_answer(e, rec);
}

static void handle_reversal(struct acq_emu *e, struct acq_emu_record *rec)
{
    char tid[9] = "", de90[43] = "", ostan[7], ode7[11];
    char masked[GL_MASK_MAX];
    const char *rc = "00";
    const char *what;
    struct auth *a;

    e->st.reversals++;
    (void)iso_msg_get_str(&e->req, 41, tid, sizeof tid);
    (void)iso_msg_get_str(&e->req, 90, de90, sizeof de90);
    pan_masked(masked, rec->pan);
    answer_base(e, "0410");
    copy_field(&e->ans, &e->req, 90);
    if (strlen(de90) != 42) {
        rc = "30";
        what = "no DE 90";
        goto answer;
    }
    snprintf(ostan, sizeof ostan, "%.6s", de90 + 4);
    snprintf(ode7, sizeof ode7, "%.10s", de90 + 10);
    snprintf(rec->orig_stan, sizeof rec->orig_stan, "%s", ostan);
    a = auth_find(e, tid, ostan, ode7);
    if (a == NULL) {
        a = auth_add(e, tid, ostan, ode7);
        a->reversed_first = 1;
        e->st.reversals_unknown++;
        what = "unknown original: remembered";
    } else if (a->reversed_first) {
        what = "already remembered";
    } else if (strcmp(a->pan, rec->pan) != 0 || a->amount != rec->amount) {
        rc = "12";
        what = "card or amount differ from the original";
    } else if (strcmp(a->rc, "00") != 0) {
        what = "original declined: nothing to undo";
    } else if (a->reversed) {
        what = "already reversed";
    } else {
        struct card *cd = card_of(e, a->pan, 1);
        if (cd != NULL) {
            cd->charged -= (int64_t)a->amount;
        }
        a->reversed = 1;
        e->st.reversals_applied++;
        what = "charge undone";
    }
answer:
    snprintf(rec->rc, sizeof rec->rc, "%s", rc);
    (void)iso_msg_set_str(&e->ans, 39, rc, NULL);
    GL_LOG_INFO(MOD, "%s stan=%s of 0100 stan=%s card=%s: %s", rec->mti,
                rec->stan, rec->orig_stan, masked, what);
    send_answer(e, rec);
}

static int on_frame(void *ctx, const uint8_t *msg, size_t len)
{
    struct acq_emu *e = ctx;
    struct acq_emu_record *rec, scratch;
    struct iso_error ie;
    uint64_t amount = 0;

    memset(&ie, 0, sizeof ie);
    if (iso_unpack(&iso_profile_ascii, &e->req, msg, len, &ie) != GL_OK) {
        e->st.bad_frames++;
        GL_LOG_WARN(MOD, "request does not decode (field %d: %s): closing",
                    ie.field, ie.text);
        e->cur->kill = 1;
        return 1;
    }
    e->st.requests++;
    rec = e->nrecs < ACQ_EMU_RECORDS ? &e->recs[e->nrecs++] : &scratch;
    memset(rec, 0, sizeof *rec);
    memcpy(rec->mti, e->req.mti, sizeof rec->mti);
    (void)iso_msg_get_str(&e->req, 11, rec->stan, sizeof rec->stan);
    (void)iso_msg_get_str(&e->req, 7, rec->de7, sizeof rec->de7);
    (void)iso_msg_get_str(&e->req, 2, rec->pan, sizeof rec->pan);
    (void)iso_msg_get_u64(&e->req, 4, &amount);
    rec->amount = amount;
    if (strcmp(e->req.mti, "0100") == 0) {
        handle_auth(e, rec);
    } else if (strcmp(e->req.mti, "0400") == 0 ||
               strcmp(e->req.mti, "0401") == 0) {
        handle_reversal(e, rec);
    } else {
        GL_LOG_WARN(MOD, "MTI %s not served: dropped", e->req.mti);
    }
    return e->cur->kill ? 1 : 0;
}

/* ---- connections -------------------------------------------------------- */

static void conn_close(struct econn *c)
{
    if (c->tls != NULL) {
        net_conn_close(c->tls);
    } else if (c->fd >= 0) {
        close(c->fd);
    }
    memset(c, 0, sizeof *c);
    c->fd = -1;
}

static int conn_read(struct econn *c, void *buf, size_t len)
{
    ssize_t n;
    if (c->tls != NULL) {
        return net_conn_read(c->tls, buf, len);
    }
    n = recv(c->fd, buf, len, 0);
    if (n > 0) {
        return (int)n;
    }
    if (n == 0) {
        return GL_ECLOSED;
    }
    return (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
               ? GL_EAGAIN
               : GL_ECLOSED;
}

static int conn_write(struct econn *c, const void *buf, size_t len)
{
    ssize_t n;
    if (c->tls != NULL) {
        return net_conn_write(c->tls, buf, len);
    }
    n = send(c->fd, buf, len, MSG_NOSIGNAL);
    if (n > 0) {
        return (int)n;
    }
    return (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) ? GL_EAGAIN
                                                                : GL_ECLOSED;
}

static void accept_all(struct acq_emu *e)
{
    for (;;) {
        struct econn *c = NULL;
        int i, rc;
        for (i = 0; i < ACQ_EMU_CONNS; i++) {
            if (!e->conns[i].used) {
                c = &e->conns[i];
                break;
            }
        }
        if (e->plain) {
            int fd = accept4(net_listener_fd(e->lst), NULL, NULL,
                             SOCK_NONBLOCK | SOCK_CLOEXEC);
            if (fd < 0) {
                return;
            }
            if (c == NULL) {
                close(fd);
                continue;
            }
            memset(c, 0, sizeof *c);
            c->fd = fd;
            c->up = 1;
            e->st.connections++;
        } else {
            struct net_conn *nc = NULL;
            rc = net_accept(e->lst, e->tls, &nc);
            if (rc != GL_OK) {
                return;
            }
            if (c == NULL) {
                net_conn_close(nc);
                continue;
            }
            memset(c, 0, sizeof *c);
            c->fd = -1;
            c->tls = nc;
        }
        c->used = 1;
        iso_reasm_init(&c->reasm, ISO_FRAME_MAX);
    }
}

/* Moves due answers to the output buffer and writes what the socket takes. */
static void conn_flush(struct acq_emu *e, struct econn *c)
{
    uint64_t now = now_ms();
    while (c->nq > 0 && c->q[0].due_ms <= now &&
           c->out_len + c->q[0].len <= sizeof c->out) {
        memcpy(c->out + c->out_len, c->q[0].buf, c->q[0].len);
        c->out_len += c->q[0].len;
        memmove(&c->q[0], &c->q[1], (size_t)(c->nq - 1) * sizeof c->q[0]);
        c->nq--;
    }
    while (c->out_off < c->out_len) {
        int rc = conn_write(c, c->out + c->out_off, c->out_len - c->out_off);
        if (rc == GL_EAGAIN) {
            return;
        }
        if (rc < 0) {
            c->kill = 1;
            return;
        }
        c->out_off += (size_t)rc;
    }
    c->out_off = c->out_len = 0;
    (void)e;
}

static void conn_service(struct acq_emu *e, struct econn *c)
{
    if (!c->up) {
        int rc = net_conn_handshake(c->tls);
        if (rc == GL_EAGAIN) {
            return;
        }
        if (rc != GL_OK) {
            e->st.handshake_failures++;
            GL_LOG_INFO(MOD, "handshake refused: %s: %s", gl_strerror(rc),
                        net_conn_errstr(c->tls));
            c->kill = 1;
            return;
        }
        c->up = 1;
        e->st.connections++;
    }
    e->cur = c;
    while (!c->kill) {
        int rc = conn_read(c, e->in, sizeof e->in);
        if (rc > 0) {
            int frc = iso_reasm_feed(&c->reasm, e->in, (size_t)rc, on_frame, e);
            if (frc == GL_ISO_FRAMELEN) {
                e->st.bad_frames++;
                c->kill = 1;
            }
            continue;
        }
        if (rc == GL_EAGAIN && c->tls != NULL && net_conn_pending(c->tls)) {
            continue;
        }
        if (rc != GL_EAGAIN) {
            c->kill = 1;
        }
        break;
    }
    conn_flush(e, c);
    e->cur = NULL;
}

static void *emu_thread(void *arg)
{
    struct acq_emu *e = arg;
    struct pollfd p[2 + ACQ_EMU_CONNS];

    for (;;) {
        uint64_t now = now_ms(), next = now + 100;
        int n = 0, timeout;

        pthread_mutex_lock(&e->mu);
        if (e->stop) {
            pthread_mutex_unlock(&e->mu);
            break;
        }
        p[n++] = (struct pollfd){.fd = e->wake[0], .events = POLLIN};
        p[n++] =
            (struct pollfd){.fd = net_listener_fd(e->lst), .events = POLLIN};
        for (int i = 0; i < ACQ_EMU_CONNS; i++) {
            struct econn *c = &e->conns[i];
            short ev = POLLIN;
            if (!c->used) {
                continue;
            }
            if (c->tls != NULL && !c->up) {
                int w = net_conn_want(c->tls);
                ev = (short)(((w & NET_WANT_READ) ? POLLIN : 0) |
                             ((w & NET_WANT_WRITE) ? POLLOUT : 0));
            }
            if (c->out_len > 0) {
                ev |= POLLOUT;
            }
            if (c->nq > 0 && c->q[0].due_ms < next) {
                next = c->q[0].due_ms;
            }
            p[n++] = (struct pollfd){.fd = c->tls != NULL ? net_conn_fd(c->tls)
                                                          : c->fd,
                                     .events = ev};
        }
        pthread_mutex_unlock(&e->mu);

        timeout = next > now ? (int)(next - now) : 0;
        (void)poll(p, (nfds_t)n, timeout);
        if (p[0].revents & POLLIN) {
            char b[16];
            (void)!read(e->wake[0], b, sizeof b);
        }

        pthread_mutex_lock(&e->mu);
        accept_all(e);
        for (int i = 0; i < ACQ_EMU_CONNS; i++) {
            struct econn *c = &e->conns[i];
            if (c->used) {
                conn_service(e, c);
                if (c->kill) {
                    conn_close(c);
                }
            }
        }
        pthread_mutex_unlock(&e->mu);
    }
    return NULL;
}

/* ---- API ---------------------------------------------------------------- */

static void wake(struct acq_emu *e)
{
    (void)!write(e->wake[1], "w", 1);
}

int acq_emu_start(struct acq_emu **out, const struct acq_emu_config *cfg,
                  char *err)
{
    struct acq_emu *e = NULL;
    char tmp[256] = "";
    int rc = GL_OK;

    *out = NULL;
    e = calloc(1, sizeof *e);
    if (e == NULL) {
        snprintf(tmp, sizeof tmp, "out of memory");
        rc = GL_ENOMEM;
        goto out;
    }
    e->wake[0] = e->wake[1] = -1;
    for (int i = 0; i < ACQ_EMU_CONNS; i++) {
        e->conns[i].fd = -1;
    }
    pthread_mutex_init(&e->mu, NULL);
    e->plain = cfg->plain;
    e->limit = cfg->limit != 0 ? cfg->limit : 1000000u;
    if (!cfg->plain) {
        struct net_tls_config t = {.ca_file = cfg->ca_file,
                                   .cert_file = cfg->cert_file,
                                   .key_file = cfg->key_file};
        char nerr[NET_ERR_MAX] = "";
        rc = net_ctx_new(&e->tls, NET_ROLE_SERVER, &t, nerr, sizeof nerr);
        if (rc != GL_OK) {
            snprintf(tmp, sizeof tmp, "TLS: %.200s", nerr);
            goto out;
        }
    }
    rc = net_listen(&e->lst, cfg->host != NULL ? cfg->host : "127.0.0.1",
                    cfg->port != NULL ? cfg->port : "0", 16);
    if (rc != GL_OK) {
        snprintf(tmp, sizeof tmp, "cannot listen on port %s: %s",
                 cfg->port != NULL ? cfg->port : "0", strerror(errno));
        goto out;
    }
    e->port = net_listener_port(e->lst);
    if (pipe2(e->wake, O_CLOEXEC | O_NONBLOCK) != 0) {
        snprintf(tmp, sizeof tmp, "pipe: %s", strerror(errno));
        rc = GL_EOS;
        goto out;
    }
    if (pthread_create(&e->th, NULL, emu_thread, e) != 0) {
        snprintf(tmp, sizeof tmp, "cannot start the emulator thread");
        rc = GL_EOS;
        goto out;
    }
    e->started = 1;
out:
    if (rc != GL_OK) {
        acq_emu_free(e);
        e = NULL;
    }
    if (err != NULL) {
        snprintf(err, 256, "%s", tmp);
    }
    *out = e;
    return rc;
}

int acq_emu_port(const struct acq_emu *e)
{
    return e->port;
}

void acq_emu_free(struct acq_emu *e)
{
    if (e == NULL) {
        return;
    }
    if (e->started) {
        pthread_mutex_lock(&e->mu);
        e->stop = 1;
        pthread_mutex_unlock(&e->mu);
        wake(e);
        pthread_join(e->th, NULL);
    }
    for (int i = 0; i < ACQ_EMU_CONNS; i++) {
        if (e->conns[i].used) {
            conn_close(&e->conns[i]);
        }
    }
    net_listener_close(e->lst);
    net_ctx_free(e->tls);
    if (e->wake[0] >= 0) {
        close(e->wake[0]);
        close(e->wake[1]);
    }
    pthread_mutex_destroy(&e->mu);
    free(e);
}

static void reset(struct acq_emu *e)
{
    uint64_t limit = e->limit;
    memset(&e->st, 0, sizeof e->st);
    e->nauths = e->ncards = e->nrecs = 0;
    e->ndeclines = 0;
    e->silent = 0;
    e->delay_ms = 0;
    e->close_next = 0;
    e->damage = DMG_NONE;
    e->limit = limit;
}

static int reply(char *out, size_t cap, int rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int reply(char *out, size_t cap, int rc, const char *fmt, ...)
{
    va_list ap;
    if (out != NULL && cap > 0) {
        va_start(ap, fmt);
        vsnprintf(out, cap, fmt, ap);
        va_end(ap);
    }
    return rc;
}

static int parse_u64(const char *s, uint64_t *v)
{
    char *end;
    unsigned long long x;
    if (s == NULL || s[0] < '0' || s[0] > '9') {
        return 0;
    }
    errno = 0;
    x = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0') {
        return 0;
    }
    *v = x;
    return 1;
}

static int all_digits(const char *s)
{
    if (s == NULL || s[0] == '\0') {
        return 0;
    }
    for (; *s != '\0'; s++) {
        if (*s < '0' || *s > '9') {
            return 0;
        }
    }
    return 1;
}

int acq_emu_command(struct acq_emu *e, const char *line, char *out, size_t cap)
{
    char buf[256], *argv[4] = {NULL, NULL, NULL, NULL}, *save = NULL, *t;
    int argc = 0, rc;
    uint64_t v;

    snprintf(buf, sizeof buf, "%s", line);
    for (t = strtok_r(buf, " \t\r\n", &save); t != NULL && argc < 4;
         t = strtok_r(NULL, " \t\r\n", &save)) {
        argv[argc++] = t;
    }
    if (argc == 0) {
        return reply(out, cap, GL_EINVAL, "err empty command");
    }
    pthread_mutex_lock(&e->mu);
    if (strcmp(argv[0], "silent") == 0 && argc == 2 && parse_u64(argv[1], &v)) {
        e->silent = (unsigned)v;
        rc = reply(out, cap, GL_OK, "ok silent %u", e->silent);
    } else if (strcmp(argv[0], "delay") == 0 && argc == 2 &&
               parse_u64(argv[1], &v)) {
        e->delay_ms = (unsigned)v;
        rc = reply(out, cap, GL_OK, "ok delay %u", e->delay_ms);
    } else if (strcmp(argv[0], "close") == 0 && argc == 1) {
        e->close_next = 1;
        rc = reply(out, cap, GL_OK, "ok close");
    } else if (strcmp(argv[0], "decline") == 0 && argc == 3 &&
               all_digits(argv[1]) && strlen(argv[1]) < 20 &&
               strlen(argv[2]) == 2) {
        if (e->ndeclines == ACQ_EMU_DECLINES) {
            rc = reply(out, cap, GL_EINVAL, "err decline table full");
        } else {
            struct decline *d = &e->declines[e->ndeclines++];
            char m[GL_MASK_MAX];
            snprintf(d->pan, sizeof d->pan, "%s", argv[1]);
            snprintf(d->rc, sizeof d->rc, "%s", argv[2]);
            rc = reply(out, cap, GL_OK, "ok decline %s %s",
                       gl_mask_pan(m, d->pan, strlen(d->pan)), d->rc);
        }
    } else if (strcmp(argv[0], "limit") == 0 && argc == 2 &&
               parse_u64(argv[1], &v)) {
        e->limit = v;
        rc = reply(out, cap, GL_OK, "ok limit %llu", (unsigned long long)v);
    } else if (strcmp(argv[0], "answer") == 0 && argc == 2) {
        static const char *names[] = {"",          "wrongstan", "wrongde7",
                                      "truncated", "badbitmap", "oversize"};
        rc = reply(out, cap, GL_EINVAL,
                   "err answer wrongstan|wrongde7|truncated|badbitmap|"
                   "oversize");
        for (int i = 1; i < 6; i++) {
            if (strcmp(argv[1], names[i]) == 0) {
                e->damage = (enum damage)i;
                rc = reply(out, cap, GL_OK, "ok answer %s", names[i]);
            }
        }
    } else if (strcmp(argv[0], "charged") == 0 && argc == 2) {
        struct card *cd = card_of(e, argv[1], 0);
        rc = reply(out, cap, GL_OK, "ok %lld",
                   (long long)(cd != NULL ? cd->charged : 0));
    } else if (strcmp(argv[0], "stats") == 0 && argc == 1) {
        struct acq_emu_stats *s = &e->st;
        rc = reply(out, cap, GL_OK,
                   "ok connections=%u requests=%u bad_frames=%u auths=%u "
                   "approvals=%u declines=%u duplicates=%u reversals=%u "
                   "reversals_applied=%u reversals_unknown=%u answers=%u",
                   s->connections, s->requests, s->bad_frames, s->auths,
                   s->approvals, s->declines, s->duplicates, s->reversals,
                   s->reversals_applied, s->reversals_unknown, s->answers);
    } else if (strcmp(argv[0], "reset") == 0 && argc == 1) {
        reset(e);
        rc = reply(out, cap, GL_OK, "ok reset");
    } else {
        rc = reply(out, cap, GL_EINVAL, "err unknown command or arguments: %s",
                   argv[0]);
    }
    pthread_mutex_unlock(&e->mu);
    wake(e);
    return rc;
}

int64_t acq_emu_charged(struct acq_emu *e, const char *pan)
{
    struct card *cd;
    int64_t v;
    pthread_mutex_lock(&e->mu);
    cd = card_of(e, pan, 0);
    v = cd != NULL ? cd->charged : 0;
    pthread_mutex_unlock(&e->mu);
    return v;
}

void acq_emu_stats(struct acq_emu *e, struct acq_emu_stats *st)
{
    pthread_mutex_lock(&e->mu);
    *st = e->st;
    pthread_mutex_unlock(&e->mu);
}

int acq_emu_record(struct acq_emu *e, size_t i, struct acq_emu_record *rec)
{
    int rc = GL_ENOTFOUND;
    pthread_mutex_lock(&e->mu);
    if (i < e->nrecs) {
        *rec = e->recs[i];
        rc = GL_OK;
    }
    pthread_mutex_unlock(&e->mu);
    return rc;
}

/* ---- the program -------------------------------------------------------- */

int acq_emu_main(int argc, char **argv)
{
    struct acq_emu_config cfg = {.port = "0"};
    struct acq_emu *e = NULL;
    char err[256], line[512], out[512];
    sigset_t set;
    int sig;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--plain") == 0) {
            cfg.plain = 1;
            continue;
        }
        if (v == NULL) {
            goto usage;
        }
        if (strcmp(a, "--host") == 0) {
            cfg.host = v;
        } else if (strcmp(a, "--port") == 0) {
            cfg.port = v;
        } else if (strcmp(a, "--ca") == 0) {
            cfg.ca_file = v;
        } else if (strcmp(a, "--cert") == 0) {
            cfg.cert_file = v;
        } else if (strcmp(a, "--key") == 0) {
            cfg.key_file = v;
        } else if (strcmp(a, "--limit") == 0) {
            if (!parse_u64(v, &cfg.limit)) {
                goto usage;
            }
        } else {
            goto usage;
        }
        i++;
    }
    if (!cfg.plain && (cfg.ca_file == NULL || cfg.cert_file == NULL ||
                       cfg.key_file == NULL)) {
        fprintf(stderr, "gl-acq: TLS needs --ca, --cert and --key "
                        "(or --plain)\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    gl_log_open("gl-acq", 0);
    if (acq_emu_start(&e, &cfg, err) != GL_OK) {
        fprintf(stderr, "gl-acq: %s\n", err);
        return 1;
    }
    printf("gl-acq ready port %d\n", acq_emu_port(e));
    fflush(stdout);
    while (fgets(line, sizeof line, stdin) != NULL) {
        line[strcspn(line, "\r\n")] = '\0';
        if (strcmp(line, "quit") == 0) {
            acq_emu_free(e);
            return 0;
        }
        if (line[0] == '\0' || line[0] == '#') {
            continue;
        }
        (void)acq_emu_command(e, line, out, sizeof out);
        printf("%s\n", out);
        fflush(stdout);
    }
    /* End of input (started in the background): serve until a signal. */
    (void)sigwait(&set, &sig);
    acq_emu_free(e);
    return 0;
usage:
    fprintf(stderr, "usage: gl-acq [--host H] [--port P] "
                    "[--plain | --ca F --cert F --key F] [--limit KRW]\n");
    return 2;
}

#ifdef ACQ_EMU_MAIN
int main(int argc, char **argv)
{
    return acq_emu_main(argc, argv);
}
#endif
