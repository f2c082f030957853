package dhcp4

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/insomniacslk/dhcp/dhcpv4/server4"
)

// memConn is one end of an in-memory packet pipe.
type memConn struct {
	local   net.Addr
	peer    *memConn
	in      chan []byte
	closed  chan struct{}
	closeMu sync.Once
}

func memPipe() (client, server *memConn) {
	client = &memConn{local: &net.UDPAddr{IP: net.IPv4zero, Port: 68}, in: make(chan []byte, 16), closed: make(chan struct{})}
	server = &memConn{local: &net.UDPAddr{IP: net.IPv4(192, 0, 2, 1), Port: 67}, in: make(chan []byte, 16), closed: make(chan struct{})}
	client.peer, server.peer = server, client
	return client, server
}

func (c *memConn) ReadFrom(b []byte) (int, net.Addr, error) {
	select {
	case p := <-c.in:
		return copy(b, p), c.peer.local, nil
	case <-c.closed:
		return 0, nil, net.ErrClosed
	}
}

func (c *memConn) WriteTo(b []byte, _ net.Addr) (int, error) {
	p := append([]byte(nil), b...)
	select {
	case c.peer.in <- p:
	case <-c.closed:
		return 0, net.ErrClosed
	}
	return len(b), nil
}

func (c *memConn) Close() error                     { c.closeMu.Do(func() { close(c.closed) }); return nil }
func (c *memConn) LocalAddr() net.Addr              { return c.local }
func (c *memConn) SetDeadline(time.Time) error      { return nil }
func (c *memConn) SetReadDeadline(time.Time) error  { return nil }
func (c *memConn) SetWriteDeadline(time.Time) error { return nil }

// fakeClock fires the first fire timers at once (advancing its time by
// their delay), and those fireOn says yes to (1-based); the rest never
// fire. It records every delay.
type fakeClock struct {
	mu      sync.Mutex
	now     time.Time
	fire    int
	fireOn  func(n int) bool
	waits   []time.Duration
	onAfter func(n int)
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	c.waits = append(c.waits, d)
	n := len(c.waits)
	ch := make(chan time.Time, 1)
	if n <= c.fire || (c.fireOn != nil && c.fireOn(n)) {
		c.now = c.now.Add(d)
		ch <- c.now
	}
	hook := c.onAfter
	c.mu.Unlock()
	if hook != nil {
		hook(n)
	}
	return ch
}

var (
	serverIP = net.IPv4(192, 0, 2, 1)
	clientHW = net.HardwareAddr{0x02, 0, 0, 0, 0, 0x01}
)

// goodReply answers a DISCOVER with an OFFER and a REQUEST with an ACK
// for 192.0.2.100/24 via 192.0.2.1.
func goodReply(m *dhcpv4.DHCPv4, mods ...dhcpv4.Modifier) *dhcpv4.DHCPv4 {
	mt := dhcpv4.MessageTypeOffer
	if m.MessageType() == dhcpv4.MessageTypeRequest {
		mt = dhcpv4.MessageTypeAck
	}
	base := []dhcpv4.Modifier{
		dhcpv4.WithMessageType(mt),
		dhcpv4.WithYourIP(net.IPv4(192, 0, 2, 100)),
		dhcpv4.WithServerIP(serverIP),
		dhcpv4.WithOption(dhcpv4.OptServerIdentifier(serverIP)),
		dhcpv4.WithOption(dhcpv4.OptSubnetMask(net.CIDRMask(24, 32))),
		dhcpv4.WithOption(dhcpv4.OptRouter(serverIP)),
		dhcpv4.WithOption(dhcpv4.OptDNS(net.IPv4(192, 0, 2, 53))),
		dhcpv4.WithOption(dhcpv4.OptIPAddressLeaseTime(time.Hour)),
		dhcpv4.WithOption(dhcpv4.OptDomainName("example.test")),
		dhcpv4.WithOption(dhcpv4.Option{Code: dhcpv4.OptionInterfaceMTU, Value: dhcpv4.Uint16(1400)}),
	}
	r, err := dhcpv4.NewReplyFromRequest(m, append(base, mods...)...)
	if err != nil {
		panic(err)
	}
	return r
}

// server runs an insomniacslk server4 on the pipe; respond returns the
// packets (raw) to send for each received message, given how many of that
// type came before.
type server struct {
	mu   sync.Mutex
	seen []*dhcpv4.DHCPv4
}

func startServer(t *testing.T, conn net.PacketConn, respond func(m *dhcpv4.DHCPv4, n int) [][]byte) *server {
	t.Helper()
	s := &server{}
	counts := map[dhcpv4.MessageType]int{}
	h := func(c net.PacketConn, peer net.Addr, m *dhcpv4.DHCPv4) {
		s.mu.Lock()
		s.seen = append(s.seen, m)
		n := counts[m.MessageType()]
		counts[m.MessageType()]++
		s.mu.Unlock()
		for _, p := range respond(m, n) {
			c.WriteTo(p, peer)
		}
	}
	srv, err := server4.NewServer("", nil, h, server4.WithConn(conn))
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve()
	t.Cleanup(func() { srv.Close() })
	return s
}

func (s *server) types() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, m := range s.seen {
		out = append(out, m.MessageType().String())
	}
	return out
}

func acquire(t *testing.T, clk *fakeClock, respond func(*dhcpv4.DHCPv4, int) [][]byte) (*Lease, *server, error) {
	t.Helper()
	cc, sc := memPipe()
	s := startServer(t, sc, respond)
	t.Cleanup(func() { cc.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	l, err := Acquire(ctx, cc, Config{
		HWAddr:      clientHW,
		ClientID:    append([]byte{1}, clientHW...),
		Hostname:    "host1",
		VendorClass: "earlynet-test",
		Clock:       clk,
		Logf:        t.Logf,
	})
	return l, s, err
}

func raw(m *dhcpv4.DHCPv4) [][]byte { return [][]byte{m.ToBytes()} }

func TestAcquire(t *testing.T) {
	l, s, err := acquire(t, &fakeClock{}, func(m *dhcpv4.DHCPv4, _ int) [][]byte { return raw(goodReply(m)) })
	if err != nil {
		t.Fatal(err)
	}
	want := &Lease{
		Address:    netip.MustParsePrefix("192.0.2.100/24"),
		Gateway:    netip.MustParseAddr("192.0.2.1"),
		DNS:        []netip.Addr{netip.MustParseAddr("192.0.2.53")},
		Domain:     "example.test",
		MTU:        1400,
		LeaseTime:  time.Hour,
		T1:         30 * time.Minute,
		T2:         time.Hour * 7 / 8,
		ServerID:   netip.MustParseAddr("192.0.2.1"),
		NextServer: netip.MustParseAddr("192.0.2.1"),
		ClientID:   []byte{1, 2, 0, 0, 0, 0, 1},
	}
	got := *l
	got.ACK = nil
	if diff := cmp.Diff(want, &got, cmp.Comparer(func(a, b netip.Addr) bool { return a == b }),
		cmp.Comparer(func(a, b netip.Prefix) bool { return a == b })); diff != "" {
		t.Errorf("lease (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"DISCOVER", "REQUEST"}, s.types()); diff != "" {
		t.Errorf("server saw (-want +got):\n%s", diff)
	}
	d := s.seen[0]
	if got, want := string(d.Options.Get(dhcpv4.OptionClientIdentifier)), string(append([]byte{1}, clientHW...)); got != want {
		t.Errorf("client id: got %x, want %x", got, want)
	}
	if got := d.HostName(); got != "host1" {
		t.Errorf("hostname option: got %q, want host1", got)
	}
	if got := d.ClassIdentifier(); got != "earlynet-test" {
		t.Errorf("vendor class: got %q, want earlynet-test", got)
	}
	if !d.IsOptionRequested(dhcpv4.OptionClasslessStaticRoute) || !d.IsOptionRequested(dhcpv4.OptionInterfaceMTU) {
		t.Errorf("parameter request list lacks 121 or 26: %v", d.ParameterRequestList())
	}
}

func TestAcquireClasslessRoutes(t *testing.T) {
	// GCE style: a /32 with the gateway reachable through option 121.
	gw := net.IPv4(198, 51, 100, 1)
	routes := dhcpv4.OptClasslessStaticRoute(
		&dhcpv4.Route{Dest: &net.IPNet{IP: gw, Mask: net.CIDRMask(32, 32)}, Router: net.IPv4zero},
		&dhcpv4.Route{Dest: &net.IPNet{IP: net.IPv4zero, Mask: net.CIDRMask(0, 32)}, Router: gw},
		&dhcpv4.Route{Dest: &net.IPNet{IP: net.IPv4(203, 0, 113, 0), Mask: net.CIDRMask(24, 32)}, Router: gw},
	)
	l, _, err := acquire(t, &fakeClock{}, func(m *dhcpv4.DHCPv4, _ int) [][]byte {
		return raw(goodReply(m,
			dhcpv4.WithOption(dhcpv4.OptSubnetMask(net.CIDRMask(32, 32))),
			dhcpv4.WithOption(dhcpv4.OptRouter(net.IPv4(192, 0, 2, 254))), // ignored: 121 is present
			dhcpv4.WithOption(routes)))
	})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := l.Gateway, netip.MustParseAddr("198.51.100.1"); got != want {
		t.Errorf("gateway: got %s, want %s", got, want)
	}
	want := []Route{
		{Dest: netip.MustParsePrefix("198.51.100.1/32"), Gateway: netip.IPv4Unspecified()},
		{Dest: netip.MustParsePrefix("203.0.113.0/24"), Gateway: netip.MustParseAddr("198.51.100.1")},
	}
	if diff := cmp.Diff(want, l.Routes, cmp.Comparer(func(a, b Route) bool { return a == b })); diff != "" {
		t.Errorf("routes (-want +got):\n%s", diff)
	}
	if l.Address.Bits() != 32 {
		t.Errorf("prefix: got %s, want a /32", l.Address)
	}
}

// TestAcquireIgnoresBadOffers: nonsense offers and garbage on the wire
// are skipped; the sound offer that follows is taken.
func TestAcquireIgnoresBadOffers(t *testing.T) {
	other := net.IPv4(192, 0, 2, 2)
	bad := func(m *dhcpv4.DHCPv4) [][]byte {
		id := dhcpv4.WithOption(dhcpv4.OptServerIdentifier(other))
		return [][]byte{
			[]byte("not dhcp at all"),
			make([]byte, 1600), // oversized
			goodReply(m, id, dhcpv4.WithYourIP(net.IPv4zero)).ToBytes(),
			goodReply(m, id, dhcpv4.WithOption(dhcpv4.OptIPAddressLeaseTime(0))).ToBytes(),
			goodReply(m, id, dhcpv4.WithOption(dhcpv4.OptSubnetMask(net.CIDRMask(0, 32)))).ToBytes(),
			goodReply(m, id, dhcpv4.WithOption(dhcpv4.OptRouter(net.IPv4(198, 51, 100, 1)))).ToBytes(),
		}
	}
	l, s, err := acquire(t, &fakeClock{}, func(m *dhcpv4.DHCPv4, _ int) [][]byte {
		if m.MessageType() == dhcpv4.MessageTypeDiscover {
			return append(bad(m), goodReply(m).ToBytes())
		}
		return raw(goodReply(m))
	})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := l.ServerID, netip.MustParseAddr("192.0.2.1"); got != want {
		t.Errorf("server: got %s, want %s (the sound offer)", got, want)
	}
	if diff := cmp.Diff([]string{"DISCOVER", "REQUEST"}, s.types()); diff != "" {
		t.Errorf("server saw (-want +got):\n%s", diff)
	}
}

func TestAcquireNak(t *testing.T) {
	// Timers: 1 DISCOVER, 2 REQUEST, 3 the pause after the NAK.
	l, s, err := acquire(t, &fakeClock{fireOn: func(n int) bool { return n == 3 }}, func(m *dhcpv4.DHCPv4, n int) [][]byte {
		if m.MessageType() == dhcpv4.MessageTypeRequest && n == 0 {
			nak, _ := dhcpv4.NewReplyFromRequest(m, dhcpv4.WithMessageType(dhcpv4.MessageTypeNak),
				dhcpv4.WithOption(dhcpv4.OptServerIdentifier(serverIP)),
				dhcpv4.WithOption(dhcpv4.OptMessage("wrong network")))
			return raw(nak)
		}
		return raw(goodReply(m))
	})
	if err != nil {
		t.Fatal(err)
	}
	if !l.Address.IsValid() {
		t.Fatal("no address after NAK and retry")
	}
	if diff := cmp.Diff([]string{"DISCOVER", "REQUEST", "DISCOVER", "REQUEST"}, s.types()); diff != "" {
		t.Errorf("server saw (-want +got):\n%s", diff)
	}
}

// TestAcquireRetransmits: a server that ignores the first two DISCOVERs
// is reached by the third, after waits on the RFC 2131 schedule, and the
// secs field counts the elapsed time.
func TestAcquireRetransmits(t *testing.T) {
	clk := &fakeClock{fire: 2}
	_, s, err := acquire(t, clk, func(m *dhcpv4.DHCPv4, n int) [][]byte {
		if m.MessageType() == dhcpv4.MessageTypeDiscover && n < 2 {
			return nil
		}
		return raw(goodReply(m))
	})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"DISCOVER", "DISCOVER", "DISCOVER", "REQUEST"}, s.types()); diff != "" {
		t.Errorf("server saw (-want +got):\n%s", diff)
	}
	clk.mu.Lock()
	waits := clk.waits[:2]
	clk.mu.Unlock()
	if diff := cmp.Diff([]time.Duration{4 * time.Second, 8 * time.Second}, waits); diff != "" {
		t.Errorf("retransmission waits (-want +got):\n%s", diff)
	}
	var secs []uint16 // the server handles packets concurrently: sort
	for _, m := range s.seen[:3] {
		secs = append(secs, m.NumSeconds)
	}
	slices.Sort(secs)
	if diff := cmp.Diff([]uint16{0, 4, 12}, secs); diff != "" {
		t.Errorf("secs of the DISCOVERs (-want +got):\n%s", diff)
	}
	if s.seen[0].TransactionID != s.seen[2].TransactionID {
		t.Error("retransmissions changed the transaction id")
	}
}

func TestAcquireNoServer(t *testing.T) {
	cc, sc := memPipe()
	t.Cleanup(func() { cc.Close(); sc.Close() })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	clk := &fakeClock{fire: 4}
	clk.onAfter = func(n int) {
		if n == 5 {
			cancel()
		}
	}
	go func() { // a silent server: read and drop
		buf := make([]byte, 1500)
		for {
			if _, _, err := sc.ReadFrom(buf); err != nil {
				return
			}
		}
	}()
	_, err := Acquire(ctx, cc, Config{HWAddr: clientHW, Clock: clk, Rand: func() float64 { return 0 }})
	if !errors.Is(err, ErrNoLease) || !errors.Is(err, context.Canceled) {
		t.Fatalf("got error %v, want ErrNoLease and context.Canceled", err)
	}
	if !strings.Contains(err.Error(), "DISCOVER") {
		t.Errorf("error %q does not name the unanswered message", err)
	}
	want := []time.Duration{3 * time.Second, 7 * time.Second, 15 * time.Second, 31 * time.Second, 63 * time.Second}
	if diff := cmp.Diff(want, clk.waits); diff != "" {
		t.Errorf("waits with jitter -1 s (-want +got):\n%s", diff)
	}
}

func TestBackoffDelay(t *testing.T) {
	tests := []struct {
		attempt int
		r       float64
		want    time.Duration
	}{
		{0, 0.5, 4 * time.Second},
		{1, 0.5, 8 * time.Second},
		{4, 0.5, 64 * time.Second},
		{9, 0.5, 64 * time.Second},
		{60, 0.5, 64 * time.Second}, // no overflow
		{0, 0, 3 * time.Second},
		{0, 0.75, 4500 * time.Millisecond},
	}
	for _, tt := range tests {
		if got := RFC2131().Delay(tt.attempt, tt.r); got != tt.want {
			t.Errorf("Delay(%d, %v) = %v, want %v", tt.attempt, tt.r, got, tt.want)
		}
	}
}

func TestCheck(t *testing.T) {
	req, _ := dhcpv4.NewDiscovery(clientHW)
	tests := []struct {
		name string
		mods []dhcpv4.Modifier
		want string // error substring; "" for accepted
	}{
		{"sound", nil, ""},
		{"address 0.0.0.0", []dhcpv4.Modifier{dhcpv4.WithYourIP(net.IPv4zero)}, "unusable address"},
		{"broadcast address", []dhcpv4.Modifier{dhcpv4.WithYourIP(net.IPv4bcast)}, "unusable address"},
		{"lease time 0", []dhcpv4.Modifier{dhcpv4.WithOption(dhcpv4.OptIPAddressLeaseTime(0))}, "lease time 0"},
		{"mask /0", []dhcpv4.Modifier{dhcpv4.WithOption(dhcpv4.OptSubnetMask(net.CIDRMask(0, 32)))}, "/0"},
		{"holey mask", []dhcpv4.Modifier{dhcpv4.WithOption(dhcpv4.OptSubnetMask(net.IPv4Mask(255, 0, 255, 0)))}, "non-contiguous"},
		{"gateway outside", []dhcpv4.Modifier{dhcpv4.WithOption(dhcpv4.OptRouter(net.IPv4(198, 51, 100, 1)))}, "outside the subnet"},
		{"gateway is us", []dhcpv4.Modifier{dhcpv4.WithOption(dhcpv4.OptRouter(net.IPv4(192, 0, 2, 100)))}, "leased address"},
		{"no server id", []dhcpv4.Modifier{dhcpv4.WithoutOption(dhcpv4.OptionServerIdentifier)}, "server identifier"},
		{"small MTU ignored", []dhcpv4.Modifier{dhcpv4.WithOption(dhcpv4.Option{Code: dhcpv4.OptionInterfaceMTU, Value: dhcpv4.Uint16(100)})}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, err := Check(goodReply(req, tt.mods...))
			if tt.want == "" {
				if err != nil {
					t.Fatalf("got error %v, want none", err)
				}
				if l.MTU != 0 && l.MTU < minMTU {
					t.Errorf("MTU %d applied", l.MTU)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got error %v, want one containing %q", err, tt.want)
			}
		})
	}
}
