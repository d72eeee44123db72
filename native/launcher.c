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
 * Options: --netns PATH --lower DIR --upper DIR --work DIR --merged DIR --hostname NAME --cwd DIR --uid N --gid N
 *          --hosts FILE --resolv FILE --env K=V (repeated) --cgroup-procs FILE (repeated) --init --exit-file FILE
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
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <grp.h>
#include <unistd.h>

#define MAX_LIST 256

struct config {
    const char *netns, *lower, *upper, *work, *merged, *hostname, *cwd, *hosts, *resolv, *exit_file;
    const char *env[MAX_LIST];
    int n_env;
    const char *cgroups[MAX_LIST];
    int n_cgroups;
    int uid, gid, init, pid;
    char **argv;
};

static int report_fd = -1; /* the child's end of the error pipe */

/* In the child: tell the launcher which step failed, and stop. */
static void fail(const char *step)
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

static void mount_or_fail(const char *src, const char *dst, const char *type, unsigned long flags, const char *data, const char *step)
{
    if (mount(src, dst, type, flags, data) < 0)
        fail(step);
}

/* A file or folder to bind onto must exist in the rootfs. */
static void ensure_target(const char *path, int is_dir)
{
    struct stat st;
    if (stat(path, &st) == 0)
        return;
    if (is_dir) {
        mkdir(path, 0755);
    } else {
        int fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
        if (fd >= 0)
            close(fd);
    }
}

static void setup_dev(const char *root)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/dev", root);
    ensure_target(path, 1);
    mount_or_fail("tmpfs", path, "tmpfs", MS_NOSUID | MS_STRICTATIME, "mode=755,size=65536k", "mount /dev");
    static const char *nodes[] = {"null", "zero", "full", "random", "urandom", "tty"};
    for (size_t i = 0; i < sizeof(nodes) / sizeof(nodes[0]); i++) {
        char src[64], dst[4096];
        snprintf(src, sizeof(src), "/dev/%s", nodes[i]);
        snprintf(dst, sizeof(dst), "%s/dev/%s", root, nodes[i]);
        ensure_target(dst, 0);
        mount_or_fail(src, dst, NULL, MS_BIND, NULL, "bind /dev node");
    }
    snprintf(path, sizeof(path), "%s/dev/pts", root);
    ensure_target(path, 1);
    mount_or_fail("devpts", path, "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620", "mount /dev/pts");
    snprintf(path, sizeof(path), "%s/dev/shm", root);
    ensure_target(path, 1);
    mount_or_fail("shm", path, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=1777,size=65536k", "mount /dev/shm");
    char link[4096];
    snprintf(link, sizeof(link), "%s/dev/ptmx", root);
    if (symlink("pts/ptmx", link) < 0 && errno != EEXIST)
        fail("symlink /dev/ptmx");
}

/* In the new namespaces: the root filesystem, then pivot_root into it, then the process's identity. */
static void setup_container(struct config *c)
{
    char path[4096];
    mount_or_fail(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL, "make / private");
    char opts[8192];
    snprintf(opts, sizeof(opts), "lowerdir=%s,upperdir=%s,workdir=%s", c->lower, c->upper, c->work);
    mount_or_fail("overlay", c->merged, "overlay", 0, opts, "mount overlay");
    snprintf(path, sizeof(path), "%s/proc", c->merged);
    ensure_target(path, 1);
    mount_or_fail("proc", path, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, "mount /proc");
    snprintf(path, sizeof(path), "%s/sys", c->merged);
    ensure_target(path, 1);
    mount_or_fail("sysfs", path, "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY, NULL, "mount /sys");
    setup_dev(c->merged);
    snprintf(path, sizeof(path), "%s/etc", c->merged);
    ensure_target(path, 1);
    if (c->hosts) {
        snprintf(path, sizeof(path), "%s/etc/hosts", c->merged);
        ensure_target(path, 0);
        mount_or_fail(c->hosts, path, NULL, MS_BIND, NULL, "bind /etc/hosts");
    }
    if (c->resolv) {
        snprintf(path, sizeof(path), "%s/etc/resolv.conf", c->merged);
        ensure_target(path, 0);
        mount_or_fail(c->resolv, path, NULL, MS_BIND, NULL, "bind /etc/resolv.conf");
    }
    snprintf(path, sizeof(path), "%s/.pivot", c->merged);
    ensure_target(path, 1);
    if (syscall(SYS_pivot_root, c->merged, path) < 0)
        fail("pivot_root");
    if (chdir("/") < 0)
        fail("chdir /");
    if (umount2("/.pivot", MNT_DETACH) < 0)
        fail("umount old root");
    rmdir("/.pivot");
    if (c->hostname && sethostname(c->hostname, strlen(c->hostname)) < 0)
        fail("sethostname");
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
    if (child == 0)
        become_process(c);
    close(report_fd);
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
    setup_container(c);
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

static int cmd_exec(struct config *c)
{
    static const struct {
        const char *name;
        int type;
    } order[] = {{"ipc", CLONE_NEWIPC}, {"uts", CLONE_NEWUTS}, {"net", CLONE_NEWNET}, {"pid", CLONE_NEWPID}, {"mnt", CLONE_NEWNS}};
    for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
        if (join_ns(c->pid, order[i].name, order[i].type) < 0) {
            fprintf(stderr, "tsnet-launcher: exec: join the %s namespace of %d: %s\n", order[i].name, c->pid, strerror(errno));
            return 126;
        }
    }
    if (chdir("/") < 0)
        return 126;
    pid_t child = fork(); /* the new PID namespace applies to children only */
    if (child < 0)
        return 126;
    if (child == 0) {
        report_fd = 2;
        become_process(c);
    }
    int st;
    while (waitpid(child, &st, 0) < 0 && errno == EINTR)
        ;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static int cmd_run(struct config *c)
{
    if (!c->lower || !c->upper || !c->work || !c->merged || !c->exit_file) {
        tell("error usage: run needs --lower, --upper, --work, --merged and --exit-file");
        return 2;
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
    if (pipe2(pipefd, O_CLOEXEC) < 0) {
        tell("error pipe");
        return 1;
    }
    report_fd = pipefd[1];
    static char stack[1024 * 1024];
    pid_t pid = clone(child_main, stack + sizeof(stack), CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | SIGCHLD, c);
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
    /* Monitor: ignore the signals meant for the container, wait for it, record how it ended. */
    signal(SIGINT, SIG_IGN);
    signal(SIGHUP, SIG_IGN);
    int st;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    int code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    char tmp[4096];
    snprintf(tmp, sizeof(tmp), "%s.tmp", c->exit_file);
    FILE *f = fopen(tmp, "w");
    if (f) {
        fprintf(f, "%d\n", code);
        fclose(f);
        rename(tmp, c->exit_file);
    }
    return code;
}

int main(int argc, char **argv)
{
    struct config c = {.uid = 0, .gid = 0};
    if (argc < 2)
        goto usage;
    const char *mode = argv[1];
    int i = 2;
    for (; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--") == 0) {
            i++;
            break;
        }
        if (strcmp(a, "--init") == 0) {
            c.init = 1;
            continue;
        }
        if (i + 1 >= argc)
            goto usage;
        const char *v = argv[++i];
        if (strcmp(a, "--netns") == 0) c.netns = v;
        else if (strcmp(a, "--lower") == 0) c.lower = v;
        else if (strcmp(a, "--upper") == 0) c.upper = v;
        else if (strcmp(a, "--work") == 0) c.work = v;
        else if (strcmp(a, "--merged") == 0) c.merged = v;
        else if (strcmp(a, "--hostname") == 0) c.hostname = v;
        else if (strcmp(a, "--cwd") == 0) c.cwd = v;
        else if (strcmp(a, "--hosts") == 0) c.hosts = v;
        else if (strcmp(a, "--resolv") == 0) c.resolv = v;
        else if (strcmp(a, "--exit-file") == 0) c.exit_file = v;
        else if (strcmp(a, "--uid") == 0) c.uid = atoi(v);
        else if (strcmp(a, "--gid") == 0) c.gid = atoi(v);
        else if (strcmp(a, "--pid") == 0) c.pid = atoi(v);
        else if (strcmp(a, "--env") == 0 && c.n_env < MAX_LIST) c.env[c.n_env++] = v;
        else if (strcmp(a, "--cgroup-procs") == 0 && c.n_cgroups < MAX_LIST) c.cgroups[c.n_cgroups++] = v;
        else goto usage;
    }
    if (i >= argc)
        goto usage;
    c.argv = &argv[i];
    if (strcmp(mode, "run") == 0)
        return cmd_run(&c);
    if (strcmp(mode, "exec") == 0 && c.pid > 0)
        return cmd_exec(&c);
usage:
    fprintf(stderr, "usage: tsnet-launcher run|exec [options] -- CMD [ARGS...]\n");
    return 2;
}
