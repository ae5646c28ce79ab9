/*
 * term_main.c - gl-term: start-up, recovery and the event loop.
 *
 *   gl-term --config FILE [--script | --screen | --check-config]
 *
 * Start-up: the configuration, the journal (created on first start), the
 * DUKPT state (from the journal; on the first start from the key file of
 * `glctl pki ikey`, then saved in the journal), the devices, recovery of
 * unfinished work (0420 owed for every request without an answer), sign-on
 * and what is owed sent before the first command.  --script (the default
 * when stdin is not a terminal) reads one command a line from stdin and
 * prints one result line each; --screen is the cashier's ncurses screen.
 * SIGTERM, SIGINT, `quit` or the end of the script: sign-off, stop.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gl_err.h"
#include "gl_log.h"
#include "term.h"

#define MOD "term"

static volatile sig_atomic_t g_stop;

/*
 * SQLite's page cache in memory reserved at start: the journal's pages
 * (4 KiB, cache_size = 512 KiB) never come from the heap, so the heap does
 * not grow as the cache fills during the first thousands of transactions.
 * Pages beyond these come from malloc as usual.
 */
#define PCACHE_PAGES 136
#define PCACHE_SLOT (4096 + 512)
static _Alignas(16) unsigned char g_pcache[PCACHE_PAGES * PCACHE_SLOT];

static void sqlite_memory(void)
{
    int hdr = 0;
    if (sqlite3_config(SQLITE_CONFIG_PCACHE_HDRSZ, &hdr) != SQLITE_OK ||
        hdr <= 0 || 4096 + hdr > PCACHE_SLOT) {
        return; /* the default allocator then */
    }
    int slot = (4096 + hdr + 15) & ~15;
    (void)sqlite3_config(SQLITE_CONFIG_PAGECACHE, g_pcache, slot,
                         (int)(sizeof g_pcache / (size_t)slot));
}

static void on_signal(int sig)
{
    (void)sig;
    g_stop = 1;
}

int term_should_stop(const struct term *t)
{
    return g_stop || t->stopping;
}

static int load_keys(struct term *t, char *err, size_t errlen)
{
    uint8_t blob[CRYPTO_DUKPT_AES_BLOB_LEN];
    size_t n = 0;
    int rc = tj_meta_blob(&t->j, "dukpt", blob, sizeof blob, &n);
    if (rc == GL_OK) {
        rc = n == sizeof blob ? crypto_dukpt_aes_term_restore(&t->dk, blob)
                              : GL_EINVAL;
        crypto_wipe(blob, sizeof blob);
        if (rc != GL_OK) {
            snprintf(err, errlen, "the DUKPT state in the journal is damaged: "
                     "load a new initial key");
        }
        return rc;
    }
    if (rc != GL_ENOTFOUND) {
        snprintf(err, errlen, "journal: %s", gl_strerror(rc));
        return rc;
    }
    /* first start: the initial key from its file, then kept in the journal */
    char text[1024];
    struct crypto_ikey ik;
    FILE *f = fopen(t->cfg.ikey, "r");
    if (f == NULL) {
        snprintf(err, errlen, "%s: %s", t->cfg.ikey, strerror(errno));
        return GL_EIO;
    }
    n = fread(text, 1, sizeof text, f);
    fclose(f);
    rc = crypto_ikey_parse(text, n, &ik);
    crypto_wipe(text, sizeof text);
    if (rc == GL_OK) {
        rc = crypto_dukpt_aes_term_load(&t->dk, ik.key, ik.type, ik.key_id);
    }
    crypto_wipe(&ik, sizeof ik);
    if (rc == GL_OK) {
        rc = dev_persist_dukpt(t, &t->dk);
    }
    if (rc != GL_OK) {
        snprintf(err, errlen, "%s: not a usable initial key (%s)", t->cfg.ikey,
                 gl_strerror(rc));
    } else {
        GL_LOG_INFO(MOD, "initial DUKPT key loaded from %s", t->cfg.ikey);
    }
    return rc;
}

/* Reads one line from fd 0 byte by byte, so that nothing after it is taken
 * from the PIN pad when that reads fd 0 too.  1: a line, 0: not yet, -1:
 * end of input. */
static int read_line(char *buf, size_t cap, size_t *len)
{
    for (;;) {
        char c;
        ssize_t n = read(0, &c, 1);
        if (n == 0) {
            return -1;
        }
        if (n < 0) {
            return errno == EAGAIN || errno == EINTR ? 0 : -1;
        }
        if (c == '\n') {
            buf[*len] = '\0';
            *len = 0;
            return 1;
        }
        if (*len + 1 < cap) {
            buf[(*len)++] = c;
        }
        struct pollfd p = {.fd = 0, .events = POLLIN};
        if (poll(&p, 1, 0) <= 0) {
            return 0;
        }
    }
}

static int run_script(struct term *t)
{
    char line[512];
    size_t len = 0;

    printf("ready tid=%s batch=%06d link=%s\n", t->cfg.tid, t->batch,
           t->link.signed_on ? "up" : "down");
    fflush(stdout);
    while (!term_should_stop(t)) {
        struct pollfd p[2] = {{.fd = 0, .events = POLLIN},
                              {.fd = link_fd(t), .events = POLLIN}};
        int n = poll(p, p[1].fd >= 0 ? 2 : 1, 1000);
        if (n < 0 && errno != EINTR) {
            break;
        }
        if (n > 0 && (p[0].revents & (POLLIN | POLLHUP))) {
            int r = read_line(line, sizeof line, &len);
            if (r < 0) {
                break; /* end of the script */
            }
            if (r > 0) {
                /* a decline is an answer, not a failure of the script */
                (void)ui_script_line(t, line);
            }
        }
        link_tick(t);
        if (tx_journal_retry(t) == GL_OK) {
            (void)tx_flush(t, 0);
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    static struct term term; /* large: keep it off the stack */
    struct term *t = &term;
    const char *cfg_path = NULL;
    char err[512];
    int mode = -1, check_only = 0, rc;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
            cfg_path = argv[++i];
        } else if (strcmp(argv[i], "--script") == 0) {
            mode = 1;
        } else if (strcmp(argv[i], "--screen") == 0) {
            mode = 0;
        } else if (strcmp(argv[i], "--check-config") == 0) {
            check_only = 1;
        } else {
            fprintf(stderr, "usage: gl-term --config FILE [--script | --screen | "
                            "--check-config]\n");
            return 2;
        }
    }
    if (cfg_path == NULL) {
        fprintf(stderr, "usage: gl-term --config FILE [--script | --screen]\n");
        return 2;
    }
    rc = term_config_load(&t->cfg, cfg_path, err, sizeof err);
    if (rc != GL_OK) {
        fprintf(stderr, "gl-term: %s\n", err);
        return 1;
    }
    if (check_only) {
        printf("%s: ok\n", cfg_path);
        return 0;
    }
    t->script = mode >= 0 ? mode : !isatty(0);
    gl_log_open("gl-term", t->cfg.log_syslog);
    gl_log_set_level((enum gl_log_level)gl_log_level_parse(t->cfg.log_level));
    term_lang_parse(t->cfg.lang, &t->lang);
    snprintf(t->ident.tid, sizeof t->ident.tid, "%.8s", t->cfg.tid);
    snprintf(t->ident.merchant, sizeof t->ident.merchant, "%.15s",
             t->cfg.merchant);
    snprintf(t->ident.header, sizeof t->ident.header, "%.127s", t->cfg.header);
    t->ident.lang = t->lang;
    hal_clock_init(&t->clock, NULL, 0);

    signal(SIGPIPE, SIG_IGN);
    /* a file-size limit must fail a journal write (EFBIG -> "storage
     * full"), not kill the terminal mid-transaction */
    signal(SIGXFSZ, SIG_IGN);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);

    sqlite_memory();
    rc = crypto_rng_init(&t->rng, "gl-term");
    if (rc == GL_OK) {
        rc = tj_open(&t->j, t->cfg.journal, err, sizeof err);
        if (rc != GL_OK) {
            GL_LOG_ERR(MOD, "%s", err);
        }
    }
    if (rc == GL_OK) {
        rc = load_keys(t, err, sizeof err);
        if (rc != GL_OK) {
            GL_LOG_ERR(MOD, "%s", err);
        }
    }
    if (rc == GL_OK) {
        int64_t bn = 0;
        if (tj_meta_int(&t->j, "batch", &bn) != GL_OK || bn < 1) {
            bn = 1;
            rc = tj_meta_set_int(&t->j, "batch", bn);
        }
        t->batch = (int)bn;
    }
    if (rc == GL_OK) {
        rc = link_init(t, err, sizeof err);
        if (rc != GL_OK) {
            GL_LOG_ERR(MOD, "TLS: %s", err);
        }
    }
    if (rc == GL_OK) {
        rc = escpos_enc_init(&t->enc, t->print_buf, sizeof t->print_buf);
    }
    if (rc != GL_OK) {
        tj_close(&t->j);
        crypto_rng_deinit(&t->rng);
        return 1;
    }
    dev_open_all(t);
    rc = tx_recover(t);
    if (rc != GL_OK) {
        GL_LOG_ERR(MOD, "recovery: %s", gl_strerror(rc));
    }
    if (link_up(t, 1) == GL_OK) {
        (void)tx_flush(t, 1);
    }
    GL_LOG_INFO(MOD, "terminal %s ready, batch %06d", t->cfg.tid, t->batch);
    if (tx_close_pending(t)) {
        /* a close was sent and its answer never journalled: finish it
         * first, with the same identity (term_txn.c send_0500) */
        char line[] = "close";
        GL_LOG_WARN(MOD, "the close of batch %06d was interrupted: resuming",
                    t->batch);
        if (t->script) {
            printf("resume close\n");
        }
        (void)ui_script_line(t, line);
    }

    rc = t->script ? run_script(t) : ui_run_screen(t);

    link_signoff(t);
    dev_close_all(t);
    link_free(t);
    escpos_enc_deinit(&t->enc);
    crypto_dukpt_aes_term_wipe(&t->dk);
    tj_close(&t->j);
    crypto_rng_deinit(&t->rng);
    GL_LOG_INFO(MOD, "stopped");
    gl_log_close();
    return rc;
}
