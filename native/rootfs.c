/* The container's root filesystem, built in its new mount namespace before pivot_root: see launcher.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "launcher.h"

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

int make_dirs(const char *path)
{
    char buf[4096];
    snprintf(buf, sizeof(buf), "%s", path);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, 0755) < 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    return mkdir(buf, 0755) < 0 && errno != EEXIST ? -1 : 0;
}

/* --tmpfs PATH[:OPTS]: Docker's options, the mount flags among them (ro, noexec...) apart from the data (size=...);
 * by default noexec, nosuid and nodev. */
static void mount_tmpfs(const char *root, const char *spec)
{
    char path[4096], target[8192], data[1024] = "";
    unsigned long flags = MS_NOEXEC | MS_NOSUID | MS_NODEV;
    const char *colon = strchr(spec, ':');
    snprintf(path, sizeof(path), "%.*s", colon ? (int)(colon - spec) : (int)strlen(spec), spec);
    static const struct {
        const char *word;
        unsigned long set, clear;
    } words[] = {{"ro", MS_RDONLY, 0}, {"rw", 0, MS_RDONLY}, {"noexec", MS_NOEXEC, 0}, {"exec", 0, MS_NOEXEC}, {"nosuid", MS_NOSUID, 0},
                 {"suid", 0, MS_NOSUID}, {"nodev", MS_NODEV, 0}, {"dev", 0, MS_NODEV}};
    char opts[1024];
    snprintf(opts, sizeof(opts), "%s", colon ? colon + 1 : "");
    for (char *save = NULL, *w = strtok_r(opts, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
        size_t k = 0;
        while (k < sizeof(words) / sizeof(words[0]) && strcmp(words[k].word, w) != 0)
            k++;
        if (k < sizeof(words) / sizeof(words[0]))
            flags = (flags | words[k].set) & ~words[k].clear;
        else
            snprintf(data + strlen(data), sizeof(data) - strlen(data), "%s%s", data[0] ? "," : "", w);
    }
    snprintf(target, sizeof(target), "%s%s", root, path);
    if (make_dirs(target) < 0)
        fail("make the folder of a --tmpfs");
    mount_or_fail("tmpfs", target, "tmpfs", flags, data, "mount a --tmpfs");
}

/* --bind SRC DST ro|rw. The source is a host path, opened before pivot_root; the target is made and mounted after
 * it, so that a symlink in the image resolves inside the container and never leads out to the host. A file source
 * gets a file target. With ro, read-only. */
static void open_bind_sources(struct config *c)
{
    for (int i = 0; i < c->n_binds; i++)
        if ((c->bind_fds[i] = open(c->binds[i][0], O_PATH | O_CLOEXEC)) < 0)
            fail("open the source of a bind mount");
}

static void bind_mounts(struct config *c)
{
    for (int i = 0; i < c->n_binds; i++) {
        const char *target = c->binds[i][1];
        struct stat st;
        if (fstat(c->bind_fds[i], &st) < 0)
            fail("stat the source of a bind mount");
        char parent[4096];
        snprintf(parent, sizeof(parent), "%s", target);
        char *slash = strrchr(parent, '/');
        if (slash && slash != parent)
            *slash = '\0';
        if ((S_ISDIR(st.st_mode) ? make_dirs(target) : make_dirs(parent)) < 0)
            fail("make the target of a bind mount");
        if (!S_ISDIR(st.st_mode))
            ensure_target(target, 0);
        char source[64];
        snprintf(source, sizeof(source), "/proc/self/fd/%d", c->bind_fds[i]);
        mount_or_fail(source, target, NULL, MS_BIND | MS_REC, NULL, "bind mount");
        if (strcmp(c->binds[i][2], "ro") == 0)
            mount_or_fail(NULL, target, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_REC, NULL, "make a bind mount read-only");
        close(c->bind_fds[i]);
    }
}

static void setup_dev(const char *root, const char *shm_size)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/dev", root);
    ensure_target(path, 1);
    mount_or_fail("tmpfs", path, "tmpfs", MS_NOSUID | MS_STRICTATIME, "mode=755,size=65536k", "mount /dev");
    /* Made as nodes, as runc does outside a user namespace (a bind mount each would take the kernel's mount lock
     * that every container starting at once contends for); bound from the host's where mknod is not allowed. */
    static const struct {
        const char *name;
        unsigned major, minor;
    } nodes[] = {{"null", 1, 3}, {"zero", 1, 5}, {"full", 1, 7}, {"random", 1, 8}, {"urandom", 1, 9}, {"tty", 5, 0}};
    for (size_t i = 0; i < sizeof(nodes) / sizeof(nodes[0]); i++) {
        char src[64], dst[4096];
        snprintf(src, sizeof(src), "/dev/%s", nodes[i].name);
        snprintf(dst, sizeof(dst), "%s/dev/%s", root, nodes[i].name);
        if (mknod(dst, S_IFCHR | 0666, makedev(nodes[i].major, nodes[i].minor)) == 0 && chmod(dst, 0666) == 0)
            continue;
        unlink(dst);
        ensure_target(dst, 0);
        mount_or_fail(src, dst, NULL, MS_BIND, NULL, "bind /dev node");
    }
    snprintf(path, sizeof(path), "%s/dev/pts", root);
    ensure_target(path, 1);
    mount_or_fail("devpts", path, "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620", "mount /dev/pts");
    snprintf(path, sizeof(path), "%s/dev/shm", root);
    ensure_target(path, 1);
    char shm[128];
    snprintf(shm, sizeof(shm), "mode=1777,size=%s", shm_size ? shm_size : "65536k");
    mount_or_fail("shm", path, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, shm, "mount /dev/shm");
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

/* In the new namespaces: the root filesystem, then pivot_root into it, then the process's identity. */
void setup_container(struct config *c)
{
    char path[4096];
    mount_or_fail(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL, "make / private");
    char opts[8192];
    snprintf(opts, sizeof(opts), "lowerdir=%s,upperdir=%s,workdir=%s", c->lower, c->upper, c->work);
    /* Without --merged the root is mounted over the image's top layer folder: in this mount namespace alone, and the
     * overlay holds its layers already, so no folder is made for it per container. */
    char top[4096];
    if (!c->merged) {
        snprintf(top, sizeof(top), "%s", c->lower);
        top[strcspn(top, ":")] = '\0';
        c->merged = top;
    }
    mount_or_fail("overlay", c->merged, "overlay", 0, opts, "mount overlay");
    snprintf(path, sizeof(path), "%s/proc", c->merged);
    ensure_target(path, 1);
    mount_or_fail("proc", path, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, "mount /proc");
    snprintf(path, sizeof(path), "%s/sys", c->merged);
    ensure_target(path, 1);
    mount_or_fail("sysfs", path, "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC | (c->sys_rw ? 0 : MS_RDONLY), NULL, "mount /sys");
    setup_dev(c->merged, c->shm_size);
    make_devices(c);
    open_bind_sources(c);
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
    /* The old root is put in the container's fresh /dev (a tmpfs), not in its root: a folder made in the overlay
     * costs an inode in the upper layer at every start. */
    snprintf(path, sizeof(path), "%s/dev/.pivot", c->merged);
    if (mkdir(path, 0700) < 0)
        fail("make the folder of the old root");
    if (syscall(SYS_pivot_root, c->merged, path) < 0)
        fail("pivot_root");
    int old_root = open("/dev/.pivot", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (old_root < 0)
        fail("open the old root");
    /* Volumes, bind mounts and tmpfs in the container's own view of its root (parents before children), while the
     * old root, which holds their sources, is still attached (a mount over /dev does not hide it from its fd). */
    if (chdir("/") < 0)
        fail("chdir /");
    bind_mounts(c);
    for (int i = 0; i < c->n_tmpfs; i++)
        mount_tmpfs("", c->tmpfs[i]);
    if (fchdir(old_root) < 0 || umount2(".", MNT_DETACH) < 0 || chdir("/") < 0)
        fail("umount old root");
    close(old_root);
    rmdir("/dev/.pivot");
    if (c->hostname && sethostname(c->hostname, strlen(c->hostname)) < 0)
        fail("sethostname");
    if (c->cwd && make_dirs(c->cwd) < 0 && errno != EEXIST)
        fail("make the working directory");
    protect_paths(c);
    /* --read-only: the root itself; /dev, /proc, /sys, the bound files and the --tmpfs mounts are mounts of their own. */
    if (c->readonly_root)
        mount_or_fail(NULL, "/", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL, "make the root read-only");
}
