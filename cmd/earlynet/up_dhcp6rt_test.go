package main

import (
	"testing"
	"time"
)

func TestRT6Schedule(t *testing.T) {
	lo, hi := func() float64 { return 0 }, func() float64 { return 0.999999 }
	for _, tc := range []struct {
		name     string
		got      time.Duration
		min, max time.Duration
	}{
		// RFC 8415 §15: a Solicit's first RT is strictly above IRT.
		{name: "solicit first, rand low", got: solicitRT.first(lo), min: 1100 * time.Millisecond, max: 1100 * time.Millisecond},
		{name: "solicit first, rand high", got: solicitRT.first(hi), min: time.Second + 1, max: time.Second + time.Millisecond},
		{name: "request first, rand low", got: requestRT.first(lo), min: 900 * time.Millisecond, max: 900 * time.Millisecond},
		{name: "request first, rand high", got: requestRT.first(hi), min: 1099 * time.Millisecond, max: 1100 * time.Millisecond},
		{name: "doubling, rand low", got: solicitRT.next(4*time.Second, lo), min: 7600 * time.Millisecond, max: 7600 * time.Millisecond},
		{name: "doubling, rand high", got: solicitRT.next(4*time.Second, hi), min: 8399 * time.Millisecond, max: 8400 * time.Millisecond},
		// Past MRT: MRT + RAND*MRT (REQ_MAX_RT 30 s).
		{name: "request capped", got: requestRT.next(20*time.Second, lo), min: 27 * time.Second, max: 27 * time.Second},
		{name: "solicit capped", got: solicitRT.next(3000*time.Second, hi), min: 3959 * time.Second, max: 3960 * time.Second},
	} {
		if tc.got < tc.min || tc.got > tc.max {
			t.Errorf("%s: got %v, want in [%v, %v]", tc.name, tc.got, tc.min, tc.max)
		}
	}
	if requestRT.MRC != 10 || solicitRT.MRC != 0 {
		t.Errorf("MRC: request %d, solicit %d; want 10 and 0 (RFC 8415 §7.6)", requestRT.MRC, solicitRT.MRC)
	}
}
