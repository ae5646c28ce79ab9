/*
 * magstripe.h - magnetic-stripe card readers on a serial line (magstripe_*).
 *
 * Wire format (ASCII readers): one swipe is one line ended by CR, LF or
 * CR LF, holding track 1 and/or track 2 as read from the card:
 *   track 1 (IATA, format B): %B<PAN 1-19>^<NAME 2-26>^<YYMM><SSS><disc.>?
 *   track 2 (ABA):            ;<PAN 1-19>=<YYMM><SSS><disc.>?
 * Track 1 characters are the 6-bit set 0x20..0x5F, track 2 the 4-bit set
 * 0x30..0x3F.  With cfg.lrc on, the reader sends each track's LRC right
 * after its end sentinel, as a character of the track's own set: the XOR of
 * the character values (c - 0x20 for track 1, c - 0x30 for track 2) of every
 * character from the start sentinel to the end sentinel, plus the set's
 * offset.  A reader that sends a lone line ending for a swipe it could not
 * read gives an empty line.
 *
 * Contract:
 *  - magstripe_parse() turns one line into a card: PAN, expiry (YYMM) and
 *    service code, the name when track 1 is there.  When both tracks are
 *    present they must agree on PAN, expiry and service code.
 *  - Bad swipes have distinct codes: GL_MSR_EMPTY (nothing), GL_MSR_NOSTART
 *    (no '%' or ';' first), GL_MSR_NOEND (no '?' before the line ends),
 *    GL_MSR_LRC (LRC missing or wrong), GL_MSR_BADCHAR (a character outside
 *    the track's set), GL_MSR_FORMAT (separators, field lengths, the tracks
 *    disagree, line too long).
 *  - Membership or brand card: decided by the longest matching issuer
 *    prefix of a table built from configuration (gl_config keys
 *    membership_prefixes / brand_prefixes, comma-separated digit prefixes);
 *    a PAN matching neither is GL_MSR_ISSUER from magstripe_read().
 *  - struct magstripe_card holds a card number: the caller wipes it with
 *    magstripe_card_wipe() when done; logs show it only masked.
 *  - Nothing is allocated after magstripe_open().
 */
#ifndef MAGSTRIPE_H
#define MAGSTRIPE_H

#include <stddef.h>
#include <stdint.h>

#include "gl_config.h"
#include "serial.h"

#define MAGSTRIPE_LINE_MAX 256
#define MAGSTRIPE_PAN_MAX 19
#define MAGSTRIPE_NAME_MAX 26
#define MAGSTRIPE_ISSUERS_MAX 32
#define MAGSTRIPE_PREFIX_MAX 11

enum magstripe_kind {
    MAGSTRIPE_UNKNOWN = 0,
    MAGSTRIPE_MEMBERSHIP = 1,
    MAGSTRIPE_BRAND = 2,
};

#define MAGSTRIPE_TRACK1 1
#define MAGSTRIPE_TRACK2 2

struct magstripe_card {
    char pan[MAGSTRIPE_PAN_MAX + 1];
    char name[MAGSTRIPE_NAME_MAX + 1]; /* "" without track 1 */
    char expiry[5];                    /* YYMM */
    char service[4];                   /* 3 digits */
    int tracks;                        /* MAGSTRIPE_TRACK1 | _TRACK2 */
    enum magstripe_kind kind;
};

struct magstripe_issuer {
    char prefix[MAGSTRIPE_PREFIX_MAX + 1];
    enum magstripe_kind kind;
};

struct magstripe_issuers {
    struct magstripe_issuer v[MAGSTRIPE_ISSUERS_MAX];
    size_t n;
};

/* The configuration text, filled by gl_config through MAGSTRIPE_CFG_ITEMS. */
struct magstripe_issuer_cfg {
    char membership[256];
    char brand[256];
};

/* Two gl_cfg_item initialisers for a program's configuration table. */
#define MAGSTRIPE_CFG_ITEMS(section, c)                                       \
    {(section), "membership_prefixes", GL_CFG_STR, (c)->membership,           \
     sizeof (c)->membership, 0, 0, 0},                                        \
    {(section), "brand_prefixes", GL_CFG_STR, (c)->brand, sizeof (c)->brand,  \
     0, 0, 0}

/*
 * Builds the table from c: GL_OK, or GL_ECONFIG for an empty or non-digit
 * prefix, one longer than MAGSTRIPE_PREFIX_MAX, a prefix given twice, or
 * more than MAGSTRIPE_ISSUERS_MAX prefixes.
 */
int magstripe_issuers_build(struct magstripe_issuers *t,
                            const struct magstripe_issuer_cfg *c);

/* The kind of the longest prefix of t matching pan. */
enum magstripe_kind magstripe_issuers_classify(const struct magstripe_issuers *t,
                                               const char *pan);

/* Parses one swipe line (without its line ending).  lrc: the reader sends
 * LRCs.  Returns GL_OK with *card set (kind UNKNOWN) or a bad-swipe code;
 * *card is zeroed on failure. */
int magstripe_parse(const char *line, size_t len, int lrc,
                    struct magstripe_card *card);

/* The LRC character of a track from its start to its end sentinel. */
char magstripe_lrc(const char *track, size_t len);

/* Zeroes the card (PAN and name) in a way the compiler keeps. */
void magstripe_card_wipe(struct magstripe_card *card);

/* ---- the device ---------------------------------------------------------- */

struct magstripe_config {
    int lrc; /* the reader sends LRCs */
    struct magstripe_issuers issuers;
};

struct magstripe {
    struct hal_serial port;
    struct magstripe_config cfg;
    char line[MAGSTRIPE_LINE_MAX];
    size_t len;
    int overflow, after_cr;
    uint8_t rx[64];
    size_t rx_len, rx_off;
};

/* Prepares m (cfg copied) for path; line NULL: 9600 8N1; ops NULL:
 * libserialport.  GL_OK or GL_EINVAL. */
int magstripe_init(struct magstripe *m, const struct magstripe_config *cfg,
                   const char *path, const struct hal_serial_line *line,
                   const struct hal_serial_ops *ops);
int magstripe_open(struct magstripe *m);
void magstripe_close(struct magstripe *m);

/*
 * Waits up to timeout_ms for a swipe.  GL_OK with *card (kind membership
 * or brand); GL_MSR_ISSUER with *card filled when no prefix matches; a
 * bad-swipe code; GL_ETIMEDOUT (a partial line stays for the next call);
 * GL_ECLOSED (the line dropped; the next call reopens); GL_DEV_NODEV.
 */
int magstripe_read(struct magstripe *m, struct magstripe_card *card,
                   int timeout_ms);

#endif /* MAGSTRIPE_H */
