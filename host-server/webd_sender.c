/*
 * webd_sender.c - gl-webd's SMS sender: a thread with its own database
 * connection that sends the outbox's due rows through the configured SMSC
 * (notify_send_due) and serves the link between rounds (receipts,
 * enquire_link: notify_sender_poll).  Without an SMSC no thread runs and
 * sign-in codes stay queued for whatever sender the deployment runs.
 *
 * libsmpp34 keeps its error text in process globals: this thread is the
 * only user of the SMPP client in the process.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gl_err.h"
#include "gl_log.h"
#include "notify.h"
#include "webd.h"

/* How long the thread waits on the link between rounds; also the longest
 * delay before a fresh code's SMS is taken, and the stop latency. */
#define WS_POLL_MS 200

struct webd_sender {
    const struct webd_config *cfg;
    struct store st;
    int st_open;
    struct notify_sender ns;
    int ns_ready;
    pthread_t thread;
    atomic_int stop;
};

static void ws_sleep_ms(int ms)
{
    struct timespec ts = {.tv_sec = ms / 1000,
                          .tv_nsec = (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void *ws_main(void *arg)
{
    struct webd_sender *s = arg;
    int last_rc = GL_OK;
    while (!atomic_load(&s->stop)) {
        int64_t now = (int64_t)time(NULL);
        int sent = 0;
        int rc = notify_send_due(&s->ns, now, &sent);
        if (rc != last_rc && rc != GL_EAGAIN) {
            if (rc != GL_OK) {
                GL_LOG_WARN("webd", "sms: %s (%s)", gl_strerror(rc),
                            notify_sender_errmsg(&s->ns));
            } else {
                GL_LOG_INFO("webd", "sms: sending again");
            }
            last_rc = rc;
        }
        if (sent > 0) {
            GL_LOG_INFO("webd", "sms: %d sent", sent);
        }
        if (notify_sender_poll(&s->ns, now, WS_POLL_MS) != GL_OK) {
            ws_sleep_ms(WS_POLL_MS); /* no link: do not spin */
        }
    }
    return NULL;
}

static void ws_free(struct webd_sender *s)
{
    if (s->ns_ready) {
        notify_sender_deinit(&s->ns);
    }
    if (s->st_open) {
        store_close(&s->st);
    }
    free(s);
}

int webd_sender_start(const struct webd_config *cfg, struct webd_sender **out,
                      char *err)
{
    *out = NULL;
    if (cfg->smsc_host[0] == '\0') {
        GL_LOG_INFO("webd", "no SMSC configured: codes stay in the outbox");
        return GL_OK;
    }
    struct webd_sender *s = calloc(1, sizeof *s);
    if (s == NULL) {
        snprintf(err, 256, "out of memory");
        return GL_ENOMEM;
    }
    s->cfg = cfg;
    int rc = store_open(&s->st, NULL, NULL, cfg->db_path);
    if (rc != GL_OK) {
        snprintf(err, 256, "sender: database %.100s: %s", cfg->db_path,
                 gl_strerror(rc));
        ws_free(s);
        return rc;
    }
    s->st_open = 1;
    struct notify_sender_config ncfg;
    memset(&ncfg, 0, sizeof ncfg);
    ncfg.smpp.host = cfg->smsc_host;
    ncfg.smpp.port = (uint16_t)cfg->smsc_port;
    ncfg.smpp.system_id = cfg->smsc_system_id;
    ncfg.smpp.password = cfg->smsc_password;
    ncfg.smpp.source_addr = cfg->smsc_source[0] ? cfg->smsc_source : NULL;
    ncfg.smpp.connect_timeout_ms = 3000;
    ncfg.smpp.resp_timeout_ms = 5000;
    ncfg.retry.base_s = 2;
    ncfg.retry.cap_s = 60;
    rc = notify_sender_init(&s->ns, (sqlite3 *)s->st.db, &ncfg);
    if (rc != GL_OK) {
        snprintf(err, 256, "sender: %s", gl_strerror(rc));
        ws_free(s);
        return rc;
    }
    s->ns_ready = 1;
    if (pthread_create(&s->thread, NULL, ws_main, s) != 0) {
        snprintf(err, 256, "sender: cannot start its thread");
        ws_free(s);
        return GL_EOS;
    }
    GL_LOG_INFO("webd", "sms: sending through %s:%lld", cfg->smsc_host,
                cfg->smsc_port);
    *out = s;
    return GL_OK;
}

void webd_sender_stop(struct webd_sender *s)
{
    if (s == NULL) {
        return;
    }
    atomic_store(&s->stop, 1);
    pthread_join(s->thread, NULL);
    ws_free(s);
}
