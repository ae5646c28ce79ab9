/*
 * fuzz_smpp_receipt.c - libFuzzer harness for what an SMSC sends to the
 * host's SMPP client (host-server/smpp_client.h) while it is bound: the
 * whole receive path of smpp_client_poll, through the client's own PDU
 * framing, libsmpp34's decode of deliver_sm and the client's reading of a
 * delivery receipt (the receipted_message_id and message_state TLVs, the
 * "id:... stat:... err:..." text).
 *
 * The client is given one end of a socketpair as its connected, bound
 * session (its struct is the caller's: fd and bound are set directly, the
 * only way in without an SMSC), the input is written into the other end,
 * which is then shut, and smpp_client_poll(c, 0) is called until the client
 * sees the close.  Its answers (deliver_sm_resp, generic_nack,
 * enquire_link_resp) are read and dropped.
 *
 * Input: byte 0 the mode; mode 0 (even): the rest is a deliver_sm body,
 * behind a header the harness writes (length, command_id, status 0,
 * sequence 1); mode 1 (odd): the rest is the raw byte stream of PDUs.
 *
 * What must hold: every receipt handed to the callback has a non-empty
 * message id shorter than SMPP_MSGID_MAX, a stat and an err NUL-terminated
 * within the client's 16-byte fields; the client ends closed; nothing
 * crashes, leaks or reads out of bounds (ASan, UBSan).
 *
 * One leak is libsmpp34's own and is suppressed below: its TLV decoder
 * allocates a tlv_t and returns -1 before linking it into the PDU when the
 * TLV does not decode (smpp34_unpack.c, macro TLV), so the caller cannot
 * free it.  The client refuses a TLV longer than the PDU before libsmpp34
 * sees it; a TLV whose length does not suit its tag still gets there.
 * Everything else LeakSanitizer finds still fails.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "gl_err.h"
#include "gl_log.h"
#include "smpp_client.h"

#define DELIVER_SM_ID 0x00000005u
#define INPUT_MAX 8192

static void check(int cond)
{
    if (!cond) {
        abort();
    }
}

static unsigned receipts;

static void on_receipt(void *ctx, const struct smpp_receipt *r)
{
    (void)ctx;
    check(r->msg_id != NULL && r->stat != NULL && r->err != NULL);
    size_t n = strlen(r->msg_id);
    check(n > 0 && n < SMPP_MSGID_MAX);
    check(strlen(r->stat) < 16 && strlen(r->err) < 16);
    receipts++;
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static void drain(int fd)
{
    uint8_t junk[4096];
    while (recv(fd, junk, sizeof junk, MSG_DONTWAIT) > 0) {
    }
}

/* LeakSanitizer reads this at exit (see the header comment). */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
    return "leak:smpp34_unpack\n";
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    gl_log_set_level(GL_LOG_ERROR);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t wire[16 + INPUT_MAX];
    struct smpp_client c;
    struct smpp_client_config cfg = {.host = "127.0.0.1",
                                     .port = 2775,
                                     .system_id = "giftlink",
                                     .password = "secret",
                                     .source_addr = "1588",
                                     .on_receipt = on_receipt};
    int sv[2];
    size_t n;

    if (size < 1 || size - 1 > INPUT_MAX) {
        return 0;
    }
    if ((data[0] & 1) == 0) {
        n = 16 + (size - 1);
        put32(wire, (uint32_t)n);
        put32(wire + 4, DELIVER_SM_ID);
        put32(wire + 8, 0);
        put32(wire + 12, 1);
        memcpy(wire + 16, data + 1, size - 1);
    } else {
        n = size - 1;
        memcpy(wire, data + 1, n);
    }
    check(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    /* a socketpair's buffer holds INPUT_MAX bytes and every answer */
    check(send(sv[1], wire, n, MSG_NOSIGNAL) == (ssize_t)n);
    shutdown(sv[1], SHUT_WR);

    smpp_client_init(&c, &cfg);
    c.fd = sv[0];
    c.bound = 1;
    c.last_rx_ms = smpp_now_ms();
    receipts = 0;
    int rc = GL_OK;
    /* each poll reads at most one buffer; the stream is at most
     * INPUT_MAX + 16 bytes, so a bounded number of calls reaches the end */
    for (int i = 0; i < 64 && rc == GL_OK; i++) {
        rc = smpp_client_poll(&c, 0);
        drain(sv[1]);
    }
    check(rc != GL_OK);
    check(c.fd == -1);
    check(receipts <= c.stats.receipts);
    close(sv[1]);
    return 0;
}
