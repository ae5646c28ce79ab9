/*
 * crypto_mac_msg.c - sign and verify link messages (see crypto_mac_msg.h).
 *
 * Because the MAC field is fixed-length binary and always the last field,
 * its value is the last 8 bytes of the packed message in both profiles: the
 * MAC input is the packed message minus those 8 bytes, whatever they hold.
 * So verify packs the message as received, and sign packs it with the field
 * set to zeros.
 */
#include "crypto_mac_msg.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <mbedtls/platform_util.h>

#include "gl_err.h"

#define DE_TLV 48
#define DE_MAC1 64
#define DE_MAC2 128

static int mac_fail(struct iso_error *err, int code, int field, const char *fmt,
                    ...) __attribute__((format(printf, 4, 5)));

static int mac_fail(struct iso_error *err, int code, int field, const char *fmt,
                    ...)
{
    va_list ap;

    if (err != NULL) {
        err->code = code;
        err->field = field;
        err->offset = 0;
        va_start(ap, fmt);
        vsnprintf(err->text, sizeof err->text, fmt, ap);
        va_end(ap);
    }
    return code;
}

void crypto_mac_keys_wipe(struct crypto_mac_keys *keys)
{
    mbedtls_platform_zeroize(keys, sizeof *keys);
}

int crypto_mac_keys_from_aes_txn(const struct crypto_dukpt_aes_txn *txn,
                                 struct crypto_mac_keys *keys)
{
    int rc;

    memset(keys, 0, sizeof *keys);
    keys->scheme = CRYPTO_MAC_AES_DUKPT;
    memcpy(keys->ksn, txn->ksn, CRYPTO_DUKPT_AES_KSN_LEN);
    keys->ksn_len = CRYPTO_DUKPT_AES_KSN_LEN;
    keys->key_len = crypto_key_len(txn->type);
    rc = crypto_dukpt_aes_txn_key(txn, CRYPTO_USAGE_MAC_GEN, txn->type,
                                  keys->req);
    if (rc == GL_OK) {
        rc = crypto_dukpt_aes_txn_key(txn, CRYPTO_USAGE_MAC_VER, txn->type,
                                      keys->resp);
    }
    if (rc != GL_OK) {
        crypto_mac_keys_wipe(keys);
    }
    return rc;
}

int crypto_mac_keys_from_tdes(const uint8_t txn_key[16],
                              const uint8_t ksn[CRYPTO_DUKPT_TDES_KSN_LEN],
                              struct crypto_mac_keys *keys)
{
    int rc;

    memset(keys, 0, sizeof *keys);
    keys->scheme = CRYPTO_MAC_TDES_DUKPT;
    memcpy(keys->ksn, ksn, CRYPTO_DUKPT_TDES_KSN_LEN);
    keys->ksn_len = CRYPTO_DUKPT_TDES_KSN_LEN;
    keys->key_len = 16;
    rc = crypto_dukpt_tdes_variant(txn_key, CRYPTO_TDES_MAC_REQ, keys->req);
    if (rc == GL_OK) {
        rc = crypto_dukpt_tdes_variant(txn_key, CRYPTO_TDES_MAC_RESP,
                                       keys->resp);
    }
    if (rc != GL_OK) {
        crypto_mac_keys_wipe(keys);
    }
    return rc;
}

int crypto_mac_msg_ksn(const struct iso_msg *msg,
                       uint8_t ksn[CRYPTO_DUKPT_AES_KSN_LEN], size_t *ksn_len)
{
    const uint8_t *tlv, *val;
    size_t tlv_len, vlen;

    *ksn_len = 0;
    if (iso_msg_get(msg, DE_TLV, &tlv, &tlv_len) != GL_OK ||
        iso_tlv_find(tlv, tlv_len, CRYPTO_MAC_KS_TAG, &val, &vlen) != GL_OK) {
        return GL_MAC_KSN_MISSING;
    }
    if (vlen != 2 * CRYPTO_DUKPT_AES_KSN_LEN &&
        vlen != 2 * CRYPTO_DUKPT_TDES_KSN_LEN) {
        return GL_MAC_KSN_MISSING;
    }
    for (size_t i = 0; i < vlen; i++) {
        if (!((val[i] >= '0' && val[i] <= '9') ||
              (val[i] >= 'A' && val[i] <= 'F'))) {
            return GL_MAC_KSN_MISSING;
        }
    }
    if (crypto_hex_decode((const char *)val, vlen, ksn, vlen / 2) != GL_OK) {
        return GL_MAC_KSN_MISSING;
    }
    *ksn_len = vlen / 2;
    return GL_OK;
}

int crypto_mac_keys_from_bdk(const struct crypto_bdk *bdk,
                             const struct iso_msg *msg,
                             struct crypto_mac_keys *keys)
{
    uint8_t ksn[CRYPTO_DUKPT_AES_KSN_LEN], tk[16];
    size_t ksn_len;
    int rc;

    memset(keys, 0, sizeof *keys);
    rc = crypto_mac_msg_ksn(msg, ksn, &ksn_len);
    if (rc != GL_OK) {
        goto out;
    }
    if (bdk->type == CRYPTO_KEY_TDES2) {
        if (ksn_len != CRYPTO_DUKPT_TDES_KSN_LEN) {
            rc = GL_MAC_KSN_MISSING;
            goto out;
        }
        rc = crypto_dukpt_tdes_key(bdk->key, ksn, tk);
        if (rc == GL_OK) {
            rc = crypto_mac_keys_from_tdes(tk, ksn, keys);
        }
    } else if (bdk->type == CRYPTO_KEY_AES128 ||
               bdk->type == CRYPTO_KEY_AES256) {
        if (ksn_len != CRYPTO_DUKPT_AES_KSN_LEN) {
            rc = GL_MAC_KSN_MISSING;
            goto out;
        }
        keys->scheme = CRYPTO_MAC_AES_DUKPT;
        memcpy(keys->ksn, ksn, ksn_len);
        keys->ksn_len = ksn_len;
        keys->key_len = crypto_key_len(bdk->type);
        rc = crypto_dukpt_aes_host_key(bdk->key, bdk->type, ksn,
                                       CRYPTO_USAGE_MAC_GEN, bdk->type,
                                       keys->req);
        if (rc == GL_OK) {
            rc = crypto_dukpt_aes_host_key(bdk->key, bdk->type, ksn,
                                           CRYPTO_USAGE_MAC_VER, bdk->type,
                                           keys->resp);
        }
    } else {
        rc = GL_KEY_LENGTH;
    }
out:
    if (rc != GL_OK) {
        crypto_mac_keys_wipe(keys);
    }
    mbedtls_platform_zeroize(tk, sizeof tk);
    return rc;
}

/* The MAC of buf[len] under keys for dir into mac[8]. */
static int mac_compute(const struct crypto_mac_keys *keys,
                       enum crypto_mac_dir dir, const uint8_t *buf, size_t len,
                       uint8_t mac[CRYPTO_MAC_LEN])
{
    const uint8_t *key = dir == CRYPTO_MAC_REQUEST ? keys->req : keys->resp;
    uint8_t full[CRYPTO_CMAC_LEN];
    int rc;

    if (keys->scheme == CRYPTO_MAC_AES_DUKPT) {
        rc = crypto_cmac_aes(key, keys->key_len, buf, len, full);
        memcpy(mac, full, CRYPTO_MAC_LEN);
        mbedtls_platform_zeroize(full, sizeof full);
        return rc;
    }
    if (keys->scheme == CRYPTO_MAC_TDES_DUKPT && keys->key_len == 16) {
        return crypto_mac_retail(key, buf, len, mac);
    }
    return GL_KEY_LENGTH;
}

/* msg's KS must name keys' KSN. */
static int ksn_match(const struct iso_msg *msg,
                     const struct crypto_mac_keys *keys, struct iso_error *err)
{
    uint8_t ksn[CRYPTO_DUKPT_AES_KSN_LEN];
    size_t ksn_len;
    int rc;

    rc = crypto_mac_msg_ksn(msg, ksn, &ksn_len);
    if (rc != GL_OK) {
        return mac_fail(err, rc, DE_TLV,
                        "DE 48 has no KS tag of 24 or 20 upper-case hex "
                        "digits");
    }
    if (ksn_len != keys->ksn_len || memcmp(ksn, keys->ksn, ksn_len) != 0) {
        return mac_fail(err, GL_DUKPT_BADKSN, DE_TLV,
                        "KS names another key serial number than the MAC "
                        "key's");
    }
    return GL_OK;
}

static int has_secondary_fields(const struct iso_msg *msg)
{
    for (int f = 66; f < DE_MAC2; f++) {
        if (iso_msg_has(msg, f)) {
            return 1;
        }
    }
    return 0;
}

int crypto_mac_sign(const struct iso_profile *p, struct iso_msg *msg,
                    const struct crypto_mac_keys *keys, enum crypto_mac_dir dir,
                    struct iso_error *err)
{
    static const uint8_t zeros[CRYPTO_MAC_LEN];
    uint8_t buf[ISO_FRAME_MAX], mac[CRYPTO_MAC_LEN];
    size_t len = 0;
    int f, rc;

    rc = ksn_match(msg, keys, err);
    if (rc != GL_OK) {
        goto out;
    }
    iso_msg_unset(msg, DE_MAC1);
    iso_msg_unset(msg, DE_MAC2);
    f = has_secondary_fields(msg) ? DE_MAC2 : DE_MAC1;
    rc = iso_msg_set(msg, f, zeros, sizeof zeros, err);
    if (rc != GL_OK) {
        goto out;
    }
    rc = iso_pack(p, msg, buf, sizeof buf, &len, err);
    if (rc != GL_OK) {
        goto out;
    }
    if (len < CRYPTO_MAC_LEN) {
        rc = mac_fail(err, GL_CRYPTO, f, "packed message shorter than its MAC");
        goto out;
    }
    rc = mac_compute(keys, dir, buf, len - CRYPTO_MAC_LEN, mac);
    if (rc != GL_OK) {
        mac_fail(err, rc, f, "MAC computation failed");
        goto out;
    }
    iso_msg_unset(msg, f);
    rc = iso_msg_set(msg, f, mac, sizeof mac, err);
out:
    mbedtls_platform_zeroize(mac, sizeof mac);
    return rc;
}

int crypto_mac_verify(const struct iso_profile *p, const struct iso_msg *msg,
                      const struct crypto_mac_keys *keys,
                      enum crypto_mac_dir dir, struct iso_error *err)
{
    uint8_t buf[ISO_FRAME_MAX], mac[CRYPTO_MAC_LEN];
    const uint8_t *got;
    size_t len = 0, got_len = 0;
    int f, rc;

    if (iso_msg_has(msg, DE_MAC2)) {
        f = DE_MAC2;
    } else if (has_secondary_fields(msg)) {
        return mac_fail(err, GL_MAC_MISSING, DE_MAC2,
                        "message with a secondary bitmap has no DE 128");
    } else if (iso_msg_has(msg, DE_MAC1)) {
        f = DE_MAC1;
    } else {
        return mac_fail(err, GL_MAC_MISSING, DE_MAC1, "message has no DE 64");
    }
    if (iso_msg_get(msg, f, &got, &got_len) != GL_OK ||
        got_len != CRYPTO_MAC_LEN) {
        return mac_fail(err, GL_MAC_MISSING, f, "MAC field is not 8 bytes");
    }
    rc = ksn_match(msg, keys, err);
    if (rc != GL_OK) {
        return rc;
    }
    rc = iso_pack(p, msg, buf, sizeof buf, &len, err);
    if (rc != GL_OK) {
        return rc;
    }
    if (len < CRYPTO_MAC_LEN) {
        return mac_fail(err, GL_CRYPTO, f,
                        "packed message shorter than its MAC");
    }
    rc = mac_compute(keys, dir, buf, len - CRYPTO_MAC_LEN, mac);
    if (rc != GL_OK) {
        return mac_fail(err, rc, f, "MAC computation failed");
    }
    if (!crypto_ct_equal(mac, got, CRYPTO_MAC_LEN)) {
        rc = mac_fail(err, GL_MAC_MISMATCH, f, "MAC does not verify");
    }
    mbedtls_platform_zeroize(mac, sizeof mac);
    return rc;
}

int crypto_mac_sign_bdk(const struct iso_profile *p, struct iso_msg *msg,
                        const struct crypto_bdk *bdk, enum crypto_mac_dir dir,
                        struct iso_error *err)
{
    struct crypto_mac_keys keys;
    int rc;

    rc = crypto_mac_keys_from_bdk(bdk, msg, &keys);
    if (rc != GL_OK) {
        mac_fail(err, rc, DE_TLV, "no MAC key for the message's KS: %s",
                 gl_strerror(rc));
    } else {
        rc = crypto_mac_sign(p, msg, &keys, dir, err);
    }
    crypto_mac_keys_wipe(&keys);
    return rc;
}

int crypto_mac_verify_bdk(const struct iso_profile *p,
                          const struct iso_msg *msg,
                          const struct crypto_bdk *bdk, enum crypto_mac_dir dir,
                          struct iso_error *err)
{
    struct crypto_mac_keys keys;
    int rc;

    /* A missing MAC field is reported before the KS is looked at. */
    if (!iso_msg_has(msg, DE_MAC2) &&
        (has_secondary_fields(msg) || !iso_msg_has(msg, DE_MAC1))) {
        return crypto_mac_verify(p, msg, NULL, dir, err);
    }
    rc = crypto_mac_keys_from_bdk(bdk, msg, &keys);
    if (rc != GL_OK) {
        mac_fail(err, rc, DE_TLV, "no MAC key for the message's KS: %s",
                 gl_strerror(rc));
    } else {
        rc = crypto_mac_verify(p, msg, &keys, dir, err);
    }
    crypto_mac_keys_wipe(&keys);
    return rc;
}

int crypto_bdk_read(const char *path, enum crypto_key_type type,
                    struct crypto_bdk *out, char *err, size_t errlen)
{
    char raw[512], hex[2 * CRYPTO_KEY_MAX + 1];
    size_t want = crypto_key_len(type), nhex = 0;
    ssize_t n = 0, got = 0;
    int fd, rc = GL_KEY_LENGTH;

    if (err != NULL && errlen > 0) {
        err[0] = '\0';
    }
    memset(out, 0, sizeof *out);
    out->type = type;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (err != NULL) {
            snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
        }
        return GL_EIO;
    }
    while ((size_t)got < sizeof raw) {
        n = read(fd, raw + got, sizeof raw - (size_t)got);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            break;
        }
        got += n;
    }
    close(fd);
    if (n < 0) {
        if (err != NULL) {
            snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
        }
        rc = GL_EIO;
        goto out;
    }
    for (ssize_t i = 0; i < got; i++) {
        char c = raw[i];
        if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
            continue;
        }
        if (nhex >= 2 * want) {
            nhex++;
            break;
        }
        hex[nhex++] = c;
    }
    if (want == 0 || nhex != 2 * want ||
        crypto_hex_decode(hex, nhex, out->key, want) != GL_OK) {
        if (err != NULL) {
            snprintf(err, errlen,
                     "%s does not hold the %zu hex digits of a %s BDK", path,
                     2 * want, crypto_key_type_name(type));
        }
        crypto_wipe(out->key, sizeof out->key);
        goto out;
    }
    rc = GL_OK;
out:
    crypto_wipe(raw, sizeof raw);
    crypto_wipe(hex, sizeof hex);
    return rc;
}
