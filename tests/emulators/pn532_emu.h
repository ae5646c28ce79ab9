/*
 * pn532_emu.h - a PN532 NFC reader on a pseudo-terminal, for tests and by
 * hand, speaking the chip's real serial frame protocol so that the REAL
 * libnfc (connection string "pn532_uart:<link>:115200") drives it.
 *
 * What it speaks: the wake-up preamble (resync on 00 FF), normal and
 * extended information frames with length and data checksums, ACK after
 * every good frame, the application error frame; the commands libnfc 1.8
 * sends to open, initialise, select an ISO 14443A target, exchange APDUs
 * (InDataExchange), check presence (InCommunicateThru), deselect, release
 * and power down.  Frames with bad checksums are dropped, as a chip does.
 *
 * The field holds at most one target, scripted by line commands (the same
 * text through emu_pn532_command() or the control socket of the program):
 *   tap card <uid-hex> <number> [text]   membership card: Type 4 tag whose
 *                                        NDEF file holds <number> in an
 *                                        external record giftlink.org:member
 *                                        (or a Text record with "text")
 *   tap phone <uid-hex> imk=<32 hex> pin=<digits> [tries=<0..15>]
 *             [atc=<0..99999>]
 *             voucher=<number>,<product>,<balance-minor>[,nopin] ...
 *                                        a phone wallet (docs/phone-wallet.md,
 *                                        the model of wallet_emu.h)
 *   phone enter <digits>                 what the customer types on the
 *                                        phone at the next PIN request
 *   remove                               the target leaves the field
 *   fail <n> [error|nack|badsum|noise|silent|gone]
 *                                        the n-th command frame from now
 *                                        (1 = the next) is answered with an
 *                                        error frame (default), a NACK, a
 *                                        bad checksum, line noise, nothing,
 *                                        or the card leaves before answering
 *   silent | talk                        stop / resume answering
 *   unplug | plug                        close the line (the client sees a
 *                                        hang-up) / a new pty at the same link
 *   reset-count                          restart the operation counter
 *   stats                                -> "ok ops=<n> card=<0|1> atc=<a>"
 * Each command answers "ok ..." or "err <reason>".
 *
 * Thread model: emu_pn532_start() runs the chip in its own thread;
 * emu_pn532_command() may be called from any thread and returns after the
 * chip thread has applied it (a handshake, so tests need no sleeps).
 */
#ifndef PN532_EMU_H
#define PN532_EMU_H

#include <stddef.h>

struct emu_pn532;

/* A new emulator, not started.  NULL when out of memory. */
struct emu_pn532 *emu_pn532_new(void);

/*
 * Makes a pty with a symlink at link and starts the chip thread.
 * Returns GL_OK or a gl_err.h code.
 */
int emu_pn532_start(struct emu_pn532 *e, const char *link);

/* The libnfc connection string ("pn532_uart:<abs link>:115200"). */
const char *emu_pn532_connstring(const struct emu_pn532 *e);

/*
 * Applies one control line (see above).  reply (cap bytes, caller's) gets
 * "ok ..." or "err ...".  Returns GL_OK when the command was understood and
 * applied, GL_EINVAL otherwise.
 */
int emu_pn532_command(struct emu_pn532 *e, const char *line, char *reply,
                      size_t cap);

/* Stops the thread, closes the pty, removes the link.  Idempotent. */
void emu_pn532_stop(struct emu_pn532 *e);

/* Stops if needed and frees.  NULL is fine. */
void emu_pn532_free(struct emu_pn532 *e);

/*
 * The emulator as a program (called by gl-emu): 
 *   pn532 --link PATH [--control SOCKET]
 * Reads control lines from stdin, and from a Unix stream socket at SOCKET
 * when given; answers each line on the same channel.  Ends at end of input
 * on stdin (without --control), on "quit", SIGTERM or SIGINT, removing the
 * link and the socket.  Returns an exit status.
 */
int emu_pn532_main(int argc, char **argv);

#endif /* PN532_EMU_H */
