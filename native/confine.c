/* Confining a container's processes as Docker does: see launcher.h and docs/security.md. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <linux/capability.h>
#include <seccomp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "launcher.h"

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

/* Reads tsnet's resolved profile ("default ACTION ERRNO", "arch NAME" and "rule ..." lines) into a filter. */
static scmp_filter_ctx parse_seccomp(int fd)
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
    return ctx;
}

/* Compiles a profile once into the BPF program the kernel runs, written whole to out (through a temporary file and a
 * rename, so that a reader never sees half of it): later containers load those bytes instead of compiling. */
int seccomp_compile(const char *rules, const char *out)
{
    int in = open(rules, O_RDONLY | O_CLOEXEC);
    if (in < 0)
        fail("open the seccomp profile");
    scmp_filter_ctx ctx = parse_seccomp(in);
    char tmp[4096];
    snprintf(tmp, sizeof(tmp), "%s.tmp.%d", out, (int)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        fail("create the compiled seccomp program");
    int r = seccomp_export_bpf(ctx, fd);
    seccomp_release(ctx);
    if (r < 0 || fsync(fd) < 0 || close(fd) < 0 || rename(tmp, out) < 0) {
        if (r < 0)
            errno = -r;
        unlink(tmp);
        fail("write the compiled seccomp program");
    }
    return 0;
}

/* Loads a compiled program as libseccomp's seccomp_load would (no_new_privs first, its default). */
static void load_bpf(int fd)
{
    static struct sock_filter insns[BPF_MAXINSNS];
    ssize_t n, total = 0;
    while ((n = read(fd, (char *)insns + total, sizeof(insns) - (size_t)total)) > 0)
        total += n;
    close(fd);
    if (n < 0 || total == 0 || total % (ssize_t)sizeof(struct sock_filter) != 0) {
        errno = n < 0 ? errno : EINVAL;
        fail("read the compiled seccomp program");
    }
    struct sock_fprog prog = {.len = (unsigned short)(total / (ssize_t)sizeof(struct sock_filter)), .filter = insns};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        fail("set no_new_privs");
    if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0) < 0)
        fail("load the compiled seccomp program");
}

/* The profile opened before the container's root replaced the host's: compiled already, or compiled now. */
static void load_seccomp(struct config *c)
{
    if (c->seccomp_is_bpf) {
        load_bpf(c->seccomp_fd);
        return;
    }
    scmp_filter_ctx ctx = parse_seccomp(c->seccomp_fd);
    int r = seccomp_load(ctx);
    seccomp_release(ctx);
    if (r < 0) {
        errno = -r;
        fail("seccomp_load");
    }
}

/* The capability sets of a process that stays root: permitted and effective = the container's, inheritable none. */
void set_capabilities(struct config *c)
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
void confine(struct config *c)
{
    if (c->has_caps) {
        for (int cap = 0; cap < 64; cap++) {
            if ((c->caps >> cap) & 1ull)
                continue;
            if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0) {
                if (errno == EINVAL)
                    break; /* past the kernel's last capability */
                fail("drop a capability from the bounding set");
            }
        }
    }
    if (c->no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        fail("set no_new_privs");
    if (c->seccomp_fd >= 0)
        load_seccomp(c);
}

void apply_ulimits(struct config *c)
{
    static const struct {
        const char *name;
        int resource;
    } names[] = {{"core", RLIMIT_CORE},       {"cpu", RLIMIT_CPU},       {"data", RLIMIT_DATA},     {"fsize", RLIMIT_FSIZE},
                 {"locks", RLIMIT_LOCKS},     {"memlock", RLIMIT_MEMLOCK}, {"msgqueue", RLIMIT_MSGQUEUE}, {"nice", RLIMIT_NICE},
                 {"nofile", RLIMIT_NOFILE},   {"nproc", RLIMIT_NPROC},   {"rss", RLIMIT_RSS},       {"rtprio", RLIMIT_RTPRIO},
                 {"rttime", RLIMIT_RTTIME},   {"sigpending", RLIMIT_SIGPENDING}, {"stack", RLIMIT_STACK}, {"as", RLIMIT_AS}};
    for (int i = 0; i < c->n_ulimits; i++) {
        char name[32];
        unsigned long long soft, hard;
        if (sscanf(c->ulimits[i], "%31[a-z]=%llu:%llu", name, &soft, &hard) != 3) {
            errno = EINVAL;
            fail("parse --ulimit");
        }
        size_t k = 0;
        while (k < sizeof(names) / sizeof(names[0]) && strcmp(names[k].name, name) != 0)
            k++;
        if (k == sizeof(names) / sizeof(names[0])) {
            errno = EINVAL;
            fail("unknown --ulimit");
        }
        struct rlimit rl = {.rlim_cur = (rlim_t)soft, .rlim_max = (rlim_t)hard};
        if (setrlimit(names[k].resource, &rl) < 0)
            fail("setrlimit for --ulimit");
    }
}
