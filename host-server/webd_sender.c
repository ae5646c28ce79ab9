/*
 * webd_sender.c - gl-webd's sender thread, with its own database connection
 * (and its own ledger, registry, shop and gift handles over it):
 *  - with an SMSC configured, it sends the outbox's due rows
 *    (notify_send_due: MMS through [mmsc] url when set, then SMS) and
 *    serves the link between rounds (receipts, enquire_link:
 *    notify_sender_poll).  Without an SMSC the rows stay queued for
 *    whatever sender the deployment runs.
 *  - every [jobs] notice_period: online_notify_expiring ([jobs]
 *    notice_days ahead: one SMS per voucher and expiry date);
 *  - every [jobs] period: gift_expire_due (unclaimed gifts back to their
 *    givers), shop_purge_card_data (card data kept for refunds, past the
 *    window) and, with an [acquirer], shop_flush_reversals (its own
 *    client: the HTTP thread's is never shared).
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
    struct ledger lg;
    struct registry reg;
    struct crypto_rng rng;
    struct acq_client *acq;
    struct shop shop;
    struct gift gift;
    struct online online;
    int lg_ready, reg_ready, rng_ready, shop_ready, gift_ready, online_ready;
    int64_t next_notices;
    pthread_t thread;
    atomic_int stop;
};

static void ws_sleep_ms(int ms)
{
    struct timespec ts = {.tv_sec = ms / 1000,
                          .tv_nsec = (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* The periodic jobs: expired gifts back, due card reversals sent. */
static void ws_jobs(struct webd_sender *s, int64_t now)
{
    int n = 0, sent = 0, left = 0;
    int rc = gift_expire_due(&s->gift, now, &n);
    if (rc != GL_OK) {
        GL_LOG_WARN("webd", "jobs: gift expiry: %s (%.150s)", gl_strerror(rc),
                    gift_errmsg(&s->gift));
    } else if (n > 0) {
        GL_LOG_INFO("webd", "jobs: %d unclaimed gift(s) returned", n);
    }
    rc = shop_purge_card_data(&s->shop);
    if (rc != GL_OK) {
        GL_LOG_WARN("webd", "jobs: kept card data: %s (%.150s)",
                    gl_strerror(rc), shop_errmsg(&s->shop));
    }
    if (s->acq != NULL) {
        rc = shop_flush_reversals(&s->shop, &sent, &left);
        if (rc != GL_OK) {
            GL_LOG_WARN("webd", "jobs: reversals: %s (%.150s)", gl_strerror(rc),
                        shop_errmsg(&s->shop));
        } else if (sent > 0 || left > 0) {
            GL_LOG_INFO("webd", "jobs: reversals: %d answered, %d waiting",
                        sent, left);
        }
    }
}

/* The expiry notices, every [jobs] notice_period. */
static void ws_notices(struct webd_sender *s, int64_t now)
{
    int n = 0;
    if (now < s->next_notices) {
        return;
    }
    s->next_notices = now + s->cfg->notice_period;
    int rc =
        online_notify_expiring(&s->online, now, (int)s->cfg->notice_days, &n);
    if (rc != GL_OK) {
        GL_LOG_WARN("webd", "jobs: expiry notices: %s (%.150s)",
                    gl_strerror(rc), online_errmsg(&s->online));
    } else if (n > 0) {
        GL_LOG_INFO("webd", "jobs: %d expiry notice(s) queued", n);
    }
}

static void *ws_main(void *arg)
{
    struct webd_sender *s = arg;
    int last_rc = GL_OK;
    int64_t next_jobs = 0;
    while (!atomic_load(&s->stop)) {
        int64_t now = (int64_t)time(NULL);
        int sent = 0;
        if (now >= next_jobs) {
            ws_jobs(s, now);
            ws_notices(s, now);
            next_jobs = now + s->cfg->jobs_period;
        }
        if (!s->ns_ready) {
            ws_sleep_ms(WS_POLL_MS);
            continue;
        }
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
    if (s->online_ready) {
        online_close(&s->online);
    }
    if (s->gift_ready) {
        gift_close(&s->gift);
    }
    if (s->shop_ready) {
        shop_close(&s->shop);
    }
    acq_client_free(s->acq);
    if (s->reg_ready) {
        registry_deinit(&s->reg);
    }
    if (s->lg_ready) {
        ledger_deinit(&s->lg);
    }
    if (s->rng_ready) {
        crypto_rng_deinit(&s->rng);
    }
    if (s->st_open) {
        store_close(&s->st);
    }
    free(s);
}

/* The handles of the periodic jobs, over the thread's own connection. */
static int ws_open_jobs(struct webd_sender *s, char *err)
{
    const struct webd_config *cfg = s->cfg;
    struct registry_config rcfg;
    int rc = ledger_init(&s->lg, &s->st, NULL);
    if (rc != GL_OK) {
        snprintf(err, 256, "sender: ledger: %s", gl_strerror(rc));
        return rc;
    }
    s->lg_ready = 1;
    rc = crypto_rng_init(&s->rng, "gl-webd-jobs");
    s->rng_ready = 1;
    if (rc != GL_OK) {
        snprintf(err, 256, "sender: random generator: %s", gl_strerror(rc));
        return rc;
    }
    memset(&rcfg, 0, sizeof rcfg);
    rcfg.f_rng = crypto_rng_fill;
    rcfg.p_rng = &s->rng;
    rc = registry_init(&s->reg, &s->lg, &rcfg);
    s->reg_ready = 1;
    if (rc != GL_OK) {
        snprintf(err, 256, "sender: registry: %s", gl_strerror(rc));
        return rc;
    }
    rc = webd_acq_new(cfg, &s->acq, err);
    if (rc != GL_OK) {
        return rc;
    }
    struct shop_config scfg = {.bill_limit = cfg->bill_limit};
    rc = shop_open(&s->shop, &s->reg, s->acq, &scfg);
    if (rc != GL_OK) {
        snprintf(err, 256, "sender: shop: %s", gl_strerror(rc));
        return rc;
    }
    s->shop_ready = 1;
    struct gift_config gcfg = {
        .content_dir = cfg->content_dir[0] ? cfg->content_dir : NULL,
        .claim_base = cfg->claim_base,
        .expire_days = (int)cfg->expire_days,
    };
    rc = gift_open(&s->gift, &s->reg, &gcfg);
    if (rc != GL_OK) {
        snprintf(err, 256, "sender: gift: %s", gl_strerror(rc));
        return rc;
    }
    s->gift_ready = 1;
    rc = online_open(&s->online, &s->reg, NULL);
    if (rc != GL_OK) {
        snprintf(err, 256, "sender: online: %s", gl_strerror(rc));
        return rc;
    }
    s->online_ready = 1;
    return GL_OK;
}

int webd_sender_start(const struct webd_config *cfg, struct webd_sender **out,
                      char *err)
{
    *out = NULL;
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
    rc = ws_open_jobs(s, err);
    if (rc != GL_OK) {
        ws_free(s);
        return rc;
    }
    if (cfg->smsc_host[0] == '\0') {
        GL_LOG_INFO("webd", "no SMSC configured: codes stay in the outbox");
        goto start;
    }
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
    if (cfg->mmsc_url[0] != '\0') {
        ncfg.mms.url = cfg->mmsc_url;
        ncfg.mms.user = cfg->mmsc_user[0] ? cfg->mmsc_user : NULL;
        ncfg.mms.password = cfg->mmsc_password[0] ? cfg->mmsc_password : NULL;
        ncfg.mms.vasp_id = cfg->mmsc_vasp_id[0] ? cfg->mmsc_vasp_id : NULL;
        ncfg.mms.vas_id = cfg->mmsc_vas_id[0] ? cfg->mmsc_vas_id : NULL;
        ncfg.mms.sender = cfg->mmsc_sender[0] ? cfg->mmsc_sender : NULL;
        ncfg.mms.connect_timeout_ms = 3000;
        ncfg.mms.timeout_ms = 10000;
    }
    rc = notify_sender_init(&s->ns, (sqlite3 *)s->st.db, &ncfg);
    if (rc != GL_OK) {
        snprintf(err, 256, "sender: %s", gl_strerror(rc));
        ws_free(s);
        return rc;
    }
    s->ns_ready = 1;
    GL_LOG_INFO("webd", "sms: sending through %s:%lld%s", cfg->smsc_host,
                cfg->smsc_port, cfg->mmsc_url[0] ? " (and MMS)" : "");
start:
    if (pthread_create(&s->thread, NULL, ws_main, s) != 0) {
        snprintf(err, 256, "sender: cannot start its thread");
        ws_free(s);
        return GL_EOS;
    }
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
