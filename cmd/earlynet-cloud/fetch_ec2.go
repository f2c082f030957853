package main

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"

	"github.com/earlynet/earlynet/metadata"
)

// fetchEC2 reads the network keys through the AWS SDK's IMDS client,
// IMDSv2 only (no fallback to token-less requests): the macs/ listing,
// the primary MAC, and every MAC's leaves at once.
func fetchEC2(ctx context.Context, f *fetchEnv) (*metadata.Metadata, []error, error) {
	c := imds.New(imds.Options{Endpoint: f.base, EnableFallback: aws.FalseTernary, HTTPClient: f.client,
		ClientEnableState: imds.ClientEnabled})
	get := func(path string) (string, error) {
		out, err := c.GetMetadata(ctx, &imds.GetMetadataInput{Path: path})
		if err != nil {
			var se interface{ HTTPStatusCode() int }
			if errors.As(err, &se) && se.HTTPStatusCode() == 404 {
				return "", fmt.Errorf("EC2 IMDS %s/latest/meta-data/%s: %w", f.base, path, errNotFound)
			}
			return "", fmt.Errorf("EC2 IMDS %s/latest/meta-data/%s: %w", f.base, path, err)
		}
		defer out.Content.Close()
		return readCapped(out.Content, f.base+"/latest/meta-data/"+path)
	}
	// The listing and the primary MAC at once: one round trip.
	var listing, primary string
	var lerr, perr error
	parallel(2, func(i int) {
		if i == 0 {
			listing, lerr = get("network/interfaces/macs/")
		} else {
			primary, perr = optional(get("mac"))
		}
	})
	if err := errors.Join(lerr, perr); err != nil {
		return nil, nil, err
	}
	kept, leaves, errs := fetchLeaves(trimLines(listing), metadata.EC2Keys, func(mac, key string) (string, error) {
		return optional(get("network/interfaces/macs/" + mac + "/" + key))
	})
	md, merrs := metadata.EC2(kept, primary, leaves)
	return md, append(errs, merrs...), nil
}

// parallel runs f(0..n-1) at once and waits for all.
func parallel(n int, f func(i int)) {
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f(i)
		}()
	}
	wg.Wait()
}
