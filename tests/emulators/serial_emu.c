/*
 * serial_emu.c - the runner of the serial device emulators: device thread,
 * command handshake, common fault commands, and the gl-emu program loop.
 */
#include "serial_emu.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "gl_err.h"

void semu_send(struct semu *e, const void *p, size_t n)
{
    if (!e->silent && e->pty.master >= 0 && n > 0) {
        (void)emu_pty_write(&e->pty, p, n, 5000);
    }
}

int semu_op_fails(struct semu *e)
{
    e->ops_count++;
    if (e->fail_at != 0 && e->ops_count == e->fail_at) {
        e->fail_at = 0;
        return 1;
    }
    return 0;
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

static int apply_command(struct semu *e, const char *line, char *reply,
                         size_t cap)
{
    char buf[1024], *args, *verb;
    int rc;

    snprintf(buf, sizeof buf, "%s", line);
    verb = buf;
    while (*verb == ' ') {
        verb++;
    }
    args = strchr(verb, ' ');
    if (args != NULL) {
        *args++ = '\0';
        while (*args == ' ') {
            args++;
        }
    } else {
        args = verb + strlen(verb);
    }
    if (strcmp(verb, "silent") == 0) {
        e->silent = 1;
    } else if (strcmp(verb, "talk") == 0) {
        e->silent = 0;
    } else if (strcmp(verb, "unplug") == 0) {
        emu_pty_unplug(&e->pty);
    } else if (strcmp(verb, "plug") == 0) {
        if (e->pty.master >= 0) {
            snprintf(reply, cap, "err plugged in");
            return GL_EINVAL;
        }
        rc = emu_pty_replug(&e->pty);
        if (rc != GL_OK) {
            snprintf(reply, cap, "err %s", gl_strerror(rc));
            return GL_EINVAL;
        }
    } else if (strcmp(verb, "noise") == 0) {
        uint8_t b[256];
        size_t n = 0;
        for (const char *p = args; *p != '\0';) {
            int hi, lo;
            if (*p == ' ') {
                p++;
                continue;
            }
            hi = hexval(p[0]);
            lo = p[1] != '\0' ? hexval(p[1]) : -1;
            if (hi < 0 || lo < 0 || n >= sizeof b) {
                snprintf(reply, cap, "err hex");
                return GL_EINVAL;
            }
            b[n++] = (uint8_t)(hi << 4 | lo);
            p += 2;
        }
        if (n == 0) {
            snprintf(reply, cap, "err hex");
            return GL_EINVAL;
        }
        semu_send(e, b, n);
    } else if (strcmp(verb, "fail") == 0) {
        char kind[SEMU_FAIL_KIND_MAX] = "";
        unsigned n = 0;
        if (sscanf(args, "%u %15s", &n, kind) < 1 || n == 0) {
            snprintf(reply, cap, "err fail <n> [kind]");
            return GL_EINVAL;
        }
        e->fail_at = e->ops_count + n;
        memcpy(e->fail_kind, kind, sizeof kind);
    } else if (strcmp(verb, "reset-count") == 0) {
        e->ops_count = 0;
        e->fail_at = 0;
    } else if (strcmp(verb, "stats") == 0) {
        int o = snprintf(reply, cap, "ok ops=%u", e->ops_count);
        if (e->ops->stats != NULL && o > 0 && (size_t)o < cap) {
            e->ops->stats(e, reply + o, cap - (size_t)o);
        }
        return GL_OK;
    } else {
        rc = e->ops->command(e, verb, args, reply, cap);
        if (rc == GL_ENOTFOUND) {
            snprintf(reply, cap, "err unknown command");
            return GL_EINVAL;
        }
        return rc;
    }
    snprintf(reply, cap, "ok");
    return GL_OK;
}

static void *semu_thread(void *arg)
{
    struct semu *e = arg;

    pthread_mutex_lock(&e->mu);
    while (!e->stop) {
        struct pollfd p[2];
        int np = 1, r;
        uint8_t junk[64];

        if (e->cmd_pending) {
            e->cmd_rc = apply_command(e, e->cmd_line, e->cmd_reply,
                                      e->cmd_cap);
            e->cmd_pending = 0;
            pthread_cond_broadcast(&e->cv);
        }
        p[0].fd = e->wake[0];
        p[0].events = POLLIN;
        if (e->pty.master >= 0) {
            p[1].fd = e->pty.master;
            p[1].events = POLLIN;
            np = 2;
        }
        pthread_mutex_unlock(&e->mu);
        r = poll(p, (nfds_t)np, 1000);
        pthread_mutex_lock(&e->mu);
        if (r <= 0) {
            continue;
        }
        if (p[0].revents & POLLIN) {
            while (read(e->wake[0], junk, sizeof junk) > 0) {
            }
        }
        if (np == 2 && (p[1].revents & POLLIN) && e->pty.master == p[1].fd) {
            uint8_t in[512];
            size_t got = 0;
            if (emu_pty_read(&e->pty, in, sizeof in, 0, &got) == GL_OK &&
                got > 0) {
                e->ops->on_rx(e, in, got);
            }
        }
    }
    pthread_mutex_unlock(&e->mu);
    return NULL;
}

int semu_start(struct semu *e, const char *link)
{
    int rc;

    if (e->running) {
        return GL_EINVAL;
    }
    rc = emu_pty_open(&e->pty, link);
    if (rc != GL_OK) {
        return rc;
    }
    if (pipe2(e->wake, O_NONBLOCK | O_CLOEXEC) != 0) {
        emu_pty_close(&e->pty);
        return GL_EOS;
    }
    e->stop = 0;
    if (pthread_create(&e->th, NULL, semu_thread, e) != 0) {
        close(e->wake[0]);
        close(e->wake[1]);
        e->wake[0] = e->wake[1] = -1;
        emu_pty_close(&e->pty);
        return GL_EOS;
    }
    e->running = 1;
    return GL_OK;
}

const char *semu_serial_path(const struct semu *e)
{
    return e->pty.serial_path;
}

int semu_command(struct semu *e, const char *line, char *reply, size_t cap)
{
    char dummy[256];
    int rc;

    if (reply == NULL || cap == 0) {
        reply = dummy;
        cap = sizeof dummy;
    }
    pthread_mutex_lock(&e->mu);
    if (!e->running) {
        rc = apply_command(e, line, reply, cap);
        pthread_mutex_unlock(&e->mu);
        return rc;
    }
    while (e->cmd_pending) {
        pthread_cond_wait(&e->cv, &e->mu);
    }
    e->cmd_line = line;
    e->cmd_reply = reply;
    e->cmd_cap = cap;
    e->cmd_pending = 1;
    (void)!write(e->wake[1], "x", 1);
    while (e->cmd_pending) {
        pthread_cond_wait(&e->cv, &e->mu);
    }
    rc = e->cmd_rc;
    pthread_mutex_unlock(&e->mu);
    return rc;
}

int semu_commandf(struct semu *e, const char *fmt, ...)
{
    char line[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    return semu_command(e, line, NULL, 0);
}

void semu_stop(struct semu *e)
{
    if (e == NULL || !e->running) {
        return;
    }
    pthread_mutex_lock(&e->mu);
    e->stop = 1;
    (void)!write(e->wake[1], "x", 1);
    pthread_mutex_unlock(&e->mu);
    pthread_join(e->th, NULL);
    e->running = 0;
    close(e->wake[0]);
    close(e->wake[1]);
    e->wake[0] = e->wake[1] = -1;
    emu_pty_close(&e->pty);
}

void semu_free(struct semu *e)
{
    if (e == NULL) {
        return;
    }
    semu_stop(e);
    pthread_mutex_destroy(&e->mu);
    pthread_cond_destroy(&e->cv);
    free(e->dev);
    free(e);
}

/* Shared part of the constructors (called from the device files). */
struct semu *semu_alloc_(const struct semu_dev_ops *ops, size_t dev_size)
{
    struct semu *e = calloc(1, sizeof *e);

    if (e == NULL) {
        return NULL;
    }
    e->dev = calloc(1, dev_size);
    if (e->dev == NULL) {
        free(e);
        return NULL;
    }
    e->ops = ops;
    e->pty.master = -1;
    e->pty.slave_keep = -1;
    e->wake[0] = e->wake[1] = -1;
    pthread_mutex_init(&e->mu, NULL);
    pthread_cond_init(&e->cv, NULL);
    return e;
}

struct semu *semu_new_by_name(const char *name)
{
    if (strcmp(name, "scanner") == 0) {
        return semu_scanner_new();
    }
    if (strcmp(name, "magstripe") == 0) {
        return semu_magstripe_new();
    }
    if (strcmp(name, "irda") == 0) {
        return semu_irda_new();
    }
    if (strcmp(name, "printer") == 0) {
        return semu_printer_new();
    }
    return NULL;
}

/* ---- the program --------------------------------------------------------- */

struct linebuf {
    int fd;
    char buf[1024];
    size_t len;
};

/* Runs every complete line read from lb->fd.  0: go on, 1: end of input,
 * 2: "quit". */
static int serve_lines(struct semu *e, struct linebuf *lb, int out_fd)
{
    ssize_t n = read(lb->fd, lb->buf + lb->len, sizeof lb->buf - 1 - lb->len);
    char *nl;

    if (n <= 0) {
        return 1;
    }
    lb->len += (size_t)n;
    lb->buf[lb->len] = '\0';
    while ((nl = strchr(lb->buf, '\n')) != NULL) {
        char reply[512];
        size_t used = (size_t)(nl - lb->buf) + 1;
        *nl = '\0';
        if (nl > lb->buf && nl[-1] == '\r') {
            nl[-1] = '\0';
        }
        if (strcmp(lb->buf, "quit") == 0) {
            return 2;
        }
        if (lb->buf[0] != '\0' && lb->buf[0] != '#') {
            semu_command(e, lb->buf, reply, sizeof reply);
            dprintf(out_fd, "%s\n", reply);
        }
        memmove(lb->buf, lb->buf + used, lb->len - used + 1);
        lb->len -= used;
    }
    if (lb->len >= sizeof lb->buf - 1) {
        lb->len = 0; /* an over-long line is dropped */
    }
    return 0;
}

int semu_main(int argc, char **argv)
{
    const char *link = NULL, *control = NULL;
    char deflink[128];
    struct semu *e = NULL;
    int lfd = -1, sfd = -1, status = 1, done = 0;
    struct linebuf in = {.fd = 0}, cl = {.fd = -1};

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--link") == 0 && i + 1 < argc) {
            link = argv[++i];
        } else if (strcmp(argv[i], "--control") == 0 && i + 1 < argc) {
            control = argv[++i];
        } else {
            fprintf(stderr, "usage: gl-emu %s [--link PATH] [--control SOCKET]\n",
                    argv[0]);
            return 2;
        }
    }
    if (link == NULL) {
        snprintf(deflink, sizeof deflink, "/tmp/gl-emu-%s-%ld", argv[0],
                 (long)getpid());
        link = deflink;
    }
    e = semu_new_by_name(argv[0]);
    if (e == NULL) {
        fprintf(stderr, "gl-emu: unknown device %s\n", argv[0]);
        return 2;
    }
    sfd = emu_pty_term_fd();
    if (sfd < 0) {
        fprintf(stderr, "gl-emu: signalfd: %s\n", strerror(errno));
        goto out;
    }
    if (semu_start(e, link) != GL_OK) {
        fprintf(stderr, "gl-emu: cannot start %s at %s\n", argv[0], link);
        goto out;
    }
    if (control != NULL) {
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        if (strlen(control) >= sizeof sa.sun_path) {
            fprintf(stderr, "gl-emu: control path too long\n");
            goto out;
        }
        strcpy(sa.sun_path, control);
        (void)unlink(control);
        lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
            listen(lfd, 4) != 0) {
            fprintf(stderr, "gl-emu: control socket: %s\n", strerror(errno));
            goto out;
        }
    }
    printf("%s ready %s (pty %s, link %s)\n", argv[0], semu_serial_path(e),
           e->pty.slave_name, e->pty.link);
    fflush(stdout);
    while (!done) {
        struct pollfd p[4];
        int np = 1, r, i_in = -1, i_l = -1, i_c = -1;

        p[0] = (struct pollfd){.fd = sfd, .events = POLLIN};
        if (in.fd >= 0) {
            i_in = np;
            p[np++] = (struct pollfd){.fd = in.fd, .events = POLLIN};
        }
        if (lfd >= 0 && cl.fd < 0) {
            i_l = np;
            p[np++] = (struct pollfd){.fd = lfd, .events = POLLIN};
        }
        if (cl.fd >= 0) {
            i_c = np;
            p[np++] = (struct pollfd){.fd = cl.fd, .events = POLLIN};
        }
        r = poll(p, (nfds_t)np, -1);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r < 0 || p[0].revents) {
            break; /* SIGTERM / SIGINT: clean up and end */
        }
        if (i_in >= 0 && p[i_in].revents) {
            int s = serve_lines(e, &in, 1);
            if (s == 2) {
                done = 1;
            } else if (s == 1) {
                in.fd = -1; /* stdin ended: serve until killed */
            }
        }
        if (i_l >= 0 && p[i_l].revents) {
            cl.fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
            cl.len = 0;
        }
        if (i_c >= 0 && p[i_c].revents) {
            int s = serve_lines(e, &cl, cl.fd);
            if (s != 0) {
                close(cl.fd);
                cl.fd = -1;
                done = s == 2;
            }
        }
    }
    status = 0;
out:
    if (cl.fd >= 0) {
        close(cl.fd);
    }
    if (lfd >= 0) {
        close(lfd);
        (void)unlink(control);
    }
    semu_free(e);
    if (sfd >= 0) {
        close(sfd);
    }
    return status;
}
