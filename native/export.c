/*
 * `tsnet-launcher export LOWERS DIR`: a container's file system, flattened, as a tar archive on stdout (docker
 * export). In a mount namespace of its own, the container's layers (LOWERS: its upper folder, then its image's,
 * top first) are mounted read-only as one overlay on DIR, where whiteouts hide what was deleted; tar writes that.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#include "launcher.h"

int cmd_export(const char *lowers, const char *dir)
{
    char opts[16384];
    if ((size_t)snprintf(opts, sizeof(opts), "lowerdir=%s", lowers) >= sizeof(opts)) {
        fprintf(stderr, "tsnet-launcher: export: too many layers\n");
        return 1;
    }
    if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
        mount("overlay", dir, "overlay", MS_RDONLY, opts) < 0 || chdir(dir) < 0) {
        fprintf(stderr, "tsnet-launcher: export: mount the container's layers: %s\n", strerror(errno));
        return 1;
    }
    execlp("tar", "tar", "--numeric-owner", "--xattrs", "-cf", "-", ".", (char *)NULL);
    fprintf(stderr, "tsnet-launcher: export: run tar: %s\n", strerror(errno));
    return 1;
}
