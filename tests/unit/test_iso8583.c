/*
 * test_iso8583.c - the ISO 8583 codec: round trips of every example message
 * in both profiles, frames written by hand from the standard, every error
 * class with its field and offset, framing, TLV, the masked printer, and
 * random corruption that must never read or write out of bounds.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../gl_test.h"
#include "../iso_vectors.h"
#include "gl_err.h"
#include "iso8583.h"

static struct vec vecs[VEC_MAX];
static int gl_test_show_errors_;
static int nvecs;

/* The reference 0200 redemption, assembled by hand from ISO 8583:1987:
 * ASCII numerics, binary bitmap 72 38 04 80 08 C1 80 01 (fields 2 3 4 7 |
 * 11 12 13 | 22 | 25 | 37 | 41 42 48 | 49 | 64). */
static const char ref0200[] =
    "0200"
    "\x72\x38\x04\x80\x08\xC1\x80\x01"
    "16"
    "9410012345678908"                     /* DE 2 */
    "006000"                               /* DE 3 */
    "000000010000"                         /* DE 4 */
    "1125101500"                           /* DE 7 */
    "000123"                               /* DE 11 */
    "101500"                               /* DE 12 */
    "1125"                                 /* DE 13 */
    "031"                                  /* DE 22 */
    "00"                                   /* DE 25 */
    "533010000123"                         /* DE 37 */
    "GLT00001"                             /* DE 41 */
    "GLM000000000001"                      /* DE 42 */
    "038"                                  /* DE 48 length */
    "CA004C001KS024123456789012345600000004"
    "410"                                  /* DE 49 */
    "\0\0\0\0\0\0\0\0";                    /* DE 64 */
#define REF0200_LEN (sizeof ref0200 - 1)

/* A BCD 0100 by hand: MTI 01 00, bitmap 62 20 04 10 00 80 00 01 (2 3 7 |
 * 11 | 22 | 28 | 41 | 64), odd-length DE 22 left-padded, x+n DE 28 with
 * its sign as a nibble. */
static const uint8_t bcd0100[] = {
    0x01, 0x00, 0x62, 0x20, 0x04, 0x10, 0x00, 0x80, 0x00, 0x01,
    0x16, 0x94, 0x10, 0x01, 0x23, 0x45, 0x67, 0x89, 0x08, /* DE 2 */
    0x31, 0x60, 0x00,                                     /* DE 3 */
    0x11, 0x25, 0x10, 0x00, 0x00,                         /* DE 7 */
    0x00, 0x00, 0x10,                                     /* DE 11 */
    0x00, 0x31,                                           /* DE 22 */
    0x0C, 0x00, 0x00, 0x10, 0x00,                         /* DE 28 */
    'G',  'L',  'T',  '0',  '0',  '0',  '0',  '1',        /* DE 41 */
    0xA1, 0xA2, 0xA3, 0xA4, 0xA5, 0xA6, 0xA7, 0xA8,       /* DE 64 */
};

static const struct vec *vec_named(const char *name)
{
    for (int i = 0; i < nvecs; i++) {
        if (strcmp(vecs[i].name, name) == 0) {
            return &vecs[i];
        }
    }
    return NULL;
}

static int same_fields(const struct iso_msg *a, const struct iso_msg *b)
{
    if (strcmp(a->mti, b->mti) != 0) {
        return 0;
    }
    for (int f = 1; f <= ISO_FIELDS; f++) {
        const uint8_t *va, *vb;
        size_t la, lb;
        int ha = iso_msg_get(a, f, &va, &la) == GL_OK;
        int hb = iso_msg_get(b, f, &vb, &lb) == GL_OK;
        if (ha != hb || (ha && (la != lb || memcmp(va, vb, la) != 0))) {
            printf("       field %d differs\n", f);
            return 0;
        }
    }
    return 1;
}

GL_TEST(vectors_load)
{
    GL_CHECK(nvecs >= 20);
}

static void round_trip(const struct iso_profile *p)
{
    static uint8_t buf[ISO_FRAME_MAX], buf2[ISO_FRAME_MAX];
    static struct iso_msg back;
    struct iso_error err;

    for (int i = 0; i < nvecs; i++) {
        size_t n = 0, n2 = 0;
        int rc = iso_pack(p, &vecs[i].msg, buf, sizeof buf, &n, &err);
        GL_CHECK_INT(GL_OK, rc);
        rc = iso_unpack(p, &back, buf, n, &err);
        if (rc != GL_OK) {
            printf("       %s: %s\n", vecs[i].name, err.text);
        }
        GL_CHECK_INT(GL_OK, rc);
        GL_CHECK(same_fields(&vecs[i].msg, &back));
        rc = iso_pack(p, &back, buf2, sizeof buf2, &n2, &err);
        GL_CHECK_INT(GL_OK, rc);
        GL_CHECK_INT(n, n2);
        GL_CHECK(n == n2 && memcmp(buf, buf2, n) == 0);
        /* The secondary bitmap is there exactly when a field > 64 is. */
        int high = vecs[i].msg.present[1] != 0;
        size_t bm_at = p->enc == ISO_ENC_BCD ? 2 : 4;
        GL_CHECK_INT(high, buf[bm_at] >> 7);
    }
}

GL_TEST(round_trip_every_vector_ascii)
{
    round_trip(&iso_profile_ascii);
}

GL_TEST(round_trip_every_vector_bcd)
{
    round_trip(&iso_profile_bcd);
}

GL_TEST(hand_written_0200_decodes)
{
    static struct iso_msg m;
    struct iso_error err;
    char s[64];
    uint64_t amount;

    GL_CHECK_INT(GL_OK, iso_unpack(&iso_profile_ascii, &m,
                                   (const uint8_t *)ref0200, REF0200_LEN,
                                   &err));
    GL_CHECK_STR("0200", m.mti);
    iso_msg_get_str(&m, 2, s, sizeof s);
    GL_CHECK_STR("9410012345678908", s);
    GL_CHECK_INT(GL_OK, iso_msg_get_u64(&m, 4, &amount));
    GL_CHECK_INT(10000, amount);
    iso_msg_get_str(&m, 42, s, sizeof s);
    GL_CHECK_STR("GLM000000000001", s);
    iso_msg_get_str(&m, 48, s, sizeof s);
    GL_CHECK_STR("CA004C001KS024123456789012345600000004", s);
    GL_CHECK(!iso_msg_has(&m, 5));
    GL_CHECK(iso_msg_has(&m, 64));
}

GL_TEST(encoder_matches_hand_written_0200)
{
    static uint8_t buf[1024];
    size_t n = 0;
    const struct vec *v = vec_named("0200-redeem.txt");
    GL_CHECK(v != NULL);
    if (v == NULL) {
        return;
    }
    GL_CHECK_INT(GL_OK, iso_pack_frame(&iso_profile_ascii, &v->msg, buf,
                                       sizeof buf, &n, NULL));
    GL_CHECK_INT(REF0200_LEN + 2, n);
    GL_CHECK_INT(REF0200_LEN >> 8, buf[0]);
    GL_CHECK_INT(REF0200_LEN & 0xff, buf[1]);
    GL_CHECK_MEM(ref0200, buf + 2, REF0200_LEN);
}

GL_TEST(hand_written_bcd_0100_decodes_and_reencodes)
{
    static struct iso_msg m;
    static uint8_t buf[256];
    struct iso_error err;
    size_t n = 0;
    char s[64];

    GL_CHECK_INT(GL_OK, iso_unpack(&iso_profile_bcd, &m, bcd0100,
                                   sizeof bcd0100, &err));
    GL_CHECK_STR("0100", m.mti);
    iso_msg_get_str(&m, 2, s, sizeof s);
    GL_CHECK_STR("9410012345678908", s);
    iso_msg_get_str(&m, 3, s, sizeof s);
    GL_CHECK_STR("316000", s);
    iso_msg_get_str(&m, 22, s, sizeof s);
    GL_CHECK_STR("031", s);
    iso_msg_get_str(&m, 28, s, sizeof s);
    GL_CHECK_STR("C00001000", s);
    iso_msg_get_str(&m, 41, s, sizeof s);
    GL_CHECK_STR("GLT00001", s);
    GL_CHECK_INT(GL_OK,
                 iso_pack(&iso_profile_bcd, &m, buf, sizeof buf, &n, &err));
    GL_CHECK_INT(sizeof bcd0100, n);
    GL_CHECK_MEM(bcd0100, buf, sizeof bcd0100);
}

/* Unpacks bytes and checks code, field and offset of the refusal. */
static void expect_err(const struct iso_profile *p, const uint8_t *b,
                       size_t n, int code, int field, size_t offset)
{
    static struct iso_msg m;
    struct iso_error err;
    memset(&err, 0, sizeof err);
    int rc = iso_unpack(p, &m, b, n, &err);
    GL_CHECK_INT(code, rc);
    GL_CHECK_INT(code, err.code);
    GL_CHECK_INT(field, err.field);
    GL_CHECK_INT(offset, err.offset);
    GL_CHECK(strlen(err.text) > 10);
    if (gl_test_show_errors_) {
        printf("       -> %s\n", err.text);
    }
}



static uint8_t work[1024];

static const uint8_t *ref_with(size_t at, uint8_t byte)
{
    memcpy(work, ref0200, REF0200_LEN);
    work[at] = byte;
    return work;
}

GL_TEST(errors_name_field_offset_reason)
{
    const struct iso_profile *a = &iso_profile_ascii;
    const uint8_t *ref = (const uint8_t *)ref0200;
    /* DE 2 prefix at 12, value 14..29, DE 3 at 30, DE 4 at 36, DE 7 48,
     * DE 11 58, DE 12 64, DE 13 70, DE 22 74, DE 25 77, DE 37 79, DE 41 91,
     * DE 42 99, DE 48 114, DE 49 155, DE 64 158. */
    expect_err(a, ref_with(41, 'A'), REF0200_LEN, GL_ISO_BADCHAR, 4, 41);
    expect_err(a, ref_with(2, 'X'), REF0200_LEN, GL_ISO_BADMTI, 0, 2);
    expect_err(a, ref_with(12, '2'), REF0200_LEN, GL_ISO_TOOLONG, 2, 12);
    expect_err(a, ref_with(13, 'A'), REF0200_LEN, GL_ISO_BADLEN, 2, 13);
    memcpy(work, ref0200, REF0200_LEN);
    work[12] = '0';
    work[13] = '0';
    expect_err(a, work, REF0200_LEN, GL_ISO_EMPTY, 2, 12);
    /* Truncated in the MAC, in the bitmap, in the MTI. */
    expect_err(a, ref, REF0200_LEN - 3, GL_ISO_TRUNC, 64, REF0200_LEN - 8);
    expect_err(a, ref, 7, GL_ISO_TRUNC, 1, 4);
    expect_err(a, ref, 3, GL_ISO_TRUNC, 0, 0);
    /* A trailing byte. */
    memcpy(work, ref0200, REF0200_LEN);
    work[REF0200_LEN] = '9';
    expect_err(a, work, REF0200_LEN + 1, GL_ISO_TRAILING, -1, REF0200_LEN);
    /* an (DE 37 at 79) refuses a space; ans (DE 41 at 91) refuses 0x01. */
    expect_err(a, ref_with(80, ' '), REF0200_LEN, GL_ISO_BADCHAR, 37, 80);
    expect_err(a, ref_with(92, 0x01), REF0200_LEN, GL_ISO_BADCHAR, 41, 92);
    /* DE 48's LLL prefix (at 114) announces more than the message holds. */
    memcpy(work, ref0200, REF0200_LEN);
    memcpy(work + 114, "999", 3);
    expect_err(a, work, REF0200_LEN, GL_ISO_TRUNC, 48, 114);
}

GL_TEST(bitmap_errors)
{
    const struct iso_profile *a = &iso_profile_ascii;
    /* Bit 65 (a tertiary bitmap) is not a field of the profile. */
    static const uint8_t b65[] = {'0', '8', '0', '0',
                                  0xA0, 0, 0, 0, 0, 0, 0, 0, /* 1, 3 */
                                  0x80, 0, 0, 0, 0, 0, 0, 0, /* 65 */
                                  '0', '0', '0', '0', '0', '0'};
    expect_err(a, b65, sizeof b65, GL_ISO_UNDEF, 65, sizeof b65);
    /* A secondary bitmap that names no field. */
    static const uint8_t empty2[] = {'0', '8', '0', '0',
                                     0xA0, 0, 0, 0, 0, 0, 0, 0,
                                     0, 0, 0, 0, 0, 0, 0, 0,
                                     '0', '0', '0', '0', '0', '0'};
    expect_err(a, empty2, sizeof empty2, GL_ISO_BITMAP, 1, 12);
    /* The secondary bitmap announced but missing. */
    expect_err(a, b65, 14, GL_ISO_TRUNC, 1, 12);
}

GL_TEST(bcd_errors)
{
    const struct iso_profile *b = &iso_profile_bcd;
    uint8_t w[sizeof bcd0100];
    /* DE 3 at 19: 0x3A is not BCD. */
    memcpy(w, bcd0100, sizeof w);
    w[20] = 0x6A;
    expect_err(b, w, sizeof w, GL_ISO_BADCHAR, 3, 20);
    /* DE 22 at 30: the pad nibble must be 0. */
    memcpy(w, bcd0100, sizeof w);
    w[30] = 0x10;
    expect_err(b, w, sizeof w, GL_ISO_BADCHAR, 22, 30);
    /* DE 28 at 32: the sign nibble must be C or D. */
    memcpy(w, bcd0100, sizeof w);
    w[32] = 0x0E;
    expect_err(b, w, sizeof w, GL_ISO_BADCHAR, 28, 32);
    /* DE 2's LL prefix at 10 is not BCD. */
    memcpy(w, bcd0100, sizeof w);
    w[10] = 0x1A;
    expect_err(b, w, sizeof w, GL_ISO_BADLEN, 2, 10);
    /* MTI not BCD. */
    memcpy(w, bcd0100, sizeof w);
    w[0] = 0xF1;
    expect_err(b, w, sizeof w, GL_ISO_BADMTI, 0, 0);
}

GL_TEST(set_checks_values)
{
    static struct iso_msg m;
    struct iso_error err;

    iso_msg_init(&m);
    GL_CHECK_INT(GL_ISO_BADMTI, iso_msg_set_mti(&m, "02a0"));
    GL_CHECK_INT(GL_ISO_BADMTI, iso_msg_set_mti(&m, "020"));
    GL_CHECK_INT(GL_OK, iso_msg_set_mti(&m, "0200"));
    GL_CHECK_INT(GL_ISO_WRONGLEN, iso_msg_set_str(&m, 3, "00600", &err));
    GL_CHECK_INT(3, err.field);
    GL_CHECK_INT(GL_ISO_BADCHAR, iso_msg_set_str(&m, 4, "00000001000X", &err));
    GL_CHECK_INT(11, err.offset);
    GL_CHECK_INT(GL_ISO_TOOLONG,
                 iso_msg_set_str(&m, 2, "12345678901234567890", &err));
    GL_CHECK_INT(GL_ISO_EMPTY, iso_msg_set_str(&m, 2, "", &err));
    GL_CHECK_INT(GL_ISO_UNDEF, iso_msg_set_str(&m, 65, "1", &err));
    GL_CHECK_INT(GL_ISO_UNDEF, iso_msg_set_str(&m, 1, "1", &err));
    GL_CHECK_INT(GL_ISO_UNDEF, iso_msg_set_str(&m, 129, "1", &err));
    GL_CHECK_INT(GL_ISO_BADCHAR, iso_msg_set_str(&m, 28, "X00000100", &err));
    GL_CHECK_INT(GL_OK, iso_msg_set_str(&m, 28, "D00000100", &err));
    GL_CHECK_INT(GL_ISO_BADCHAR, iso_msg_set_str(&m, 35, "1234^5678", &err));
    GL_CHECK_INT(GL_OK, iso_msg_set_str(&m, 35, "1234=5678", &err));
    GL_CHECK_INT(GL_OK, iso_msg_set_u64(&m, 4, 15000));
    char s[16];
    iso_msg_get_str(&m, 4, s, sizeof s);
    GL_CHECK_STR("000000015000", s);
    GL_CHECK_INT(GL_ERANGE, iso_msg_set_u64(&m, 11, 1234567));
    GL_CHECK_INT(GL_EINVAL, iso_msg_set_u64(&m, 41, 1));
    /* Setting again replaces the value; a failed set leaves the old one. */
    GL_CHECK_INT(GL_OK, iso_msg_set_str(&m, 2, "9410012345678908", &err));
    GL_CHECK_INT(GL_OK, iso_msg_set_str(&m, 2, "941001", &err));
    iso_msg_get_str(&m, 2, s, sizeof s);
    GL_CHECK_STR("941001", s);
    GL_CHECK_INT(GL_ENOSPC, iso_msg_get_str(&m, 4, s, 5));
    iso_msg_unset(&m, 2);
    GL_CHECK(!iso_msg_has(&m, 2));
    GL_CHECK_INT(GL_ENOTFOUND, iso_msg_get_str(&m, 2, s, sizeof s));
}

GL_TEST(set_fills_the_buffer_then_refuses)
{
    static struct iso_msg m;
    char big[1000];
    int rc = GL_OK, f;

    memset(big, 'A', 999);
    big[999] = '\0';
    iso_msg_init(&m);
    for (f = 105; f <= 127 && rc == GL_OK; f++) {
        rc = iso_msg_set_str(&m, f, big, NULL);
    }
    GL_CHECK_INT(GL_ENOSPC, rc);
    GL_CHECK(m.used <= ISO_MSG_DATA);
    /* And packing into a small buffer says so, rather than overrunning. */
    uint8_t small[64];
    size_t n = 1;
    iso_msg_set_mti(&m, "0200");
    GL_CHECK_INT(GL_ENOSPC,
                 iso_pack(&iso_profile_ascii, &m, small, sizeof small, &n, NULL));
    GL_CHECK_INT(0, n);
}

struct frames {
    int count;
    size_t lens[8];
    int stop_at;
};

static int on_frame(void *ctx, const uint8_t *msg, size_t len)
{
    struct frames *f = ctx;
    (void)msg;
    if (f->count < 8) {
        f->lens[f->count] = len;
    }
    f->count++;
    return f->stop_at && f->count == f->stop_at ? 7 : 0;
}

GL_TEST(reassembler_partial_and_several)
{
    static struct iso_reasm r;
    static uint8_t stream[3 * 300];
    size_t n1 = 0, n2 = 0, n3 = 0;
    const struct vec *a = vec_named("0200-redeem.txt");
    const struct vec *b = vec_named("0500-reconcile.txt");
    GL_CHECK(a != NULL && b != NULL);
    if (a == NULL || b == NULL) {
        return;
    }
    iso_pack_frame(&iso_profile_ascii, &a->msg, stream, 300, &n1, NULL);
    iso_pack_frame(&iso_profile_ascii, &b->msg, stream + n1, 300, &n2, NULL);
    iso_pack_frame(&iso_profile_ascii, &a->msg, stream + n1 + n2, 300, &n3,
                   NULL);
    size_t total = n1 + n2 + n3;

    /* Byte by byte. */
    struct frames f = {0};
    iso_reasm_init(&r, 1024);
    for (size_t i = 0; i < total; i++) {
        GL_CHECK_INT(GL_OK, iso_reasm_feed(&r, stream + i, 1, on_frame, &f));
    }
    GL_CHECK_INT(3, f.count);
    GL_CHECK_INT(n1 - 2, f.lens[0]);
    GL_CHECK_INT(n2 - 2, f.lens[1]);
    GL_CHECK_INT(0, iso_reasm_pending(&r));
    /* All in one read. */
    memset(&f, 0, sizeof f);
    GL_CHECK_INT(GL_OK, iso_reasm_feed(&r, stream, total, on_frame, &f));
    GL_CHECK_INT(3, f.count);
    /* Split in the middle of the second header, then the rest. */
    memset(&f, 0, sizeof f);
    GL_CHECK_INT(GL_OK, iso_reasm_feed(&r, stream, n1 + 1, on_frame, &f));
    GL_CHECK_INT(1, f.count);
    GL_CHECK_INT(1, iso_reasm_pending(&r));
    GL_CHECK_INT(GL_OK, iso_reasm_feed(&r, stream + n1 + 1, total - n1 - 1,
                                       on_frame, &f));
    GL_CHECK_INT(3, f.count);
    GL_CHECK_INT(n2 - 2, f.lens[1]);
    /* The callback can stop the feed. */
    memset(&f, 0, sizeof f);
    f.stop_at = 2;
    GL_CHECK_INT(7, iso_reasm_feed(&r, stream, total, on_frame, &f));
    GL_CHECK_INT(2, f.count);
}

GL_TEST(reassembler_refuses_oversize_and_zero)
{
    static struct iso_reasm r;
    struct frames f = {0};
    uint8_t big[2] = {0x04, 0x01}; /* 1025 */
    uint8_t zero[2] = {0, 0};

    iso_reasm_init(&r, 1024);
    GL_CHECK_INT(GL_ISO_FRAMELEN, iso_reasm_feed(&r, big, 2, on_frame, &f));
    iso_reasm_init(&r, 1024);
    GL_CHECK_INT(GL_OK, iso_reasm_feed(&r, big, 1, on_frame, &f));
    GL_CHECK_INT(GL_ISO_FRAMELEN, iso_reasm_feed(&r, big + 1, 1, on_frame, &f));
    iso_reasm_init(&r, 1024);
    GL_CHECK_INT(GL_ISO_FRAMELEN, iso_reasm_feed(&r, zero, 2, on_frame, &f));
    GL_CHECK_INT(0, f.count);
    /* The maximum is capped at the buffer's size. */
    iso_reasm_init(&r, 1000000);
    GL_CHECK_INT(ISO_FRAME_MAX, r.max);
}

GL_TEST(tlv_find_append_check)
{
    uint8_t buf[64];
    size_t len = 0;
    const uint8_t *v;
    size_t vl;

    GL_CHECK_INT(GL_OK, iso_tlv_append(buf, sizeof buf, &len, "CA", "C001", 4));
    GL_CHECK_INT(GL_OK, iso_tlv_append(buf, sizeof buf, &len, "AT", "00042", 5));
    GL_CHECK_INT(19, len);
    GL_CHECK_MEM("CA004C001AT00500042", buf, 19);
    GL_CHECK_INT(GL_OK, iso_tlv_find(buf, len, "AT", &v, &vl));
    GL_CHECK_INT(5, vl);
    GL_CHECK_MEM("00042", v, 5);
    GL_CHECK_INT(GL_ENOTFOUND, iso_tlv_find(buf, len, "KS", &v, &vl));
    GL_CHECK_INT(GL_OK, iso_tlv_check(buf, len));
    GL_CHECK_INT(GL_ISO_BADTLV, iso_tlv_check(buf, len - 1));
    GL_CHECK_INT(GL_ISO_BADTLV, iso_tlv_check((const uint8_t *)"CA0x4C001", 9));
    GL_CHECK_INT(GL_ISO_BADTLV, iso_tlv_find((const uint8_t *)"C!004C001", 9,
                                             "KS", &v, &vl));
    GL_CHECK_INT(GL_ENOSPC, iso_tlv_append(buf, 20, &len, "KS", "123", 3));
    GL_CHECK_INT(GL_EINVAL, iso_tlv_append(buf, sizeof buf, &len, "K-", "1", 1));
}

GL_TEST(printer_masks_and_withholds)
{
    static char out[4096];
    const struct vec *v = vec_named("0200-membership-pin.txt");
    const struct vec *l = vec_named("0200-legacy-pin.txt");
    GL_CHECK(v != NULL && l != NULL);
    if (v == NULL || l == NULL) {
        return;
    }
    int n = iso_msg_print(&v->msg, 0, out, sizeof out);
    GL_CHECK(n > 0);
    GL_CHECK(strstr(out, "mti=0200\n2=627410******0012\n") != NULL);
    GL_CHECK(strstr(out, "PB032(withheld)") != NULL);
    GL_CHECK(strstr(out, "7DAC9D6818CE3761") == NULL);
    GL_CHECK(strstr(out, "6274100000000012") == NULL);
    n = iso_msg_print(&v->msg, 1, out, sizeof out);
    GL_CHECK(strstr(out, "2=6274100000000012\n") != NULL);
    GL_CHECK(strstr(out, "7DAC9D6818CE3761") == NULL);
    n = iso_msg_print(&l->msg, 1, out, sizeof out);
    GL_CHECK(strstr(out, "52=(withheld)\n") != NULL);
    GL_CHECK(strstr(out, "315729D4") == NULL);
    GL_CHECK(strstr(out, "64=0000000000000000\n") != NULL);
    /* Amounts and totals are not masked; free text is. */
    static struct iso_msg t;
    iso_msg_init(&t);
    iso_msg_set_mti(&t, "0510");
    iso_msg_set_str(&t, 54, "6001410C0000000300006002410C000000030000", NULL);
    iso_msg_set_str(&t, 88, "0000000000048000", NULL);
    GL_CHECK_INT(GL_OK, iso_msg_set_str(&t, 44, "card 9410012345678908", NULL));
    iso_msg_print(&t, 0, out, sizeof out);
    GL_CHECK(strstr(out, "54=6001410C0000000300006002410C000000030000\n") != NULL);
    GL_CHECK(strstr(out, "88=0000000000048000\n") != NULL);
    GL_CHECK(strstr(out, "44=card 941001******8908\n") != NULL);
    /* Too small a buffer: says so, and stays terminated. */
    GL_CHECK_INT(GL_ENOSPC, iso_msg_print(&v->msg, 0, out, 20));
    GL_CHECK(strlen(out) < 20);
}

/* Random corruption of every vector: whatever the bytes, unpack returns a
 * code, and a message it accepts packs back to the same bytes.  Run under
 * AddressSanitizer by make test. */
GL_TEST(random_corruption_is_refused_or_exact)
{
    static uint8_t buf[ISO_FRAME_MAX], again[ISO_FRAME_MAX];
    static struct iso_msg m;
    uint32_t seed = 12345;
    int accepted = 0, refused = 0, exact = 1;

    for (int iter = 0; iter < 40000; iter++) {
        const struct iso_profile *p =
            iter & 1 ? &iso_profile_bcd : &iso_profile_ascii;
        const struct vec *v = &vecs[(iter / 2) % nvecs];
        size_t n = 0, n2 = 0;
        iso_pack(p, &v->msg, buf, sizeof buf, &n, NULL);
        int flips = 1 + (int)(seed % 4);
        for (int k = 0; k < flips; k++) {
            seed = seed * 1103515245u + 12345u;
            buf[(seed >> 8) % n] ^= (uint8_t)(1u << ((seed >> 4) % 8));
        }
        seed = seed * 1103515245u + 12345u;
        size_t len = (seed >> 16) % 8 == 0 ? (seed >> 3) % (n + 1) : n;
        if (iso_unpack(p, &m, buf, len, NULL) == GL_OK) {
            accepted++;
            if (iso_pack(p, &m, again, sizeof again, &n2, NULL) != GL_OK ||
                n2 != len || memcmp(again, buf, len) != 0) {
                exact = 0;
            }
        } else {
            refused++;
        }
    }
    GL_CHECK(refused > 1000);
    GL_CHECK(accepted > 100);
    GL_CHECK(exact);
}

int main(void)
{
    gl_test_show_errors_ = getenv("GL_TEST_VERBOSE") != NULL;
    nvecs = vec_load_all("tests/vectors", vecs);
    if (nvecs < 0) {
        nvecs = 0;
    }
    GL_RUN(vectors_load);
    GL_RUN(round_trip_every_vector_ascii);
    GL_RUN(round_trip_every_vector_bcd);
    GL_RUN(hand_written_0200_decodes);
    GL_RUN(encoder_matches_hand_written_0200);
    GL_RUN(hand_written_bcd_0100_decodes_and_reencodes);
    GL_RUN(errors_name_field_offset_reason);
    GL_RUN(bitmap_errors);
    GL_RUN(bcd_errors);
    GL_RUN(set_checks_values);
    GL_RUN(set_fills_the_buffer_then_refuses);
    GL_RUN(reassembler_partial_and_several);
    GL_RUN(reassembler_refuses_oversize_and_zero);
    GL_RUN(tlv_find_append_check);
    GL_RUN(printer_masks_and_withholds);
    if (nvecs > 0) {
        GL_RUN(random_corruption_is_refused_or_exact);
    }
    return GL_TEST_END();
}
