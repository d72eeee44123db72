/*
 * tsnet's native side: the few things JavaScript cannot do by itself.
 *
 * It opens netlink sockets inside a given network namespace, moves bytes, creates and deletes persistent
 * network namespaces (bind mounts, like `ip netns add`) and writes sysctl files inside a namespace.
 * No message is built or parsed here: all of that is TypeScript (src/netlink/).
 *
 * Conventions: every function returns >= 0 on success or -errno on failure, so that no errno is read across the
 * FFI boundary. A function that enters another namespace on the calling thread always returns to the original
 * one before it returns; if it cannot, the process is in a state nobody can reason about, and it aborts.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/netlink.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

#ifndef NETLINK_EXT_ACK
#define NETLINK_EXT_ACK 11
#endif
#ifndef NETLINK_GET_STRICT_CHK
#define NETLINK_GET_STRICT_CHK 12
#endif

#define EXPORT __attribute__((visibility("default")))

/* Enters the namespace at ns_path on this thread; *saved receives an fd of the namespace to return to.
 * An empty or NULL path means "stay where we are" and sets *saved to -1. */
static int enter_netns(const char *ns_path, int *saved)
{
    *saved = -1;
    if (ns_path == NULL || ns_path[0] == '\0')
        return 0;
    int target = open(ns_path, O_RDONLY | O_CLOEXEC);
    if (target < 0)
        return -errno;
    int self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    if (self < 0) {
        int err = -errno;
        close(target);
        return err;
    }
    if (setns(target, CLONE_NEWNET) < 0) {
        int err = -errno;
        close(target);
        close(self);
        return err;
    }
    close(target);
    *saved = self;
    return 0;
}

static void leave_netns(int saved)
{
    if (saved < 0)
        return;
    if (setns(saved, CLONE_NEWNET) < 0) {
        /* The thread would stay in a foreign namespace and every later call would act on the wrong host. */
        fprintf(stderr, "tsnet native: cannot return to the original network namespace: %s\n", strerror(errno));
        abort();
    }
    close(saved);
}

/* A socket (close-on-exec) made inside the namespace at ns_path (NULL: the caller's): it stays bound to that
 * namespace after the thread returns to its own. Returns the fd, or -errno. */
static int socket_in_netns(const char *ns_path, int domain, int type, int protocol)
{
    int saved, err = enter_netns(ns_path, &saved);
    if (err < 0)
        return err;
    int fd = socket(domain, type | SOCK_CLOEXEC, protocol);
    if (fd < 0)
        err = -errno;
    leave_netns(saved);
    return fd < 0 ? err : fd;
}

/* Opens a netlink socket of the given protocol inside the namespace at ns_path (NULL: the caller's). */
EXPORT int tsnl_socket_open(const char *ns_path, int protocol, int rcvbuf)
{
    int err, fd = socket_in_netns(ns_path, AF_NETLINK, SOCK_RAW, protocol);
    if (fd < 0)
        return fd;

    int one = 1;
    /* Both options are best effort: old kernels lack them and the codec copes without. */
    setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
    setsockopt(fd, SOL_NETLINK, NETLINK_GET_STRICT_CHK, &one, sizeof(one));
    /* Pipelined requests queue one ACK each: a large buffer keeps them from being dropped (ENOBUFS). FORCE
     * passes net.core.rmem_max when we are root; otherwise the plain option gets what the limit allows. */
    if (rcvbuf > 0 && setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)) < 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
    /* An nf_tables transaction must reach the kernel in one send, which the send buffer bounds (212 KB by
     * default): the same size as the receive buffer lets a whole firewall go in one. */
    if (rcvbuf > 0 && setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &rcvbuf, sizeof(rcvbuf)) < 0)
        setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &rcvbuf, sizeof(rcvbuf));

    struct sockaddr_nl local = {.nl_family = AF_NETLINK};
    if (bind(fd, (struct sockaddr *)&local, sizeof(local)) < 0) {
        err = -errno;
        close(fd);
        return err;
    }
    return fd;
}

/* A new descriptor of the network namespace the socket lives in (SIOCGSKNS): what IFLA_NET_NS_FD takes, without a
 * walk of the namespace's path. Returns the fd (close-on-exec), or -errno. */
EXPORT int tsnl_socket_netns(int fd)
{
    int ns = ioctl(fd, SIOCGSKNS);
    return ns < 0 ? -errno : ns;
}

/* Sends len bytes (one or many netlink messages) to the kernel. */
EXPORT int tsnl_send(int fd, const void *buf, int len)
{
    struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
    ssize_t n;
    do
        n = sendto(fd, buf, (size_t)len, 0, (struct sockaddr *)&kernel, sizeof(kernel));
    while (n < 0 && errno == EINTR);
    return n < 0 ? -errno : (int)n;
}

/* Receives one datagram, waiting at most timeout_ms (0: do not wait). -EAGAIN when nothing came in time.
 * A datagram larger than len is reported as -EMSGSIZE rather than silently cut. */
EXPORT int tsnl_recv(int fd, void *buf, int len, int timeout_ms)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    int r;
    do
        r = poll(&p, 1, timeout_ms);
    while (r < 0 && errno == EINTR);
    if (r < 0)
        return -errno;
    if (r == 0)
        return -EAGAIN;
    ssize_t n;
    do
        n = recv(fd, buf, (size_t)len, MSG_DONTWAIT | MSG_TRUNC);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return -errno;
    if (n > len)
        return -EMSGSIZE;
    return (int)n;
}

EXPORT int tsnl_close(int fd)
{
    return close(fd) < 0 ? -errno : 0;
}

/* An exclusive lock on a file, held by the returned descriptor until it is closed or the process ends (so a
 * killed daemon never leaves a stale lock): the daemon's lock on its root. Returns the fd, -EWOULDBLOCK when another
 * process holds it, or -errno. */
EXPORT int tsnl_lock_file(const char *path)
{
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        return -errno;
    if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    return fd;
}

/* Binds (never listens) a socket of the given family, type and protocol to addr:port inside the namespace at
 * ns_path: holding it reserves a published host port, so that another program's bind fails instead of silently
 * losing its traffic to DNAT. addr is 4 or 16 bytes; port 0 lets the kernel pick from ip_local_port_range.
 * Returns the fd (close-on-exec), or -errno. */
EXPORT int tsnl_port_bind(const char *ns_path, int family, int type, int protocol, const void *addr, int port)
{
    int err, fd = socket_in_netns(ns_path, family, type, protocol);
    if (fd < 0)
        return fd;
    int r;
    if (family == AF_INET6) {
        int one = 1;
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
        struct sockaddr_in6 sa = {.sin6_family = AF_INET6, .sin6_port = htons((uint16_t)port)};
        memcpy(&sa.sin6_addr, addr, 16);
        r = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
    } else {
        struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
        memcpy(&sa.sin_addr, addr, 4);
        r = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
    }
    if (r < 0) {
        err = -errno;
        close(fd);
        return err;
    }
    return fd;
}

/* The local port a bound socket holds, or -errno. */
EXPORT int tsnl_port_of(int fd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
        return -errno;
    if (ss.ss_family == AF_INET6)
        return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

/* The kernel's own words for an errno, for error messages. */
EXPORT int tsnl_strerror(int errnum, char *buf, int len)
{
    const char *s = strerrordesc_np(errnum);
    if (s == NULL)
        return -EINVAL;
    snprintf(buf, (size_t)len, "%s", s);
    return 0;
}

struct netns_create_args {
    const char *path;
    const char *sysctl_key, *sysctl_value;
    int result;
};

/* Writes value to /proc/sys/KEY as the calling thread sees it (its network namespace's, for net keys). */
static int write_sysctl_here(const char *key, const char *value)
{
    char path[512];
    if (snprintf(path, sizeof(path), "/proc/sys/%s", key) >= (int)sizeof(path))
        return -ENAMETOOLONG;
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    size_t len = strlen(value);
    ssize_t n = write(fd, value, len);
    int err = n < 0 ? -errno : (size_t)n != len ? -EIO : 0;
    close(fd);
    return err;
}

/* Runs on a throwaway thread: unshare gives this thread alone a new network namespace, and the bind mount keeps
 * it alive after the thread is gone. The daemon's own threads never change namespace for this. A sysctl given is
 * set in the new namespace first (/proc/sys/net follows the namespace of the thread that opens it). */
static void *netns_create_thread(void *opaque)
{
    struct netns_create_args *args = opaque;
    if (unshare(CLONE_NEWNET) < 0) {
        args->result = -errno;
        return NULL;
    }
    if (args->sysctl_key && (args->result = write_sysctl_here(args->sysctl_key, args->sysctl_value)) < 0)
        return NULL;
    char self[64];
    snprintf(self, sizeof(self), "/proc/self/task/%ld/ns/net", (long)gettid());
    if (mount(self, args->path, "none", MS_BIND, NULL) < 0) {
        args->result = -errno;
        return NULL;
    }
    args->result = 0;
    return NULL;
}

/* Creates a persistent network namespace pinned at path (the file must not exist; its folder must), with one
 * sysctl set at birth (sysctl_key NULL: none). */
EXPORT int tsnl_netns_create(const char *path, const char *sysctl_key, const char *sysctl_value)
{
    if (sysctl_key && !sysctl_value)
        return -EINVAL;
    int fd = open(path, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444);
    if (fd < 0)
        return -errno;
    close(fd);

    struct netns_create_args args = {.path = path, .sysctl_key = sysctl_key, .sysctl_value = sysctl_value, .result = -EINVAL};
    pthread_t thread;
    int err = pthread_create(&thread, NULL, netns_create_thread, &args);
    if (err != 0) {
        unlink(path);
        return -err;
    }
    pthread_join(thread, NULL);
    if (args.result < 0)
        unlink(path);
    return args.result;
}

/* Deletes a namespace created by tsnl_netns_create: detach the bind mount, remove the file. The namespace itself
 * goes when its last user (process, socket, mount) does. */
EXPORT int tsnl_netns_delete(const char *path)
{
    int err = 0;
    if (umount2(path, MNT_DETACH) < 0 && errno != EINVAL)
        err = -errno; /* EINVAL: not a mount point (a half-created namespace); still remove the file */
    if (unlink(path) < 0 && err == 0)
        err = -errno;
    return err;
}

/* Writes value to a file under /proc/sys (key is the path below it, e.g. "net/ipv4/ip_forward") as seen from
 * inside the namespace at ns_path. /proc/sys/net follows the namespace of the thread that opens it. */
EXPORT int tsnl_sysctl_write(const char *ns_path, const char *key, const char *value)
{
    int saved, err = enter_netns(ns_path, &saved);
    if (err < 0)
        return err;
    err = write_sysctl_here(key, value);
    leave_netns(saved);
    return err;
}

/* Reads a /proc/sys file inside the namespace at ns_path into buf; returns the number of bytes read. */
EXPORT int tsnl_sysctl_read(const char *ns_path, const char *key, char *buf, int len)
{
    char path[512];
    if (snprintf(path, sizeof(path), "/proc/sys/%s", key) >= (int)sizeof(path))
        return -ENAMETOOLONG;
    int saved, err = enter_netns(ns_path, &saved);
    if (err < 0)
        return err;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        err = -errno;
    leave_netns(saved);
    if (fd < 0)
        return err;
    ssize_t n = read(fd, buf, (size_t)len);
    err = n < 0 ? -errno : (int)n;
    close(fd);
    return err;
}

/*
 * Loads an eBPF program (its instructions encoded by the caller) with bpf(BPF_PROG_LOAD): the program's fd, or
 * -errno, with the verifier's words in log when it refuses. A TC filter that attaches the fd keeps the program.
 */
EXPORT int tsnl_bpf_prog_load(int prog_type, const void *insns, int insn_cnt, const char *license, char *log, int log_size)
{
    union bpf_attr attr;
    memset(&attr, 0, sizeof(attr));
    attr.prog_type = (__u32)prog_type;
    attr.insns = (__u64)(uintptr_t)insns;
    attr.insn_cnt = (__u32)insn_cnt;
    attr.license = (__u64)(uintptr_t)license;
    if (log && log_size > 0) {
        log[0] = '\0';
        attr.log_level = 1;
        attr.log_buf = (__u64)(uintptr_t)log;
        attr.log_size = (__u32)log_size;
    }
    long fd = syscall(__NR_bpf, BPF_PROG_LOAD, &attr, sizeof(attr));
    if (fd < 0 && errno == ENOSPC && log) {
        /* The log was too small for the verifier's words: load again without them. */
        attr.log_level = 0, attr.log_buf = 0, attr.log_size = 0;
        fd = syscall(__NR_bpf, BPF_PROG_LOAD, &attr, sizeof(attr));
    }
    return fd < 0 ? -errno : (int)fd;
}
