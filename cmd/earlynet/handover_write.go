package main

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/earlynet/earlynet/cmd/internal/nmhandover"
)

// handoverInput is the JSON `earlynet handover --write` reads: what some
// other early-boot tool (a DHCP client hook, a test harness) configured,
// to be recorded for NetworkManager like `earlynet up` records its own.
type handoverInput struct {
	Devices []struct {
		Ifindex        int        `json:"ifindex"`
		Ifname         string     `json:"ifname"`
		UUID           string     `json:"uuid"`
		MAC            string     `json:"mac"`
		Software       bool       `json:"software"`
		Created        bool       `json:"created"`
		PermHWAddrFake string     `json:"perm_hw_addr_fake"`
		RouteMetric    uint32     `json:"route_metric"`
		DHCP4          *dhcp4JSON `json:"dhcp4"`
		DHCP6          *dhcp6JSON `json:"dhcp6"`
	} `json:"devices"`
	DNS *struct {
		Servers []netip.Addr `json:"servers"`
		Search  []string     `json:"search"`
	} `json:"dns"`
}

type dhcp4JSON struct {
	Address    netip.Prefix `json:"address"`
	Router     netip.Addr   `json:"router"`
	DNS        []netip.Addr `json:"dns"`
	ServerID   netip.Addr   `json:"server_id"`
	LeaseTime  int64        `json:"lease_time_s"`
	Obtained   int64        `json:"obtained_unix"`
	ClientID   string       `json:"client_id"` // colon hex; default 01:<mac>
	Hostname   string       `json:"host_name"`
	Domain     string       `json:"domain_name"`
	NextServer netip.Addr   `json:"next_server"`
}

type dhcp6JSON struct {
	Addresses []netip.Addr `json:"addresses"`
	DNS       []netip.Addr `json:"dns"`
	Search    []string     `json:"search"`
	DUID      string       `json:"duid"` // colon hex
	IAID      string       `json:"iaid"` // colon hex, 4 bytes
}

// handoverWrite records the JSON state from r under root.
func handoverWrite(r io.Reader, root string, stderr io.Writer) error {
	dec := json.NewDecoder(io.LimitReader(r, 1<<20))
	dec.DisallowUnknownFields()
	var in handoverInput
	if err := dec.Decode(&in); err != nil {
		return fmt.Errorf("handover --write: read JSON: %w", err)
	}
	var st nmhandover.State
	for _, d := range in.Devices {
		dev := nmhandover.Device{Ifindex: d.Ifindex, Name: d.Ifname, UUID: d.UUID, Software: d.Software,
			Created: d.Created, RouteMetric: d.RouteMetric}
		var err error
		if dev.MAC, err = parseMAC(d.MAC); err != nil {
			return fmt.Errorf("handover --write: device %q: mac: %w", d.Ifname, err)
		}
		if dev.PermHWAddrFake, err = parseMAC(d.PermHWAddrFake); err != nil {
			return fmt.Errorf("handover --write: device %q: perm_hw_addr_fake: %w", d.Ifname, err)
		}
		if l := d.DHCP4; l != nil {
			cid := nmhandover.ClientID4(dev.MAC)
			if l.ClientID != "" {
				if cid, err = parseMAC(l.ClientID); err != nil {
					return fmt.Errorf("handover --write: device %q: client_id: %w", d.Ifname, err)
				}
			}
			dev.DHCP4 = &nmhandover.Lease4{Address: l.Address, Router: l.Router, DNS: l.DNS, ServerID: l.ServerID,
				LeaseTime: time.Duration(l.LeaseTime) * time.Second, Obtained: time.Unix(l.Obtained, 0),
				ClientID: cid, Hostname: l.Hostname, Domain: l.Domain, NextServer: l.NextServer}
		}
		if l := d.DHCP6; l != nil {
			if dev.DHCP6, err = lease6(l); err != nil {
				return fmt.Errorf("handover --write: device %q: %w", d.Ifname, err)
			}
		}
		st.Devices = append(st.Devices, dev)
	}
	if in.DNS != nil {
		st.DNS = &nmhandover.DNS{Servers: in.DNS.Servers, Search: in.DNS.Search}
	}
	warns, err := (&nmhandover.Writer{Root: root}).Write(st)
	for _, w := range warns {
		fmt.Fprintln(stderr, "earlynet: warning:", w)
	}
	return err
}

func lease6(l *dhcp6JSON) (*nmhandover.Lease6, error) {
	duid, err := parseMAC(l.DUID)
	if err != nil {
		return nil, fmt.Errorf("dhcp6 duid: %w", err)
	}
	iaid, err := parseMAC(l.IAID)
	if err != nil || len(iaid) != 4 {
		return nil, fmt.Errorf("dhcp6 iaid %q: want 4 colon-separated hex bytes", l.IAID)
	}
	return &nmhandover.Lease6{Addresses: l.Addresses, DNS: l.DNS, Search: l.Search, DUID: duid,
		IAID: binary.BigEndian.Uint32(iaid)}, nil
}

// parseMAC accepts colon hex of any length ("" is none).
func parseMAC(s string) ([]byte, error) {
	if s == "" {
		return nil, nil
	}
	var b []byte
	for _, p := range strings.Split(s, ":") {
		var v byte
		if _, err := fmt.Sscanf(p, "%02x", &v); err != nil || len(p) != 2 {
			return nil, fmt.Errorf("%q is not colon-separated hex", s)
		}
		b = append(b, v)
	}
	return net.HardwareAddr(b), nil
}

// handoverIDs prints the DHCP identities NetworkManager will use for an
// interface, so that an early-boot DHCP client can present the same.
func handoverIDs(w io.Writer, ifname, mac, machineIDFile string) error {
	if ifname != "" {
		fmt.Fprintf(w, "iaid=%s\n", nmhandover.ColonHex(nmhandover.IAIDBytes(nmhandover.IAID(ifname))))
	}
	if mac != "" {
		m, err := parseMAC(mac)
		if err != nil {
			return fmt.Errorf("handover --ids: --mac: %w", err)
		}
		fmt.Fprintf(w, "dhcp4-client-id=%s\n", nmhandover.ColonHex(nmhandover.ClientID4(m)))
	}
	b, err := os.ReadFile(machineIDFile)
	if err != nil {
		return fmt.Errorf("handover --ids: %w", err)
	}
	id, err := nmhandover.ParseMachineID(b)
	if err != nil {
		return fmt.Errorf("handover --ids: %s: %w", machineIDFile, err)
	}
	fmt.Fprintf(w, "dhcp6-duid=%s\n", nmhandover.ColonHex(nmhandover.DUIDFromMachineID(id)))
	return nil
}
