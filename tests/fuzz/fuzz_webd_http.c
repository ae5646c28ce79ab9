/*
 * fuzz_webd_http.c - libFuzzer harness for gl-webd's whole request path
 * (docs/customer-api.md): bytes from the internet through the real
 * libmicrohttpd parser, the routes, the JSON bodies, the handlers, the
 * shop, gift and online modules and the ledger.
 *
 * Set-up, once (LLVMFuzzerInitialize): a configuration and a database in a
 * fresh directory of /dev/shm (or $TMPDIR), gl-webd opened the way
 * webd_main.c does it (no SMSC, no acquirer: card purchases answer 503, the
 * outbox only fills), a merchant M1, two products (BOOK, PART with partial
 * use) and two members provisioned through the registry, an API key for M1
 * (online_key_add), a session token for each member (the code read back
 * from the outbox), and the HTTP daemon on 127.0.0.1, port 0.  Then, every
 * REFRESH inputs and at the start, fresh state for the placeholders below
 * is made over HTTP: a phone-bill purchase of BOOK and one of PART, a gift
 * of a voucher with its claim token, and a hold by M1.
 *
 * Input: byte 0 selects what the harness adds after the request line
 * (bits 0-1: nothing, "Authorization: Bearer <member 1>", "... <member 2>",
 * "Authorization: Merchant <key>"; bit 2: "Content-Type:
 * application/json"; bit 3: a fresh "Idempotency-Key"); the rest is the
 * raw HTTP request, in which "@V0".."@V4" become voucher numbers, "@P0",
 * "@P1" purchase ids, "@T0" the claim token and "@A0" the hold's auth_id.
 * The bytes go to the daemon over one TCP connection whose write side is
 * then shut; the answer is read until its Content-Length is complete or
 * the daemon closes.  libmicrohttpd does not take a shut write side for a
 * close while a request is incomplete: it waits conn_timeout for the rest
 * and keeps the connection that long even after the client's reset.  So
 * an input that gets no byte within QUIET_MS is ended with a reset, a
 * request of the harness's own (GET /v1/info) must then be answered (the
 * daemon's one thread is not stuck), and conn_timeout is 2 s here, so that
 * such connections do not fill max_conns.
 *
 * What must hold: the daemon answers with "HTTP/1.x NNN ", closes, or
 * stays silent on an incomplete request and still answers the next one;
 * an answer begun is finished, all within HANG_MS (else the harness
 * aborts: a hang); the
 * ledger is balanced (ledger_check clean, on a connection of its own)
 * every CHECK_EVERY inputs; nothing crashes (ASan, UBSan, in the daemon's
 * thread too).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "gl_err.h"
#include "gl_log.h"
#include "ledger.h"
#include "online.h"
#include "registry.h"
#include "store.h"
#include "webd.h"

#define ME "01012345678"
#define OTHER "01087654321"
#define HANG_MS 5000
#define QUIET_MS 10
#define CHECK_EVERY 64
#define REFRESH 256
#define REQ_MAX 16384
#define ANS_MAX 65536
#define NVOUCHERS 5

static void check(int cond, const char *what)
{
    if (!cond) {
        fprintf(stderr, "fuzz_webd_http: %s\n", what);
        abort();
    }
}

/* Everything the harness keeps between inputs (one process, one daemon). */
static struct {
    char dir[128];
    struct webd_config cfg;
    struct webd w;
    struct webd_http *http;
    uint16_t port;
    char tok_me[WEBD_TOKEN_HEX + 1], tok_other[WEBD_TOKEN_HEX + 1];
    char mkey[ONLINE_KEY_LEN + 1];
    char voucher[NVOUCHERS][32];
    char purchase[2][24];
    char claim[80];
    char auth[80];
    unsigned long inputs, keys, quiet;
    struct store st; /* the ledger check's own connection */
    struct ledger lg;
} g;

/* ---- the client side --------------------------------------------------- */

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* 1 when ans[0..n) holds a whole final answer: its header block and as
 * many body octets as its Content-Length says (interim 1xx answers are
 * skipped).  libmicrohttpd keeps an HTTP/1.1 connection open after an
 * answer even when the client has shut its write side, so the answer's
 * end is not always a close. */
static int answer_complete(const char *ans, size_t n)
{
    const char *p = ans, *end = ans + n;
    for (;;) {
        const char *h = strstr(p, "\r\n\r\n");
        if (h == NULL) {
            return 0;
        }
        h += 4;
        if (end - p > 9 && p[9] == '1') { /* "HTTP/1.1 100 Continue" */
            p = h;
            continue;
        }
        const char *cl = strcasestr(p, "\r\nContent-Length:");
        if (cl == NULL || cl > h) {
            return 0; /* ends with the close */
        }
        unsigned long len = strtoul(cl + 17, NULL, 10);
        return (size_t)(end - h) >= len;
    }
}

/* The last inputs as sent, printed when the daemon hangs: the input that
 * wedged it may be one before the one that noticed. */
#define RECENT 8
static struct {
    char req[RECENT][512];
    size_t n[RECENT];
    unsigned long at[RECENT];
} recent;

static void remember(const char *req, size_t n)
{
    unsigned i = (unsigned)(g.inputs % RECENT);
    recent.n[i] = n < sizeof recent.req[i] ? n : sizeof recent.req[i];
    memcpy(recent.req[i], req, recent.n[i]);
    recent.at[i] = g.inputs;
}

static void dump_recent(void)
{
    for (unsigned k = 1; k <= RECENT; k++) {
        unsigned i = (unsigned)((g.inputs + k) % RECENT);
        fprintf(stderr, "fuzz_webd_http: input %lu:", recent.at[i]);
        for (size_t j = 0; j < recent.n[i]; j++) {
            unsigned char c = (unsigned char)recent.req[i][j];
            fprintf(stderr, c >= 32 && c < 127 && c != '\\' ? "%c" : "\\x%02x",
                    c);
        }
        fputc('\n', stderr);
    }
}

/* 1 when ans[0..n) is nothing but interim answers ("100 Continue"): the
 * daemon still waits for the request's body. */
static int only_interim(const char *ans, size_t n)
{
    const char *p = ans, *end = ans + n;
    while (p < end) {
        const char *h = strstr(p, "\r\n\r\n");
        if (h == NULL || end - p <= 9 || p[9] != '1') {
            return 0;
        }
        p = h + 4;
    }
    return 1;
}

/* Sends req[0..n) on a new connection, shuts the write side and reads the
 * answer into ans (NUL-terminated) until the daemon closes.  Returns the
 * answer's length; aborts when the daemon neither answers nor closes
 * within HANG_MS. */
static size_t http_do(const char *req, size_t n, char *ans, size_t cap,
                      int may_be_quiet)
{
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons(g.port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int fd = -1;
    for (int tries = 0; tries < 100; tries++) {
        fd = socket(AF_INET, SOCK_STREAM, 0);
        check(fd >= 0, "socket");
        if (connect(fd, (struct sockaddr *)&a, sizeof a) == 0) {
            break;
        }
        close(fd); /* the daemon's connection limit, or ports in TIME_WAIT */
        fd = -1;
        usleep(10000);
    }
    check(fd >= 0, "cannot connect to the daemon");
    int64_t deadline = now_ms() + HANG_MS;
    size_t off = 0, got = 0;
    int wr_open = 1;
    while (off < n) {
        struct pollfd p = {.fd = fd, .events = POLLOUT};
        int left = (int)(deadline - now_ms());
        check(left > 0 && poll(&p, 1, left) > 0, "hang while sending");
        ssize_t w = send(fd, req + off, n - off, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w < 0 && (errno == EAGAIN || errno == EINTR)) {
            continue;
        }
        if (w <= 0) { /* the daemon closed early (413, 400): read why */
            wr_open = 0;
            break;
        }
        off += (size_t)w;
    }
    if (wr_open) {
        shutdown(fd, SHUT_WR);
    }
    int64_t quiet = now_ms() + QUIET_MS;
    for (;;) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int waiting = got == 0 || only_interim(ans, got);
        int left =
            (int)((may_be_quiet && waiting ? quiet : deadline) - now_ms());
        if (left <= 0 || poll(&p, 1, left) <= 0) {
            /* an incomplete request: the daemon waits for the rest (it
             * does not take the shut write side for a close) */
            if (!may_be_quiet || !waiting) {
                dump_recent();
                ans[got] = '\0';
                fprintf(stderr, "fuzz_webd_http: %zu octets in: %.300s\n", got,
                        ans);
                check(0, "hang: no whole answer within HANG_MS");
            }
            struct linger l = {.l_onoff = 1, .l_linger = 0};
            setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
            g.quiet++;
            break;
        }
        ssize_t r = recv(fd, ans + got, cap - 1 - got, 0);
        if (r <= 0 || got + (size_t)r == cap - 1) {
            got += r > 0 ? (size_t)r : 0;
            break;
        }
        got += (size_t)r;
        ans[got] = '\0';
        if (answer_complete(ans, got)) {
            break;
        }
    }
    close(fd);
    ans[got] = '\0';
    return got;
}

/* The body of an answer (after the blank line), or "". */
static const char *body_of(const char *ans)
{
    const char *b = strstr(ans, "\r\n\r\n");
    return b != NULL ? b + 4 : "";
}

/* One request made by the harness itself (set-up, refresh).  Returns the
 * parsed JSON body (caller frees) or NULL. */
static json_t *call(const char *method, const char *path, const char *auth,
                    const char *json)
{
    static char req[REQ_MAX], ans[ANS_MAX];
    int n = snprintf(req, sizeof req,
                     "%s %s HTTP/1.1\r\nHost: fuzz\r\n"
                     "Authorization: %s\r\n"
                     "Idempotency-Key: setup-%lu\r\n"
                     "Content-Type: application/json\r\n"
                     "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
                     method, path, auth, ++g.keys, strlen(json), json);
    check(n > 0 && (size_t)n < sizeof req, "set-up request too long");
    http_do(req, (size_t)n, ans, sizeof ans, 0);
    return json_loads(body_of(ans), 0, NULL);
}

static void copy_str(char *dst, size_t cap, json_t *v)
{
    if (json_is_string(v)) {
        snprintf(dst, cap, "%s", json_string_value(v));
    } else if (json_is_integer(v)) {
        snprintf(dst, cap, "%lld", (long long)json_integer_value(v));
    }
}

/* Fresh vouchers, purchases, a gift and a hold for the placeholders.  A
 * refusal (the month's phone-bill limit...) keeps the old values. */
static void refresh(void)
{
    char bearer[16 + WEBD_TOKEN_HEX], merchant[16 + ONLINE_KEY_LEN];
    snprintf(bearer, sizeof bearer, "Bearer %s", g.tok_me);
    snprintf(merchant, sizeof merchant, "Merchant %s", g.mkey);
    json_t *r = call("POST", "/v1/purchases", bearer,
                     "{\"product\": \"BOOK\", \"face\": 10000, \"count\": 3, "
                     "\"payment\": {\"method\": \"phone_bill\"}}");
    json_t *v = json_object_get(r, "vouchers");
    for (size_t i = 0; i < 3 && i < json_array_size(v); i++) {
        copy_str(g.voucher[i], sizeof g.voucher[i], json_array_get(v, i));
    }
    copy_str(g.purchase[0], sizeof g.purchase[0],
             json_object_get(r, "purchase_id"));
    json_decref(r);
    r = call("POST", "/v1/purchases", bearer,
             "{\"product\": \"PART\", \"face\": 50000, \"count\": 2, "
             "\"payment\": {\"method\": \"phone_bill\"}}");
    v = json_object_get(r, "vouchers");
    for (size_t i = 0; i < 2 && i < json_array_size(v); i++) {
        copy_str(g.voucher[3 + i], sizeof g.voucher[3 + i],
                 json_array_get(v, i));
    }
    copy_str(g.purchase[1], sizeof g.purchase[1],
             json_object_get(r, "purchase_id"));
    json_decref(r);

    char body[256];
    snprintf(body, sizeof body,
             "{\"recipient\": \"%s\", \"message\": \"hi\", \"items\": "
             "[{\"number\": \"%s\", \"amount\": 4000}], \"addons\": []}",
             OTHER, g.voucher[4]);
    r = call("POST", "/v1/gifts", bearer, body);
    const char *link = json_string_value(json_object_get(r, "link"));
    const char *slash = link != NULL ? strrchr(link, '/') : NULL;
    if (slash != NULL) {
        snprintf(g.claim, sizeof g.claim, "%s", slash + 1);
    }
    json_decref(r);
    snprintf(body, sizeof body, "{\"voucher\": \"%s\", \"amount\": 3000}",
             g.voucher[3]);
    r = call("POST", "/v1/online/authorize", merchant, body);
    copy_str(g.auth, sizeof g.auth, json_object_get(r, "auth_id"));
    json_decref(r);
}

/* ---- set-up -------------------------------------------------------------- */

static void write_file(const char *path, const void *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    check(f != NULL && fwrite(p, 1, n, f) == n && fclose(f) == 0, path);
}

/* The 6-digit code of the phone's last code SMS, read from the outbox. */
static void read_code(const char *phone, char code[7])
{
    sqlite3_stmt *s = NULL;
    check(sqlite3_prepare_v2((sqlite3 *)g.w.st.db,
                             "SELECT text FROM outbox WHERE phone = ?1 "
                             "ORDER BY id DESC LIMIT 1",
                             -1, &s, NULL) == SQLITE_OK,
          "outbox query");
    sqlite3_bind_text(s, 1, phone, -1, SQLITE_STATIC);
    check(sqlite3_step(s) == SQLITE_ROW, "no code SMS in the outbox");
    const char *t = (const char *)sqlite3_column_text(s, 0);
    size_t run = 0;
    for (const char *p = t; *p != '\0'; p++) {
        run = (*p >= '0' && *p <= '9') ? run + 1 : 0;
        if (run == 6) {
            memcpy(code, p - 5, 6);
            code[6] = '\0';
            break;
        }
    }
    sqlite3_finalize(s);
    check(run == 6, "no code in the SMS");
}

static void sign_in(const char *phone, char token[WEBD_TOKEN_HEX + 1])
{
    struct webd_code_result res;
    char code[7];
    check(webd_code_issue(&g.w, phone, "127.0.0.1", &res) == GL_OK && res.sent,
          "code issue");
    read_code(phone, code);
    check(webd_session_create(&g.w, phone, code, token) == GL_OK,
          "session create");
}

/* The port of the daemon's listening socket (webd_http_start only logs
 * it): the one listening TCP socket of the process on 127.0.0.1. */
static uint16_t find_port(void)
{
    for (int fd = 3; fd < 1024; fd++) {
        int on = 0;
        socklen_t len = sizeof on;
        struct sockaddr_in a;
        socklen_t alen = sizeof a;
        if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &on, &len) == 0 && on &&
            getsockname(fd, (struct sockaddr *)&a, &alen) == 0 &&
            a.sin_family == AF_INET) {
            return ntohs(a.sin_port);
        }
    }
    return 0;
}

/* A product of group g1 with faces face and, if not 0, face2. */
static void product_add(const char *id, const char *brand, const char *type,
                        const char *prefix, int partial, int64_t face,
                        int64_t face2)
{
    struct registry_product p;
    memset(&p, 0, sizeof p);
    snprintf(p.id, sizeof p.id, "%s", id);
    snprintf(p.issuer, sizeof p.issuer, "%s", id);
    snprintf(p.brand, sizeof p.brand, "%s", brand);
    p.type = registry_type_parse(type);
    snprintf(p.prefix, sizeof p.prefix, "%s", prefix);
    p.validity_days = 365;
    p.partial_ok = partial;
    p.faces[p.nfaces++] = face;
    if (face2 != 0) {
        p.faces[p.nfaces++] = face2;
    }
    snprintf(p.groups[0], sizeof p.groups[0], "g1");
    p.ngroups = 1;
    check(registry_product_add(&g.w.reg, &p) == GL_OK, id);
}

static void provision(void)
{
    static const char *const groups[] = {"g1"};
    int64_t id;
    check(registry_merchant_add(&g.w.reg, "M1", "Store One", groups, 1) ==
              GL_OK,
          "merchant");
    product_add("BOOK", "Kyobo Books", "books", "627402", 0, 5000, 10000);
    product_add("PART", "Lotte Dept", "department", "627401", 1, 50000, 0);
    check(registry_member_add(&g.w.reg, ME, &id) == GL_OK, "member 1");
    check(registry_member_add(&g.w.reg, OTHER, &id) == GL_OK, "member 2");
    check(online_key_add(&g.w.online, "M1", g.mkey) == GL_OK, "merchant key");
}

/* At exit (libFuzzer's -runs or -max_total_time): the daemon stopped, the
 * handles closed, the directory removed.  A crash leaves it for a look. */
static void teardown(void)
{
    char cmd[160];
    fprintf(stderr,
            "fuzz_webd_http: %lu inputs, %lu of them without an answer "
            "(incomplete requests)\n",
            g.inputs, g.quiet);
    webd_http_stop(g.http);
    g.http = NULL;
    ledger_deinit(&g.lg);
    store_close(&g.st);
    webd_close(&g.w);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g.dir);
    if (system(cmd) != 0) {
        fprintf(stderr, "fuzz_webd_http: could not remove %s\n", g.dir);
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    char path[256], ini[2048], err[GL_CFG_ERR_MAX > 256 ? GL_CFG_ERR_MAX : 256];
    const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";

    signal(SIGPIPE, SIG_IGN);
    gl_log_set_level(GL_LOG_ERROR);
    snprintf(g.dir, sizeof g.dir, "%s/gl-fuzz-webd-XXXXXX", base);
    check(mkdtemp(g.dir) != NULL, "mkdtemp");
    snprintf(path, sizeof path, "%s/otp.key", g.dir);
    write_file(path, "0123456789abcdef0123456789abcdef", 32);
    snprintf(path, sizeof path, "%s/content", g.dir);
    check(mkdir(path, 0700) == 0, "content dir");
    int n = snprintf(ini, sizeof ini,
                     "[listen]\naddress = 127.0.0.1\nport = 0\n"
                     "max_body = 4096\nconn_timeout = 2\n"
                     "[db]\npath = %s/gl.db\n"
                     "[keys]\notp_key_file = %s/otp.key\n"
                     "[session]\nttl = 86400\n"
                     "[limits]\ncodes_per_phone = 1000\n"
                     "codes_per_ip = 100000\n"
                     "[billing]\nmonthly_limit = 100000000\n"
                     "[gift]\nclaim_base = https://gl.test/g/\n"
                     "content_dir = %s/content\n"
                     "[log]\nlevel = error\n",
                     g.dir, g.dir, g.dir);
    snprintf(path, sizeof path, "%s/webd.ini", g.dir);
    write_file(path, ini, (size_t)n);

    check(webd_config_load(&g.cfg, path, err) == GL_OK, err);
    check(webd_open(&g.w, &g.cfg, err) == GL_OK, err);
    provision();
    sign_in(ME, g.tok_me);
    sign_in(OTHER, g.tok_other);
    check(webd_http_start(&g.w, &g.http, err) == GL_OK, err);
    g.port = find_port();
    check(g.port != 0, "the daemon's port");
    atexit(teardown);

    snprintf(path, sizeof path, "%s/gl.db", g.dir);
    check(store_open(&g.st, NULL, NULL, path) == GL_OK, "check store");
    check(ledger_init(&g.lg, &g.st, NULL) == GL_OK, "check ledger");
    refresh();
    check(g.voucher[0][0] != '\0' && g.claim[0] != '\0' && g.auth[0] != '\0',
          "set-up purchases, gift and hold");
    return 0;
}

/* ---- one input ------------------------------------------------------------
 */

static void ledger_balanced(void)
{
    struct ledger_report rep;
    memset(&rep, 0, sizeof rep);
    check(ledger_check(&g.lg, ledger_now(&g.lg), &rep) == GL_OK,
          "ledger_check ran");
    int clean = rep.n == 0;
    ledger_report_free(&rep);
    check(clean, "the ledger is not balanced");
}

/* What "@V3", "@P0"... stand for; NULL for anything else. */
static const char *placeholder(char kind, char digit)
{
    unsigned i = (unsigned)(digit - '0');
    switch (kind) {
    case 'V':
        return i < NVOUCHERS ? g.voucher[i] : NULL;
    case 'P':
        return i < 2 ? g.purchase[i] : NULL;
    case 'T':
        return i == 0 ? g.claim : NULL;
    case 'A':
        return i == 0 ? g.auth : NULL;
    default:
        return NULL;
    }
}

static size_t put(char *req, size_t n, const char *s, size_t len)
{
    if (n + len > REQ_MAX) {
        len = REQ_MAX - n;
    }
    memcpy(req + n, s, len);
    return n + len;
}

/* The lines byte 0 asks for, after the request line. */
static size_t add_headers(char *req, size_t n, unsigned sel)
{
    char hdr[256];
    int h = 0;
    switch (sel & 3) {
    case 1:
        h = snprintf(hdr, sizeof hdr, "Authorization: Bearer %s\r\n", g.tok_me);
        break;
    case 2:
        h = snprintf(hdr, sizeof hdr, "Authorization: Bearer %s\r\n",
                     g.tok_other);
        break;
    case 3:
        h = snprintf(hdr, sizeof hdr, "Authorization: Merchant %s\r\n", g.mkey);
        break;
    }
    n = put(req, n, hdr, (size_t)h);
    if (sel & 4) {
        n = put(req, n, "Content-Type: application/json\r\n", 32);
    }
    if (sel & 8) {
        h = snprintf(hdr, sizeof hdr, "Idempotency-Key: fz-%lu\r\n", ++g.keys);
        n = put(req, n, hdr, (size_t)h);
    }
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char req[REQ_MAX], ans[ANS_MAX];
    if (size < 1 || size > 8192) {
        return 0;
    }
    if (++g.inputs % REFRESH == 0) {
        refresh();
    }
    unsigned sel = data[0];
    const char *raw = (const char *)data + 1;
    size_t rn = size - 1, n = 0;
    const char *eol = memchr(raw, '\n', rn);
    size_t first = eol != NULL ? (size_t)(eol - raw) + 1 : 0;

    for (size_t i = 0; i <= rn; i++) {
        if (eol != NULL && i == first) {
            n = add_headers(req, n, sel);
        }
        const char *s = NULL;
        if (i == rn) {
            break;
        }
        if (raw[i] == '@' && i + 2 < rn &&
            (s = placeholder(raw[i + 1], raw[i + 2])) != NULL) {
            n = put(req, n, s, strlen(s));
            i += 2;
        } else {
            n = put(req, n, raw + i, 1);
        }
    }

    remember(req, n);
    size_t got = http_do(req, n, ans, sizeof ans, 1);
    if (got > 0 && !only_interim(ans, got)) {
        check(got >= 13 && memcmp(ans, "HTTP/1.", 7) == 0 && ans[8] == ' ' &&
                  ans[9] >= '1' && ans[9] <= '5' && ans[12] == ' ',
              "the answer is no HTTP status line");
    } else {
        /* no word: an incomplete request, or a daemon that is stuck; a
         * request of the harness's own must still be answered */
        static const char probe[] =
            "GET /v1/info HTTP/1.1\r\nHost: fuzz\r\n\r\n";
        got = http_do(probe, sizeof probe - 1, ans, sizeof ans, 0);
        check(got > 12 && memcmp(ans, "HTTP/1.1 200 ", 13) == 0,
              "the daemon does not answer after an input");
    }
    if (g.inputs % CHECK_EVERY == 0) {
        ledger_balanced();
    }
    return 0;
}
