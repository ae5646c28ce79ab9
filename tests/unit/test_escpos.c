/*
 * test_escpos.c - the ESC/POS printer: exact encoder bytes, status decoding,
 * the decoder; a receipt (Korean and English text, Code 128, QR, cut)
 * printed through the real libserialport to the printer emulator and
 * compared with tests/golden/receipt.txt; its bar codes rendered with
 * libzint and read back with zbarimg; every printer fault; and a
 * transaction (scan a voucher, print its receipt) with each device
 * operation failed in turn, and no heap allocation per transaction.
 *
 * GL_UPDATE_GOLDEN=1 in the environment rewrites the golden file.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zint.h>

#include "../gl_test.h"
#include "escpos.h"
#include "escpos_decode.h"
#include "gl_err.h"
#include "gl_log.h"
#include "malloc_count.h"
#include "scanner.h"
#include "serial_emu.h"

#define WAIT_MS 10000
#define GOLDEN "tests/golden/receipt.txt"
#define QR_URL "https://giftlink.example/r/TERM0001-000123"

static uint8_t g_buf[8192];
static struct escpos_enc g_enc;

#define ENC_CHECK(expected, n)                                              \
    do {                                                                    \
        size_t len_ = 0;                                                    \
        GL_CHECK_INT(GL_OK, escpos_enc_finish(&g_enc, &len_));              \
        GL_CHECK_INT((n), len_);                                            \
        GL_CHECK_MEM((expected), g_buf, (n));                               \
        escpos_enc_reset(&g_enc);                                           \
    } while (0)

GL_TEST(encoder_bytes)
{
    escpos_enc_reset(&g_enc);
    escpos_initialize(&g_enc);
    ENC_CHECK("\x1b@\x1bt\x00\x1bR\x0d", 8);
    escpos_bold(&g_enc, 1);
    escpos_bold(&g_enc, 0);
    ENC_CHECK("\x1b" "E\x01\x1b" "E\x00", 6);
    escpos_size(&g_enc, 2, 3);
    escpos_align(&g_enc, ESCPOS_CENTER);
    ENC_CHECK("\x1d!\x12\x1b" "a\x01", 6);
    escpos_line(&g_enc, "Hi 안녕");
    ENC_CHECK("Hi \x1c&\xbe\xc8\xb3\xe7\x1c.\n", 12);
    escpos_code128(&g_enc, "1234", 4, 80);
    ENC_CHECK("\x1dh\x50\x1dw\x02\x1dH\x02\x1dk\x49\x04{C\x0c\x22", 17);
    escpos_code128(&g_enc, "A{1", 3, 60);
    ENC_CHECK("\x1dh\x3c\x1dw\x02\x1dH\x02\x1dk\x49\x06{BA{{1", 19);
    escpos_qr(&g_enc, "AB", 2, 6, ESCPOS_QR_M);
    ENC_CHECK("\x1d(k\x04\x00\x31\x41\x32\x00"
              "\x1d(k\x03\x00\x31\x43\x06"
              "\x1d(k\x03\x00\x31\x45\x31"
              "\x1d(k\x05\x00\x31\x50\x30" "AB"
              "\x1d(k\x03\x00\x31\x51\x30", 9 + 8 + 8 + 10 + 8);
    escpos_feed(&g_enc, 3);
    escpos_cut(&g_enc, 1);
    escpos_cut(&g_enc, 0);
    ENC_CHECK("\x1b" "d\x03\x1dV\x01\x1dV\x00", 9);
}

GL_TEST(encoder_errors)
{
    size_t len = 0;

    escpos_enc_reset(&g_enc);
    escpos_text(&g_enc, "뷁"); /* not among KS X 1001's 2,350 syllables */
    GL_CHECK_INT(GL_PRN_CHARSET, escpos_enc_finish(&g_enc, &len));
    GL_CHECK_INT(0, len);
    escpos_enc_reset(&g_enc);
    escpos_text(&g_enc, "gift \x1b@ message");
    GL_CHECK_INT(GL_EINVAL, escpos_enc_finish(&g_enc, &len));
    /* a C1 control (U+008A) is a control too: it used to go out as the
     * single byte 8A inside two-byte mode (found by fuzz_escpos) */
    escpos_enc_reset(&g_enc);
    escpos_text(&g_enc, "aQ R\xc2\x8a");
    GL_CHECK_INT(GL_EINVAL, escpos_enc_finish(&g_enc, &len));
    escpos_enc_reset(&g_enc);
    escpos_text(&g_enc, "\xc2\x9f\xea\xb0\x80");
    GL_CHECK_INT(GL_EINVAL, escpos_enc_finish(&g_enc, &len));
    /* U+00A0..: not C1, and in KS X 1001 or refused as a charset matter */
    escpos_enc_reset(&g_enc);
    escpos_text(&g_enc, "\xc2\xb1");
    GL_CHECK_INT(GL_OK, escpos_enc_finish(&g_enc, &len));
    GL_CHECK_INT(6, len); /* FS & A1 BE FS . */
    GL_CHECK_MEM("\x1c&\xa1\xbe\x1c.", g_enc.buf, 6);
    escpos_enc_reset(&g_enc);
    escpos_size(&g_enc, 9, 1);
    escpos_bold(&g_enc, 1); /* sticky: nothing after the first error */
    GL_CHECK_INT(GL_EINVAL, escpos_enc_finish(&g_enc, &len));
    GL_CHECK_INT(0, g_enc.len);
    escpos_enc_reset(&g_enc);
    escpos_code128(&g_enc, "12\x01", 3, 80);
    GL_CHECK_INT(GL_EINVAL, escpos_enc_finish(&g_enc, &len));
    {
        struct escpos_enc small;
        uint8_t b[10];
        GL_CHECK_INT(GL_OK, escpos_enc_init(&small, b, sizeof b));
        escpos_line(&small, "0123456789");
        GL_CHECK_INT(GL_ENOSPC, escpos_enc_finish(&small, &len));
        escpos_enc_reset(&small);
        escpos_text(&small, "상품권상품권");
        GL_CHECK_INT(GL_ENOSPC, escpos_enc_finish(&small, &len));
        escpos_enc_deinit(&small);
    }
    escpos_enc_reset(&g_enc);
}

GL_TEST(status_decode)
{
    struct escpos_status st;

    GL_CHECK_INT(GL_OK, escpos_status_decode(0x12, 0, 0x12, &st));
    GL_CHECK_INT(0, st.paper_near_end);
    GL_CHECK_INT(GL_OK, escpos_status_decode(0x12, 0, 0x1E, &st));
    GL_CHECK_INT(1, st.paper_near_end);
    GL_CHECK_INT(GL_DEV_PAPER, escpos_status_decode(0x1A, 0x32, 0x7E, &st));
    GL_CHECK_INT(GL_PRN_COVER, escpos_status_decode(0x1A, 0x16, 0x12, &st));
    GL_CHECK_INT(GL_DEV_OFFLINE, escpos_status_decode(0x1A, 0x52, 0x12, &st));
    GL_CHECK_INT(GL_PRN_STATUS, escpos_status_decode(0xFF, 0, 0x12, &st));
    GL_CHECK_INT(GL_PRN_STATUS, escpos_status_decode(0x12, 0, 0x00, &st));
    GL_CHECK_INT(GL_PRN_STATUS, escpos_status_decode(0x1A, 0x01, 0x12, &st));
}

/* The receipt of a redemption; masked numbers only. */
static int build_receipt(struct escpos_enc *e, const char *voucher,
                         size_t *len)
{
    char masked[GL_MASK_MAX], line[96];

    escpos_enc_reset(e);
    escpos_initialize(e);
    escpos_align(e, ESCPOS_CENTER);
    escpos_bold(e, 1);
    escpos_size(e, 2, 2);
    escpos_line(e, "GIFTLINK");
    escpos_size(e, 1, 1);
    escpos_bold(e, 0);
    escpos_line(e, "기프트링크 상품권 영수증");
    escpos_align(e, ESCPOS_LEFT);
    escpos_line(e, "Terminal: TERM0001  Cashier: 07");
    snprintf(line, sizeof line, "Voucher: %s",
             gl_mask_pan(masked, voucher, strlen(voucher)));
    escpos_line(e, line);
    escpos_bold(e, 1);
    escpos_line(e, "승인금액 Amount: 12,500원");
    escpos_bold(e, 0);
    escpos_line(e, "잔액 Balance: 37,500원");
    escpos_align(e, ESCPOS_CENTER);
    escpos_code128(e, "000123456789", 12, 80);
    escpos_qr(e, QR_URL, strlen(QR_URL), 6, ESCPOS_QR_M);
    escpos_line(e, "감사합니다. Thank you!");
    escpos_feed(e, 3);
    escpos_cut(e, 1);
    return escpos_enc_finish(e, len);
}

static char *read_file(const char *path, size_t *n)
{
    static char buf[16384];
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        return NULL;
    }
    *n = fread(buf, 1, sizeof buf - 1, f);
    buf[*n] = '\0';
    fclose(f);
    return buf;
}

GL_TEST(decoder)
{
    char out[4096];
    size_t len = 0, bad = 0;

    GL_CHECK_INT(GL_OK, build_receipt(&g_enc, "4111111111111111", &len));
    GL_CHECK_INT(GL_OK, escpos_decode(g_buf, len, out, sizeof out, &bad));
    GL_CHECK(strstr(out, "[CODE128 000123456789]\n") != NULL);
    GL_CHECK(strstr(out, "<b>승인금액 Amount: 12,500원\n</b>") != NULL);
    GL_CHECK(strstr(out, "411111******1111") != NULL);
    GL_CHECK(strstr(out, "4111111111111111") == NULL);
    /* an unknown command and a cut-off command are reported where they are */
    GL_CHECK_INT(GL_DEV_BADFRAME, escpos_decode((const uint8_t *)"ab\x1b\x99", 4, out, sizeof out, &bad));
    GL_CHECK_INT(2, bad);
    GL_CHECK_INT(GL_DEV_BADFRAME, escpos_decode((const uint8_t *)"\x1dk\x49\x09{B12", 7, out, sizeof out, &bad));
    GL_CHECK_INT(0, bad);
    /* no room: even input that prints nothing is GL_ENOSPC with cap 0 (it
     * was GL_OK with no NUL written; found by fuzz_escpos), and a small
     * buffer holds the items that fit */
    memset(out, 'x', 8);
    GL_CHECK_INT(GL_ENOSPC, escpos_decode((const uint8_t *)"\x1b!!", 3, out, 0, &bad));
    GL_CHECK_INT('x', out[0]);
    GL_CHECK_INT(GL_ENOSPC, escpos_decode((const uint8_t *)"ab\x1b@cd", 6, out, 4, &bad));
    GL_CHECK_STR("ab\n", out);
    GL_CHECK_INT(GL_OK, escpos_decode((const uint8_t *)"\x1b!!", 3, out, 1, &bad));
    GL_CHECK_STR("", out);
}

/* ---- through libserialport --------------------------------------------- */

static char g_dir[64];

static struct semu *start(struct semu *(*mk)(void), const char *name)
{
    char link[128];
    struct semu *e = mk();
    snprintf(link, sizeof link, "%s/%s", g_dir, name);
    if (e == NULL || semu_start(e, link) != GL_OK) {
        semu_free(e);
        return NULL;
    }
    return e;
}

/* Renders payload with libzint and reads it back with zbarimg. */
static int scans_back(int symbology, const char *payload, const char *file)
{
    struct zint_symbol *sym = ZBarcode_Create();
    char cmd[512], got[512] = "";
    FILE *p;
    int ok = 0;

    if (sym == NULL) {
        return 0;
    }
    sym->symbology = symbology;
    sym->scale = 4;
    sym->whitespace_width = 10;
    sym->whitespace_height = 10;
    snprintf(sym->outfile, sizeof sym->outfile, "%s/%s", g_dir, file);
    if (ZBarcode_Encode_and_Print(sym, (const unsigned char *)payload,
                                  (int)strlen(payload), 0) >= ZINT_ERROR) {
        printf("  zint: %s\n", sym->errtxt);
        ZBarcode_Delete(sym);
        return 0;
    }
    snprintf(cmd, sizeof cmd, "zbarimg -q --raw '%s' 2>/dev/null", sym->outfile);
    p = popen(cmd, "r");
    if (p != NULL) {
        size_t n = fread(got, 1, sizeof got - 1, p);
        got[n] = '\0';
        pclose(p);
        if (n > 0 && got[n - 1] == '\n') {
            got[n - 1] = '\0';
        }
        ok = strcmp(got, payload) == 0;
        if (!ok) {
            printf("  zbarimg read \"%s\", expected \"%s\"\n", got, payload);
        }
    }
    unlink(sym->outfile);
    ZBarcode_Delete(sym);
    return ok;
}

GL_TEST(receipt_golden)
{
    static uint8_t cap[16384];
    char out[4096], code[256];
    size_t len = 0, got = 0, bad = 0, glen = 0;
    struct escpos_printer p;
    struct semu *e = start(semu_printer_new, "prn0");
    const char *golden;

    GL_CHECK(e != NULL);
    if (e == NULL) {
        return;
    }
    GL_CHECK_INT(GL_OK, escpos_printer_init(&p, semu_serial_path(e), NULL, NULL, WAIT_MS));
    GL_CHECK_INT(GL_OK, build_receipt(&g_enc, "4111111111111111", &len));
    GL_CHECK_INT(GL_OK, escpos_printer_print(&p, g_buf, len));
    GL_CHECK_INT(GL_OK, semu_printer_take(e, cap, sizeof cap, &got));
    /* the printer got exactly the job, without the status queries */
    GL_CHECK_INT(len, got);
    GL_CHECK_MEM(g_buf, cap, len);
    GL_CHECK_INT(GL_OK, escpos_decode(cap, got, out, sizeof out, &bad));
    if (getenv("GL_UPDATE_GOLDEN") != NULL) {
        FILE *f = fopen(GOLDEN, "wb");
        if (f != NULL) {
            fputs(out, f);
            fclose(f);
        }
    }
    golden = read_file(GOLDEN, &glen);
    GL_CHECK(golden != NULL);
    GL_CHECK_STR(golden ? golden : "", out);

    /* the printed symbols scan */
    GL_CHECK_INT(GL_OK, escpos_decode_find(out, "CODE128", code, sizeof code));
    GL_CHECK_STR("000123456789", code);
    GL_CHECK(scans_back(BARCODE_CODE128, code, "c128.png"));
    GL_CHECK_INT(GL_OK, escpos_decode_find(out, "QR", code, sizeof code));
    GL_CHECK_STR("https://giftlink.example/r/TERM0001-000123", code);
    GL_CHECK(scans_back(BARCODE_QRCODE, code, "qr.png"));
    escpos_printer_close(&p);
    semu_free(e);
}

GL_TEST(printer_faults)
{
    static uint8_t cap[16384];
    size_t len = 0, got = 0;
    struct escpos_printer p;
    struct semu *e = start(semu_printer_new, "prn1");

    GL_CHECK(e != NULL);
    if (e == NULL) {
        return;
    }
    GL_CHECK_INT(GL_OK, escpos_printer_init(&p, semu_serial_path(e), NULL, NULL, WAIT_MS));
    GL_CHECK_INT(GL_OK, build_receipt(&g_enc, "4111111111111111", &len));
    GL_CHECK_INT(GL_OK, escpos_printer_status(&p));

    semu_command(e, "paper out", NULL, 0);
    GL_CHECK_INT(GL_DEV_PAPER, escpos_printer_print(&p, g_buf, len));
    GL_CHECK_INT(1, p.last.paper_end);
    semu_command(e, "paper near", NULL, 0);
    GL_CHECK_INT(GL_OK, escpos_printer_status(&p));
    GL_CHECK_INT(1, p.last.paper_near_end);
    semu_command(e, "paper in", NULL, 0);
    semu_command(e, "clear", NULL, 0); /* that job was captured before */
    semu_command(e, "cover open", NULL, 0);
    GL_CHECK_INT(GL_PRN_COVER, escpos_printer_print(&p, g_buf, len));
    semu_command(e, "cover close", NULL, 0);
    semu_command(e, "offline", NULL, 0);
    GL_CHECK_INT(GL_DEV_OFFLINE, escpos_printer_status(&p));
    semu_command(e, "online", NULL, 0);
    /* nothing was printed while not ready */
    GL_CHECK_INT(GL_OK, semu_printer_take(e, cap, sizeof cap, &got));
    GL_CHECK_INT(0, got);

    /* a silent printer: time-out, and the next query is not confused by a
     * late reply */
    escpos_printer_close(&p);
    GL_CHECK_INT(GL_OK, escpos_printer_init(&p, semu_serial_path(e), NULL, NULL, 400));
    semu_command(e, "silent", NULL, 0);
    GL_CHECK_INT(GL_ETIMEDOUT, escpos_printer_status(&p));
    semu_command(e, "talk", NULL, 0);
    escpos_printer_close(&p);
    GL_CHECK_INT(GL_OK, escpos_printer_init(&p, semu_serial_path(e), NULL, NULL, WAIT_MS));
    GL_CHECK_INT(GL_OK, escpos_printer_status(&p));
    semu_command(e, "fail 1 garbage", NULL, 0);
    GL_CHECK_INT(GL_PRN_STATUS, escpos_printer_status(&p));
    /* paper runs out during the job: reported by the status after it */
    semu_command(e, "fail 3 paper", NULL, 0);
    GL_CHECK_INT(GL_DEV_PAPER, escpos_printer_print(&p, g_buf, len));
    semu_command(e, "paper in", NULL, 0);
    semu_command(e, "clear", NULL, 0); /* that job was captured before */

    /* line closed and reopened */
    semu_command(e, "unplug", NULL, 0);
    GL_CHECK_INT(GL_ECLOSED, escpos_printer_status(&p));
    GL_CHECK_INT(GL_DEV_NODEV, escpos_printer_status(&p));
    semu_command(e, "plug", NULL, 0);
    GL_CHECK_INT(GL_OK, escpos_printer_print(&p, g_buf, len));
    GL_CHECK_INT(GL_OK, semu_printer_take(e, cap, sizeof cap, &got));
    GL_CHECK_INT(len, got);
    escpos_printer_close(&p);
    semu_free(e);
}

/*
 * A transaction's device work: read a voucher from the scanner, print its
 * receipt.  Returns the first error.
 */
static int transaction(struct scanner *s, struct escpos_printer *p,
                       int scan_ms)
{
    char v[SCANNER_VOUCHER_LEN + 1];
    size_t len = 0;
    int rc = scanner_read_voucher(s, v, scan_ms);

    if (rc == GL_OK) {
        rc = build_receipt(&g_enc, v, &len);
    }
    if (rc == GL_OK) {
        rc = escpos_printer_print(p, g_buf, len);
    }
    return rc;
}

GL_TEST(transaction_sweep)
{
    static const char *scan_kinds[] = {"garbage", "cut", "drop"};
    static const int scan_codes[] = {GL_SCAN_GARBAGE, GL_ETIMEDOUT, GL_ETIMEDOUT};
    static const char *prn_kinds[] = {"silent", "garbage", "paper"};
    static const int prn_codes[] = {GL_ETIMEDOUT, GL_PRN_STATUS, GL_DEV_PAPER};
    static uint8_t cap[16384];
    static char golden_out[4096], out[4096];
    struct scanner_config scfg = {.eol = SCANNER_EOL_CR};
    struct scanner s;
    struct escpos_printer p;
    struct semu *es = start(semu_scanner_new, "tscan");
    struct semu *ep = start(semu_printer_new, "tprn");
    size_t got = 0, bad_at = 0;
    unsigned queries, bad = 0;
    long allocs;

    GL_CHECK(es != NULL && ep != NULL);
    if (es == NULL || ep == NULL) {
        semu_free(es);
        semu_free(ep);
        return;
    }
    GL_CHECK_INT(GL_OK, scanner_init(&s, &scfg, semu_serial_path(es), NULL, NULL));
    GL_CHECK_INT(GL_OK, scanner_open(&s));
    GL_CHECK_INT(GL_OK, escpos_printer_init(&p, semu_serial_path(ep), NULL, NULL, 2500));
    GL_CHECK_INT(GL_OK, escpos_printer_open(&p));

    /* a clean transaction, counted: no allocation after start-up */
    semu_command(ep, "reset-count", NULL, 0);
    semu_command(es, "scan 4111111111111111", NULL, 0);
    malloc_count_start();
    GL_CHECK_INT(GL_OK, transaction(&s, &p, WAIT_MS));
    allocs = malloc_count_stop();
    GL_CHECK_INT(0, allocs);
    /* the counter does see libserialport's allocations: opening a port
     * (start-up work) allocates */
    scanner_close(&s);
    malloc_count_start();
    GL_CHECK_INT(GL_OK, scanner_open(&s));
    allocs = malloc_count_stop();
    GL_CHECK(allocs > 0);
    {
        char reply[128];
        semu_command(ep, "stats", reply, sizeof reply);
        queries = (unsigned)strtoul(strstr(reply, "ops=") + 4, NULL, 10);
    }
    GL_CHECK_INT(4, queries); /* DLE EOT 1 and 4, before and after */
    GL_CHECK_INT(GL_OK, semu_printer_take(ep, cap, sizeof cap, &got));
    GL_CHECK_INT(GL_OK, escpos_decode(cap, got, golden_out, sizeof golden_out, &bad_at));

    /* step 1 is the scan; steps 2.. are the printer's status queries */
    for (unsigned n = 1; n <= 1 + queries; n++) {
        for (size_t k = 0; k < 3; k++) {
            int rc, want;
            semu_command(es, "reset-count", NULL, 0);
            semu_command(ep, "reset-count", NULL, 0);
            if (n == 1) {
                semu_commandf(es, "fail 1 %s", scan_kinds[k]);
                want = scan_codes[k];
            } else {
                semu_commandf(ep, "fail %u %s", n - 1, prn_kinds[k]);
                want = prn_codes[k];
            }
            semu_command(es, "scan 4111111111111111", NULL, 0);
            /* a scan that is expected not to come is watched for 1 s */
            rc = transaction(&s, &p, want == GL_ETIMEDOUT && n == 1 ? 1000 : WAIT_MS);
            if (rc != want) {
                bad++;
                printf("  step %u %s: %s, expected %s\n", n, n == 1 ? scan_kinds[k] : prn_kinds[k],
                       gl_errname(rc), gl_errname(want));
            }
            /* recovery: the cashier scans again / the receipt is printed
             * again; the result is the same receipt */
            if (n == 1 && k == 1) {
                /* the cut line completes with the next scan's bytes into a
                 * line that is not a voucher number */
                semu_command(es, "scan 4111111111111111", NULL, 0);
                rc = scanner_read_voucher(&s, (char[17]){0}, WAIT_MS);
                if (rc != GL_SCAN_LENGTH) {
                    bad++;
                    printf("  cut line: %s\n", gl_errname(rc));
                }
            }
            semu_command(ep, "paper in", NULL, 0); /* the cashier reloads */
            semu_command(ep, "clear", NULL, 0);
            semu_command(es, "scan 4111111111111111", NULL, 0);
            malloc_count_start();
            rc = transaction(&s, &p, WAIT_MS);
            allocs = malloc_count_stop();
            if (rc != GL_OK || allocs != 0) {
                bad++;
                printf("  step %u retry: %s, %ld allocations\n", n, gl_errname(rc), allocs);
            }
            semu_printer_take(ep, cap, sizeof cap, &got);
            out[0] = '\0';
            escpos_decode(cap, got, out, sizeof out, &bad_at);
            if (strcmp(out, golden_out) != 0) {
                bad++;
                printf("  step %u: the reprinted receipt differs\n", n);
            }
        }
    }
    GL_CHECK_INT(0, bad);
    scanner_close(&s);
    escpos_printer_close(&p);
    semu_free(es);
    semu_free(ep);
}

int main(void)
{
    malloc_count_install();
    snprintf(g_dir, sizeof g_dir, "/tmp/gl-test-escpos-XXXXXX");
    if (mkdtemp(g_dir) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    if (escpos_enc_init(&g_enc, g_buf, sizeof g_buf) != GL_OK) {
        printf("no EUC-KR converter\n");
        return 1;
    }
    GL_CHECK_INT(1, malloc_count_selftest());
    GL_RUN(encoder_bytes);
    GL_RUN(encoder_errors);
    GL_RUN(status_decode);
    GL_RUN(decoder);
    GL_RUN(receipt_golden);
    GL_RUN(printer_faults);
    GL_RUN(transaction_sweep);
    escpos_enc_deinit(&g_enc);
    rmdir(g_dir);
    return GL_TEST_END();
}
