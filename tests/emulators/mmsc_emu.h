/*
 * mmsc_emu.h - an MMSC emulator speaking MM7 over HTTP (libmicrohttpd), for
 * tests.
 *
 * It listens on 127.0.0.1 and accepts POSTs of MM7 SubmitReq (SOAP 1.1 in a
 * multipart/related body, the content one nested multipart part).  It checks
 * each message (SOAPAction header, the SOAP envelope's SubmitReq with
 * MM7Version, Recipients/To/Number and a Content href that names the content
 * part, a text/plain part), records it (recipient, subject, text, every
 * content part decoded from base64) and answers a SubmitRsp with StatusCode
 * 1000 and a MessageID.  A message that fails the checks gets a SOAP Fault
 * with StatusCode 4004 (validation error), HTTP 500.
 *
 * It runs in a process of its own, like the SMSC emulator: mmsc_emu_start
 * forks it and keeps a control socket; gl-mmsc runs it with stdin/stdout as
 * the control channel (the runner both share: ctl_emu.h).
 *
 * Control lines (one a line; the reply is zero or more lines, then "ok" or
 * "error <reason>"):
 *   refuse N [CODE]   answer the next N submits with a Fault of MM7 status
 *                     CODE (default 4004), HTTP 500, unrecorded
 *   throttle N        answer the next N submits with HTTP 503 (Fault, MM7
 *                     status 4006, Retry-After), unrecorded
 *   tempfail N        answer the next N with a Fault of status 3000
 *   drop N            close the next N connections after reading the
 *                     request, unanswered and unrecorded
 *   delay MS          answer every submit MS ms late (recorded first)
 *   normal            clear refuse, throttle, tempfail, drop and delay
 *   list              one line a message: "to<TAB>subject<TAB>text<TAB>parts"
 *                     where parts is "type:location:bytes" joined by ","
 *                     (newline, tab and backslash escaped as \n \t \\)
 *   save DIR          each message's parts into DIR as N_LOCATION (N from
 *                     1), and its text as N_text.txt
 *   count             the number of messages
 *   stats             "posts=N answered=N refused=N throttled=N dropped=N
 *                     invalid=N"
 *   clear             forget the messages
 *   quit              stop
 */
#ifndef MMSC_EMU_H
#define MMSC_EMU_H

#include <stddef.h>
#include <stdint.h>

#include "ctl_emu.h"

/* A running emulator process (the caller's struct). */
struct mmsc_emu {
    struct ctl_emu run; /* the process and its control socket */
    uint16_t port;      /* where it listens on 127.0.0.1 */
    char url[64];       /* http://127.0.0.1:PORT/mm7 */
};

/* Binds 127.0.0.1 on any free port and forks the emulator.  GL_OK (port
 * and url set) or GL_EOS. */
int mmsc_emu_start(struct mmsc_emu *e);

/* One control line and its reply, as smsc_emu_cmd: content lines into
 * reply (cap bytes, may be NULL).  GL_OK, GL_EINVAL ("error" reply),
 * GL_ENOSPC (reply truncated), GL_ECLOSED (the emulator is gone). */
int mmsc_emu_cmd(struct mmsc_emu *e, const char *cmd, char *reply,
                 size_t cap);

/* The number of messages recorded, or <0 on error. */
int mmsc_emu_count(struct mmsc_emu *e);

/* Sends quit and reaps the process (SIGKILL after 2 s).  Safe twice. */
void mmsc_emu_stop(struct mmsc_emu *e);

/* The emulator on a listening socket until "quit" or the end of ctl_in;
 * replies go to ctl_out.  Returns 0, or 1 if the HTTP daemon would not
 * start. */
int mmsc_emu_serve(int listen_fd, int ctl_in, int ctl_out);

#endif /* MMSC_EMU_H */
