/*
 * What the launcher's parts share: the parsed command line, and how the container's first process reports the step
 * that failed. launcher.c runs and monitors containers; options.c reads its options; rootfs.c builds their root
 * filesystem; confine.c confines their processes (capabilities, no_new_privs, seccomp).
 */
#ifndef TSNET_LAUNCHER_H
#define TSNET_LAUNCHER_H

#define MAX_LIST 256

struct streams;

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
    int uid, gid, init, pid, no_new_privs, sys_rw, has_caps, seccomp_fd, seccomp_is_bpf;
    /* Streams (streams.c): a terminal of rows x cols, stdin kept open, the output log, the attach socket, how long
     * output waits for the first client; exec_mode: exec with frames on fds 0 and 1 (--relay). */
    int tty, stdin_open, hold_ms, rows, cols, exec_mode;
    const char *log, *attach;
    struct streams *streams;
    /* Docker's run flags: --read-only, --tmpfs PATH[:OPTS] (repeated), --shm-size BYTES, --ulimit NAME=SOFT:HARD
     * (repeated; rootfs.c and confine.c). */
    int readonly_root;
    const char *tmpfs[MAX_LIST];
    int n_tmpfs;
    const char *shm_size;
    const char *ulimits[MAX_LIST];
    int n_ulimits;
    /* --bind SRC DST ro|rw (repeated): volumes and bind mounts, in the order given (parents first). */
    const char *binds[MAX_LIST][3];
    int n_binds;
    int bind_fds[MAX_LIST]; /* the sources, opened before pivot_root; mounted after it, through /proc/self/fd */
    unsigned long long caps;
    char **argv;
};

/* In the child: tell the launcher which step failed (errno says why), and stop. */
void fail(const char *step) __attribute__((noreturn));

/* rootfs.c: the overlay root, /proc, /sys, /dev, the bound files, pivot_root, hostname, masked and read-only paths. */
void setup_container(struct config *c);

/* confine.c: the bounding set, no_new_privs and the seccomp filter; then, once the process is who it will be, the
 * capability sets of a process that stays root. */
void confine(struct config *c);
/* confine.c: --ulimit, set while the process may still raise hard limits. */
void apply_ulimits(struct config *c);
/* rootfs.c: a folder and its parents, as mkdir -p (the working directory of -w is made when missing, as Docker). */
int make_dirs(const char *path);
/* `tsnet-launcher seccomp-compile RULES OUT`: the profile compiled once into the BPF program containers load. */
int seccomp_compile(const char *rules, const char *out);
/* whiteouts.c: `tsnet-launcher whiteouts DIR`, an image layer's whiteouts made overlay's. */
int cmd_whiteouts(const char *dir);
int cmd_opaque_marks(const char *src, const char *dst);
/* export.c: `tsnet-launcher export LOWERS DIR`, a container's files flattened as a tar archive on stdout. */
int cmd_export(const char *lowers, const char *dir);
/* spawner.c: `tsnet-launcher spawner`, which starts launchers for the daemon (see there). */
int cmd_spawner(char *mode);
/* options.c: run's and exec's options into c (argv[2] on; c->argv the command after "--"): 0, or -1 to say usage. */
int parse_options(int argc, char **argv, struct config *c);
/* launcher.c: the launcher's command line (main's); the spawner runs it in a fork of itself instead of exec'ing. */
int launcher_main(int argc, char **argv);
/* delay.c: `tsnet-launcher delay-relay ...`, tsnet's delay engine for a link end (see there). */
int cmd_delay_relay(int argc, char **argv);
void set_capabilities(struct config *c);

/* streams.c: a process's standard streams, from before the fork to the end of the relay. */
struct streams {
    int in[2], out[2], err[2], console[2];
    int master, slave, log, listen, signal_fd;
};
int streams_prepare(struct config *c, struct streams *s);
void streams_in_child(struct config *c, struct streams *s);
/* Relays until the child has ended and its output is delivered; its wait status. */
int streams_relay(struct config *c, struct streams *s, pid_t child);
/* exec --relay: a failure before the command ran, said to the client as a stderr frame and an exit frame. */
void streams_say_failure(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
