#!/bin/bash
# dhcp-bench.sh: "time to network" of one-shot DHCPv4 clients, side by side.
#
# Two network namespaces (dhb-srv, dhb-cli) joined by a veth pair; a DHCPv4
# server (dnsmasq, or Kea with -s kea) in dhb-srv hands out 192.0.2.100-199
# with router 192.0.2.1 and DNS 192.0.2.53 (documentation ranges only;
# nothing leaves the two namespaces). For each client and run: the server is
# restarted with an empty lease database, the client interface is reset
# (link down, no address, no route), and sandbox.sh runs the client under
# dhb-timer (+ dhb-spawn), which reports the time from fork+exec until the
# address and the default route are both present (watched over rtnetlink),
# the process exit time, and the peak RSS of the client process (wait4
# ru_maxrss, as /usr/bin/time -v) and of the largest process of its tree.
# After the measured rounds: one tcpdump-traced run and one run under
# /usr/bin/time -v per client, then hyperfine start-up timings.
# Results and method: the project's shared bench.md; vendored into earlynet
# from the research tools so that `make bench-up` needs nothing outside the repo.
#
# Usage (root):
#   tools/bench/dhcp-bench.sh [-n RUNS] [-c "CLIENTS"] [-s dnsmasq|kea] [-p] [-T] [-H] [-o DIR]
#     -n RUNS     measured runs per client (default 20; one extra warm-up round is discarded)
#     -c CLIENTS  subset of: udhcpc udhcpc-min dhclient dhclient-min dhcpcd dhcpcd-noarp
#                 dhcpcd-fast networkd nm-initrd earlynet   (default: all; earlynet is
#                 left out of the default set, with a warning, when it cannot be found)
#     -s SERVER   dnsmasq (default) or kea
#     -p          leave dnsmasq's ping-before-offer on (default: --no-ping)
#     -T          skip the tcpdump trace run (one traced run per client)
#     -H          skip the hyperfine start-up measurements (nm-initrd-generator, Go, /bin/true)
#     -o DIR      output directory (default: a new mktemp -d)
# The earlynet binary under test: $EARLYNET (a path or a command name; default
# "earlynet" on PATH). It is run as
#   earlynet up --cmdline "ip=dhb-c:dhcp rd.neednet=1" --root <fresh dir in the run's tmpfs /run>
# Output: DIR/results.tsv (one line per run), DIR/summary.txt (the table),
#         DIR/trace/*.pcap + DIR/trace.txt, DIR/hyperfine.md, per-client logs.
# Cleans up every namespace and process it started (by PID) on exit.
set -euo pipefail

BENCH=$(cd "$(dirname "$0")" && pwd)
RUNS=20 SERVER=dnsmasq PING=0 TRACE=1 HYPER=1 OUTDIR= CLIENTS_GIVEN=0
ALL="udhcpc udhcpc-min dhclient dhclient-min dhcpcd dhcpcd-noarp dhcpcd-fast networkd nm-initrd earlynet"
CLIENTS=$ALL
usage() { sed -n '2,/^set -euo pipefail/p' "$0" | sed '$d'; }
while getopts n:c:s:pTHo:h opt; do
	case $opt in
	n) RUNS=$OPTARG ;; c) CLIENTS=$OPTARG CLIENTS_GIVEN=1 ;; s) SERVER=$OPTARG ;; p) PING=1 ;;
	T) TRACE=0 ;; H) HYPER=0 ;; o) OUTDIR=$OPTARG ;;
	h) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
done
[ "$(id -u)" = 0 ] || { echo "needs root" >&2; exit 1; }

for c in $CLIENTS; do
	case " $ALL " in *" $c "*) ;; *) echo "dhcp-bench.sh: unknown client '$c' (known: $ALL)" >&2; exit 2 ;; esac
done
# earlynet: resolve $EARLYNET to an absolute path here, so that sandbox.sh finds
# it whatever the working directory; it reaches sandbox.sh through the environment.
if [[ " $CLIENTS " == *" earlynet "* ]]; then
	if p=$(command -v "${EARLYNET:-earlynet}") && [ -x "$p" ]; then
		EARLYNET=$(readlink -f "$p")
		export EARLYNET
	elif [ "$CLIENTS_GIVEN" = 1 ]; then
		echo "dhcp-bench.sh: earlynet not found (EARLYNET=${EARLYNET:-unset}); set EARLYNET=/path/to/earlynet or put it on PATH" >&2
		exit 1
	else
		echo "dhcp-bench.sh: earlynet not found (EARLYNET=${EARLYNET:-unset}); benchmarking the other clients only" >&2
		CLIENTS=$(for c in $CLIENTS; do [ "$c" = earlynet ] || printf '%s ' "$c"; done)
		CLIENTS=${CLIENTS% }
	fi
fi

# tools this run needs (the clients themselves are checked by their runs)
missing=
for t in ip ss cc go python3 /usr/bin/time; do command -v "$t" >/dev/null || missing="$missing $t"; done
if [ "$SERVER" = kea ]; then command -v kea-dhcp4 >/dev/null || missing="$missing kea-dhcp4"
else command -v dnsmasq >/dev/null || missing="$missing dnsmasq"; fi
[ "$TRACE" = 0 ] || command -v tcpdump >/dev/null || missing="$missing tcpdump"
[ "$HYPER" = 0 ] || command -v hyperfine >/dev/null || missing="$missing hyperfine"
[ -z "$missing" ] || { echo "dhcp-bench.sh: missing:$missing" >&2; exit 1; }

NS_S=dhb-srv NS_C=dhb-cli IF_S=dhb-s IF_C=dhb-c MAC_C=02:00:00:00:db:01
W=${OUTDIR:-$(mktemp -d "${TMPDIR:-/tmp}/dhcp-bench.XXXXXX")}
mkdir -p "$W/bin" "$W/runs" "$W/trace"
W=$(cd "$W" && pwd)
SERVER_PID= TCPDUMP_PID=
log() { printf '%s %s\n' "$(date +%T)" "$*" >&2; }

stop_pid() { # PID: SIGTERM, wait up to 5 s, then SIGKILL
	local p=$1 i
	[ -n "$p" ] || return 0
	kill "$p" 2>/dev/null || return 0
	for i in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
	kill -9 "$p" 2>/dev/null || true
	wait "$p" 2>/dev/null || true
}

cleanup() {
	set +e
	stop_pid "$TCPDUMP_PID"; TCPDUMP_PID=
	stop_pid "$SERVER_PID"; SERVER_PID=
	ip netns del $NS_C 2>/dev/null
	ip netns del $NS_S 2>/dev/null
}
trap cleanup EXIT
trap 'echo "dhcp-bench.sh: failed at line $LINENO" >&2' ERR
trap 'exit 130' INT TERM

build() {
	log "building dhb-timer, dhb-spawn, gohello"
	cc -O2 -static -Wall -o "$W/bin/dhb-spawn" "$BENCH/spawn/spawn.c"
	(cd "$BENCH/timer" && CGO_ENABLED=0 go build -trimpath -o "$W/bin/dhb-timer" . &&
		CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o "$W/bin/gohello" ./hello)
}

setup_net() {
	for ns in $NS_S $NS_C; do
		if ip netns list | grep -qw "$ns"; then echo "netns $ns already exists; not touching it" >&2; exit 1; fi
	done
	ip netns add $NS_S
	ip netns add $NS_C
	ip link add $IF_S type veth peer name $IF_C
	ip link set $IF_S netns $NS_S
	ip link set $IF_C netns $NS_C
	ip -n $NS_S link set lo up
	ip -n $NS_S addr add 192.0.2.1/24 dev $IF_S
	ip -n $NS_S link set $IF_S up
	ip -n $NS_C link set lo up
	ip -n $NS_C link set $IF_C address $MAC_C
}

start_server() {
	rm -f "$W/leases"
	if [ "$SERVER" = kea ]; then
		KEA_PIDFILE_DIR=$W KEA_LOCKFILE_DIR=none \
			ip netns exec $NS_S kea-dhcp4 -c "$W/kea.json" >> "$W/server.out" 2>&1 &
	else
		local ping=--no-ping
		[ "$PING" = 1 ] && ping=
		ip netns exec $NS_S dnsmasq --keep-in-foreground --conf-file=/dev/null --port=0 \
			--no-resolv --no-hosts --user=root --group=root --bind-interfaces --interface=$IF_S \
			--dhcp-range=192.0.2.100,192.0.2.199,255.255.255.0,1h \
			--dhcp-option=option:router,192.0.2.1 --dhcp-option=option:dns-server,192.0.2.53 \
			--dhcp-authoritative $ping --dhcp-leasefile="$W/leases" --pid-file="$W/dnsmasq.pid" \
			--log-facility="$W/server.log" >> "$W/server.out" 2>&1 &
	fi
	SERVER_PID=$!
	local i
	for i in $(seq 100); do
		if ip netns exec $NS_S ss -H -uln 'sport = :67' | grep -q .; then return 0; fi
		kill -0 "$SERVER_PID" 2>/dev/null || break
		sleep 0.02
	done
	echo "DHCP server did not start; see $W/server.out" >&2
	exit 1
}

write_kea_conf() {
	cat > "$W/kea.json" <<EOF
{ "Dhcp4": {
    "interfaces-config": { "interfaces": [ "$IF_S" ], "dhcp-socket-type": "raw" },
    "lease-database": { "type": "memfile", "persist": false, "lfc-interval": 0 },
    "authoritative": true,
    "valid-lifetime": 3600, "renew-timer": 1800, "rebind-timer": 3150,
    "subnet4": [ { "id": 1, "subnet": "192.0.2.0/24",
        "pools": [ { "pool": "192.0.2.100 - 192.0.2.199" } ],
        "option-data": [ { "name": "routers", "data": "192.0.2.1" },
                         { "name": "domain-name-servers", "data": "192.0.2.53" } ] } ],
    "loggers": [ { "name": "kea-dhcp4", "severity": "INFO",
        "output_options": [ { "output": "$W/server.log" } ] } ]
} }
EOF
}

reset_client() {
	ip -n $NS_C link set $IF_C down
	ip -n $NS_C addr flush dev $IF_C
	ip -n $NS_C route flush table main 2>/dev/null || true
	ip -n $NS_C neigh flush dev $IF_C 2>/dev/null || true
	ip -n $NS_C link set $IF_C address $MAC_C
	ip -n $NS_S neigh flush dev $IF_S 2>/dev/null || true
}

# one_run CLIENT TAG: restart the server, reset the link, run the client once.
one_run() {
	local c=$1 tag=$2 line post disc req
	stop_pid "$SERVER_PID"; SERVER_PID=
	ip -n $NS_C link set $IF_C up   # Kea will not open an interface without carrier
	start_server
	reset_client
	mkdir -p "$W/runs/$c"
	local mark
	mark=$(wc -l < "$W/server.log" 2>/dev/null || echo 0)
	line=$(TIMEV=${TIMEV:-} ip netns exec $NS_C unshare --mount --uts --pid --fork --mount-proc --propagation private -- \
		"$BENCH/sandbox.sh" "$c" "$W/runs/$c" "$W/bin") || line="label=$c ok=false sandbox_failed"
	# verify from outside: address + default route still there after the client finished
	if ip -n $NS_C -4 -o addr show dev $IF_C | grep -q ' 192\.0\.2\.' &&
		ip -n $NS_C -4 route show default | grep -q 'via 192\.0\.2\.1'; then post=kept; else post=gone; fi
	# the server saw a fresh DISCOVER (not an INIT-REBOOT REQUEST only)?
	sleep 0.05
	disc=$(tail -n +$((mark + 1)) "$W/server.log" 2>/dev/null | grep -c -E 'DHCPDISCOVER|DHCP4_LEASE_ADVERT' || true)
	printf '%s\t%s post=%s server_discovers=%s load1=%s\n' "$tag" "$line" "$post" "$disc" \
		"$(cut -d' ' -f1 /proc/loadavg)" >> "$W/results.tsv"
	echo "$tag $line post=$post discovers=$disc"
}

start_tcpdump() { # FILE
	ip netns exec $NS_S tcpdump -i $IF_S -n --immediate-mode -U -w "$1" 'udp port 67 or udp port 68 or icmp or arp' \
		2> "$1.err" &
	TCPDUMP_PID=$!
	local i
	for i in $(seq 100); do grep -q 'listening on' "$1.err" 2>/dev/null && return 0; sleep 0.05; done
	echo "tcpdump did not start" >&2
}

binsizes() { # CLIENT -> "binary_bytes closure_bytes"
	local c=$1 b
	case $c in
	udhcpc*) b=/usr/sbin/udhcpc ;;
	dhclient*) b=/usr/sbin/dhclient ;;
	dhcpcd*) b=/usr/sbin/dhcpcd ;;
	networkd) b=/usr/lib/systemd/systemd-networkd ;;
	nm-initrd) b=/usr/sbin/NetworkManager ;;
	earlynet) b=$EARLYNET ;;
	esac
	b=$(readlink -f "$b")
	local libs
	libs=$({ echo "$b"; ldd "$b" 2>/dev/null | awk '/=>/ && $3 ~ /^\// {print $3} /^\t\/.* \(/ {print $1}'; } |
		xargs -r readlink -f | sort -u)
	if [ "$c" = nm-initrd ]; then libs=$(printf '%s\n%s\n' "$libs" /usr/lib/NetworkManager/nm-initrd-generator | sort -u); fi
	printf '%s %s\n' "$(stat -c %s "$b")" "$(echo "$libs" | xargs stat -c %s | awk '{s+=$1} END {print s}')"
}

main() {
	build
	[ "$SERVER" = kea ] && write_kea_conf
	setup_net
	log "output in $W; server=$SERVER ping=$PING runs=$RUNS clients: $CLIENTS"
	{
		echo "date=$(date -u +%FT%TZ) kernel=$(uname -r) cpus=$(nproc) server=$SERVER ping=$PING runs=$RUNS"
		dnsmasq --version | head -1; kea-dhcp4 -V 2>/dev/null | head -1 | sed 's/^/kea-dhcp4 /'
		dhclient --version 2>&1; dhcpcd --version | head -1; busybox | head -1
		NetworkManager --version | sed 's/^/NetworkManager /'; /usr/lib/systemd/systemd-networkd --version | head -1
		go version
		if [ -n "${EARLYNET:-}" ]; then echo "earlynet $EARLYNET: $("$EARLYNET" --version 2>&1 | head -1)"; fi
	} > "$W/versions.txt" 2>&1 || true   # (head closing pipes is fine)
	: > "$W/results.tsv"
	local r c
	for r in $(seq 0 "$RUNS"); do
		for c in $CLIENTS; do
			if [ "$r" = 0 ]; then one_run "$c" "warmup" >&2; else one_run "$c" "run$r" >&2; fi
		done
	done
	if [ "$TRACE" = 1 ]; then
		for c in $CLIENTS; do
			start_tcpdump "$W/trace/$c.pcap"
			one_run "$c" "trace" >&2
			sleep 0.3
			stop_pid "$TCPDUMP_PID"; TCPDUMP_PID=
		done
	fi
	# cross-check: one more run per client under /usr/bin/time -v
	for c in $CLIENTS; do TIMEV=1 one_run "$c" "timev" >&2; done
	stop_pid "$SERVER_PID"; SERVER_PID=
	: > "$W/sizes.tsv"
	for c in $CLIENTS; do echo "$c $(binsizes "$c")" >> "$W/sizes.tsv"; done
	python3 "$BENCH/summarize.py" "$W" | tee "$W/summary.txt"
	if [ "$HYPER" = 1 ]; then hyperfine_gen; fi
	log "done: $W"
}

hyperfine_gen() {
	local G=/usr/lib/NetworkManager/nm-initrd-generator d=$W/nmgen
	mkdir -p "$d"
	log "hyperfine: nm-initrd-generator start-up"
	hyperfine -N --warmup 20 --runs 300 --export-markdown "$W/hyperfine.md" \
		-n 'true' "/bin/true" \
		-n 'go-hello (static Go binary, prints one line)' "$W/bin/gohello" \
		-n 'nm-initrd-generator ip=dhcp (stdout)' "$G -s -- ip=dhcp rd.neednet=1" \
		-n 'nm-initrd-generator typical (files)' \
		"$G -c $d/c -i $d/i -r $d/r -- BOOT_IMAGE=/vmlinuz root=UUID=0b2a6c9e-4d0f-4c59-9f0e-1d2c3b4a5f60 ro console=ttyS0,115200 ip=ens3:dhcp rd.neednet=1 nameserver=192.0.2.53" \
		-n 'nm-initrd-generator static+bond+vlan (stdout)' \
		"$G -s -- ip=192.0.2.10::192.0.2.1:255.255.255.0:host1:bond0.100:none nameserver=192.0.2.53 bond=bond0:ens3,ens4:mode=active-backup vlan=bond0.100:bond0 rd.neednet=1" \
		>> "$W/hyperfine.out" 2>&1
	cat "$W/hyperfine.md"
}

main
