/*
 * smsc_emu.c - the SMSC emulator and the program gl-smsc; see smsc_emu.h.
 *
 *   gl-smsc [--port N] [--system-id ID] [--password PW]
 *
 * prints "smsc ready port N" and reads control lines from stdin (replies on
 * stdout) until "quit" or end of input.
 *
 * The emulator is test code: it allocates its message store once at start
 * and otherwise works in fixed buffers, but favours plainness over speed.
 */
#include "smsc_emu.h"

#include <errno.h>
#include <fcntl.h>
#include <iconv.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* libsmpp34's headers depend on each other in this order */
/* clang-format off */
#include <libsmpp34/smpp34.h>
#include <libsmpp34/smpp34_structs.h>
#include <libsmpp34/smpp34_params.h>
/* clang-format on */

#include "gl_err.h"

#define EMU_CONNS 8
#define EMU_MSGS 512
#define EMU_TEXT 2048
#define EMU_PDU 4096
#define EMU_CONCAT 8
#define EMU_PARTS 16

struct emu_conn {
    int fd; /* -1: free */
    int bound;
    uint32_t seq;
    int64_t last_rx_ms, last_enquire_ms;
    size_t rlen;
    uint8_t rbuf[EMU_PDU];
};

struct emu_msg {
    char to[24];
    char text[EMU_TEXT];
};

/* Parts of a concatenated message waiting for the rest. */
struct emu_concat {
    int used;
    char to[24];
    uint8_t ref, total;
    uint32_t have;
    uint8_t coding;
    uint8_t data[EMU_PARTS][256];
    size_t len[EMU_PARTS];
};

struct emu {
    struct smsc_emu_config cfg;
    int lfd, ctl_in, ctl_out, quit;
    struct emu_conn conn[EMU_CONNS];
    /* scripted faults */
    int refuse, throttle, reject, drop, silent, receipts, enquire_ms, idle_ms;
    char stat[16];
    /* what it saw */
    struct emu_msg *msgs; /* EMU_MSGS, allocated at start */
    int nmsgs;
    struct emu_concat concat[EMU_CONCAT];
    unsigned next_id;
    unsigned binds, refused, submits, enquire_rx, enquire_resp_rx, sessions;
    iconv_t ucs2_to_utf8;
    struct ctl_emu_lines ctl_lines;
};

static int64_t emu_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
           p[3];
}

static void write_all(int fd, const void *buf, size_t n)
{
    const char *p = buf;
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w <= 0) {
            return;
        }
        p += w;
        n -= (size_t)w;
    }
}

static void conn_close(struct emu_conn *c)
{
    if (c->fd >= 0) {
        close(c->fd);
    }
    c->fd = -1;
    c->bound = 0;
    c->rlen = 0;
}

static void send_pdu(struct emu_conn *c, uint32_t type, void *t)
{
    uint8_t buf[EMU_PDU];
    int len = 0;
    if (smpp34_pack(type, buf, (int)sizeof buf, &len, t) != 0) {
        fprintf(stderr, "smsc-emu: cannot encode 0x%08x: %s\n", (unsigned)type,
                smpp34_strerror);
        return;
    }
    /* the peer is on loopback: a blocking write of one PDU is fine */
    write_all(c->fd, buf, (size_t)len);
}

/* A PDU without a body, or a response carrying only an error status.  The
 * struct must be the command's own: libsmpp34 reads the body fields of
 * the type it is told. */
static void send_header(struct emu_conn *c, uint32_t cmd, uint32_t status,
                        uint32_t seq)
{
    union {
        enquire_link_t h;
        submit_sm_resp_t submit;
        bind_transceiver_resp_t bind;
    } u;
    memset(&u, 0, sizeof u);
    u.h.command_id = cmd;
    u.h.command_status = status;
    u.h.sequence_number = seq;
    send_pdu(c, cmd, &u);
}

static uint32_t conn_seq(struct emu_conn *c)
{
    c->seq = c->seq >= 0x7fffffffu ? 1 : c->seq + 1;
    return c->seq;
}

/* ---- messages ------------------------------------------------------------ */

static void record(struct emu *e, const char *to, uint8_t coding,
                   const uint8_t *data, size_t n)
{
    if (e->nmsgs >= EMU_MSGS) {
        fprintf(stderr, "smsc-emu: message store full, message dropped\n");
        return;
    }
    struct emu_msg *m = &e->msgs[e->nmsgs++];
    snprintf(m->to, sizeof m->to, "%s", to);
    if (coding == 0x08) {
        char *in = (char *)data, *out = m->text;
        size_t inleft = n, outleft = sizeof m->text - 1;
        iconv(e->ucs2_to_utf8, NULL, NULL, NULL, NULL);
        if (iconv(e->ucs2_to_utf8, &in, &inleft, &out, &outleft) ==
            (size_t)-1) {
            snprintf(m->text, sizeof m->text, "<bad UCS-2>");
            return;
        }
        *out = '\0';
    } else {
        size_t k = n < sizeof m->text - 1 ? n : sizeof m->text - 1;
        memcpy(m->text, data, k);
        m->text[k] = '\0';
    }
}

/* A part of a concatenated message; records the whole once complete. */
static void concat_add(struct emu *e, const char *to, uint8_t coding,
                       uint8_t ref, uint8_t total, uint8_t part,
                       const uint8_t *data, size_t n)
{
    struct emu_concat *slot = NULL, *free_slot = NULL;
    if (total == 0 || part == 0 || part > total || total > EMU_PARTS) {
        fprintf(stderr, "smsc-emu: bad concatenation header %u/%u\n", part,
                total);
        return;
    }
    for (int i = 0; i < EMU_CONCAT; i++) {
        struct emu_concat *s = &e->concat[i];
        if (s->used && s->ref == ref && s->total == total &&
            strcmp(s->to, to) == 0) {
            slot = s;
        } else if (!s->used && free_slot == NULL) {
            free_slot = s;
        }
    }
    if (slot == NULL) {
        if (free_slot == NULL) {
            fprintf(stderr, "smsc-emu: too many unfinished messages\n");
            return;
        }
        slot = free_slot;
        memset(slot, 0, sizeof *slot);
        slot->used = 1;
        snprintf(slot->to, sizeof slot->to, "%s", to);
        slot->ref = ref;
        slot->total = total;
        slot->coding = coding;
    }
    memcpy(slot->data[part - 1], data, n);
    slot->len[part - 1] = n;
    slot->have |= 1u << (part - 1);
    if (slot->have == (1u << total) - 1) {
        uint8_t whole[EMU_PARTS * 256];
        size_t len = 0;
        for (int p = 0; p < total; p++) {
            memcpy(whole + len, slot->data[p], slot->len[p]);
            len += slot->len[p];
        }
        record(e, slot->to, slot->coding, whole, len);
        slot->used = 0;
    }
}

static void send_receipt(struct emu *e, struct emu_conn *c,
                         const submit_sm_t *sm, const char *id)
{
    deliver_sm_t d;
    tlv_t rid, state;
    char text[200], date[16];
    time_t now = time(NULL);
    struct tm tm;

    gmtime_r(&now, &tm);
    strftime(date, sizeof date, "%y%m%d%H%M", &tm);
    memset(&d, 0, sizeof d);
    d.command_id = DELIVER_SM;
    d.sequence_number = conn_seq(c);
    d.source_addr_ton = sm->dest_addr_ton;
    d.source_addr_npi = sm->dest_addr_npi;
    snprintf((char *)d.source_addr, sizeof d.source_addr, "%s",
             (const char *)sm->destination_addr);
    d.dest_addr_ton = sm->source_addr_ton;
    d.dest_addr_npi = sm->source_addr_npi;
    snprintf((char *)d.destination_addr, sizeof d.destination_addr, "%s",
             (const char *)sm->source_addr);
    d.esm_class = SMPP34_DELIVERY_RECEIPT;
    int n = snprintf(text, sizeof text,
                     "id:%s sub:001 dlvrd:%s submit date:%s done date:%s "
                     "stat:%s err:%s text:",
                     id, strcmp(e->stat, "DELIVRD") == 0 ? "001" : "000", date,
                     date, e->stat,
                     strcmp(e->stat, "DELIVRD") == 0 ? "000" : "001");
    memcpy(d.short_message, text, (size_t)n);
    d.sm_length = (uint8_t)n;

    memset(&rid, 0, sizeof rid);
    rid.tag = TLVID_receipted_message_id;
    rid.length = (uint16_t)(strlen(id) + 1);
    memcpy(rid.value.octet, id, rid.length);
    memset(&state, 0, sizeof state);
    state.tag = TLVID_message_state;
    state.length = 1;
    state.value.val08 = strcmp(e->stat, "DELIVRD") == 0 ? 2 : 5;
    rid.next = &state;
    d.tlv = &rid;
    send_pdu(c, DELIVER_SM, &d);
}

/* ---- PDUs from a client -------------------------------------------------- */

static void on_bind(struct emu *e, struct emu_conn *c, uint32_t cmd,
                    const uint8_t *pdu, int len)
{
    bind_transceiver_t b; /* same layout for the three binds */
    bind_transceiver_resp_t r;
    uint32_t status = ESME_ROK;

    memset(&b, 0, sizeof b);
    if (smpp34_unpack(cmd, &b, pdu, len) != 0) {
        send_header(c, GENERIC_NACK, ESME_RINVCMDLEN, get32(pdu + 12));
        return;
    }
    if (c->bound) {
        status = ESME_RALYBND;
    } else if (e->refuse) {
        status = ESME_RBINDFAIL;
    } else if (e->cfg.system_id != NULL &&
               strcmp((const char *)b.system_id, e->cfg.system_id) != 0) {
        status = ESME_RINVSYSID;
    } else if (e->cfg.password != NULL &&
               strcmp((const char *)b.password, e->cfg.password) != 0) {
        status = ESME_RINVPASWD;
    }
    if (status == ESME_ROK) {
        c->bound = 1;
        e->binds++;
    } else {
        e->refused++;
    }
    if (e->silent) {
        return;
    }
    memset(&r, 0, sizeof r);
    r.command_id = cmd | 0x80000000u;
    r.command_status = status;
    r.sequence_number = b.sequence_number;
    if (status == ESME_ROK) {
        snprintf((char *)r.system_id, sizeof r.system_id, "glsmsc");
        send_pdu(c, r.command_id, &r);
    } else {
        send_header(c, r.command_id, status, r.sequence_number);
    }
}

static void on_submit(struct emu *e, struct emu_conn *c, const uint8_t *pdu,
                      int len)
{
    submit_sm_t sm;
    submit_sm_resp_t r;
    char id[16];

    memset(&sm, 0, sizeof sm);
    if (smpp34_unpack(SUBMIT_SM, &sm, pdu, len) != 0) {
        destroy_tlv(sm.tlv);
        fprintf(stderr, "smsc-emu: undecodable submit_sm: %s\n",
                smpp34_strerror);
        send_header(c, SUBMIT_SM_RESP, ESME_RINVMSGLEN, get32(pdu + 12));
        return;
    }
    destroy_tlv(sm.tlv);
    if (!c->bound) {
        send_header(c, SUBMIT_SM_RESP, ESME_RINVBNDSTS, sm.sequence_number);
        return;
    }
    e->submits++;
    if (e->drop) {
        e->drop = 0;
        conn_close(c);
        return;
    }
    if (e->throttle > 0) {
        e->throttle--;
        send_header(c, SUBMIT_SM_RESP, ESME_RTHROTTLED, sm.sequence_number);
        return;
    }
    if (e->reject > 0) {
        e->reject--;
        send_header(c, SUBMIT_SM_RESP, ESME_RINVDSTADR, sm.sequence_number);
        return;
    }
    const uint8_t *data = sm.short_message;
    size_t n = sm.sm_length;
    if (sm.esm_class & SMPP34_UDHI_IND) {
        size_t udhl = n > 0 ? (size_t)data[0] + 1 : 0;
        uint8_t ref = 0, total = 0, part = 0;
        if (udhl > n) {
            send_header(c, SUBMIT_SM_RESP, ESME_RINVMSGLEN, sm.sequence_number);
            return;
        }
        for (size_t i = 1; i + 1 < udhl;) {
            uint8_t iei = data[i], iel = data[i + 1];
            if (i + 2 + iel > udhl) {
                break;
            }
            if (iei == 0x00 && iel == 3) {
                ref = data[i + 2];
                total = data[i + 3];
                part = data[i + 4];
            } else if (iei == 0x08 && iel == 4) {
                ref = data[i + 3];
                total = data[i + 4];
                part = data[i + 5];
            }
            i += 2 + (size_t)iel;
        }
        concat_add(e, (const char *)sm.destination_addr, sm.data_coding, ref,
                   total, part, data + udhl, n - udhl);
    } else {
        record(e, (const char *)sm.destination_addr, sm.data_coding, data, n);
    }
    if (e->silent) {
        return;
    }
    snprintf(id, sizeof id, "%08X", ++e->next_id);
    memset(&r, 0, sizeof r);
    r.command_id = SUBMIT_SM_RESP;
    r.sequence_number = sm.sequence_number;
    snprintf((char *)r.message_id, sizeof r.message_id, "%s", id);
    send_pdu(c, SUBMIT_SM_RESP, &r);
    if (e->receipts && sm.registered_delivery & 0x03) {
        send_receipt(e, c, &sm, id);
    }
}

static void on_pdu(struct emu *e, struct emu_conn *c, const uint8_t *pdu,
                   int len)
{
    uint32_t cmd = get32(pdu + 4), seq = get32(pdu + 12);
    switch (cmd) {
    case BIND_TRANSCEIVER:
    case BIND_TRANSMITTER:
    case BIND_RECEIVER:
        on_bind(e, c, cmd, pdu, len);
        break;
    case SUBMIT_SM:
        on_submit(e, c, pdu, len);
        break;
    case ENQUIRE_LINK:
        e->enquire_rx++;
        if (!e->silent) {
            send_header(c, ENQUIRE_LINK_RESP, ESME_ROK, seq);
        }
        break;
    case ENQUIRE_LINK_RESP:
        e->enquire_resp_rx++;
        break;
    case UNBIND:
        send_header(c, UNBIND_RESP, ESME_ROK, seq);
        conn_close(c);
        break;
    case DELIVER_SM_RESP:
    case UNBIND_RESP:
    case GENERIC_NACK:
        break;
    default:
        send_header(c, GENERIC_NACK, ESME_RINVCMDID, seq);
        break;
    }
}

static void conn_read(struct emu *e, struct emu_conn *c)
{
    ssize_t r = read(c->fd, c->rbuf + c->rlen, sizeof c->rbuf - 1 - c->rlen);
    if (r <= 0) {
        conn_close(c);
        return;
    }
    c->rlen += (size_t)r;
    c->last_rx_ms = emu_now_ms();
    while (c->fd >= 0 && c->rlen >= 4) {
        uint8_t pdu[EMU_PDU + 1];
        uint32_t len = get32(c->rbuf);
        if (len < 16 || len > sizeof c->rbuf - 1) {
            fprintf(stderr, "smsc-emu: bad PDU length %u, closing\n",
                    (unsigned)len);
            conn_close(c);
            return;
        }
        if (c->rlen < len) {
            break;
        }
        memcpy(pdu, c->rbuf, len);
        pdu[len] = 0; /* libsmpp34 reads C-octet strings with strlen */
        memmove(c->rbuf, c->rbuf + len, c->rlen - len);
        c->rlen -= len;
        on_pdu(e, c, pdu, (int)len);
    }
}

/* ---- control ---------------------------------------------------------------
 */

static void list_to(struct emu *e, FILE *f)
{
    for (int i = 0; i < e->nmsgs; i++) {
        fprintf(f, "%s\t", e->msgs[i].to);
        ctl_emu_put_escaped(f, e->msgs[i].text);
        fputc('\n', f);
    }
}

static void command(struct emu *e, char *line)
{
    char *reply = NULL;
    size_t rlen = 0;
    FILE *f = open_memstream(&reply, &rlen);
    char arg[512] = "";
    const char *err = NULL;

    if (f == NULL) {
        return;
    }
    line[strcspn(line, "\r\n")] = '\0';
    const char *sp = strchr(line, ' ');
    if (sp != NULL) {
        snprintf(arg, sizeof arg, "%s", sp + 1);
    }
    size_t cl = sp != NULL ? (size_t)(sp - line) : strlen(line);
#define IS(word) (cl == strlen(word) && strncmp(line, word, cl) == 0)
    if (cl == 0) {
        err = "empty command";
    } else if (IS("refuse")) {
        e->refuse = 1;
    } else if (IS("accept")) {
        e->refuse = 0;
    } else if (IS("throttle")) {
        e->throttle = atoi(arg);
    } else if (IS("reject")) {
        e->reject = atoi(arg);
    } else if (IS("drop")) {
        e->drop = 1;
    } else if (IS("silent")) {
        e->silent = 1;
    } else if (IS("normal")) {
        e->refuse = e->throttle = e->reject = e->drop = e->silent = 0;
    } else if (IS("receipts")) {
        if (strcmp(arg, "on") == 0 || strcmp(arg, "off") == 0) {
            e->receipts = strcmp(arg, "on") == 0;
        } else {
            err = "receipts takes on or off";
        }
    } else if (IS("stat")) {
        if (arg[0] == '\0' || strlen(arg) >= sizeof e->stat) {
            err = "stat takes a word such as DELIVRD or UNDELIV";
        } else {
            memcpy(e->stat, arg, strlen(arg) + 1); /* length checked */
        }
    } else if (IS("enquire")) {
        e->enquire_ms = atoi(arg);
    } else if (IS("idle")) {
        e->idle_ms = atoi(arg);
    } else if (IS("close")) {
        for (int i = 0; i < EMU_CONNS; i++) {
            conn_close(&e->conn[i]);
        }
    } else if (IS("list")) {
        list_to(e, f);
    } else if (IS("save")) {
        FILE *out = arg[0] != '\0' ? fopen(arg, "w") : NULL;
        if (out == NULL) {
            err = "cannot open the file";
        } else {
            list_to(e, out);
            if (fclose(out) != 0) {
                err = "cannot write the file";
            }
        }
    } else if (IS("count")) {
        fprintf(f, "%d\n", e->nmsgs);
    } else if (IS("stats")) {
        int open = 0;
        for (int i = 0; i < EMU_CONNS; i++) {
            open += e->conn[i].fd >= 0 && e->conn[i].bound;
        }
        fprintf(f,
                "binds=%u refused=%u submits=%u enquire_rx=%u "
                "enquire_resp_rx=%u sessions=%u open=%d\n",
                e->binds, e->refused, e->submits, e->enquire_rx,
                e->enquire_resp_rx, e->sessions, open);
    } else if (IS("clear")) {
        e->nmsgs = 0;
    } else if (IS("quit")) {
        e->quit = 1;
    } else {
        err = "unknown command";
    }
#undef IS
    if (err != NULL) {
        fprintf(f, "error %s: %s\n", err, line);
    } else {
        fputs("ok\n", f);
    }
    fclose(f);
    write_all(e->ctl_out, reply, rlen);
    free(reply);
}

static int ctl_line(void *arg, char *line)
{
    command(arg, line);
    return 0;
}

static void ctl_read(struct emu *e)
{
    if (ctl_emu_lines_read(&e->ctl_lines, e->ctl_in, ctl_line, e) < 0) {
        e->quit = 1;
    }
}

/* ---- the loop -------------------------------------------------------------
 */

static void timers(struct emu *e)
{
    int64_t now = emu_now_ms();
    for (int i = 0; i < EMU_CONNS; i++) {
        struct emu_conn *c = &e->conn[i];
        if (c->fd < 0) {
            continue;
        }
        if (e->idle_ms > 0 && now - c->last_rx_ms > e->idle_ms) {
            fprintf(stderr, "smsc-emu: session idle for %d ms, closing\n",
                    e->idle_ms);
            conn_close(c);
            continue;
        }
        if (e->enquire_ms > 0 && c->bound && !e->silent &&
            now - c->last_enquire_ms >= e->enquire_ms) {
            c->last_enquire_ms = now;
            send_header(c, ENQUIRE_LINK, ESME_ROK, conn_seq(c));
        }
    }
}

int smsc_emu_serve(int listen_fd, int ctl_in, int ctl_out,
                   const struct smsc_emu_config *cfg)
{
    struct emu *e = calloc(1, sizeof *e);
    if (e == NULL) {
        return 1;
    }
    e->msgs = calloc(EMU_MSGS, sizeof *e->msgs);
    e->ucs2_to_utf8 = iconv_open("UTF-8", "UCS-2BE");
    if (e->msgs == NULL || e->ucs2_to_utf8 == (iconv_t)-1) {
        fprintf(stderr, "smsc-emu: cannot start: %s\n", strerror(errno));
        free(e->msgs);
        free(e);
        return 1;
    }
    if (cfg != NULL) {
        e->cfg = *cfg;
    }
    signal(SIGPIPE, SIG_IGN); /* a client that went away is not fatal */
    e->lfd = listen_fd;
    e->ctl_in = ctl_in;
    e->ctl_out = ctl_out;
    e->receipts = 1;
    snprintf(e->stat, sizeof e->stat, "DELIVRD");
    for (int i = 0; i < EMU_CONNS; i++) {
        e->conn[i].fd = -1;
    }
    while (!e->quit) {
        struct pollfd pfd[EMU_CONNS + 2];
        int map[EMU_CONNS + 2], n = 0;
        pfd[n] = (struct pollfd){.fd = e->lfd, .events = POLLIN};
        map[n++] = -1;
        pfd[n] = (struct pollfd){.fd = e->ctl_in, .events = POLLIN};
        map[n++] = -2;
        for (int i = 0; i < EMU_CONNS; i++) {
            if (e->conn[i].fd >= 0) {
                pfd[n] = (struct pollfd){.fd = e->conn[i].fd, .events = POLLIN};
                map[n++] = i;
            }
        }
        int pr = poll(pfd, (nfds_t)n, 20);
        if (pr < 0 && errno != EINTR) {
            break;
        }
        for (int k = 0; pr > 0 && k < n; k++) {
            if (pfd[k].revents == 0) {
                continue;
            }
            if (map[k] == -1) {
                int fd = accept4(e->lfd, NULL, NULL, SOCK_CLOEXEC);
                int slot = -1;
                for (int i = 0; fd >= 0 && i < EMU_CONNS; i++) {
                    if (e->conn[i].fd < 0) {
                        slot = i;
                        break;
                    }
                }
                if (fd >= 0 && slot < 0) {
                    close(fd);
                } else if (fd >= 0) {
                    struct emu_conn *c = &e->conn[slot];
                    memset(c, 0, sizeof *c);
                    c->fd = fd;
                    c->last_rx_ms = c->last_enquire_ms = emu_now_ms();
                    e->sessions++;
                }
            } else if (map[k] == -2) {
                ctl_read(e);
            } else if (e->conn[map[k]].fd == pfd[k].fd) {
                conn_read(e, &e->conn[map[k]]);
            }
        }
        timers(e);
    }
    for (int i = 0; i < EMU_CONNS; i++) {
        conn_close(&e->conn[i]);
    }
    iconv_close(e->ucs2_to_utf8);
    free(e->msgs);
    free(e);
    return 0;
}

/* ---- the handle of a forked emulator ------------------------------------- */

static int serve_forked(int listen_fd, int ctl, void *cfg)
{
    return smsc_emu_serve(listen_fd, ctl, ctl, cfg);
}

int smsc_emu_start(struct smsc_emu *e, const struct smsc_emu_config *cfg)
{
    return ctl_emu_start(&e->run, "smsc-emu", serve_forked, (void *)cfg,
                         &e->port);
}

int smsc_emu_cmd(struct smsc_emu *e, const char *cmd, char *reply, size_t cap)
{
    return ctl_emu_cmd(&e->run, cmd, reply, cap);
}

int smsc_emu_count(struct smsc_emu *e)
{
    return ctl_emu_count(&e->run);
}

void smsc_emu_stop(struct smsc_emu *e)
{
    ctl_emu_stop(&e->run);
}

/* ---- gl-smsc ------------------------------------------------------------- */

/* Compiled only into gl-smsc's object (tests/emulators/module.mk), so a
 * test linking this file keeps its own main. */
#ifdef SMSC_EMU_MAIN
int main(int argc, char **argv)
{
    struct smsc_emu_config cfg = {0};
    uint16_t port = 0, bound = 0;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--port") == 0 && i + 1 < argc) {
            port = (uint16_t)atoi(argv[++i]);
        } else if (strcmp(argv[i], "--system-id") == 0 && i + 1 < argc) {
            cfg.system_id = argv[++i];
        } else if (strcmp(argv[i], "--password") == 0 && i + 1 < argc) {
            cfg.password = argv[++i];
        } else {
            fprintf(stderr, "usage: gl-smsc [--port N] [--system-id ID] "
                            "[--password PW]\n");
            return 2;
        }
    }
    int lfd = ctl_emu_main_listen("gl-smsc", port, &bound);
    if (lfd < 0) {
        return 1;
    }
    printf("smsc ready port %u\n", (unsigned)bound);
    fflush(stdout);
    return smsc_emu_serve(lfd, 0, 1, &cfg);
}
#endif /* SMSC_EMU_MAIN */
