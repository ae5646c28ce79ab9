/*
 * crypto_dukpt.h - Derived Unique Key Per Transaction.
 *
 * AES DUKPT (ANSI X9.24-3:2017) is the link's scheme; TDES DUKPT (ANSI
 * X9.24-1:2009) serves legacy terminals.
 *
 * AES DUKPT in one paragraph: the host holds a base derivation key (BDK,
 * AES-128 or AES-256).  A terminal is loaded with an initial key derived
 * from the BDK and its 8-byte initial key ID.  Every transaction uses a
 * 32-bit counter (at most 16 one-bits); the key serial number on the wire is
 * key ID || counter (12 bytes).  The transaction's derivation key is reached
 * from the initial key by one derivation per one-bit of the counter, most
 * significant first; the working keys (PIN, MAC generation, MAC
 * verification, data) are derived from it with the usage in the derivation
 * data.  The terminal never holds the initial key after loading: it keeps
 * the "future keys" (one register per counter bit), so a key captured from
 * it reveals no earlier transaction.
 *
 * The key derivation (X9.24-3 6.3): derivation data is 16 bytes
 *   01 | block counter | usage (2) | algorithm (2) | length in bits (2) |
 *   initial key ID (8, for usage 8001) or key ID[4..7] || counter (8)
 * and each 16-byte block of the derived key is AES-ECB of the data (with
 * block counter 1, 2) under the parent key.
 *
 * All keys are caller-owned buffers; every function wipes the intermediate
 * keys it held.  Callers wipe what they received (crypto_wipe, or the
 * _wipe functions below).
 */
#ifndef CRYPTO_DUKPT_H
#define CRYPTO_DUKPT_H

#include <stddef.h>
#include <stdint.h>

#include "crypto.h"

#define CRYPTO_DUKPT_KEYID_LEN 8     /* AES DUKPT initial key ID */
#define CRYPTO_DUKPT_AES_KSN_LEN 12  /* key ID || 32-bit counter */
#define CRYPTO_DUKPT_TDES_KSN_LEN 10 /* X9.24-1: 59 bits ID, 21-bit counter */
#define CRYPTO_DUKPT_AES_REGS 32     /* one future-key register per bit */
#define CRYPTO_DUKPT_MAX_ONES 16     /* one-bits a counter may have */

/* Key usage indicators of X9.24-3 derivation data. */
enum crypto_dukpt_usage {
    CRYPTO_USAGE_KEK = 0x0002,
    CRYPTO_USAGE_PIN = 0x1000,
    CRYPTO_USAGE_MAC_GEN = 0x2000,
    CRYPTO_USAGE_MAC_VER = 0x2001,
    CRYPTO_USAGE_MAC_BOTH = 0x2002,
    CRYPTO_USAGE_DATA_ENC = 0x3000,
    CRYPTO_USAGE_DATA_DEC = 0x3001,
    CRYPTO_USAGE_DATA_BOTH = 0x3002,
    CRYPTO_USAGE_KEY_DERIVATION = 0x8000,
    CRYPTO_USAGE_INITIAL_KEY = 0x8001,
};

/* ---- AES DUKPT, host side ------------------------------------------------ */

/*
 * The terminal's initial key from the BDK and its initial key ID.
 * bdk: crypto_key_len(bdk_type) bytes, bdk_type CRYPTO_KEY_AES128 or
 * CRYPTO_KEY_AES256 (else GL_KEY_LENGTH).  ik receives as many bytes.
 */
int crypto_dukpt_aes_initial_key(const uint8_t *bdk,
                                 enum crypto_key_type bdk_type,
                                 const uint8_t key_id[CRYPTO_DUKPT_KEYID_LEN],
                                 uint8_t *ik);

/*
 * The transaction's derivation key for ksn (key ID || counter) from the
 * BDK: dk receives crypto_key_len(bdk_type) bytes.  GL_DUKPT_BADKSN when the
 * counter is 0 or has more than 16 one-bits (no terminal ever uses it).
 */
int crypto_dukpt_aes_derivation_key(const uint8_t *bdk,
                                    enum crypto_key_type bdk_type,
                                    const uint8_t ksn[CRYPTO_DUKPT_AES_KSN_LEN],
                                    uint8_t *dk);

/*
 * A working key for usage (enum crypto_dukpt_usage) of type wk_type from a
 * transaction's derivation key dk of type dk_type and its ksn.  wk receives
 * crypto_key_len(wk_type) bytes.  wk_type may be any AES or TDES type no
 * stronger than dk_type (an AES-128 key derives no AES-256 key):
 * GL_KEY_LENGTH otherwise.
 */
int crypto_dukpt_aes_working_key(const uint8_t *dk,
                                 enum crypto_key_type dk_type,
                                 const uint8_t ksn[CRYPTO_DUKPT_AES_KSN_LEN],
                                 unsigned usage, enum crypto_key_type wk_type,
                                 uint8_t *wk);

/* The host's one call: BDK + KSN -> working key (derivation key, then
 * working key), same parameters and codes as the two above. */
int crypto_dukpt_aes_host_key(const uint8_t *bdk, enum crypto_key_type bdk_type,
                              const uint8_t ksn[CRYPTO_DUKPT_AES_KSN_LEN],
                              unsigned usage, enum crypto_key_type wk_type,
                              uint8_t *wk);

/* ---- AES DUKPT, terminal side -------------------------------------------- */

/*
 * The terminal's state: the future-key registers of X9.24-3.  Register k
 * holds the derivation key of the next counter whose lowest one-bit is
 * bit k, when that counter is reachable; `valid` has bit k set when it
 * does.  Caller-owned, about 1 KiB; wipe with crypto_dukpt_aes_term_wipe.
 */
struct crypto_dukpt_aes_term {
    enum crypto_key_type type; /* of the initial key and all registers */
    uint8_t key_id[CRYPTO_DUKPT_KEYID_LEN];
    uint32_t counter; /* the next transaction's counter */
    uint32_t valid;   /* bit k: reg[k] holds a key */
    int exhausted;    /* the counter space is used up */
    uint8_t reg[CRYPTO_DUKPT_AES_REGS][CRYPTO_KEY_MAX];
};

/* One transaction's keys, as the terminal gets them. */
struct crypto_dukpt_aes_txn {
    enum crypto_key_type type;             /* of dk */
    uint8_t ksn[CRYPTO_DUKPT_AES_KSN_LEN]; /* to send in the clear */
    uint8_t dk[CRYPTO_KEY_MAX];            /* the derivation key: secret */
};

/*
 * Loads the initial key ik (type CRYPTO_KEY_AES128 or _AES256) for key_id:
 * fills all 32 registers, then forgets ik (the caller wipes its own copy).
 * The first transaction gets counter 1.  GL_OK, GL_KEY_LENGTH.
 */
int crypto_dukpt_aes_term_load(struct crypto_dukpt_aes_term *t,
                               const uint8_t *ik, enum crypto_key_type type,
                               const uint8_t key_id[CRYPTO_DUKPT_KEYID_LEN]);

/*
 * Takes the next transaction: txn gets the KSN and derivation key of the
 * current counter, and t advances (the used register is erased, the future
 * keys below it are derived, counters with more than 16 one-bits are
 * skipped).  The caller persists t (crypto_dukpt_aes_term_save) before it
 * uses txn, so a crash can never reuse a counter.  Returns GL_OK, or
 * GL_DUKPT_EXHAUSTED (txn untouched) once counter 0xFFFF0000 has been
 * used; GL_EINVAL when the state is inconsistent.
 */
int crypto_dukpt_aes_term_next(struct crypto_dukpt_aes_term *t,
                               struct crypto_dukpt_aes_txn *txn);

/* A working key of txn: crypto_dukpt_aes_working_key on its dk and ksn. */
int crypto_dukpt_aes_txn_key(const struct crypto_dukpt_aes_txn *txn,
                             unsigned usage, enum crypto_key_type wk_type,
                             uint8_t *wk);

void crypto_dukpt_aes_term_wipe(struct crypto_dukpt_aes_term *t);
void crypto_dukpt_aes_txn_wipe(struct crypto_dukpt_aes_txn *txn);

/*
 * The state as a fixed blob, for the terminal's persistent store:
 *   "GLDK" | version 1 | key type | flags (bit 0: exhausted) | 0 |
 *   key ID (8) | counter (4, big-endian) | valid mask (4, big-endian) |
 *   32 registers of 32 bytes (AES-128 keys zero-padded) |
 *   first 16 bytes of SHA-256 over everything before it.
 * The digest detects a torn or corrupted write; it does not authenticate.
 * The blob holds keys: store it where the keys may live.
 */
#define CRYPTO_DUKPT_AES_BLOB_LEN                                              \
    (24 + CRYPTO_DUKPT_AES_REGS * CRYPTO_KEY_MAX + 16)

int crypto_dukpt_aes_term_save(const struct crypto_dukpt_aes_term *t,
                               uint8_t blob[CRYPTO_DUKPT_AES_BLOB_LEN]);
/* GL_OK, or GL_EINVAL (t wiped) for a blob that is not a consistent state
 * (magic, version, type, digest, registers against counter). */
int crypto_dukpt_aes_term_restore(
    struct crypto_dukpt_aes_term *t,
    const uint8_t blob[CRYPTO_DUKPT_AES_BLOB_LEN]);

/* ---- TDES DUKPT (X9.24-1:2009) ------------------------------------------- */

/* The KSN's counter (its low 21 bits). */
uint32_t
crypto_dukpt_tdes_counter(const uint8_t ksn[CRYPTO_DUKPT_TDES_KSN_LEN]);

/* The initial PIN encryption key (IPEK) from a double-length BDK and any
 * KSN of the terminal (its counter bits are ignored). */
int crypto_dukpt_tdes_ipek(const uint8_t bdk[16],
                           const uint8_t ksn[CRYPTO_DUKPT_TDES_KSN_LEN],
                           uint8_t ipek[16]);

/* The transaction key of ksn from the terminal's IPEK: one non-reversible
 * key generation per one-bit of the counter.  GL_DUKPT_BADKSN when the
 * counter is 0 or has more than 10 one-bits. */
int crypto_dukpt_tdes_key_from_ipek(
    const uint8_t ipek[16], const uint8_t ksn[CRYPTO_DUKPT_TDES_KSN_LEN],
    uint8_t key[16]);

/* The host's call: BDK + KSN -> transaction key (no variant applied). */
int crypto_dukpt_tdes_key(const uint8_t bdk[16],
                          const uint8_t ksn[CRYPTO_DUKPT_TDES_KSN_LEN],
                          uint8_t key[16]);

/* X9.24-1:2009 key variants, XORed into both halves of the key. */
enum crypto_tdes_variant {
    CRYPTO_TDES_PIN,       /* 00000000000000FF */
    CRYPTO_TDES_MAC_REQ,   /* 000000000000FF00: MAC, request or both ways */
    CRYPTO_TDES_MAC_RESP,  /* 00000000FF000000 */
    CRYPTO_TDES_DATA_REQ,  /* 0000000000FF0000: data, request or both ways */
    CRYPTO_TDES_DATA_RESP, /* 000000FF00000000 */
};

/* out = key XOR the variant (out may equal key).  GL_EINVAL for an unknown
 * variant. */
int crypto_dukpt_tdes_variant(const uint8_t key[16], enum crypto_tdes_variant v,
                              uint8_t out[16]);

/* ---- base derivation keys ------------------------------------------------ */

/* A new random BDK of type (AES128, AES256 or TDES2, the latter with odd
 * DES parity) from f_rng into bdk[crypto_key_len(type)].  GL_OK,
 * GL_KEY_LENGTH, GL_CRYPTO. */
int crypto_bdk_generate(enum crypto_key_type type, crypto_rng_fn f_rng,
                        void *p_rng, uint8_t *bdk);

/* ---- the terminal's initial key file ------------------------------------- */

/*
 * What a terminal is loaded with, as `glctl pki ikey` writes it:
 *   # giftlink terminal initial DUKPT key: keep secret (mode 0600)
 *   type=aes128            (aes128, aes256 or tdes)
 *   key_id=1234567890123456  (AES: the 8-byte initial key ID;
 *                             TDES: the 10-byte initial KSN, counter 0)
 *   ikey=1273671EA26AC29AFA4D1084127652A1  (initial key / IPEK)
 * Hex is upper case; lines end with '\n'.
 */
struct crypto_ikey {
    enum crypto_key_type type;                 /* AES128, AES256 or TDES2 */
    uint8_t key_id[CRYPTO_DUKPT_TDES_KSN_LEN]; /* 8 bytes (AES) or 10 */
    uint8_t key[CRYPTO_KEY_MAX];
};

/* Length of the key ID for ik->type: 8 (AES) or 10 (TDES). */
size_t crypto_ikey_id_len(enum crypto_key_type type);

/*
 * Derives the initial key of a terminal from bdk (bdk_type AES128, AES256
 * or TDES2) and its key ID (8 bytes; for TDES 8 or 10 bytes, the first 8 of
 * the KSN, the counter bits are cleared).  GL_OK, GL_KEY_LENGTH,
 * GL_EINVAL.
 */
int crypto_ikey_derive(const uint8_t *bdk, enum crypto_key_type bdk_type,
                       const uint8_t *key_id, size_t key_id_len,
                       struct crypto_ikey *ik);

/* Writes ik in the file format above into out[cap], NUL-terminated;
 * returns the length or GL_ENOSPC. */
int crypto_ikey_format(const struct crypto_ikey *ik, char *out, size_t cap);
/* Parses text[len] in that format ('#' comments and blank lines allowed,
 * each key exactly once): GL_OK or GL_EINVAL. */
int crypto_ikey_parse(const char *text, size_t len, struct crypto_ikey *ik);

#endif /* CRYPTO_DUKPT_H */
