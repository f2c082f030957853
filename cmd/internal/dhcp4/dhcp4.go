// Package dhcp4 obtains one DHCPv4 lease over a packet connection (the
// raw broadcast socket of insomniacslk/dhcp's nclient4 on a real link, an
// in-memory pipe in tests): DISCOVER, OFFER, REQUEST, ACK, with RFC 2131
// retransmission timing on an injected clock, NAK handling, and offers
// that make no sense ignored rather than applied.
package dhcp4

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
)

// Clock is the time source: a real clock in production, a fake in tests.
type Clock interface {
	Now() time.Time
	After(d time.Duration) <-chan time.Time
}

// Backoff is a retransmission schedule: Initial, doubled per attempt up to
// Max, each delay moved by a uniform random amount in [-Jitter, +Jitter).
type Backoff struct {
	Initial, Max, Jitter time.Duration
}

// RFC2131 is the schedule of RFC 2131 section 4.1: 4 s, 8 s, ... up to
// 64 s, randomised by +-1 s.
func RFC2131() Backoff {
	return Backoff{Initial: 4 * time.Second, Max: 64 * time.Second, Jitter: time.Second}
}

// Delay is the wait before retransmission number attempt (0 = after the
// first transmission); r is a random number in [0, 1).
func (b Backoff) Delay(attempt int, r float64) time.Duration {
	d := b.Initial
	for i := 0; i < attempt && d < b.Max; i++ {
		d *= 2
	}
	d = min(d, b.Max)
	d += time.Duration((2*r - 1) * float64(b.Jitter))
	return max(d, 0)
}

// Config is what one exchange needs.
type Config struct {
	HWAddr      net.HardwareAddr
	ClientID    []byte // option 61 as sent (type byte first); nil: none
	Hostname    string // option 12; "" sends none
	VendorClass string // option 60; "" sends none

	Clock   Clock
	Rand    func() float64 // uniform in [0, 1), for the jitter
	Backoff Backoff        // zero: RFC2131()
	Logf    func(format string, args ...any)
	Sent    func() // called after every transmission; may be nil
}

// Route is a classless static route (option 121).
type Route struct {
	Dest    netip.Prefix
	Gateway netip.Addr // unspecified (0.0.0.0) for on-link routes
}

// Lease is an accepted, checked ACK.
type Lease struct {
	Address    netip.Prefix
	Gateway    netip.Addr // from option 121's default route, else option 3; invalid if none
	Routes     []Route    // option 121 without the default route
	DNS        []netip.Addr
	Domain     string
	Search     []string
	Hostname   string
	MTU        int // option 26, 0 if absent or below 576
	LeaseTime  time.Duration
	T1, T2     time.Duration
	ServerID   netip.Addr
	Acquired   time.Time
	ClientID   []byte
	NextServer netip.Addr
	RootPath   string
	BootFile   string
	ACK        *dhcpv4.DHCPv4
}

// ErrNoLease is returned when the context ends before a lease was bound.
var ErrNoLease = errors.New("no DHCPv4 lease")

// requested are the options asked for in the parameter request list.
func requested() []dhcpv4.OptionCode {
	return []dhcpv4.OptionCode{
		dhcpv4.OptionSubnetMask, dhcpv4.OptionRouter, dhcpv4.OptionDomainNameServer,
		dhcpv4.OptionHostName, dhcpv4.OptionDomainName, dhcpv4.OptionInterfaceMTU,
		dhcpv4.OptionBroadcastAddress, dhcpv4.OptionNTPServers,
		dhcpv4.OptionDNSDomainSearchList, dhcpv4.OptionClasslessStaticRoute,
		dhcpv4.OptionRootPath,
	}
}

// Client runs exchanges on one connection.
type Client struct {
	conn net.PacketConn
	cfg  Config
	in   chan *dhcpv4.DHCPv4
	done chan struct{}
}

// Acquire runs the exchange until a lease is bound or ctx ends. It reads
// conn in a goroutine that ends when Acquire returns or conn is closed;
// the caller closes conn.
func Acquire(ctx context.Context, conn net.PacketConn, cfg Config) (*Lease, error) {
	if cfg.Backoff == (Backoff{}) {
		cfg.Backoff = RFC2131()
	}
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}
	c := &Client{conn: conn, cfg: cfg, in: make(chan *dhcpv4.DHCPv4, 8), done: make(chan struct{})}
	defer close(c.done)
	go c.readLoop()
	return c.run(ctx)
}

// readLoop passes every packet that parses as a DHCP reply for our
// hardware address to run; anything else (malformed, truncated, oversized,
// for another client) is dropped here.
func (c *Client) readLoop() {
	buf := make([]byte, 1500)
	for {
		n, _, err := c.conn.ReadFrom(buf)
		if err != nil {
			return
		}
		if n == len(buf) {
			c.cfg.Logf("dhcp4: dropped a packet of %d bytes or more (oversized)", n)
			continue
		}
		m, err := dhcpv4.FromBytes(buf[:n])
		if err != nil {
			c.cfg.Logf("dhcp4: dropped a malformed packet: %v", err)
			continue
		}
		if m.OpCode != dhcpv4.OpcodeBootReply || !bytesEqual(m.ClientHWAddr, c.cfg.HWAddr) {
			continue
		}
		select {
		case c.in <- m:
		case <-c.done:
			return
		}
	}
}

func bytesEqual(a, b []byte) bool { return string(a) == string(b) }

// run is the client state machine: INIT (send DISCOVER), SELECTING
// (wait for a sound OFFER), REQUESTING (wait for ACK or NAK).
func (c *Client) run(ctx context.Context) (*Lease, error) {
	start := c.cfg.Clock.Now()
	var lastErr error
	for naks := 0; ; naks++ {
		offer, err := c.exchange(ctx, start, c.discover, c.acceptOffer)
		if err != nil {
			return nil, errors.Join(err, lastErr)
		}
		ack, err := c.exchange(ctx, start, func(xid dhcpv4.TransactionID, secs uint16) (*dhcpv4.DHCPv4, error) {
			return c.request(offer, xid, secs)
		}, c.acceptAck(offer))
		var nak *nakError
		if errors.As(err, &nak) {
			lastErr = err
			c.cfg.Logf("dhcp4: %v; starting over", err)
			if err := c.sleep(ctx, c.cfg.Backoff.Delay(naks, c.rand())/4); err != nil {
				return nil, errors.Join(fmt.Errorf("%w: %w", ErrNoLease, err), lastErr)
			}
			continue
		}
		if err != nil {
			return nil, err
		}
		return c.lease(ack)
	}
}

type nakError struct {
	server netip.Addr
	msg    string
}

func (e *nakError) Error() string {
	if e.msg != "" {
		return fmt.Sprintf("server %s sent DHCPNAK: %s", e.server, e.msg)
	}
	return fmt.Sprintf("server %s sent DHCPNAK", e.server)
}

func (c *Client) rand() float64 {
	if c.cfg.Rand == nil {
		return 0.5
	}
	return c.cfg.Rand()
}

func (c *Client) sleep(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-c.cfg.Clock.After(d):
		return nil
	}
}

// exchange sends the message build makes and retransmits it on the
// backoff schedule until accept takes a reply (nil error) or rejects the
// exchange as a whole (an error of type *nakError). Replies accept
// ignores (returns nil, nil) do not stop the wait.
func (c *Client) exchange(ctx context.Context, start time.Time,
	build func(dhcpv4.TransactionID, uint16) (*dhcpv4.DHCPv4, error),
	accept func(*dhcpv4.DHCPv4) (*dhcpv4.DHCPv4, error)) (*dhcpv4.DHCPv4, error) {
	xid, err := dhcpv4.GenerateTransactionID()
	if err != nil {
		return nil, fmt.Errorf("dhcp4: transaction id: %w", err)
	}
	var ignored []error
	for attempt := 0; ; attempt++ {
		secs := uint16(min(c.cfg.Clock.Now().Sub(start)/time.Second, 0xffff))
		msg, err := build(xid, secs)
		if err != nil {
			return nil, err
		}
		if _, err := c.conn.WriteTo(msg.ToBytes(), &net.UDPAddr{IP: net.IPv4bcast, Port: dhcpv4.ServerPort}); err != nil {
			return nil, fmt.Errorf("dhcp4: send %s: %w", msg.MessageType(), err)
		}
		c.cfg.Logf("dhcp4: sent %s xid %s (attempt %d)", msg.MessageType(), xid, attempt+1)
		if c.cfg.Sent != nil {
			c.cfg.Sent()
		}
		timer := c.cfg.Clock.After(c.cfg.Backoff.Delay(attempt, c.rand()))
	wait:
		for {
			select {
			case <-ctx.Done():
				err := fmt.Errorf("%w: no answer to %s: %w", ErrNoLease, msg.MessageType(), ctx.Err())
				return nil, errors.Join(append([]error{err}, ignored...)...)
			case <-timer:
				break wait
			case m := <-c.in:
				if m.TransactionID != xid {
					continue
				}
				c.cfg.Logf("dhcp4: received %s from %s", m.MessageType(), m.ServerIdentifier())
				got, err := accept(m)
				var nak *nakError
				switch {
				case errors.As(err, &nak):
					return nil, err
				case err != nil:
					c.cfg.Logf("dhcp4: ignored %s: %v", m.MessageType(), err)
					ignored = append(ignored, err)
				case got != nil:
					return got, nil
				}
			}
		}
	}
}

func (c *Client) options() []dhcpv4.Modifier {
	mods := []dhcpv4.Modifier{
		dhcpv4.WithRequestedOptions(requested()...),
		dhcpv4.WithOption(dhcpv4.OptMaxMessageSize(1500)),
	}
	if c.cfg.ClientID != nil {
		mods = append(mods, dhcpv4.WithOption(dhcpv4.OptClientIdentifier(c.cfg.ClientID)))
	}
	if c.cfg.Hostname != "" {
		mods = append(mods, dhcpv4.WithOption(dhcpv4.OptHostName(c.cfg.Hostname)))
	}
	if c.cfg.VendorClass != "" {
		mods = append(mods, dhcpv4.WithOption(dhcpv4.OptClassIdentifier(c.cfg.VendorClass)))
	}
	return mods
}

func (c *Client) discover(xid dhcpv4.TransactionID, secs uint16) (*dhcpv4.DHCPv4, error) {
	m, err := dhcpv4.NewDiscovery(c.cfg.HWAddr, append(c.options(), dhcpv4.WithTransactionID(xid))...)
	if err != nil {
		return nil, fmt.Errorf("dhcp4: build DISCOVER: %w", err)
	}
	m.NumSeconds = secs
	return m, nil
}

func (c *Client) request(offer *dhcpv4.DHCPv4, xid dhcpv4.TransactionID, secs uint16) (*dhcpv4.DHCPv4, error) {
	m, err := dhcpv4.NewRequestFromOffer(offer, append(c.options(), dhcpv4.WithTransactionID(xid))...)
	if err != nil {
		return nil, fmt.Errorf("dhcp4: build REQUEST: %w", err)
	}
	m.NumSeconds = secs
	return m, nil
}

func (c *Client) acceptOffer(m *dhcpv4.DHCPv4) (*dhcpv4.DHCPv4, error) {
	if m.MessageType() != dhcpv4.MessageTypeOffer {
		return nil, nil
	}
	if _, err := Check(m); err != nil {
		return nil, fmt.Errorf("offer from %s: %w", m.ServerIdentifier(), err)
	}
	return m, nil
}

func (c *Client) acceptAck(offer *dhcpv4.DHCPv4) func(*dhcpv4.DHCPv4) (*dhcpv4.DHCPv4, error) {
	server := offer.ServerIdentifier()
	return func(m *dhcpv4.DHCPv4) (*dhcpv4.DHCPv4, error) {
		if sid := m.ServerIdentifier(); sid != nil && !sid.Equal(server) {
			return nil, nil // another server answering our broadcast REQUEST
		}
		switch m.MessageType() {
		case dhcpv4.MessageTypeNak:
			a, _ := netip.AddrFromSlice(server.To4())
			return nil, &nakError{server: a, msg: m.Message()}
		case dhcpv4.MessageTypeAck:
		default:
			return nil, nil
		}
		if !m.YourIPAddr.Equal(offer.YourIPAddr) {
			return nil, fmt.Errorf("ACK from %s for %s, offered was %s", server, m.YourIPAddr, offer.YourIPAddr)
		}
		if _, err := Check(m); err != nil {
			return nil, fmt.Errorf("ACK from %s: %w", server, err)
		}
		return m, nil
	}
}

func (c *Client) lease(ack *dhcpv4.DHCPv4) (*Lease, error) {
	l, err := Check(ack)
	if err != nil {
		return nil, err
	}
	l.Acquired = c.cfg.Clock.Now()
	l.ClientID = c.cfg.ClientID
	return l, nil
}
