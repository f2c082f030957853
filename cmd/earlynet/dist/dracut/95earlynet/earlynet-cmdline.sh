#!/bin/sh
# cmdline hook of the earlynet dracut module: decide whether the network
# must come up, exactly as the network-manager module does (rd.neednet, or a
# network root), and make the initqueue wait for earlynet.

type getargbool > /dev/null 2>&1 || . /lib/dracut-lib.sh

if [ -n "$netroot" ] || [ -e /tmp/net.ifaces ]; then
    echo rd.neednet >> /etc/cmdline.d/35-neednet.conf
fi

if getargbool 0 rd.neednet; then
    mkdir -p /run/earlynet "$hookdir"/initqueue/finished
    : > /run/earlynet/neednet
    echo '[ -f /tmp/earlynet.done ]' > "$hookdir"/initqueue/finished/earlynet.sh
fi
