package main

import (
	"context"
	"errors"
	"sync"

	"github.com/earlynet/earlynet/metadata"
)

// fetchAzure reads IMDS's network document (JSON) in one request.
func fetchAzure(ctx context.Context, f *fetchEnv) (*metadata.Metadata, []error, error) {
	g := &getter{client: f.client, base: f.base, headers: map[string]string{"Metadata": "true"}, tries: 3}
	doc, err := g.get(ctx, metadata.AzurePath)
	if err != nil {
		return nil, nil, err
	}
	md, errs := metadata.Azure([]byte(doc))
	if md == nil {
		return nil, nil, errors.Join(errs...)
	}
	return md, errs, nil
}

// fetchOCI reads the instance metadata service v2's VNIC array.
func fetchOCI(ctx context.Context, f *fetchEnv) (*metadata.Metadata, []error, error) {
	g := &getter{client: f.client, base: f.base, headers: map[string]string{"Authorization": "Bearer Oracle"}, tries: 3}
	doc, err := g.get(ctx, metadata.OCIPath)
	if err != nil {
		return nil, nil, err
	}
	md, errs := metadata.OCI([]byte(doc))
	if md == nil {
		return nil, nil, errors.Join(errs...)
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
	macs := trimLines(listing)
	keys := metadata.AliyunKeys
	leaves := map[string]map[string]string{}
	failed := map[string]bool{}
	var mu sync.Mutex
	var errs []error
	parallel(len(macs)*len(keys), func(i int) {
		mac, key := macs[i/len(keys)], keys[i%len(keys)]
		v, err := optional(g.get(ctx, mac+"/"+key))
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			errs, failed[mac] = append(errs, err), true
			return
		}
		if leaves[mac] == nil {
			leaves[mac] = map[string]string{}
		}
		leaves[mac][key] = v
	})
	var kept string
	for _, mac := range macs {
		if !failed[mac] {
			kept += mac + "\n"
		}
	}
	md, perr := metadata.Aliyun(kept, leaves)
	return md, append(errs, perr...), nil
}
