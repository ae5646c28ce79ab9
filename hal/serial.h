/*
 * serial.h - the serial-port seam of the terminal (hal_serial_*).
 *
 * A port is a handle (struct hal_serial: ops, a const config, mutable
 * state) behind a static const ops table.  The real backend is
 * libserialport (hal_serial_libserialport); another backend (a test
 * double, another OS) provides its own table with the same contract.
 * Every libserialport error is translated into a gl_err.h code where the
 * library is called; its own text is kept in s->errmsg for logs.
 *
 * Contract of the handle:
 *  - Memory is the caller's (a struct, usually static or inside the
 *    driver's context); nothing is allocated per read or write.  Opening
 *    allocates libserialport's port object once (start-up, not
 *    per-transaction).
 *  - hal_serial_init() once, then open/close any number of times (a driver
 *    reopens after GL_ECLOSED, e.g. a USB adapter pulled and plugged back).
 *  - Not thread-safe: one thread uses a handle at a time.
 *
 * Pseudo-terminals (tests and emulators):
 *  - libserialport looks a port up in /sys/class/tty/<name>, which does
 *    not exist for /dev/pts/N: "Device not found".  Pass a symlink to the
 *    pty OUTSIDE /dev, spelled "/dev/../../..<absolute path of the
 *    symlink>": the library's "/dev/" prefix check passes, its sysfs
 *    look-up of the basename fails harmlessly, and open() follows the
 *    link.  tests/emulators/emu_pty.h makes such a path (serial_path).
 *  - sp_open() asks for the modem lines (TIOCMGET), which Linux ptys
 *    refuse.  Test and emulator binaries link hal/pty_ioctl.c, an ioctl()
 *    interposer that fakes a modem register for pty slaves only; the
 *    firmware library never contains it.
 *  - Baud and stop bits have no effect on a pty but are kept and read back
 *    (hal_serial_get_line()); a pty refuses anything but 8 data bits
 *    without parity (hal_serial_set_line() returns GL_EIO there).
 */
#ifndef HAL_SERIAL_H
#define HAL_SERIAL_H

#include <stddef.h>

#define HAL_SERIAL_PATH_MAX 288
#define HAL_SERIAL_ERRMSG_MAX 128

enum hal_serial_parity {
    HAL_SERIAL_PARITY_NONE = 0,
    HAL_SERIAL_PARITY_ODD = 1,
    HAL_SERIAL_PARITY_EVEN = 2,
};

enum hal_serial_flow {
    HAL_SERIAL_FLOW_NONE = 0,
    HAL_SERIAL_FLOW_XONXOFF = 1,
    HAL_SERIAL_FLOW_RTSCTS = 2,
};

/* Line settings.  Zero fields take the defaults 9600 8N1, no flow control. */
struct hal_serial_line {
    int baud;      /* e.g. 9600, 115200 */
    int data_bits; /* 5..8 */
    enum hal_serial_parity parity;
    int stop_bits; /* 1 or 2 */
    enum hal_serial_flow flow;
};

struct hal_serial_config {
    char path[HAL_SERIAL_PATH_MAX]; /* "/dev/ttyUSB0", or the pty trick */
    struct hal_serial_line line;    /* applied at every open */
};

struct hal_serial;

/* The backend.  Each entry has the contract of the hal_serial_* function
 * of the same name below; the public functions check arguments and state,
 * then call these. */
struct hal_serial_ops {
    const char *name;
    int (*open)(struct hal_serial *s);
    void (*close)(struct hal_serial *s);
    int (*read)(struct hal_serial *s, void *buf, size_t cap, int timeout_ms,
                size_t *got);
    int (*write)(struct hal_serial *s, const void *buf, size_t len,
                 int timeout_ms);
    int (*drain)(struct hal_serial *s);
    int (*flush_input)(struct hal_serial *s);
    int (*set_line)(struct hal_serial *s, const struct hal_serial_line *line);
    int (*get_line)(struct hal_serial *s, struct hal_serial_line *line);
    int (*fd)(struct hal_serial *s);
};

struct hal_serial {
    const struct hal_serial_ops *ops;
    struct hal_serial_config cfg; /* const after hal_serial_init */
    /* mutable state */
    void *port;  /* backend object (struct sp_port *), NULL when closed */
    int is_open;
    char errmsg[HAL_SERIAL_ERRMSG_MAX]; /* last library text, for logs */
};

/* The libserialport backend. */
extern const struct hal_serial_ops hal_serial_libserialport;

/*
 * Fills *pc for a port at path with line (copied; NULL: all defaults, see
 * struct hal_serial_line), everything else zero: the one way drivers build
 * a configuration.  Returns GL_OK, or GL_EINVAL when path is NULL or does
 * not fit pc->path (HAL_SERIAL_PATH_MAX - 1 characters at most); *pc is
 * then all zero.  Values are not checked here: hal_serial_init() refuses
 * an empty path or a bad line.
 */
int hal_serial_config_init(struct hal_serial_config *pc, const char *path,
                           const struct hal_serial_line *line);

/*
 * Prepares s for cfg (copied).  ops NULL means hal_serial_libserialport.
 * Does not open.  Returns GL_OK or GL_EINVAL (empty path, bad line).
 */
int hal_serial_init(struct hal_serial *s, const struct hal_serial_ops *ops,
                    const struct hal_serial_config *cfg);

/*
 * Opens the port read/write and applies cfg.line.  Returns GL_OK,
 * GL_DEV_NODEV (no such port), GL_EOS (permission, ioctl refused),
 * GL_EINVAL (already open).
 */
int hal_serial_open(struct hal_serial *s);

/* Closes the port if open.  Idempotent; never fails. */
void hal_serial_close(struct hal_serial *s);

/*
 * Reads what is available, waiting at most timeout_ms (0: do not wait,
 * -1: forever) for the first byte; returns as soon as at least one byte
 * is there.  *got = bytes read, 0 unless GL_OK.  Returns GL_OK,
 * GL_ETIMEDOUT (nothing came), GL_ECLOSED (the other end hung up: the
 * caller closes and may reopen later), GL_EIO, GL_EINVAL (not open).
 */
int hal_serial_read(struct hal_serial *s, void *buf, size_t cap,
                    int timeout_ms, size_t *got);

/*
 * Writes all len bytes, waiting at most timeout_ms in total (-1: forever).
 * Returns GL_OK, GL_ETIMEDOUT (not all bytes could be queued), GL_ECLOSED,
 * GL_EIO, GL_EINVAL.
 */
int hal_serial_write(struct hal_serial *s, const void *buf, size_t len,
                     int timeout_ms);

/* Waits until everything written has left the port.  GL_OK, GL_EIO. */
int hal_serial_drain(struct hal_serial *s);

/* Discards received bytes not read yet.  GL_OK, GL_EIO. */
int hal_serial_flush_input(struct hal_serial *s);

/* Changes the line settings of the open port (and cfg for later opens).
 * GL_OK, GL_EINVAL (bad values or not open), GL_EIO. */
int hal_serial_set_line(struct hal_serial *s,
                        const struct hal_serial_line *line);

/* Reads the line settings back from the port.  GL_OK, GL_EINVAL, GL_EIO. */
int hal_serial_get_line(struct hal_serial *s, struct hal_serial_line *line);

/* The file descriptor to poll for input (event loop), or GL_EINVAL. */
int hal_serial_fd(struct hal_serial *s);

#endif /* HAL_SERIAL_H */
