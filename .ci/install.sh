#!/usr/bin/env bash
# Installs what earlynet's build and tests need on Debian 12. Idempotent:
# packages already present are not fetched again.
set -euo pipefail
cd "$(dirname "$0")/.."
SUDO=; [ "$(id -u)" = 0 ] || SUDO=sudo
# dbus, busybox (udhcpc) and util-linux (nsenter, unshare) for the live
# NetworkManager hand-over test (integration/handover_test.go).
handover_pkgs=(dbus busybox util-linux)

pkgs=(network-manager dnsmasq-base iproute2 hyperfine time curl unzip make git
  qemu-system-x86 linux-image-amd64 xz-utils cpio dracut-core)
# qemu-system-x86, linux-image-amd64 and dracut-core are for `make e2e`: the
# guest kernel and its modules, and dracut to build one image with the
# earlynet module. dracut-core, not dracut: the latter conflicts with
# initramfs-tools, which linux-image-amd64 pulls in.
# `install.sh bench` adds the clients `make bench-up` compares earlynet with
# and the harness's tools; CI does not run the benchmark.
if [ "${1:-}" = bench ]; then
  # dhcpcd-base also provides /var/lib/dhcpcd, which the sandbox mounts over.
  pkgs+=(isc-dhcp-client udhcpc dhcpcd-base tcpdump libc6-dev gcc python3)
fi
missing=()
for p in "${pkgs[@]}" "${handover_pkgs[@]}"; do
  # busybox-static provides the same busybox and conflicts with busybox.
  [ "$p" = busybox ] && command -v busybox >/dev/null 2>&1 && continue
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# Go: the toolchain go.mod names, from the module proxy, unless one is there.
want=$(awk '/^go /{print $2}' go.mod)
if ! command -v go >/dev/null 2>&1 && [ ! -x /usr/local/go/bin/go ]; then
  zip=$(mktemp --suffix=.zip)
  curl -fsSL -o "$zip" "https://proxy.golang.org/golang.org/toolchain/@v/v0.0.1-go${want}.linux-amd64.zip"
  tmp=$(mktemp -d)
  unzip -q "$zip" -d "$tmp"
  $SUDO rm -rf /usr/local/go
  $SUDO mv "$tmp/golang.org/toolchain@v0.0.1-go${want}.linux-amd64" /usr/local/go
  rm -rf "$zip" "$tmp"
fi

# A NetworkManager service on the machine is left alone: the tests start
# their own daemons inside namespaces they create.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active -q NetworkManager 2>/dev/null; then
  echo "note: a NetworkManager service is running on this machine; tests do not touch it" >&2
fi

# amazon-ec2-metadata-mock, the EC2 metadata service the cloud tests talk
# to (cmd/earlynet-cloud/aemm_test.go), pinned.
aemm=v1.13.0
if ! ec2-metadata-mock --version 2>/dev/null | grep -q "${aemm#v}"; then
  GOBIN=/usr/local/bin $SUDO env "PATH=$PATH:/usr/local/go/bin" GOBIN=/usr/local/bin \
    go install "github.com/aws/amazon-ec2-metadata-mock/cmd/ec2-metadata-mock@${aemm}"
fi
