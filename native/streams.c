/*
 * The launcher's side of a process's standard streams: made before the fork (pipes, or a socket for the terminal
 * the container will send), put in place in the child, and relayed by the parent (relay.c) until the process ends.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "launcher.h"
#include "relay.h"

static void close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

/* SIGCHLD blocked and read from a signalfd, from before the fork: no end is missed. */
static int chld_signalfd(void)
{
    sigset_t chld;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    sigprocmask(SIG_BLOCK, &chld, NULL);
    return signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
}

/* The attach socket: bound by its name in its own folder, so that a long path still fits sockaddr_un. */
static int listen_at(const char *path)
{
    char dir[4096];
    snprintf(dir, sizeof(dir), "%s", path);
    char *slash = strrchr(dir, '/');
    const char *name = slash ? slash + 1 : path;
    int here = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (slash)
        *slash = '\0';
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    int ok = fd >= 0 && here >= 0 && strlen(name) < sizeof(a.sun_path) && (!slash || chdir(dir[0] ? dir : "/") == 0);
    if (ok) {
        snprintf(a.sun_path, sizeof(a.sun_path), "%s", name);
        unlink(name);
        ok = bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 && chmod(name, 0600) == 0 && listen(fd, 16) == 0;
    }
    if (here >= 0) {
        if (fchdir(here) < 0)
            ok = 0;
        close(here);
    }
    if (!ok && fd >= 0)
        close(fd);
    return ok ? fd : -1;
}

int streams_prepare(struct config *c, struct streams *s)
{
    *s = (struct streams){.in = {-1, -1}, .out = {-1, -1}, .err = {-1, -1}, .console = {-1, -1}, .master = -1, .log = -1, .listen = -1};
    if (c->tty) {
        if (c->exec_mode) {
            s->master = console_open(c->rows, c->cols, &s->slave);
            if (s->master < 0)
                return -1;
        } else if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, s->console) < 0) {
            return -1;
        }
    } else {
        if (pipe2(s->out, O_CLOEXEC) < 0 || pipe2(s->err, O_CLOEXEC) < 0 || (c->stdin_open && pipe2(s->in, O_CLOEXEC) < 0))
            return -1;
    }
    if (c->log && (s->log = open(c->log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640)) < 0)
        return -1;
    if (c->attach && (s->listen = listen_at(c->attach)) < 0)
        return -1;
    s->signal_fd = chld_signalfd();
    return s->signal_fd < 0 ? -1 : 0;
}

void streams_in_child(struct config *c, struct streams *s)
{
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    if (c->tty && c->exec_mode) {
        if (console_attach(s->slave) < 0)
            fail("make the terminal the controlling one");
        return;
    }
    if (c->tty) {
        console_in_container(s->console[1], c->rows, c->cols);
        return;
    }
    /* Without -i stdin is /dev/null: never the launcher's own (with --relay, the client's frames). */
    int in = s->in[0] >= 0 ? s->in[0] : open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (in < 0 || dup2(in, 0) < 0 || dup2(s->out[1], 1) < 0 || dup2(s->err[1], 2) < 0)
        fail("set up the standard streams");
}

int streams_relay(struct config *c, struct streams *s, pid_t child)
{
    close_fd(&s->in[0]);
    close_fd(&s->out[1]);
    close_fd(&s->err[1]);
    close_fd(&s->console[1]);
    if (c->tty && !c->exec_mode)
        s->master = console_receive(s->console[0]);
    close_fd(&s->console[0]);
    if (c->tty && s->slave >= 0)
        close_fd(&s->slave);
    signal(SIGPIPE, SIG_IGN); /* after the fork: an ignored signal would stay ignored in the container */
    struct relay_spec spec = {
        .in_fd = c->tty ? (c->stdin_open ? s->master : -1) : s->in[1],
        .out_fd = c->tty ? s->master : s->out[0],
        .err_fd = c->tty ? -1 : s->err[0],
        .tty = c->tty,
        .log_fd = s->log,
        .listen_fd = s->listen,
        .client_rfd = c->exec_mode ? 0 : -1,
        .client_wfd = c->exec_mode ? 1 : -1,
        .hold_ms = c->hold_ms,
        .signal_fd = s->signal_fd,
        .child = child,
    };
    int status = relay_run(&spec);
    if (c->attach)
        unlink(c->attach);
    return status;
}

static void write_frame(int type, const char *data, int n)
{
    unsigned char h[8] = {(unsigned char)type, 0, 0, 0, (unsigned char)(n >> 24), (unsigned char)(n >> 16), (unsigned char)(n >> 8), (unsigned char)n};
    if (write(1, h, sizeof(h)) < 0 || write(1, data, (size_t)n) < 0) {
        /* the client is gone: nobody to tell */
    }
}

void streams_say_failure(int code, const char *fmt, ...)
{
    char text[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(text, sizeof(text) - 1, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n > sizeof(text) - 2)
        n = (int)sizeof(text) - 2;
    text[n++] = '\n';
    write_frame(F_STDERR, text, n);
    char status[16];
    write_frame(F_EXIT, status, snprintf(status, sizeof(status), "%d", code));
}
