/*
 * A probe run inside containers by the confinement tests: it tries one thing a confined container must not do (or
 * must still do) and prints "ok" or the errno's name, so that the test checks the reason, not just a failure.
 *   probe keyctl | bpf | unshare-user | mount | ptrace PID | read FILE | write FILE
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/keyctl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <unistd.h>

static int report(long r)
{
    if (r < 0)
        printf("%s\n", strerrorname_np(errno));
    else
        printf("ok\n");
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return 2;
    const char *what = argv[1];
    if (strcmp(what, "keyctl") == 0)
        return report(syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, "probe"));
    if (strcmp(what, "bpf") == 0) {
        union bpf_attr attr;
        memset(&attr, 0, sizeof(attr));
        attr.map_type = BPF_MAP_TYPE_ARRAY;
        attr.key_size = 4;
        attr.value_size = 4;
        attr.max_entries = 1;
        return report(syscall(SYS_bpf, BPF_MAP_CREATE, &attr, sizeof(attr)));
    }
    if (strcmp(what, "unshare-user") == 0)
        return report(unshare(CLONE_NEWUSER));
    if (strcmp(what, "mount") == 0)
        return report(mount("none", "/tmp", "tmpfs", 0, NULL));
    if (strcmp(what, "ptrace") == 0 && argc > 2)
        return report(ptrace(PTRACE_ATTACH, atoi(argv[2]), NULL, NULL));
    if (strcmp(what, "read") == 0 && argc > 2) {
        char buf[16];
        int fd = open(argv[2], O_RDONLY);
        return report(fd < 0 ? -1 : read(fd, buf, sizeof(buf)));
    }
    if (strcmp(what, "write") == 0 && argc > 2) {
        int fd = open(argv[2], O_WRONLY);
        return report(fd < 0 ? -1 : 0);
    }
    return 2;
}
