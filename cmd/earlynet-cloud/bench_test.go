package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/earlynet/earlynet/metadata"
)

// benchLatency is what the benchmark adds to every reply.
const benchLatency = 20 * time.Millisecond

// ec2Many is n EC2 interfaces with 1+8 IPv4 addresses and an IPv6 one.
func ec2Many(n int) fixture {
	fx := fixture{Leaves: map[string]map[string]string{}}
	for i := range n {
		mac := fmt.Sprintf("0e:00:00:00:01:%02x", i)
		if i == 0 {
			fx.Primary = mac
		}
		fx.Listing += mac + "/\n"
		var ips []string
		for a := range 9 {
			ips = append(ips, fmt.Sprintf("198.51.100.%d", 10+i*20+a))
		}
		fx.Leaves[mac] = map[string]string{"device-number": fmt.Sprint(i), "local-ipv4s": strings.Join(ips, "\n"),
			"subnet-ipv4-cidr-block": "198.51.100.0/24", "ipv6s": fmt.Sprintf("2001:db8::%x", i+1), "subnet-ipv6-cidr-blocks": "2001:db8::/64"}
	}
	return fx
}

func gceMany(n int) fixture {
	var fx fixture
	for i := range n {
		var fwd []string
		for a := range 8 {
			fwd = append(fwd, fmt.Sprintf("203.0.113.%d", 10+i*20+a))
		}
		fx.NICs = append(fx.NICs, metadata.GCENIC{MAC: fmt.Sprintf("0e:00:00:00:01:%02x", i), ForwardedIPs: fwd,
			IPAliases: []string{fmt.Sprintf("192.0.2.%d/30", 4*i)}})
	}
	return fx
}

// BenchmarkCloud is the time to a complete configuration (fetch, plan,
// profiles and state written; --apply needs root and is left out) with
// 20 ms added to every metadata reply. rtts is that time in round trips:
// the target is at most 4 whatever the interface count.
func BenchmarkCloud(b *testing.B) {
	for _, bc := range []struct {
		provider string
		nics     int
	}{{"ec2", 1}, {"ec2", 4}, {"gce", 1}, {"gce", 4}} {
		b.Run(fmt.Sprintf("%s-%dnic", bc.provider, bc.nics), func(b *testing.B) {
			fx := ec2Many(bc.nics)
			if bc.provider == "gce" {
				fx = gceMany(bc.nics)
			}
			f := fakeFor(bc.provider, fx)
			f.delay = benchLatency
			srv := httptest.NewServer(f)
			defer srv.Close()
			var nics []nicSpec
			for i := range bc.nics {
				nics = append(nics, nicSpec{fmt.Sprintf("eth%d", i), fmt.Sprintf("0e:00:00:00:01:%02x", i), i + 2})
			}
			m := newMachine(&testing.T{}, "x", nics...)
			args := []string{"--provider", bc.provider, "--endpoint", srv.URL, "--sysfs", m.sysfs, "--root", m.root}
			var total time.Duration
			for b.Loop() {
				start := time.Now()
				var out, errb bytes.Buffer
				if err := run(context.Background(), args, &out, &errb, func(string) string { return "" }); err != nil {
					b.Fatalf("%v\n%s", err, errb.String())
				}
				total += time.Since(start)
			}
			b.ReportMetric(float64(total)/float64(b.N)/float64(benchLatency), "rtts")
			b.ReportMetric(float64(total.Microseconds())/float64(b.N)/1e3, "ms/config")
		})
	}
}
