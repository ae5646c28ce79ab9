/*
 * iso8583.h - the ISO 8583:1987 codec of the host link.
 *
 * Table-driven: every one of the 128 data elements has a definition (type,
 * length kind, maximum length) in the profile's field table.  A profile adds
 * the encoding: ASCII (numerics as ASCII digits, the link's default) or BCD
 * (numerics packed two digits a byte); both carry the bitmaps as 8 binary
 * bytes and a 2-byte big-endian length before each message on the stream.
 *
 * A struct iso_msg never allocates: field values live in its own fixed
 * buffer.  Values are held decoded and profile-independent: text types as
 * their characters, type b as raw bytes.  A value is checked against its
 * definition when it is set, and again when a message is unpacked, so a
 * packed message is always well-formed.
 *
 * Ownership: every function works on caller-owned memory; pointers returned
 * by iso_msg_get() borrow from the message and live until it is changed.
 */
#ifndef ISO8583_H
#define ISO8583_H

#include <stddef.h>
#include <stdint.h>

#define ISO_FIELDS 128       /* data elements 1..128 */
#define ISO_MSG_DATA 8192    /* bytes of field values one message can hold */
#define ISO_FRAME_MAX 8192   /* default maximum message length on the link */
#define ISO_HDR_LEN 2        /* the 2-byte big-endian length header */

enum iso_type {
    ISO_T_NONE = 0, /* not defined: a bitmap bit for it is an error */
    ISO_T_N,        /* digits */
    ISO_T_AN,       /* letters and digits */
    ISO_T_ANS,      /* printable ASCII, space included */
    ISO_T_NS,       /* digits, space and punctuation */
    ISO_T_XN,       /* 'C' or 'D' then digits (credit/debit amount) */
    ISO_T_Z,        /* track 2/3 data: digits, '=', 'D' */
    ISO_T_B,        /* binary; lengths count bytes */
};

enum iso_lenkind {
    ISO_FIXED = 0,
    ISO_LLVAR,  /* 2-digit length prefix (1 BCD byte in the BCD profile) */
    ISO_LLLVAR, /* 3-digit length prefix (2 BCD bytes in the BCD profile) */
};

struct iso_field_def {
    uint8_t type;    /* enum iso_type */
    uint8_t lenkind; /* enum iso_lenkind */
    uint16_t max;    /* fixed length, or maximum for variable fields */
    const char *name;
};

enum iso_encoding {
    ISO_ENC_ASCII = 0,
    ISO_ENC_BCD = 1,
};

struct iso_profile {
    const char *name;
    enum iso_encoding enc;
    const struct iso_field_def *fields; /* [ISO_FIELDS + 1], [0] unused */
};

extern const struct iso_profile iso_profile_ascii;
extern const struct iso_profile iso_profile_bcd;
/* The ISO 8583:1987 definitions both profiles share. */
extern const struct iso_field_def iso_fields_1987[ISO_FIELDS + 1];

/* "ascii" or "bcd" -> profile; NULL for anything else. */
const struct iso_profile *iso_profile_by_name(const char *name);

/* Why a value or a message was refused: the code, the field (0 for the MTI,
 * 1 for the bitmap, -1 for the frame), the byte offset in the packed message
 * (or in the value, when setting), and a sentence saying what was wrong. */
struct iso_error {
    int code;
    int field;
    size_t offset;
    char text[160];
};

struct iso_msg {
    char mti[5];                    /* four digits and a NUL */
    uint64_t present[2];            /* bit 63 of [0] is field 1, as on the wire */
    uint16_t off[ISO_FIELDS + 1];
    uint16_t len[ISO_FIELDS + 1];
    uint16_t used;
    uint8_t data[ISO_MSG_DATA];
};

/* Empties msg (no MTI, no fields). */
void iso_msg_init(struct iso_msg *msg);

/* Sets the MTI: four digits. GL_ISO_BADMTI otherwise. */
int iso_msg_set_mti(struct iso_msg *msg, const char *mti);

/*
 * Sets field f (2..128, not 65) to len bytes of val, after checking them
 * against the definition of iso_fields_1987: GL_ISO_UNDEF, GL_ISO_WRONGLEN,
 * GL_ISO_TOOLONG, GL_ISO_EMPTY, GL_ISO_BADCHAR; GL_ENOSPC when the message's
 * buffer is full.  err (may be NULL) says which byte was wrong.
 */
int iso_msg_set(struct iso_msg *msg, int f, const void *val, size_t len,
                struct iso_error *err);
/* The same for a NUL-terminated string. */
int iso_msg_set_str(struct iso_msg *msg, int f, const char *s,
                    struct iso_error *err);
/* A numeric field from an integer, zero-padded to its fixed length (or, for
 * a variable field, without padding). */
int iso_msg_set_u64(struct iso_msg *msg, int f, uint64_t v);
void iso_msg_unset(struct iso_msg *msg, int f);

/* 1 when field f is present. */
int iso_msg_has(const struct iso_msg *msg, int f);
/* Borrows field f's value: GL_OK, or GL_ENOTFOUND when absent. */
int iso_msg_get(const struct iso_msg *msg, int f, const uint8_t **val,
                size_t *len);
/* Copies field f as a NUL-terminated string into buf[cap]: GL_ENOTFOUND,
 * GL_ENOSPC when it does not fit. */
int iso_msg_get_str(const struct iso_msg *msg, int f, char *buf, size_t cap);
/* A numeric field as an integer: GL_ENOTFOUND, GL_ERANGE, GL_ISO_BADCHAR. */
int iso_msg_get_u64(const struct iso_msg *msg, int f, uint64_t *v);
/* Copies src into dst. */
void iso_msg_copy(struct iso_msg *dst, const struct iso_msg *src);

/*
 * Packs msg under profile p into buf[cap] (no length header): MTI, primary
 * bitmap, secondary bitmap only when a field above 64 is present, fields in
 * order.  *out_len gets the length.  GL_ISO_BADMTI when no MTI is set,
 * GL_ENOSPC when cap is too small.
 */
int iso_pack(const struct iso_profile *p, const struct iso_msg *msg,
             uint8_t *buf, size_t cap, size_t *out_len, struct iso_error *err);

/* iso_pack with the 2-byte length header in front; *out_len counts it. */
int iso_pack_frame(const struct iso_profile *p, const struct iso_msg *msg,
                   uint8_t *buf, size_t cap, size_t *out_len,
                   struct iso_error *err);

/*
 * Unpacks buf[len] (no length header) into msg.  Strict: a truncated field,
 * a value too long or with a wrong character, a bitmap bit for a field the
 * profile does not define, an empty variable field, or bytes left after the
 * last field are refused, with err naming field, offset and reason.  Never
 * reads outside buf[0..len) or writes outside msg.
 */
int iso_unpack(const struct iso_profile *p, struct iso_msg *msg,
               const uint8_t *buf, size_t len, struct iso_error *err);

/*
 * Writes msg as "field=value" lines into out[cap], NUL-terminated: "mti=",
 * then each present field in order.  Text types as they are, binary as
 * upper-case hex.  clear = 0 masks: card and voucher numbers (DE 2, 34, 35,
 * 36, 45) keep at most their first 6 and last 4 digits, and any run of
 * 13..19 digits in a free-text field (ans, ns, DE 48 values) is masked too;
 * numeric and alphanumeric fields (amounts, totals, DE 54, DE 90) are shown
 * as they are.  PIN blocks (DE 52, and the DE 48 tag
 * PB) are withheld in both modes.  Returns the length written, or GL_ENOSPC (out holds what fit).
 */
int iso_msg_print(const struct iso_msg *msg, int clear, char *out, size_t cap);

/* Name of data element f ("Primary account number"), "" when undefined. */
const char *iso_field_name(int f);

/* ---- framing on a stream ------------------------------------------------ */

/* Called for every complete message (without its header); a non-zero return
 * stops the feed and is returned by iso_reasm_feed. */
typedef int (*iso_frame_cb)(void *ctx, const uint8_t *msg, size_t len);

struct iso_reasm {
    size_t max;  /* largest message accepted */
    size_t have; /* bytes buffered: header and body of one partial frame */
    uint8_t buf[ISO_HDR_LEN + ISO_FRAME_MAX];
};

/* max: the largest message length accepted, at most ISO_FRAME_MAX. */
void iso_reasm_init(struct iso_reasm *r, size_t max);
/*
 * Feeds len bytes as read from the stream; calls cb for each message that
 * completes (frames wholly inside data are passed without copying).
 * Returns GL_OK, GL_ISO_FRAMELEN when a header announces more than max or
 * zero bytes (the stream is unusable after that: close it), or cb's value.
 */
int iso_reasm_feed(struct iso_reasm *r, const uint8_t *data, size_t len,
                   iso_frame_cb cb, void *ctx);
/* Bytes of an unfinished frame held: a peer that stops mid-frame shows
 * here, so the owner can time it out. */
size_t iso_reasm_pending(const struct iso_reasm *r);

/* ---- DE 48 TLV ---------------------------------------------------------- */
/*
 * The link's private data (DE 48) is a sequence of tag(2 alphanumerics) +
 * length(3 digits) + value, as docs/host-interface.md defines.
 */

/* Finds tag in tlv[len]: GL_OK with the value borrowed, GL_ENOTFOUND, or
 * GL_ISO_BADTLV when the data is malformed before the tag is found. */
int iso_tlv_find(const uint8_t *tlv, size_t len, const char tag[2],
                 const uint8_t **val, size_t *vlen);
/* Appends tag + value to buf[cap] at *len: GL_ENOSPC, GL_EINVAL (value
 * over 999 bytes or tag not 2 alphanumerics). */
int iso_tlv_append(uint8_t *buf, size_t cap, size_t *len, const char tag[2],
                   const void *val, size_t vlen);
/* GL_OK when tlv[len] is a well-formed sequence, GL_ISO_BADTLV otherwise. */
int iso_tlv_check(const uint8_t *tlv, size_t len);

#endif /* ISO8583_H */
