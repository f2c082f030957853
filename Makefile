# earlynet build, test and benchmark targets.
GO      ?= go
VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.version=$(VERSION)
export CGO_ENABLED = 0

.PHONY: all build test unit integration vet fmt bench bench-initrd fuzz clean

all: build

build:
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/earlynet ./cmd/earlynet
	ln -sf earlynet bin/nm-initrd-generator

# test runs everything CI runs: format and vet checks, unit tests, then the
# integration tier (which skips, saying why, where it lacks root).
test: vet build
	$(GO) test -count=1 ./...

vet:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt needed: $$out"; exit 1; fi
	$(GO) vet ./...

fmt:
	gofmt -w $$(git ls-files '*.go')

bench: build bench-initrd
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

fuzz:
	$(GO) test -run '^$$' -fuzz FuzzParse -fuzztime 30s ./initrd
	$(GO) test -run '^$$' -fuzz FuzzDecode -fuzztime 30s ./keyfile

clean:
	rm -rf bin
