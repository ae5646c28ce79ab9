/*
 * crypto_int.h - internals of lib/crypto shared by its sources and its
 * tests.  Not for other modules.
 */
#ifndef CRYPTO_INT_H
#define CRYPTO_INT_H

#include <stdint.h>

#include "crypto_dukpt.h"

/* Number of one-bits of v. */
static inline int crypto_popcount32(uint32_t v)
{
    return __builtin_popcount(v);
}

/*
 * Sets t to the state a terminal loaded with ik would have just before it
 * uses counter (which must be non-zero with at most 16 one-bits): the
 * registers of every counter still reachable are derived from ik.  For
 * tests that need the end of the counter space, and for recovery tools.
 * GL_OK, GL_KEY_LENGTH, GL_DUKPT_BADKSN.
 */
int crypto_dukpt_aes_term_seek(struct crypto_dukpt_aes_term *t,
                               const uint8_t *ik, enum crypto_key_type type,
                               const uint8_t key_id[CRYPTO_DUKPT_KEYID_LEN],
                               uint32_t counter);

#endif /* CRYPTO_INT_H */
