/*
 * test_irda.c - the IrDA phone link: FCS, framing and deframing on byte
 * buffers; then the wallet exchange (drivers/phone_wallet over
 * irda_transceive) through the real libserialport against the IrDA phone
 * emulator, with every link fault, a sweep that fails each frame of the
 * exchange in each way, and a count of heap allocations.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../gl_test.h"
#include "clock.h"
#include "crypto.h"
#include "gl_err.h"
#include "irda.h"
#include "malloc_count.h"
#include "phone_wallet.h"
#include "serial_emu.h"

#define WAIT_MS 10000

static const char *IMK = "000102030405060708090A0B0C0D0E0F";
#define VOUCHER "9410000000000014"

GL_TEST(fcs_check_value)
{
    GL_CHECK_INT(0x906E, irda_fcs((const uint8_t *)"123456789", 9));
    GL_CHECK_INT(0x0000, irda_fcs(NULL, 0)); /* ~FFFF */
}

GL_TEST(frame_encode_escapes)
{
    const uint8_t info[] = {0xC0, 0x01, 0xC1, 0x7D, 0x20};
    uint8_t out[64], exp[64];
    size_t n = 0, e = 0;
    uint8_t raw[7] = {0x03, 0x10, 0xC0, 0x01, 0xC1, 0x7D, 0x20};
    uint16_t fcs = irda_fcs(raw, sizeof raw);

    GL_CHECK_INT(GL_OK, irda_frame_encode(0x03, 0x10, info, sizeof info, out,
                                          sizeof out, &n));
    exp[e++] = 0xC0;
    exp[e++] = 0x03;
    exp[e++] = 0x10;
    exp[e++] = 0x7D;
    exp[e++] = 0xE0;
    exp[e++] = 0x01;
    exp[e++] = 0x7D;
    exp[e++] = 0xE1;
    exp[e++] = 0x7D;
    exp[e++] = 0x5D;
    exp[e++] = 0x20;
    exp[e++] = (uint8_t)(fcs & 0xFF); /* neither byte needs escaping here */
    exp[e++] = (uint8_t)(fcs >> 8);
    exp[e++] = 0xC1;
    GL_CHECK_INT(e, n);
    GL_CHECK_MEM(exp, out, e);
    /* the receiver's residue over data + FCS is the X.25 good value */
    {
        uint8_t all[9];
        memcpy(all, raw, 7);
        all[7] = (uint8_t)(fcs & 0xFF);
        all[8] = (uint8_t)(fcs >> 8);
        GL_CHECK_INT(0xF0B8, (uint16_t)~irda_fcs(all, 9));
    }
    GL_CHECK_INT(GL_ENOSPC, irda_frame_encode(0x03, 0x10, info, sizeof info,
                                              out, 10, &n));
    GL_CHECK_INT(GL_IRDA_TOOLONG, irda_frame_encode(0x03, 0x10, info,
                                                    IRDA_INFO_MAX + 1, out,
                                                    sizeof out, &n));
}

static int deframe(struct irda_deframer *d, const uint8_t *p, size_t n,
                   struct irda_frame *f, size_t *used)
{
    return irda_deframer_push(d, p, n, used, f);
}

GL_TEST(deframer)
{
    struct irda_deframer d;
    static struct irda_frame f;
    uint8_t fr[64], buf[160];
    const uint8_t info[] = {0xC0, 0x7D, 0x00, 0xA4};
    size_t n = 0, used = 0, k;

    irda_deframer_init(&d);
    irda_frame_encode(0x05, 0x30, info, sizeof info, fr, sizeof fr, &n);
    /* noise and extra BOFs before the frame */
    k = 0;
    buf[k++] = 0x55;
    buf[k++] = 0xC1;
    buf[k++] = 0xC0;
    memcpy(buf + k, fr, n);
    k += n;
    GL_CHECK_INT(1, deframe(&d, buf, k, &f, &used));
    GL_CHECK_INT(k, used);
    GL_CHECK_INT(0x05, f.addr);
    GL_CHECK_INT(0x30, f.ctrl);
    GL_CHECK_INT(4, f.len);
    GL_CHECK_MEM(info, f.info, 4);
    /* a frame split over many pushes */
    for (size_t i = 0; i + 1 < n; i++) {
        GL_CHECK_INT(0, deframe(&d, fr + i, 1, &f, &used));
    }
    GL_CHECK_INT(1, deframe(&d, fr + n - 1, 1, &f, &used));
    /* a flipped bit: bad FCS */
    memcpy(buf, fr, n);
    buf[2] ^= 0x04;
    GL_CHECK_INT(GL_IRDA_FCS, deframe(&d, buf, n, &f, &used));
    /* a BOF in the middle aborts, the next frame is still read */
    memcpy(buf, fr, 5);
    memcpy(buf + 5, fr, n);
    GL_CHECK_INT(GL_IRDA_TRUNC, deframe(&d, buf, n + 5, &f, &used));
    GL_CHECK_INT(1, deframe(&d, buf + used, n + 5 - used, &f, &used));
    /* too short, escape before EOF */
    {
        const uint8_t s1[] = {0xC0, 0x01, 0x02, 0xC1};
        const uint8_t s2[] = {0xC0, 0x01, 0x02, 0x03, 0x04, 0x7D, 0xC1};
        GL_CHECK_INT(GL_IRDA_TRUNC, deframe(&d, s1, sizeof s1, &f, &used));
        GL_CHECK_INT(GL_IRDA_TRUNC, deframe(&d, s2, sizeof s2, &f, &used));
    }
    /* too long */
    {
        static uint8_t big[IRDA_INFO_MAX + 20];
        memset(big, 0x11, sizeof big);
        big[0] = 0xC0;
        big[sizeof big - 1] = 0xC1;
        GL_CHECK_INT(GL_IRDA_TOOLONG, deframe(&d, big, sizeof big, &f, &used));
    }
}

/* ---- through libserialport --------------------------------------------- */

static char g_dir[64];
static struct hal_clock g_clock;

static int start_phone(struct semu **pe, struct irda *l, const char *name,
                       int turn_ms)
{
    char link[128];
    struct irda_config cfg = {.dev_addr = 0x7E4D0001u, .conn_addr = 0x21,
                              .turn_ms = turn_ms, .retries = 4,
                              .poll_ms = 20, .busy_ms = 30000};
    struct semu *e = semu_irda_new();

    snprintf(link, sizeof link, "%s/%s", g_dir, name);
    if (e == NULL || semu_start(e, link) != GL_OK) {
        semu_free(e);
        return GL_EOS;
    }
    semu_commandf(e, "phone imk=%s pin=4321 atc=7 voucher=" VOUCHER
                     ",300,50000 voucher=9410000000000022,301,7000,nopin",
                  IMK);
    *pe = e;
    return irda_init(l, &cfg, semu_serial_path(e), NULL, NULL, &g_clock);
}

/* The whole device part of a wallet payment. */
static int wallet_exchange(struct irda *l, struct phone_wallet_proof *proof)
{
    static struct phone_wallet w;
    static struct phone_wallet_voucher v[4];
    static const uint8_t challenge[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    size_t n = 0;
    int tries = 0;
    int rc = irda_connect(l);

    if (rc == GL_OK) {
        phone_wallet_init(&w, irda_transceive, l);
        rc = phone_wallet_select(&w);
    }
    if (rc == GL_OK) {
        rc = phone_wallet_list(&w, v, 4, &n);
    }
    if (rc == GL_OK && n != 2) {
        rc = GL_EIO;
    }
    if (rc == GL_OK) {
        rc = phone_wallet_select_voucher(&w, &v[0]);
    }
    if (rc == GL_OK) {
        rc = phone_wallet_verify_pin(&w, &tries);
    }
    if (rc == GL_OK) {
        rc = phone_wallet_cryptogram(&w, 12500, "TERM0001", challenge, proof);
    }
    if (rc == GL_OK) {
        rc = irda_disconnect(l);
    }
    return rc;
}

static int check_cryptogram(const struct phone_wallet_proof *p)
{
    uint8_t imk[16], key[16], m[20], msg[26], mac[16];
    static const uint8_t challenge[8] = {1, 2, 3, 4, 5, 6, 7, 8};

    crypto_hex_decode(IMK, 32, imk, 16);
    m[0] = 0x01;
    memcpy(m + 1, "GLWALLET", 8);
    m[9] = 0x00;
    memcpy(m + 10, "\x94\x10\x00\x00\x00\x00\x00\x14", 8);
    m[18] = 0x00;
    m[19] = 0x80;
    crypto_cmac_aes(imk, 16, m, 20, key);
    phone_wallet_amount_bcd(12500, msg);
    memcpy(msg + 6, "TERM0001", 8);
    memcpy(msg + 14, challenge, 8);
    msg[22] = (uint8_t)(p->atc >> 24);
    msg[23] = (uint8_t)(p->atc >> 16);
    msg[24] = (uint8_t)(p->atc >> 8);
    msg[25] = (uint8_t)p->atc;
    crypto_cmac_aes(key, 16, msg, 26, mac);
    return memcmp(mac, p->cryptogram, 8) == 0;
}

static unsigned stat_field(struct semu *e, const char *name)
{
    char reply[256], key[32];
    const char *p;
    semu_command(e, "stats", reply, sizeof reply);
    snprintf(key, sizeof key, " %s=", name);
    p = strstr(reply, key);
    return p ? (unsigned)strtoul(p + strlen(key), NULL, 10) : 9999;
}

GL_TEST(wallet_over_irda)
{
    struct semu *e = NULL;
    static struct irda l;
    struct phone_wallet_proof proof;
    long allocs;

    /* a long turn: the clean path never waits it out, even when loaded */
    GL_CHECK_INT(GL_OK, start_phone(&e, &l, "phone0", 3000));
    if (e == NULL) {
        return;
    }
    GL_CHECK_INT(GL_OK, irda_open(&l));
    semu_command(e, "think 3", NULL, 0); /* the customer takes 3 polls */
    malloc_count_start();
    GL_CHECK_INT(GL_OK, wallet_exchange(&l, &proof));
    allocs = malloc_count_stop();
    GL_CHECK_INT(0, allocs);
    GL_CHECK_STR(VOUCHER, proof.number);
    GL_CHECK_INT(8, proof.atc);
    GL_CHECK(check_cryptogram(&proof));
    GL_CHECK_INT(0, l.st.retries);
    GL_CHECK_INT(0, l.connected);
    GL_CHECK_INT(8, stat_field(e, "atc"));

    /* wrong PIN typed on the phone */
    {
        static struct phone_wallet w;
        static struct phone_wallet_voucher v[4];
        size_t n;
        int tries = 0;
        semu_command(e, "enter 1111", NULL, 0);
        GL_CHECK_INT(GL_OK, irda_connect(&l));
        phone_wallet_init(&w, irda_transceive, &l);
        GL_CHECK_INT(GL_OK, phone_wallet_select(&w));
        GL_CHECK_INT(GL_OK, phone_wallet_list(&w, v, 4, &n));
        GL_CHECK_INT(GL_OK, phone_wallet_select_voucher(&w, &v[0]));
        GL_CHECK_INT(GL_DEV_PINWRONG, phone_wallet_verify_pin(&w, &tries));
        GL_CHECK_INT(2, tries);
        GL_CHECK_INT(GL_OK, irda_disconnect(&l));
        semu_command(e, "enter 4321", NULL, 0);
    }
    /* transceive without a connection */
    {
        uint8_t r[8];
        size_t rl;
        GL_CHECK_INT(GL_IRDA_NOLINK, irda_transceive(&l, (const uint8_t *)"\0\xa4\4\0", 4, r, sizeof r, &rl));
    }
    irda_close(&l);
    semu_free(e);
}

GL_TEST(link_faults)
{
    struct semu *e = NULL;
    static struct irda l;
    struct phone_wallet_proof proof;

    GL_CHECK_INT(GL_OK, start_phone(&e, &l, "phone1", 300));
    if (e == NULL) {
        return;
    }
    /* the phone refuses the connection */
    semu_command(e, "refuse on", NULL, 0);
    GL_CHECK_INT(GL_IRDA_NOLINK, irda_connect(&l));
    semu_command(e, "refuse off", NULL, 0);
    /* a silent phone: time-out after the retries */
    semu_command(e, "silent", NULL, 0);
    {
        unsigned long before = l.st.retries;
        GL_CHECK_INT(GL_ETIMEDOUT, irda_connect(&l));
        GL_CHECK_INT(4, l.st.retries - before); /* cfg.retries */
    }
    semu_command(e, "talk", NULL, 0);
    /* each corruption of a reply is recovered by a retry */
    semu_command(e, "fail 3 fcs", NULL, 0);
    GL_CHECK_INT(GL_OK, wallet_exchange(&l, &proof));
    GL_CHECK_INT(GL_IRDA_FCS, l.last_drop);
    GL_CHECK_INT(8, proof.atc);
    semu_command(e, "fail 4 trunc", NULL, 0);
    GL_CHECK_INT(GL_OK, wallet_exchange(&l, &proof));
    GL_CHECK_INT(GL_IRDA_TRUNC, l.last_drop);
    GL_CHECK_INT(9, proof.atc);
    semu_command(e, "fail 6 noise", NULL, 0);
    GL_CHECK_INT(GL_OK, wallet_exchange(&l, &proof));
    GL_CHECK_INT(10, proof.atc);
    GL_CHECK(check_cryptogram(&proof));
    /* the phone leaves mid-exchange */
    semu_command(e, "fail 4 dm", NULL, 0);
    GL_CHECK_INT(GL_IRDA_DISC, wallet_exchange(&l, &proof));
    GL_CHECK_INT(0, l.connected);
    /* the adapter is pulled, then plugged back */
    GL_CHECK_INT(GL_OK, irda_connect(&l));
    semu_command(e, "unplug", NULL, 0);
    {
        uint8_t r[8];
        size_t rl;
        GL_CHECK_INT(GL_ECLOSED, irda_transceive(&l, (const uint8_t *)"\0\xa4\4\0", 4, r, sizeof r, &rl));
    }
    GL_CHECK_INT(0, l.port.is_open);
    GL_CHECK_INT(GL_DEV_NODEV, irda_connect(&l));
    semu_command(e, "plug", NULL, 0);
    GL_CHECK_INT(GL_OK, wallet_exchange(&l, &proof));
    GL_CHECK_INT(11, proof.atc);
    irda_close(&l);
    semu_free(e);
}

/*
 * Fails the Nth frame the phone receives, for every N of the exchange and
 * every way: the exchange either succeeds (the counter moved exactly once)
 * or reports the specific error of that fault, and the next exchange
 * succeeds.  The counter never moves twice for one cryptogram.
 */
GL_TEST(fault_sweep)
{
    static const char *kinds[] = {"drop", "fcs", "trunc", "noise", "dm"};
    struct semu *e = NULL;
    static struct irda l;
    struct phone_wallet_proof proof;
    unsigned frames, atc = 7, bad = 0, runs = 0;

    GL_CHECK_INT(GL_OK, start_phone(&e, &l, "phone2", 300));
    if (e == NULL) {
        return;
    }
    semu_command(e, "reset-count", NULL, 0);
    GL_CHECK_INT(GL_OK, wallet_exchange(&l, &proof));
    atc++;
    frames = stat_field(e, "ops");
    GL_CHECK(frames >= 7); /* SNRM, 5 APDUs (LIST may page), DISC */
    for (unsigned n = 1; n <= frames; n++) {
        for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
            int rc;
            semu_command(e, "reset-count", NULL, 0);
            semu_commandf(e, "fail %u %s", n, kinds[k]);
            rc = wallet_exchange(&l, &proof);
            runs++;
            if (rc == GL_OK) {
                atc++;
                if (proof.atc != atc || !check_cryptogram(&proof)) {
                    bad++;
                    printf("  N=%u %s: atc %u, expected %u\n", n, kinds[k],
                           (unsigned)proof.atc, atc);
                }
            } else if (strcmp(kinds[k], "dm") == 0 &&
                       (rc == GL_IRDA_DISC || rc == GL_IRDA_NOLINK)) {
                /* the specific error; the phone's counter: read it back */
                atc = stat_field(e, "atc");
                semu_command(e, "reset-count", NULL, 0);
                if (wallet_exchange(&l, &proof) != GL_OK) {
                    bad++;
                    printf("  N=%u %s: no recovery\n", n, kinds[k]);
                } else {
                    atc++;
                    bad += proof.atc != atc;
                }
            } else {
                bad++;
                printf("  N=%u %s: %s\n", n, kinds[k], gl_errname(rc));
            }
        }
    }
    GL_CHECK_INT(0, bad);
    GL_CHECK_INT(frames * 5, runs);
    GL_CHECK_INT(atc, stat_field(e, "atc"));
    irda_close(&l);
    semu_free(e);
}

/* The same wallet over IrDA: the ATC ends at 99999 (6A 81 after it), and
 * the phone's own addr= option is taken next to the wallet's. */
GL_TEST(wallet_atc_limit_over_irda)
{
    struct semu *e = NULL;
    static struct irda l;
    static struct phone_wallet w;
    static struct phone_wallet_voucher v[4];
    static const uint8_t challenge[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    struct phone_wallet_proof proof;
    char reply[128];
    size_t n = 0;

    GL_CHECK_INT(GL_OK, start_phone(&e, &l, "phone3", 3000));
    if (e == NULL) {
        return;
    }
    GL_CHECK_INT(GL_EINVAL, semu_commandf(e, "phone imk=%s pin=4321 "
                                             "atc=100000 voucher=" VOUCHER
                                             ",300,50000", IMK));
    GL_CHECK_INT(GL_EINVAL, semu_commandf(e, "phone imk=%s pin=4321 addr=xyz "
                                             "voucher=" VOUCHER ",300,50000",
                                          IMK));
    GL_CHECK_INT(7, stat_field(e, "atc")); /* the wallet from before */
    GL_CHECK_INT(GL_OK, semu_commandf(e, "phone imk=%s pin=4321 atc=99998 "
                                         "addr=50484F4F voucher=" VOUCHER
                                         ",300,50000", IMK));
    GL_CHECK_INT(GL_OK, semu_command(e, "stats", reply, sizeof reply));
    GL_CHECK(strstr(reply, " atc=99998 tries=3 ") != NULL);
    GL_CHECK_INT(GL_OK, irda_open(&l));
    GL_CHECK_INT(GL_OK, irda_connect(&l));
    GL_CHECK_INT(0x50484F4Fu, l.peer_addr);
    phone_wallet_init(&w, irda_transceive, &l);
    GL_CHECK_INT(GL_OK, phone_wallet_select(&w));
    GL_CHECK_INT(GL_OK, phone_wallet_list(&w, v, 4, &n));
    GL_CHECK_INT(1, n);
    GL_CHECK_INT(GL_OK, phone_wallet_select_voucher(&w, &v[0]));
    GL_CHECK_INT(GL_OK, phone_wallet_verify_pin(&w, NULL));
    GL_CHECK_INT(GL_OK, phone_wallet_cryptogram(&w, 12500, "TERM0001",
                                                challenge, &proof));
    GL_CHECK_INT(99999, proof.atc);
    GL_CHECK(check_cryptogram(&proof));
    GL_CHECK_INT(GL_OK, phone_wallet_verify_pin(&w, NULL));
    GL_CHECK_INT(GL_DEV_CARDERR, phone_wallet_cryptogram(&w, 12500, "TERM0001",
                                                        challenge, &proof));
    GL_CHECK_INT(0x6A81, w.last_sw);
    GL_CHECK_INT(99999, stat_field(e, "atc"));
    GL_CHECK_INT(GL_OK, irda_disconnect(&l));
    irda_close(&l);
    semu_free(e);
}

int main(void)
{
    malloc_count_install();
    hal_clock_init(&g_clock, NULL, 0);
    snprintf(g_dir, sizeof g_dir, "/tmp/gl-test-irda-XXXXXX");
    if (mkdtemp(g_dir) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    GL_CHECK_INT(1, malloc_count_selftest());
    GL_RUN(fcs_check_value);
    GL_RUN(frame_encode_escapes);
    GL_RUN(deframer);
    GL_RUN(wallet_over_irda);
    GL_RUN(link_faults);
    GL_RUN(fault_sweep);
    GL_RUN(wallet_atc_limit_over_irda);
    rmdir(g_dir);
    return GL_TEST_END();
}
