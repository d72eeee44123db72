/*
 * The kernel's floor for one container endpoint, for `npm run bench -- netlink`: what one C process with raw
 * rtnetlink needs, with synchronous requests and their ACKs. The veth is created up on the bridge with its peer
 * born in the sandbox as eth0; then, after setns into the sandbox, a fresh NETLINK_ROUTE socket sets the address,
 * eth0 up, lo up and the default route. Nothing else: no tag, no echo, no library.
 *
 * Usage: tsnet-floor HOST_NETNS_PATH. It reads one endpoint per line on stdin,
 *   SANDBOX_NETNS_PATH BRIDGE_INDEX HOST_END_NAME ADDRESS PREFIX GATEWAY
 * and answers each with one line: the nanoseconds the endpoint took, or "error WHAT ERRNO".
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct req {
  struct nlmsghdr *h;
  char buf[1024];
};

static unsigned seq_no = 1;
static int create_flags = NLM_F_CREATE | NLM_F_EXCL;

static void req_init(struct req *r, int type, int flags, const void *body, size_t len) {
  memset(r->buf, 0, sizeof r->buf);
  r->h = (struct nlmsghdr *)r->buf;
  r->h->nlmsg_type = type;
  r->h->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
  r->h->nlmsg_seq = seq_no++;
  r->h->nlmsg_len = NLMSG_LENGTH(len);
  memcpy(NLMSG_DATA(r->h), body, len);
}

static struct rtattr *attr(struct req *r, int type, const void *data, size_t len) {
  struct rtattr *a = (struct rtattr *)(r->buf + NLMSG_ALIGN(r->h->nlmsg_len));
  a->rta_type = type;
  a->rta_len = RTA_LENGTH(len);
  if (len) memcpy(RTA_DATA(a), data, len);
  r->h->nlmsg_len = NLMSG_ALIGN(r->h->nlmsg_len) + RTA_ALIGN(a->rta_len);
  return a;
}

static void nest_end(struct req *r, struct rtattr *a) { a->rta_len = (char *)r->h + r->h->nlmsg_len - (char *)a; }

/* Sends one request and waits for its ACK: 0, or the negative errno the kernel answered. */
static int talk(int fd, struct req *r) {
  if (send(fd, r->h, r->h->nlmsg_len, 0) < 0) return -errno;
  char rx[8192];
  for (;;) {
    ssize_t n = recv(fd, rx, sizeof rx, 0);
    if (n < 0) return -errno;
    for (struct nlmsghdr *m = (struct nlmsghdr *)rx; NLMSG_OK(m, (size_t)n); m = NLMSG_NEXT(m, n)) {
      if (m->nlmsg_seq != r->h->nlmsg_seq || m->nlmsg_type != NLMSG_ERROR) continue;
      return ((struct nlmsgerr *)NLMSG_DATA(m))->error;
    }
  }
}

static int route_socket(void) {
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
  if (fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
    close(fd);
    return -1;
  }
  return fd;
}

static int veth_on_bridge(int host, const char *name, int bridge, int sandbox_fd) {
  struct req r;
  struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC, .ifi_flags = IFF_UP, .ifi_change = IFF_UP};
  req_init(&r, RTM_NEWLINK, create_flags, &ifi, sizeof ifi);
  attr(&r, IFLA_IFNAME, name, strlen(name) + 1);
  attr(&r, IFLA_MASTER, &bridge, sizeof bridge);
  struct rtattr *info = attr(&r, IFLA_LINKINFO, NULL, 0);
  attr(&r, IFLA_INFO_KIND, "veth", 5);
  struct rtattr *data = attr(&r, IFLA_INFO_DATA, NULL, 0);
  struct rtattr *peer = attr(&r, VETH_INFO_PEER, NULL, 0);
  struct ifinfomsg peer_ifi = {.ifi_family = AF_UNSPEC};
  memcpy(r.buf + r.h->nlmsg_len, &peer_ifi, sizeof peer_ifi);
  r.h->nlmsg_len += sizeof peer_ifi;
  attr(&r, IFLA_IFNAME, "eth0", 5);
  attr(&r, IFLA_NET_NS_FD, &sandbox_fd, sizeof sandbox_fd);
  nest_end(&r, peer);
  nest_end(&r, data);
  nest_end(&r, info);
  return talk(host, &r);
}

static int link_up(int fd, int index) {
  struct req r;
  struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC, .ifi_index = index, .ifi_flags = IFF_UP, .ifi_change = IFF_UP};
  req_init(&r, RTM_NEWLINK, 0, &ifi, sizeof ifi);
  return talk(fd, &r);
}

static int add_address(int fd, int index, struct in_addr a, int prefix) {
  struct req r;
  struct ifaddrmsg ifa = {.ifa_family = AF_INET, .ifa_prefixlen = prefix, .ifa_index = index};
  req_init(&r, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, &ifa, sizeof ifa);
  attr(&r, IFA_LOCAL, &a, sizeof a);
  attr(&r, IFA_ADDRESS, &a, sizeof a);
  return talk(fd, &r);
}

static int default_route(int fd, int index, struct in_addr gw) {
  struct req r;
  struct rtmsg rt = {.rtm_family = AF_INET, .rtm_table = RT_TABLE_MAIN, .rtm_protocol = RTPROT_BOOT,
                     .rtm_scope = RT_SCOPE_UNIVERSE, .rtm_type = RTN_UNICAST};
  req_init(&r, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, &rt, sizeof rt);
  attr(&r, RTA_GATEWAY, &gw, sizeof gw);
  attr(&r, RTA_OIF, &index, sizeof index);
  return talk(fd, &r);
}

static double now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e9 + t.tv_nsec;
}

#define TRY(what, call)                       \
  do {                                        \
    int rc_ = (call);                         \
    if (rc_ < 0) {                            \
      printf("error %s %d\n", what, -rc_);    \
      goto out;                               \
    }                                         \
  } while (0)

/* One endpoint, timed from the sandbox's open to the last ACK. */
static void endpoint(int host, int host_ns, const char *sandbox_path, int bridge, const char *name, struct in_addr a,
                     int prefix, struct in_addr gw) {
  int sandbox_fd = -1, inner = -1;
  double t0 = now_ns();
  sandbox_fd = open(sandbox_path, O_RDONLY | O_CLOEXEC);
  TRY("open", sandbox_fd < 0 ? -errno : 0);
  TRY("veth", veth_on_bridge(host, name, bridge, sandbox_fd));
  TRY("setns", setns(sandbox_fd, CLONE_NEWNET) < 0 ? -errno : 0);
  int eth0 = if_nametoindex("eth0");
  inner = route_socket();
  int back = setns(host_ns, CLONE_NEWNET) < 0 ? -errno : 0;
  TRY("setns back", back);
  TRY("eth0", eth0 == 0 ? -ENODEV : 0);
  TRY("socket", inner < 0 ? -EMFILE : 0);
  TRY("address", add_address(inner, eth0, a, prefix));
  TRY("eth0 up", link_up(inner, eth0));
  TRY("lo up", link_up(inner, 1));
  TRY("route", default_route(inner, eth0, gw));
  printf("%.0f\n", now_ns() - t0);
out:
  if (inner >= 0) close(inner);
  if (sandbox_fd >= 0) close(sandbox_fd);
  fflush(stdout);
}

int main(int argc, char **argv) {
  if (argc == 3 && strcmp(argv[2], "--echo") == 0) {
    create_flags |= NLM_F_ECHO;
    argc--;
  }
  if (argc != 2) {
    fprintf(stderr, "usage: %s HOST_NETNS_PATH\n", argv[0]);
    return 2;
  }
  int host_ns = open(argv[1], O_RDONLY | O_CLOEXEC);
  if (host_ns < 0 || setns(host_ns, CLONE_NEWNET) < 0) {
    perror(argv[1]);
    return 1;
  }
  int host = route_socket();
  if (host < 0) {
    perror("netlink socket");
    return 1;
  }
  char path[512], name[IFNAMSIZ], address[64], gateway[64];
  int bridge, prefix;
  while (scanf("%511s %d %15s %63s %d %63s", path, &bridge, name, address, &prefix, gateway) == 6) {
    struct in_addr a, gw;
    if (inet_pton(AF_INET, address, &a) != 1 || inet_pton(AF_INET, gateway, &gw) != 1) {
      printf("error address %d\n", EINVAL);
      fflush(stdout);
      continue;
    }
    endpoint(host, host_ns, path, bridge, name, a, prefix, gw);
  }
  return 0;
}
