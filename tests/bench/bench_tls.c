/*
 * bench_tls.c - TLS handshakes per second on loopback through hal/net.
 *
 * Both ends run in this process, non-blocking, one connection at a time,
 * so the figure is the CPU cost of a handshake for both sides together
 * (a host alone does roughly twice as many).  Certificates are generated
 * into a temporary directory through the glctl_pki C API (P-256, ECDHE-
 * ECDSA with AES-128-GCM).  Prints:
 *   BENCH name=tls_full_handshake value=<n> unit=handshakes/s
 *   BENCH name=tls_resumed_handshake value=<n> unit=handshakes/s
 * BENCH_SECONDS in the environment sets the time per figure (default 2).
 */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "gl_err.h"
#include "glctl_pki.h"
#include "net.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static short events_of(const struct net_conn *c)
{
    int w = net_conn_want(c);
    return (short)(((w & NET_WANT_READ) ? POLLIN : 0) |
                   ((w & NET_WANT_WRITE) ? POLLOUT : 0));
}

/* One handshake, both ends; returns GL_OK and whether both resumed. */
static int one_handshake(struct net_listener *l, struct net_ctx *srv,
                         struct net_ctx *cli, const char *port, int *resumed)
{
    struct net_conn *sc = NULL, *cc = NULL;
    int src = GL_EAGAIN, crc = GL_EAGAIN, rc;
    double deadline = now_s() + 10.0;

    rc = net_connect(cli, "127.0.0.1", port, &cc);
    if (rc != GL_OK) {
        return rc;
    }
    while ((src == GL_EAGAIN || crc == GL_EAGAIN) && now_s() < deadline) {
        struct pollfd p[2];
        if (sc == NULL) {
            rc = net_accept(l, srv, &sc);
            if (rc != GL_OK && rc != GL_EAGAIN) {
                src = rc;
            }
        }
        if (crc == GL_EAGAIN) {
            crc = net_conn_handshake(cc);
        }
        if (sc != NULL && src == GL_EAGAIN) {
            src = net_conn_handshake(sc);
        }
        if (src != GL_EAGAIN && crc != GL_EAGAIN) {
            break;
        }
        p[0].fd = crc == GL_EAGAIN ? net_conn_fd(cc) : -1;
        p[0].events = events_of(cc);
        p[1].fd = sc == NULL ? net_listener_fd(l)
                             : (src == GL_EAGAIN ? net_conn_fd(sc) : -1);
        p[1].events = sc == NULL ? POLLIN : events_of(sc);
        (void)poll(p, 2, 50);
    }
    *resumed = crc == GL_OK && src == GL_OK && net_conn_resumed(cc) &&
               net_conn_resumed(sc);
    if (src != GL_OK || crc != GL_OK) {
        fprintf(stderr,
                "bench_tls: handshake: server %s (%s), client %s (%s)\n",
                gl_errname(src), sc ? net_conn_errstr(sc) : "", gl_errname(crc),
                net_conn_errstr(cc));
        rc = src != GL_OK ? src : crc;
    } else {
        rc = GL_OK;
    }
    net_conn_close(cc);
    net_conn_close(sc);
    return rc;
}

static int issue(enum glctl_pki_kind kind, const char *dir, const char *cn)
{
    struct glctl_pki_req r = {.kind = kind, .dir = dir, .cn = cn};
    char err[GLCTL_PKI_ERR_MAX];
    int rc = glctl_pki_issue(&r, err);
    if (rc != GL_OK) {
        fprintf(stderr, "bench_tls: %s\n", err);
    }
    return rc;
}

int main(void)
{
    char tmpl[] = "/tmp/gl-bench-tls-XXXXXX";
    char ca[300], hcrt[300], hkey[300], tcrt[300], tkey[300], port[16];
    char err[NET_ERR_MAX], cmd[400];
    struct net_ctx *srv = NULL, *cli = NULL;
    struct net_listener *l = NULL;
    struct net_tls_config scfg, ccfg;
    const char *env = getenv("BENCH_SECONDS");
    double secs = env != NULL ? atof(env) : 2.0;
    char *dir = mkdtemp(tmpl);
    int status = 1;

    if (secs <= 0) {
        secs = 2.0;
    }
    if (dir == NULL) {
        perror("bench_tls: mkdtemp");
        return 1;
    }
    if (issue(GLCTL_PKI_CA, dir, NULL) != GL_OK ||
        issue(GLCTL_PKI_HOST, dir, "gl-host") != GL_OK ||
        issue(GLCTL_PKI_TERMINAL, dir, "B0000001") != GL_OK) {
        goto out;
    }
    snprintf(ca, sizeof ca, "%s/ca.crt", dir);
    snprintf(hcrt, sizeof hcrt, "%s/host.crt", dir);
    snprintf(hkey, sizeof hkey, "%s/host.key", dir);
    snprintf(tcrt, sizeof tcrt, "%s/term-B0000001.crt", dir);
    snprintf(tkey, sizeof tkey, "%s/term-B0000001.key", dir);
    scfg = (struct net_tls_config){
        .ca_file = ca, .cert_file = hcrt, .key_file = hkey};
    ccfg = (struct net_tls_config){.ca_file = ca,
                                   .cert_file = tcrt,
                                   .key_file = tkey,
                                   .server_cn = "gl-host"};
    if (net_ctx_new(&srv, NET_ROLE_SERVER, &scfg, err, sizeof err) != GL_OK ||
        net_ctx_new(&cli, NET_ROLE_CLIENT, &ccfg, err, sizeof err) != GL_OK) {
        fprintf(stderr, "bench_tls: %s\n", err);
        goto out;
    }
    if (net_listen(&l, "127.0.0.1", "0", 128) != GL_OK) {
        fprintf(stderr, "bench_tls: cannot listen\n");
        goto out;
    }
    snprintf(port, sizeof port, "%d", net_listener_port(l));

    for (int pass = 0; pass < 2; pass++) {
        const int want_resumed = pass == 1;
        long n = 0;
        int resumed;
        double t0, t;

        net_ctx_session_clear(cli);
        if (want_resumed &&
            one_handshake(l, srv, cli, port, &resumed) != GL_OK) {
            goto out; /* the full handshake that gives the ticket */
        }
        t0 = now_s();
        do {
            if (!want_resumed) {
                net_ctx_session_clear(cli);
            }
            if (one_handshake(l, srv, cli, port, &resumed) != GL_OK) {
                goto out;
            }
            if (resumed != want_resumed) {
                fprintf(stderr, "bench_tls: handshake %s resumed\n",
                        resumed ? "unexpectedly" : "not");
                goto out;
            }
            n++;
            t = now_s() - t0;
        } while (t < secs);
        printf("BENCH name=%s value=%.0f unit=handshakes/s\n",
               want_resumed ? "tls_resumed_handshake" : "tls_full_handshake",
               (double)n / t);
        fflush(stdout);
    }
    status = 0;
out:
    net_listener_close(l);
    net_ctx_free(cli);
    net_ctx_free(srv);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) {
        fprintf(stderr, "bench_tls: cannot remove %s\n", dir);
    }
    return status;
}
