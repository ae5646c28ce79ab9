/*
 * pty_ioctl.c - TEST AND EMULATOR BINARIES ONLY: an ioctl() interposer that
 * lets libserialport open a pseudo-terminal.
 *
 * libserialport reads the modem lines (TIOCMGET) in sp_open() and sets
 * DTR/RTS (TIOCMBIS/TIOCMBIC) when it applies a configuration; Linux ptys
 * refuse these ioctls, so sp_open() fails with "TIOCMGET ioctl failed".
 * This file defines ioctl() in the executable, which the dynamic linker
 * prefers over libc's for every shared library (libserialport included).
 * For the four modem-line requests on a pty slave (character major
 * 136..143) it answers as a modem with DSR, CTS and CD up that accepts any
 * DTR/RTS setting; every other call goes to the next ioctl (libc's, or a
 * sanitizer's interceptor) unchanged.
 *
 * The fake register is stateless on purpose: what a test could observe
 * through it (DTR/RTS) means nothing on a pty, and state would need a
 * global.  It is never linked into libgiftlink.a: hal/module.mk lists it
 * only as an extra source of test and emulator programs.
 */
#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

typedef int (*ioctl_fn)(int, unsigned long, ...);

static int is_pty_slave(int fd)
{
    struct stat st;

    if (fstat(fd, &st) != 0 || !S_ISCHR(st.st_mode)) {
        return 0;
    }
    return major(st.st_rdev) >= 136 && major(st.st_rdev) <= 143;
}

int ioctl(int fd, unsigned long request, ...)
{
    va_list ap;
    void *arg;
    ioctl_fn next;

    va_start(ap, request);
    arg = va_arg(ap, void *);
    va_end(ap);

    if ((request == TIOCMGET || request == TIOCMSET || request == TIOCMBIS ||
         request == TIOCMBIC) &&
        is_pty_slave(fd)) {
        if (arg == NULL) {
            errno = EFAULT;
            return -1;
        }
        if (request == TIOCMGET) {
            *(int *)arg = TIOCM_DTR | TIOCM_RTS | TIOCM_DSR | TIOCM_CTS |
                          TIOCM_CAR;
        }
        return 0;
    }
    /* Looked up on each call: no mutable global, and the cost is nothing
     * next to the system call it forwards. */
    next = (ioctl_fn)dlsym(RTLD_NEXT, "ioctl");
    if (next == NULL) {
        errno = ENOSYS;
        return -1;
    }
    return next(fd, request, arg);
}
