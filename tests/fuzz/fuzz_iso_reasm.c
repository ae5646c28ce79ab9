/*
 * fuzz_iso_reasm.c - libFuzzer harness for the stream reassembler.
 *
 * The first byte sets the read size (1..256); the rest is a byte stream fed
 * in reads of that size.  Every frame handed out must lie inside the bytes
 * given (checked by ASan through the unpack that reads it) and have the
 * length its header announced; the total of frame bytes plus what is still
 * pending can never exceed the input.
 */
#include <stdint.h>
#include <stdlib.h>

#include "gl_err.h"
#include "iso8583.h"

struct seen {
    size_t bytes;
};

static int on_frame(void *ctx, const uint8_t *m, size_t len)
{
    static struct iso_msg msg;
    struct seen *s = ctx;

    if (len == 0 || len > ISO_FRAME_MAX) {
        abort();
    }
    s->bytes += len + ISO_HDR_LEN;
    (void)iso_unpack(&iso_profile_ascii, &msg, m, len, NULL);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct iso_reasm r;
    struct seen s = {0};
    size_t chunk, off = 1;
    int rc = GL_OK;

    if (size < 1) {
        return 0;
    }
    chunk = (size_t)data[0] + 1;
    iso_reasm_init(&r, 1024 + (size_t)data[0] * 16);
    while (off < size && rc == GL_OK) {
        size_t n = size - off < chunk ? size - off : chunk;
        rc = iso_reasm_feed(&r, data + off, n, on_frame, &s);
        off += n;
    }
    if (rc == GL_OK && s.bytes + iso_reasm_pending(&r) != size - 1) {
        abort();
    }
    if (rc != GL_OK && rc != GL_ISO_FRAMELEN) {
        abort();
    }
    return 0;
}
