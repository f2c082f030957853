package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// maxBody caps every metadata response (nm-cloud-setup: 256-512 KiB).
const maxBody = 512 << 10

// errNotFound is a 404: the key does not exist (an IPv6-only subnet has
// no subnet-ipv4-cidr-block, a NIC without forwarded IPs no listing).
var errNotFound = errors.New("not found (404)")

// errRedirect is a redirect the client refused; retrying cannot help.
var errRedirect = errors.New("redirect refused")

// newHTTPClient is the client every fetcher uses: bounded per request,
// no proxy (the metadata service is link-local), and no redirect that
// leaves the metadata host.
func newHTTPClient(base string, perRequest time.Duration) (*http.Client, error) {
	u, err := url.Parse(base)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("metadata endpoint %q is not an http URL", base)
	}
	tr := &http.Transport{Proxy: nil, DisableKeepAlives: false, MaxIdleConnsPerHost: 16,
		ResponseHeaderTimeout: perRequest, IdleConnTimeout: 30 * time.Second}
	return &http.Client{
		Transport: tr,
		Timeout:   perRequest,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if req.URL.Host != u.Host {
				return fmt.Errorf("%w: from %s to %s: it leaves the metadata host", errRedirect, via[0].URL, req.URL)
			}
			if len(via) >= 3 {
				return fmt.Errorf("%w: %s: too many redirects", errRedirect, via[0].URL)
			}
			return nil
		},
	}, nil
}

// getter fetches text from one provider's plain-HTTP API.
type getter struct {
	client  *http.Client
	base    string
	headers map[string]string
	tries   int
}

// get reads base+path. Transport errors, 5xx and 429 are retried (tries
// in all, a short pause between); 404 is errNotFound; any other status
// is an error naming the URL and status.
func (g *getter) get(ctx context.Context, path string) (string, error) {
	u := g.base + path
	var last error
	for try := 0; try < max(g.tries, 1); try++ {
		if try > 0 {
			select {
			case <-ctx.Done():
				return "", fmt.Errorf("GET %s: %w (last: %v)", u, ctx.Err(), last)
			case <-time.After(time.Duration(try) * 200 * time.Millisecond):
			}
		}
		body, retry, err := g.once(ctx, u)
		if err == nil || !retry {
			return body, err
		}
		last = err
	}
	return "", last
}

func (g *getter) once(ctx context.Context, u string) (body string, retry bool, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return "", false, fmt.Errorf("GET %s: %w", u, err)
	}
	for k, v := range g.headers {
		req.Header.Set(k, v)
	}
	resp, err := g.client.Do(req)
	if err != nil {
		return "", ctx.Err() == nil && !errors.Is(err, errRedirect), fmt.Errorf("GET %s: %w", u, err)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotFound:
		return "", false, fmt.Errorf("GET %s: %w", u, errNotFound)
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		return "", true, fmt.Errorf("GET %s: %s", u, resp.Status)
	case resp.StatusCode != http.StatusOK:
		return "", false, fmt.Errorf("GET %s: %s", u, resp.Status)
	}
	b, err := readCapped(resp.Body, u)
	return b, false, err
}

// readCapped reads a whole body of at most maxBody bytes.
func readCapped(r io.Reader, what string) (string, error) {
	b, err := io.ReadAll(io.LimitReader(r, maxBody+1))
	if err != nil {
		return "", fmt.Errorf("read %s: %w", what, err)
	}
	if len(b) > maxBody {
		return "", fmt.Errorf("read %s: response larger than %d bytes", what, maxBody)
	}
	return string(b), nil
}

// optional turns a 404 into an empty value.
func optional(s string, err error) (string, error) {
	if errors.Is(err, errNotFound) {
		return "", nil
	}
	return s, err
}

// trimLines is a listing's entries without trailing '/'.
func trimLines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSuffix(strings.TrimSpace(l), "/"); l != "" {
			out = append(out, l)
		}
	}
	return out
}
