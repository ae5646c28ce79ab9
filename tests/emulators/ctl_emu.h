/*
 * ctl_emu.h - the runner shared by the network service emulators (the SMSC,
 * smsc_emu.h, and the MMSC, mmsc_emu.h): a loopback listening socket, the
 * emulator forked into a process of its own with a control socket, the
 * control lines it reads, and the test side that sends one line and reads
 * its reply.
 *
 * The control protocol: one command a line; the reply is zero or more
 * lines, then "ok" or a line starting with "error".  Every emulator lists
 * its messages with text escaped the same way (ctl_emu_put_escaped).
 *
 * The emulator's own process reads its control lines from stdin in the
 * programs (gl-smsc, gl-mmsc) or from the control socket when a test forked
 * it with ctl_emu_start; the emulator's serve function does not know which.
 */
#ifndef CTL_EMU_H
#define CTL_EMU_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

/* A forked emulator process (the caller's struct). */
struct ctl_emu {
    pid_t pid; /* -1: none */
    int ctl;   /* control socket, -1: closed */
};

/* The emulator's loop in the forked process: serves listen_fd, reads its
 * control lines from ctl and answers on ctl; returns the process's exit
 * status. */
typedef int (*ctl_emu_serve_fn)(int listen_fd, int ctl, void *arg);

/* Opens a listening TCP socket on 127.0.0.1:port (0: any free port);
 * *bound gets the port.  Returns the fd or -1 (errno set). */
int ctl_emu_listen(uint16_t port, uint16_t *bound);

/*
 * Listens on a free loopback port (*port gets it) and forks a process that
 * runs serve(listen_fd, control socket, arg) with SIGPIPE ignored, then
 * exits.  name ("smsc-emu") prefixes the error message.  Returns GL_OK
 * (h set) or GL_EOS (h->pid and h->ctl -1).
 */
int ctl_emu_start(struct ctl_emu *h, const char *name, ctl_emu_serve_fn serve,
                  void *arg, uint16_t *port);

/*
 * Sends one control line and reads its reply; the content lines (without
 * the closing "ok") go to reply (cap bytes, may be NULL).  Returns GL_OK,
 * GL_EINVAL for an "error" reply (its text in reply), GL_ENOSPC if reply
 * was too small (truncated), GL_ECLOSED if the emulator is gone.
 */
int ctl_emu_cmd(struct ctl_emu *h, const char *cmd, char *reply, size_t cap);

/* The number the command "count" answers, or <0 (a GL_ code) on error. */
int ctl_emu_count(struct ctl_emu *h);

/* Sends quit, closes the control socket and reaps the process (SIGKILL
 * after 2 s).  Safe twice. */
void ctl_emu_stop(struct ctl_emu *h);

/* ---- in the emulator's process ------------------------------------------ */

/* Control lines as they arrive: an unfinished line waits for its end, a
 * line longer than the buffer is dropped.  Zero it before the first read. */
struct ctl_emu_lines {
    char buf[1024];
    size_t len;
};

/*
 * One read() from fd, then on_line(arg, line) for every whole line in
 * order (without its '\n'; the line may be changed, and is borrowed for
 * the call only) until on_line returns nonzero.  Returns 0 when more may
 * come, 1 when on_line asked to stop, -1 at the end of input or on a read
 * error.
 */
int ctl_emu_lines_read(struct ctl_emu_lines *l, int fd,
                       int (*on_line)(void *arg, char *line), void *arg);

/* Writes s to f with newline, tab and backslash escaped as \n \t \\. */
void ctl_emu_put_escaped(FILE *f, const char *s);

/* For a program's main: listens on 127.0.0.1:port (*bound gets the port)
 * and ignores SIGPIPE.  The fd, or -1 after a message on stderr naming
 * prog ("gl-smsc"). */
int ctl_emu_main_listen(const char *prog, uint16_t port, uint16_t *bound);

#endif /* CTL_EMU_H */
