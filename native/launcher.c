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
 * Confinement (see docs/security.md): --caps HEXMASK (the bounding, permitted and effective set), --no-new-privs,
 *          --seccomp FILE (rules resolved by tsnet from a Docker-format profile), --mask PATH and --readonly PATH
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
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <grp.h>
#include <linux/capability.h>
#include <seccomp.h>
#include <unistd.h>

#define MAX_LIST 256

struct config {
    const char *netns, *lower, *upper, *work, *merged, *hostname, *cwd, *hosts, *resolv, *exit_file, *seccomp;
    const char *env[MAX_LIST];
    int n_env;
    const char *cgroups[MAX_LIST];
    int n_cgroups;
    const char *masked[MAX_LIST];
    int n_masked;
    const char *readonly[MAX_LIST];
    int n_readonly;
    const char *writable[MAX_LIST];
    int n_writable;
    const char *devices[MAX_LIST];
    int n_devices;
    int uid, gid, init, pid, no_new_privs, sys_rw, has_caps, seccomp_fd;
    unsigned long long caps;
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

/* --device c:1:3:0666:/dev/xyz: a node made in the container's /dev (the device cgroup decides what it may do). */
static void make_devices(struct config *c)
{
    for (int i = 0; i < c->n_devices; i++) {
        char type;
        unsigned int major, minor, mode;
        char name[4096], path[8192];
        if (sscanf(c->devices[i], "%c:%u:%u:%o:%4095s", &type, &major, &minor, &mode, name) != 5 || (type != 'c' && type != 'b') || name[0] != '/') {
            errno = EINVAL;
            fail("parse --device");
        }
        snprintf(path, sizeof(path), "%s%s", c->merged, name);
        unlink(path);
        if (mknod(path, (type == 'c' ? S_IFCHR : S_IFBLK) | (mode & 07777), makedev(major, minor)) < 0)
            fail("mknod a --device node");
        if (chmod(path, mode & 07777) < 0)
            fail("chmod a --device node");
    }
}

/* After pivot_root: masked paths (a file gets /dev/null over it, a folder an empty read-only tmpfs), read-only ones
 * (bound onto themselves, then remounted read-only), and writable ones below those (bound again, read-write). */
static void protect_paths(struct config *c)
{
    struct stat st;
    for (int i = 0; i < c->n_masked; i++) {
        if (stat(c->masked[i], &st) < 0)
            continue; /* nothing there to hide */
        if (S_ISDIR(st.st_mode))
            mount_or_fail("tmpfs", c->masked[i], "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=0", "mask a folder");
        else
            mount_or_fail("/dev/null", c->masked[i], NULL, MS_BIND, NULL, "mask a file");
    }
    for (int i = 0; i < c->n_readonly; i++) {
        if (stat(c->readonly[i], &st) < 0)
            continue;
        mount_or_fail(c->readonly[i], c->readonly[i], NULL, MS_BIND | MS_REC, NULL, "bind a read-only path");
        mount_or_fail(NULL, c->readonly[i], NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_REC, NULL, "make a path read-only");
    }
    for (int i = 0; i < c->n_writable; i++) {
        if (stat(c->writable[i], &st) < 0)
            continue;
        mount_or_fail(c->writable[i], c->writable[i], NULL, MS_BIND | MS_REC, NULL, "bind a writable path");
        /* A bind of a path on a read-only mount is read-only too: made writable explicitly. */
        mount_or_fail(NULL, c->writable[i], NULL, MS_BIND | MS_REMOUNT | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, "make a path writable");
    }
}

static uint32_t scmp_action(const char *name, unsigned int errnum)
{
    if (strcmp(name, "allow") == 0) return SCMP_ACT_ALLOW;
    if (strcmp(name, "errno") == 0) return SCMP_ACT_ERRNO(errnum);
    if (strcmp(name, "kill") == 0) return SCMP_ACT_KILL;
    if (strcmp(name, "kill_process") == 0) return SCMP_ACT_KILL_PROCESS;
    if (strcmp(name, "trap") == 0) return SCMP_ACT_TRAP;
    if (strcmp(name, "log") == 0) return SCMP_ACT_LOG;
    errno = EINVAL;
    fail("seccomp: unknown action");
    return 0;
}

static enum scmp_compare scmp_op(const char *name)
{
    static const struct { const char *name; enum scmp_compare op; } ops[] = {
        {"ne", SCMP_CMP_NE}, {"lt", SCMP_CMP_LT}, {"le", SCMP_CMP_LE}, {"eq", SCMP_CMP_EQ},
        {"ge", SCMP_CMP_GE}, {"gt", SCMP_CMP_GT}, {"masked_eq", SCMP_CMP_MASKED_EQ},
    };
    for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
        if (strcmp(name, ops[i].name) == 0)
            return ops[i].op;
    errno = EINVAL;
    fail("seccomp: unknown comparison");
    return SCMP_CMP_EQ;
}

/* One "rule ACTION ERRNO NAME NARGS [INDEX OP VALUE VALUETWO]..." line of tsnet's resolved profile. */
static void seccomp_rule(scmp_filter_ctx ctx, char *rest)
{
    char *save = NULL;
    const char *act = strtok_r(rest, " \n", &save), *err = strtok_r(NULL, " \n", &save), *name = strtok_r(NULL, " \n", &save);
    const char *nargs_text = strtok_r(NULL, " \n", &save);
    if (!act || !err || !name || !nargs_text) {
        errno = EINVAL;
        fail("seccomp: malformed rule");
    }
    int nr = seccomp_syscall_resolve_name(name);
    if (nr == __NR_SCMP_ERROR)
        return; /* a syscall this architecture does not have */
    struct scmp_arg_cmp cmps[6];
    unsigned int nargs = (unsigned int)atoi(nargs_text);
    if (nargs > 6) {
        errno = EINVAL;
        fail("seccomp: too many argument conditions");
    }
    for (unsigned int i = 0; i < nargs; i++) {
        const char *idx = strtok_r(NULL, " \n", &save), *op = strtok_r(NULL, " \n", &save);
        const char *a = strtok_r(NULL, " \n", &save), *b = strtok_r(NULL, " \n", &save);
        if (!idx || !op || !a || !b) {
            errno = EINVAL;
            fail("seccomp: malformed argument condition");
        }
        cmps[i] = (struct scmp_arg_cmp){(unsigned int)atoi(idx), scmp_op(op), strtoull(a, NULL, 10), strtoull(b, NULL, 10)};
    }
    int r = seccomp_rule_add_array(ctx, scmp_action(act, (unsigned int)atoi(err)), nr, nargs, cmps);
    /* -EACCES: the rule's action is the default one, so it changes nothing (libseccomp refuses such rules). */
    if (r < 0 && r != -EACCES) {
        errno = -r;
        fail("seccomp: add a rule");
    }
}

/* Loads tsnet's resolved profile: "default ACTION ERRNO", "arch NAME" and "rule ..." lines. The file was opened
 * before the container's root replaced the host's. */
static void load_seccomp(int fd)
{
    FILE *f = fdopen(fd, "r");
    if (!f)
        fail("read the seccomp profile");
    scmp_filter_ctx ctx = NULL;
    char line[8192];
    while (fgets(line, sizeof(line), f)) {
        char *save = NULL, *word = strtok_r(line, " \n", &save);
        if (!word)
            continue;
        if (strcmp(word, "default") == 0) {
            const char *act = strtok_r(NULL, " \n", &save), *err = strtok_r(NULL, " \n", &save);
            ctx = seccomp_init(scmp_action(act ? act : "", err ? (unsigned int)atoi(err) : 1));
            if (!ctx)
                fail("seccomp_init");
        } else if (strcmp(word, "arch") == 0 && ctx) {
            const char *name = strtok_r(NULL, " \n", &save);
            uint32_t arch = seccomp_arch_resolve_name(name ? name : "");
            int r = arch ? seccomp_arch_add(ctx, arch) : -EINVAL;
            if (r < 0 && r != -EEXIST) {
                errno = -r;
                fail("seccomp: add an architecture");
            }
        } else if (strcmp(word, "rule") == 0 && ctx) {
            seccomp_rule(ctx, save);
        } else {
            errno = EINVAL;
            fail("seccomp: malformed profile");
        }
    }
    fclose(f);
    if (!ctx) {
        errno = EINVAL;
        fail("seccomp: no default action");
    }
    int r = seccomp_load(ctx);
    seccomp_release(ctx);
    if (r < 0) {
        errno = -r;
        fail("seccomp_load");
    }
}

/* The capability sets of a process that stays root: permitted and effective = the container's, inheritable none. */
static void set_capabilities(struct config *c)
{
    if (!c->has_caps || getuid() != 0)
        return; /* a non-root user lost its capabilities at setuid */
    struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct data[2] = {{0}};
    data[0].effective = data[0].permitted = (uint32_t)(c->caps & 0xffffffffu);
    data[1].effective = data[1].permitted = (uint32_t)(c->caps >> 32);
    if (syscall(SYS_capset, &hdr, data) < 0)
        fail("capset");
}

/* Before the command runs: the bounding set cut to the container's, no_new_privs, then the seccomp filter (loaded
 * while CAP_SYS_ADMIN is still effective, so that it loads without no_new_privs too). */
static void confine(struct config *c)
{
    if (c->has_caps) {
        for (int cap = 0; cap < 64; cap++)
            if (!((c->caps >> cap) & 1ull) && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL)
                fail("drop a capability from the bounding set");
    }
    if (c->no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        fail("set no_new_privs");
    if (c->seccomp_fd >= 0)
        load_seccomp(c->seccomp_fd);
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
    mount_or_fail("sysfs", path, "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC | (c->sys_rw ? 0 : MS_RDONLY), NULL, "mount /sys");
    setup_dev(c->merged);
    make_devices(c);
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
    protect_paths(c);
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
    if (child == 0)
        become_process(c);
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

static int cmd_exec(struct config *c)
{
    static const struct {
        const char *name;
        int type;
    } order[] = {{"cgroup", CLONE_NEWCGROUP}, {"ipc", CLONE_NEWIPC}, {"uts", CLONE_NEWUTS}, {"net", CLONE_NEWNET}, {"pid", CLONE_NEWPID}, {"mnt", CLONE_NEWNS}};
    /* The container's groups first (their files are the host's paths), so that its limits hold for the command too. */
    for (int i = 0; i < c->n_cgroups; i++) {
        if (write_file(c->cgroups[i], "0") < 0) {
            fprintf(stderr, "tsnet-launcher: exec: join the cgroup %s: %s\n", c->cgroups[i], strerror(errno));
            return 126;
        }
    }
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
        confine(c);
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
    /* Only a complete file is put in place: on a full disk there is none, and tsnet reads the status this process
     * exits with (or, for a container it re-adopted, says the status is unknown), never an empty file as 0. */
    FILE *f = fopen(tmp, "w");
    if (f) {
        int ok = fprintf(f, "%d\n", code) > 0;
        ok = (fflush(f) == 0) && ok;
        ok = (fsync(fileno(f)) == 0) && ok;
        ok = (fclose(f) == 0) && ok;
        if (!ok || rename(tmp, c->exit_file) < 0)
            unlink(tmp);
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
        if (strcmp(a, "--no-new-privs") == 0) {
            c.no_new_privs = 1;
            continue;
        }
        if (strcmp(a, "--sys-rw") == 0) {
            c.sys_rw = 1;
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
        else if (strcmp(a, "--mask") == 0 && c.n_masked < MAX_LIST) c.masked[c.n_masked++] = v;
        else if (strcmp(a, "--readonly") == 0 && c.n_readonly < MAX_LIST) c.readonly[c.n_readonly++] = v;
        else if (strcmp(a, "--writable") == 0 && c.n_writable < MAX_LIST) c.writable[c.n_writable++] = v;
        else if (strcmp(a, "--device") == 0 && c.n_devices < MAX_LIST) c.devices[c.n_devices++] = v;
        else if (strcmp(a, "--seccomp") == 0) c.seccomp = v;
        else if (strcmp(a, "--caps") == 0) { c.caps = strtoull(v, NULL, 16); c.has_caps = 1; }
        else goto usage;
    }
    if (i >= argc)
        goto usage;
    c.argv = &argv[i];
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
