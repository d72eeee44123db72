#!/usr/bin/env bash
# Installs everything tsnet needs on a fresh Debian machine (run as root, with Node.js 20 already there):
# the system packages its tests and demo use, then the npm packages, which also build the TypeScript and
# compile native/netlink.c.
set -euo pipefail
cd "$(dirname "$0")/.."

# docker.io is for the end-to-end test of the Docker plugin (it runs its own dockerd, isolated).
# libseccomp-dev: the launcher links libseccomp statically to load containers' seccomp filters.
# tmux: the end-to-end tests of interactive containers type into a real terminal.
# docker-registry, apache2-utils (htpasswd), openssl, curl: the registry tests run their own registry, isolated.
# iperf3: the lab impairment tests measure a rate-limited link with it (run in the nodes' namespaces).
# nftables: tsnet drives nf_tables itself through netlink; the tests read its table with `nft`, an independent
#   reader (iptables stays for the iptables backend, --firewall-backend iptables).
# etcd-server, etcd-client: the multi-host tests run their own etcd (the cluster store of overlay networks) on a
#   test's underlay, and read it back with etcdctl; the package's own service is not started (policy-rc.d below).
# fonts-dejavu-core: the text of a lab report's pictures; chromium: the report's test opens its page headless.
# qemu-system-x86: the tests of what this kernel may lack (netem) boot a second kernel (below) in a VM.
# e2fsprogs: chattr, which marks the containers' folder as ext4's top of unrelated trees (docs/runtime.md).
# mininet, bridge-utils: the lab bench's baseline (Mininet's linear topologies with Linux-bridge switches; its
#   recommended Open vSwitch is not installed).
# containernetworking-plugins, netavark: the cnm bench's baselines for an attach (CNI's bridge plugin, and netavark
#   as Podman runs it), each run in a namespace of the bench's own.
packages=(gcc libc6-dev libseccomp-dev iproute2 iptables nftables iputils-ping util-linux busybox-static docker.io graphviz tmux
  docker-registry apache2-utils openssl curl iperf3 fonts-dejavu-core chromium etcd-server etcd-client qemu-system-x86
  e2fsprogs mininet bridge-utils containernetworking-plugins netavark)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # No package may start a service here (docker.io would start dockerd on the host's network): a policy-rc.d
  # that refuses, for the length of the install, unless the machine already has one.
  guard=""
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d && guard=1
  fi
  trap 'if [ -n "$guard" ]; then rm -f /usr/sbin/policy-rc.d; fi' EXIT
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

echo "setup: installing npm packages and building"
npm ci --no-audit --no-fund

# Docker's default seccomp profile (profiles/seccomp/default.json), taken from Debian's package of Docker's sources
# without installing it (and its hundreds of megabytes of Go sources): containers are confined with it.
profile=native/build/docker-seccomp-default.json
if [ ! -s "$profile" ]; then
  echo "setup: extracting Docker's default seccomp profile"
  debs=$(mktemp -d)
  chmod 755 "$debs"
  ( cd "$debs" && { apt-get download -qq -o APT::Sandbox::User=root golang-github-docker-docker-dev 2>/dev/null || { apt-get update -qq && apt-get download -qq -o APT::Sandbox::User=root golang-github-docker-docker-dev; }; } )
  dpkg-deb --fsys-tarfile "$debs"/golang-github-docker-docker-dev_*.deb |
    tar -x -O ./usr/share/gocode/src/github.com/docker/docker/profiles/seccomp/default.json > "$profile.tmp"
  mv "$profile.tmp" "$profile"
  rm -rf "$debs"
fi

# A second kernel for the tests of what the machine's own kernel may lack (netem): Debian's kernel package, unpacked
# (not installed: the machine's boot is left alone) with its module index made by busybox's depmod. The tests boot
# it under qemu with no network device (test/helpers/vm.ts).
kernel_dir=${TSNET_TEST_KERNEL:-/var/cache/tsnet/test-kernel}
if [ ! -e "$kernel_dir/ready" ]; then
  echo "setup: unpacking a test kernel into $kernel_dir"
  kernel_package() { apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ {print $2; exit}'; }
  pkg=$(kernel_package)
  if [ -z "$pkg" ]; then apt-get update -qq && pkg=$(kernel_package); fi
  debs=$(mktemp -d)
  chmod 755 "$debs"
  ( cd "$debs" && { apt-get download -qq -o APT::Sandbox::User=root "$pkg" 2>/dev/null || { apt-get update -qq && apt-get download -qq -o APT::Sandbox::User=root "$pkg"; }; } )
  rm -rf "$kernel_dir" && mkdir -p "$kernel_dir"
  dpkg-deb -x "$debs"/linux-image-*.deb "$kernel_dir"
  busybox depmod -b "$kernel_dir" "$(ls "$kernel_dir/lib/modules")"
  touch "$kernel_dir/ready"
  rm -rf "$debs"
fi
