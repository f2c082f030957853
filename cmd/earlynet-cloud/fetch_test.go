package main

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func fetch(t *testing.T, provider, base string, timeout time.Duration) (*mdResult, time.Duration) {
	t.Helper()
	client, err := newHTTPClient(base, min(perRequest, timeout))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	start := time.Now()
	md, errs, err := fetchers[provider](ctx, &fetchEnv{base: base, client: client})
	return &mdResult{md, errs, err}, time.Since(start)
}

// TestFetchMatchesFixtures serves every metadata/testdata fixture as its
// provider's service would and checks that fetching it over HTTP gives
// exactly what the pure parser gives for the fixture itself.
func TestFetchMatchesFixtures(t *testing.T) {
	fixtures, _ := filepath.Glob("../../metadata/testdata/*/*.json")
	if len(fixtures) < 8 {
		t.Fatalf("found %d fixtures", len(fixtures))
	}
	for _, path := range fixtures {
		provider := filepath.Base(filepath.Dir(path))
		t.Run(provider+"/"+filepath.Base(path), func(t *testing.T) {
			fx := readFixture(t, path)
			f := fakeFor(provider, fx)
			got, _ := fetch(t, provider, serve(t, f), 10*time.Second)
			if got.err != nil {
				t.Fatalf("fetch: %v (requests %q)", got.err, f.requests())
			}
			want, werrs := parseFixture(provider, fx)
			if d := cmp.Diff(want, got.md, cmpNetip); d != "" {
				t.Errorf("fetched metadata differs from the fixture's parse (-want +got):\n%s", d)
			}
			if len(got.errs) != len(werrs) {
				t.Errorf("got errors %v, want %v", got.errs, werrs)
			}
			if provider == "ec2" && !strings.HasPrefix(f.requests()[0], "PUT /latest/api/token") {
				t.Errorf("first EC2 request %q, want the IMDSv2 token PUT", f.requests()[0])
			}
		})
	}
}

type mdResult struct {
	md   any
	errs []error
	err  error
}

var cmpNetip = cmp.Comparer(func(a, b interface{ String() string }) bool { return a.String() == b.String() })

var _ = errors.New
