/*
 * mmsc_emu.c - the MMSC emulator and the program gl-mmsc; see mmsc_emu.h.
 *
 *   gl-mmsc [--port N]
 *
 * prints "mmsc ready port N" and reads control lines from stdin (replies on
 * stdout) until "quit" or end of input.
 *
 * The HTTP side runs on libmicrohttpd's threads (one per connection, so a
 * "delay" holds only its own request); the control channel runs on the
 * main thread; one mutex guards the state they share.  Test code: plain
 * rather than fast, and it allocates as it goes.
 */
#include "mmsc_emu.h"

#include <errno.h>
#include <mbedtls/base64.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "gl_err.h"

#define EMU_MSGS 256
#define EMU_PARTS 8
#define EMU_BODY_MAX (4 * 1024 * 1024)

struct emu_part {
    char type[64];
    char loc[128];
    unsigned char *data;
    size_t len;
};

struct emu_msg {
    char to[32];
    char subject[256];
    char *text; /* malloc'd, NUL-terminated */
    int nparts;
    struct emu_part parts[EMU_PARTS];
};

struct emu {
    pthread_mutex_t mu;
    int ctl_in, ctl_out, quit;
    /* scripted faults */
    int refuse, refuse_code, throttle, tempfail, drop, delay_ms;
    /* what it saw */
    struct emu_msg msgs[EMU_MSGS];
    int nmsgs;
    unsigned long seq;
    int posts, answered, refused, throttled, dropped, invalid;
};

/* One request being read (libmicrohttpd's per-connection pointer). */
struct req {
    char *body;
    size_t len, cap;
    int too_big;
};

/* ---- MIME -------------------------------------------------------------- */

struct part {
    const char *hdr;
    size_t hlen;
    const char *body;
    size_t blen;
};

/* The value of header name in a block of header lines, into out. */
static int hdr_get(const char *h, size_t n, const char *name, char *out,
                   size_t cap)
{
    size_t nl = strlen(name);
    const char *end = h + n;
    while (h < end) {
        const char *eol = memmem(h, (size_t)(end - h), "\r\n", 2);
        if (eol == NULL) {
            eol = end;
        }
        if ((size_t)(eol - h) > nl && strncasecmp(h, name, nl) == 0 &&
            h[nl] == ':') {
            const char *v = h + nl + 1;
            while (v < eol && (*v == ' ' || *v == '\t')) {
                v++;
            }
            snprintf(out, cap, "%.*s", (int)(eol - v), v);
            return 1;
        }
        h = eol + 2;
    }
    out[0] = '\0';
    return 0;
}

/* A parameter (boundary="x") of a header value, quotes removed. */
static int param_get(const char *v, const char *name, char *out, size_t cap)
{
    size_t nl = strlen(name);
    for (const char *p = strchr(v, ';'); p != NULL; p = strchr(p + 1, ';')) {
        const char *q = p + 1;
        while (*q == ' ' || *q == '\t') {
            q++;
        }
        if (strncasecmp(q, name, nl) != 0 || q[nl] != '=') {
            continue;
        }
        q += nl + 1;
        size_t n;
        if (*q == '"') {
            q++;
            const char *e = strchr(q, '"');
            n = e != NULL ? (size_t)(e - q) : strlen(q);
        } else {
            n = strcspn(q, "; \t");
        }
        snprintf(out, cap, "%.*s", (int)n, q);
        return 1;
    }
    out[0] = '\0';
    return 0;
}

/* Splits a multipart body on boundary.  The number of parts, or -1. */
static int mime_split(const char *b, size_t n, const char *boundary,
                      struct part *out, int max)
{
    char delim[128];
    int dn = snprintf(delim, sizeof delim, "\r\n--%s", boundary);
    const char *end = b + n, *p;
    int np = 0;

    if (dn <= 0 || (size_t)dn >= sizeof delim) {
        return -1;
    }
    /* the first delimiter may open the body, without the CRLF */
    if ((size_t)dn - 2 <= n && memcmp(b, delim + 2, (size_t)dn - 2) == 0) {
        p = b + dn - 2;
    } else {
        p = memmem(b, n, delim, (size_t)dn);
        if (p == NULL) {
            return -1;
        }
        p += dn;
    }
    for (;;) {
        if (end - p >= 2 && p[0] == '-' && p[1] == '-') {
            return np; /* the closing delimiter */
        }
        const char *s = memmem(p, (size_t)(end - p), "\r\n", 2);
        if (s == NULL || np == max) {
            return -1;
        }
        s += 2;
        const char *q = memmem(s, (size_t)(end - s), delim, (size_t)dn);
        if (q == NULL) {
            return -1;
        }
        const char *hend = memmem(s, (size_t)(q - s), "\r\n\r\n", 4);
        if (hend == NULL) {
            return -1;
        }
        out[np].hdr = s;
        out[np].hlen = (size_t)(hend - s) + 2;
        out[np].body = hend + 4;
        out[np].blen = (size_t)(q - (hend + 4));
        np++;
        p = q + dn;
    }
}

/* The character data of the first element tag (any prefix), entities
 * &amp; &lt; &gt; &quot; &apos; decoded. */
static int xml_text(const char *xml, size_t n, const char *tag, char *out,
                    size_t cap)
{
    char open[64];
    snprintf(open, sizeof open, "%s>", tag);
    const char *end = xml + n;
    for (const char *p = xml; p < end;) {
        const char *hit = memmem(p, (size_t)(end - p), open, strlen(open));
        if (hit == NULL) {
            return 0;
        }
        if (hit > xml && (hit[-1] == '<' || hit[-1] == ':')) {
            const char *lt = hit - 1;
            while (lt > xml && *lt != '<') {
                lt--;
            }
            if (lt[1] != '/') {
                const char *s = hit + strlen(open);
                const char *e = memchr(s, '<', (size_t)(end - s));
                size_t o = 0;
                if (e == NULL) {
                    return 0;
                }
                while (s < e && o + 1 < cap) {
                    static const char *const ent[][2] = {
                        {"&amp;", "&"},   {"&lt;", "<"},   {"&gt;", ">"},
                        {"&quot;", "\""}, {"&apos;", "'"},
                    };
                    int done = 0;
                    for (size_t i = 0; i < 5 && !done; i++) {
                        size_t el = strlen(ent[i][0]);
                        if ((size_t)(e - s) >= el &&
                            memcmp(s, ent[i][0], el) == 0) {
                            out[o++] = ent[i][1][0];
                            s += el;
                            done = 1;
                        }
                    }
                    if (!done) {
                        out[o++] = *s++;
                    }
                }
                out[o] = '\0';
                return 1;
            }
        }
        p = hit + 1;
    }
    return 0;
}

static int b64_decode(const char *s, size_t n, unsigned char **out,
                      size_t *olen)
{
    char *clean = malloc(n + 1);
    size_t c = 0, need = 0;
    if (clean == NULL) {
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        if (s[i] != '\r' && s[i] != '\n' && s[i] != ' ' && s[i] != '\t') {
            clean[c++] = s[i];
        }
    }
    *out = malloc(c + 1);
    if (*out == NULL ||
        mbedtls_base64_decode(*out, c + 1, &need, (unsigned char *)clean,
                              c) != 0) {
        free(clean);
        free(*out);
        *out = NULL;
        return -1;
    }
    free(clean);
    *olen = need;
    return 0;
}

static void msg_free(struct emu_msg *m)
{
    free(m->text);
    for (int i = 0; i < m->nparts; i++) {
        free(m->parts[i].data);
    }
    memset(m, 0, sizeof *m);
}

/*
 * Checks and decodes one SubmitReq into m.  NULL on success, else why it
 * is not valid (the Fault's text).
 */
static const char *parse_submit(struct MHD_Connection *conn, const char *body,
                                size_t len, struct emu_msg *m)
{
    const char *ct = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                 "Content-Type");
    char boundary[128], inner[128], v[256], cid[128], href[128];
    struct part outer[4], parts[EMU_PARTS + 1];

    memset(m, 0, sizeof *m);
    if (MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "SOAPAction") ==
        NULL) {
        return "no SOAPAction header";
    }
    if (ct == NULL || strncasecmp(ct, "multipart/related", 17) != 0 ||
        !param_get(ct, "boundary", boundary, sizeof boundary)) {
        return "Content-Type is not multipart/related with a boundary";
    }
    int no = mime_split(body, len, boundary, outer, 4);
    if (no != 2) {
        return "the body is not a SOAP part and one content part";
    }
    hdr_get(outer[0].hdr, outer[0].hlen, "Content-Type", v, sizeof v);
    if (strncasecmp(v, "text/xml", 8) != 0) {
        return "the first part is not text/xml";
    }
    const char *soap = outer[0].body;
    size_t sn = outer[0].blen;
    if (memmem(soap, sn, "Envelope", 8) == NULL ||
        memmem(soap, sn, "SubmitReq", 9) == NULL) {
        return "no SOAP Envelope with a SubmitReq";
    }
    if (!xml_text(soap, sn, "MM7Version", v, sizeof v) || v[0] == '\0') {
        return "no MM7Version";
    }
    if (!xml_text(soap, sn, "Number", m->to, sizeof m->to) ||
        m->to[0] == '\0') {
        return "no Recipients/To/Number";
    }
    xml_text(soap, sn, "Subject", m->subject, sizeof m->subject);
    const char *h = memmem(soap, sn, "href=\"cid:", 10);
    if (h == NULL) {
        return "no Content href";
    }
    h += 10;
    snprintf(href, sizeof href, "%.*s", (int)strcspn(h, "\""), h);
    hdr_get(outer[1].hdr, outer[1].hlen, "Content-ID", v, sizeof v);
    snprintf(cid, sizeof cid, "%.*s", (int)strcspn(v + (v[0] == '<'), ">"),
             v + (v[0] == '<'));
    if (strcmp(cid, href) != 0) {
        return "Content href does not name the content part";
    }
    hdr_get(outer[1].hdr, outer[1].hlen, "Content-Type", v, sizeof v);
    if (strncasecmp(v, "multipart/", 10) != 0 ||
        !param_get(v, "boundary", inner, sizeof inner)) {
        return "the content is not a multipart";
    }
    int np = mime_split(outer[1].body, outer[1].blen, inner, parts,
                        EMU_PARTS + 1);
    if (np <= 0 || np > EMU_PARTS) {
        return "the content's parts do not parse";
    }
    for (int i = 0; i < np; i++) {
        struct emu_part *p = &m->parts[m->nparts];
        char cte[64];
        hdr_get(parts[i].hdr, parts[i].hlen, "Content-Type", v, sizeof v);
        snprintf(p->type, sizeof p->type, "%.*s", (int)strcspn(v, ";"), v);
        hdr_get(parts[i].hdr, parts[i].hlen, "Content-Location", p->loc,
                sizeof p->loc);
        if (p->loc[0] == '\0' || strchr(p->loc, '/') != NULL) {
            snprintf(p->loc, sizeof p->loc, "part%d", i + 1);
        }
        hdr_get(parts[i].hdr, parts[i].hlen, "Content-Transfer-Encoding", cte,
                sizeof cte);
        if (strcasecmp(cte, "base64") == 0) {
            if (b64_decode(parts[i].body, parts[i].blen, &p->data, &p->len) !=
                0) {
                msg_free(m);
                return "a base64 part does not decode";
            }
        } else {
            p->data = malloc(parts[i].blen + 1);
            if (p->data == NULL) {
                msg_free(m);
                return "out of memory";
            }
            memcpy(p->data, parts[i].body, parts[i].blen);
            p->data[parts[i].blen] = '\0';
            p->len = parts[i].blen;
        }
        m->nparts++;
        if (m->text == NULL && strcasecmp(p->type, "text/plain") == 0) {
            m->text = strndup((const char *)p->data, p->len);
        }
    }
    if (m->text == NULL) {
        msg_free(m);
        return "no text/plain part";
    }
    return NULL;
}

/* ---- HTTP -------------------------------------------------------------- */

static enum MHD_Result answer(struct MHD_Connection *conn, unsigned status,
                              const char *xml, int retry_after)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(
        strlen(xml), (void *)xml, MHD_RESPMEM_MUST_COPY);
    if (r == NULL) {
        return MHD_NO;
    }
    MHD_add_response_header(r, "Content-Type", "text/xml; charset=\"utf-8\"");
    if (retry_after) {
        MHD_add_response_header(r, "Retry-After", "1");
    }
    enum MHD_Result ret = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return ret;
}

#define SOAP_OPEN                                                              \
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"                               \
    "<env:Envelope xmlns:env=\"http://schemas.xmlsoap.org/soap/envelope/\">"   \
    "<env:Header><mm7:TransactionID xmlns:mm7=\"http://www.3gpp.org/ftp/"      \
    "Specs/archive/23_series/23.140/schema/REL-6-MM7-1-4\""                    \
    " env:mustUnderstand=\"1\">giftlink</mm7:TransactionID></env:Header>"      \
    "<env:Body>"

static enum MHD_Result fault(struct MHD_Connection *conn, unsigned status,
                             int code, const char *text)
{
    char xml[1024];
    snprintf(xml, sizeof xml,
             SOAP_OPEN "<env:Fault><faultcode>env:%s</faultcode>"
                       "<faultstring>%s</faultstring><detail>"
                       "<mm7:RSErrorRsp xmlns:mm7=\"http://www.3gpp.org/ftp/"
                       "Specs/archive/23_series/23.140/schema/REL-6-MM7-1-4\">"
                       "<MM7Version>6.8.0</MM7Version><Status>"
                       "<StatusCode>%d</StatusCode><StatusText>%s</StatusText>"
                       "</Status></mm7:RSErrorRsp></detail></env:Fault>"
                       "</env:Body></env:Envelope>",
             code >= 3000 && code < 4000 ? "Server" : "Client", text, code,
             text);
    return answer(conn, status, xml, status == 503);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn,
                                  const char *url, const char *method,
                                  const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls)
{
    struct emu *e = cls;
    struct req *r = *con_cls;
    (void)url;
    (void)version;

    if (r == NULL) {
        r = calloc(1, sizeof *r);
        if (r == NULL) {
            return MHD_NO;
        }
        *con_cls = r;
        return MHD_YES;
    }
    if (*upload_size > 0) {
        if (r->len + *upload_size > EMU_BODY_MAX) {
            r->too_big = 1;
        } else {
            if (r->len + *upload_size + 1 > r->cap) {
                size_t cap = (r->len + *upload_size + 1) * 2;
                char *p = realloc(r->body, cap);
                if (p == NULL) {
                    return MHD_NO;
                }
                r->body = p;
                r->cap = cap;
            }
            memcpy(r->body + r->len, upload, *upload_size);
            r->len += *upload_size;
            r->body[r->len] = '\0';
        }
        *upload_size = 0;
        return MHD_YES;
    }
    if (strcmp(method, "POST") != 0) {
        return fault(conn, 405, 4003, "only POST");
    }

    pthread_mutex_lock(&e->mu);
    e->posts++;
    if (e->drop > 0) {
        e->drop--;
        e->dropped++;
        pthread_mutex_unlock(&e->mu);
        return MHD_NO; /* closes the connection without an answer */
    }
    if (e->throttle > 0) {
        e->throttle--;
        e->throttled++;
        pthread_mutex_unlock(&e->mu);
        return fault(conn, 503, 4006, "Service Unavailable");
    }
    if (e->refuse > 0) {
        int code = e->refuse_code;
        e->refuse--;
        e->refused++;
        pthread_mutex_unlock(&e->mu);
        return fault(conn, 500, code, "Validation error");
    }
    if (e->tempfail > 0) {
        e->tempfail--;
        e->refused++;
        pthread_mutex_unlock(&e->mu);
        return fault(conn, 500, 3000, "Server Error");
    }
    pthread_mutex_unlock(&e->mu);

    struct emu_msg m;
    const char *why = r->too_big
                          ? "message too big"
                          : parse_submit(conn, r->body != NULL ? r->body : "",
                                         r->len, &m);
    if (why != NULL) {
        pthread_mutex_lock(&e->mu);
        e->invalid++;
        pthread_mutex_unlock(&e->mu);
        return fault(conn, 500, 4004, why);
    }
    char id[64];
    pthread_mutex_lock(&e->mu);
    if (e->nmsgs == EMU_MSGS) {
        pthread_mutex_unlock(&e->mu);
        msg_free(&m);
        return fault(conn, 500, 3001, "Not Possible: store full");
    }
    e->msgs[e->nmsgs++] = m;
    snprintf(id, sizeof id, "MMSC%06lu", ++e->seq);
    int delay = e->delay_ms;
    e->answered++;
    pthread_mutex_unlock(&e->mu);
    if (delay > 0) {
        usleep((useconds_t)delay * 1000);
    }
    char xml[1024];
    snprintf(xml, sizeof xml,
             SOAP_OPEN "<mm7:SubmitRsp xmlns:mm7=\"http://www.3gpp.org/ftp/"
                       "Specs/archive/23_series/23.140/schema/REL-6-MM7-1-4\">"
                       "<MM7Version>6.8.0</MM7Version><Status>"
                       "<StatusCode>1000</StatusCode>"
                       "<StatusText>Success</StatusText></Status>"
                       "<MessageID>%s</MessageID></mm7:SubmitRsp>"
                       "</env:Body></env:Envelope>",
             id);
    return answer(conn, 200, xml, 0);
}

static void on_completed(void *cls, struct MHD_Connection *conn,
                         void **con_cls, enum MHD_RequestTerminationCode toe)
{
    struct req *r = *con_cls;
    (void)cls;
    (void)conn;
    (void)toe;
    if (r != NULL) {
        free(r->body);
        free(r);
        *con_cls = NULL;
    }
}

/* ---- control ----------------------------------------------------------- */

static void list_to(struct emu *e, FILE *f)
{
    for (int i = 0; i < e->nmsgs; i++) {
        struct emu_msg *m = &e->msgs[i];
        fprintf(f, "%s\t", m->to);
        ctl_emu_put_escaped(f, m->subject);
        fputc('\t', f);
        ctl_emu_put_escaped(f, m->text);
        fputc('\t', f);
        for (int p = 0; p < m->nparts; p++) {
            fprintf(f, "%s%s:%s:%zu", p ? "," : "", m->parts[p].type,
                    m->parts[p].loc, m->parts[p].len);
        }
        fputc('\n', f);
    }
}

static int write_file(const char *path, const void *d, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (f == NULL) {
        return -1;
    }
    int ok = fwrite(d, 1, n, f) == n;
    return fclose(f) == 0 && ok ? 0 : -1;
}

static int save_to(struct emu *e, const char *dir)
{
    char path[512];
    for (int i = 0; i < e->nmsgs; i++) {
        struct emu_msg *m = &e->msgs[i];
        snprintf(path, sizeof path, "%s/%d_text.txt", dir, i + 1);
        if (write_file(path, m->text, strlen(m->text)) != 0) {
            return -1;
        }
        for (int p = 0; p < m->nparts; p++) {
            snprintf(path, sizeof path, "%s/%d_%s", dir, i + 1,
                     m->parts[p].loc);
            if (write_file(path, m->parts[p].data, m->parts[p].len) != 0) {
                return -1;
            }
        }
    }
    return 0;
}

/* One control line; returns 1 after "quit" (the lines after it are not
 * read). */
static int command(void *ctx, char *line)
{
    struct emu *e = ctx;
    FILE *out = fdopen(dup(e->ctl_out), "w");
    char word[32] = "", arg[400] = "";
    int n = 0, code = 0;

    if (out == NULL) {
        return 0;
    }
    sscanf(line, "%31s %399[^\n]", word, arg);
    n = atoi(arg);
    pthread_mutex_lock(&e->mu);
    if (strcmp(word, "refuse") == 0) {
        e->refuse = n;
        e->refuse_code =
            sscanf(arg, "%d %d", &n, &code) == 2 ? code : 4004;
        fputs("ok\n", out);
    } else if (strcmp(word, "throttle") == 0) {
        e->throttle = n;
        fputs("ok\n", out);
    } else if (strcmp(word, "tempfail") == 0) {
        e->tempfail = n;
        fputs("ok\n", out);
    } else if (strcmp(word, "drop") == 0) {
        e->drop = arg[0] ? n : 1;
        fputs("ok\n", out);
    } else if (strcmp(word, "delay") == 0) {
        e->delay_ms = n;
        fputs("ok\n", out);
    } else if (strcmp(word, "normal") == 0) {
        e->refuse = e->throttle = e->tempfail = e->drop = e->delay_ms = 0;
        fputs("ok\n", out);
    } else if (strcmp(word, "list") == 0) {
        list_to(e, out);
        fputs("ok\n", out);
    } else if (strcmp(word, "save") == 0) {
        if (arg[0] == '\0' || save_to(e, arg) != 0) {
            fprintf(out, "error cannot save into %s: %s\n", arg,
                    strerror(errno));
        } else {
            fputs("ok\n", out);
        }
    } else if (strcmp(word, "count") == 0) {
        fprintf(out, "%d\nok\n", e->nmsgs);
    } else if (strcmp(word, "stats") == 0) {
        fprintf(out,
                "posts=%d answered=%d refused=%d throttled=%d dropped=%d "
                "invalid=%d\nok\n",
                e->posts, e->answered, e->refused, e->throttled, e->dropped,
                e->invalid);
    } else if (strcmp(word, "clear") == 0) {
        for (int i = 0; i < e->nmsgs; i++) {
            msg_free(&e->msgs[i]);
        }
        e->nmsgs = 0;
        fputs("ok\n", out);
    } else if (strcmp(word, "quit") == 0) {
        e->quit = 1;
        fputs("ok\n", out);
    } else {
        fprintf(out, "error unknown command %s\n", word);
    }
    int quit = e->quit;
    pthread_mutex_unlock(&e->mu);
    fclose(out);
    return quit;
}

int mmsc_emu_serve(int listen_fd, int ctl_in, int ctl_out)
{
    static struct emu e; /* big; one per process */
    struct ctl_emu_lines lines = {0};

    memset(&e, 0, sizeof e);
    pthread_mutex_init(&e.mu, NULL);
    e.ctl_in = ctl_in;
    e.ctl_out = ctl_out;
    e.refuse_code = 4004;
    struct MHD_Daemon *d = MHD_start_daemon(
        MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD, 0,
        NULL, NULL, on_request, &e, MHD_OPTION_LISTEN_SOCKET, listen_fd,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, &e,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30, MHD_OPTION_END);
    if (d == NULL) {
        fprintf(stderr, "mmsc-emu: libmicrohttpd would not start\n");
        close(listen_fd);
        return 1;
    }
    while (ctl_emu_lines_read(&lines, ctl_in, command, &e) == 0) {
        /* each round reads once and runs the whole lines it completed */
    }
    MHD_stop_daemon(d);
    close(listen_fd);
    for (int i = 0; i < e.nmsgs; i++) {
        msg_free(&e.msgs[i]);
    }
    pthread_mutex_destroy(&e.mu);
    return 0;
}

/* ---- the test side ----------------------------------------------------- */

static int serve_forked(int listen_fd, int ctl, void *arg)
{
    (void)arg;
    return mmsc_emu_serve(listen_fd, ctl, ctl);
}

int mmsc_emu_start(struct mmsc_emu *e)
{
    int rc = ctl_emu_start(&e->run, "mmsc-emu", serve_forked, NULL, &e->port);
    if (rc == GL_OK) {
        snprintf(e->url, sizeof e->url, "http://127.0.0.1:%u/mm7",
                 (unsigned)e->port);
    }
    return rc;
}

int mmsc_emu_cmd(struct mmsc_emu *e, const char *cmd, char *reply, size_t cap)
{
    return ctl_emu_cmd(&e->run, cmd, reply, cap);
}

int mmsc_emu_count(struct mmsc_emu *e)
{
    return ctl_emu_count(&e->run);
}

void mmsc_emu_stop(struct mmsc_emu *e)
{
    ctl_emu_stop(&e->run);
}

/* ---- gl-mmsc ----------------------------------------------------------- */

/* Compiled only into gl-mmsc's object (tests/emulators/module.mk), so a test
 * linking this file keeps its own main. */
#ifdef MMSC_EMU_MAIN
int main(int argc, char **argv)
{
    uint16_t port = 0, bound = 0;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--port") == 0 && i + 1 < argc) {
            port = (uint16_t)atoi(argv[++i]);
        } else {
            fprintf(stderr, "usage: gl-mmsc [--port N]\n");
            return 2;
        }
    }
    int lfd = ctl_emu_main_listen("gl-mmsc", port, &bound);
    if (lfd < 0) {
        return 1;
    }
    printf("mmsc ready port %u url http://127.0.0.1:%u/mm7\n", (unsigned)bound,
           (unsigned)bound);
    fflush(stdout);
    return mmsc_emu_serve(lfd, 0, 1);
}
#endif /* MMSC_EMU_MAIN */
