/*
 * webd_card.c - gl-webd's card worker: a thread that runs the card
 * purchases (shop_purchase with SHOP_CARD) so that the acquirer's round
 * trip, up to [acquirer] timeout_ms, never blocks the HTTP thread.
 *
 * The HTTP thread checks the request's JSON, copies it into a job (the
 * request's own memory), suspends the connection (MHD_suspend_connection)
 * and queues the job; the worker runs the purchase on its own database
 * connection, registry, shop and acquirer client, stores the result in the
 * job and resumes the connection, whose handler then answers from the job.
 * One worker, one purchase at a time, in arrival order: the acquirer link
 * carries one request at a time anyway (acquirer.h).
 *
 * Stopping: webd_card_stop refuses new jobs, lets the running purchase
 * finish, resumes every queued connection with GL_EAGAIN (answered 503,
 * nothing done) and joins the thread, before the HTTP daemon stops, so no
 * connection stays suspended.  webd_card_free after the daemon is gone.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gl_err.h"
#include "gl_log.h"
#include "webd_int.h"

struct webd_card {
    const struct webd_config *cfg;
    struct store st;
    struct ledger lg;
    struct registry reg;
    struct crypto_rng rng;
    struct acq_client *acq;
    struct shop shop;
    int st_open, lg_ready, reg_ready, rng_ready, shop_ready, started;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct webd_card_job *head, *tail; /* queue, under mu */
    int stop;                          /* under mu */
};

static void wk_resume(struct webd_card_job *job, int rc)
{
    job->rc = rc;
    job->done = 1;
    MHD_resume_connection(job->c);
}

static void *wk_main(void *arg)
{
    struct webd_card *k = arg;
    for (;;) {
        pthread_mutex_lock(&k->mu);
        while (k->head == NULL && !k->stop) {
            pthread_cond_wait(&k->cv, &k->mu);
        }
        struct webd_card_job *job = k->head;
        if (job != NULL && !k->stop) {
            k->head = job->next;
            if (k->head == NULL) {
                k->tail = NULL;
            }
        }
        int stop = k->stop;
        pthread_mutex_unlock(&k->mu);
        if (stop) {
            break;
        }
        int rc = shop_purchase(&k->shop, &job->req, &job->res);
        wk_resume(job, rc);
    }
    /* Stopping: whatever is queued was not started. */
    pthread_mutex_lock(&k->mu);
    struct webd_card_job *job = k->head;
    k->head = k->tail = NULL;
    pthread_mutex_unlock(&k->mu);
    while (job != NULL) {
        struct webd_card_job *next = job->next;
        snprintf(job->res.err, sizeof job->res.err, "stopping");
        wk_resume(job, GL_EAGAIN);
        job = next;
    }
    return NULL;
}

static void wk_release(struct webd_card *k)
{
    if (k->shop_ready) {
        shop_close(&k->shop);
        k->shop_ready = 0;
    }
    acq_client_free(k->acq);
    k->acq = NULL;
    if (k->reg_ready) {
        registry_deinit(&k->reg);
        k->reg_ready = 0;
    }
    if (k->lg_ready) {
        ledger_deinit(&k->lg);
        k->lg_ready = 0;
    }
    if (k->st_open) {
        store_close(&k->st);
        k->st_open = 0;
    }
    if (k->rng_ready) {
        crypto_rng_deinit(&k->rng);
        k->rng_ready = 0;
    }
}

void webd_card_free(struct webd_card *k)
{
    if (k == NULL) {
        return;
    }
    webd_card_stop(k);
    wk_release(k);
    pthread_cond_destroy(&k->cv);
    pthread_mutex_destroy(&k->mu);
    free(k);
}

void webd_card_stop(struct webd_card *k)
{
    if (k == NULL || !k->started) {
        return;
    }
    pthread_mutex_lock(&k->mu);
    k->stop = 1;
    pthread_cond_signal(&k->cv);
    pthread_mutex_unlock(&k->mu);
    pthread_join(k->thread, NULL);
    k->started = 0;
}

int webd_card_start(const struct webd_config *cfg, struct webd_card **out,
                    char *err)
{
    struct registry_config rcfg;
    int rc;
    *out = NULL;
    if (cfg->acq_host[0] == '\0') {
        return GL_OK;
    }
    struct webd_card *k = calloc(1, sizeof *k);
    if (k == NULL) {
        snprintf(err, 256, "card worker: out of memory");
        return GL_ENOMEM;
    }
    k->cfg = cfg;
    pthread_mutex_init(&k->mu, NULL);
    pthread_cond_init(&k->cv, NULL);
    rc = store_open(&k->st, NULL, NULL, cfg->db_path);
    k->st_open = rc == GL_OK;
    if (rc != GL_OK) {
        snprintf(err, 256, "card worker: database %.100s: %s", cfg->db_path,
                 gl_strerror(rc));
        goto out;
    }
    rc = ledger_init(&k->lg, &k->st, NULL);
    k->lg_ready = rc == GL_OK;
    if (rc == GL_OK) {
        rc = crypto_rng_init(&k->rng, "gl-webd-card");
        k->rng_ready = 1;
    }
    if (rc == GL_OK) {
        memset(&rcfg, 0, sizeof rcfg);
        rcfg.f_rng = crypto_rng_fill;
        rcfg.p_rng = &k->rng;
        rc = registry_init(&k->reg, &k->lg, &rcfg);
        k->reg_ready = 1;
    }
    if (rc != GL_OK) {
        snprintf(err, 256, "card worker: %s", gl_strerror(rc));
        goto out;
    }
    rc = webd_acq_new(cfg, &k->acq, err);
    if (rc != GL_OK) {
        goto out;
    }
    struct shop_config scfg = {.bill_limit = cfg->bill_limit};
    rc = shop_open(&k->shop, &k->reg, k->acq, &scfg);
    if (rc != GL_OK) {
        snprintf(err, 256, "card worker: shop: %s", gl_strerror(rc));
        goto out;
    }
    k->shop_ready = 1;
    if (pthread_create(&k->thread, NULL, wk_main, k) != 0) {
        snprintf(err, 256, "card worker: cannot start its thread");
        rc = GL_EOS;
        goto out;
    }
    k->started = 1;
    GL_LOG_INFO("webd", "cards: through the acquirer at %s:%lld (%s)",
                cfg->acq_host, cfg->acq_port, cfg->acq_plain ? "plain" : "TLS");
    *out = k;
out:
    if (rc != GL_OK) {
        webd_card_free(k);
    }
    return rc;
}

int webd_card_submit(struct webd_card *k, struct webd_card_job *job)
{
    int rc = GL_OK;
    job->next = NULL;
    job->done = 0;
    pthread_mutex_lock(&k->mu);
    if (k->stop || !k->started) {
        rc = GL_EAGAIN;
    } else {
        /* Suspended before the worker can see it, so its resume always
         * follows the suspension. */
        MHD_suspend_connection(job->c);
        if (k->tail != NULL) {
            k->tail->next = job;
        } else {
            k->head = job;
        }
        k->tail = job;
        pthread_cond_signal(&k->cv);
    }
    pthread_mutex_unlock(&k->mu);
    return rc;
}
