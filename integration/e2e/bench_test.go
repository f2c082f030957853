package e2e

import (
	"slices"
	"strings"
	"testing"
)

// BenchmarkTimeToNetwork boots the dhcp-one-nic scenario b.N times with
// earlynet up and with NetworkManager's initrd mode, and reports medians on
// the guest clock from the start of the network stage (earlynet up; for
// NetworkManager, nm-initrd-generator) to the first IPv4 address in the
// kernel and to its exit. A figure, not an assertion: make e2e-bench.
func BenchmarkTimeToNetwork(b *testing.B) {
	h := newHarness(b)
	for _, im := range []impl{earlynetImpl(), nmImpl()} {
		b.Run(strings.ReplaceAll(im.name, " ", "-"), func(b *testing.B) {
			if why := im.unavailable(); why != "" {
				b.Skip(why)
			}
			if why := h.missing(featUp); im.earlynet && why != "" {
				b.Skip(why)
			}
			spec := dhcpOneNIC()
			im.prepare(&spec, nil)
			var lease, exit, wall []float64
			for range b.N {
				r := h.run(b, spec)
				first := r.Console.Records[0]
				for _, rec := range r.Console.Records {
					if rec.Kind == "cmd" {
						first = rec
						break
					}
				}
				up := r.Console.Cmd("up")
				if up == nil || up.Exit != 0 || up.FirstV4MS == 0 {
					b.Fatalf("%s did not bring eth0 up: %+v", im.name, up)
				}
				start := first.Cmd.StartMS
				lease = append(lease, up.FirstV4MS-start)
				exit = append(exit, up.EndMS-start)
				wall = append(wall, float64(r.Wall.Milliseconds()))
			}
			b.ReportMetric(median(lease), "ms-to-lease")
			b.ReportMetric(median(exit), "ms-to-exit")
			b.ReportMetric(median(wall), "ms-boot-wall")
		})
	}
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2]
}
