/*
 * hostd.h - gl-hostd, the authorization host: configuration and the
 * server's entry point.
 *
 * Contract:
 *  - The configuration is an INI file (lib/common/gl_config.h); every key
 *    is listed in hostd_config.c and in etc/gl-hostd.ini.  It is read once
 *    before start and is the only mutable global state of the process.
 *  - hostd_run starts cfg->loops event loops (threads), each with its own
 *    TLS context and epoll set, all accepting from one listening socket
 *    (EPOLLEXCLUSIVE wakes one loop, which deals the connections out to
 *    the loops in turn); the loops share one ledger writer (one database
 *    connection, taken by one loop's group commit at a time) and the sync
 *    threads that make the commits durable before their answers leave
 *    (hostd_loop.c).  It returns when *stop becomes non-zero
 *    (SIGTERM): every loop finishes the group commit in flight, answers it
 *    once it is synced, and closes its connections.
 *  - *reopen_logs (SIGHUP) makes the first loop that sees it reopen the log.
 *  - Both flags are atomics: the signal handlers run on the main thread and
 *    the loops read them on theirs (a lock-free atomic_int is safe to set
 *    from a handler).
 */
#ifndef HOSTD_H
#define HOSTD_H

#include <stdatomic.h>
#include <stdint.h>

#define HOSTD_PATH_MAX 512

struct hostd_config {
    /* [listen] */
    char address[64];
    char port[16];
    long long loops;   /* event loops (threads), 1..64; default 1 */
    long long backlog;
    /* [tls] */
    char ca_file[HOSTD_PATH_MAX];
    char cert_file[HOSTD_PATH_MAX];
    char key_file[HOSTD_PATH_MAX];
    /* [db] */
    char db_path[HOSTD_PATH_MAX];
    /* [keys] */
    char bdk_file[HOSTD_PATH_MAX];
    char bdk_type[16];        /* aes128 | aes256 | tdes */
    char pin_key_file[HOSTD_PATH_MAX]; /* raw bytes, 16..64; "" none */
    char imk_file[HOSTD_PATH_MAX];     /* phone wallet IMK, hex; "" none */
    /* [policy] seconds unless said otherwise */
    long long void_window;
    long long hold_timeout;
    long long reload_max;     /* KRW: largest balance after a reload */
    long long frame_timeout;  /* an unfinished frame */
    long long idle_timeout;   /* a connection without a message */
    long long handshake_timeout;
    long long mac_failures;   /* MAC failures that close a connection */
    long long max_conns;      /* per loop */
    /* [limits] enumeration cool-downs */
    long long term_declines;  /* more than this many 14s per window... */
    long long term_window;
    long long term_cooldown;  /* ...answer 05 for this long */
    long long voucher_declines;
    long long voucher_window;
    long long voucher_cooldown;
    /* [log] */
    char log_level[16];
    int syslog;
};

/* Fills cfg with the defaults, then reads path over them.  Returns GL_OK,
 * or GL_ECONFIG / GL_EIO with the reason in err (GL_CFG_ERR_MAX bytes). */
int hostd_config_load(struct hostd_config *cfg, const char *path, char *err);

/* Runs the server (see the file comment).  Returns GL_OK after a clean
 * stop, or the error that kept it from starting (logged). */
int hostd_run(const struct hostd_config *cfg, atomic_int *stop,
              atomic_int *reopen_logs);

#endif /* HOSTD_H */
