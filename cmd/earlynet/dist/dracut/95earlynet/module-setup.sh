#!/bin/bash
# dracut module "earlynet": brings the network up in the initramfs with
# `earlynet up` instead of NetworkManager's nm-initrd-generator and
# `NetworkManager --configure-and-quit=initrd`. Add it with
#
#     dracut --add earlynet --omit "network-manager network-legacy systemd-networkd" ...
#
# earlynet leaves under /run/NetworkManager what NetworkManager's initrd run
# leaves (profiles, hostname, device state and leases), so the
# NetworkManager of the real root adopts the configuration after
# switch-root.

# EARLYNET_BINARY names the binary to install when it is not on dracut's
# PATH (/usr/sbin:/usr/bin:/sbin:/bin), e.g. from a build tree;
# EARLYNET_CLOUD_BINARY likewise for earlynet-cloud.
_earlynet_binary() {
    if [[ -n $EARLYNET_BINARY ]]; then
        echo "$EARLYNET_BINARY"
    else
        find_binary earlynet
    fi
}

# called by dracut
check() {
    if ! [[ -x $(_earlynet_binary) ]]; then
        dinfo "dracut module 'earlynet' needs earlynet on PATH or EARLYNET_BINARY"
        return 1
    fi
    # Only when asked for (--add earlynet), as network-manager does.
    return 255
}

# called by dracut
depends() {
    # NIC drivers. Debian ships that module in dracut-network; without it
    # the drivers must be added with --add-drivers.
    if [[ -d $dracutbasedir/modules.d/90kernel-network-modules ]]; then
        echo kernel-network-modules
    fi
    return 0
}

# called by dracut
installkernel() {
    # bond=, vlan=, bridge= and team= need these; dracut's network modules
    # add them the same way.
    hostonly='' instmods bonding 8021q bridge
    return 0
}

# called by dracut
install() {
    inst_binary "$(_earlynet_binary)" /usr/bin/earlynet
    # `earlynet up --cloud` runs the cloud client when it is installed.
    local _cloud="${EARLYNET_CLOUD_BINARY:-$(find_binary earlynet-cloud)}"
    if [[ -x $_cloud ]]; then
        inst_binary "$_cloud" /usr/bin/earlynet-cloud
    fi
    inst_multiple -o ip
    inst_hook cmdline 99 "$moddir/earlynet-cmdline.sh"
    if dracut_module_included "systemd"; then
        inst_simple "$moddir/earlynet-initrd.service" "$systemdsystemunitdir/earlynet-initrd.service"
        $SYSTEMCTL -q --root "$initdir" enable earlynet-initrd.service
    else
        inst_hook initqueue/settled 99 "$moddir/earlynet-run.sh"
    fi
    # NetworkManager derives the DHCPv6 DUID from /etc/machine-id, and so
    # does earlynet, so that the real root's NetworkManager renews the
    # same lease.
    if [[ -e $dracutsysrootdir/etc/machine-id ]] && [[ ! -e $initdir/etc/machine-id ]]; then
        inst_simple /etc/machine-id
    fi
}
