#!/bin/sh
# initqueue/settled hook of the earlynet dracut module (initramfs without
# systemd): run `earlynet up` once udev has settled, set the hostname and
# hand each configured interface to the netroot handlers (nfs, iscsi, ...).
# Sourced by dracut: return, never exit.

type getcmdline > /dev/null 2>&1 || . /lib/dracut-lib.sh

[ -e /tmp/earlynet.done ] && return 0

if [ -e /run/earlynet/neednet ]; then
    # The report goes to /run/earlynet/up.json, the reasons for a failure
    # to the console and to /run/earlynet/up.log.
    /usr/bin/earlynet up --json --cmdline "$(getcmdline)" > /run/earlynet/up.json 2> /run/earlynet/up.log
    _rc=$?
    if [ "$_rc" -ne 0 ]; then
        warn "earlynet up failed with status $_rc:"
        while read -r _line; do warn "  $_line"; done < /run/earlynet/up.log
    fi
fi

if [ -s /run/NetworkManager/initrd/hostname ]; then
    cat /run/NetworkManager/initrd/hostname > /proc/sys/kernel/hostname
fi

# An interface earlynet configured has a NetworkManager device state file
# with the profile's UUID (the hand-over contract).
for _i in /sys/class/net/*; do
    [ -d "$_i" ] || continue
    grep -q '^connection-uuid=' "/run/NetworkManager/devices/$(cat "$_i"/ifindex)" 2> /dev/null || continue
    _ifname="${_i##*/}"
    source_hook initqueue/online "$_ifname"
    [ -x /sbin/netroot ] && /sbin/netroot "$_ifname"
done

: > /tmp/earlynet.done
