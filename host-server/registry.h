/*
 * registry.h - the host's catalogue: merchant groups, merchants, stores,
 * terminals, products, members (with their cards) and vouchers.
 *
 * Contract:
 *  - The registry lives in the same store as the ledger and uses its group
 *    commit: every write is one operation (its own transaction, or its own
 *    SAVEPOINT inside ledger_batch_begin/commit).
 *  - A merchant owns a payable account in the ledger, created with it.
 *  - Issuing a voucher creates its number (issuer prefix + CSPRNG digits +
 *    Luhn), its ledger account (non-negative) and the transfer of its face
 *    value from the channel's clearing account, in one transaction.
 *  - PINs are stored only as HMAC-SHA-256(host PIN key, number || PIN) and
 *    compared in constant time.  After REGISTRY_PIN_TRIES wrong PINs in a
 *    row the voucher is locked.
 *  - Enumeration: registry_voucher_authorize answers GL_REG_AUTH alike for
 *    an unknown number, a wrong PIN, a missing PIN and a locked voucher (a
 *    locked voucher answers GL_REG_AUTH even to the right PIN, so lockout
 *    is no oracle); status, expiry and acceptance are told only after the
 *    PIN (or a voucher without PIN) was verified.
 *  - Strings in the structs are copies (caller's memory); listing callbacks
 *    get structs valid for the call only, and a non-zero return stops the
 *    listing and is returned.
 */
#ifndef REGISTRY_H
#define REGISTRY_H

#include <stddef.h>
#include <stdint.h>

#include "crypto.h"
#include "crypto_pinblock.h"
#include "ledger.h"
#include "voucher_num.h"

#define REGISTRY_PIN_TRIES 3
#define REGISTRY_PIN_KEY_MAX 64
#define REGISTRY_ID_MAX 32   /* merchant, product, store code */
#define REGISTRY_NAME_MAX 80
#define REGISTRY_TID_MAX 16  /* terminal id (DE 41 is 8) */
#define REGISTRY_PHONE_MAX 20
#define REGISTRY_CARD_MAX 24
#define REGISTRY_MAX_FACES 16
#define REGISTRY_MAX_GROUPS 8

enum registry_product_type {
    REGISTRY_TYPE_DEPARTMENT = 1, /* department store */
    REGISTRY_TYPE_BOOKS = 2,
    REGISTRY_TYPE_CULTURE = 3,
    REGISTRY_TYPE_CARRIER = 4, /* the carrier's general-purpose voucher */
};

enum registry_voucher_status {
    REGISTRY_V_ACTIVE = 0,
    REGISTRY_V_FROZEN = 1,
    REGISTRY_V_EXPIRED = 2,
    REGISTRY_V_CANCELLED = 3,
};

enum registry_card_kind {
    REGISTRY_CARD_MEMBERSHIP = 1,
    REGISTRY_CARD_BRAND = 2,
};

enum registry_terminal_status {
    REGISTRY_T_ACTIVE = 0,
    REGISTRY_T_DISABLED = 1,
};

struct registry_config {
    const uint8_t *pin_key; /* copied; NULL: vouchers cannot get PINs */
    size_t pin_key_len;     /* 16..REGISTRY_PIN_KEY_MAX */
    crypto_rng_fn f_rng;    /* NULL: an own CTR-DRBG seeded at init */
    void *p_rng;
};

struct registry {
    struct ledger *lg; /* borrowed */
    struct store *st;  /* the ledger's */
    uint8_t pin_key[REGISTRY_PIN_KEY_MAX];
    size_t pin_key_len;
    crypto_rng_fn f_rng;
    void *p_rng;
    struct crypto_rng rng; /* used when the config gives no generator */
    int own_rng;
    int64_t collisions; /* numbers drawn again because already issued */
};

struct registry_merchant {
    char id[REGISTRY_ID_MAX + 1];
    char name[REGISTRY_NAME_MAX + 1];
    int status;
    int64_t account; /* payable */
    char groups[256]; /* comma-separated names */
};

struct registry_store {
    int64_t id;
    char merchant[REGISTRY_ID_MAX + 1];
    char code[REGISTRY_ID_MAX + 1];
    char name[REGISTRY_NAME_MAX + 1];
};

struct registry_terminal {
    char id[REGISTRY_TID_MAX + 1];
    char merchant[REGISTRY_ID_MAX + 1];
    char store[REGISTRY_ID_MAX + 1]; /* store code; "" for none */
    char cert_cn[65];
    char key_id[65]; /* DUKPT key id (BDK id / KSN prefix) */
    int status;
    int64_t batch_no; /* open batch */
};

struct registry_product {
    char id[REGISTRY_ID_MAX + 1];
    char issuer[65];
    char brand[65];
    int type; /* enum registry_product_type */
    char prefix[VOUCHER_PREFIX_MAX + 1];
    int validity_days;
    int partial_ok;
    int64_t faces[REGISTRY_MAX_FACES];
    size_t nfaces;
    char groups[REGISTRY_MAX_GROUPS][REGISTRY_ID_MAX + 1];
    size_t ngroups;
};

struct registry_voucher {
    int64_t id;
    char number[VOUCHER_NUM_LEN + 1];
    char product[REGISTRY_ID_MAX + 1];
    int64_t face;
    int64_t account;
    char member_phone[REGISTRY_PHONE_MAX + 1]; /* "" for the bearer */
    int has_pin;
    int pin_tries;
    int status;
    int64_t issued, expires; /* seconds */
    int64_t balance, available;
};

struct registry_member {
    int64_t id;
    char phone[REGISTRY_PHONE_MAX + 1];
    int64_t cards, vouchers;
};

struct registry_issue {
    const char *product;
    int64_t face;         /* one of the product's face values */
    const char *channel;  /* LEDGER_CH_*; NULL: counter cash */
    const char *member;   /* phone; created if new; NULL: bearer voucher */
    const char *pin;      /* 4..12 digits or NULL */
    const char *xfer_id;  /* idempotency id of the issuing transfer; NULL:
                             "issue:v<voucher id>" */
    int unfunded;         /* 1: a card sold at a till: registered without
                             value (no issuing transfer) until its counter
                             sale (activation) moves the face value */
};

typedef int (*registry_merchant_cb)(void *ctx,
                                    const struct registry_merchant *m);
typedef int (*registry_store_cb)(void *ctx, const struct registry_store *s);
typedef int (*registry_terminal_cb)(void *ctx,
                                    const struct registry_terminal *t);
typedef int (*registry_product_cb)(void *ctx,
                                   const struct registry_product *p);
typedef int (*registry_member_cb)(void *ctx, const struct registry_member *m);
typedef int (*registry_voucher_cb)(void *ctx,
                                   const struct registry_voucher *v);

/* Attaches to a ledger (borrowed).  Returns GL_OK, GL_EINVAL (bad key
 * length) or GL_CRYPTO (no entropy for the own generator).  Call
 * registry_deinit in every case. */
int registry_init(struct registry *reg, struct ledger *lg,
                  const struct registry_config *cfg);
/* Wipes the PIN key and frees the own generator. */
void registry_deinit(struct registry *reg);

/* "department", "books", "culture", "carrier"; "" otherwise. */
const char *registry_type_name(int type);
/* The reverse: the type, or GL_EINVAL. */
int registry_type_parse(const char *name);
/* "active", "frozen", "expired", "cancelled". */
const char *registry_status_name(int status);

/* Merchants: GL_EEXIST for a taken id.  groups: names, created if new. */
int registry_merchant_add(struct registry *reg, const char *id,
                          const char *name, const char *const *groups,
                          size_t ngroups);
int registry_merchant_get(struct registry *reg, const char *id,
                          struct registry_merchant *out);
int registry_merchant_list(struct registry *reg, registry_merchant_cb cb,
                           void *ctx);

/* Stores: GL_ENOTFOUND for an unknown merchant, GL_EEXIST for a taken
 * code.  *id (may be NULL) gets the store's id. */
int registry_store_add(struct registry *reg, const char *merchant,
                       const char *code, const char *name, int64_t *id);
/* merchant NULL: all. */
int registry_store_list(struct registry *reg, const char *merchant,
                        registry_store_cb cb, void *ctx);

/* Terminals: t->store is a store code of t->merchant ("" for none). */
int registry_terminal_add(struct registry *reg,
                          const struct registry_terminal *t);
int registry_terminal_get(struct registry *reg, const char *id,
                          struct registry_terminal *out);
int registry_terminal_set_status(struct registry *reg, const char *id,
                                 int status);
int registry_terminal_set_batch(struct registry *reg, const char *id,
                                int64_t batch_no);
int registry_terminal_list(struct registry *reg, registry_terminal_cb cb,
                           void *ctx);

/* Products: GL_EINVAL for a bad prefix, type, face or validity. */
int registry_product_add(struct registry *reg,
                         const struct registry_product *p);
int registry_product_get(struct registry *reg, const char *id,
                         struct registry_product *out);
int registry_product_list(struct registry *reg, registry_product_cb cb,
                          void *ctx);
/* 1 when the product is accepted at the merchant (a group in common),
 * 0 when not, <0 on error. */
int registry_product_accepted(struct registry *reg, const char *product,
                              const char *merchant);

/* Members. */
int registry_member_add(struct registry *reg, const char *phone,
                        int64_t *id);
int registry_member_find(struct registry *reg, const char *phone,
                         int64_t *id);
int registry_member_card_add(struct registry *reg, const char *phone,
                             const char *card_no, int kind);
int registry_member_by_card(struct registry *reg, const char *card_no,
                            int64_t *id);
int registry_member_list(struct registry *reg, registry_member_cb cb,
                         void *ctx);

/*
 * Issues one voucher (see the file comment); out (may be NULL) gets it.
 * Returns GL_OK; GL_ENOTFOUND (product); GL_EINVAL (face not offered, bad
 * PIN, PIN without a key); GL_EEXIST (xfer_id already used);
 * GL_REG_NUMSPACE; or a storage error.
 */
int registry_voucher_issue(struct registry *reg,
                           const struct registry_issue *req,
                           struct registry_voucher *out);
/* The voucher by number, without any PIN (administration).  GL_ENOTFOUND. */
int registry_voucher_get(struct registry *reg, const char *number,
                         struct registry_voucher *out);
/*
 * Authorises a voucher for use: number and PIN (NULL when none was
 * entered), at merchant (NULL: skip the acceptance check).  Returns GL_OK
 * (out filled, the tries counter reset), GL_REG_AUTH (see the file
 * comment), then GL_REG_CANCELLED, GL_REG_FROZEN, GL_REG_EXPIRED,
 * GL_REG_NOTACCEPTED; or a storage error.  A wrong PIN's count is
 * committed even though the answer is an error.
 */
int registry_voucher_authorize(struct registry *reg, const char *number,
                               const char *pin, const char *merchant,
                               struct registry_voucher *out);
/*
 * registry_voucher_authorize for a PIN that arrives as a keyed hash:
 * pin_hash is HMAC-SHA-256(the registry's PIN key, number || PIN) (32
 * bytes, from registry_pin_hash_block), or NULL when no PIN was entered.
 * Same checks, codes and try counting as registry_voucher_authorize; the
 * host never holds the clear PIN.
 */
int registry_voucher_authorize_hash(struct registry *reg, const char *number,
                                    const uint8_t *pin_hash,
                                    const char *merchant,
                                    struct registry_voucher *out);
/*
 * Decrypts the PIN block pb (its pan is the voucher number, the salt of the
 * stored hash) and writes the keyed hash of its PIN into out[32].  Returns
 * GL_OK, GL_EINVAL (no PIN key), or crypto_pinblock_hmac's codes (a block
 * under a wrong key gives GL_PINBLOCK_FORMAT: treat it as a wrong PIN).
 */
int registry_pin_hash_block(const struct registry *reg,
                            const struct crypto_pinblock *pb,
                            uint8_t out[CRYPTO_HMAC_LEN]);
/* Freeze (REGISTRY_V_FROZEN), unfreeze (REGISTRY_V_ACTIVE), cancel.
 * Unfreezing also clears a PIN lockout.  GL_ENOTFOUND. */
int registry_voucher_set_status(struct registry *reg, const char *number,
                                int status);
/* Korea's standard terms for mobile vouchers: the remainder may be cashed
 * out once this share of the face value is used, in percent (80 for a face
 * value of 10,000 KRW or less, else 60).  The one rule of the terminals'
 * cash-out (hostd_proc.c) and the customers' (online.c). */
int registry_cashout_used_pct(int64_t face);
/* 1 when a voucher of face with balance left has been used enough. */
int registry_cashout_used_enough(int64_t face, int64_t balance);

/* Sets the voucher's expiry (seconds; > its issue time).  Policy (how far,
 * how often) is the caller's: online_extend.  GL_OK, GL_EINVAL,
 * GL_ENOTFOUND, storage errors. */
int registry_voucher_set_expiry(struct registry *reg, const char *number,
                                int64_t expires);
/* A member's active, unexpired vouchers with value left that are accepted
 * at merchant, earliest expiry first. */
int registry_vouchers_for_member(struct registry *reg, int64_t member,
                                 const char *merchant, registry_voucher_cb cb,
                                 void *ctx);
/* All vouchers (phone NULL) or a member's, in issue order. */
int registry_voucher_list(struct registry *reg, const char *phone,
                          registry_voucher_cb cb, void *ctx);

#endif /* REGISTRY_H */
