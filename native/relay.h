/*
 * The container's standard streams, owned by the launcher so that they outlive the daemon: relay.c moves them
 * between the container and its clients in frames, console.c makes the pseudo-terminal.
 *
 * A frame is Docker's stream header, 8 bytes (type, 3 zero bytes, payload length as a big-endian u32), then the
 * payload. To the container: STDIN (its bytes), RESIZE ("ROWS COLS"), CLOSE_STDIN (no payload). From it: STDOUT,
 * STDERR (with a terminal, everything is STDOUT) and, last, EXIT (its status in decimal). The log keeps what came
 * out as records of 16 bytes (the frame header, then the time in nanoseconds as a big-endian u64) and the bytes.
 */
#ifndef TSNET_RELAY_H
#define TSNET_RELAY_H

#include <sys/types.h>

enum frame_type { F_STDIN = 0, F_STDOUT = 1, F_STDERR = 2, F_EXIT = 3, F_RESIZE = 4, F_CLOSE_STDIN = 5 };

/* The largest payload a client may send in one frame. */
#define RELAY_MAX_IN_FRAME 16384

struct relay_spec {
    int in_fd;      /* where STDIN goes: a pipe's write end or the terminal's master; -1: stdin is not open */
    int out_fd;     /* stdout's read end, or the terminal's master */
    int err_fd;     /* stderr's read end; -1 with a terminal */
    int tty;        /* out_fd is a terminal's master (RESIZE applies to it) */
    int log_fd;     /* where output is recorded; -1: nowhere */
    int listen_fd;  /* clients connect here (a listening unix socket); -1: one client on client_rfd/client_wfd */
    int client_rfd, client_wfd;
    int hold_ms;    /* with listen_fd: output waits for the first client, at most this long */
    int signal_fd;  /* a signalfd for SIGCHLD */
    pid_t child;
};

/* Moves the streams until the child has exited and its output is delivered; returns its wait status. */
int relay_run(const struct relay_spec *spec);

/* console.c. In the container: a terminal from its /dev/ptmx, rows x cols (0: left alone), its master sent on sock,
 * the slave made the controlling terminal and fds 0, 1 and 2. Fails the start (fail()) on any error. */
void console_in_container(int sock, int rows, int cols);
/* In the monitor: the master the container sent; -1 on error. */
int console_receive(int sock);
/* A terminal for a command exec'd in a container (the caller is in its mount namespace): the master, the slave in *slave. */
int console_open(int rows, int cols, int *slave);
/* In the process that will exec: a new session, the slave its controlling terminal and stdin, stdout, stderr. */
int console_attach(int slave);

#endif
