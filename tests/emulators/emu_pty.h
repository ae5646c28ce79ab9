/*
 * emu_pty.h - pseudo-terminal helpers shared by every device emulator.
 *
 * An emulator plays the device on the MASTER side of a pseudo-terminal; the
 * code under test opens the SLAVE side as if it were the device's serial
 * port (through libnfc's pn532_uart driver or through hal/serial, i.e.
 * libserialport).
 *
 * Contract:
 *  - emu_pty_open() makes a new pty, puts both sides in raw mode at once (a
 *    new pty is cooked with echo on), keeps one descriptor of the slave open
 *    for the life of the pty (so the master never reads EIO/HUP while the
 *    client is not connected or reconnects), and, when link is not NULL,
 *    points a symlink at the slave (replacing whatever was at link).
 *  - The symlink is the stable name a test hands to the client: the pty
 *    number changes when an emulator "unplugs" and "plugs in" again, the
 *    symlink does not.
 *  - libserialport accepts a pty only through a path outside /dev given as
 *    "/dev/../../..<absolute path of the symlink>" (see hal/serial.h); that
 *    string is in pty->serial_path.  libnfc takes pty->link (or the slave
 *    name) directly.
 *  - emu_pty_unplug() closes the master and the kept slave: the client sees
 *    hang-up (read returns 0/EIO, poll POLLHUP) as when a USB adapter is
 *    pulled.  The symlink is removed.  emu_pty_replug() makes a new pty and
 *    points the same symlink at it.
 *  - Nothing here allocates; a struct emu_pty is caller-owned memory.
 *  - Every function returns GL_OK or a negative gl_err.h code.
 *  - Thread use: one thread per emu_pty for reads/writes; open/close/unplug
 *    from that same thread (or after it has stopped).
 */
#ifndef EMU_PTY_H
#define EMU_PTY_H

#include <stddef.h>

#define EMU_PTY_PATH_MAX 256

struct emu_pty {
    int master;                            /* the emulator's side, -1 closed */
    int slave_keep;                        /* kept-open slave, -1 closed */
    char slave_name[64];                   /* "/dev/pts/N" */
    char link[EMU_PTY_PATH_MAX];           /* absolute symlink path or "" */
    char serial_path[EMU_PTY_PATH_MAX + 16]; /* "/dev/../../.." + link */
};

/*
 * Opens a new raw pty.  link: where to put a symlink to the slave (made
 * absolute against the current directory; an existing file there is
 * replaced), or NULL for none.  On failure every descriptor is closed and
 * pty->master == -1.  Returns GL_OK, GL_EOS (openpty/termios/symlink
 * failed, errno kept), GL_ENOSPC (path too long).
 */
int emu_pty_open(struct emu_pty *pty, const char *link);

/* Closes both descriptors and removes the symlink.  Idempotent. */
void emu_pty_close(struct emu_pty *pty);

/* "Pulls the cable": same as emu_pty_close but keeps pty->link so that
 * emu_pty_replug() can plug a new pty in at the same name. */
void emu_pty_unplug(struct emu_pty *pty);

/* A new pty at the link remembered by the last open.  GL_EOS on failure. */
int emu_pty_replug(struct emu_pty *pty);

/*
 * Reads what is available from the master, waiting at most timeout_ms
 * (-1: forever) for the first byte.  *got = bytes read (0 on timeout).
 * Returns GL_OK (data), GL_ETIMEDOUT (none in time), GL_ECLOSED (pty
 * closed), GL_EOS.  A client that closes its slave descriptor is NOT
 * a hang-up here (the kept slave holds the line up).
 */
int emu_pty_read(struct emu_pty *pty, void *buf, size_t cap, int timeout_ms,
                 size_t *got);

/*
 * Writes all len bytes to the master, waiting up to timeout_ms in total
 * for room.  Returns GL_OK, GL_ETIMEDOUT (the client does not read and the
 * pty buffer is full), GL_ECLOSED, GL_EOS.
 */
int emu_pty_write(struct emu_pty *pty, const void *buf, size_t len,
                  int timeout_ms);

/*
 * Discards whatever the client wrote that the emulator has not read yet.
 */
void emu_pty_discard_input(struct emu_pty *pty);

/*
 * The libserialport path for a symlink: "/dev/../../.." followed by the
 * absolute form of link.  out has cap bytes (caller's).  GL_ENOSPC if it
 * does not fit.
 */
int emu_pty_serial_path(const char *link, char *out, size_t cap);

/*
 * For the emulator programs' loops (gl-emu): blocks SIGTERM and SIGINT in
 * the calling thread, and so in the threads it starts afterwards (call it
 * first), and returns a signalfd (close-on-exec, non-blocking) that becomes
 * readable when one arrives, so that the loop ends through its clean-up
 * (link and socket removed).  -1 on failure (errno set).
 */
int emu_pty_term_fd(void);

#endif /* EMU_PTY_H */
