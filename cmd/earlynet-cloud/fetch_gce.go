package main

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"

	"cloud.google.com/go/compute/metadata"

	meta "github.com/earlynet/earlynet/metadata"
)

// fetchGCE reads instance/network-interfaces/ through Google's client
// library, which talks to $GCE_METADATA_HOST: set here from the base URL,
// so --endpoint and NM_CLOUD_SETUP_GCP_HOST reach it. Per interface its
// MAC and the forwarded-ips/ and ip-aliases/ entries, all at once.
func fetchGCE(ctx context.Context, f *fetchEnv) (*meta.Metadata, []error, error) {
	u, err := url.Parse(f.base)
	if err != nil || u.Host == "" {
		return nil, nil, fmt.Errorf("GCE metadata endpoint %q is not an http URL", f.base)
	}
	os.Setenv("GCE_METADATA_HOST", u.Host)
	c := metadata.NewWithOptions(&metadata.Options{Client: f.client})
	get := func(path string) (string, error) {
		v, err := c.GetWithContext(ctx, path)
		var nd metadata.NotDefinedError
		if errors.As(err, &nd) {
			return "", nil
		}
		if err != nil {
			return "", fmt.Errorf("GCE metadata %s/computeMetadata/v1/%s: %w", f.base, path, err)
		}
		if len(v) > maxBody {
			return "", fmt.Errorf("GCE metadata %s: response larger than %d bytes", path, maxBody)
		}
		return v, nil
	}
	listing, err := get("instance/network-interfaces/")
	if err != nil {
		return nil, nil, err
	}
	idx := trimLines(listing)
	nics := make([]meta.GCENIC, len(idx))
	errs := make([]error, len(idx))
	parallel(len(idx), func(i int) {
		nics[i], errs[i] = gceNIC(get, "instance/network-interfaces/"+idx[i]+"/")
	})
	var good []meta.GCENIC
	var bad []error
	for i := range nics {
		if errs[i] != nil {
			bad = append(bad, errs[i])
			continue
		}
		good = append(good, nics[i])
	}
	md, perr := meta.GCE(good)
	return md, append(bad, perr...), nil
}

// gceNIC reads one interface: its MAC, IPv6 addresses and the three
// listings at once, then the listings' entries.
func gceNIC(get func(string) (string, error), dir string) (meta.GCENIC, error) {
	var n meta.GCENIC
	var ipv6s string
	errs := make([]error, 5)
	parallel(5, func(i int) {
		switch i {
		case 0:
			n.MAC, errs[0] = get(dir + "mac")
		case 1:
			ipv6s, errs[1] = get(dir + "ipv6s")
		case 2:
			n.ForwardedIPs, errs[2] = gceList(get, dir+"forwarded-ips/")
		case 3:
			n.ForwardedIPv6s, errs[3] = gceList(get, dir+"forwarded-ipv6s/")
		case 4:
			n.IPAliases, errs[4] = gceList(get, dir+"ip-aliases/")
		}
	})
	if err := errors.Join(errs...); err != nil {
		return n, err
	}
	if n.MAC == "" {
		return n, fmt.Errorf("GCE metadata %smac: not defined", dir)
	}
	n.IPv6s = trimLines(ipv6s)
	return n, nil
}

func gceList(get func(string) (string, error), dir string) ([]string, error) {
	listing, err := get(dir)
	if err != nil {
		return nil, err
	}
	keys := trimLines(listing)
	vals := make([]string, len(keys))
	errs := make([]error, len(keys))
	parallel(len(keys), func(i int) { vals[i], errs[i] = get(dir + keys[i]) })
	return vals, errors.Join(errs...)
}
