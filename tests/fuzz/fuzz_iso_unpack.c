/*
 * fuzz_iso_unpack.c - libFuzzer harness for iso_unpack.
 *
 * The first byte picks the profile; the rest is one message.  Whatever the
 * bytes: no out-of-bounds access (ASan), no undefined behaviour (UBSan), and
 * a message that unpacks packs back to exactly the same bytes and prints.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gl_err.h"
#include "iso8583.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct iso_msg msg;
    static uint8_t again[ISO_FRAME_MAX + 16];
    static char text[64 * 1024];
    struct iso_error err;
    size_t n = 0;

    if (size < 1) {
        return 0;
    }
    const struct iso_profile *p =
        data[0] & 1 ? &iso_profile_bcd : &iso_profile_ascii;
    if (iso_unpack(p, &msg, data + 1, size - 1, &err) != GL_OK) {
        if (err.text[0] == '\0') {
            abort(); /* every refusal explains itself */
        }
        return 0;
    }
    if (iso_pack(p, &msg, again, sizeof again, &n, &err) != GL_OK ||
        n != size - 1 || memcmp(again, data + 1, n) != 0) {
        abort();
    }
    iso_msg_print(&msg, 0, text, sizeof text);
    return 0;
}
