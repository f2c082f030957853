#!/usr/bin/env bash
# Installs what earlynet's tests need on Debian 12. Idempotent: packages
# already present are not fetched again.
set -euo pipefail
pkgs=(network-manager dnsmasq-base iproute2 hyperfine time)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
# NetworkManager must not run as a service on a CI machine: the tests start
# their own daemons inside namespaces.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active -q NetworkManager 2>/dev/null; then
  echo "note: a NetworkManager service is running on this machine; tests do not touch it" >&2
fi
