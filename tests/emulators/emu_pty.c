/*
 * emu_pty.c - pseudo-terminal helpers shared by the device emulators.
 * Contract in emu_pty.h.
 */
#include "emu_pty.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <pty.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "gl_err.h"

static int abs_path(const char *path, char *out, size_t cap)
{
    int n;

    if (path[0] == '/') {
        n = snprintf(out, cap, "%s", path);
    } else {
        char cwd[PATH_MAX];
        if (getcwd(cwd, sizeof cwd) == NULL) {
            return GL_EOS;
        }
        n = snprintf(out, cap, "%s/%s", cwd, path);
    }
    if (n < 0 || (size_t)n >= cap) {
        return GL_ENOSPC;
    }
    return GL_OK;
}

int emu_pty_serial_path(const char *link, char *out, size_t cap)
{
    char abs[EMU_PTY_PATH_MAX];
    int rc = abs_path(link, abs, sizeof abs);
    int n;

    if (rc != GL_OK) {
        return rc;
    }
    n = snprintf(out, cap, "/dev/../../..%s", abs);
    if (n < 0 || (size_t)n >= cap) {
        return GL_ENOSPC;
    }
    return GL_OK;
}

static int make_raw(int fd)
{
    struct termios t;

    if (tcgetattr(fd, &t) != 0) {
        return -1;
    }
    cfmakeraw(&t);
    t.c_cc[VMIN] = 1;
    t.c_cc[VTIME] = 0;
    return tcsetattr(fd, TCSANOW, &t);
}

/* Opens a pty for the link already stored in pty->link ("" = none). */
static int pty_make(struct emu_pty *pty)
{
    int master = -1, slave = -1;
    int rc = GL_EOS;
    int flags;

    if (openpty(&master, &slave, NULL, NULL, NULL) != 0) {
        goto out;
    }
    if (make_raw(slave) != 0 || make_raw(master) != 0) {
        goto out;
    }
    if (ttyname_r(slave, pty->slave_name, sizeof pty->slave_name) != 0) {
        goto out;
    }
    flags = fcntl(master, F_GETFL);
    if (flags < 0 || fcntl(master, F_SETFL, flags | O_NONBLOCK) != 0) {
        goto out;
    }
    (void)fcntl(master, F_SETFD, FD_CLOEXEC);
    (void)fcntl(slave, F_SETFD, FD_CLOEXEC);
    if (pty->link[0] != '\0') {
        /* Replace atomically: a client reopening in a loop never sees the
         * name missing once the new pty exists. */
        char tmp[EMU_PTY_PATH_MAX + 16];
        int n = snprintf(tmp, sizeof tmp, "%s.new", pty->link);
        if (n < 0 || (size_t)n >= sizeof tmp) {
            rc = GL_ENOSPC;
            goto out;
        }
        (void)unlink(tmp);
        if (symlink(pty->slave_name, tmp) != 0 || rename(tmp, pty->link) != 0) {
            (void)unlink(tmp);
            goto out;
        }
    }
    pty->master = master;
    pty->slave_keep = slave;
    master = -1;
    slave = -1;
    rc = GL_OK;
out:
    if (master >= 0) {
        close(master);
    }
    if (slave >= 0) {
        close(slave);
    }
    return rc;
}

int emu_pty_open(struct emu_pty *pty, const char *link)
{
    int rc;

    memset(pty, 0, sizeof *pty);
    pty->master = -1;
    pty->slave_keep = -1;
    if (link != NULL) {
        rc = abs_path(link, pty->link, sizeof pty->link);
        if (rc != GL_OK) {
            return rc;
        }
        rc = emu_pty_serial_path(pty->link, pty->serial_path,
                                 sizeof pty->serial_path);
        if (rc != GL_OK) {
            return rc;
        }
    }
    return pty_make(pty);
}

void emu_pty_unplug(struct emu_pty *pty)
{
    if (pty->link[0] != '\0') {
        (void)unlink(pty->link);
    }
    if (pty->master >= 0) {
        close(pty->master);
        pty->master = -1;
    }
    if (pty->slave_keep >= 0) {
        close(pty->slave_keep);
        pty->slave_keep = -1;
    }
}

int emu_pty_replug(struct emu_pty *pty)
{
    emu_pty_unplug(pty);
    return pty_make(pty);
}

void emu_pty_close(struct emu_pty *pty)
{
    emu_pty_unplug(pty);
    pty->link[0] = '\0';
    pty->serial_path[0] = '\0';
}

int emu_pty_read(struct emu_pty *pty, void *buf, size_t cap, int timeout_ms,
                 size_t *got)
{
    struct pollfd p;
    ssize_t n;
    int r;

    *got = 0;
    if (pty->master < 0) {
        return GL_ECLOSED;
    }
    for (;;) {
        p.fd = pty->master;
        p.events = POLLIN;
        p.revents = 0;
        r = poll(&p, 1, timeout_ms);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r < 0) {
            return GL_EOS;
        }
        if (r == 0) {
            return GL_ETIMEDOUT;
        }
        n = read(pty->master, buf, cap);
        if (n > 0) {
            *got = (size_t)n;
            return GL_OK;
        }
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
            continue;
        }
        return GL_ECLOSED;
    }
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int emu_pty_write(struct emu_pty *pty, const void *buf, size_t len,
                  int timeout_ms)
{
    const unsigned char *p = buf;
    long long deadline = now_ms() + timeout_ms;

    if (pty->master < 0) {
        return GL_ECLOSED;
    }
    while (len > 0) {
        ssize_t n = write(pty->master, p, len);
        if (n > 0) {
            p += n;
            len -= (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0 && errno == EAGAIN) {
            struct pollfd pf = {.fd = pty->master, .events = POLLOUT};
            long long left = timeout_ms < 0 ? -1 : deadline - now_ms();
            if (timeout_ms >= 0 && left <= 0) {
                return GL_ETIMEDOUT;
            }
            (void)poll(&pf, 1, (int)left);
            continue;
        }
        return n < 0 && errno == EIO ? GL_ECLOSED : GL_EOS;
    }
    return GL_OK;
}

void emu_pty_discard_input(struct emu_pty *pty)
{
    unsigned char junk[256];

    /* The master is non-blocking: read until nothing is left. */
    while (pty->master >= 0 && read(pty->master, junk, sizeof junk) > 0) {
    }
}

int emu_pty_term_fd(void)
{
    sigset_t set;

    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    if (pthread_sigmask(SIG_BLOCK, &set, NULL) != 0) {
        return -1;
    }
    return signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
}
