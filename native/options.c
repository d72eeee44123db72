/*
 * The launcher's run and exec options (listed at the top of launcher.c) read into a struct config: from argv[2] up
 * to "--", after which the command and its arguments are.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "launcher.h"

int parse_options(int argc, char **argv, struct config *c)
{
    int i = 2;
    for (; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--") == 0) {
            i++;
            break;
        }
        if (strcmp(a, "--init") == 0) {
            c->init = 1;
            continue;
        }
        if (strcmp(a, "--no-new-privs") == 0) {
            c->no_new_privs = 1;
            continue;
        }
        if (strcmp(a, "--sys-rw") == 0) {
            c->sys_rw = 1;
            continue;
        }
        if (strcmp(a, "--bind") == 0 && i + 3 < argc && c->n_binds < MAX_LIST) {
            c->binds[c->n_binds][0] = argv[i + 1], c->binds[c->n_binds][1] = argv[i + 2], c->binds[c->n_binds][2] = argv[i + 3];
            c->n_binds++;
            i += 3;
            continue;
        }
        if (strcmp(a, "--read-only") == 0) {
            c->readonly_root = 1;
            continue;
        }
        if (strcmp(a, "--tty") == 0 || strcmp(a, "--stdin") == 0 || strcmp(a, "--relay") == 0) {
            *(a[2] == 't' ? &c->tty : a[2] == 's' ? &c->stdin_open : &c->exec_mode) = 1;
            continue;
        }
        if (i + 1 >= argc)
            return -1;
        const char *v = argv[++i];
        if (strcmp(a, "--netns") == 0) c->netns = v;
        else if (strcmp(a, "--lower") == 0) c->lower = v;
        else if (strcmp(a, "--upper") == 0) c->upper = v;
        else if (strcmp(a, "--work") == 0) c->work = v;
        else if (strcmp(a, "--merged") == 0) c->merged = v;
        else if (strcmp(a, "--hostname") == 0) c->hostname = v;
        else if (strcmp(a, "--cwd") == 0) c->cwd = v;
        else if (strcmp(a, "--hosts") == 0) c->hosts = v;
        else if (strcmp(a, "--resolv") == 0) c->resolv = v;
        else if (strcmp(a, "--exit-file") == 0) c->exit_file = v;
        else if (strcmp(a, "--uid") == 0) c->uid = atoi(v);
        else if (strcmp(a, "--gid") == 0) c->gid = atoi(v);
        else if (strcmp(a, "--pid") == 0) c->pid = atoi(v);
        else if (strcmp(a, "--env") == 0 && c->n_env < MAX_LIST) c->env[c->n_env++] = v;
        else if (strcmp(a, "--cgroup-procs") == 0 && c->n_cgroups < MAX_LIST) c->cgroups[c->n_cgroups++] = v;
        else if (strcmp(a, "--mask") == 0 && c->n_masked < MAX_LIST) c->masked[c->n_masked++] = v;
        else if (strcmp(a, "--readonly") == 0 && c->n_readonly < MAX_LIST) c->readonly[c->n_readonly++] = v;
        else if (strcmp(a, "--writable") == 0 && c->n_writable < MAX_LIST) c->writable[c->n_writable++] = v;
        else if (strcmp(a, "--device") == 0 && c->n_devices < MAX_LIST) c->devices[c->n_devices++] = v;
        else if (strcmp(a, "--log") == 0) c->log = v;
        else if (strcmp(a, "--tmpfs") == 0 && c->n_tmpfs < MAX_LIST) c->tmpfs[c->n_tmpfs++] = v;
        else if (strcmp(a, "--ulimit") == 0 && c->n_ulimits < MAX_LIST) c->ulimits[c->n_ulimits++] = v;
        else if (strcmp(a, "--shm-size") == 0) c->shm_size = v;
        else if (strcmp(a, "--attach-socket") == 0) c->attach = v;
        else if (strcmp(a, "--hold-ms") == 0) c->hold_ms = atoi(v);
        else if (strcmp(a, "--tty-size") == 0 && sscanf(v, "%d,%d", &c->rows, &c->cols) == 2) {}
        else if (strcmp(a, "--seccomp") == 0) c->seccomp = v;
        else if (strcmp(a, "--seccomp-bpf") == 0) { c->seccomp = v; c->seccomp_is_bpf = 1; }
        else if (strcmp(a, "--caps") == 0) { c->caps = strtoull(v, NULL, 16); c->has_caps = 1; }
        else return -1;
    }
    if (i >= argc)
        return -1; /* no command */
    c->argv = &argv[i];
    return 0;
}
