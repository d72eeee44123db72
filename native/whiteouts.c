/*
 * `tsnet-launcher whiteouts DIR`: a layer extracted from an image archive made fit for overlayfs. Archives mark a
 * deleted file NAME with an empty ".wh.NAME" and a folder whose lower content is hidden with ".wh..wh..opq"; overlay
 * wants a character device 0:0 named NAME, and the xattr trusted.overlay.opaque=y on the folder.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "launcher.h"

#define WH ".wh."
#define OPAQUE ".wh..wh..opq"

static int convert(int dirfd, const char *path)
{
    DIR *d = fdopendir(dirfd);
    if (!d)
        return -1;
    int rc = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL && rc == 0;) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (strcmp(e->d_name, OPAQUE) == 0) {
            if (unlinkat(dirfd, e->d_name, 0) < 0 || fsetxattr(dirfd, "trusted.overlay.opaque", "y", 1, 0) < 0)
                rc = -1;
        } else if (strncmp(e->d_name, WH, strlen(WH)) == 0) {
            const char *name = e->d_name + strlen(WH);
            if (unlinkat(dirfd, e->d_name, 0) < 0 || mknodat(dirfd, name, S_IFCHR | 0000, makedev(0, 0)) < 0)
                rc = -1;
        } else if (e->d_type == DT_DIR) {
            int sub = openat(dirfd, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            char child[4096];
            snprintf(child, sizeof(child), "%s/%s", path, e->d_name);
            rc = sub < 0 ? -1 : convert(sub, child);
        }
        if (rc < 0)
            fprintf(stderr, "tsnet-launcher: whiteouts: %s/%s: %s\n", path, e->d_name, strerror(errno));
    }
    closedir(d);
    return rc;
}

int cmd_whiteouts(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        fprintf(stderr, "tsnet-launcher: whiteouts: %s: %s\n", dir, strerror(errno));
        return 1;
    }
    return convert(fd, dir) < 0 ? 1 : 0;
}

/* `tsnet-launcher opaque-marks SRC DST`: for the commit of a container's upper layer, every folder of SRC that
 * overlay made opaque gets an archive's ".wh..wh..opq" in the same place under DST (made by the caller). */
static int marks(int dirfd, const char *dst)
{
    char value[4];
    if (fgetxattr(dirfd, "trusted.overlay.opaque", value, sizeof(value)) == 1 && value[0] == 'y') {
        char mark[4096];
        snprintf(mark, sizeof(mark), "%s/" OPAQUE, dst);
        int fd = open(mark, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        if (fd < 0)
            return -1;
        close(fd);
    }
    DIR *d = fdopendir(dirfd);
    if (!d)
        return -1;
    int rc = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL && rc == 0;) {
        if (e->d_type != DT_DIR || strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        int sub = openat(dirfd, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        char child[4096];
        snprintf(child, sizeof(child), "%s/%s", dst, e->d_name);
        rc = sub < 0 ? -1 : marks(sub, child);
    }
    closedir(d);
    return rc;
}

int cmd_opaque_marks(const char *src, const char *dst)
{
    int fd = open(src, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 || marks(fd, dst) < 0) {
        fprintf(stderr, "tsnet-launcher: opaque-marks: %s: %s\n", src, strerror(errno));
        return 1;
    }
    return 0;
}
