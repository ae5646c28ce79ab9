/*
 * net.c - TCP + TLS 1.2 over mbedTLS 2.28, non-blocking (contract: net.h).
 *
 * The only file of the project that calls mbedTLS's TLS layer.  mbedTLS
 * 2.28 is past its end of life; porting to 3.x touches this file alone.
 * Version-specific points are marked "2.28:".
 *
 * Shape: a net_ctx holds what all connections of one side share (CA, own
 * certificate and key, the ssl_config, one CTR-DRBG, the server's ticket
 * keys or the client's kept session); a net_conn holds one socket and one
 * mbedtls_ssl_context whose I/O callbacks are plain non-blocking send/recv,
 * so every step returns to the event loop instead of waiting.
 */
#include "net.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/error.h>
#include <mbedtls/net_sockets.h>
#include <mbedtls/oid.h>
#include <mbedtls/pk.h>
#include <mbedtls/platform_util.h>
#include <mbedtls/ssl.h>
#include <mbedtls/ssl_internal.h> /* 2.28: handshake->resume, see below */
#include <mbedtls/ssl_ticket.h>
#include <mbedtls/x509_crt.h>

#include "gl_err.h"

/* The receive buffer of a server connection: one TLS record at most. */
#define NET_RX_BUF (16384 + 512)

/* How long a session ticket lets a terminal skip certificate checks. */
#define NET_TICKET_LIFETIME_S (6 * 3600)

/* ECDHE with AES-GCM only; ECDSA first (the deployment CA issues P-256). */
static const int net_suites[] = {
    MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
    MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
    MBEDTLS_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
    MBEDTLS_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
    0,
};

static const mbedtls_ecp_group_id net_curves[] = {
    MBEDTLS_ECP_DP_SECP256R1,
    MBEDTLS_ECP_DP_SECP384R1,
    MBEDTLS_ECP_DP_CURVE25519,
    MBEDTLS_ECP_DP_NONE,
};

struct net_ctx {
    enum net_role role;
    int have_cert;
    int have_session;
    mbedtls_entropy_context entropy;
    mbedtls_ctr_drbg_context drbg;
    mbedtls_x509_crt ca;
    mbedtls_x509_crt cert;
    mbedtls_pk_context key;
    mbedtls_ssl_config conf;
    mbedtls_ssl_ticket_context ticket; /* server */
    mbedtls_ssl_session session;       /* client: the kept session */
    char server_cn[NET_CN_MAX];        /* client */
};

struct net_listener {
    int fd;
};

enum net_state {
    NET_ST_CONNECTING, /* client: TCP connect in progress */
    NET_ST_HANDSHAKE,
    NET_ST_OPEN,
    NET_ST_FAILED,
};

struct net_conn {
    struct net_ctx *ctx;
    int fd;
    enum net_state state;
    int fail;    /* the code returned when the handshake failed */
    int want;    /* NET_WANT_* of the last GL_EAGAIN */
    int resumed; /* last value of handshake->resume seen */
    /* Server side: received bytes not yet taken by mbedTLS (NULL on the
     * client side).  mbedTLS asks for a record header, then its body, then
     * the next header: two or three recv calls per record.  One recv of
     * up to NET_RX_BUF bytes serves them, and when it came back short the
     * socket was empty, so the next empty-buffer read answers "would
     * block" without asking the kernel (once; the event loop then waits
     * for readability, which is level-triggered). */
    unsigned char *rx;
    size_t rx_off, rx_len;
    int rx_drained;
    mbedtls_ssl_context ssl;
    char peer_cn[NET_CN_MAX];
    char err[NET_ERR_MAX];
};

/* ---- error text ------------------------------------------------------- */

static void net_errf(char *buf, size_t len, const char *what, int ret)
{
    char t[160];
    if (buf == NULL || len == 0) {
        return;
    }
    mbedtls_strerror(ret, t, sizeof t);
    snprintf(buf, len, "%s: %s (-0x%04X)", what, t, (unsigned)-ret);
}

static void net_err_append(char *buf, size_t len, const char *text)
{
    size_t n = strlen(buf);
    if (n + 1 < len) {
        snprintf(buf + n, len - n, "%s", text);
    }
}

static const char *net_alert_name(int alert)
{
    switch (alert) {
    case MBEDTLS_SSL_ALERT_MSG_HANDSHAKE_FAILURE:
        return "handshake_failure";
    case MBEDTLS_SSL_ALERT_MSG_BAD_CERT:
        return "bad_certificate";
    case MBEDTLS_SSL_ALERT_MSG_UNSUPPORTED_CERT:
        return "unsupported_certificate";
    case MBEDTLS_SSL_ALERT_MSG_CERT_REVOKED:
        return "certificate_revoked";
    case MBEDTLS_SSL_ALERT_MSG_CERT_EXPIRED:
        return "certificate_expired";
    case MBEDTLS_SSL_ALERT_MSG_CERT_UNKNOWN:
        return "certificate_unknown";
    case MBEDTLS_SSL_ALERT_MSG_UNKNOWN_CA:
        return "unknown_ca";
    case MBEDTLS_SSL_ALERT_MSG_ACCESS_DENIED:
        return "access_denied";
    case MBEDTLS_SSL_ALERT_MSG_PROTOCOL_VERSION:
        return "protocol_version";
    case MBEDTLS_SSL_ALERT_MSG_INSUFFICIENT_SECURITY:
        return "insufficient_security";
    case MBEDTLS_SSL_ALERT_MSG_DECRYPT_ERROR:
        return "decrypt_error";
    default:
        return "other";
    }
}

/* ---- contexts ---------------------------------------------------------- */

void net_ctx_free(struct net_ctx *ctx)
{
    if (ctx == NULL) {
        return;
    }
    mbedtls_ssl_session_free(&ctx->session);
    mbedtls_ssl_ticket_free(&ctx->ticket);
    mbedtls_ssl_config_free(&ctx->conf);
    mbedtls_pk_free(&ctx->key);
    mbedtls_x509_crt_free(&ctx->cert);
    mbedtls_x509_crt_free(&ctx->ca);
    mbedtls_ctr_drbg_free(&ctx->drbg);
    mbedtls_entropy_free(&ctx->entropy);
    mbedtls_platform_zeroize(ctx, sizeof *ctx);
    free(ctx);
}

int net_ctx_new(struct net_ctx **out, enum net_role role,
                const struct net_tls_config *cfg, char *err, size_t errlen)
{
    static const unsigned char pers[] = "giftlink-net";
    struct net_ctx *ctx = NULL;
    int rc = GL_OK;
    int ret;

    *out = NULL;
    if (err != NULL && errlen > 0) {
        err[0] = '\0';
    }
    if (cfg == NULL || cfg->ca_file == NULL ||
        (role == NET_ROLE_SERVER && cfg->cert_file == NULL) ||
        (cfg->cert_file != NULL && cfg->key_file == NULL) ||
        (role == NET_ROLE_CLIENT &&
         (cfg->server_cn == NULL || cfg->server_cn[0] == '\0' ||
          strlen(cfg->server_cn) >= NET_CN_MAX))) {
        if (err != NULL && errlen > 0) {
            snprintf(err, errlen, "TLS configuration lacks %s",
                     role == NET_ROLE_CLIENT ? "ca, key or server CN"
                                             : "ca, cert or key");
        }
        return GL_EINVAL;
    }
    ctx = calloc(1, sizeof *ctx);
    if (ctx == NULL) {
        return GL_ENOMEM;
    }
    ctx->role = role;
    mbedtls_entropy_init(&ctx->entropy);
    mbedtls_ctr_drbg_init(&ctx->drbg);
    mbedtls_x509_crt_init(&ctx->ca);
    mbedtls_x509_crt_init(&ctx->cert);
    mbedtls_pk_init(&ctx->key);
    mbedtls_ssl_config_init(&ctx->conf);
    mbedtls_ssl_ticket_init(&ctx->ticket);
    mbedtls_ssl_session_init(&ctx->session);

    ret = mbedtls_ctr_drbg_seed(&ctx->drbg, mbedtls_entropy_func, &ctx->entropy,
                                pers, sizeof pers - 1);
    if (ret != 0) {
        net_errf(err, errlen, "seeding the DRBG", ret);
        rc = GL_CRYPTO;
        goto out;
    }
    ret = mbedtls_x509_crt_parse_file(&ctx->ca, cfg->ca_file);
    if (ret != 0) {
        net_errf(err, errlen, cfg->ca_file, ret);
        rc = GL_ECONFIG;
        goto out;
    }
    if (cfg->cert_file != NULL) {
        ret = mbedtls_x509_crt_parse_file(&ctx->cert, cfg->cert_file);
        if (ret != 0) {
            net_errf(err, errlen, cfg->cert_file, ret);
            rc = GL_ECONFIG;
            goto out;
        }
        ret = mbedtls_pk_parse_keyfile(&ctx->key, cfg->key_file, NULL);
        if (ret != 0) {
            net_errf(err, errlen, cfg->key_file, ret);
            rc = GL_ECONFIG;
            goto out;
        }
        ret = mbedtls_pk_check_pair(&ctx->cert.pk, &ctx->key);
        if (ret != 0) {
            net_errf(err, errlen, "key does not match certificate", ret);
            rc = GL_ECONFIG;
            goto out;
        }
        ctx->have_cert = 1;
    }

    ret = mbedtls_ssl_config_defaults(
        &ctx->conf,
        role == NET_ROLE_SERVER ? MBEDTLS_SSL_IS_SERVER : MBEDTLS_SSL_IS_CLIENT,
        MBEDTLS_SSL_TRANSPORT_STREAM, MBEDTLS_SSL_PRESET_DEFAULT);
    if (ret != 0) {
        net_errf(err, errlen, "TLS defaults", ret);
        rc = GL_TLS;
        goto out;
    }
    /* 2.28: minor 3 = TLS 1.2.  The default minimum is TLS 1.0. */
    mbedtls_ssl_conf_min_version(&ctx->conf, MBEDTLS_SSL_MAJOR_VERSION_3,
                                 MBEDTLS_SSL_MINOR_VERSION_3);
    mbedtls_ssl_conf_max_version(&ctx->conf, MBEDTLS_SSL_MAJOR_VERSION_3,
                                 MBEDTLS_SSL_MINOR_VERSION_3);
    mbedtls_ssl_conf_ciphersuites(&ctx->conf, net_suites);
    mbedtls_ssl_conf_curves(&ctx->conf, net_curves);
    mbedtls_ssl_conf_authmode(&ctx->conf, MBEDTLS_SSL_VERIFY_REQUIRED);
    mbedtls_ssl_conf_ca_chain(&ctx->conf, &ctx->ca, NULL);
    mbedtls_ssl_conf_rng(&ctx->conf, mbedtls_ctr_drbg_random, &ctx->drbg);
#if defined(MBEDTLS_SSL_RENEGOTIATION)
    mbedtls_ssl_conf_renegotiation(&ctx->conf,
                                   MBEDTLS_SSL_RENEGOTIATION_DISABLED);
#endif
    if (ctx->have_cert) {
        ret = mbedtls_ssl_conf_own_cert(&ctx->conf, &ctx->cert, &ctx->key);
        if (ret != 0) {
            net_errf(err, errlen, "own certificate", ret);
            rc = GL_TLS;
            goto out;
        }
    }
    if (role == NET_ROLE_SERVER) {
        ret = mbedtls_ssl_ticket_setup(&ctx->ticket, mbedtls_ctr_drbg_random,
                                       &ctx->drbg, MBEDTLS_CIPHER_AES_256_GCM,
                                       NET_TICKET_LIFETIME_S);
        if (ret != 0) {
            net_errf(err, errlen, "session tickets", ret);
            rc = GL_CRYPTO;
            goto out;
        }
        mbedtls_ssl_conf_session_tickets_cb(
            &ctx->conf, mbedtls_ssl_ticket_write, mbedtls_ssl_ticket_parse,
            &ctx->ticket);
    } else {
        mbedtls_ssl_conf_session_tickets(&ctx->conf,
                                         MBEDTLS_SSL_SESSION_TICKETS_ENABLED);
        snprintf(ctx->server_cn, sizeof ctx->server_cn, "%s", cfg->server_cn);
    }

out:
    if (rc != GL_OK) {
        net_ctx_free(ctx);
        ctx = NULL;
    }
    *out = ctx;
    return rc;
}

void net_ctx_session_clear(struct net_ctx *ctx)
{
    mbedtls_ssl_session_free(&ctx->session);
    mbedtls_ssl_session_init(&ctx->session);
    ctx->have_session = 0;
}

/* ---- sockets ----------------------------------------------------------- */

int net_listen(struct net_listener **out, const char *host, const char *port,
               int backlog)
{
    struct addrinfo hints, *res = NULL, *ai;
    struct net_listener *l = NULL;
    int fd = -1;
    int rc = GL_EOS;
    int one = 1;

    *out = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = (host == NULL || host[0] == '\0') ? AF_INET : AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    if (getaddrinfo((host == NULL || host[0] == '\0') ? NULL : host, port,
                    &hints, &res) != 0) {
        return GL_NET_RESOLVE;
    }
    for (ai = res; ai != NULL; ai = ai->ai_next) {
        fd = socket(ai->ai_family,
                    ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                    ai->ai_protocol);
        if (fd < 0) {
            continue;
        }
        (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 &&
            listen(fd, backlog > 0 ? backlog : SOMAXCONN) == 0) {
            break;
        }
        close(fd);
        fd = -1;
    }
    if (fd < 0) {
        goto out;
    }
    l = calloc(1, sizeof *l);
    if (l == NULL) {
        rc = GL_ENOMEM;
        goto out;
    }
    l->fd = fd;
    fd = -1;
    rc = GL_OK;
out:
    if (fd >= 0) {
        close(fd);
    }
    freeaddrinfo(res);
    *out = l;
    return rc;
}

int net_listener_fd(const struct net_listener *l)
{
    return l->fd;
}

int net_listener_port(const struct net_listener *l)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    if (getsockname(l->fd, (struct sockaddr *)&ss, &sl) != 0) {
        return -1;
    }
    if (ss.ss_family == AF_INET) {
        return ntohs(((struct sockaddr_in *)&ss)->sin_port);
    }
    if (ss.ss_family == AF_INET6) {
        return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    }
    return -1;
}

void net_listener_close(struct net_listener *l)
{
    if (l == NULL) {
        return;
    }
    close(l->fd);
    free(l);
}

/* ---- the I/O callbacks of mbedTLS --------------------------------------- */

static int net_bio_send(void *p, const unsigned char *buf, size_t len)
{
    struct net_conn *c = p;
    for (;;) {
        ssize_t n = send(c->fd, buf, len, MSG_NOSIGNAL);
        if (n >= 0) {
            return (int)n;
        }
        if (errno == EINTR) {
            continue;
        }
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            return MBEDTLS_ERR_SSL_WANT_WRITE;
        }
        if (errno == EPIPE || errno == ECONNRESET) {
            return MBEDTLS_ERR_NET_CONN_RESET;
        }
        return MBEDTLS_ERR_NET_SEND_FAILED;
    }
}

static int net_recv(struct net_conn *c, unsigned char *buf, size_t len)
{
    for (;;) {
        ssize_t n = recv(c->fd, buf, len, 0);
        if (n >= 0) {
            return (int)n; /* 0: EOF, which mbedTLS reports as CONN_EOF */
        }
        if (errno == EINTR) {
            continue;
        }
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            return MBEDTLS_ERR_SSL_WANT_READ;
        }
        if (errno == ECONNRESET || errno == EPIPE) {
            return MBEDTLS_ERR_NET_CONN_RESET;
        }
        return MBEDTLS_ERR_NET_RECV_FAILED;
    }
}

static int net_bio_recv(void *p, unsigned char *buf, size_t len)
{
    struct net_conn *c = p;
    if (c->rx == NULL) {
        return net_recv(c, buf, len);
    }
    if (c->rx_off == c->rx_len) {
        if (c->rx_drained) {
            c->rx_drained = 0;
            return MBEDTLS_ERR_SSL_WANT_READ;
        }
        int n = net_recv(c, c->rx, NET_RX_BUF);
        if (n <= 0) {
            return n;
        }
        c->rx_off = 0;
        c->rx_len = (size_t)n;
        c->rx_drained = (size_t)n < NET_RX_BUF;
    }
    size_t k = c->rx_len - c->rx_off;
    if (k > len) {
        k = len;
    }
    memcpy(buf, c->rx + c->rx_off, k);
    c->rx_off += k;
    return (int)k;
}

/* ---- connections ------------------------------------------------------- */

/* Takes fd (closed on failure); *out NULL on failure. */
static int net_conn_new(struct net_ctx *ctx, int fd, enum net_state state,
                        struct net_conn **out)
{
    struct net_conn *c;
    int one = 1;
    int ret;

    *out = NULL;
    c = calloc(1, sizeof *c);
    if (c == NULL) {
        close(fd);
        return GL_ENOMEM;
    }
    c->ctx = ctx;
    c->fd = fd;
    c->state = state;
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    mbedtls_ssl_init(&c->ssl);
    ret = mbedtls_ssl_setup(&c->ssl, &ctx->conf);
    if (ret == 0 && ctx->role == NET_ROLE_CLIENT) {
        /* Sets SNI and the name the host certificate must carry. */
        ret = mbedtls_ssl_set_hostname(&c->ssl, ctx->server_cn);
        if (ret == 0 && ctx->have_session) {
            ret = mbedtls_ssl_set_session(&c->ssl, &ctx->session);
        }
    }
    if (ret != 0) {
        net_conn_close(c);
        return ret == MBEDTLS_ERR_SSL_ALLOC_FAILED ? GL_ENOMEM : GL_TLS;
    }
    mbedtls_ssl_set_bio(&c->ssl, c, net_bio_send, net_bio_recv, NULL);
    *out = c;
    return GL_OK;
}

int net_accept_fd(struct net_listener *l, int *fd)
{
    *fd = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (*fd < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ||
            errno == ECONNABORTED) {
            return GL_EAGAIN;
        }
        return GL_EOS;
    }
    return GL_OK;
}

int net_conn_adopt(struct net_ctx *ctx, int fd, struct net_conn **out)
{
    int rc;

    *out = NULL;
    if (ctx->role != NET_ROLE_SERVER) {
        close(fd);
        return GL_EINVAL;
    }
    rc = net_conn_new(ctx, fd, NET_ST_HANDSHAKE, out);
    if (rc == GL_OK) {
        (*out)->rx = malloc(NET_RX_BUF);
        if ((*out)->rx == NULL) {
            net_conn_close(*out);
            *out = NULL;
            rc = GL_ENOMEM;
        }
    }
    return rc;
}

int net_accept(struct net_listener *l, struct net_ctx *ctx,
               struct net_conn **out)
{
    int fd;
    int rc;

    *out = NULL;
    if (ctx->role != NET_ROLE_SERVER) {
        return GL_EINVAL;
    }
    rc = net_accept_fd(l, &fd);
    if (rc != GL_OK) {
        return rc;
    }
    return net_conn_adopt(ctx, fd, out);
}

int net_connect(struct net_ctx *ctx, const char *host, const char *port,
                struct net_conn **out)
{
    struct addrinfo hints, *res = NULL, *ai;
    enum net_state st = NET_ST_CONNECTING;
    int fd = -1;
    int rc = GL_NET_CONNECT;

    *out = NULL;
    if (ctx->role != NET_ROLE_CLIENT) {
        return GL_EINVAL;
    }
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    if (getaddrinfo(host, port, &hints, &res) != 0) {
        return GL_NET_RESOLVE;
    }
    for (ai = res; ai != NULL; ai = ai->ai_next) {
        fd = socket(ai->ai_family,
                    ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                    ai->ai_protocol);
        if (fd < 0) {
            rc = GL_EOS;
            continue;
        }
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
            st = NET_ST_HANDSHAKE;
            break;
        }
        if (errno == EINPROGRESS) {
            break;
        }
        rc = GL_NET_CONNECT;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0) {
        return rc;
    }
    return net_conn_new(ctx, fd, st, out);
}

/* The order matters when several flags are set: the most basic reason. */
static int net_verify_code(uint32_t flags)
{
    if (flags & MBEDTLS_X509_BADCERT_MISSING) {
        return GL_TLS_NOCERT;
    }
    if (flags & MBEDTLS_X509_BADCERT_NOT_TRUSTED) {
        return GL_TLS_BADCA;
    }
    if (flags & MBEDTLS_X509_BADCERT_EXPIRED) {
        return GL_TLS_EXPIRED;
    }
    if (flags & MBEDTLS_X509_BADCERT_FUTURE) {
        return GL_TLS_NOTYET;
    }
    if (flags & MBEDTLS_X509_BADCERT_CN_MISMATCH) {
        return GL_TLS_CN;
    }
    return GL_TLS_CERT;
}

/* Translates a failed handshake step once; fills c->err. */
static int net_handshake_error(struct net_conn *c, int ret)
{
    uint32_t flags = mbedtls_ssl_get_verify_result(&c->ssl);
    int code;
    char t[160];

    net_errf(c->err, sizeof c->err, "handshake", ret);
    switch (ret) {
    case MBEDTLS_ERR_SSL_NO_CLIENT_CERTIFICATE:
        code = GL_TLS_NOCERT;
        break;
    case MBEDTLS_ERR_X509_CERT_VERIFY_FAILED:
        code = net_verify_code(flags);
        break;
    case MBEDTLS_ERR_SSL_BAD_HS_CERTIFICATE:
        /* A certificate whose usage does not fit (2.28 reports the
         * extendedKeyUsage check so) or one that does not parse. */
        code = flags != 0 && flags != (uint32_t)-1 ? net_verify_code(flags)
                                                   : GL_TLS_CERT;
        break;
    case MBEDTLS_ERR_SSL_BAD_HS_PROTOCOL_VERSION:
        code = GL_TLS_VERSION;
        break;
    case MBEDTLS_ERR_SSL_NO_CIPHER_CHOSEN:
    case MBEDTLS_ERR_SSL_NO_USABLE_CIPHERSUITE: /* none fits our certificate */
        code = GL_TLS_CIPHER;
        break;
    case MBEDTLS_ERR_SSL_FATAL_ALERT_MESSAGE: {
        /* 2.28: the received alert is still in in_msg. */
        int alert = c->ssl.in_msg != NULL ? c->ssl.in_msg[1] : -1;
        snprintf(t, sizeof t, "; peer sent alert %s (%d)",
                 net_alert_name(alert), alert);
        net_err_append(c->err, sizeof c->err, t);
        code = alert == MBEDTLS_SSL_ALERT_MSG_PROTOCOL_VERSION ? GL_TLS_VERSION
                                                               : GL_TLS_REFUSED;
        break;
    }
    case MBEDTLS_ERR_SSL_CONN_EOF:
    case MBEDTLS_ERR_NET_CONN_RESET:
    case MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY:
        code = GL_ECLOSED;
        break;
    case MBEDTLS_ERR_SSL_ALLOC_FAILED:
        code = GL_ENOMEM;
        break;
    default:
        code = GL_TLS_HANDSHAKE;
        break;
    }
    if (flags != 0 && flags != (uint32_t)-1 &&
        (ret == MBEDTLS_ERR_X509_CERT_VERIFY_FAILED ||
         ret == MBEDTLS_ERR_SSL_BAD_HS_CERTIFICATE)) {
        char v[256];
        int n = mbedtls_x509_crt_verify_info(v, sizeof v, "; ", flags);
        if (n > 0) {
            for (char *p = v; *p != '\0'; p++) {
                if (*p == '\n') {
                    *p = ' ';
                }
            }
            net_err_append(c->err, sizeof c->err, v);
        }
    }
    if (code == GL_TLS_NOCERT && c->ctx->role == NET_ROLE_SERVER) {
        /* 2.28 closes without an alert here; tell the terminal why. */
        (void)mbedtls_ssl_send_alert_message(
            &c->ssl, MBEDTLS_SSL_ALERT_LEVEL_FATAL,
            MBEDTLS_SSL_ALERT_MSG_HANDSHAKE_FAILURE);
    }
    return code;
}

/* Copies the CN of the verified peer certificate; GL_TLS_CERT if unusable. */
static int net_conn_take_cn(struct net_conn *c)
{
    const mbedtls_x509_crt *crt = mbedtls_ssl_get_peer_cert(&c->ssl);
    const mbedtls_x509_name *n;

    if (crt == NULL) {
        snprintf(c->err, sizeof c->err, "handshake: no peer certificate");
        return GL_TLS_NOCERT;
    }
    for (n = &crt->subject; n != NULL; n = n->next) {
        if (n->oid.p != NULL &&
            MBEDTLS_OID_CMP(MBEDTLS_OID_AT_CN, &n->oid) == 0) {
            size_t i;
            if (n->val.len == 0 || n->val.len >= sizeof c->peer_cn) {
                break;
            }
            for (i = 0; i < n->val.len; i++) {
                unsigned char ch = n->val.p[i];
                if (ch < 0x20 || ch > 0x7e) {
                    break;
                }
                c->peer_cn[i] = (char)ch;
            }
            if (i != n->val.len) {
                break;
            }
            c->peer_cn[i] = '\0';
            return GL_OK;
        }
    }
    c->peer_cn[0] = '\0';
    snprintf(c->err, sizeof c->err,
             "handshake: peer certificate has no usable CN");
    return GL_TLS_CERT;
}

static int net_conn_fail(struct net_conn *c, int code)
{
    c->state = NET_ST_FAILED;
    c->fail = code;
    return code;
}

int net_conn_handshake(struct net_conn *c)
{
    int ret;

    if (c->state == NET_ST_OPEN) {
        return GL_OK;
    }
    if (c->state == NET_ST_FAILED) {
        return c->fail;
    }
    if (c->state == NET_ST_CONNECTING) {
        struct pollfd pfd = {.fd = c->fd, .events = POLLOUT};
        int soerr = 0;
        socklen_t sl = sizeof soerr;
        int r = poll(&pfd, 1, 0);
        if (r == 0 || (r < 0 && errno == EINTR)) {
            c->want = NET_WANT_WRITE;
            return GL_EAGAIN;
        }
        if (r < 0 ||
            getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0) {
            soerr = errno;
        }
        if (soerr != 0) {
            snprintf(c->err, sizeof c->err, "connect: %s", strerror(soerr));
            return net_conn_fail(c, GL_NET_CONNECT);
        }
        c->state = NET_ST_HANDSHAKE;
    }
    while (c->ssl.state != MBEDTLS_SSL_HANDSHAKE_OVER) {
        ret = mbedtls_ssl_handshake_step(&c->ssl);
        /*
         * 2.28 has no public "was this resumed": handshake->resume is
         * set by set_session on a client (and cleared when the server
         * does not resume) and by a valid ticket on a server; it lives
         * until the wrap-up step frees the handshake, so its last value
         * seen is the answer.
         */
        if (c->ssl.handshake != NULL) {
            c->resumed = c->ssl.handshake->resume != 0;
        }
        if (ret == MBEDTLS_ERR_SSL_WANT_READ) {
            c->want = NET_WANT_READ;
            return GL_EAGAIN;
        }
        if (ret == MBEDTLS_ERR_SSL_WANT_WRITE) {
            c->want = NET_WANT_WRITE;
            return GL_EAGAIN;
        }
        if (ret != 0) {
            return net_conn_fail(c, net_handshake_error(c, ret));
        }
    }
    ret = net_conn_take_cn(c);
    if (ret != GL_OK) {
        return net_conn_fail(c, ret);
    }
    if (c->ctx->role == NET_ROLE_CLIENT) {
        net_ctx_session_clear(c->ctx);
        if (mbedtls_ssl_get_session(&c->ssl, &c->ctx->session) == 0) {
            c->ctx->have_session = 1;
        }
    }
    c->state = NET_ST_OPEN;
    c->err[0] = '\0';
    return GL_OK;
}

/* Translates the result of mbedtls_ssl_read/write. */
static int net_io_result(struct net_conn *c, int ret, const char *what)
{
    if (ret > 0) {
        return ret;
    }
    switch (ret) {
    case MBEDTLS_ERR_SSL_WANT_READ:
        c->want = NET_WANT_READ;
        return GL_EAGAIN;
    case MBEDTLS_ERR_SSL_WANT_WRITE:
        c->want = NET_WANT_WRITE;
        return GL_EAGAIN;
    case 0: /* read: EOF without close_notify */
    case MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY:
    case MBEDTLS_ERR_SSL_CONN_EOF:
    case MBEDTLS_ERR_NET_CONN_RESET:
        snprintf(c->err, sizeof c->err, "%s: peer closed the connection", what);
        return GL_ECLOSED;
    default:
        net_errf(c->err, sizeof c->err, what, ret);
        return GL_TLS;
    }
}

int net_conn_read(struct net_conn *c, void *buf, size_t len)
{
    if (c->state != NET_ST_OPEN || len == 0) {
        return GL_EINVAL;
    }
    return net_io_result(c, mbedtls_ssl_read(&c->ssl, buf, len), "read");
}

int net_conn_write(struct net_conn *c, const void *buf, size_t len)
{
    if (c->state != NET_ST_OPEN || len == 0) {
        return GL_EINVAL;
    }
    return net_io_result(c, mbedtls_ssl_write(&c->ssl, buf, len), "write");
}

int net_conn_pending(const struct net_conn *c)
{
    return c->state == NET_ST_OPEN &&
           (c->rx_off < c->rx_len || mbedtls_ssl_check_pending(&c->ssl) != 0);
}

int net_conn_want(const struct net_conn *c)
{
    return c->want;
}

int net_conn_fd(const struct net_conn *c)
{
    return c->fd;
}

int net_conn_resumed(const struct net_conn *c)
{
    return c->state == NET_ST_OPEN && c->resumed;
}

const char *net_conn_peer_cn(const struct net_conn *c)
{
    return c->state == NET_ST_OPEN ? c->peer_cn : "";
}

size_t net_conn_session_id(const struct net_conn *c,
                           unsigned char out[NET_SESSION_ID_MAX])
{
    const mbedtls_ssl_session *s;
    size_t n;

    if (c->state != NET_ST_OPEN) {
        return 0;
    }
    s = mbedtls_ssl_get_session_pointer(&c->ssl);
    if (s == NULL) {
        return 0;
    }
    n = s->id_len > NET_SESSION_ID_MAX ? NET_SESSION_ID_MAX : s->id_len;
    memcpy(out, s->id, n);
    return n;
}

const char *net_conn_errstr(const struct net_conn *c)
{
    return c->err;
}

void net_conn_close(struct net_conn *c)
{
    if (c == NULL) {
        return;
    }
    if (c->state == NET_ST_OPEN) {
        (void)mbedtls_ssl_close_notify(&c->ssl);
    }
    if (c->fd >= 0) {
        close(c->fd);
    }
    mbedtls_ssl_free(&c->ssl);
    free(c->rx);
    free(c);
}
