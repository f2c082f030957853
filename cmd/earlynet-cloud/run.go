package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/earlynet/earlynet/cmd/internal/dmi"
	"github.com/earlynet/earlynet/metadata"
)

// cloudRun is one invocation.
type cloudRun struct {
	f              *flags
	stdout, stderr io.Writer
	getenv         func(string) string
	start          time.Time
	report         report
	cs             *changeSet
}

// fetchEnv is what a provider's fetcher needs: the base URL and the
// bounded HTTP client.
type fetchEnv struct {
	base   string
	client *http.Client
}

// fetchers maps a provider name to its fetch function.
var fetchers = map[string]func(context.Context, *fetchEnv) (*metadata.Metadata, []error, error){
	"ec2":    fetchEC2,
	"gce":    fetchGCE,
	"azure":  fetchAzure,
	"aliyun": fetchAliyun,
	"oci":    fetchOCI,
}

// perRequest bounds one HTTP exchange; retries and the overall --timeout
// bound the whole.
const perRequest = 2 * time.Second

func (r *cloudRun) warn(msg string) {
	r.report.Warnings = append(r.report.Warnings, msg)
	fmt.Fprintln(r.stderr, "earlynet-cloud: warning:", msg)
}

func (r *cloudRun) phase(name string) {
	if r.report.PhasesMS == nil {
		r.report.PhasesMS = map[string]float64{}
	}
	r.report.PhasesMS[name] = float64(time.Since(r.start).Microseconds()) / 1e3
}

func (r *cloudRun) run(ctx context.Context) error {
	p, ok, err := dmi.Provider(r.f.provider, r.f.sysfs)
	if err != nil {
		return usageError{err.Error()}
	}
	if !ok {
		r.report.Skipped = "no cloud detected from DMI under " + r.f.sysfs
		if r.f.provider == "none" {
			r.report.Skipped = "--provider none"
		}
		return r.finish(nil)
	}
	r.report.Provider = p.Name
	base := strings.TrimRight(r.f.endpoint, "/")
	if base == "" {
		base = p.BaseURL(r.getenv)
	}
	r.report.Endpoint = base
	client, err := newHTTPClient(base, min(perRequest, r.f.timeout))
	if err != nil {
		return err
	}
	fctx, cancel := context.WithTimeout(ctx, r.f.timeout)
	md, errs, err := fetchers[p.Name](fctx, &fetchEnv{base: base, client: client})
	cancel()
	r.phase("fetch")
	if err != nil {
		return fmt.Errorf("%s metadata: %w", p.Name, err)
	}
	var failed []string
	for _, e := range errs {
		r.warn(e.Error())
		failed = append(failed, e.Error())
	}
	ch, err := r.plan(md)
	if err != nil {
		return err
	}
	r.phase("plan")
	if r.f.dryRun {
		return r.finish(nil)
	}
	failed = append(failed, r.commit(ch)...)
	var ferr error
	if len(failed) > 0 {
		ferr = errors.New(strings.Join(failed, "\n"))
	}
	return r.finish(ferr)
}

// report is what --json prints.
type report struct {
	Provider string             `json:"provider,omitempty"`
	Endpoint string             `json:"endpoint,omitempty"`
	Skipped  string             `json:"skipped,omitempty"`
	DryRun   bool               `json:"dry_run,omitempty"`
	Devices  []deviceReport     `json:"devices"`
	Warnings []string           `json:"warnings,omitempty"`
	Error    string             `json:"error,omitempty"`
	PhasesMS map[string]float64 `json:"phases_ms,omitempty"`
}

// deviceReport is one device's part of the report.
type deviceReport struct {
	Name      string   `json:"name"`
	MAC       string   `json:"mac"`
	Profile   string   `json:"profile,omitempty"`
	Path      string   `json:"path,omitempty"`
	Addresses []string `json:"addresses,omitempty"`
	Routes    []string `json:"routes,omitempty"`
	Rules     []string `json:"rules,omitempty"`
	Status    string   `json:"status"`
}

func (r *cloudRun) finish(err error) error {
	r.phase("total")
	r.report.DryRun = r.f.dryRun
	if r.cs != nil {
		for _, ch := range r.cs.changes {
			r.report.Devices = append(r.report.Devices, ch.describe(r.f.dryRun))
		}
	}
	sort.Slice(r.report.Devices, func(i, j int) bool { return r.report.Devices[i].Name < r.report.Devices[j].Name })
	if err != nil {
		r.report.Error = err.Error()
	}
	switch {
	case r.f.json:
		enc := json.NewEncoder(r.stdout)
		enc.SetIndent("", "  ")
		if jerr := enc.Encode(r.report); jerr != nil {
			return jerr
		}
	case r.report.Skipped != "":
		fmt.Fprintln(r.stderr, "earlynet-cloud: nothing to do:", r.report.Skipped)
	default:
		r.printPlan()
	}
	return err
}

// printPlan is the human-readable report (--dry-run and normal runs).
func (r *cloudRun) printPlan() {
	fmt.Fprintf(r.stdout, "provider %s (%s)\n", r.report.Provider, r.report.Endpoint)
	for _, d := range r.report.Devices {
		fmt.Fprintf(r.stdout, "%s %s: %s", d.Name, d.MAC, d.Status)
		if d.Profile != "" {
			fmt.Fprintf(r.stdout, " (profile %q, %s)", d.Profile, d.Path)
		}
		fmt.Fprintln(r.stdout)
		for _, group := range []struct {
			what  string
			items []string
		}{{"address", d.Addresses}, {"route", d.Routes}, {"rule", d.Rules}} {
			for _, it := range group.items {
				fmt.Fprintf(r.stdout, "  %s %s\n", group.what, it)
			}
		}
	}
}
