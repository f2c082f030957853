# earlynet build, test and benchmark targets.
GO      ?= go
VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.version=$(VERSION)
export CGO_ENABLED = 0

.PHONY: all build check test unit integration vet fmt bench bench-up fuzz clean e2e e2e-bench

all: build

build:
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/earlynet ./cmd/earlynet
	ln -sf earlynet bin/nm-initrd-generator

# test runs everything CI runs: format and vet checks, unit tests, then the
# integration tier (which skips, saying why, where it lacks root).
test: vet build
	$(GO) test -count=1 ./...

# check is what CI runs (.ci/run): everything in test, then the QEMU tier.
check: test e2e

vet:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt needed: $$out"; exit 1; fi
	$(GO) vet ./...

fmt:
	gofmt -w $$(git ls-files '*.go')

bench: build bench-up
	$(GO) test -run '^$$' -bench . -benchmem ./...

# bench-up: time from process start to address + default route, and peak
# RSS, of earlynet up against dhclient, udhcpc and NetworkManager's initrd
# mode, same dnsmasq over veth, one run (root; not run in CI). Harness:
# integration/bench (dhcp-bench.sh; method in the shared bench.md).
BENCH_TOOLS ?= integration/bench
BENCH_RUNS  ?= 20
BENCH_OUT   ?= bench-out
bench-up: build
	bash .ci/install.sh bench
	EARLYNET=$(CURDIR)/bin/earlynet $(BENCH_TOOLS)/dhcp-bench.sh -n $(BENCH_RUNS) \
	  -c "earlynet dhclient dhclient-min udhcpc nm-initrd" -o $(BENCH_OUT)

fuzz:
	$(GO) test -run '^$$' -fuzz FuzzParse -fuzztime 30s ./initrd
	$(GO) test -run '^$$' -fuzz FuzzDecode -fuzztime 30s ./keyfile

# e2e boots earlynet under QEMU (TCG) with Debian's kernel: root, one VM at
# a time, several minutes. See "Boot it for real" in README.md.
e2e:
	EARLYNET_E2E=1 $(GO) test -count=1 -timeout 20m -v -run 'TestE2E|TestDracut' ./integration/e2e

# e2e-bench: time from the network stage's start to the first lease and to
# its exit, earlynet up against NetworkManager's initrd mode, in QEMU.
e2e-bench:
	EARLYNET_E2E=1 $(GO) test -count=1 -timeout 20m -run '^$$' -bench TimeToNetwork -benchtime 5x ./integration/e2e

clean:
	rm -rf bin
