/*
 * webd_main.c - gl-webd: the customer HTTP JSON API (docs/customer-api.md).
 *
 *   gl-webd --config FILE [--check-config | --make-merchant-key MERCHANT]
 *
 * A separate process from gl-hostd on purpose: the internet-facing HTTP
 * server shares only the database file (SQLite, WAL) with the host, never
 * its memory, keys or the terminal link.
 *
 * --check-config reads the configuration, the OTP key and the info file,
 * opens the database, prints "config ok" and exits 0 (1 with the reason).
 * Without it the server runs until SIGTERM or SIGINT: the HTTP daemon stops
 * (requests in flight finish), the sender thread is joined, exit 0.  Exit
 * status 1: could not start; 2: usage.
 *
 * --make-merchant-key MERCHANT (an operator's command, run on the host)
 * makes an API key for the registered merchant's web shop (online.h:
 * online_key_add), prints it once on stdout and exits 0; only its id and
 * a hash are stored.  Exit 1: no such merchant or a storage error.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "gl_config.h"
#include "gl_err.h"
#include "gl_log.h"
#include "webd.h"

static void usage(FILE *f)
{
    fputs("usage: gl-webd --config FILE [--check-config | "
          "--make-merchant-key MERCHANT]\n",
          f);
}

int main(int argc, char **argv)
{
    static struct webd_config cfg;
    static struct webd w;
    struct webd_http *http = NULL;
    struct webd_sender *sender = NULL;
    const char *path = NULL, *mkey = NULL;
    char err[GL_CFG_ERR_MAX];
    int check = 0, rc, status = 1;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
            path = argv[++i];
        } else if (strcmp(argv[i], "--check-config") == 0) {
            check = 1;
        } else if (strcmp(argv[i], "--make-merchant-key") == 0 &&
                   i + 1 < argc) {
            mkey = argv[++i];
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
    if (webd_config_load(&cfg, path, err) != GL_OK) {
        fprintf(stderr, "gl-webd: %s\n", err);
        return 1;
    }
    gl_log_open("gl-webd", cfg.syslog);
    gl_log_set_level((enum gl_log_level)gl_log_level_parse(cfg.log_level));

    /* Block the stop signals before any thread starts, so that every
     * thread inherits the mask and only sigwait below takes them. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    rc = webd_open(&w, &cfg, err);
    if (rc != GL_OK) {
        fprintf(stderr, "gl-webd: %s\n", err[0] ? err : gl_strerror(rc));
        goto out;
    }
    if (mkey != NULL) {
        char key[ONLINE_KEY_LEN + 1];
        rc = online_key_add(&w.online, mkey, key);
        if (rc == GL_OK) {
            printf("%s\n", key);
            status = 0;
        } else {
            fprintf(stderr, "gl-webd: merchant %s: %s\n", mkey,
                    rc == GL_ENOTFOUND ? "no such merchant" : gl_strerror(rc));
        }
        crypto_wipe(key, sizeof key);
        goto out;
    }
    if (check) {
        printf("config ok\n");
        status = 0;
        goto out;
    }
    rc = webd_card_start(&cfg, &w.card, err);
    if (rc == GL_OK) {
        rc = webd_sender_start(&cfg, &sender, err);
    }
    if (rc == GL_OK) {
        rc = webd_http_start(&w, &http, err);
    }
    if (rc != GL_OK) {
        GL_LOG_ERR("webd", "%s", err[0] ? err : gl_strerror(rc));
        goto out;
    }
    int sig = 0;
    sigwait(&set, &sig);
    GL_LOG_INFO("webd", "signal %d: stopping", sig);
    status = 0;
out:
    webd_card_stop(w.card); /* no connection left suspended */
    webd_http_stop(http);
    webd_card_free(w.card);
    w.card = NULL;
    webd_sender_stop(sender);
    webd_close(&w);
    if (!check) {
        GL_LOG_INFO("webd", "stopped");
    }
    gl_log_close();
    return status;
}
