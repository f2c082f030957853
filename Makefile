# earlynet build, test and benchmark targets.
GO      ?= go
VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.version=$(VERSION)
export CGO_ENABLED = 0

.PHONY: all build check test unit integration vet fmt bench bench-initrd bench-cloud bench-up fuzz clean e2e e2e-bench

all: build

build:
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/earlynet ./cmd/earlynet
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/earlynet-cloud ./cmd/earlynet-cloud
	ln -sf earlynet bin/nm-initrd-generator

# test runs everything CI runs: format and vet checks, unit tests, then the
# integration tier (which skips, saying why, where it lacks root).
test: vet build
	@rm -f bin/test-summary.txt
	EARLYNET_SUMMARY=$(CURDIR)/bin/test-summary.txt $(GO) test -count=1 ./...
	@cat bin/test-summary.txt 2>/dev/null || true

# check is what CI runs (.ci/run): everything in test, then the QEMU tier.
check: test e2e

vet:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt needed: $$out"; exit 1; fi
	$(GO) vet ./...

fmt:
	gofmt -w $$(git ls-files '*.go')

# bench runs every benchmark: bench-initrd needs no root; bench-up needs
# root (network namespaces) and installs the DHCP clients it compares.
bench: build bench-initrd bench-cloud bench-up
	$(GO) test -run '^$$' -bench . -benchmem ./...

# bench-initrd times `earlynet initrd` against NetworkManager's
# nm-initrd-generator over the whole differential corpus (medians, ratio,
# binary size, peak RSS), then both on one typical line with hyperfine -N.
# Output goes to a tmpfs where there is one, as /run is in the initrd.
NM_GENERATOR ?= /usr/lib/NetworkManager/nm-initrd-generator
BENCH_DIR    ?= $(shell [ -d /dev/shm ] && echo /dev/shm || echo /tmp)
BENCH_LINE   := ip=192.0.2.2::192.0.2.1:255.255.255.0:node0.example.com:eth0:none:192.0.2.53 rd.neednet=1 root=/dev/sda1 ro quiet
bench-initrd: build
	$(GO) run ./integration/cmd/benchinitrd -earlynet bin/earlynet -nm $(NM_GENERATOR) -dir $(BENCH_DIR)
	@if command -v hyperfine >/dev/null 2>&1 && [ -x $(NM_GENERATOR) ]; then \
	  d=$$(mktemp -d -p $(BENCH_DIR)); mkdir -p $$d/sysfs; \
	  hyperfine -N -w 20 -r 200 \
	    "bin/earlynet initrd -c $$d/e/c -i $$d/e/i -r $$d/e/r -p $$d/p -d $$d/sysfs -- $(BENCH_LINE)" \
	    "$(NM_GENERATOR) -c $$d/n/c -i $$d/n/i -r $$d/n/r -p $$d/p -d $$d/sysfs -- $(BENCH_LINE)"; \
	  rm -rf $$d; \
	else echo "bench-initrd: hyperfine or $(NM_GENERATOR) missing, hyperfine step skipped"; fi

# bench-cloud: time to a complete cloud configuration with 20 ms added to
# every metadata reply (1 and 4 interfaces, 8 secondary addresses each; in
# round trips, target <= 4), then the time `earlynet cloud` takes to exit
# on a machine on no cloud (target < 5 ms), against an empty Go main and
# the earlynet-cloud binary itself. Debian ships no nm-cloud-setup to
# compare with.
bench-cloud: build
	$(GO) test -run '^$$' -bench Cloud -benchtime 20x ./cmd/earlynet-cloud
	@if command -v hyperfine >/dev/null 2>&1; then \
	  d=$$(mktemp -d -p $(BENCH_DIR)); mkdir -p $$d/sysfs/class/dmi/id; echo QEMU > $$d/sysfs/class/dmi/id/sys_vendor; \
	  printf 'package main\nfunc main() {}\n' > $$d/empty.go; $(GO) build -ldflags '-s -w' -o $$d/empty $$d/empty.go; \
	  hyperfine -N -w 20 -r 300 "$$d/empty" "bin/earlynet cloud --sysfs $$d/sysfs" "bin/earlynet-cloud --sysfs $$d/sysfs"; \
	  rm -rf $$d; \
	else echo "bench-cloud: hyperfine missing, off-cloud step skipped"; fi

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
	for f in FuzzAzure FuzzOCI FuzzEC2 FuzzGCE; do \
	  $(GO) test -run '^$$' -fuzz "^$$f\$$" -fuzztime 20s ./metadata || exit 1; done

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
