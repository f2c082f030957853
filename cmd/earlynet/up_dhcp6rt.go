package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv6"
	"github.com/insomniacslk/dhcp/dhcpv6/nclient6"
)

// rt6 are RFC 8415 §15's retransmission parameters of one message type.
type rt6 struct {
	IRT, MRT time.Duration // initial and maximum retransmission time
	MRC      int           // maximum transmissions, 0: unlimited
	positive bool          // the first RT's random part must be positive (Solicit)
}

// RFC 8415 §7.6.
var (
	solicitRT = rt6{IRT: time.Second, MRT: 3600 * time.Second, positive: true}
	requestRT = rt6{IRT: time.Second, MRT: 30 * time.Second, MRC: 10}
)

// first is the first retransmission time: IRT + RAND*IRT, RAND uniform
// in [-0.1, 0.1] (in (0, 0.1] for a Solicit). rnd yields [0, 1).
func (p rt6) first(rnd func() float64) time.Duration {
	r := rnd()*0.2 - 0.1
	if p.positive {
		r = (1 - rnd()) * 0.1
	}
	return p.IRT + time.Duration(r*float64(p.IRT))
}

// next is 2*RTprev + RAND*RTprev, and MRT + RAND*MRT once above MRT.
func (p rt6) next(prev time.Duration, rnd func() float64) time.Duration {
	rt := 2*prev + time.Duration((rnd()*0.2-0.1)*float64(prev))
	if p.MRT > 0 && rt > p.MRT {
		rt = p.MRT + time.Duration((rnd()*0.2-0.1)*float64(p.MRT))
	}
	return rt
}

// exchange6 sends msg and retransmits it with the same transaction id on
// RFC 8415's schedule, updating the Elapsed Time option, until a reply
// that match accepts arrives, the transmissions are used up or ctx ends.
// c must be built with one try and a timeout longer than any RT: the
// schedule is kept here, by each attempt's context.
func exchange6(ctx context.Context, c *nclient6.Client, msg *dhcpv6.Message, match nclient6.Matcher, p rt6, rnd func() float64) (*dhcpv6.Message, error) {
	if rnd == nil {
		rnd = rand.Float64
	}
	start := time.Now()
	rt := p.first(rnd)
	for n := 1; ; n++ {
		msg.UpdateOption(dhcpv6.OptElapsedTime(time.Since(start)))
		actx, cancel := context.WithTimeout(ctx, rt)
		reply, err := c.SendAndRead(actx, c.RemoteAddr(), msg, match)
		cancel()
		switch {
		case err == nil:
			return reply, nil
		case ctx.Err() != nil:
			return nil, fmt.Errorf("%s: no answer after %d transmissions: %w", msg.MessageType, n, ctx.Err())
		case !errors.Is(err, context.DeadlineExceeded):
			return nil, fmt.Errorf("%s: %w", msg.MessageType, err)
		case p.MRC > 0 && n >= p.MRC:
			return nil, fmt.Errorf("%s: no answer after %d transmissions", msg.MessageType, n)
		}
		rt = p.next(rt, rnd)
	}
}
