/*
 * tsnet-launcher: starts a container, or a process inside a running one. Node cannot fork into namespaces, so this
 * small program does the part that must happen between fork and exec. Everything else (images, state, cgroups,
 * networks) is TypeScript.
 *
 *   tsnet-launcher run  [options] -- CMD [ARGS...]   new PID, mount, UTS and IPC namespaces; joins --netns;
 *                                                     overlay root; pivot_root; exec. Stays as the container's
 *                                                     monitor: waits for it and writes its exit status to --exit-file.
 *   tsnet-launcher exec --pid PID [options] -- CMD   joins all of PID's namespaces and runs CMD there; exits with
 *                                                     CMD's status.
 *
 * Options: --netns PATH --lower DIR[:DIR...] --upper DIR --work DIR --merged DIR (where the root is mounted; by default
 *          over the top lower folder, in the container's mount namespace only) --hostname NAME --cwd DIR --uid N --gid N
 *          --hosts FILE --resolv FILE --env K=V (repeated) --cgroup-procs FILE (repeated) --init --exit-file FILE
 *          --read-only --tmpfs PATH[:OPTS] (repeated) --shm-size SIZE --ulimit NAME=SOFT:HARD (repeated)
 *          --bind SRC DST ro|rw (repeated: volumes and bind mounts)
 * Streams (relay.h; the launcher owns them, so they outlive the daemon): --tty (a terminal), --tty-size ROWS,COLS,
 *          --stdin (kept open for clients), and for run --log FILE (the output, recorded), --attach-socket PATH (where
 *          clients connect), --hold-ms N (output waits that long for the first client); for exec --relay (frames on
 *          fds 0 and 1 instead of the launcher's own streams).
 * Confinement (see docs/security.md): --caps HEXMASK (the bounding, permitted and effective set), --no-new-privs,
 *          --seccomp FILE (rules resolved by tsnet from a Docker-format profile) or --seccomp-bpf FILE (them compiled,
 *          by `tsnet-launcher seccomp-compile RULES OUT`), --mask PATH and --readonly PATH
 *          (repeated; inside the container), --writable PATH (repeated: made writable again below a read-only one),
 *          --device c|b:MAJOR:MINOR:MODE:PATH (repeated: a node made in the container's /dev), --sys-rw (privileged).
 *          Without --caps the process keeps every capability the launcher has: tsnet always passes one.
 *
 * Synchronisation (like runc's): the child reports a failing step over a close-on-exec pipe as "step: ERRNO"; if
 * exec succeeds the pipe closes empty. The launcher then writes "ok PID\n" (or "error step: ERRNO (text)\n") to
 * file descriptor 3, which the caller reads, and closes it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <grp.h>
#include <unistd.h>

#include "launcher.h"
#include "relay.h"

static int report_fd = -1; /* the child's end of the error pipe */

void fail(const char *step)
{
    char msg[512];
    int n = snprintf(msg, sizeof(msg), "%s: %s (%s)", step, strerrorname_np(errno) ? strerrorname_np(errno) : "?", strerror(errno));
    if (report_fd >= 0 && write(report_fd, msg, (size_t)n) < 0) {
        /* nothing more can be done: the launcher sees an empty report and a dead child */
    }
    _exit(127);
}

static int write_file(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = write(fd, text, strlen(text));
    close(fd);
    return n < 0 ? -1 : 0;
}

static void become_process(struct config *c)
{
    if (c->cwd && chdir(c->cwd) < 0)
        fail("chdir to the working directory");
    if (setgroups(0, NULL) < 0 && errno != EPERM)
        fail("setgroups");
    if (setgid((gid_t)c->gid) < 0)
        fail("setgid");
    if (setuid((uid_t)c->uid) < 0)
        fail("setuid");
    set_capabilities(c);
    clearenv();
    for (int i = 0; i < c->n_env; i++)
        putenv((char *)c->env[i]);
    if (getenv("PATH") == NULL)
        putenv("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
    execvp(c->argv[0], c->argv);
    fail("exec");
}

static volatile pid_t forward_to = 0;
static void forward_signal(int sig)
{
    if (forward_to > 0)
        kill(forward_to, sig);
}

/* PID 1 of the container with --init: run the command as PID 2, forward signals, reap every zombie. */
static int run_init(struct config *c)
{
    pid_t child = fork();
    if (child < 0)
        fail("fork the command");
    if (child == 0) {
        if (c->tty)
            setpgid(0, 0);
        become_process(c);
    }
    if (c->tty) { /* the command's group is the terminal's foreground: Ctrl-C reaches it */
        setpgid(child, child);
        tcsetpgrp(0, child);
    }
    close(report_fd);
    set_capabilities(c); /* PID 1 stays root, with the container's capabilities and no more */
    forward_to = child;
    int sigs[] = {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2};
    for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
        signal(sigs[i], forward_signal);
    int status = 0;
    for (;;) {
        int st;
        pid_t p = wait(&st);
        if (p < 0 && errno == ECHILD)
            break;
        if (p == child)
            status = st;
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static int child_main(void *arg)
{
    struct config *c = arg;
    close(3); /* the caller's sync pipe is the launcher's to close, not the container's to keep open */
    for (int i = 0; i < c->n_cgroups; i++)
        if (write_file(c->cgroups[i], "0") < 0)
            fail("join cgroup");
    /* A cgroup namespace rooted at the container's own groups: it sees nothing of the host's hierarchy. */
    if (unshare(CLONE_NEWCGROUP) < 0)
        fail("unshare the cgroup namespace");
    setup_container(c);
    streams_in_child(c, c->streams);
    apply_ulimits(c);
    confine(c);
    if (c->init)
        _exit(run_init(c));
    become_process(c);
    return 127;
}

static void tell(const char *text)
{
    dprintf(3, "%s\n", text);
    close(3);
}

static int join_ns(pid_t pid, const char *name, int type)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/ns/%s", pid, name);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int r = setns(fd, type);
    close(fd);
    return r;
}

/* A failure of exec before the command runs: on stderr, or with --relay as frames the client reads. */
#define EXEC_FAIL(c, ...)                                                                                              \
    do {                                                                                                               \
        if ((c)->exec_mode)                                                                                            \
            streams_say_failure(126, __VA_ARGS__);                                                                     \
        else                                                                                                           \
            fprintf(stderr, "tsnet-launcher: " __VA_ARGS__), fputc('\n', stderr);                                      \
        return 126;                                                                                                    \
    } while (0)

static int cmd_exec(struct config *c)
{
    static const struct {
        const char *name;
        int type;
    } order[] = {{"cgroup", CLONE_NEWCGROUP}, {"ipc", CLONE_NEWIPC}, {"uts", CLONE_NEWUTS}, {"net", CLONE_NEWNET}, {"pid", CLONE_NEWPID}, {"mnt", CLONE_NEWNS}};
    /* The container's groups first (their files are the host's paths), so that its limits hold for the command too. */
    for (int i = 0; i < c->n_cgroups; i++)
        if (write_file(c->cgroups[i], "0") < 0)
            EXEC_FAIL(c, "exec: join the cgroup %s: %s", c->cgroups[i], strerror(errno));
    for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++)
        if (join_ns(c->pid, order[i].name, order[i].type) < 0)
            EXEC_FAIL(c, "exec: join the %s namespace of %d: %s", order[i].name, c->pid, strerror(errno));
    if (chdir("/") < 0)
        EXEC_FAIL(c, "exec: chdir /: %s", strerror(errno));
    struct streams streams;
    if (c->exec_mode && streams_prepare(c, &streams) < 0) /* in the container's mounts: its /dev/ptmx */
        EXEC_FAIL(c, "exec: set up the streams: %s", strerror(errno));
    pid_t child = fork(); /* the new PID namespace applies to children only */
    if (child < 0)
        EXEC_FAIL(c, "exec: fork: %s", strerror(errno));
    if (child == 0) {
        report_fd = 2;
        if (c->exec_mode)
            streams_in_child(c, &streams);
        apply_ulimits(c);
        confine(c);
        become_process(c);
    }
    int st;
    if (c->exec_mode)
        st = streams_relay(c, &streams, child);
    else
        while (waitpid(child, &st, 0) < 0 && errno == EINTR)
            ;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static int cmd_run(struct config *c)
{
    if (!c->lower || !c->upper || !c->work || !c->exit_file) {
        tell("error usage: run needs --lower, --upper, --work and --exit-file");
        return 2;
    }
    /* The layer's folders are made at the first start (the daemon does not wait for them at create). */
    if ((mkdir(c->upper, 0755) < 0 && errno != EEXIST) || (mkdir(c->work, 0755) < 0 && errno != EEXIST)) {
        char msg[512];
        snprintf(msg, sizeof(msg), "error make the container's layer folders: %s (%s)", strerrorname_np(errno), strerror(errno));
        tell(msg);
        return 1;
    }
    /* The launcher joins the sandbox's network namespace itself, so the child is born in it. */
    if (c->netns) {
        int fd = open(c->netns, O_RDONLY | O_CLOEXEC);
        if (fd < 0 || setns(fd, CLONE_NEWNET) < 0) {
            char msg[512];
            snprintf(msg, sizeof(msg), "error join network namespace %s: %s (%s)", c->netns, strerrorname_np(errno), strerror(errno));
            tell(msg);
            return 1;
        }
        close(fd);
    }
    int pipefd[2];
    struct streams streams;
    if (pipe2(pipefd, O_CLOEXEC) < 0 || streams_prepare(c, &streams) < 0) {
        char msg[256];
        snprintf(msg, sizeof(msg), "error set up the streams: %s (%s)", strerrorname_np(errno), strerror(errno));
        tell(msg);
        return 1;
    }
    c->streams = &streams;
    report_fd = pipefd[1];
    static char stack[1024 * 1024];
    /* Without --init the child only prepares and execs: it borrows this process's memory until then (as vfork does),
     * which spares copying the page tables. With --init it stays as the container's PID 1, so it gets a copy. */
    int share = c->init ? 0 : CLONE_VM | CLONE_VFORK;
    pid_t pid = clone(child_main, stack + sizeof(stack), CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | share | SIGCHLD, c);
    if (pid < 0) {
        char msg[256];
        snprintf(msg, sizeof(msg), "error clone: %s (%s)", strerrorname_np(errno), strerror(errno));
        tell(msg);
        return 1;
    }
    close(pipefd[1]);
    char report[512] = {0};
    ssize_t n = read(pipefd[0], report, sizeof(report) - 1);
    close(pipefd[0]);
    if (n > 0) {
        char msg[600];
        snprintf(msg, sizeof(msg), "error %s", report);
        tell(msg);
        waitpid(pid, NULL, 0);
        return 1;
    }
    char ok[64];
    snprintf(ok, sizeof(ok), "ok %d", pid);
    tell(ok);
    /* Monitor: ignore the signals meant for the container, relay its streams until it ends, record how it ended. */
    signal(SIGINT, SIG_IGN);
    signal(SIGHUP, SIG_IGN);
    int st = streams_relay(c, &streams, pid);
    int code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    char tmp[4096];
    snprintf(tmp, sizeof(tmp), "%s.tmp", c->exit_file);
    /* Only a complete file is put in place: on a full disk there is none, and tsnet reads the status this process
     * exits with (or, for a container it re-adopted, says the status is unknown), never an empty file as 0. Not
     * synced: it must outlive a daemon's crash (the page cache does), not a power loss, after which the container
     * is gone anyway and its status unknown; a hundred containers removed at once would wait on a hundred syncs. */
    FILE *f = fopen(tmp, "w");
    if (f) {
        int ok = fprintf(f, "%d\n", code) > 0;
        ok = (fflush(f) == 0) && ok;
        ok = (fclose(f) == 0) && ok;
        if (!ok || rename(tmp, c->exit_file) < 0)
            unlink(tmp);
    }
    return code;
}

int launcher_main(int argc, char **argv)
{
    struct config c = {.uid = 0, .gid = 0};
    if (argc < 2)
        goto usage;
    const char *mode = argv[1];
    if (strcmp(mode, "spawner") == 0 && argc == 2)
        return cmd_spawner(argv[1]);
    if (strcmp(mode, "delay-relay") == 0)
        return cmd_delay_relay(argc, argv);
    if (strcmp(mode, "whiteouts") == 0 && argc == 3)
        return cmd_whiteouts(argv[2]);
    if (strcmp(mode, "opaque-marks") == 0 && argc == 4)
        return cmd_opaque_marks(argv[2], argv[3]);
    if (strcmp(mode, "export") == 0 && argc == 4)
        return cmd_export(argv[2], argv[3]);
    if (strcmp(mode, "seccomp-compile") == 0 && argc == 4) {
        report_fd = 2; /* a failure is said on stderr */
        return seccomp_compile(argv[2], argv[3]);
    }
    if (parse_options(argc, argv, &c) < 0)
        goto usage;
    /* Opened now: after pivot_root (run) or setns into the container's mounts (exec) the path means nothing. */
    c.seccomp_fd = -1;
    if (c.seccomp && (c.seccomp_fd = open(c.seccomp, O_RDONLY | O_CLOEXEC)) < 0) {
        char msg[600];
        snprintf(msg, sizeof(msg), "error open the seccomp profile %s: %s (%s)", c.seccomp, strerrorname_np(errno), strerror(errno));
        if (strcmp(mode, "run") == 0)
            tell(msg);
        else
            fprintf(stderr, "tsnet-launcher: %s\n", msg);
        return strcmp(mode, "run") == 0 ? 1 : 126;
    }
    if (strcmp(mode, "run") == 0)
        return cmd_run(&c);
    if (strcmp(mode, "exec") == 0 && c.pid > 0)
        return cmd_exec(&c);
usage:
    fprintf(stderr, "usage: tsnet-launcher run|exec [options] -- CMD [ARGS...]\n");
    return 2;
}

int main(int argc, char **argv)
{
    return launcher_main(argc, argv);
}
