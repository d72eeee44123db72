#!/usr/bin/env bash
# Installs everything tsnet needs on a fresh Debian machine (run as root, with Node.js 20 already there):
# the system packages its tests and demo use, then the npm packages, which also build the TypeScript and
# compile native/netlink.c.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(gcc libc6-dev iproute2 iptables iputils-ping util-linux busybox-static)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

echo "setup: installing npm packages and building"
npm ci --no-audit --no-fund
