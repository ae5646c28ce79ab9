/*
 * glctl_ikey.c - `glctl pki bdk` and `glctl pki ikey` (contract:
 * glctl_ikey.h): the DUKPT key material of a deployment.
 *
 *   glctl pki bdk  --out FILE [--aes128|--aes256|--tdes] [--force]
 *       A new random base derivation key from CTR-DRBG (lib/crypto), written
 *       as one line of upper-case hex (32 or 64 digits).
 *   glctl pki ikey --bdk-file FILE --key-id HEX --out FILE
 *                  [--aes128|--aes256|--tdes] [--force]
 *       The initial key of one terminal: X9.24-3 initial key (AES, key ID
 *       of 16 hex digits) or X9.24-1 IPEK (TDES, the first 16 or all 20 hex
 *       digits of the initial KSN).  The BDK file holds hex (whitespace
 *       ignored) of the length the type needs; the default type is aes128.
 *       The output is the terminal's key file, the format of
 *       crypto_ikey_format() (lib/crypto/crypto_dukpt.h):
 *           # giftlink terminal initial DUKPT key: keep secret (mode 0600)
 *           type=aes128 | aes256 | tdes
 *           key_id=<16 hex digits (AES) | 20 hex digits, the initial KSN>
 *           ikey=<32 or 64 hex digits>
 *
 * Both write their file with mode 0600 from the start: a temporary file
 * next to it is created with open(O_CREAT | O_EXCL, 0600), written, synced,
 * then linked into place (refused when the file exists) or, with --force,
 * renamed over it.  No key is ever printed; every buffer that held one is
 * wiped.  Exit status: 0 done, 1 failed, 2 usage.
 */
#include "glctl_ikey.h"
#include "crypto_mac_msg.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "crypto.h"
#include "crypto_dukpt.h"
#include "gl_err.h"

#define IKEY_FILE_MAX 512

static const char ikey_usage[] =
    "usage: glctl pki ikey --bdk-file FILE --key-id HEX --out FILE\n"
    "                      [--aes128|--aes256|--tdes] [--force]\n"
    "  derives a terminal's initial DUKPT key from the BDK and the terminal's\n"
    "  key id (AES: 16 hex digits; TDES: the initial KSN, 16 or 20 hex\n"
    "  digits) and writes the terminal's key file (mode 0600)\n";

static const char bdk_usage[] =
    "usage: glctl pki bdk --out FILE [--aes128|--aes256|--tdes] [--force]\n"
    "  writes a new random DUKPT base derivation key as hex (mode 0600)\n";

/* Writes data[len] to path with mode 0600 (see the file comment).
 * Returns 0 or 1 after printing why. */
static int write_secret(const char *cmd, const char *path, const void *data,
                        size_t len, int force)
{
    char tmp[4096];
    const char *p = data;
    size_t done = 0;
    ssize_t n;
    int fd = -1, rc = 1, made = 0;

    if (snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid()) >=
        (int)sizeof tmp) {
        fprintf(stderr, "glctl pki %s: path too long: %s\n", cmd, path);
        return 1;
    }
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        fprintf(stderr, "glctl pki %s: cannot create %s: %s\n", cmd, tmp,
                strerror(errno));
        goto out;
    }
    made = 1;
    while (done < len) {
        n = write(fd, p + done, len - done);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            fprintf(stderr, "glctl pki %s: cannot write %s: %s\n", cmd, tmp,
                    strerror(errno));
            goto out;
        }
        done += (size_t)n;
    }
    if (fsync(fd) != 0 || close(fd) != 0) {
        fd = -1;
        fprintf(stderr, "glctl pki %s: cannot write %s: %s\n", cmd, tmp,
                strerror(errno));
        goto out;
    }
    fd = -1;
    if (force) {
        if (rename(tmp, path) != 0) {
            fprintf(stderr, "glctl pki %s: cannot write %s: %s\n", cmd, path,
                    strerror(errno));
            goto out;
        }
        made = 0;
    } else if (link(tmp, path) != 0) {
        if (errno == EEXIST) {
            fprintf(stderr, "glctl pki %s: %s exists; --force replaces it\n",
                    cmd, path);
        } else {
            fprintf(stderr, "glctl pki %s: cannot write %s: %s\n", cmd, path,
                    strerror(errno));
        }
        goto out;
    }
    rc = 0;
out:
    if (fd >= 0) {
        close(fd);
    }
    if (made) {
        unlink(tmp);
    }
    return rc;
}

/* Reads the BDK file: 0, or 1 after printing why. */
static int read_bdk(const char *path, enum crypto_key_type type, uint8_t *bdk)
{
    struct crypto_bdk b;
    char err[256];
    int rc = crypto_bdk_read(path, type, &b, err, sizeof err);

    if (rc != GL_OK) {
        fprintf(stderr, "glctl pki ikey: %s\n", err);
        return 1;
    }
    memcpy(bdk, b.key, crypto_key_len(type));
    crypto_wipe(&b, sizeof b);
    return 0;
}

/* Parses --aes128/--aes256/--tdes into *type: 1 when arg was one. */
static int type_option(const char *arg, enum crypto_key_type *type)
{
    if (strcmp(arg, "--aes128") == 0) {
        *type = CRYPTO_KEY_AES128;
    } else if (strcmp(arg, "--aes256") == 0) {
        *type = CRYPTO_KEY_AES256;
    } else if (strcmp(arg, "--tdes") == 0) {
        *type = CRYPTO_KEY_TDES2;
    } else {
        return 0;
    }
    return 1;
}

int glctl_pki_ikey(int argc, char **argv)
{
    const char *bdk_file = NULL, *key_id_hex = NULL, *out = NULL;
    enum crypto_key_type type = CRYPTO_KEY_AES128;
    struct crypto_ikey ik;
    uint8_t bdk[CRYPTO_KEY_MAX], key_id[CRYPTO_DUKPT_TDES_KSN_LEN];
    char text[IKEY_FILE_MAX];
    size_t id_len;
    int force = 0, ntypes = 0, n, rc = 1;

    memset(&ik, 0, sizeof ik);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(ikey_usage, stdout);
            return 0;
        } else if (type_option(a, &type)) {
            ntypes++;
        } else if (strcmp(a, "--force") == 0) {
            force = 1;
        } else if (i + 1 < argc && strcmp(a, "--bdk-file") == 0) {
            bdk_file = argv[++i];
        } else if (i + 1 < argc && strcmp(a, "--key-id") == 0) {
            key_id_hex = argv[++i];
        } else if (i + 1 < argc && strcmp(a, "--out") == 0) {
            out = argv[++i];
        } else {
            fprintf(stderr, "glctl pki ikey: unknown option %s\n%s", a,
                    ikey_usage);
            return 2;
        }
    }
    if (bdk_file == NULL || key_id_hex == NULL || out == NULL || ntypes > 1) {
        fputs(ikey_usage, stderr);
        return 2;
    }
    id_len = strlen(key_id_hex) / 2;
    if ((type == CRYPTO_KEY_TDES2
             ? (id_len != 8 && id_len != CRYPTO_DUKPT_TDES_KSN_LEN)
             : id_len != CRYPTO_DUKPT_KEYID_LEN) ||
        crypto_hex_decode(key_id_hex, strlen(key_id_hex), key_id, id_len) !=
            GL_OK) {
        fprintf(stderr,
                "glctl pki ikey: --key-id wants %s hex digits, got \"%s\"\n",
                type == CRYPTO_KEY_TDES2 ? "16 or 20" : "16", key_id_hex);
        return 2;
    }
    if (read_bdk(bdk_file, type, bdk) != 0) {
        goto out;
    }
    n = crypto_ikey_derive(bdk, type, key_id, id_len, &ik);
    if (n == GL_OK) {
        n = crypto_ikey_format(&ik, text, sizeof text);
    }
    if (n < 0) {
        fprintf(stderr, "glctl pki ikey: %s\n", gl_strerror(n));
        goto out;
    }
    rc = write_secret("ikey", out, text, (size_t)n, force);
    if (rc == 0) {
        crypto_hex_encode(ik.key_id, crypto_ikey_id_len(type), text);
        printf("initial key of %s %s (%s) written to %s\n",
               type == CRYPTO_KEY_TDES2 ? "KSN" : "key id", text,
               type == CRYPTO_KEY_TDES2 ? "tdes" : crypto_key_type_name(type),
               out);
    }
out:
    crypto_wipe(bdk, sizeof bdk);
    crypto_wipe(&ik, sizeof ik);
    crypto_wipe(text, sizeof text);
    return rc;
}

int glctl_pki_bdk(int argc, char **argv)
{
    const char *out = NULL;
    enum crypto_key_type type = CRYPTO_KEY_AES128;
    struct crypto_rng rng;
    uint8_t bdk[CRYPTO_KEY_MAX];
    char text[2 * CRYPTO_KEY_MAX + 2];
    size_t len;
    int force = 0, ntypes = 0, rc = 1, err;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(bdk_usage, stdout);
            return 0;
        } else if (type_option(a, &type)) {
            ntypes++;
        } else if (strcmp(a, "--force") == 0) {
            force = 1;
        } else if (i + 1 < argc && strcmp(a, "--out") == 0) {
            out = argv[++i];
        } else {
            fprintf(stderr, "glctl pki bdk: unknown option %s\n%s", a,
                    bdk_usage);
            return 2;
        }
    }
    if (out == NULL || ntypes > 1) {
        fputs(bdk_usage, stderr);
        return 2;
    }
    memset(&rng, 0, sizeof rng);
    len = crypto_key_len(type);
    err = crypto_rng_init(&rng, "glctl pki bdk");
    if (err == GL_OK) {
        err = crypto_bdk_generate(type, crypto_rng_fill, &rng, bdk);
    }
    if (err != GL_OK) {
        fprintf(stderr, "glctl pki bdk: %s\n", gl_strerror(err));
        goto out;
    }
    crypto_hex_encode(bdk, len, text);
    text[2 * len] = '\n';
    rc = write_secret("bdk", out, text, 2 * len + 1, force);
    if (rc == 0) {
        printf("%s base derivation key written to %s\n",
               type == CRYPTO_KEY_TDES2 ? "tdes" : crypto_key_type_name(type),
               out);
    }
out:
    crypto_rng_deinit(&rng);
    crypto_wipe(bdk, sizeof bdk);
    crypto_wipe(text, sizeof text);
    return rc;
}
