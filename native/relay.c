/*
 * The relay: the monitor's loop between a container's streams and its clients (see relay.h for the frames). One
 * poll loop, no threads. Output is read only when every client has taken the last frame (a slow client slows the
 * container, as a pipe would, and nothing is lost); input is read from clients only when the container has taken
 * the last of it. When the child has exited, what is left of its output is delivered, then its status.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "relay.h"

#define MAX_CLIENTS 16
#define CHUNK 32768
#define FLUSH_MS 5000

struct client {
    int rfd, wfd;
    unsigned char in[RELAY_MAX_IN_FRAME + 8];
    size_t in_len;
    unsigned char out[CHUNK + 8];
    size_t out_len, out_off;
};

struct relay {
    const struct relay_spec *s;
    int in_fd, out_fd, err_fd;
    int close_stdin; /* asked for: done once what is pending is written */
    struct client clients[MAX_CLIENTS];
    int n_clients, attached;
    unsigned char pending[RELAY_MAX_IN_FRAME + 8];
    size_t pending_len, pending_off;
    long long hold_until;
    int exited, status;
};

static long long now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static void put_be32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24), p[1] = (unsigned char)(v >> 16), p[2] = (unsigned char)(v >> 8), p[3] = (unsigned char)v;
}

static void set_nonblock(int fd)
{
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

static void drop_client(struct relay *r, int i)
{
    struct client *c = &r->clients[i];
    if (c->rfd >= 0)
        close(c->rfd);
    if (c->wfd >= 0 && c->wfd != c->rfd)
        close(c->wfd);
    r->clients[i] = r->clients[--r->n_clients];
}

static struct client *add_client(struct relay *r, int rfd, int wfd)
{
    if (r->n_clients >= MAX_CLIENTS)
        return NULL;
    struct client *c = &r->clients[r->n_clients++];
    c->rfd = rfd, c->wfd = wfd, c->in_len = 0, c->out_len = 0, c->out_off = 0;
    set_nonblock(wfd);
    r->attached = 1;
    return c;
}

/* Writes what the client has pending; -1 when it is gone. */
static int flush_client(struct client *c)
{
    while (c->out_off < c->out_len) {
        ssize_t n = write(c->wfd, c->out + c->out_off, c->out_len - c->out_off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return errno == EAGAIN ? 0 : -1;
        c->out_off += (size_t)n;
    }
    c->out_len = c->out_off = 0;
    return 0;
}

/* A frame to every client (each has nothing pending when this is called). */
static void broadcast(struct relay *r, int type, const unsigned char *data, size_t len)
{
    for (int i = r->n_clients - 1; i >= 0; i--) {
        struct client *c = &r->clients[i];
        c->out[0] = (unsigned char)type, c->out[1] = c->out[2] = c->out[3] = 0;
        put_be32(c->out + 4, (uint32_t)len);
        memcpy(c->out + 8, data, len);
        c->out_len = len + 8, c->out_off = 0;
        if (flush_client(c) < 0)
            drop_client(r, i);
    }
}

/* Waits until every client has taken its frame (or FLUSH_MS has passed for it): for the last output. */
static void flush_all(struct relay *r)
{
    for (int i = r->n_clients - 1; i >= 0; i--) {
        struct client *c = &r->clients[i];
        long long deadline = now_ms() + FLUSH_MS;
        while (c->out_len > 0 && now_ms() < deadline) {
            struct pollfd p = {.fd = c->wfd, .events = POLLOUT};
            if (poll(&p, 1, (int)(deadline - now_ms())) < 0 && errno != EINTR)
                break;
            if (flush_client(c) < 0)
                break;
        }
        if (c->out_len > 0)
            drop_client(r, i);
    }
}

static void log_output(struct relay *r, int type, const unsigned char *data, size_t len)
{
    if (r->s->log_fd < 0)
        return;
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    uint64_t ns = (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
    unsigned char h[16] = {(unsigned char)type};
    put_be32(h + 4, (uint32_t)len);
    put_be32(h + 8, (uint32_t)(ns >> 32));
    put_be32(h + 12, (uint32_t)ns);
    struct iovec iov[2] = {{h, sizeof(h)}, {(void *)data, len}};
    if (writev(r->s->log_fd, iov, 2) < 0) {
        /* a full disk loses log records, never the container's progress */
    }
}

/* Reads one chunk of output from *fd and passes it on; 1 when something was read. */
static int pump(struct relay *r, int *fd, int type)
{
    static unsigned char buf[CHUNK];
    ssize_t n = read(*fd, buf, sizeof(buf));
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return 0;
    if (n <= 0) { /* end of file, or EIO: the terminal has no slave left (its master goes with the process) */
        if (r->s->tty)
            r->in_fd = -1;
        else
            close(*fd);
        *fd = -1;
        return 0;
    }
    log_output(r, type, buf, (size_t)n);
    broadcast(r, type, buf, (size_t)n);
    return 1;
}

static void close_stdin(struct relay *r)
{
    if (r->in_fd >= 0 && !r->s->tty)
        close(r->in_fd);
    if (!r->s->tty)
        r->in_fd = -1;
    r->pending_len = r->pending_off = 0;
}

/* Writes pending input to the container. */
static void feed(struct relay *r)
{
    while (r->in_fd >= 0 && r->pending_off < r->pending_len) {
        ssize_t n = write(r->in_fd, r->pending + r->pending_off, r->pending_len - r->pending_off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return;
        if (n < 0) { /* the container closed its stdin */
            close_stdin(r);
            return;
        }
        r->pending_off += (size_t)n;
    }
    r->pending_len = r->pending_off = 0;
    if (r->close_stdin)
        close_stdin(r);
}

static void resize(struct relay *r, const unsigned char *p, size_t len)
{
    char text[32];
    unsigned rows = 0, cols = 0;
    if (!r->s->tty || r->out_fd < 0 || len >= sizeof(text))
        return;
    memcpy(text, p, len);
    text[len] = '\0';
    if (sscanf(text, "%u %u", &rows, &cols) == 2 && rows > 0 && cols > 0 && rows < 65536 && cols < 65536) {
        struct winsize ws = {.ws_row = (unsigned short)rows, .ws_col = (unsigned short)cols};
        ioctl(r->out_fd, TIOCSWINSZ, &ws);
    }
}

/* Handles the complete frames a client has sent; -1 on a malformed one. */
static int take_frames(struct relay *r, struct client *c)
{
    size_t off = 0;
    while (c->in_len - off >= 8) {
        const unsigned char *h = c->in + off;
        uint32_t len = (uint32_t)h[4] << 24 | (uint32_t)h[5] << 16 | (uint32_t)h[6] << 8 | h[7];
        if (len > RELAY_MAX_IN_FRAME)
            return -1;
        if (c->in_len - off - 8 < len)
            break;
        if (h[0] == F_STDIN && r->in_fd >= 0 && !r->close_stdin) {
            memcpy(r->pending + r->pending_len, h + 8, len);
            r->pending_len += len;
        } else if (h[0] == F_RESIZE) {
            resize(r, h + 8, len);
        } else if (h[0] == F_CLOSE_STDIN) {
            r->close_stdin = 1;
        }
        off += 8 + len;
    }
    memmove(c->in, c->in + off, c->in_len - off);
    c->in_len -= off;
    return 0;
}

/* Input from client i; a single client (exec) that ends its input closes the container's stdin. */
static void read_client(struct relay *r, int i)
{
    struct client *c = &r->clients[i];
    ssize_t n = read(c->rfd, c->in + c->in_len, sizeof(c->in) - c->in_len);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n <= 0 && r->s->listen_fd < 0) {
        close(c->rfd);
        c->rfd = -1;
        r->close_stdin = 1;
    } else if (n <= 0) {
        drop_client(r, i);
        return;
    } else {
        c->in_len += (size_t)n;
        if (take_frames(r, c) < 0) {
            drop_client(r, i);
            return;
        }
    }
    feed(r);
}

static void accept_client(struct relay *r)
{
    int fd = accept4(r->s->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd >= 0 && !add_client(r, fd, fd))
        close(fd);
}

static int clients_pending(const struct relay *r)
{
    for (int i = 0; i < r->n_clients; i++)
        if (r->clients[i].out_len > 0)
            return 1;
    return 0;
}

/* Before its first client, a container's output waits for it (at most hold_ms): nothing of it is missed. */
static int awaiting_first_client(const struct relay *r)
{
    return r->s->listen_fd >= 0 && !r->attached && r->hold_until != 0;
}

/* Output waits while a client has not taken the last frame, and while the first client is awaited. */
static int output_wanted(const struct relay *r)
{
    return !clients_pending(r) && !awaiting_first_client(r);
}

static void reap(struct relay *r)
{
    struct signalfd_siginfo info;
    while (read(r->s->signal_fd, &info, sizeof(info)) > 0)
        ;
    int st;
    if (!r->exited && waitpid(r->s->child, &st, WNOHANG) == r->s->child)
        r->exited = 1, r->status = st;
}

/* One round of poll; the fds polled and what is done with them. */
static void step(struct relay *r)
{
    struct pollfd p[MAX_CLIENTS * 2 + 5];
    if (r->hold_until && now_ms() >= r->hold_until)
        r->hold_until = 0;
    int n = 0, want_out = output_wanted(r);
    p[n++] = (struct pollfd){.fd = r->s->signal_fd, .events = POLLIN};
    p[n++] = (struct pollfd){.fd = r->s->listen_fd, .events = POLLIN};
    p[n++] = (struct pollfd){.fd = want_out ? r->out_fd : -1, .events = POLLIN};
    p[n++] = (struct pollfd){.fd = want_out ? r->err_fd : -1, .events = POLLIN};
    p[n++] = (struct pollfd){.fd = r->pending_len ? r->in_fd : -1, .events = POLLOUT};
    int base = n;
    for (int i = 0; i < r->n_clients; i++) {
        const struct client *c = &r->clients[i];
        p[n++] = (struct pollfd){.fd = r->pending_len ? -1 : c->rfd, .events = POLLIN};
        p[n++] = (struct pollfd){.fd = c->out_len ? c->wfd : -1, .events = POLLOUT};
    }
    long long left = r->hold_until - now_ms();
    if (poll(p, (nfds_t)n, !awaiting_first_client(r) ? -1 : left > 0 ? (int)left : 0) < 0)
        return;
    if (p[0].revents)
        reap(r);
    if (p[2].revents && r->out_fd >= 0)
        pump(r, &r->out_fd, F_STDOUT);
    if (p[3].revents && r->err_fd >= 0)
        pump(r, &r->err_fd, F_STDERR);
    if (p[4].revents)
        feed(r);
    for (int i = r->n_clients - 1; i >= 0; i--) {
        short in = p[base + 2 * i].revents, out = p[base + 2 * i + 1].revents;
        if (out && flush_client(&r->clients[i]) < 0)
            drop_client(r, i);
        else if (in)
            read_client(r, i);
    }
    if (p[1].revents)
        accept_client(r);
}

int relay_run(const struct relay_spec *spec)
{
    struct relay *r = calloc(1, sizeof(*r));
    if (!r)
        return 0;
    r->s = spec;
    r->in_fd = spec->in_fd, r->out_fd = spec->out_fd, r->err_fd = spec->err_fd;
    r->hold_until = spec->listen_fd >= 0 && spec->hold_ms > 0 ? now_ms() + spec->hold_ms : 0;
    if (r->out_fd >= 0)
        set_nonblock(r->out_fd);
    if (r->err_fd >= 0)
        set_nonblock(r->err_fd);
    if (r->in_fd >= 0)
        set_nonblock(r->in_fd);
    if (spec->listen_fd < 0 && spec->client_wfd >= 0)
        add_client(r, spec->client_rfd, spec->client_wfd);
    /* Until the child has exited and, if a first client was awaited, it came or the wait ran out. */
    while (!r->exited || awaiting_first_client(r))
        step(r);
    /* What it wrote before it ended, to the last byte, then its status. */
    for (int more = 1; more;) {
        flush_all(r);
        more = 0;
        if (r->out_fd >= 0)
            more |= pump(r, &r->out_fd, F_STDOUT);
        if (r->err_fd >= 0)
            more |= pump(r, &r->err_fd, F_STDERR);
    }
    flush_all(r);
    char code[16];
    int status = WIFEXITED(r->status) ? WEXITSTATUS(r->status) : 128 + WTERMSIG(r->status);
    int len = snprintf(code, sizeof(code), "%d", status);
    broadcast(r, F_EXIT, (const unsigned char *)code, (size_t)len);
    flush_all(r);
    while (r->n_clients > 0)
        drop_client(r, r->n_clients - 1);
    int st = r->status;
    free(r);
    return st;
}
