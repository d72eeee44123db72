/*
 * `tsnet-launcher delay-relay NETNS IN OUT MARK [--delay NS] [--jitter NS] [--dist 0|1|2] [--limit N]
 * [--duplicate PPM] [--reorder PPM] [--corrupt PPM] [--ge P R BADLOSS GOODLOSS]`: tsnet's delay engine for kernels without netem. Inside the namespace NETNS, the frames a lab node sends on OUT are redirected by a TC program to
 * the hidden veth whose other end is IN; this relay reads them there (AF_PACKET, with virtio-net headers so that
 * GSO frames pass whole), holds each until its own arrival plus its own delay (DELAY_NS, plus a draw of JITTER_NS:
 * DIST 1 normal with that standard deviation, 2 uniform within +/- it), and sends it on OUT marked MARK, which the
 * TC program lets through to the link's other end. Without jitter the order is kept; with it, packets may pass one
 * another, as with netem. DUPLICATE (parts per million) of the packets are sent twice, each copy with its own
 * delay; REORDER of them are sent at once, ahead of those delayed (netem's reorder); CORRUPT of them have a bit
 * flipped (corrupt_frame). At most LIMIT packets wait; more
 * are dropped. With --ge (parts per million each), packets are lost as Gilbert-Elliott's two-state chain says (netem's
 * gemodel): from good to bad with P, back with R, lost with BADLOSS in bad and GOODLOSS in good: losses in bursts. It
 * ends when its interfaces go (the node's namespace removed), on SIGTERM, or on SIGUSR1 once what it holds is sent
 * (the link was switched to a new relay: nothing is lost on a change).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/if_packet.h>
#include <linux/virtio_net.h>
#include <math.h>
#include <net/ethernet.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "launcher.h"

#define MAX_FRAME (65536 + sizeof(struct virtio_net_hdr))

struct held {
    uint64_t due;     /* CLOCK_MONOTONIC ns */
    uint64_t seq;     /* arrival order: ties leave in it */
    size_t len;
    unsigned char data[];
};

static struct held **heap;
static size_t heap_n, heap_cap;
static volatile sig_atomic_t stopping, draining;

static int earlier(const struct held *a, const struct held *b)
{
    return a->due < b->due || (a->due == b->due && a->seq < b->seq);
}

static void heap_push(struct held *h)
{
    size_t i = heap_n++;
    heap[i] = h;
    while (i > 0 && earlier(heap[i], heap[(i - 1) / 2])) {
        struct held *t = heap[i];
        heap[i] = heap[(i - 1) / 2];
        heap[(i - 1) / 2] = t;
        i = (i - 1) / 2;
    }
}

static struct held *heap_pop(void)
{
    struct held *top = heap[0];
    heap[0] = heap[--heap_n];
    for (size_t i = 0;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < heap_n && earlier(heap[l], heap[m]))
            m = l;
        if (r < heap_n && earlier(heap[r], heap[m]))
            m = r;
        if (m == i)
            break;
        struct held *t = heap[i];
        heap[i] = heap[m];
        heap[m] = t;
        i = m;
    }
    return top;
}

static uint64_t now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

/* xorshift64*: fast, and good enough for drawing delays. */
static uint64_t rng_state;
static double uniform01(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (double)((rng_state * 0x2545F4914F6CDD1Dull) >> 11) / 9007199254740992.0;
}

static int64_t draw_jitter(int dist, int64_t jitter)
{
    if (jitter <= 0 || dist == 0)
        return 0;
    if (dist == 2)
        return (int64_t)((uniform01() * 2.0 - 1.0) * (double)jitter);
    double u1 = uniform01(), u2 = uniform01();
    if (u1 < 1e-300)
        u1 = 1e-300;
    return (int64_t)(sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2) * (double)jitter);
}

static int packet_socket(const char *ifname, int mark)
{
    int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, htons(ETH_P_ALL));
    int one = 1;
    unsigned idx = if_nametoindex(ifname);
    if (fd < 0 || idx == 0)
        return -1;
    if (setsockopt(fd, SOL_PACKET, PACKET_VNET_HDR, &one, sizeof(one)) < 0)
        return -1;
    if (mark && setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof(mark)) < 0)
        return -1;
    if (!mark && setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof(one)) < 0)
        return -1;
    /* A frame's delay counts from when the kernel queued it, not from when this relay woke to read it. */
    if (!mark && setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof(one)) < 0)
        return -1;
    int buf = 8 << 20;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &buf, sizeof(buf));
    setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &buf, sizeof(buf));
    struct sockaddr_ll sa = {.sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL), .sll_ifindex = (int)idx};
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
        return -1;
    return fd;
}

static void on_term(int sig)
{
    (void)sig;
    stopping = 1;
}

/* SIGUSR1: nothing more will come (the link was switched to another relay): release what is held, then end. */
static void on_drain(int sig)
{
    (void)sig;
    draining = 1;
}

/* A share in parts per million, drawn. */
static int chance(uint32_t ppm)
{
    return ppm > 0 && uniform01() * 1e6 < (double)ppm;
}

/* The internet checksum's ones' complement sum of n bytes, folded. */
static uint16_t csum_fold(const unsigned char *p, size_t n)
{
    uint64_t sum = 0;
    for (size_t i = 0; i + 1 < n; i += 2)
        sum += (uint32_t)(p[i] << 8 | p[i + 1]);
    if (n & 1)
        sum += (uint32_t)(p[n - 1] << 8);
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)sum;
}

/*
 * netem's corrupt: one random bit of the frame flipped, after its checksum is complete, so that the receiver finds
 * it wrong as it would on a wire (a checksum left to the kernel would be computed over the flipped bit and pass).
 * A GSO frame is many packets whose checksums the kernel makes when it splits them: it is dropped instead (what the
 * receiver of a corrupted segment does), and the sender retransmits. Returns 0 when the frame is to be dropped.
 */
static int corrupt_frame(unsigned char *buf, size_t n)
{
    struct virtio_net_hdr *vh = (struct virtio_net_hdr *)buf;
    unsigned char *frame = buf + sizeof(*vh);
    size_t len = n - sizeof(*vh);
    if (n <= sizeof(*vh) || vh->gso_type != VIRTIO_NET_HDR_GSO_NONE)
        return 0;
    if (vh->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
        size_t start = vh->csum_start, at = start + vh->csum_offset;
        if (at + 2 > len)
            return 0;
        /* The field holds the pseudo-header's sum already: the sum from start, complemented, completes it. */
        uint16_t c = (uint16_t)~csum_fold(frame + start, len - start);
        frame[at] = (unsigned char)(c >> 8);
        frame[at + 1] = (unsigned char)c;
    }
    vh->flags = 0; /* nothing complete to finish, and nothing for the receiver to take as checked */
    size_t byte = (size_t)(uniform01() * (double)len);
    frame[byte < len ? byte : len - 1] ^= (unsigned char)(1u << (int)(uniform01() * 8.0));
    return 1;
}

/*
 * One frame into buf; *arrived is when the kernel queued it (CLOCK_MONOTONIC ns), from its receive timestamp, which
 * the kernel gives on CLOCK_REALTIME: converted with the clocks' offset read now. Without a timestamp, now.
 */
static ssize_t receive(int fd, unsigned char *buf, uint64_t *arrived)
{
    union {
        char space[CMSG_SPACE(sizeof(struct timespec))];
        struct cmsghdr align;
    } control;
    struct iovec iov = {.iov_base = buf, .iov_len = MAX_FRAME};
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.space, .msg_controllen = sizeof(control.space)};
    ssize_t n = recvmsg(fd, &msg, 0);
    uint64_t mono = now_ns();
    *arrived = mono;
    if (n < 0)
        return n;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_TIMESTAMPNS)
            continue;
        struct timespec stamp, real;
        memcpy(&stamp, CMSG_DATA(c), sizeof(stamp));
        clock_gettime(CLOCK_REALTIME, &real);
        int64_t ago = ((int64_t)real.tv_sec - stamp.tv_sec) * 1000000000ll + (real.tv_nsec - stamp.tv_nsec);
        if (ago > 0 && (uint64_t)ago < mono)
            *arrived = mono - (uint64_t)ago; /* a clock stepped backwards leaves it at now */
    }
    return n;
}

static int enqueue(const unsigned char *frame, size_t n, uint64_t due, uint64_t *seq)
{
    if (heap_n >= heap_cap)
        return -1;
    struct held *h = malloc(sizeof(*h) + n);
    if (!h)
        return -1;
    h->due = due;
    h->seq = (*seq)++; /* arrival order: without jitter, nothing passes the packet ahead of it */
    h->len = n;
    memcpy(h->data, frame, n);
    heap_push(h);
    return 0;
}

int cmd_delay_relay(int argc, char **argv)
{
    if (argc < 6) {
        fprintf(stderr, "usage: tsnet-launcher delay-relay NETNS IN OUT MARK [--delay NS] [--jitter NS] [--dist 0|1|2] [--limit N] "
                        "[--duplicate PPM] [--reorder PPM] [--corrupt PPM]\n");
        return 2;
    }
    const char *netns = argv[2], *in_if = argv[3], *out_if = argv[4];
    int mark = atoi(argv[5]), dist = 0;
    int64_t delay = 0, jitter = 0;
    size_t limit = 1000;
    uint32_t duplicate = 0, reorder = 0, corrupt = 0, ge[4] = {0, 0, 0, 0};
    int ge_on = 0, ge_bad = 0;
    for (int i = 6; i + 1 < argc; i += 2) {
        const char *k = argv[i], *v = argv[i + 1];
        if (strcmp(k, "--ge") == 0 && i + 4 < argc) {
            for (int j = 0; j < 4; j++)
                ge[j] = (uint32_t)strtoul(argv[i + 1 + j], NULL, 10);
            ge_on = 1;
            i += 3; /* with the loop's 2: past the option and its four values */
            continue;
        }
        if (strcmp(k, "--delay") == 0) delay = strtoll(v, NULL, 10);
        else if (strcmp(k, "--jitter") == 0) jitter = strtoll(v, NULL, 10);
        else if (strcmp(k, "--dist") == 0) dist = atoi(v);
        else if (strcmp(k, "--limit") == 0) limit = (size_t)strtoul(v, NULL, 10);
        else if (strcmp(k, "--duplicate") == 0) duplicate = (uint32_t)strtoul(v, NULL, 10);
        else if (strcmp(k, "--reorder") == 0) reorder = (uint32_t)strtoul(v, NULL, 10);
        else if (strcmp(k, "--corrupt") == 0) corrupt = (uint32_t)strtoul(v, NULL, 10);
        else {
            fprintf(stderr, "delay-relay: unknown option %s\n", k);
            return 2;
        }
    }
    prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0); /* wake when a frame is due, not up to 50 us later */
    int nsfd = open(netns, O_RDONLY | O_CLOEXEC);
    if (nsfd < 0 || setns(nsfd, CLONE_NEWNET) < 0) {
        fprintf(stderr, "delay-relay: enter %s: %s\n", netns, strerror(errno));
        return 1;
    }
    close(nsfd);
    int in = packet_socket(in_if, 0), out = packet_socket(out_if, mark);
    if (in < 0 || out < 0) {
        fprintf(stderr, "delay-relay: packet sockets on %s and %s: %s\n", in_if, out_if, strerror(errno));
        return 1;
    }
    heap_cap = limit ? limit : 1000;
    heap = calloc(heap_cap, sizeof(*heap));
    rng_state = now_ns() ^ ((uint64_t)getpid() << 32) ^ 0x9E3779B97F4A7C15ull;
    struct sigaction sa = {.sa_handler = on_term};
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    struct sigaction sd = {.sa_handler = on_drain};
    sigaction(SIGUSR1, &sd, NULL);
    signal(SIGPIPE, SIG_IGN);
    unsigned char *buf = malloc(MAX_FRAME);
    uint64_t seq = 0, dropped = 0, last_rx = 0;
    if (!heap || !buf)
        return 1;
    printf("ready\n");
    fflush(stdout);
    while (!stopping) {
        uint64_t t = now_ns();
        /* Draining: done once nothing is held and nothing has come for 20 ms (frames in flight when the link switched). */
        if (draining && heap_n == 0 && t - last_rx > 20000000ull)
            break;
        while (heap_n > 0 && heap[0]->due <= t) {
            struct held *h = heap_pop();
            if (send(out, h->data, h->len, 0) < 0 && (errno == ENODEV || errno == ENXIO || errno == ENETDOWN)) {
                free(h);
                if (errno != ENETDOWN)
                    return 0; /* the interface is gone: so is the link */
                continue;
            }
            free(h);
        }
        struct timespec wait = {.tv_sec = draining ? 0 : 1, .tv_nsec = draining ? 20000000 : 0};
        if (heap_n > 0) {
            uint64_t d = heap[0]->due - t;
            wait.tv_sec = (time_t)(d / 1000000000ull);
            wait.tv_nsec = (long)(d % 1000000000ull);
        }
        struct pollfd p = {.fd = in, .events = POLLIN};
        int r = ppoll(&p, 1, &wait, NULL);
        if (r < 0 && errno != EINTR)
            return 1;
        if (r <= 0)
            continue;
        if (p.revents & (POLLERR | POLLHUP | POLLNVAL))
            return 0;
        for (;;) {
            uint64_t arrived;
            ssize_t n = receive(in, buf, &arrived);
            if (n < 0) {
                if (errno == EAGAIN || errno == EINTR)
                    break;
                return errno == ENETDOWN || errno == ENODEV ? 0 : 1;
            }
            last_rx = now_ns();
            if (ge_on) {
                /* The chain moves first, then the state decides (netem's order). */
                if (ge_bad ? chance(ge[1]) : chance(ge[0]))
                    ge_bad = !ge_bad;
                if (chance(ge_bad ? ge[2] : ge[3])) {
                    dropped++;
                    continue;
                }
            }
            if (chance(corrupt) && !corrupt_frame(buf, (size_t)n)) {
                dropped++;
                continue;
            }
            int copies = chance(duplicate) ? 2 : 1;
            for (int c = 0; c < copies; c++) {
                int64_t d = chance(reorder) ? 0 : delay + draw_jitter(dist, jitter);
                if (enqueue(buf, (size_t)n, arrived + (uint64_t)(d > 0 ? d : 0), &seq) < 0)
                    dropped++;
            }
        }
    }
    return 0;
}
