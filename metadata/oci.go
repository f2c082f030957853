package metadata

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"strings"
)

// OCIPath is the VNIC document the OCI fetcher reads (JSON array).
const OCIPath = "/opc/v2/vnics"

type ociVNIC struct {
	MAC       string   `json:"macAddr"`
	PrivateIP string   `json:"privateIp"`
	Router    string   `json:"virtualRouterIp"`
	Subnet    string   `json:"subnetCidrBlock"`
	IPv6s     []string `json:"ipv6Addresses"`
	Subnet6   string   `json:"ipv6SubnetCidrBlock"`
	NICIndex  *int     `json:"nicIndex"`
	VLANTag   int      `json:"vlanTag"`
}

// OCI maps the VNIC array: one address per VNIC, its subnet and virtual
// router. On bare metal (entries carry nicIndex) a VNIC with a non-zero
// VLAN tag lives on a VLAN over a physical NIC, which earlynet does not
// build: it is left out with an error naming it.
func OCI(doc []byte) (*Metadata, []error) {
	var vnics []ociVNIC
	if err := json.Unmarshal(doc, &vnics); err != nil {
		return nil, []error{fmt.Errorf("oci: vnics document: %w", err)}
	}
	md := &Metadata{Provider: "oci"}
	var errs []error
	for i, v := range vnics {
		if v.NICIndex != nil && v.VLANTag != 0 {
			errs = append(errs, fmt.Errorf("oci: vnic %d (%s): VLAN VNICs on bare metal are not supported", i, v.MAC))
			continue
		}
		ifc, err := ociInterface(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("oci: vnic %d: %w", i, err))
			continue
		}
		ifc.Index = i
		md.Interfaces = append(md.Interfaces, ifc)
	}
	return md, errs
}

func ociInterface(v ociVNIC) (Interface, error) {
	mac, err := NormalizeMAC(v.MAC)
	if err != nil {
		return Interface{}, err
	}
	ifc := Interface{MAC: mac}
	if ifc.IPv4s, err = addrs([]string{v.PrivateIP}, false); err != nil {
		return ifc, fmt.Errorf("privateIp: %w", err)
	}
	if ifc.Subnet4, err = prefix(v.Subnet, false); err != nil {
		return ifc, fmt.Errorf("subnetCidrBlock: %w", err)
	}
	if s := strings.TrimSpace(v.Router); s != "" {
		if ifc.Gateway, err = netip.ParseAddr(s); err != nil || !ifc.Gateway.Is4() {
			return ifc, fmt.Errorf("virtualRouterIp %q is not an IPv4 address", s)
		}
	}
	if ifc.IPv6s, err = addrs(v.IPv6s, true); err != nil {
		return ifc, fmt.Errorf("ipv6Addresses: %w", err)
	}
	if v.Subnet6 != "" {
		if ifc.Subnet6, err = prefix(v.Subnet6, true); err != nil {
			return ifc, fmt.Errorf("ipv6SubnetCidrBlock: %w", err)
		}
	}
	return ifc, nil
}
