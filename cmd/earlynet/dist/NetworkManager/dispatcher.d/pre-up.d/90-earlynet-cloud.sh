#!/bin/sh
# NetworkManager dispatcher hook (pre-up.d, symlinked into dispatcher.d as
# nm-cloud-setup's is): re-run earlynet cloud when an interface comes up,
# e.g. a hot-plugged ENI, and when a DHCPv4 lease changes.
#   $1 interface, $2 action
case "$2" in
pre-up)
    # Blocking, so network-online.target waits for the cloud configuration.
    if systemctl -q is-enabled earlynet-cloud.service; then
        exec systemctl restart earlynet-cloud.service
    fi
    ;;
dhcp4-change)
    if systemctl -q is-enabled earlynet-cloud.service; then
        exec systemctl --no-block restart earlynet-cloud.service
    fi
    ;;
esac
exit 0
