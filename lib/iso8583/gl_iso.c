/*
 * gl_iso.c - gl-iso, the codec on the command line, for operators and
 * scripts.
 *
 *   gl-iso encode [--profile ascii|bcd] [--raw]
 *       reads "mti=0200", "2=...", "4=..." lines (binary fields in hex;
 *       blank lines and '#' comments ignored) and prints the framed message
 *       (2-byte length header first, unless --raw) as one line of hex.
 *   gl-iso decode [--profile ascii|bcd] [--clear] [--framed|--raw]
 *       reads hex (whitespace ignored), with or without length headers,
 *       and prints "field=value" lines, masked unless --clear; several
 *       framed messages are printed one after another, separated by a
 *       blank line.
 *   gl-iso fields
 *       prints the data element table.
 * With --bdk FILE (a BDK file of `glctl pki bdk`; --bdk-type aes128|aes256|
 * tdes, by default tdes for a 20-digit KSN in DE 48 KS and aes128
 * otherwise), encode signs the message with the link's MAC (DE 64 or 128,
 * request or response key by the MTI) and decode verifies it, printing
 * "mac=verified" or the exact reason and exit status 1.
 * Exit status: 0 on success, 1 for bad input (with the exact error on
 * stderr), 2 for bad usage.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "crypto_mac_msg.h"
#include "gl_err.h"
#include "iso8583.h"

#define IN_MAX (4 * ISO_FRAME_MAX * 2 + 1024)

static void usage(FILE *f)
{
    fprintf(f,
            "usage: gl-iso encode [--profile ascii|bcd] [--raw] [--bdk FILE "
            "[--bdk-type T]]\n"
            "       gl-iso decode [--profile ascii|bcd] [--clear] "
            "[--framed|--raw] [--bdk FILE [--bdk-type T]]\n"
            "       gl-iso fields\n"
            "T: aes128, aes256 or tdes (default: by the KSN in DE 48 KS)\n");
}

/* The MAC options; bdk_path NULL when not asked for. */
static const char *bdk_path;
static const char *bdk_type;

/* Loads the BDK for msg: 0, or 1 after printing why. */
static int load_bdk(const struct iso_msg *msg, struct crypto_bdk *bdk)
{
    enum crypto_key_type t = CRYPTO_KEY_AES128;
    char err[256];
    uint8_t ksn[12];
    size_t ksn_len = 0;

    if (bdk_type != NULL) {
        if (strcmp(bdk_type, "tdes") == 0) {
            t = CRYPTO_KEY_TDES2;
        } else if (crypto_key_type_parse(bdk_type, &t) != GL_OK ||
                   (t != CRYPTO_KEY_AES128 && t != CRYPTO_KEY_AES256)) {
            fprintf(stderr, "gl-iso: --bdk-type %s: use aes128, aes256 or "
                            "tdes\n",
                    bdk_type);
            return 1;
        }
    } else if (crypto_mac_msg_ksn(msg, ksn, &ksn_len) == GL_OK &&
               ksn_len == 10) {
        t = CRYPTO_KEY_TDES2;
    }
    if (crypto_bdk_read(bdk_path, t, bdk, err, sizeof err) != GL_OK) {
        fprintf(stderr, "gl-iso: %s\n", err);
        return 1;
    }
    return 0;
}

/* Requests and advices (third MTI digit 0 or 2) use the request key. */
static enum crypto_mac_dir mac_dir(const struct iso_msg *msg)
{
    return msg->mti[2] == '1' || msg->mti[2] == '3' ? CRYPTO_MAC_RESPONSE
                                                    : CRYPTO_MAC_REQUEST;
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

/* Hex text -> bytes, skipping whitespace.  Returns length or -1 with *bad
 * set to the offending character's position. */
static long hex_decode(const char *s, size_t n, uint8_t *out, size_t cap,
                       size_t *bad)
{
    size_t o = 0;
    int hi = -1;

    for (size_t i = 0; i < n; i++) {
        int c = (unsigned char)s[i];
        if (c == ' ' || c == '\n' || c == '\r' || c == '\t') {
            continue;
        }
        int v = hexval(c);
        if (v < 0 || (hi < 0 && o >= cap)) {
            *bad = i;
            return -1;
        }
        if (hi < 0) {
            hi = v;
        } else {
            out[o++] = (uint8_t)(hi << 4 | v);
            hi = -1;
        }
    }
    if (hi >= 0) {
        *bad = n;
        return -1;
    }
    return (long)o;
}

static int cmd_fields(void)
{
    static const char *const tn[] = {"-", "n", "an", "ans", "ns", "x+n", "z",
                                     "b"};
    static const char *const lk[] = {"fixed", "LLVAR", "LLLVAR"};

    for (int f = 1; f <= ISO_FIELDS; f++) {
        const struct iso_field_def *d = &iso_fields_1987[f];
        if (d->type == ISO_T_NONE) {
            printf("%3d  %-4s %-6s %4s  %s\n", f, "-", "bitmap", "", d->name);
        } else {
            printf("%3d  %-4s %-6s %4u  %s\n", f, tn[d->type], lk[d->lenkind],
                   d->max, d->name);
        }
    }
    return 0;
}

static int cmd_encode(const struct iso_profile *p, int raw)
{
    static struct iso_msg msg;
    static uint8_t out[ISO_HDR_LEN + ISO_FRAME_MAX];
    static uint8_t bin[ISO_FRAME_MAX];
    char line[8192];
    int lineno = 0;
    struct iso_error err;
    size_t n;
    int rc;

    iso_msg_init(&msg);
    while (fgets(line, sizeof line, stdin) != NULL) {
        lineno++;
        size_t len = strlen(line);
        if (len == sizeof line - 1 && line[len - 1] != '\n') {
            fprintf(stderr, "gl-iso: line %d: longer than %zu characters\n",
                    lineno, sizeof line - 2);
            return 1;
        }
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) {
            line[--len] = '\0';
        }
        if (len == 0 || line[0] == '#') {
            continue;
        }
        char *eq = strchr(line, '=');
        if (eq == NULL) {
            fprintf(stderr, "gl-iso: line %d: expected key=value\n", lineno);
            return 1;
        }
        *eq = '\0';
        const char *key = line, *val = eq + 1;
        if (strcmp(key, "mti") == 0) {
            if (iso_msg_set_mti(&msg, val) != GL_OK) {
                fprintf(stderr, "gl-iso: line %d: MTI '%s' is not 4 digits\n",
                        lineno, val);
                return 1;
            }
            continue;
        }
        char *end;
        long f = strtol(key, &end, 10);
        if (*key == '\0' || *end != '\0' || f < 2 || f > ISO_FIELDS) {
            fprintf(stderr, "gl-iso: line %d: '%s' is not a field number "
                            "2..128 or mti\n",
                    lineno, key);
            return 1;
        }
        if (iso_msg_has(&msg, (int)f)) {
            fprintf(stderr, "gl-iso: line %d: field %ld given twice\n", lineno,
                    f);
            return 1;
        }
        if (iso_fields_1987[f].type == ISO_T_B) {
            size_t bad;
            long bl = hex_decode(val, strlen(val), bin, sizeof bin, &bad);
            if (bl < 0) {
                fprintf(stderr, "gl-iso: line %d: field %ld: bad hex at "
                                "character %zu\n",
                        lineno, f, bad + 1);
                return 1;
            }
            rc = iso_msg_set(&msg, (int)f, bin, (size_t)bl, &err);
        } else {
            rc = iso_msg_set_str(&msg, (int)f, val, &err);
        }
        if (rc != GL_OK) {
            fprintf(stderr, "gl-iso: line %d: %s\n", lineno, err.text);
            return 1;
        }
    }
    if (bdk_path != NULL) {
        struct crypto_bdk bdk;
        if (load_bdk(&msg, &bdk) != 0) {
            return 1;
        }
        rc = crypto_mac_sign_bdk(p, &msg, &bdk, mac_dir(&msg), &err);
        crypto_wipe(&bdk, sizeof bdk);
        if (rc != GL_OK) {
            fprintf(stderr, "gl-iso: cannot sign: %s\n",
                    err.text[0] ? err.text : gl_strerror(rc));
            return 1;
        }
    }
    if (raw) {
        rc = iso_pack(p, &msg, out, sizeof out, &n, &err);
    } else {
        rc = iso_pack_frame(p, &msg, out, sizeof out, &n, &err);
    }
    if (rc != GL_OK) {
        fprintf(stderr, "gl-iso: %s\n", err.text);
        return 1;
    }
    for (size_t i = 0; i < n; i++) {
        printf("%02X", out[i]);
    }
    printf("\n");
    return 0;
}

struct decode_ctx {
    const struct iso_profile *p;
    int clear;
    int count;
};

static int decode_one(void *vctx, const uint8_t *m, size_t len)
{
    static struct iso_msg msg;
    static char text[64 * 1024];
    struct decode_ctx *c = vctx;
    struct iso_error err;

    if (iso_unpack(c->p, &msg, m, len, &err) != GL_OK) {
        fprintf(stderr, "gl-iso: message %d: %s\n", c->count + 1, err.text);
        return 1;
    }
    if (c->count++ > 0) {
        printf("\n");
    }
    iso_msg_print(&msg, c->clear, text, sizeof text);
    fputs(text, stdout);
    if (bdk_path != NULL) {
        struct crypto_bdk bdk;
        int rc;
        if (load_bdk(&msg, &bdk) != 0) {
            return 1;
        }
        memset(&err, 0, sizeof err);
        rc = crypto_mac_verify_bdk(c->p, &msg, &bdk, mac_dir(&msg), &err);
        crypto_wipe(&bdk, sizeof bdk);
        if (rc != GL_OK) {
            printf("mac=failed\n");
            fprintf(stderr, "gl-iso: message %d: MAC: %s\n", c->count,
                    err.text[0] ? err.text : gl_strerror(rc));
            return 1;
        }
        printf("mac=verified\n");
    }
    return 0;
}

static int cmd_decode(const struct iso_profile *p, int clear, int framing)
{
    static char in[IN_MAX];
    static uint8_t bin[IN_MAX / 2];
    static struct iso_reasm r;
    struct decode_ctx c = {p, clear, 0};
    size_t n = fread(in, 1, sizeof in, stdin), bad;

    if (n == sizeof in) {
        fprintf(stderr, "gl-iso: input longer than %zu characters\n",
                sizeof in - 1);
        return 1;
    }
    long len = hex_decode(in, n, bin, sizeof bin, &bad);
    if (len < 0) {
        if (bad >= n) {
            fprintf(stderr, "gl-iso: odd number of hex digits\n");
        } else {
            fprintf(stderr, "gl-iso: character %zu is not hex\n", bad + 1);
        }
        return 1;
    }
    if (len == 0) {
        fprintf(stderr, "gl-iso: no input\n");
        return 1;
    }
    /* framing: 0 auto, 1 framed, 2 raw.  Auto: a header equal to the
     * length of what follows (or of a first frame followed by more). */
    if (framing == 0) {
        size_t hl = len >= 2 ? ((size_t)bin[0] << 8 | bin[1]) : 0;
        framing = (len >= 2 && hl > 0 && hl <= (size_t)len - 2) ? 1 : 2;
    }
    if (framing == 2) {
        return decode_one(&c, bin, (size_t)len);
    }
    iso_reasm_init(&r, ISO_FRAME_MAX);
    int rc = iso_reasm_feed(&r, bin, (size_t)len, decode_one, &c);
    if (rc == GL_ISO_FRAMELEN) {
        fprintf(stderr, "gl-iso: message %d: length header is zero or above "
                        "%d\n",
                c.count + 1, ISO_FRAME_MAX);
        return 1;
    }
    if (rc != GL_OK) {
        return 1;
    }
    if (iso_reasm_pending(&r) != 0) {
        fprintf(stderr, "gl-iso: message %d: frame truncated: %zu bytes of "
                        "header and body present\n",
                c.count + 1, iso_reasm_pending(&r));
        return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    const struct iso_profile *p = &iso_profile_ascii;
    int clear = 0, framing = 0;

    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(stdout);
        return 0;
    }
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--profile") == 0 && i + 1 < argc) {
            p = iso_profile_by_name(argv[++i]);
            if (p == NULL) {
                fprintf(stderr, "gl-iso: unknown profile '%s' (ascii, bcd)\n",
                        argv[i]);
                return 2;
            }
        } else if (strcmp(argv[i], "--clear") == 0) {
            clear = 1;
        } else if (strcmp(argv[i], "--framed") == 0) {
            framing = 1;
        } else if (strcmp(argv[i], "--raw") == 0) {
            framing = 2;
        } else if (strcmp(argv[i], "--bdk") == 0 && i + 1 < argc) {
            bdk_path = argv[++i];
        } else if (strcmp(argv[i], "--bdk-type") == 0 && i + 1 < argc) {
            bdk_type = argv[++i];
        } else if (strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            return 0;
        } else {
            fprintf(stderr, "gl-iso: unknown option '%s'\n", argv[i]);
            usage(stderr);
            return 2;
        }
    }
    if (strcmp(argv[1], "encode") == 0) {
        return cmd_encode(p, framing == 2);
    }
    if (strcmp(argv[1], "decode") == 0) {
        return cmd_decode(p, clear, framing);
    }
    if (strcmp(argv[1], "fields") == 0) {
        return cmd_fields();
    }
    fprintf(stderr, "gl-iso: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
