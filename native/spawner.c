/*
 * `tsnet-launcher spawner`: starts launchers for the daemon. Forking the daemon itself costs about 10 ms a container
 * (libuv forks the whole Node process and waits for the exec, with the event loop stopped); this small process forks
 * in a fraction of a millisecond. It reads requests on stdin and writes what happens on stdout:
 *
 *   request:  u32 length (host order), then NUL-terminated strings: ID, LOG FILE, ARGV[0] (the program), ARGV[1]...
 *   answers:  "R ID PID REPORT\n"  the launcher's report on its fd 3 ("ok PID" or "error ..."), when it closes it
 *             "X ID CODE\n"        the launcher exited: its status, or -SIGNAL when a signal ended it
 *             "E ID ERROR\n"       it could not be started
 *
 * The launchers it starts are session leaders of their own; when the daemon goes (stdin closes) the spawner ends and
 * they go on alone, as they do when the daemon starts them itself. When the program asked for is this very file, the
 * fork runs the launcher's code itself instead of exec'ing it again: an exec and the C library's start cost about
 * 2 ms of CPU here, a tenth of what starting a container costs.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "launcher.h"

#define MAX_CHILDREN 4096
#define MAX_ARGS 1024

struct child {
    char id[80];
    pid_t pid;
    int report_fd; /* -1 once the report is in */
    char report[512];
    size_t len;
};

static struct child children[MAX_CHILDREN];
static struct stat self; /* this program's file, to tell a request for it */

/* Whether path is this program's file (one rebuilt since the spawner started is another: it is exec'd). */
static int is_self(const char *path)
{
    struct stat st;
    return self.st_ino != 0 && stat(path, &st) == 0 && st.st_dev == self.st_dev && st.st_ino == self.st_ino;
}

static char *mode_word; /* "spawner", in this process's own command line (its argv[1]) */

/* In the fork, instead of exec: only fds 0-3 kept (exec would have closed the others, all close-on-exec), the
 * command line that ps shows renamed (the same length: "tsnet-launcher monitor"), then the launcher's main. */
static void run_in_fork(char **argv, int argc)
{
    close_range(4, ~0U, 0);
    if (mode_word)
        memcpy(mode_word, "monitor", 7);
    exit(launcher_main(argc, argv));
}

static void say(const char *kind, const char *id, const char *text)
{
    dprintf(1, "%s %s %s\n", kind, id, text);
}

static struct child *slot(void)
{
    for (int i = 0; i < MAX_CHILDREN; i++)
        if (children[i].pid == 0)
            return &children[i];
    return NULL;
}

/* Starts one launcher from a request's strings. */
static void start(char **s, int n)
{
    if (n < 3) {
        say("E", n > 0 ? s[0] : "?", "malformed request");
        return;
    }
    struct child *c = slot();
    int p[2] = {-1, -1};
    int log = open(s[1], O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (!c || log < 0 || pipe2(p, O_CLOEXEC) < 0 || fcntl(p[0], F_SETFL, O_NONBLOCK) < 0) {
        char msg[256];
        snprintf(msg, sizeof(msg), "%s: %s", !c ? "too many containers" : log < 0 ? "open the log" : "pipe", strerror(errno));
        say("E", s[0], msg);
        if (log >= 0)
            close(log);
        return;
    }
    int own = is_self(s[2]);
    pid_t pid = fork();
    if (pid == 0) {
        int null = open("/dev/null", O_RDONLY);
        setsid();
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        if (null < 0 || dup2(null, 0) < 0 || dup2(log, 1) < 0 || dup2(log, 2) < 0 || dup2(p[1], 3) < 0)
            _exit(127);
        if (own)
            run_in_fork(&s[2], n - 2);
        execv(s[2], &s[2]);
        _exit(127);
    }
    close(p[1]);
    close(log);
    if (pid < 0) {
        close(p[0]);
        say("E", s[0], strerror(errno));
        return;
    }
    memset(c, 0, sizeof(*c));
    snprintf(c->id, sizeof(c->id), "%s", s[0]);
    c->pid = pid;
    c->report_fd = p[0];
}

/* Reads the report of a launcher; when its fd 3 closes (or, with force, when nothing more is there), says it. */
static void read_report(struct child *c, int force)
{
    for (;;) {
        ssize_t n = read(c->report_fd, c->report + c->len, sizeof(c->report) - 1 - c->len);
        if (n > 0) {
            c->len += (size_t)n;
            if (c->len >= sizeof(c->report) - 1)
                break;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN && !force)
            return;
        break; /* end of file, an error, or forced with nothing more to read */
    }
    close(c->report_fd);
    c->report_fd = -1;
    c->report[c->len] = '\0';
    for (char *q = c->report; *q; q++)
        if (*q == '\n')
            *q = ' ';
    char text[600];
    snprintf(text, sizeof(text), "%d %s", (int)c->pid, c->report);
    say("R", c->id, text);
}

/* Reaps exited launchers, reporting each (after its report, which its exit closes). */
static void reap(void)
{
    int status;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        for (int i = 0; i < MAX_CHILDREN; i++) {
            struct child *c = &children[i];
            if (c->pid != pid)
                continue;
            if (c->report_fd >= 0)
                read_report(c, 1);
            char code[32];
            snprintf(code, sizeof(code), "%d", WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status));
            say("X", c->id, code);
            c->pid = 0;
        }
    }
}

/* One request from stdin; 0 when stdin is closed. */
static int read_request(void)
{
    uint32_t len;
    if (read(0, &len, sizeof(len)) != (ssize_t)sizeof(len) || len == 0 || len > (1u << 20))
        return 0;
    char *buf = malloc(len + 1);
    size_t got = 0;
    while (buf && got < len) {
        ssize_t n = read(0, buf + got, len - got);
        if (n <= 0) {
            free(buf);
            return 0;
        }
        got += (size_t)n;
    }
    if (!buf)
        return 0;
    buf[len] = '\0';
    char *strings[MAX_ARGS + 1];
    int n = 0;
    for (size_t i = 0; i < len && n < MAX_ARGS; i += strlen(buf + i) + 1)
        strings[n++] = buf + i;
    strings[n] = NULL;
    start(strings, n);
    free(buf);
    return 1;
}

int cmd_spawner(char *mode)
{
    mode_word = mode;
    setvbuf(stdout, NULL, _IONBF, 0);
    if (stat("/proc/self/exe", &self) < 0)
        self.st_ino = 0; /* then every launcher is exec'd */
    sigset_t chld;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    sigprocmask(SIG_BLOCK, &chld, NULL);
    int sfd = signalfd(-1, &chld, SFD_CLOEXEC);
    fcntl(0, F_SETFD, FD_CLOEXEC);
    fcntl(1, F_SETFD, FD_CLOEXEC);
    if (sfd < 0)
        return 1;
    static struct pollfd fds[MAX_CHILDREN + 2];
    static struct child *owners[MAX_CHILDREN + 2];
    for (;;) {
        int n = 0;
        fds[n++] = (struct pollfd){.fd = 0, .events = POLLIN};
        fds[n++] = (struct pollfd){.fd = sfd, .events = POLLIN};
        for (int i = 0; i < MAX_CHILDREN; i++) {
            if (children[i].pid && children[i].report_fd >= 0) {
                owners[n] = &children[i];
                fds[n++] = (struct pollfd){.fd = children[i].report_fd, .events = POLLIN};
            }
        }
        if (poll(fds, (nfds_t)n, -1) < 0) {
            if (errno == EINTR)
                continue;
            return 1;
        }
        for (int i = 2; i < n; i++)
            if (fds[i].revents && owners[i]->report_fd >= 0)
                read_report(owners[i], 0);
        if (fds[1].revents) {
            struct signalfd_siginfo info;
            if (read(sfd, &info, sizeof(info)) < 0 && errno != EAGAIN)
                return 1;
            reap();
        }
        if (fds[0].revents && !read_request())
            return 0;
    }
}
