/*
 * fuzz_mm7.c - libFuzzer harness for the MMSC's answer as the host reads
 * it (host-server/mms.h mms_parse_rsp): the HTTP status and the SOAP body
 * come from the network.
 *
 * Input: bytes 0-1 the HTTP status (big-endian, taken modulo 600), then the
 * body.  What must hold: the result is GL_OK or one of the MMS answer
 * codes; on GL_OK the HTTP status was 200 and the MessageID is a non-empty
 * string shorter than MMS_MSGID_MAX found in the body; otherwise the
 * MessageID is empty; the reason text is NUL-terminated within its buffer.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gl_err.h"
#include "mms.h"

static void check(int cond)
{
    if (!cond) {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char body[65536 + 1];
    char id[MMS_MSGID_MAX], why[256];
    if (size < 2 || size - 2 > sizeof body - 1) {
        return 0;
    }
    long status = ((long)data[0] << 8 | data[1]) % 600;
    size_t n = size - 2;
    memcpy(body, data + 2, n);
    body[n] = '\0'; /* the client's buffer is always terminated */
    memset(why, 'x', sizeof why);
    int rc = mms_parse_rsp(status, body, n, id, why, sizeof why);
    check(memchr(why, '\0', sizeof why) != NULL);
    check(memchr(id, '\0', sizeof id) != NULL);
    if (rc == GL_OK) {
        check(status == 200);
        check(id[0] != '\0');
        check(strstr(body, id) != NULL);
    } else {
        check(rc == GL_MMS_THROTTLED || rc == GL_MMS_TEMPFAIL ||
              rc == GL_MMS_REJECTED || rc == GL_MMS_PROTO);
    }
    return 0;
}
