/*
 * test_net.c - hal/net: real TLS 1.2 handshakes on loopback.
 *
 * Client and server run in this one process, both non-blocking, driven by
 * one poll loop as an event loop would drive them.  Certificates are made
 * for the test through the glctl_pki C API: a deployment CA with the host
 * and good, expired and not-yet-valid terminals, and a second CA with a
 * terminal of its own.  Every refusal is asserted with its own error code
 * on the side that detects it.  The old client offering at most TLS 1.1 is
 * plain mbedTLS configured here (Debian's 2.28 build has
 * MBEDTLS_SSL_PROTO_TLS1_1), because hal/net cannot be made to speak 1.1.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/net_sockets.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>

#include "../gl_test.h"
#include "gl_err.h"
#include "glctl_pki.h"
#include "net.h"

#define HOST_CN "gl-host"

static char dir_a[256]; /* deployment CA */
static char dir_b[256]; /* another CA */
static char port[16];
static struct net_listener *lst;
static struct net_ctx *srv;

static void path_of(char *out, size_t n, const char *dir, const char *file)
{
    snprintf(out, n, "%s/%s", dir, file);
}

static int issue(enum glctl_pki_kind kind, const char *dir, const char *cn,
                 const char *nb, const char *na)
{
    struct glctl_pki_req r = {
        .kind = kind, .dir = dir, .cn = cn, .not_before = nb, .not_after = na};
    char err[GLCTL_PKI_ERR_MAX];
    int rc = glctl_pki_issue(&r, err);
    if (rc != GL_OK) {
        printf("  issue %s: %s\n", cn ? cn : "CA", err);
    }
    return rc;
}

/* A client context of the deployment with terminal id's certificate (NULL:
 * none), checking the host against ca_dir/ca.crt and server_cn. */
static struct net_ctx *client_ctx(const char *cert_dir, const char *id,
                                  const char *ca_dir, const char *server_cn)
{
    char ca[300], crt[300], key[300], name[64], err[NET_ERR_MAX];
    struct net_tls_config cfg = {0};
    struct net_ctx *c = NULL;

    path_of(ca, sizeof ca, ca_dir, "ca.crt");
    cfg.ca_file = ca;
    if (id != NULL) {
        snprintf(name, sizeof name, "term-%s.crt", id);
        path_of(crt, sizeof crt, cert_dir, name);
        snprintf(name, sizeof name, "term-%s.key", id);
        path_of(key, sizeof key, cert_dir, name);
        cfg.cert_file = crt;
        cfg.key_file = key;
    }
    cfg.server_cn = server_cn;
    if (net_ctx_new(&c, NET_ROLE_CLIENT, &cfg, err, sizeof err) != GL_OK) {
        printf("  client ctx: %s\n", err);
    }
    return c;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One end of a handshake under test. */
struct side {
    struct net_conn *c;
    int done;
    int rc;
    int resumed;
    char cn[NET_CN_MAX];
    char err[NET_ERR_MAX];
    unsigned char sid[NET_SESSION_ID_MAX];
    size_t sid_len;
};

static void side_step(struct side *s)
{
    int rc;
    if (s->done || s->c == NULL) {
        return;
    }
    rc = net_conn_handshake(s->c);
    if (rc == GL_EAGAIN) {
        return;
    }
    s->done = 1;
    s->rc = rc;
    snprintf(s->err, sizeof s->err, "%s", net_conn_errstr(s->c));
    if (rc == GL_OK) {
        snprintf(s->cn, sizeof s->cn, "%s", net_conn_peer_cn(s->c));
        s->resumed = net_conn_resumed(s->c);
        s->sid_len = net_conn_session_id(s->c, s->sid);
    } else {
        /* A failed side hangs up, as a real peer would. */
        net_conn_close(s->c);
        s->c = NULL;
    }
}

static short poll_events(const struct net_conn *c)
{
    int w = net_conn_want(c);
    return (short)(((w & NET_WANT_READ) ? POLLIN : 0) |
                   ((w & NET_WANT_WRITE) ? POLLOUT : 0));
}

/* Runs one client (cli) against the test's server until both ends have
 * finished their handshakes.  Open connections stay in sv->c and cl->c. */
static void pair_handshake(struct net_ctx *cli, struct side *sv,
                           struct side *cl)
{
    double deadline = now_s() + 10.0;
    int rc;

    memset(sv, 0, sizeof *sv);
    memset(cl, 0, sizeof *cl);
    rc = net_connect(cli, "127.0.0.1", port, &cl->c);
    if (rc != GL_OK) {
        cl->done = 1;
        cl->rc = rc;
    }
    while (!(sv->done && cl->done) && now_s() < deadline) {
        struct pollfd p[2];
        if (sv->c == NULL && !sv->done) {
            rc = net_accept(lst, srv, &sv->c);
            if (rc != GL_OK && rc != GL_EAGAIN) {
                sv->done = 1;
                sv->rc = rc;
            }
        }
        side_step(cl);
        side_step(sv);
        p[0].fd = cl->c != NULL && !cl->done ? net_conn_fd(cl->c) : -1;
        p[0].events = cl->c != NULL ? poll_events(cl->c) : 0;
        if (sv->c == NULL) {
            p[1].fd = sv->done ? -1 : net_listener_fd(lst);
            p[1].events = POLLIN;
        } else {
            p[1].fd = sv->done ? -1 : net_conn_fd(sv->c);
            p[1].events = poll_events(sv->c);
        }
        (void)poll(p, 2, 20);
    }
    if (!sv->done) {
        sv->rc = GL_ETIMEDOUT;
    }
    if (!cl->done) {
        cl->rc = GL_ETIMEDOUT;
    }
}

static void pair_close(struct side *sv, struct side *cl)
{
    net_conn_close(cl->c);
    net_conn_close(sv->c);
    cl->c = NULL;
    sv->c = NULL;
}

static void show(const char *who, const struct side *s)
{
    if (gl_t_verbose_()) {
        printf("    %s: %s: %s\n", who, gl_errname(s->rc), s->err);
    }
}

/* ---- set-up ---------------------------------------------------------- */

GL_TEST(setup_certificates_and_server)
{
    char tmpl[] = "/tmp/gl-test-net-XXXXXX";
    char *base = mkdtemp(tmpl);
    char ca[300], crt[300], key[300], err[NET_ERR_MAX];
    struct net_tls_config cfg;
    struct stat st;
    int rc;

    GL_CHECK(base != NULL);
    if (base == NULL) {
        return;
    }
    snprintf(dir_a, sizeof dir_a, "%s/a", base);
    snprintf(dir_b, sizeof dir_b, "%s/b", base);
    GL_CHECK_INT(GL_OK, issue(GLCTL_PKI_CA, dir_a, NULL, NULL, NULL));
    GL_CHECK_INT(GL_OK, issue(GLCTL_PKI_HOST, dir_a, HOST_CN, NULL, NULL));
    GL_CHECK_INT(GL_OK, issue(GLCTL_PKI_TERMINAL, dir_a, "T0001", NULL, NULL));
    GL_CHECK_INT(GL_OK, issue(GLCTL_PKI_TERMINAL, dir_a, "TEXPIRED",
                              "20200101000000", "20210101000000"));
    GL_CHECK_INT(GL_OK, issue(GLCTL_PKI_TERMINAL, dir_a, "TFUTURE",
                              "20900101000000", "20910101000000"));
    GL_CHECK_INT(GL_OK, issue(GLCTL_PKI_CA, dir_b, "other CA", NULL, NULL));
    GL_CHECK_INT(GL_OK, issue(GLCTL_PKI_TERMINAL, dir_b, "T0001", NULL, NULL));
    GL_CHECK_INT(GL_OK, issue(GLCTL_PKI_HOST, dir_b, HOST_CN, NULL, NULL));

    /* The API's own refusals. */
    GL_CHECK_INT(GL_EEXIST,
                 issue(GLCTL_PKI_TERMINAL, dir_a, "T0001", NULL, NULL));
    GL_CHECK_INT(GL_EINVAL,
                 issue(GLCTL_PKI_TERMINAL, dir_a, "../T1", NULL, NULL));
    path_of(key, sizeof key, dir_a, "term-T0001.key");
    GL_CHECK_INT(0, stat(key, &st));
    GL_CHECK_INT(0600, st.st_mode & 0777);

    path_of(ca, sizeof ca, dir_a, "ca.crt");
    path_of(crt, sizeof crt, dir_a, "host.crt");
    path_of(key, sizeof key, dir_a, "host.key");
    cfg = (struct net_tls_config){
        .ca_file = ca, .cert_file = crt, .key_file = key};
    rc = net_ctx_new(&srv, NET_ROLE_SERVER, &cfg, err, sizeof err);
    GL_CHECK_INT(GL_OK, rc);
    if (rc != GL_OK) {
        printf("  server ctx: %s\n", err);
    }
    GL_CHECK_INT(GL_OK, net_listen(&lst, "127.0.0.1", "0", 64));
    GL_CHECK(lst != NULL && net_listener_port(lst) > 0);
    if (lst != NULL) {
        snprintf(port, sizeof port, "%d", net_listener_port(lst));
    }
}

GL_TEST(context_errors_are_reported)
{
    char ca[300], crt[300], key[300], err[NET_ERR_MAX];
    struct net_ctx *c = (struct net_ctx *)&c;
    struct net_tls_config cfg;

    path_of(ca, sizeof ca, dir_a, "ca.crt");
    path_of(crt, sizeof crt, dir_a, "host.crt");
    path_of(key, sizeof key, dir_a, "term-T0001.key");
    /* A key that is not the certificate's. */
    cfg = (struct net_tls_config){
        .ca_file = ca, .cert_file = crt, .key_file = key};
    GL_CHECK_INT(GL_ECONFIG,
                 net_ctx_new(&c, NET_ROLE_SERVER, &cfg, err, sizeof err));
    GL_CHECK(c == NULL);
    GL_CHECK(strstr(err, "key does not match") != NULL);
    /* A missing CA file. */
    cfg.ca_file = "/nonexistent/ca.crt";
    GL_CHECK_INT(GL_ECONFIG,
                 net_ctx_new(&c, NET_ROLE_SERVER, &cfg, err, sizeof err));
    GL_CHECK(strstr(err, "/nonexistent/ca.crt") != NULL);
    /* A client must name the host it expects. */
    cfg = (struct net_tls_config){.ca_file = ca};
    GL_CHECK_INT(GL_EINVAL,
                 net_ctx_new(&c, NET_ROLE_CLIENT, &cfg, err, sizeof err));
    /* A server must have a certificate. */
    GL_CHECK_INT(GL_EINVAL,
                 net_ctx_new(&c, NET_ROLE_SERVER, &cfg, err, sizeof err));
}

/* ---- accepted ---------------------------------------------------------- */

GL_TEST(good_terminal_is_accepted_with_its_cn)
{
    struct net_ctx *cli = client_ctx(dir_a, "T0001", dir_a, HOST_CN);
    struct side sv, cl;

    GL_CHECK(cli != NULL);
    if (cli == NULL) {
        return;
    }
    pair_handshake(cli, &sv, &cl);
    show("server", &sv);
    show("client", &cl);
    GL_CHECK_INT(GL_OK, sv.rc);
    GL_CHECK_INT(GL_OK, cl.rc);
    GL_CHECK_STR("T0001", sv.cn);
    GL_CHECK_STR(HOST_CN, cl.cn);
    GL_CHECK_INT(0, sv.resumed);
    GL_CHECK_INT(0, cl.resumed);
    pair_close(&sv, &cl);
    net_ctx_free(cli);
}

/* Moves n bytes from w to r through both TLS ends; returns bytes that
 * arrived and stores the first write's count in *first. */
static size_t pump(struct net_conn *w, const unsigned char *src,
                   struct net_conn *r, unsigned char *dst, size_t n, int *first)
{
    size_t off_w = 0, off_r = 0;
    double deadline = now_s() + 10.0;

    *first = 0;
    while (off_r < n && now_s() < deadline) {
        struct pollfd p[2];
        int k;
        if (off_w < n) {
            k = net_conn_write(w, src + off_w, n - off_w);
            if (k > 0) {
                if (*first == 0) {
                    *first = k;
                }
                off_w += (size_t)k;
            } else if (k != GL_EAGAIN) {
                printf("  write: %s %s\n", gl_errname(k), net_conn_errstr(w));
                break;
            }
        }
        do {
            k = net_conn_read(r, dst + off_r, n - off_r);
            if (k > 0) {
                off_r += (size_t)k;
            }
        } while (k > 0 && off_r < n);
        if (k < 0 && k != GL_EAGAIN) {
            printf("  read: %s %s\n", gl_errname(k), net_conn_errstr(r));
            break;
        }
        p[0].fd = net_conn_fd(w);
        p[0].events = off_w < n ? POLLOUT : 0;
        p[1].fd = net_conn_fd(r);
        p[1].events = POLLIN;
        (void)poll(p, 2, 20);
    }
    return off_r;
}

GL_TEST(application_data_round_trips_beyond_one_record)
{
    struct net_ctx *cli = client_ctx(dir_a, "T0001", dir_a, HOST_CN);
    enum { BIG = 100000, BACK = 40000 };
    unsigned char *src = malloc(BIG), *dst = calloc(1, BIG);
    struct side sv, cl;
    unsigned char b;
    int first, k;

    GL_CHECK(cli != NULL && src != NULL && dst != NULL);
    if (cli == NULL || src == NULL || dst == NULL) {
        goto out;
    }
    for (size_t i = 0; i < BIG; i++) {
        src[i] = (unsigned char)(i * 7 + (i >> 8));
    }
    pair_handshake(cli, &sv, &cl);
    GL_CHECK_INT(GL_OK, sv.rc);
    GL_CHECK_INT(GL_OK, cl.rc);
    if (sv.rc != GL_OK || cl.rc != GL_OK) {
        pair_close(&sv, &cl);
        goto out;
    }
    /* Terminal to host: 100000 bytes, several records. */
    GL_CHECK_INT(BIG, pump(cl.c, src, sv.c, dst, BIG, &first));
    GL_CHECK(memcmp(src, dst, BIG) == 0);
    GL_CHECK_INT(16384, first); /* one record per write call */
    /* Host to terminal. */
    memset(dst, 0, BIG);
    GL_CHECK_INT(BACK, pump(sv.c, src + 5, cl.c, dst, BACK, &first));
    GL_CHECK(memcmp(src + 5, dst, BACK) == 0);
    /* Nothing more to read; then the terminal hangs up. */
    GL_CHECK_INT(GL_EAGAIN, net_conn_read(sv.c, &b, 1));
    GL_CHECK_INT(NET_WANT_READ, net_conn_want(sv.c));
    GL_CHECK_INT(0, net_conn_pending(sv.c));
    net_conn_close(cl.c);
    cl.c = NULL;
    {
        double deadline = now_s() + 5.0;
        do {
            struct pollfd p = {.fd = net_conn_fd(sv.c), .events = POLLIN};
            (void)poll(&p, 1, 20);
            k = net_conn_read(sv.c, &b, 1);
        } while (k == GL_EAGAIN && now_s() < deadline);
    }
    GL_CHECK_INT(GL_ECLOSED, k);
    pair_close(&sv, &cl);
out:
    free(src);
    free(dst);
    net_ctx_free(cli);
}

GL_TEST(reconnect_resumes_the_session)
{
    struct net_ctx *cli = client_ctx(dir_a, "T0001", dir_a, HOST_CN);
    struct side sv, cl;

    GL_CHECK(cli != NULL);
    if (cli == NULL) {
        return;
    }
    /* First contact: a full handshake; the host issues a ticket, no id. */
    pair_handshake(cli, &sv, &cl);
    GL_CHECK_INT(GL_OK, sv.rc);
    GL_CHECK_INT(GL_OK, cl.rc);
    GL_CHECK_INT(0, sv.resumed);
    GL_CHECK_INT(0, cl.resumed);
    GL_CHECK_INT(0, sv.sid_len);
    pair_close(&sv, &cl);

    /* Reconnect: resumed on both sides, the same session id on both, and
     * the host still knows which terminal this is. */
    pair_handshake(cli, &sv, &cl);
    GL_CHECK_INT(GL_OK, sv.rc);
    GL_CHECK_INT(GL_OK, cl.rc);
    GL_CHECK_INT(1, sv.resumed);
    GL_CHECK_INT(1, cl.resumed);
    GL_CHECK_INT(32, sv.sid_len);
    GL_CHECK_INT(32, cl.sid_len);
    GL_CHECK_MEM(cl.sid, sv.sid, 32);
    GL_CHECK_STR("T0001", sv.cn);
    GL_CHECK_STR(HOST_CN, cl.cn);
    pair_close(&sv, &cl);

    /* Again resumed; then, with the session forgotten, a full one. */
    pair_handshake(cli, &sv, &cl);
    GL_CHECK_INT(1, sv.resumed);
    GL_CHECK_INT(1, cl.resumed);
    pair_close(&sv, &cl);
    net_ctx_session_clear(cli);
    pair_handshake(cli, &sv, &cl);
    GL_CHECK_INT(GL_OK, sv.rc);
    GL_CHECK_INT(0, sv.resumed);
    GL_CHECK_INT(0, cl.resumed);
    pair_close(&sv, &cl);
    net_ctx_free(cli);
}

GL_TEST(reconnect_after_host_restart_does_a_full_handshake)
{
    /* A restarted host has new ticket keys: the terminal's kept ticket is
     * useless, and the reconnect falls back to a full handshake. */
    struct net_ctx *cli = client_ctx(dir_a, "T0001", dir_a, HOST_CN);
    struct net_ctx *save = srv, *s2 = NULL;
    char ca[300], crt[300], key[300], err[NET_ERR_MAX];
    struct net_tls_config cfg;
    struct side sv, cl;

    path_of(ca, sizeof ca, dir_a, "ca.crt");
    path_of(crt, sizeof crt, dir_a, "host.crt");
    path_of(key, sizeof key, dir_a, "host.key");
    cfg = (struct net_tls_config){
        .ca_file = ca, .cert_file = crt, .key_file = key};
    GL_CHECK_INT(GL_OK,
                 net_ctx_new(&s2, NET_ROLE_SERVER, &cfg, err, sizeof err));
    if (cli == NULL || s2 == NULL) {
        GL_CHECK(0);
        goto out;
    }
    pair_handshake(cli, &sv, &cl);
    GL_CHECK_INT(GL_OK, cl.rc);
    pair_close(&sv, &cl);
    srv = s2; /* the "restarted" host */
    pair_handshake(cli, &sv, &cl);
    srv = save;
    GL_CHECK_INT(GL_OK, sv.rc);
    GL_CHECK_INT(GL_OK, cl.rc);
    GL_CHECK_INT(0, sv.resumed);
    GL_CHECK_INT(0, cl.resumed);
    GL_CHECK_STR("T0001", sv.cn);
    pair_close(&sv, &cl);
    /* And the new ticket works with the restarted host. */
    srv = s2;
    pair_handshake(cli, &sv, &cl);
    srv = save;
    GL_CHECK_INT(1, sv.resumed);
    GL_CHECK_INT(1, cl.resumed);
    pair_close(&sv, &cl);
out:
    net_ctx_free(s2);
    net_ctx_free(cli);
}

/* ---- refused by the host ------------------------------------------------ */

static void expect_server_refusal(struct net_ctx *cli, int server_code,
                                  int client_code, const char *text)
{
    struct side sv, cl;

    GL_CHECK(cli != NULL);
    if (cli == NULL) {
        return;
    }
    pair_handshake(cli, &sv, &cl);
    show("server", &sv);
    show("client", &cl);
    GL_CHECK_STR(gl_errname(server_code), gl_errname(sv.rc));
    GL_CHECK_STR(gl_errname(client_code), gl_errname(cl.rc));
    GL_CHECK(strstr(sv.err, text) != NULL);
    GL_CHECK_STR("", sv.cn);
    pair_close(&sv, &cl);
    net_ctx_free(cli);
}

GL_TEST(client_without_certificate_is_refused)
{
    expect_server_refusal(client_ctx(NULL, NULL, dir_a, HOST_CN), GL_TLS_NOCERT,
                          GL_TLS_REFUSED, "handshake");
}

GL_TEST(client_from_another_ca_is_refused)
{
    expect_server_refusal(client_ctx(dir_b, "T0001", dir_a, HOST_CN),
                          GL_TLS_BADCA, GL_TLS_REFUSED, "not correctly signed");
}

GL_TEST(expired_client_certificate_is_refused)
{
    expect_server_refusal(client_ctx(dir_a, "TEXPIRED", dir_a, HOST_CN),
                          GL_TLS_EXPIRED, GL_TLS_REFUSED, "expired");
}

GL_TEST(not_yet_valid_client_certificate_is_refused)
{
    expect_server_refusal(client_ctx(dir_a, "TFUTURE", dir_a, HOST_CN),
                          GL_TLS_NOTYET, GL_TLS_REFUSED, "future");
}

/*
 * A client outside hal/net: plain mbedTLS with the version range and cipher
 * suites given (suites NULL: mbedTLS's defaults), a good certificate,
 * driven non-blocking against the test's server.  Stores the server's
 * result in sv and returns the client's last mbedTLS code.
 */
static int legacy_client(int min_minor, int max_minor, const int *suites,
                         struct side *sv)
{
    mbedtls_entropy_context ent;
    mbedtls_ctr_drbg_context drbg;
    mbedtls_x509_crt ca, crt;
    mbedtls_pk_context key;
    mbedtls_ssl_config conf;
    mbedtls_ssl_context ssl;
    mbedtls_net_context nc;
    char p_ca[300], p_crt[300], p_key[300];
    int cret = MBEDTLS_ERR_SSL_WANT_READ;
    double deadline = now_s() + 10.0;

    path_of(p_ca, sizeof p_ca, dir_a, "ca.crt");
    path_of(p_crt, sizeof p_crt, dir_a, "term-T0001.crt");
    path_of(p_key, sizeof p_key, dir_a, "term-T0001.key");
    mbedtls_entropy_init(&ent);
    mbedtls_ctr_drbg_init(&drbg);
    mbedtls_x509_crt_init(&ca);
    mbedtls_x509_crt_init(&crt);
    mbedtls_pk_init(&key);
    mbedtls_ssl_config_init(&conf);
    mbedtls_ssl_init(&ssl);
    mbedtls_net_init(&nc);
    memset(sv, 0, sizeof *sv);
    GL_CHECK_INT(
        0, mbedtls_ctr_drbg_seed(&drbg, mbedtls_entropy_func, &ent, NULL, 0));
    GL_CHECK_INT(0, mbedtls_x509_crt_parse_file(&ca, p_ca));
    GL_CHECK_INT(0, mbedtls_x509_crt_parse_file(&crt, p_crt));
    GL_CHECK_INT(0, mbedtls_pk_parse_keyfile(&key, p_key, NULL));
    GL_CHECK_INT(0, mbedtls_ssl_config_defaults(&conf, MBEDTLS_SSL_IS_CLIENT,
                                                MBEDTLS_SSL_TRANSPORT_STREAM,
                                                MBEDTLS_SSL_PRESET_DEFAULT));
    mbedtls_ssl_conf_min_version(&conf, 3, min_minor);
    mbedtls_ssl_conf_max_version(&conf, 3, max_minor);
    if (suites != NULL) {
        mbedtls_ssl_conf_ciphersuites(&conf, suites);
    }
    mbedtls_ssl_conf_ca_chain(&conf, &ca, NULL);
    GL_CHECK_INT(0, mbedtls_ssl_conf_own_cert(&conf, &crt, &key));
    mbedtls_ssl_conf_rng(&conf, mbedtls_ctr_drbg_random, &drbg);
    GL_CHECK_INT(0, mbedtls_ssl_setup(&ssl, &conf));
    GL_CHECK_INT(0, mbedtls_ssl_set_hostname(&ssl, HOST_CN));
    if (mbedtls_net_connect(&nc, "127.0.0.1", port, MBEDTLS_NET_PROTO_TCP) !=
            0 ||
        mbedtls_net_set_nonblock(&nc) != 0) {
        GL_CHECK(0);
        cret = -1;
        goto out;
    }
    mbedtls_ssl_set_bio(&ssl, &nc, mbedtls_net_send, mbedtls_net_recv, NULL);

    while (!sv->done && now_s() < deadline) {
        struct pollfd p[2] = {{.fd = nc.fd, .events = POLLIN}};
        if (sv->c == NULL) {
            (void)net_accept(lst, srv, &sv->c);
        }
        if (cret == MBEDTLS_ERR_SSL_WANT_READ ||
            cret == MBEDTLS_ERR_SSL_WANT_WRITE) {
            cret = mbedtls_ssl_handshake(&ssl);
        }
        side_step(sv);
        p[1].fd = sv->c != NULL ? net_conn_fd(sv->c) : net_listener_fd(lst);
        p[1].events = POLLIN;
        (void)poll(p, 2, 20);
    }
    /* Let the old client read what the host told it. */
    while ((cret == MBEDTLS_ERR_SSL_WANT_READ ||
            cret == MBEDTLS_ERR_SSL_WANT_WRITE) &&
           now_s() < deadline) {
        struct pollfd p = {.fd = nc.fd, .events = POLLIN};
        (void)poll(&p, 1, 20);
        cret = mbedtls_ssl_handshake(&ssl);
    }
out:
    net_conn_close(sv->c);
    sv->c = NULL;
    mbedtls_net_free(&nc);
    mbedtls_ssl_free(&ssl);
    mbedtls_ssl_config_free(&conf);
    mbedtls_pk_free(&key);
    mbedtls_x509_crt_free(&crt);
    mbedtls_x509_crt_free(&ca);
    mbedtls_ctr_drbg_free(&drbg);
    mbedtls_entropy_free(&ent);
    return cret;
}

/* Debian's mbedTLS 2.28 has MBEDTLS_SSL_PROTO_TLS1_1: a real old client. */
GL_TEST(client_offering_at_most_tls11_is_refused)
{
    struct side sv;
    int cret;

#if !defined(MBEDTLS_SSL_PROTO_TLS1_1)
    printf("  this mbedTLS has no TLS 1.1 to offer\n");
    GL_CHECK(0);
    return;
#endif
    cret = legacy_client(1, 2, NULL, &sv);
    show("server", &sv);
    GL_CHECK_STR("TLS_VERSION", gl_errname(sv.rc));
    GL_CHECK(strstr(sv.err, "min/max") != NULL);
    /* The old client was told so with a protocol_version alert. */
    GL_CHECK_INT(MBEDTLS_ERR_SSL_FATAL_ALERT_MESSAGE, cret);
}

GL_TEST(client_without_gcm_suites_is_refused)
{
    static const int cbc_only[] = {
        MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256,
        MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384, 0};
    struct side sv;
    int cret = legacy_client(3, 3, cbc_only, &sv);

    show("server", &sv);
    GL_CHECK_STR("TLS_CIPHER", gl_errname(sv.rc));
    GL_CHECK_INT(MBEDTLS_ERR_SSL_FATAL_ALERT_MESSAGE, cret);
}

/* ---- refused by the terminal ------------------------------------------- */

GL_TEST(client_refuses_host_with_wrong_cn)
{
    struct net_ctx *cli = client_ctx(dir_a, "T0001", dir_a, "other-host");
    struct side sv, cl;

    GL_CHECK(cli != NULL);
    if (cli == NULL) {
        return;
    }
    pair_handshake(cli, &sv, &cl);
    show("server", &sv);
    show("client", &cl);
    GL_CHECK_STR("TLS_CN", gl_errname(cl.rc));
    GL_CHECK(strstr(cl.err, "Common Name") != NULL);
    GL_CHECK_STR("TLS_REFUSED", gl_errname(sv.rc));
    GL_CHECK(strstr(sv.err, "bad_certificate") != NULL);
    pair_close(&sv, &cl);
    net_ctx_free(cli);
}

GL_TEST(client_refuses_host_from_another_ca)
{
    /* The terminal trusts CA b only; the host's certificate is from a. */
    struct net_ctx *cli = client_ctx(dir_b, "T0001", dir_b, HOST_CN);
    struct side sv, cl;

    GL_CHECK(cli != NULL);
    if (cli == NULL) {
        return;
    }
    pair_handshake(cli, &sv, &cl);
    show("client", &cl);
    GL_CHECK_STR("TLS_BADCA", gl_errname(cl.rc));
    GL_CHECK_STR("TLS_REFUSED", gl_errname(sv.rc));
    pair_close(&sv, &cl);
    net_ctx_free(cli);
}

GL_TEST(host_will_not_serve_with_a_terminal_certificate)
{
    /* A second server given a terminal's certificate (clientAuth only):
     * mbedTLS finds no suite that certificate may serve. */
    struct net_listener *l2 = NULL;
    struct net_ctx *s2 = NULL, *cli;
    struct net_listener *save_l = lst;
    struct net_ctx *save_s = srv;
    char ca[300], crt[300], key[300], err[NET_ERR_MAX], save_port[16];
    struct net_tls_config cfg;
    struct side sv, cl;

    path_of(ca, sizeof ca, dir_a, "ca.crt");
    path_of(crt, sizeof crt, dir_a, "term-T0001.crt");
    path_of(key, sizeof key, dir_a, "term-T0001.key");
    cfg = (struct net_tls_config){
        .ca_file = ca, .cert_file = crt, .key_file = key};
    GL_CHECK_INT(GL_OK,
                 net_ctx_new(&s2, NET_ROLE_SERVER, &cfg, err, sizeof err));
    GL_CHECK_INT(GL_OK, net_listen(&l2, "127.0.0.1", "0", 8));
    cli = client_ctx(dir_a, "T0001", dir_a, "T0001");
    if (s2 == NULL || l2 == NULL || cli == NULL) {
        GL_CHECK(0);
        goto out;
    }
    snprintf(save_port, sizeof save_port, "%s", port);
    snprintf(port, sizeof port, "%d", net_listener_port(l2));
    lst = l2;
    srv = s2;
    pair_handshake(cli, &sv, &cl);
    lst = save_l;
    srv = save_s;
    snprintf(port, sizeof port, "%s", save_port);
    show("server", &sv);
    show("client", &cl);
    GL_CHECK_STR("TLS_CIPHER", gl_errname(sv.rc));
    GL_CHECK_STR("TLS_REFUSED", gl_errname(cl.rc));
    pair_close(&sv, &cl);
out:
    net_ctx_free(cli);
    net_listener_close(l2);
    net_ctx_free(s2);
}

/* Only a client: retries while nobody listens yet (a server starting). */
static void client_only(struct net_ctx *cli, const char *p, struct side *cl)
{
    double deadline = now_s() + 10.0;

    memset(cl, 0, sizeof *cl);
    while (!cl->done && now_s() < deadline) {
        if (cl->c == NULL) {
            int rc = net_connect(cli, "127.0.0.1", p, &cl->c);
            if (rc != GL_OK) {
                cl->rc = rc;
                cl->done = 1;
                break;
            }
        }
        side_step(cl);
        if (cl->done && cl->rc == GL_NET_CONNECT) {
            cl->done = 0;
            usleep(50000);
            continue;
        }
        if (!cl->done) {
            struct pollfd pf = {.fd = net_conn_fd(cl->c),
                                .events = poll_events(cl->c)};
            (void)poll(&pf, 1, 20);
        }
    }
}

GL_TEST(client_refuses_a_terminal_certificate_as_host)
{
    /* A server that does not care (OpenSSL's s_server) presents a
     * terminal's certificate; the terminal even expects that CN.  The
     * certificate's extendedKeyUsage (clientAuth) gives it away. */
    struct net_listener *l = NULL;
    struct net_ctx *cli = client_ctx(dir_a, "T0001", dir_a, "T0001");
    char ca[300], crt[300], key[300], p[16], acc[64];
    struct side cl;
    pid_t pid;

    GL_CHECK_INT(GL_OK, net_listen(&l, "127.0.0.1", "0", 1));
    if (l == NULL || cli == NULL) {
        GL_CHECK(0);
        net_listener_close(l);
        net_ctx_free(cli);
        return;
    }
    snprintf(p, sizeof p, "%d", net_listener_port(l));
    net_listener_close(l); /* a free port for s_server */
    snprintf(acc, sizeof acc, "127.0.0.1:%s", p);
    path_of(ca, sizeof ca, dir_a, "ca.crt");
    path_of(crt, sizeof crt, dir_a, "term-T0001.crt");
    path_of(key, sizeof key, dir_a, "term-T0001.key");
    fflush(stdout);
    pid = fork();
    if (pid == 0) {
        int nul = open("/dev/null", O_RDWR);
        dup2(nul, 0);
        dup2(nul, 1);
        dup2(nul, 2);
        execlp("openssl", "openssl", "s_server", "-accept", acc, "-cert", crt,
               "-key", key, "-CAfile", ca, "-tls1_2", "-quiet", (char *)NULL);
        _exit(127);
    }
    GL_CHECK(pid > 0);
    if (pid > 0) {
        client_only(cli, p, &cl);
        kill(pid, SIGTERM);
        waitpid(pid, NULL, 0);
        show("client", &cl);
        GL_CHECK_STR("TLS_CERT", gl_errname(cl.rc));
        GL_CHECK(strstr(cl.err, "extendedKeyUsage") != NULL);
        net_conn_close(cl.c);
    }
    net_ctx_free(cli);
}

GL_TEST(connect_to_closed_port_fails)
{
    struct net_listener *l = NULL;
    struct net_ctx *cli = client_ctx(dir_a, "T0001", dir_a, HOST_CN);
    struct net_conn *c = NULL;
    char p[16];
    int rc;
    double deadline = now_s() + 5.0;

    GL_CHECK_INT(GL_OK, net_listen(&l, "127.0.0.1", "0", 1));
    if (l == NULL || cli == NULL) {
        GL_CHECK(0);
        net_ctx_free(cli);
        return;
    }
    snprintf(p, sizeof p, "%d", net_listener_port(l));
    net_listener_close(l);
    rc = net_connect(cli, "127.0.0.1", p, &c);
    while (rc == GL_OK && c != NULL && now_s() < deadline) {
        rc = net_conn_handshake(c);
        if (rc == GL_EAGAIN) {
            struct pollfd pf = {.fd = net_conn_fd(c), .events = POLLOUT};
            (void)poll(&pf, 1, 20);
            rc = GL_OK;
        } else if (rc == GL_OK) {
            rc = GL_EINVAL; /* cannot happen: nobody listens */
        }
    }
    GL_CHECK_STR("NET_CONNECT", gl_errname(rc));
    net_conn_close(c);
    GL_CHECK_INT(GL_NET_RESOLVE,
                 net_connect(cli, "no-such-host.invalid", "1", &c));
    GL_CHECK(c == NULL);
    net_ctx_free(cli);
}

/* ---- many at once -------------------------------------------------------- */

GL_TEST(many_connections_in_one_loop)
{
    enum { N = 24 };
    struct net_ctx *cli = client_ctx(dir_a, "T0001", dir_a, HOST_CN);
    struct side sv[N], cl[N];
    int nsv = 0, ok_sv = 0, ok_cl = 0;
    double deadline = now_s() + 20.0;

    GL_CHECK(cli != NULL);
    if (cli == NULL) {
        return;
    }
    memset(sv, 0, sizeof sv);
    memset(cl, 0, sizeof cl);
    for (int i = 0; i < N; i++) {
        GL_CHECK_INT(GL_OK, net_connect(cli, "127.0.0.1", port, &cl[i].c));
    }
    while ((ok_sv + ok_cl < 2 * N) && now_s() < deadline) {
        struct net_conn *c;
        struct pollfd p[2 * N + 1];
        int np = 0;
        while (nsv < N && net_accept(lst, srv, &c) == GL_OK) {
            sv[nsv++].c = c;
        }
        ok_sv = ok_cl = 0;
        for (int i = 0; i < N; i++) {
            side_step(&cl[i]);
            ok_cl += cl[i].done;
            if (!cl[i].done && cl[i].c != NULL) {
                p[np].fd = net_conn_fd(cl[i].c);
                p[np++].events = poll_events(cl[i].c);
            }
        }
        for (int i = 0; i < nsv; i++) {
            side_step(&sv[i]);
            ok_sv += sv[i].done;
            if (!sv[i].done && sv[i].c != NULL) {
                p[np].fd = net_conn_fd(sv[i].c);
                p[np++].events = poll_events(sv[i].c);
            }
        }
        p[np].fd = net_listener_fd(lst);
        p[np++].events = POLLIN;
        (void)poll(p, (nfds_t)np, 20);
    }
    ok_sv = ok_cl = 0;
    for (int i = 0; i < N; i++) {
        ok_cl +=
            cl[i].rc == GL_OK && cl[i].done && strcmp(cl[i].cn, HOST_CN) == 0;
        ok_sv +=
            sv[i].rc == GL_OK && sv[i].done && strcmp(sv[i].cn, "T0001") == 0;
        pair_close(&sv[i], &cl[i]);
    }
    GL_CHECK_INT(N, ok_cl);
    GL_CHECK_INT(N, ok_sv);
    net_ctx_free(cli);
}

GL_TEST(teardown)
{
    char cmd[600];
    net_listener_close(lst);
    net_ctx_free(srv);
    lst = NULL;
    srv = NULL;
    if (dir_a[0] != '\0') {
        snprintf(cmd, sizeof cmd, "rm -rf '%.*s'", (int)(strlen(dir_a) - 2),
                 dir_a);
        GL_CHECK_INT(0, system(cmd));
    }
}

int main(void)
{
    GL_RUN(setup_certificates_and_server);
    GL_RUN(context_errors_are_reported);
    GL_RUN(good_terminal_is_accepted_with_its_cn);
    GL_RUN(application_data_round_trips_beyond_one_record);
    GL_RUN(reconnect_resumes_the_session);
    GL_RUN(reconnect_after_host_restart_does_a_full_handshake);
    GL_RUN(client_without_certificate_is_refused);
    GL_RUN(client_from_another_ca_is_refused);
    GL_RUN(expired_client_certificate_is_refused);
    GL_RUN(not_yet_valid_client_certificate_is_refused);
    GL_RUN(client_offering_at_most_tls11_is_refused);
    GL_RUN(client_without_gcm_suites_is_refused);
    GL_RUN(client_refuses_host_with_wrong_cn);
    GL_RUN(client_refuses_host_from_another_ca);
    GL_RUN(host_will_not_serve_with_a_terminal_certificate);
    GL_RUN(client_refuses_a_terminal_certificate_as_host);
    GL_RUN(connect_to_closed_port_fails);
    GL_RUN(many_connections_in_one_loop);
    GL_RUN(teardown);
    return GL_TEST_END();
}
