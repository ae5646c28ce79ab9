/*
 * smsc_emu.h - an SMSC emulator speaking SMPP 3.4 (libsmpp34), for tests.
 *
 * It listens on 127.0.0.1, accepts bind_transceiver/transmitter/receiver
 * with the configured system_id and password, answers submit_sm with a
 * message id, records every message (destination and text decoded to UTF-8;
 * concatenated parts are reassembled first), sends a delivery receipt for
 * each accepted submit, answers enquire_link and unbind, and can send
 * enquire_link itself.
 *
 * It runs in a process of its own (libsmpp34 keeps its error text in
 * process globals, so it must not share a process with a client on another
 * thread): smsc_emu_start forks it and keeps a control socket, gl-smsc runs
 * it with stdin/stdout as the control channel (the runner it shares with
 * the MMSC emulator: ctl_emu.h).
 *
 * Control lines (one command a line; the reply is zero or more lines, then
 * "ok" or "error <reason>"):
 *   refuse            refuse every bind (ESME_RBINDFAIL) until "accept"
 *   accept            accept binds again
 *   throttle N        answer the next N submits with ESME_RTHROTTLED
 *   reject N          answer the next N submits with ESME_RINVDSTADR
 *   drop              on the next submit close the connection, unanswered
 *                     and unrecorded (lost before the SMSC accepted it)
 *   silent            record submits but answer nothing until "normal"
 *   normal            clear refuse, throttle, reject, drop and silent
 *   receipts on|off   send delivery receipts (default on)
 *   stat WORD         the stat: of the receipts (default DELIVRD)
 *   enquire MS        send enquire_link every MS ms to bound sessions (0 off)
 *   idle MS           close a session that sent nothing for MS ms (0 off)
 *   close             close every session now
 *   list              the messages received, one "to<TAB>text" line each
 *                     (newline, tab and backslash in text escaped as \n \t
 *                     \\)
 *   save PATH         the same lines written to the file PATH
 *   count             the number of messages
 *   stats             "binds=N refused=N submits=N enquire_rx=N
 *                     enquire_resp_rx=N sessions=N open=N"
 *   clear             forget the messages
 *   quit              stop
 */
#ifndef SMSC_EMU_H
#define SMSC_EMU_H

#include <stddef.h>
#include <stdint.h>

#include "ctl_emu.h"

struct smsc_emu_config {
    const char *system_id; /* NULL: any */
    const char *password;  /* NULL: any */
};

/* A running emulator process (the caller's struct). */
struct smsc_emu {
    struct ctl_emu run; /* the process and its control socket */
    uint16_t port;      /* where it listens on 127.0.0.1 */
};

/* Binds 127.0.0.1:port (0: any free port) and forks the emulator.  Returns
 * GL_OK (e->port set) or GL_EOS. */
int smsc_emu_start(struct smsc_emu *e, const struct smsc_emu_config *cfg);

/*
 * Sends one control line and reads its reply; the content lines (without
 * the closing "ok") go to reply (cap bytes, may be NULL).  Returns GL_OK,
 * GL_EINVAL for an "error" reply (its text in reply), GL_ENOSPC if reply
 * was too small (truncated), GL_ECLOSED if the emulator is gone.
 */
int smsc_emu_cmd(struct smsc_emu *e, const char *cmd, char *reply, size_t cap);

/* The number of messages recorded, or <0 on error. */
int smsc_emu_count(struct smsc_emu *e);

/* Sends quit and reaps the process (SIGKILL after 2 s).  Safe twice. */
void smsc_emu_stop(struct smsc_emu *e);

/* The emulator's loop on a listening socket, until "quit" or the end of
 * ctl_in; replies go to ctl_out.  Returns 0. */
int smsc_emu_serve(int listen_fd, int ctl_in, int ctl_out,
                   const struct smsc_emu_config *cfg);

#endif /* SMSC_EMU_H */
