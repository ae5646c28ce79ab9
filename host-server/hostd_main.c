/*
 * hostd_main.c - gl-hostd: the authorization host.
 *
 *   gl-hostd --config FILE [--check-config]
 *
 * --check-config reads the configuration and the key files it names, opens
 * the database and the TLS files, prints "config ok" and exits 0 (1 with
 * the reason otherwise).  Without it the host runs until SIGTERM or SIGINT
 * (commits in flight are finished and answered, connections closed, exit
 * 0); SIGHUP reopens the log.  Exit status 1: could not start; 2: usage.
 */
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "gl_config.h"
#include "gl_err.h"
#include "gl_log.h"
#include "hostd.h"
#include "hostd_int.h"
#include "net.h"

/* Set by the signal handlers only; read by the loops (atomics: they run on
 * other threads). */
static atomic_int hostd_stop, hostd_reopen;

static void on_stop(int sig)
{
    (void)sig;
    atomic_store(&hostd_stop, 1);
}

static void on_hup(int sig)
{
    (void)sig;
    atomic_store(&hostd_reopen, 1);
}

static void usage(FILE *f)
{
    fputs("usage: gl-hostd --config FILE [--check-config]\n", f);
}

static int check_config(const struct hostd_config *cfg)
{
    struct hostd_worker w;
    struct net_ctx *tls = NULL;
    struct net_tls_config tcfg = {.ca_file = cfg->ca_file,
                                  .cert_file = cfg->cert_file,
                                  .key_file = cfg->key_file};
    char err[NET_ERR_MAX];
    int rc = hostd_worker_init(&w, cfg, 0, err);
    if (rc != GL_OK) {
        fprintf(stderr, "gl-hostd: %s\n", err[0] ? err : gl_strerror(rc));
        hostd_worker_deinit(&w);
        return 1;
    }
    hostd_worker_deinit(&w);
    rc = net_ctx_new(&tls, NET_ROLE_SERVER, &tcfg, err, sizeof err);
    net_ctx_free(tls);
    if (rc != GL_OK) {
        fprintf(stderr, "gl-hostd: TLS: %s\n", err);
        return 1;
    }
    printf("config ok\n");
    return 0;
}

int main(int argc, char **argv)
{
    static struct hostd_config cfg;
    const char *path = NULL;
    char err[GL_CFG_ERR_MAX];
    int check = 0;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
            path = argv[++i];
        } else if (strcmp(argv[i], "--check-config") == 0) {
            check = 1;
        } else if (strcmp(argv[i], "--help") == 0 ||
                   strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        } else {
            usage(stderr);
            return 2;
        }
    }
    if (path == NULL) {
        usage(stderr);
        return 2;
    }
    if (hostd_config_load(&cfg, path, err) != GL_OK) {
        fprintf(stderr, "gl-hostd: %s\n", err);
        return 1;
    }
    /*
     * The loops run as threads, so their allocations live in glibc's
     * per-thread arenas, which give freed memory back with madvise() as
     * soon as the top of a heap is free.  Each of those madvise calls flushes
     * the TLB of every core; under load they took a third of the host's
     * time.  Keep freed memory instead: the host's working set is small and
     * steady.
     */
    mallopt(M_TRIM_THRESHOLD, 256 * 1024 * 1024);
    mallopt(M_MMAP_THRESHOLD, 16 * 1024 * 1024);
    gl_log_open("gl-hostd", cfg.syslog);
    gl_log_set_level((enum gl_log_level)gl_log_level_parse(cfg.log_level));
    if (check) {
        return check_config(&cfg);
    }

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sa.sa_handler = on_hup;
    sigaction(SIGHUP, &sa, NULL);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);

    int rc = hostd_run(&cfg, &hostd_stop, &hostd_reopen);
    GL_LOG_INFO("hostd", "stopped: %s", gl_strerror(rc));
    gl_log_close();
    return rc == GL_OK ? 0 : 1;
}
