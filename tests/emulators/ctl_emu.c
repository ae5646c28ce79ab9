/*
 * ctl_emu.c - the runner of the network service emulators: listening
 * socket, fork and control socket, control lines, the test side's command
 * round trip; see ctl_emu.h.
 */
#include "ctl_emu.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "gl_err.h"

int ctl_emu_listen(uint16_t port, uint16_t *bound)
{
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons(port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    int one = 1;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return -1;
    }
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, 16) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &al) != 0) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    *bound = ntohs(a.sin_port);
    return fd;
}

int ctl_emu_start(struct ctl_emu *h, const char *name, ctl_emu_serve_fn serve,
                  void *arg, uint16_t *port)
{
    int sv[2] = {-1, -1};
    int lfd = ctl_emu_listen(0, port);

    h->pid = -1;
    h->ctl = -1;
    if (lfd < 0 ||
        socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
        fprintf(stderr, "%s: cannot listen: %s\n", name, strerror(errno));
        if (lfd >= 0) {
            close(lfd);
        }
        return GL_EOS;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        close(lfd);
        close(sv[0]);
        close(sv[1]);
        return GL_EOS;
    }
    if (pid == 0) {
        close(sv[0]);
        signal(SIGPIPE, SIG_IGN); /* a client that went away is not fatal */
        _exit(serve(lfd, sv[1], arg));
    }
    close(lfd);
    close(sv[1]);
    h->pid = pid;
    h->ctl = sv[0];
    return GL_OK;
}

int ctl_emu_cmd(struct ctl_emu *h, const char *cmd, char *reply, size_t cap)
{
    char buf[16384];
    size_t len = 0, out = 0, start = 0;
    int rc = GL_OK, done = 0;

    if (reply != NULL && cap > 0) {
        reply[0] = '\0';
    }
    if (h->ctl < 0) {
        return GL_ECLOSED;
    }
    char line[1024];
    int ln = snprintf(line, sizeof line, "%s\n", cmd);
    if (ln <= 0 || (size_t)ln >= sizeof line ||
        send(h->ctl, line, (size_t)ln, MSG_NOSIGNAL) != ln) {
        return GL_ECLOSED;
    }
    while (!done) {
        ssize_t r = read(h->ctl, buf + len, sizeof buf - 1 - len);
        if (r <= 0) {
            return GL_ECLOSED;
        }
        len += (size_t)r;
        buf[len] = '\0';
        char *nl;
        while (!done && (nl = strchr(buf + start, '\n')) != NULL) {
            char *l = buf + start;
            size_t n = (size_t)(nl - l) + 1;
            int is_ok = n == 3 && strncmp(l, "ok", 2) == 0;
            int is_err = strncmp(l, "error", 5) == 0;
            if (is_ok || is_err) {
                done = 1;
                rc = is_err ? GL_EINVAL : rc;
            }
            if (!is_ok && reply != NULL) {
                if (out + n < cap) {
                    memcpy(reply + out, l, n);
                    out += n;
                    reply[out] = '\0';
                } else {
                    rc = rc == GL_OK ? GL_ENOSPC : rc;
                }
            }
            start += n;
        }
        /* keep an unfinished line, drop the lines already taken */
        memmove(buf, buf + start, len - start);
        len -= start;
        start = 0;
        if (len == sizeof buf - 1) {
            len = 0; /* a line longer than the buffer: dropped */
            rc = rc == GL_OK ? GL_ENOSPC : rc;
        }
    }
    return rc;
}

int ctl_emu_count(struct ctl_emu *h)
{
    char reply[32];
    int rc = ctl_emu_cmd(h, "count", reply, sizeof reply);
    return rc == GL_OK ? atoi(reply) : rc;
}

void ctl_emu_stop(struct ctl_emu *h)
{
    if (h->ctl >= 0) {
        ctl_emu_cmd(h, "quit", NULL, 0);
        close(h->ctl);
        h->ctl = -1;
    }
    if (h->pid > 0) {
        int status;
        for (int i = 0; i < 200; i++) {
            if (waitpid(h->pid, &status, WNOHANG) == h->pid) {
                h->pid = -1;
                return;
            }
            usleep(10000);
        }
        kill(h->pid, SIGKILL);
        waitpid(h->pid, &status, 0);
        h->pid = -1;
    }
}

int ctl_emu_lines_read(struct ctl_emu_lines *l, int fd,
                       int (*on_line)(void *arg, char *line), void *arg)
{
    ssize_t r = read(fd, l->buf + l->len, sizeof l->buf - 1 - l->len);
    if (r <= 0) {
        return -1;
    }
    l->len += (size_t)r;
    l->buf[l->len] = '\0';
    char *nl;
    while ((nl = strchr(l->buf, '\n')) != NULL) {
        char line[sizeof l->buf];
        size_t n = (size_t)(nl - l->buf);
        memcpy(line, l->buf, n);
        line[n] = '\0';
        memmove(l->buf, nl + 1, l->len - n - 1);
        l->len -= n + 1;
        l->buf[l->len] = '\0';
        if (on_line(arg, line) != 0) {
            return 1;
        }
    }
    if (l->len == sizeof l->buf - 1) {
        l->len = 0; /* an endless line: forget it */
    }
    return 0;
}

void ctl_emu_put_escaped(FILE *f, const char *s)
{
    for (; *s != '\0'; s++) {
        if (*s == '\n') {
            fputs("\\n", f);
        } else if (*s == '\t') {
            fputs("\\t", f);
        } else if (*s == '\\') {
            fputs("\\\\", f);
        } else {
            fputc(*s, f);
        }
    }
}

int ctl_emu_main_listen(const char *prog, uint16_t port, uint16_t *bound)
{
    int lfd = ctl_emu_listen(port, bound);
    if (lfd < 0) {
        fprintf(stderr, "%s: cannot listen on 127.0.0.1:%u: %s\n", prog,
                (unsigned)port, strerror(errno));
        return -1;
    }
    signal(SIGPIPE, SIG_IGN);
    return lfd;
}
