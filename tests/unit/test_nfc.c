/*
 * test_nfc.c - the REAL libnfc (pn532_uart driver) against the PN532
 * emulator on a pty, through hal/nfc, drivers/nfc_reader and
 * drivers/phone_wallet: membership card NDEF number, the phone wallet
 * (list, select, PIN on the phone, cryptogram checked here with the host's
 * derivation, ATC), no card, card removed, bad frames and noise, unplug and
 * reopen, a silent reader (during an exchange and during selection, which
 * ends within its bound), a fault sweep over every operation of a
 * transaction (silence included), and the allocation count of a transaction; the phone's
 * wallet model (wallet_emu) APDU by APDU, and the ATC's end at 99999.
 */
#include <dlfcn.h>
#include <mbedtls/cipher.h>
#include <mbedtls/cmac.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../emulators/pn532_emu.h"
#include "../emulators/wallet_emu.h"
#include "../gl_test.h"
#include "clock.h"
#include "gl_err.h"
#include "nfc_reader.h"
#include "phone_wallet.h"

/* ---- counting allocations of this thread --------------------------------- */

static __thread volatile int counting;
static __thread volatile long allocs;

#if defined(__SANITIZE_ADDRESS__)
/* Under AddressSanitizer malloc belongs to the sanitizer: count through
 * its allocation hook instead of replacing malloc. */
int __sanitizer_install_malloc_and_free_hooks(
    void (*malloc_hook)(const volatile void *, size_t),
    void (*free_hook)(const volatile void *));

static void count_free_hook(const volatile void *p)
{
    (void)p;
}

static void count_hook(const volatile void *p, size_t n)
{
    (void)p;
    (void)n;
    if (counting) {
        allocs++;
    }
}

static void count_init(void)
{
    if (__sanitizer_install_malloc_and_free_hooks(count_hook,
                                                  count_free_hook) == 0) {
        printf("  FAIL cannot install the allocation hook\n");
        exit(1);
    }
}
#else
/* malloc, calloc and realloc of this program, counting the calls made by
 * this thread while `counting` is set (libnfc's calls included), then
 * handing them to the C library's. */
typedef void *(*malloc_fn)(size_t);
typedef void *(*calloc_fn)(size_t, size_t);
typedef void *(*realloc_fn)(void *, size_t);
static malloc_fn next_malloc;
static calloc_fn next_calloc;
static realloc_fn next_realloc;
static unsigned char boot_arena[4096];
static size_t boot_used;

static void *boot_alloc(size_t n)
{
    void *p;
    n = (n + 15) & ~(size_t)15;
    if (boot_used + n > sizeof boot_arena) {
        return NULL;
    }
    p = boot_arena + boot_used;
    boot_used += n;
    return p;
}

void *malloc(size_t n)
{
    if (next_malloc == NULL) {
        return boot_alloc(n);
    }
    if (counting) {
        allocs++;
    }
    return next_malloc(n);
}

void *calloc(size_t a, size_t b)
{
    if (next_calloc == NULL) {
        return boot_alloc(a * b); /* dlsym's own, before resolution */
    }
    if (counting) {
        allocs++;
    }
    return next_calloc(a, b);
}

void *realloc(void *p, size_t n)
{
    if (counting) {
        allocs++;
    }
    return next_realloc(p, n);
}

static void count_init(void)
{
    next_calloc = (calloc_fn)dlsym(RTLD_NEXT, "calloc");
    next_malloc = (malloc_fn)dlsym(RTLD_NEXT, "malloc");
    next_realloc = (realloc_fn)dlsym(RTLD_NEXT, "realloc");
}
#endif

/* ---- fixtures ------------------------------------------------------------- */

#define IMK_HEX "000102030405060708090A0B0C0D0E0F"
#define V1 "6391000012345674"
#define V2 "6391000098765432"
#define PHONE                                                                 \
    "tap phone 08A1B2C3 imk=" IMK_HEX " pin=2468 voucher=" V1                 \
    ",1001,50000 voucher=" V2 ",2002,1500,nopin"

struct fx {
    struct emu_pn532 *emu;
    struct hal_clock clock;
    struct nfc_reader reader;
    struct phone_wallet wallet;
    int pin_timeout_ms; /* of the PIN step of phone_tx */
    char link[128];
};

static int fx_up(struct fx *f, const char *tag, int apdu_timeout_ms)
{
    struct nfc_reader_config cfg;

    memset(f, 0, sizeof *f);
    snprintf(f->link, sizeof f->link, "/tmp/gl-test-nfc-%ld-%s",
             (long)getpid(), tag);
    f->emu = emu_pn532_new();
    if (f->emu == NULL || emu_pn532_start(f->emu, f->link) != GL_OK) {
        return GL_EIO;
    }
    memset(&cfg, 0, sizeof cfg);
    snprintf(cfg.nfc.connstring, sizeof cfg.nfc.connstring, "%s",
             emu_pn532_connstring(f->emu));
    cfg.reopen_ms = 1000;
    cfg.apdu_timeout_ms = apdu_timeout_ms;
    hal_clock_init(&f->clock, &hal_clock_test, 1000000);
    f->pin_timeout_ms = 30000; /* the customer types */
    return nfc_reader_init(&f->reader, &cfg, &f->clock);
}

static void fx_down(struct fx *f)
{
    nfc_reader_close(&f->reader);
    emu_pn532_free(f->emu);
}

static int emu(struct fx *f, const char *line)
{
    char reply[256];
    return emu_pn532_command(f->emu, line, reply, sizeof reply);
}

static unsigned emu_stat(struct fx *f, const char *key)
{
    char reply[256], *p;
    emu_pn532_command(f->emu, "stats", reply, sizeof reply);
    p = strstr(reply, key);
    return p != NULL ? (unsigned)strtoul(p + strlen(key), NULL, 10) : 0;
}

/* The host's derivation (docs/phone-wallet.md), written independently of
 * the emulator with mbedTLS directly. */
static void host_cmac(const uint8_t *key, const uint8_t *m, size_t n,
                      uint8_t out[16])
{
    const mbedtls_cipher_info_t *ci =
        mbedtls_cipher_info_from_type(MBEDTLS_CIPHER_AES_128_ECB);
    mbedtls_cipher_cmac(ci, key, 128, m, n, out);
}

static void host_expected(const char *number, uint64_t amount,
                          const char *tid, const uint8_t ch[8], uint32_t atc,
                          uint8_t out[8])
{
    uint8_t imk[16], kd[20], key[16], m[26], mac[16];
    for (int i = 0; i < 16; i++) {
        imk[i] = (uint8_t)i;
    }
    kd[0] = 0x01;
    memcpy(kd + 1, "GLWALLET", 8);
    kd[9] = 0x00;
    for (int i = 0; i < 8; i++) {
        kd[10 + i] = (uint8_t)((number[2 * i] - '0') << 4 |
                               (number[2 * i + 1] - '0'));
    }
    kd[18] = 0x00;
    kd[19] = 0x80;
    host_cmac(imk, kd, sizeof kd, key);
    for (int i = 5; i >= 0; i--) {
        m[i] = (uint8_t)((amount / 10 % 10) << 4 | (amount % 10));
        amount /= 100;
    }
    memcpy(m + 6, tid, 8);
    memcpy(m + 14, ch, 8);
    m[22] = (uint8_t)(atc >> 24);
    m[23] = (uint8_t)(atc >> 16);
    m[24] = (uint8_t)(atc >> 8);
    m[25] = (uint8_t)atc;
    host_cmac(key, m, sizeof m, mac);
    memcpy(out, mac, 8);
}

static const uint8_t CHALLENGE[8] = {0xC1, 0xC2, 0xC3, 0xC4,
                                     0xC5, 0xC6, 0xC7, 0xC8};

/* A whole phone transaction: poll, select wallet, list, select the first
 * voucher, PIN on the phone, cryptogram, release.  Returns the first
 * error; *stage says where (0 poll .. 5 cryptogram, 6 done). */
static int phone_tx(struct fx *f, struct phone_wallet_proof *proof, int *stage)
{
    struct nfc_tap tap;
    struct phone_wallet_voucher v[4];
    size_t n = 0;
    int rc;

    *stage = 0;
    if ((rc = nfc_reader_poll(&f->reader, &tap)) != GL_OK) {
        return rc;
    }
    phone_wallet_init(&f->wallet, nfc_reader_xfer, &f->reader);
    *stage = 1;
    if ((rc = phone_wallet_select(&f->wallet)) != GL_OK) {
        goto out;
    }
    *stage = 2;
    if ((rc = phone_wallet_list(&f->wallet, v, 4, &n)) != GL_OK) {
        goto out;
    }
    if (n < 1) {
        rc = GL_ENOTFOUND;
        goto out;
    }
    *stage = 3;
    if ((rc = phone_wallet_select_voucher(&f->wallet, &v[0])) != GL_OK) {
        goto out;
    }
    *stage = 4;
    nfc_reader_set_timeout(&f->reader, f->pin_timeout_ms);
    rc = phone_wallet_verify_pin(&f->wallet, NULL);
    nfc_reader_set_timeout(&f->reader, 0);
    if (rc != GL_OK) {
        goto out;
    }
    *stage = 5;
    if ((rc = phone_wallet_cryptogram(&f->wallet, 12345, "TERM0001",
                                      CHALLENGE, proof)) != GL_OK) {
        goto out;
    }
    *stage = 6;
out:
    nfc_reader_release(&f->reader);
    return rc;
}

/* ---- tests ------------------------------------------------------------------- */

GL_TEST(no_card_is_nocard_not_a_fault)
{
    struct fx f;
    struct nfc_tap tap;

    GL_CHECK_INT(GL_OK, fx_up(&f, "none", 2000));
    GL_CHECK_INT(GL_DEV_NOCARD, nfc_reader_poll(&f.reader, &tap));
    GL_CHECK_INT(GL_DEV_NOCARD, nfc_reader_poll(&f.reader, &tap));
    GL_CHECK_INT(0, f.reader.faults);
    GL_CHECK(hal_nfc_is_open(&f.reader.hal));
    GL_CHECK_INT(0, tap.uid_len);
    fx_down(&f);
}

GL_TEST(membership_card_number_from_ndef)
{
    struct fx f;
    struct nfc_tap tap;
    char num[32];
    static const uint8_t uid[] = {0x04, 0xA1, 0xB2, 0xC3, 0xD4, 0xE5, 0xF6};

    GL_CHECK_INT(GL_OK, fx_up(&f, "card", 2000));
    GL_CHECK_INT(GL_OK, emu(&f, "tap card 04A1B2C3D4E5F6 6390123412341234"));
    GL_CHECK_INT(GL_OK, nfc_reader_poll(&f.reader, &tap));
    GL_CHECK_INT(7, tap.uid_len);
    GL_CHECK_MEM(uid, tap.uid, 7);
    GL_CHECK_INT(1, tap.iso_dep);
    GL_CHECK_INT(GL_OK, nfc_reader_read_number(&f.reader, num, sizeof num));
    GL_CHECK_STR("6390123412341234", num);
    /* not a wallet */
    phone_wallet_init(&f.wallet, nfc_reader_xfer, &f.reader);
    GL_CHECK_INT(GL_DEV_NOAPP, phone_wallet_select(&f.wallet));
    GL_CHECK_INT(GL_OK, nfc_reader_present(&f.reader));
    nfc_reader_release(&f.reader);

    /* a Text record works too */
    GL_CHECK_INT(GL_OK, emu(&f, "tap card 11223344 987654321 text"));
    GL_CHECK_INT(GL_OK, nfc_reader_poll(&f.reader, &tap));
    GL_CHECK_INT(4, tap.uid_len);
    GL_CHECK_INT(GL_OK, nfc_reader_read_number(&f.reader, num, sizeof num));
    GL_CHECK_STR("987654321", num);
    nfc_reader_release(&f.reader);

    /* a phone has no NDEF application */
    GL_CHECK_INT(GL_OK, emu(&f, PHONE));
    GL_CHECK_INT(GL_OK, nfc_reader_poll(&f.reader, &tap));
    GL_CHECK_INT(GL_DEV_NOAPP,
                 nfc_reader_read_number(&f.reader, num, sizeof num));
    GL_CHECK_STR("", num);
    nfc_reader_release(&f.reader);
    fx_down(&f);
}

GL_TEST(wallet_list_select_pin_cryptogram_and_atc)
{
    struct fx f;
    struct nfc_tap tap;
    struct phone_wallet_voucher v[4];
    struct phone_wallet_proof p1, p2;
    uint8_t want[8];
    size_t n = 0;
    int tries = 9;

    GL_CHECK_INT(GL_OK, fx_up(&f, "wallet", 2000));
    GL_CHECK_INT(GL_OK, emu(&f, PHONE " atc=41"));
    GL_CHECK_INT(GL_OK, nfc_reader_poll(&f.reader, &tap));
    GL_CHECK_INT(4, tap.uid_len);
    GL_CHECK_INT(0x08, tap.uid[0]);
    phone_wallet_init(&f.wallet, nfc_reader_xfer, &f.reader);
    GL_CHECK_INT(GL_OK, phone_wallet_select(&f.wallet));
    GL_CHECK_INT(1, f.wallet.version);
    GL_CHECK_INT(2, f.wallet.count);
    GL_CHECK_INT(GL_OK, phone_wallet_list(&f.wallet, v, 4, &n));
    GL_CHECK_INT(2, n);
    GL_CHECK_STR(V1, v[0].number);
    GL_CHECK_INT(1001, v[0].product);
    GL_CHECK_INT(50000, v[0].balance);
    GL_CHECK_INT(1, v[0].pin_required);
    GL_CHECK_STR(V2, v[1].number);
    GL_CHECK_INT(2002, v[1].product);
    GL_CHECK_INT(1500, v[1].balance);
    GL_CHECK_INT(0, v[1].pin_required);
    /* list into a too small array */
    GL_CHECK_INT(GL_ENOSPC, phone_wallet_list(&f.wallet, v, 1, &n));
    GL_CHECK_INT(1, n);
    GL_CHECK_INT(GL_OK, phone_wallet_list(&f.wallet, v, 4, &n));

    /* no cryptogram before a voucher and its PIN */
    GL_CHECK_INT(GL_EINVAL, phone_wallet_cryptogram(&f.wallet, 1, "TERM0001",
                                                    CHALLENGE, &p1));
    GL_CHECK_INT(GL_OK, phone_wallet_select_voucher(&f.wallet, &v[0]));
    GL_CHECK_INT(GL_DEV_PINREQUIRED,
                 phone_wallet_cryptogram(&f.wallet, 12345, "TERM0001",
                                         CHALLENGE, &p1));
    GL_CHECK_INT(GL_OK, phone_wallet_verify_pin(&f.wallet, &tries));
    GL_CHECK_INT(GL_OK, phone_wallet_cryptogram(&f.wallet, 12345, "TERM0001",
                                                CHALLENGE, &p1));
    GL_CHECK_STR(V1, p1.number);
    GL_CHECK_INT(42, p1.atc);
    host_expected(V1, 12345, "TERM0001", CHALLENGE, 42, want);
    GL_CHECK_MEM(want, p1.cryptogram, 8);
    /* a different amount does not verify under the same ATC */
    host_expected(V1, 12346, "TERM0001", CHALLENGE, 42, want);
    GL_CHECK(memcmp(want, p1.cryptogram, 8) != 0);

    /* one PIN per cryptogram; the next one has a higher ATC */
    GL_CHECK_INT(GL_DEV_PINREQUIRED,
                 phone_wallet_cryptogram(&f.wallet, 12345, "TERM0001",
                                         CHALLENGE, &p2));
    GL_CHECK_INT(GL_OK, phone_wallet_verify_pin(&f.wallet, &tries));
    GL_CHECK_INT(GL_OK, phone_wallet_cryptogram(&f.wallet, 12345, "TERM0001",
                                                CHALLENGE, &p2));
    GL_CHECK_INT(43, p2.atc);
    host_expected(V1, 12345, "TERM0001", CHALLENGE, 43, want);
    GL_CHECK_MEM(want, p2.cryptogram, 8);
    GL_CHECK(memcmp(p1.cryptogram, p2.cryptogram, 8) != 0);

    /* a voucher without PIN */
    GL_CHECK_INT(GL_OK, phone_wallet_select_voucher(&f.wallet, &v[1]));
    GL_CHECK_INT(GL_OK, phone_wallet_cryptogram(&f.wallet, 999, "TERM0001",
                                                CHALLENGE, &p1));
    GL_CHECK_STR(V2, p1.number);
    GL_CHECK_INT(42, p1.atc);
    host_expected(V2, 999, "TERM0001", CHALLENGE, 42, want);
    GL_CHECK_MEM(want, p1.cryptogram, 8);
    /* an amount above n12 never leaves the terminal */
    GL_CHECK_INT(GL_ERANGE,
                 phone_wallet_cryptogram(&f.wallet, 1000000000000ULL,
                                         "TERM0001", CHALLENGE, &p1));
    /* an unknown voucher index */
    v[0].index = 7;
    GL_CHECK_INT(GL_ENOTFOUND, phone_wallet_select_voucher(&f.wallet, &v[0]));
    nfc_reader_release(&f.reader);
    fx_down(&f);
}

GL_TEST(pin_on_phone_wrong_then_blocked)
{
    struct fx f;
    struct nfc_tap tap;
    struct phone_wallet_voucher v[4];
    size_t n;
    int tries = 9;

    GL_CHECK_INT(GL_OK, fx_up(&f, "pin", 2000));
    GL_CHECK_INT(GL_OK, emu(&f, PHONE));
    GL_CHECK_INT(GL_OK, nfc_reader_poll(&f.reader, &tap));
    phone_wallet_init(&f.wallet, nfc_reader_xfer, &f.reader);
    GL_CHECK_INT(GL_OK, phone_wallet_select(&f.wallet));
    GL_CHECK_INT(GL_OK, phone_wallet_list(&f.wallet, v, 4, &n));
    GL_CHECK_INT(GL_OK, phone_wallet_select_voucher(&f.wallet, &v[0]));
    GL_CHECK_INT(GL_OK, emu(&f, "phone enter 1111"));
    GL_CHECK_INT(GL_DEV_PINWRONG, phone_wallet_verify_pin(&f.wallet, &tries));
    GL_CHECK_INT(2, tries);
    /* a right PIN resets the counter */
    GL_CHECK_INT(GL_OK, emu(&f, "phone enter 2468"));
    GL_CHECK_INT(GL_OK, phone_wallet_verify_pin(&f.wallet, &tries));
    GL_CHECK_INT(-1, tries);
    GL_CHECK_INT(GL_OK, emu(&f, "phone enter 1111"));
    GL_CHECK_INT(GL_DEV_PINWRONG, phone_wallet_verify_pin(&f.wallet, &tries));
    GL_CHECK_INT(2, tries);
    GL_CHECK_INT(GL_DEV_PINWRONG, phone_wallet_verify_pin(&f.wallet, &tries));
    GL_CHECK_INT(1, tries);
    GL_CHECK_INT(GL_DEV_PINBLOCKED, phone_wallet_verify_pin(&f.wallet, &tries));
    /* blocked stays blocked, even with the right PIN */
    GL_CHECK_INT(GL_OK, emu(&f, "phone enter 2468"));
    GL_CHECK_INT(GL_DEV_PINBLOCKED, phone_wallet_verify_pin(&f.wallet, &tries));
    nfc_reader_release(&f.reader);
    fx_down(&f);
}

GL_TEST(card_removed_mid_exchange_is_cardgone)
{
    struct fx f;
    struct nfc_tap tap;
    struct phone_wallet_voucher v[4];
    size_t n;

    GL_CHECK_INT(GL_OK, fx_up(&f, "gone", 2000));
    GL_CHECK_INT(GL_OK, emu(&f, PHONE));
    GL_CHECK_INT(GL_OK, nfc_reader_poll(&f.reader, &tap));
    phone_wallet_init(&f.wallet, nfc_reader_xfer, &f.reader);
    GL_CHECK_INT(GL_OK, phone_wallet_select(&f.wallet));
    GL_CHECK_INT(GL_OK, phone_wallet_list(&f.wallet, v, 4, &n));
    GL_CHECK_INT(GL_OK, emu(&f, "remove"));
    GL_CHECK_INT(GL_DEV_CARDGONE,
                 phone_wallet_select_voucher(&f.wallet, &v[0]));
    /* not a reader fault: the reader stays open */
    GL_CHECK(hal_nfc_is_open(&f.reader.hal));
    GL_CHECK_INT(0, f.reader.faults);
    GL_CHECK_INT(GL_DEV_NOCARD, phone_wallet_verify_pin(&f.wallet, NULL));
    nfc_reader_release(&f.reader);
    GL_CHECK_INT(GL_DEV_NOCARD, nfc_reader_poll(&f.reader, &tap));

    /* presence check sees it leave */
    GL_CHECK_INT(GL_OK, emu(&f, PHONE));
    GL_CHECK_INT(GL_OK, nfc_reader_poll(&f.reader, &tap));
    GL_CHECK_INT(GL_OK, nfc_reader_present(&f.reader));
    GL_CHECK_INT(GL_OK, emu(&f, "remove"));
    GL_CHECK_INT(GL_DEV_CARDGONE, nfc_reader_present(&f.reader));
    nfc_reader_release(&f.reader);
    fx_down(&f);
}

static int is_line_error(int rc)
{
    return rc == GL_EIO || rc == GL_DEV_BADFRAME || rc == GL_ETIMEDOUT;
}

GL_TEST(bad_frames_and_noise_are_errors_then_the_reader_recovers)
{
    static const char *kinds[] = {"error", "nack", "badsum", "noise"};
    struct fx f;
    struct nfc_tap tap;

    GL_CHECK_INT(GL_OK, fx_up(&f, "bad", 1500));
    GL_CHECK_INT(GL_OK, emu(&f, PHONE));
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        char cmd[64];
        int rc;
        GL_CHECK_INT(GL_OK, nfc_reader_poll(&f.reader, &tap));
        phone_wallet_init(&f.wallet, nfc_reader_xfer, &f.reader);
        snprintf(cmd, sizeof cmd, "fail 1 %s", kinds[k]);
        GL_CHECK_INT(GL_OK, emu(&f, cmd));
        rc = phone_wallet_select(&f.wallet);
        if (!is_line_error(rc)) {
            printf("       kind %s gave %s\n", kinds[k], gl_errname(rc));
        }
        GL_CHECK(is_line_error(rc));
        GL_CHECK(!hal_nfc_is_open(&f.reader.hal)); /* closed for reopen */
        GL_CHECK_INT((int)k + 1, f.reader.faults);
        /* the next poll reopens at once and the phone works again */
        GL_CHECK_INT(GL_OK, nfc_reader_poll(&f.reader, &tap));
        phone_wallet_init(&f.wallet, nfc_reader_xfer, &f.reader);
        GL_CHECK_INT(GL_OK, phone_wallet_select(&f.wallet));
        nfc_reader_release(&f.reader);
    }
    fx_down(&f);
}

GL_TEST(unplugged_reader_is_reopened_when_back)
{
    struct fx f;
    struct nfc_tap tap;
    int rc;

    GL_CHECK_INT(GL_OK, fx_up(&f, "unplug", 1500));
    GL_CHECK_INT(GL_OK, emu(&f, PHONE));
    GL_CHECK_INT(GL_OK, nfc_reader_poll(&f.reader, &tap));
    phone_wallet_init(&f.wallet, nfc_reader_xfer, &f.reader);
    GL_CHECK_INT(GL_OK, emu(&f, "unplug"));
    rc = phone_wallet_select(&f.wallet);
    GL_CHECK(is_line_error(rc));
    GL_CHECK(!hal_nfc_is_open(&f.reader.hal));
    /* reopen fails while unplugged, then waits reopen_ms */
    GL_CHECK_INT(GL_DEV_NODEV, nfc_reader_poll(&f.reader, &tap));
    GL_CHECK_INT(GL_EAGAIN, nfc_reader_poll(&f.reader, &tap));
    GL_CHECK_INT(GL_OK, emu(&f, "plug"));
    hal_clock_advance(&f.clock, 999);
    GL_CHECK_INT(GL_EAGAIN, nfc_reader_poll(&f.reader, &tap));
    hal_clock_advance(&f.clock, 1);
    GL_CHECK_INT(GL_OK, nfc_reader_poll(&f.reader, &tap));
    phone_wallet_init(&f.wallet, nfc_reader_xfer, &f.reader);
    GL_CHECK_INT(GL_OK, phone_wallet_select(&f.wallet));
    nfc_reader_release(&f.reader);
    fx_down(&f);
}

GL_TEST(silent_reader_times_out_and_recovers)
{
    struct fx f;
    struct nfc_tap tap;

    GL_CHECK_INT(GL_OK, fx_up(&f, "silent", 400));
    GL_CHECK_INT(GL_OK, emu(&f, PHONE));
    GL_CHECK_INT(GL_OK, nfc_reader_poll(&f.reader, &tap));
    phone_wallet_init(&f.wallet, nfc_reader_xfer, &f.reader);
    GL_CHECK_INT(GL_OK, emu(&f, "silent"));
    GL_CHECK_INT(GL_ETIMEDOUT, phone_wallet_select(&f.wallet));
    GL_CHECK(!hal_nfc_is_open(&f.reader.hal));
    /* opening a reader that does not answer fails (libnfc's own 1 s
     * time-outs), it does not hang */
    GL_CHECK(nfc_reader_poll(&f.reader, &tap) != GL_OK);
    GL_CHECK_INT(GL_OK, emu(&f, "talk"));
    hal_clock_advance(&f.clock, 1000);
    GL_CHECK_INT(GL_OK, nfc_reader_poll(&f.reader, &tap));
    phone_wallet_init(&f.wallet, nfc_reader_xfer, &f.reader);
    GL_CHECK_INT(GL_OK, phone_wallet_select(&f.wallet));
    nfc_reader_release(&f.reader);
    fx_down(&f);
}

static long elapsed_ms(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (long)(t1.tv_sec - t0->tv_sec) * 1000 +
           (t1.tv_nsec - t0->tv_nsec) / 1000000;
}

/* The reader stops answering exactly while it is asked to select: the
 * selection ends within its bound as a reader fault (not "no card"), and
 * the reader works again once the chip talks.  alarm() turns a selection
 * that would block forever (a libnfc without the bound) into a failed run
 * instead of a hung suite. */
GL_TEST(silent_reader_during_selection_times_out_and_recovers)
{
    struct fx f;
    struct nfc_tap tap;
    struct hal_nfc_target t;
    struct phone_wallet_proof p;
    struct timespec t0;
    uint8_t want[8];
    long ms;
    int stage, rc;

    GL_CHECK_INT(GL_OK, fx_up(&f, "selsilent", 2000));
    GL_CHECK_INT(GL_OK, emu(&f, PHONE));
    GL_CHECK_INT(GL_OK, nfc_reader_poll(&f.reader, &tap));
    nfc_reader_release(&f.reader);

    /* the hal: one selection, bounded, GL_ETIMEDOUT */
    GL_CHECK_INT(GL_OK, emu(&f, "silent"));
    alarm(10);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    rc = hal_nfc_select(&f.reader.hal, &t);
    ms = elapsed_ms(&t0);
    alarm(0);
    GL_CHECK_INT(GL_ETIMEDOUT, rc);
    printf("       silent selection ended after %ld ms (bound %d ms)\n", ms,
           HAL_NFC_SELECT_TIMEOUT_MS);
    GL_CHECK(ms >= HAL_NFC_SELECT_TIMEOUT_MS - 20);
    GL_CHECK(ms <= 2 * HAL_NFC_SELECT_TIMEOUT_MS + 700);
    GL_CHECK(hal_nfc_is_open(&f.reader.hal)); /* closing is the caller's */

    /* the reader as the terminal polls it: a fault that closes it */
    alarm(10);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    rc = nfc_reader_poll(&f.reader, &tap);
    ms = elapsed_ms(&t0);
    alarm(0);
    GL_CHECK_INT(GL_ETIMEDOUT, rc);
    GL_CHECK(ms <= 2 * HAL_NFC_SELECT_TIMEOUT_MS + 700);
    GL_CHECK(!hal_nfc_is_open(&f.reader.hal));
    GL_CHECK_INT(1, f.reader.faults);
    GL_CHECK_INT(0, tap.uid_len);

    /* the chip talks again: the next poll reopens at once and a whole
     * transaction completes */
    GL_CHECK_INT(GL_OK, emu(&f, "talk"));
    rc = phone_tx(&f, &p, &stage);
    GL_CHECK_INT(GL_OK, rc);
    GL_CHECK_INT(6, stage);
    GL_CHECK_INT(1, (int)p.atc);
    host_expected(V1, 12345, "TERM0001", CHALLENGE, p.atc, want);
    GL_CHECK_MEM(want, p.cryptogram, 8);
    GL_CHECK_INT(1, f.reader.faults);
    fx_down(&f);
}

GL_TEST(fault_sweep_over_every_operation_of_a_transaction)
{
    static const char *kinds[] = {"error", "badsum", "noise", "nack", "gone",
                                  "silent"};
    struct fx f;
    struct phone_wallet_proof p;
    uint32_t last_atc = 0;
    unsigned ops;
    int stage, rc, runs = 0, failed_runs = 0;
    uint8_t want[8];

    GL_CHECK_INT(GL_OK, fx_up(&f, "sweep", 1500));
    /* the emulated phone answers the PIN step at once: a silent reader
     * there need not cost the 30 s a customer gets */
    f.pin_timeout_ms = 1500;
    GL_CHECK_INT(GL_OK, emu(&f, PHONE));
    GL_CHECK_INT(GL_OK, nfc_reader_poll(&f.reader, &(struct nfc_tap){0}));
    nfc_reader_release(&f.reader); /* reader open: count a warm transaction */
    GL_CHECK_INT(GL_OK, emu(&f, "reset-count"));
    GL_CHECK_INT(GL_OK, phone_tx(&f, &p, &stage));
    ops = emu_stat(&f, "ops=");
    last_atc = p.atc;
    GL_CHECK_INT(1, last_atc);
    GL_CHECK(ops >= 7); /* select, 5 APDUs, deselect at least */
    printf("       one phone transaction = %u reader operations\n", ops);

    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        for (unsigned nth = 1; nth <= ops; nth++) {
            char cmd[64];
            /* the phone as it is now (its ATC kept), back in the field */
            snprintf(cmd, sizeof cmd, " atc=%u", (unsigned)last_atc);
            char tap[512];
            snprintf(tap, sizeof tap, "%s%s", PHONE, cmd);
            GL_CHECK_INT(GL_OK, emu(&f, tap));
            /* warm the reader up (it may have been closed by the last
             * fault) so that operation numbers match the baseline */
            if (!hal_nfc_is_open(&f.reader.hal)) {
                struct nfc_tap t;
                GL_CHECK_INT(GL_OK, nfc_reader_poll(&f.reader, &t));
                nfc_reader_release(&f.reader);
            }
            GL_CHECK_INT(GL_OK, emu(&f, "reset-count"));
            snprintf(cmd, sizeof cmd, "fail %u %s", nth, kinds[k]);
            GL_CHECK_INT(GL_OK, emu(&f, cmd));
            rc = phone_tx(&f, &p, &stage);
            runs++;
            if (rc == GL_OK) {
                /* the fault hit the closing deselect: the sale stands */
                GL_CHECK(p.atc > last_atc);
                last_atc = p.atc;
            } else {
                failed_runs++;
                int specific;
                if (strcmp(kinds[k], "gone") == 0) {
                    specific = rc == GL_DEV_CARDGONE || rc == GL_DEV_NOCARD;
                } else if (strcmp(kinds[k], "silent") == 0) {
                    /* at every step, the selection included: a time-out
                     * that closed the reader for reopening */
                    specific = rc == GL_ETIMEDOUT &&
                               !hal_nfc_is_open(&f.reader.hal);
                } else {
                    specific = is_line_error(rc);
                }
                if (!specific) {
                    printf("       fail %u %s: stage %d gave %s\n", nth,
                           kinds[k], stage, gl_errname(rc));
                }
                GL_CHECK(specific);
            }
            /* recovery: the same phone, tapped again, completes */
            GL_CHECK_INT(GL_OK, emu(&f, "talk"));
            snprintf(cmd, sizeof cmd, " atc=%u", (unsigned)emu_stat(&f, "atc="));
            snprintf(tap, sizeof tap, "%s%s", PHONE, cmd);
            GL_CHECK_INT(GL_OK, emu(&f, tap));
            rc = phone_tx(&f, &p, &stage);
            if (rc != GL_OK) {
                printf("       recovery after fail %u %s: stage %d gave %s\n",
                       nth, kinds[k], stage, gl_errname(rc));
            }
            GL_CHECK_INT(GL_OK, rc);
            GL_CHECK(p.atc > last_atc); /* never reused */
            last_atc = p.atc;
            host_expected(V1, 12345, "TERM0001", CHALLENGE, p.atc, want);
            GL_CHECK_MEM(want, p.cryptogram, 8);
        }
    }
    printf("       %d faulted runs, %d ended in a reported error\n", runs,
           failed_runs);
    GL_CHECK(failed_runs >= runs / 2);
    fx_down(&f);
}

GL_TEST(a_transaction_allocates_only_libnfc_target_copy)
{
    struct fx f;
    struct nfc_tap tap;
    struct phone_wallet_proof p;
    struct phone_wallet_voucher v[4];
    size_t n;
    long select_allocs, apdu_allocs;

    GL_CHECK_INT(GL_OK, fx_up(&f, "alloc", 2000));
    GL_CHECK_INT(GL_OK, emu(&f, PHONE));
    /* start-up: open (libnfc allocates its context and device here) */
    GL_CHECK_INT(GL_OK, nfc_reader_poll(&f.reader, &tap));
    nfc_reader_release(&f.reader);

    allocs = 0;
    counting = 1;
    int rc1 = nfc_reader_poll(&f.reader, &tap);
    counting = 0;
    select_allocs = allocs;

    allocs = 0;
    counting = 1;
    phone_wallet_init(&f.wallet, nfc_reader_xfer, &f.reader);
    int rc2 = phone_wallet_select(&f.wallet);
    int rc3 = phone_wallet_list(&f.wallet, v, 4, &n);
    int rc4 = phone_wallet_select_voucher(&f.wallet, &v[0]);
    int rc5 = phone_wallet_verify_pin(&f.wallet, NULL);
    int rc6 = phone_wallet_cryptogram(&f.wallet, 12345, "TERM0001", CHALLENGE,
                                      &p);
    int rc7 = nfc_reader_present(&f.reader);
    nfc_reader_release(&f.reader);
    counting = 0;
    apdu_allocs = allocs;

    GL_CHECK_INT(GL_OK, rc1);
    GL_CHECK_INT(GL_OK, rc2);
    GL_CHECK_INT(GL_OK, rc3);
    GL_CHECK_INT(GL_OK, rc4);
    GL_CHECK_INT(GL_OK, rc5);
    GL_CHECK_INT(GL_OK, rc6);
    GL_CHECK_INT(GL_OK, rc7);
    /* the one allocation of a selection is libnfc's copy of the target
     * (pn53x_current_target_new), freed at deselect */
    GL_CHECK_INT(1, select_allocs);
    /* the APDUs, the PIN, the cryptogram, presence and release: none */
    GL_CHECK_INT(0, apdu_allocs);
    printf("       allocations: select %ld, rest of the transaction %ld\n",
           select_allocs, apdu_allocs);

    /* the counter counts: a deliberate allocation is seen */
    allocs = 0;
    counting = 1;
    void *volatile probe = malloc(32);
    counting = 0;
    free(probe);
    GL_CHECK_INT(1, allocs);
    fx_down(&f);
}

/* The ATC travels as DE 48 AT (n 5): the phone stops at 99999 with 6A 81,
 * and the terminal refuses an answer beyond it. */
GL_TEST(wallet_atc_stops_at_99999)
{
    struct fx f;
    struct nfc_tap tap;
    struct phone_wallet_voucher v[4];
    struct phone_wallet_proof p;
    uint8_t want[8];
    size_t n = 0;

    GL_CHECK_INT(GL_OK, fx_up(&f, "atcmax", 2000));
    GL_CHECK_INT(GL_EINVAL, emu(&f, PHONE " atc=100000"));
    GL_CHECK_INT(GL_EINVAL, emu(&f, PHONE " atc=-1"));
    GL_CHECK_INT(GL_OK, emu(&f, PHONE " atc=99998"));
    GL_CHECK_INT(GL_OK, nfc_reader_poll(&f.reader, &tap));
    phone_wallet_init(&f.wallet, nfc_reader_xfer, &f.reader);
    GL_CHECK_INT(GL_OK, phone_wallet_select(&f.wallet));
    GL_CHECK_INT(GL_OK, phone_wallet_list(&f.wallet, v, 4, &n));
    GL_CHECK_INT(GL_OK, phone_wallet_select_voucher(&f.wallet, &v[0]));
    GL_CHECK_INT(GL_OK, phone_wallet_verify_pin(&f.wallet, NULL));
    /* the last cryptogram the link can carry */
    GL_CHECK_INT(GL_OK, phone_wallet_cryptogram(&f.wallet, 12345, "TERM0001",
                                                CHALLENGE, &p));
    GL_CHECK_INT(99999, p.atc);
    host_expected(V1, 12345, "TERM0001", CHALLENGE, 99999, want);
    GL_CHECK_MEM(want, p.cryptogram, 8);
    /* then the counter is exhausted: 6A 81, the counter stays */
    GL_CHECK_INT(GL_OK, phone_wallet_verify_pin(&f.wallet, NULL));
    GL_CHECK_INT(GL_DEV_CARDERR,
                 phone_wallet_cryptogram(&f.wallet, 12345, "TERM0001",
                                         CHALLENGE, &p));
    GL_CHECK_INT(0x6A81, f.wallet.last_sw);
    GL_CHECK_INT(0, p.atc);
    GL_CHECK_INT(99999, emu_stat(&f, "atc="));
    /* asking again changes nothing (the verified PIN was not spent) */
    GL_CHECK_INT(GL_DEV_CARDERR,
                 phone_wallet_cryptogram(&f.wallet, 1, "TERM0001", CHALLENGE,
                                         &p));
    GL_CHECK_INT(0x6A81, f.wallet.last_sw);
    GL_CHECK_INT(99999, emu_stat(&f, "atc="));
    /* the other voucher has its own counter (set to 99998 too) */
    GL_CHECK_INT(GL_OK, phone_wallet_select_voucher(&f.wallet, &v[1]));
    GL_CHECK_INT(GL_OK, phone_wallet_cryptogram(&f.wallet, 999, "TERM0001",
                                                CHALLENGE, &p));
    GL_CHECK_INT(99999, p.atc);
    nfc_reader_release(&f.reader);
    fx_down(&f);
}

/* A phone that is not ours: canned answers to GENERATE CRYPTOGRAM. */
struct canned {
    uint8_t r[16];
    size_t n;
};

static int canned_xfer(void *ctx, const uint8_t *capdu, size_t clen,
                       uint8_t *rapdu, size_t cap, size_t *rlen)
{
    struct canned *c = ctx;
    static const uint8_t ok[] = {0x90, 0x00};
    const uint8_t *src = c->r;
    size_t n = c->n;

    if (clen >= 2 && capdu[1] != 0x30) {
        src = ok;
        n = sizeof ok;
    }
    if (n > cap) {
        return GL_ENOSPC;
    }
    memcpy(rapdu, src, n);
    *rlen = n;
    return GL_OK;
}

GL_TEST(terminal_refuses_an_atc_the_link_cannot_carry)
{
    static const uint32_t atcs[] = {0, 100000, 0xFFFFFFFFu, 1, 99999};
    static const int want[] = {GL_DEV_BADFRAME, GL_DEV_BADFRAME,
                               GL_DEV_BADFRAME, GL_OK, GL_OK};
    struct canned c;
    struct phone_wallet w;
    struct phone_wallet_voucher v = {.index = 0, .number = V1};
    struct phone_wallet_proof p;

    for (size_t i = 0; i < sizeof atcs / sizeof atcs[0]; i++) {
        memset(&c, 0, sizeof c);
        c.r[0] = (uint8_t)(atcs[i] >> 24);
        c.r[1] = (uint8_t)(atcs[i] >> 16);
        c.r[2] = (uint8_t)(atcs[i] >> 8);
        c.r[3] = (uint8_t)atcs[i];
        memset(c.r + 4, 0xA5, 8);
        c.r[12] = 0x90;
        c.r[13] = 0x00;
        c.n = 14;
        phone_wallet_init(&w, canned_xfer, &c);
        GL_CHECK_INT(GL_OK, phone_wallet_select_voucher(&w, &v));
        GL_CHECK_INT(want[i], phone_wallet_cryptogram(&w, 100, "TERM0001",
                                                      CHALLENGE, &p));
        GL_CHECK_INT(want[i] == GL_OK ? atcs[i] : 0, p.atc);
        GL_CHECK_STR(want[i] == GL_OK ? V1 : "", p.number);
    }
}

/* Runs one C-APDU given in hex on the wallet model; returns the R-APDU in
 * hex (static buffer). */
static const char *wapdu(struct wallet_emu *w, const char *hex)
{
    static char out[2 * WALLET_EMU_RAPDU_MAX + 1];
    uint8_t c[300], r[WALLET_EMU_RAPDU_MAX];
    size_t n = strlen(hex) / 2, rl = 0;

    for (size_t i = 0; i < n; i++) {
        unsigned b;
        sscanf(hex + 2 * i, "%2x", &b);
        c[i] = (uint8_t)b;
    }
    if (wallet_emu_apdu(w, c, n, r, sizeof r, &rl) != GL_OK) {
        return "ENOSPC";
    }
    for (size_t i = 0; i < rl; i++) {
        sprintf(out + 2 * i, "%02X", r[i]);
    }
    out[2 * rl] = '\0';
    return out;
}

GL_TEST(wallet_model_apdu_by_apdu)
{
    static struct wallet_emu w;
    char args[512], reply[128];
    uint8_t want[8], r[4];
    size_t rl = 99;
    const char *a;

    wallet_emu_init(&w);
    /* no wallet installed: the application is not there */
    GL_CHECK_STR("6A82", wapdu(&w, "00A4040009F0474C57414C4C455400"));
    GL_CHECK_STR("6985", wapdu(&w, "8010000000"));
    GL_CHECK_INT(0, (int)wallet_emu_atc(&w));

    snprintf(args, sizeof args, "imk=" IMK_HEX " pin=2468 atc=41 voucher=" V1
             ",1001,50000 voucher=" V2 ",2002,1500,nopin");
    GL_CHECK_INT(GL_OK, wallet_emu_setup(&w, args, NULL, NULL, reply,
                                         sizeof reply));
    GL_CHECK_STR("ok phone vouchers=2", reply);
    GL_CHECK_INT(3, w.tries);
    /* commands before SELECT, short and foreign ones */
    GL_CHECK_STR("6985", wapdu(&w, "8010000000"));
    GL_CHECK_STR("6700", wapdu(&w, "80A4"));
    GL_CHECK_STR("6E00", wapdu(&w, "9010000000"));
    GL_CHECK_STR("6D00", wapdu(&w, "00B0000000"));
    GL_CHECK_STR("6A82", wapdu(&w, "00A4040007D276000085010100"));
    /* the transaction of docs/phone-wallet.md */
    GL_CHECK_STR("01029000", wapdu(&w, "00A4040009F0474C57414C4C455400"));
    GL_CHECK_STR("02"
                 "00639100001234567403E90000C35001"
                 "01639100009876543207D2000005DC00"
                 "9000",
                 wapdu(&w, "8010000000"));
    GL_CHECK_STR("01" "01639100009876543207D2000005DC00" "9000",
                 wapdu(&w, "8010010000"));
    GL_CHECK_STR("009000", wapdu(&w, "8010020000"));
    GL_CHECK_STR("6A83", wapdu(&w, "8010030000"));
    GL_CHECK_STR("6985", wapdu(&w, "80200000"));
    GL_CHECK_STR("6A83", wapdu(&w, "80120200"));
    GL_CHECK_STR("6D00", wapdu(&w, "80400000"));
    GL_CHECK_STR("9000", wapdu(&w, "80120000"));
    GL_CHECK_STR("6982", wapdu(&w, "8030000016000000012345544552"
                                   "4D30303031C1C2C3C4C5C6C7C800"));
    GL_CHECK_STR("9000", wapdu(&w, "80200000"));
    /* wrong Lc */
    GL_CHECK_STR("6700", wapdu(&w, "8030000015000000012345544552"
                                   "4D30303031C1C2C3C4C5C6C700"));
    GL_CHECK_STR("6700", wapdu(&w, "80300000"));
    a = wapdu(&w, "8030000016000000012345544552"
                  "4D30303031C1C2C3C4C5C6C7C800");
    host_expected(V1, 12345, "TERM0001", CHALLENGE, 42, want);
    {
        char hex[17];
        for (int i = 0; i < 8; i++) {
            sprintf(hex + 2 * i, "%02X", want[i]);
        }
        GL_CHECK_INT(28, (int)strlen(a));
        GL_CHECK(strncmp(a, "0000002A", 8) == 0);
        GL_CHECK(strncmp(a + 8, hex, 16) == 0);
        GL_CHECK_STR("9000", a + 24);
    }
    GL_CHECK_INT(42, (int)wallet_emu_atc(&w));
    /* one PIN, one cryptogram */
    GL_CHECK_STR("6982", wapdu(&w, "8030000016000000012345544552"
                                   "4D30303031C1C2C3C4C5C6C7C800"));
    /* wrong PINs: 63 C2, 63 C1, then blocked */
    GL_CHECK_INT(GL_OK, wallet_emu_enter(&w, "1111", reply, sizeof reply));
    GL_CHECK_STR("63C2", wapdu(&w, "80200000"));
    GL_CHECK_STR("63C1", wapdu(&w, "80200000"));
    GL_CHECK_STR("6983", wapdu(&w, "80200000"));
    GL_CHECK_INT(GL_OK, wallet_emu_enter(&w, "2468", reply, sizeof reply));
    GL_CHECK_STR("6983", wapdu(&w, "80200000"));
    /* what the customer types is 0 to 15 digits */
    GL_CHECK_INT(GL_EINVAL, wallet_emu_enter(&w, "12a4", reply, sizeof reply));
    GL_CHECK_INT(GL_EINVAL, wallet_emu_enter(&w, "1234567890123456", reply,
                                             sizeof reply));
    /* the no-PIN voucher still pays */
    GL_CHECK_STR("9000", wapdu(&w, "80120100"));
    GL_CHECK_STR("9000", wapdu(&w, "80200000"));
    /* a new SELECT clears the session */
    GL_CHECK_STR("01029000", wapdu(&w, "00A4040009F0474C57414C4C455400"));
    GL_CHECK_STR("6985", wapdu(&w, "80200000"));
    /* an answer that does not fit is refused, not cut */
    GL_CHECK_INT(GL_ENOSPC, wallet_emu_apdu(&w, (const uint8_t *)"\x80\x10"
                                            "\x00\x00\x00", 5, r, sizeof r,
                                            &rl));
    GL_CHECK_INT(0, (int)rl);
    wallet_emu_reset_session(&w);
    GL_CHECK_STR("6985", wapdu(&w, "8010000000"));

    /* set-up is all or nothing */
    snprintf(args, sizeof args, "imk=" IMK_HEX " pin=2468 tries=16 voucher="
             V1 ",1,1");
    GL_CHECK_INT(GL_EINVAL, wallet_emu_setup(&w, args, NULL, NULL, reply,
                                             sizeof reply));
    GL_CHECK_STR("err tries 0..15", reply);
    snprintf(args, sizeof args, "imk=" IMK_HEX " pin=2468 voucher=" V1
             ",1,1,other");
    GL_CHECK_INT(GL_EINVAL, wallet_emu_setup(&w, args, NULL, NULL, reply,
                                             sizeof reply));
    snprintf(args, sizeof args, "imk=" IMK_HEX " pin=24 voucher=" V1 ",1,1");
    GL_CHECK_INT(GL_EINVAL, wallet_emu_setup(&w, args, NULL, NULL, reply,
                                             sizeof reply));
    snprintf(args, sizeof args, "imk=0011 pin=2468");
    GL_CHECK_INT(GL_EINVAL, wallet_emu_setup(&w, args, NULL, NULL, reply,
                                             sizeof reply));
    GL_CHECK_STR("err imk", reply);
    snprintf(args, sizeof args, "pin=2468 voucher=" V1 ",1,1");
    GL_CHECK_INT(GL_EINVAL, wallet_emu_setup(&w, args, NULL, NULL, reply,
                                             sizeof reply));
    GL_CHECK_STR("err need imk= and pin=", reply);
    GL_CHECK_INT(2, w.nv); /* still the wallet from before */
    GL_CHECK_INT(42, (int)w.v[0].atc);
    wallet_emu_clear(&w);
    GL_CHECK_INT(0, w.installed);
    GL_CHECK_STR("6A82", wapdu(&w, "00A4040009F0474C57414C4C455400"));

    /* the whole PIN is compared: a prefix or an extension is wrong */
    snprintf(args, sizeof args, "imk=" IMK_HEX " pin=2468 voucher=" V1
             ",1,1");
    GL_CHECK_INT(GL_OK, wallet_emu_setup(&w, args, NULL, NULL, reply,
                                         sizeof reply));
    GL_CHECK_STR("01019000", wapdu(&w, "00A4040009F0474C57414C4C455400"));
    GL_CHECK_STR("9000", wapdu(&w, "80120000"));
    GL_CHECK_INT(GL_OK, wallet_emu_enter(&w, "24680", reply, sizeof reply));
    GL_CHECK_STR("63C2", wapdu(&w, "80200000"));
    GL_CHECK_INT(GL_OK, wallet_emu_enter(&w, "246", reply, sizeof reply));
    GL_CHECK_STR("63C1", wapdu(&w, "80200000"));
    GL_CHECK_INT(GL_OK, wallet_emu_enter(&w, "2468", reply, sizeof reply));
    GL_CHECK_STR("9000", wapdu(&w, "80200000"));
    GL_CHECK_INT(3, w.tries);
    wallet_emu_clear(&w);
}

GL_TEST(emulator_control_lines)
{
    struct emu_pn532 *e = emu_pn532_new();
    char r[256];

    GL_CHECK(e != NULL);
    GL_CHECK_INT(GL_EINVAL, emu_pn532_command(e, "tap card zz 1", r, sizeof r));
    GL_CHECK_INT(GL_EINVAL, emu_pn532_command(e, "bogus", r, sizeof r));
    GL_CHECK_STR("err unknown command", r);
    GL_CHECK_INT(GL_EINVAL, emu_pn532_command(e, "fail 0", r, sizeof r));
    GL_CHECK_INT(GL_EINVAL, emu_pn532_command(e, "tap phone 01020304", r,
                                              sizeof r));
    GL_CHECK_INT(GL_OK, emu_pn532_command(e, "tap card 01020304 42", r,
                                          sizeof r));
    GL_CHECK_INT(GL_OK, emu_pn532_command(e, "stats", r, sizeof r));
    GL_CHECK_STR("ok ops=0 card=1 atc=0 tries=0", r);
    emu_pn532_free(e);
}

int main(void)
{
    count_init();
    setenv("LIBNFC_AUTO_SCAN", "false", 1);
    setenv("LIBNFC_LOG_LEVEL", "0", 1);
    GL_RUN(no_card_is_nocard_not_a_fault);
    GL_RUN(membership_card_number_from_ndef);
    GL_RUN(wallet_list_select_pin_cryptogram_and_atc);
    GL_RUN(pin_on_phone_wrong_then_blocked);
    GL_RUN(card_removed_mid_exchange_is_cardgone);
    GL_RUN(bad_frames_and_noise_are_errors_then_the_reader_recovers);
    GL_RUN(unplugged_reader_is_reopened_when_back);
    GL_RUN(silent_reader_times_out_and_recovers);
    GL_RUN(silent_reader_during_selection_times_out_and_recovers);
    GL_RUN(fault_sweep_over_every_operation_of_a_transaction);
    GL_RUN(a_transaction_allocates_only_libnfc_target_copy);
    GL_RUN(wallet_atc_stops_at_99999);
    GL_RUN(terminal_refuses_an_atc_the_link_cannot_carry);
    GL_RUN(wallet_model_apdu_by_apdu);
    GL_RUN(emulator_control_lines);
    return GL_TEST_END();
}
