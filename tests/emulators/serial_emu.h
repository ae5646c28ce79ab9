/*
 * serial_emu.h - the serial device emulators (barcode scanner, magnetic
 * stripe reader, IrDA phone, ESC/POS printer) and the runner they share.
 *
 * Each emulator plays its device on the master side of a pseudo-terminal
 * (tests/emulators/emu_pty.h) and speaks the device's real wire protocol,
 * so the drivers run through the real libserialport.  It is scripted by
 * control lines, the same text whether it comes from semu_command() in a
 * test or from stdin / the control socket of `gl-emu <device>`.
 *
 * Commands every emulator understands:
 *   silent | talk        stop / resume sending anything
 *   unplug | plug        hang the line up / a new pty at the same link
 *   noise <hex>          writes these bytes on the line as they are
 *   fail <n> [kind]      the n-th device operation from now (1 = the next)
 *                        fails in the way kind says (per device, below)
 *   reset-count          restarts the operation counter
 *   stats                -> "ok ops=<n> ..." (device adds fields)
 * Device commands:
 *   scanner:   scan <code>            one line: [AIM] code, line end
 *              raw <text>             text with no line end (a partial line)
 *              eol cr|lf|crlf | aim off|<3 chars>
 *              op = a scan; kinds garbage (a 0xFF inside), cut (no line
 *              end), drop (nothing sent)
 *   magstripe: swipe <line>           the line as read, line end added; with
 *                                     lrc on an LRC follows each track
 *              card <pan> <NAME> <yymm> <svc>   both tracks of a card
 *              lrc on|off | empty    (an empty swipe line)
 *              op = a swipe; kinds lrc (wrong LRC), garbage, nostart, noend,
 *              drop
 *   irda:      phone imk=<32 hex> pin=<digits> voucher=<16 digits>,<product>,
 *                    <balance>[,nopin] ... [tries=<n>] [atc=<n>] [addr=<hex>]
 *              enter <digits>         what the customer types on the phone
 *              think <n>              the phone answers RR to n polls before
 *                                     the PIN is in (the customer is typing)
 *              refuse on|off          answer SNRM with DM
 *              op = a frame received; kinds drop (no answer), fcs (answer
 *              with a bad FCS), trunc (answer cut short), dm (answer DM),
 *              noise (garbage before the answer; the answer is good)
 *   printer:   paper out|near|in | cover open|close | offline | online
 *              clear                  forget the captured bytes
 *              save <path>            write the captured bytes decoded
 *                                     (escpos_decode.h) to path, then
 *                                     forget them
 *              op = a status query (DLE EOT n); kinds silent (no reply),
 *              garbage (a reply without the fixed bits), paper (the roll
 *              runs out just before this reply: `paper in` reloads it)
 * Each command answers "ok ..." or "err <reason>".
 *
 * Thread model: semu_start() runs the device in its own thread;
 * semu_command() may be called from any thread and returns after the
 * device thread has applied it (a handshake: tests need no sleeps).
 * Allocation happens in *_new() only.
 */
#ifndef SERIAL_EMU_H
#define SERIAL_EMU_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "emu_pty.h"

struct semu;

/* What a device adds to the runner.  Called on the device thread with
 * the runner's mutex held. */
struct semu_dev_ops {
    const char *name;
    /* bytes the client wrote */
    void (*on_rx)(struct semu *e, const uint8_t *p, size_t n);
    /* a device command: GL_OK / GL_EINVAL with reply, GL_ENOTFOUND when the
     * verb is not the device's */
    int (*command)(struct semu *e, const char *verb, char *args, char *reply,
                   size_t cap);
    /* appends device fields to the stats reply */
    void (*stats)(struct semu *e, char *out, size_t cap);
};

#define SEMU_FAIL_KIND_MAX 16

struct semu {
    const struct semu_dev_ops *ops;
    void *dev; /* the device's state */
    struct emu_pty pty;
    pthread_t th;
    int running, stop;
    int wake[2];
    pthread_mutex_t mu;
    pthread_cond_t cv;
    const char *cmd_line;
    char *cmd_reply;
    size_t cmd_cap;
    int cmd_rc, cmd_pending;
    /* faults */
    int silent;
    unsigned ops_count, fail_at;
    char fail_kind[SEMU_FAIL_KIND_MAX];
};

/* New emulators, not started; NULL when out of memory. */
struct semu *semu_scanner_new(void);
struct semu *semu_magstripe_new(void);
struct semu *semu_irda_new(void);
struct semu *semu_printer_new(void);
/* By device name ("scanner", "magstripe", "irda", "printer"); NULL if unknown. */
struct semu *semu_new_by_name(const char *name);

/* Makes the pty (symlink at link) and starts the device thread. */
int semu_start(struct semu *e, const char *link);
/* The path to give hal/serial ("/dev/../../..<abs link>"). */
const char *semu_serial_path(const struct semu *e);
/* One control line; reply gets "ok ..." or "err ...".  GL_OK / GL_EINVAL. */
int semu_command(struct semu *e, const char *line, char *reply, size_t cap);
/* printf-style semu_command with the reply discarded. */
int semu_commandf(struct semu *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void semu_stop(struct semu *e);
void semu_free(struct semu *e);

/* Printer only: copies the captured bytes (print data; status queries are
 * not part of it) into buf[cap], sets *len, and forgets them.  GL_OK or
 * GL_ENOSPC (nothing copied). */
int semu_printer_take(struct semu *e, uint8_t *buf, size_t cap, size_t *len);

/* The program: `gl-emu <device> [--link PATH] [--control SOCKET]`.  argv[0]
 * is the device name.  Ends on "quit", SIGTERM or SIGINT, removing the
 * link and the socket. */
int semu_main(int argc, char **argv);

/* ---- for the devices (device thread, mutex held) ------------------------- */

/* Allocates a runner with dev_size zeroed bytes of device state. */
struct semu *semu_alloc_(const struct semu_dev_ops *ops, size_t dev_size);
/* Writes to the line unless silent. */
void semu_send(struct semu *e, const void *p, size_t n);
/* Counts one device operation; returns 1 when it is the one to fail (the
 * kind is e->fail_kind, "" for the device's default). */
int semu_op_fails(struct semu *e);

#endif /* SERIAL_EMU_H */
