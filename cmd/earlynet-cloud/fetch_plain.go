package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/earlynet/earlynet/metadata"
)

// fetchAzure reads IMDS's network document (JSON) in one request.
func fetchAzure(ctx context.Context, f *fetchEnv) (*metadata.Metadata, []error, error) {
	return fetchDoc(ctx, f, metadata.AzurePath, map[string]string{"Metadata": "true"}, metadata.Azure)
}

// fetchOCI reads the instance metadata service v2's VNIC array.
func fetchOCI(ctx context.Context, f *fetchEnv) (*metadata.Metadata, []error, error) {
	return fetchDoc(ctx, f, metadata.OCIPath, map[string]string{"Authorization": "Bearer Oracle"}, metadata.OCI)
}

// fetchDoc reads one JSON document and parses it; a document that does
// not parse at all is the error.
func fetchDoc(ctx context.Context, f *fetchEnv, path string, headers map[string]string,
	parse func([]byte) (*metadata.Metadata, []error)) (*metadata.Metadata, []error, error) {
	g := &getter{client: f.client, base: f.base, headers: headers, tries: 3}
	doc, err := g.get(ctx, path)
	if err != nil {
		return nil, nil, err
	}
	md, errs := parse([]byte(doc))
	if md == nil {
		return nil, nil, fmt.Errorf("%s%s: %w", f.base, path, errors.Join(errs...))
	}
	return md, errs, nil
}

// fetchAliyun reads the macs/ listing, then every MAC's leaves at once.
func fetchAliyun(ctx context.Context, f *fetchEnv) (*metadata.Metadata, []error, error) {
	g := &getter{client: f.client, base: f.base + "/latest/meta-data/network/interfaces/macs/", tries: 3}
	listing, err := g.get(ctx, "")
	if err != nil {
		return nil, nil, err
	}
	kept, leaves, errs := fetchLeaves(trimLines(listing), metadata.AliyunKeys, func(mac, key string) (string, error) {
		return optional(g.get(ctx, mac+"/"+key))
	})
	md, perr := metadata.Aliyun(kept, leaves)
	return md, append(errs, perr...), nil
}

// fetchLeaves reads every key of every MAC at once. A MAC with a key that
// could not be read is left out of the returned listing whole: no partial
// configuration for the interface it concerns. Empty values are left out.
func fetchLeaves(macs, keys []string, get func(mac, key string) (string, error)) (string, map[string]map[string]string, []error) {
	leaves := make(map[string]map[string]string, len(macs))
	failed := map[string]bool{}
	var mu sync.Mutex
	var errs []error
	parallel(len(macs)*len(keys), func(i int) {
		mac, key := macs[i/len(keys)], keys[i%len(keys)]
		v, err := get(mac, key)
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			errs, failed[mac] = append(errs, err), true
			return
		}
		if leaves[mac] == nil {
			leaves[mac] = map[string]string{}
		}
		if v != "" {
			leaves[mac][key] = v
		}
	})
	var kept []string
	for _, mac := range macs {
		if !failed[mac] {
			kept = append(kept, mac)
		}
	}
	return strings.Join(kept, "\n"), leaves, errs
}
