package e2e

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// BenchmarkTimeToNetwork boots the dhcp-one-nic scenario b.N times with
// earlynet up and with NetworkManager's initrd mode, and reports medians on
// the guest clock from the start of the network stage (earlynet up; for
// NetworkManager, nm-initrd-generator) to the first IPv4 address in the
// kernel and to its exit, and earlynet's own figure for eth0's IPv4 from
// its --json report. A figure, not an assertion: make e2e-bench.
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
			var lease, exit, wall, repIPv4 []float64
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
				if ms, ok := reportIPv4(up.Stdout); ok {
					repIPv4 = append(repIPv4, ms)
				}
			}
			b.ReportMetric(median(lease), "ms-to-lease")
			b.ReportMetric(median(exit), "ms-to-exit")
			b.ReportMetric(median(wall), "ms-boot-wall")
			if len(repIPv4) > 0 {
				b.ReportMetric(median(repIPv4), "ms-report-ipv4")
			}
		})
	}
}

// reportIPv4 is when earlynet's own --json report says eth0's IPv4 was
// done, in ms since its start (a phase "ipv4" of device eth0).
func reportIPv4(stdout string) (float64, bool) {
	var rep any
	if json.Unmarshal([]byte(stdout), &rep) != nil {
		return 0, false
	}
	for _, p := range phases(rep, "") {
		if v, ok := strings.CutPrefix(p, "eth0:ipv4="); ok {
			ms, err := strconv.ParseFloat(v, 64)
			return ms, err == nil
		}
	}
	return 0, false
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2]
}
