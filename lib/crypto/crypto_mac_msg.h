/*
 * crypto_mac_msg.h - the MAC of every message on the host link.
 *
 * The scheme (docs/host-interface.md):
 *  - DE 48 carries TLV tag "KS": the sender's key serial number in upper-case
 *    hex, 24 digits for AES DUKPT, 20 for TDES DUKPT.  A response echoes the
 *    request's KS.
 *  - The MAC field is DE 128 when the message has a secondary bitmap (any
 *    field 65..128), DE 64 otherwise: 8 bytes, always the last field.
 *  - The MAC input is the packed message (the profile's encoding, without
 *    the 2-byte length header) from the MTI up to, not including, the MAC
 *    field's value, with the MAC field's bitmap bit set.
 *  - AES DUKPT: requests are MACed under the MAC-generation key (usage
 *    0x2000) of the KSN, responses under the MAC-verification key (0x2001);
 *    the working keys have the BDK's type; the MAC is the first 8 bytes of
 *    AES-CMAC.  TDES DUKPT: ISO 9797-1 algorithm 3 (padding method 1) under
 *    the request (or response) MAC variant of the transaction key.
 *
 * The terminal fills a struct crypto_mac_keys from its transaction's DUKPT
 * keys; the host derives one from its BDK and the message's KS.  Nothing is
 * allocated; sign and verify use an ISO_FRAME_MAX buffer on the stack.
 */
#ifndef CRYPTO_MAC_MSG_H
#define CRYPTO_MAC_MSG_H

#include <stddef.h>
#include <stdint.h>

#include "crypto.h"
#include "crypto_dukpt.h"
#include "iso8583.h"

#define CRYPTO_MAC_LEN 8
#define CRYPTO_MAC_KS_TAG "KS"

enum crypto_mac_dir {
    CRYPTO_MAC_REQUEST = 0,  /* terminal to host */
    CRYPTO_MAC_RESPONSE = 1, /* host to terminal */
};

enum crypto_mac_scheme {
    CRYPTO_MAC_AES_DUKPT = 0,
    CRYPTO_MAC_TDES_DUKPT = 1,
};

/* The two MAC keys of one transaction and the KSN they belong to.  Holds
 * secrets: wipe with crypto_mac_keys_wipe. */
struct crypto_mac_keys {
    enum crypto_mac_scheme scheme;
    uint8_t ksn[CRYPTO_DUKPT_AES_KSN_LEN];
    size_t ksn_len;               /* 12 (AES) or 10 (TDES) */
    uint8_t req[CRYPTO_KEY_MAX];  /* MACs requests */
    uint8_t resp[CRYPTO_KEY_MAX]; /* MACs responses */
    size_t key_len;
};

/* A base derivation key as the host holds it.  type: CRYPTO_KEY_AES128,
 * CRYPTO_KEY_AES256 (AES DUKPT) or CRYPTO_KEY_TDES2 (TDES DUKPT). */
struct crypto_bdk {
    enum crypto_key_type type;
    uint8_t key[CRYPTO_KEY_MAX];
};

/*
 * Reads a BDK file (the hex text `glctl pki bdk` writes; whitespace
 * ignored) of the given type into out.  GL_OK; GL_EIO when the file cannot
 * be read; GL_KEY_LENGTH when it does not hold exactly the hex digits of a
 * key of that type.  err (errlen bytes, may be NULL) says which, without
 * any key material.  Every buffer that held the key is wiped.
 */
int crypto_bdk_read(const char *path, enum crypto_key_type type,
                    struct crypto_bdk *out, char *err, size_t errlen);

void crypto_mac_keys_wipe(struct crypto_mac_keys *keys);

/* Terminal, AES DUKPT: the MAC keys of the transaction txn.  GL_OK or a
 * derivation error. */
int crypto_mac_keys_from_aes_txn(const struct crypto_dukpt_aes_txn *txn,
                                 struct crypto_mac_keys *keys);

/* Terminal, TDES DUKPT: the MAC keys from the transaction key of ksn. */
int crypto_mac_keys_from_tdes(const uint8_t txn_key[16],
                              const uint8_t ksn[CRYPTO_DUKPT_TDES_KSN_LEN],
                              struct crypto_mac_keys *keys);

/*
 * Host: the MAC keys for msg from bdk and the KS tag of msg's DE 48.
 * GL_MAC_KSN_MISSING (no DE 48, no KS, malformed TLV, not 24 or 20
 * upper-case hex digits as the BDK's scheme needs), GL_DUKPT_BADKSN
 * (a counter no terminal uses), GL_KEY_LENGTH.
 */
int crypto_mac_keys_from_bdk(const struct crypto_bdk *bdk,
                             const struct iso_msg *msg,
                             struct crypto_mac_keys *keys);

/*
 * The KSN of msg's KS tag into ksn[12]; *ksn_len gets 12 or 10.
 * GL_MAC_KSN_MISSING when there is none or it is not upper-case hex of
 * that length.
 */
int crypto_mac_msg_ksn(const struct iso_msg *msg,
                       uint8_t ksn[CRYPTO_DUKPT_AES_KSN_LEN], size_t *ksn_len);

/*
 * Signs msg: drops any DE 64 and DE 128, sets the MAC field (128 when a
 * field 65..127 is present, else 64) to the MAC under keys for dir.
 * msg's KS must equal keys->ksn.  Returns GL_OK, GL_MAC_KSN_MISSING,
 * GL_DUKPT_BADKSN (KS names another KSN), a packing error of the codec,
 * GL_CRYPTO.  err (may be NULL) gets code, field and text on failure.
 */
int crypto_mac_sign(const struct iso_profile *p, struct iso_msg *msg,
                    const struct crypto_mac_keys *keys, enum crypto_mac_dir dir,
                    struct iso_error *err);

/*
 * Verifies msg's MAC under keys for dir.  Returns GL_OK, GL_MAC_MISSING
 * (no MAC field: DE 128 absent in a message with a secondary bitmap, or
 * DE 64 absent in one without), GL_MAC_KSN_MISSING, GL_DUKPT_BADKSN,
 * GL_MAC_MISMATCH, a packing error.  The comparison is constant-time.
 */
int crypto_mac_verify(const struct iso_profile *p, const struct iso_msg *msg,
                      const struct crypto_mac_keys *keys,
                      enum crypto_mac_dir dir, struct iso_error *err);

/* Host: crypto_mac_keys_from_bdk, then sign or verify; the keys are wiped
 * before returning.  Codes of both. */
int crypto_mac_sign_bdk(const struct iso_profile *p, struct iso_msg *msg,
                        const struct crypto_bdk *bdk, enum crypto_mac_dir dir,
                        struct iso_error *err);
int crypto_mac_verify_bdk(const struct iso_profile *p,
                          const struct iso_msg *msg,
                          const struct crypto_bdk *bdk, enum crypto_mac_dir dir,
                          struct iso_error *err);

#endif /* CRYPTO_MAC_MSG_H */
