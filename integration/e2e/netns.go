package e2e

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// netns is a network namespace the test created; everything the VM talks
// to lives in it, and it is deleted (with its links) on cleanup.
type netns struct {
	name string
}

// errNoNetns means the test cannot create a namespace (not root, no
// CAP_SYS_ADMIN, no iproute2); callers skip.
var errNoNetns = errors.New("cannot create a network namespace")

// removeStale deletes namespaces this test created in an earlier run
// whose process is gone (a run killed by go test -timeout cannot clean
// up). Names carry the creating test process's PID.
func removeStale(logf func(string, ...any)) {
	ents, _ := os.ReadDir("/run/netns")
	for _, e := range ents {
		rest, ok := strings.CutPrefix(e.Name(), "enl-e2e-")
		pid, _, _ := strings.Cut(rest, "-")
		if !ok || pid == fmt.Sprint(os.Getpid()) {
			continue
		}
		if _, err := os.Stat("/proc/" + pid); err == nil {
			continue // its test is still running
		}
		if out, err := exec.Command("ip", "netns", "del", e.Name()).CombinedOutput(); err != nil {
			logf("remove stale namespace %s: %v: %s", e.Name(), err, out)
		} else {
			logf("removed stale namespace %s of an earlier run", e.Name())
		}
	}
}

func newNetns(t testing.TB) (*netns, error) {
	name := fmt.Sprintf("enl-e2e-%d-%d", os.Getpid(), time.Now().UnixNano()%1e6)
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("%w: ip netns add %s: %v: %s", errNoNetns, name, err, bytes.TrimSpace(out))
	}
	n := &netns{name: name}
	t.Cleanup(func() {
		if out, err := exec.Command("ip", "netns", "del", name).CombinedOutput(); err != nil {
			t.Errorf("ip netns del %s: %v: %s", name, err, out)
		}
	})
	return n, n.ip("link", "set", "lo", "up")
}

// ip runs `ip -n NS ARGS...`.
func (n *netns) ip(args ...string) error {
	out, err := exec.Command("ip", append([]string{"-n", n.name}, args...)...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ip -n %s %s: %v: %s", n.name, strings.Join(args, " "), err, bytes.TrimSpace(out))
	}
	return nil
}

// command returns argv run inside the namespace.
func (n *netns) command(ctx context.Context, argv ...string) *exec.Cmd {
	return exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", n.name}, argv...)...)
}

// start runs argv in the namespace in the background, output to logPath;
// cleanup kills exactly that process and waits for it.
func (n *netns) start(t testing.TB, logPath string, argv ...string) error {
	log, err := os.Create(logPath)
	if err != nil {
		return fmt.Errorf("create %s: %w", logPath, err)
	}
	cmd := n.command(context.Background(), argv...)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		log.Close()
		return fmt.Errorf("start %s: %w", argv[0], err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(unix.SIGTERM)
		_ = cmd.Wait()
		log.Close()
	})
	return nil
}

// do runs f on an OS thread switched into the namespace: sockets and taps
// that f creates belong to the namespace.
func (n *netns) do(f func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		// The thread is never unlocked: if switching back failed it must
		// die with the goroutine rather than serve others in the wrong
		// namespace.
		orig, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			errc <- fmt.Errorf("open own netns: %w", err)
			return
		}
		defer unix.Close(orig)
		target, err := unix.Open("/run/netns/"+n.name, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			errc <- fmt.Errorf("open netns %s: %w", n.name, err)
			return
		}
		defer unix.Close(target)
		if err := unix.Setns(target, unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("setns %s: %w", n.name, err)
			return
		}
		ferr := f()
		if err := unix.Setns(orig, unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("setns back from %s: %w", n.name, err)
			return
		}
		runtime.UnlockOSThread()
		errc <- ferr
	}()
	return <-errc
}

// openTap creates (or attaches to) tap device name in the namespace and
// returns its file.
func (n *netns) openTap(name string) (*os.File, error) {
	var f *os.File
	err := n.do(func() error {
		fd, err := unix.Open("/dev/net/tun", unix.O_RDWR|unix.O_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("open /dev/net/tun: %w", err)
		}
		ifr, err := unix.NewIfreq(name)
		if err != nil {
			unix.Close(fd)
			return fmt.Errorf("tap %s: %w", name, err)
		}
		ifr.SetUint16(unix.IFF_TAP | unix.IFF_NO_PI)
		if err := unix.IoctlIfreq(fd, unix.TUNSETIFF, ifr); err != nil {
			unix.Close(fd)
			return fmt.Errorf("TUNSETIFF %s: %w", name, err)
		}
		f = os.NewFile(uintptr(fd), "/dev/net/tun:"+name)
		return nil
	})
	return f, err
}

// vlanShim stands in for an 802.1Q trunk (the host kernel here has no
// 8021q): frames from the tap go to QEMU tagged with vid, tagged frames from
// QEMU go to the tap untagged; anything else from the guest is dropped, so
// a guest that does not use the VLAN gets no DHCP.
type vlanShim struct {
	tap  *os.File
	conn *net.UnixConn
	peer *net.UnixAddr
	vid  uint16
}

func startVlanShim(t testing.TB, tap *os.File, listen, peer string, vid uint16) error {
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: listen, Net: "unixgram"})
	if err != nil {
		return fmt.Errorf("vlan shim listen %s: %w", listen, err)
	}
	s := &vlanShim{tap: tap, conn: conn, peer: &net.UnixAddr{Name: peer, Net: "unixgram"}, vid: vid}
	go s.toGuest()
	go s.toTap()
	t.Cleanup(func() {
		conn.Close()
		tap.Close()
	})
	return nil
}

func (s *vlanShim) toGuest() {
	buf := make([]byte, 65536)
	for {
		n, err := s.tap.Read(buf[4:])
		if err != nil {
			return
		}
		if n < 14 {
			continue
		}
		copy(buf[0:12], buf[4:16])
		binary.BigEndian.PutUint16(buf[12:], 0x8100)
		binary.BigEndian.PutUint16(buf[14:], s.vid&0x0fff)
		_, _ = s.conn.WriteToUnix(buf[:n+4], s.peer) // fails until QEMU is there
	}
}

func (s *vlanShim) toTap() {
	buf := make([]byte, 65536)
	for {
		n, _, err := s.conn.ReadFromUnix(buf)
		if err != nil {
			return
		}
		if n < 18 || binary.BigEndian.Uint16(buf[12:]) != 0x8100 || binary.BigEndian.Uint16(buf[14:])&0x0fff != s.vid {
			continue
		}
		copy(buf[4:16], buf[0:12])
		_, _ = s.tap.Write(buf[4:n])
	}
}
