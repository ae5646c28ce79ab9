/*
 * bench_crypto.c - the per-message crypto cost of the host link:
 *   cmac_aes128_200B     AES-CMAC over a 200-byte message (a typical packed
 *                        0200), ns per MAC
 *   dukpt_aes128_host_key  host-side AES DUKPT: BDK + KSN -> MAC key
 *                        (initial key, one derivation per counter one-bit,
 *                        working key); counters 1..65535 in turn (8 one-bits
 *                        on average), ns per key
 *   dukpt_aes256_host_key  the same with an AES-256 BDK
 *   dukpt_aes128_term_next the terminal's step to its next transaction
 *
 * Each runs batches until at least 0.5 s have passed on CLOCK_MONOTONIC and
 * prints `BENCH name=<name> value=<ns per op> unit=ns/op`.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "crypto.h"
#include "crypto_dukpt.h"
#include "gl_err.h"

#define MIN_NS 500000000LL

static volatile uint8_t sink;

static long long now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

typedef int (*bench_fn)(void *ctx, uint32_t i);

/* Runs fn in growing batches for at least MIN_NS; prints the BENCH line.
 * Returns 0, or 1 when fn failed. */
static int bench_run(const char *name, bench_fn fn, void *ctx)
{
    long long start = now_ns(), elapsed = 0, ops = 0, batch = 64;
    uint32_t i = 0;

    while (elapsed < MIN_NS) {
        for (long long k = 0; k < batch; k++) {
            if (fn(ctx, i++) != GL_OK) {
                printf("# %s failed\n", name);
                return 1;
            }
        }
        ops += batch;
        batch *= 2;
        elapsed = now_ns() - start;
    }
    printf("BENCH name=%s value=%.1f unit=ns/op\n", name,
           (double)elapsed / (double)ops);
    fflush(stdout);
    return 0;
}

struct cmac_ctx {
    uint8_t key[16];
    uint8_t msg[200];
};

static int bench_cmac(void *p, uint32_t i)
{
    struct cmac_ctx *c = p;
    uint8_t mac[16];
    int rc;

    c->msg[0] = (uint8_t)i;
    rc = crypto_cmac_aes(c->key, 16, c->msg, sizeof c->msg, mac);
    sink ^= mac[0];
    return rc;
}

struct host_ctx {
    enum crypto_key_type type;
    uint8_t bdk[32];
    uint8_t ksn[12];
};

static int bench_host_key(void *p, uint32_t i)
{
    struct host_ctx *c = p;
    uint8_t key[32];
    uint32_t counter = i % 65535 + 1;
    int rc;

    c->ksn[10] = (uint8_t)(counter >> 8);
    c->ksn[11] = (uint8_t)counter;
    rc = crypto_dukpt_aes_host_key(c->bdk, c->type, c->ksn,
                                   CRYPTO_USAGE_MAC_GEN, c->type, key);
    sink ^= key[0];
    crypto_wipe(key, sizeof key);
    return rc;
}

struct term_ctx {
    struct crypto_dukpt_aes_term t;
    uint8_t ik[16];
    uint8_t key_id[8];
};

static int bench_term_next(void *p, uint32_t i)
{
    struct term_ctx *c = p;
    struct crypto_dukpt_aes_txn txn;
    int rc;

    (void)i;
    rc = crypto_dukpt_aes_term_next(&c->t, &txn);
    if (rc == GL_OK) {
        sink ^= txn.dk[0];
        crypto_dukpt_aes_txn_wipe(&txn);
    }
    return rc;
}

int main(void)
{
    static struct cmac_ctx cm;
    static struct host_ctx h128, h256;
    static struct term_ctx tc;
    int bad = 0;

    crypto_hex_decode("2B7E151628AED2A6ABF7158809CF4F3C", 32, cm.key, 16);
    for (size_t i = 0; i < sizeof cm.msg; i++) {
        cm.msg[i] = (uint8_t)(i * 7 + 1);
    }
    bad |= bench_run("cmac_aes128_200B", bench_cmac, &cm);

    h128.type = CRYPTO_KEY_AES128;
    crypto_hex_decode("FEDCBA9876543210F1F1F1F1F1F1F1F1", 32, h128.bdk, 16);
    crypto_hex_decode("123456789012345600000000", 24, h128.ksn, 12);
    bad |= bench_run("dukpt_aes128_host_key", bench_host_key, &h128);

    h256 = h128;
    h256.type = CRYPTO_KEY_AES256;
    memcpy(h256.bdk + 16, h256.bdk, 16);
    bad |= bench_run("dukpt_aes256_host_key", bench_host_key, &h256);

    crypto_hex_decode("1273671EA26AC29AFA4D1084127652A1", 32, tc.ik, 16);
    crypto_hex_decode("1234567890123456", 16, tc.key_id, 8);
    crypto_dukpt_aes_term_load(&tc.t, tc.ik, CRYPTO_KEY_AES128, tc.key_id);
    bad |= bench_run("dukpt_aes128_term_next", bench_term_next, &tc);
    crypto_dukpt_aes_term_wipe(&tc.t);

    return bad;
}
