package metadata

import "strings"

// DMI is the part of /sys/class/dmi/id a provider is recognised by.
type DMI struct {
	SysVendor, ProductName, BoardVendor, BIOSVendor, ChassisAssetTag string
}

// Provider is one cloud earlynet knows.
type Provider struct {
	Name string // as --provider takes it
	// EnvHost is nm-cloud-setup's variable that replaces the metadata
	// base URL (NM_CLOUD_SETUP_<X>_HOST).
	EnvHost string
	// Base is the default metadata base URL.
	Base string
	// Match reports whether the DMI data says this machine runs there.
	Match func(DMI) bool
}

// azureAssetTag is the chassis asset tag of every Azure VM.
const azureAssetTag = "7783-7084-3265-9085-8269-3286-77"

// Providers lists the clouds in nm-cloud-setup's order; Detect tries them
// in this order.
func Providers() []Provider {
	return []Provider{
		{Name: "ec2", EnvHost: "NM_CLOUD_SETUP_EC2_HOST", Base: "http://169.254.169.254", Match: func(d DMI) bool {
			return has(d.SysVendor, "Amazon EC2") || has(d.BIOSVendor, "Amazon EC2") || has(d.BoardVendor, "Amazon EC2") ||
				strings.HasPrefix(d.ProductName, "HVM domU") && has(d.BIOSVendor, "Amazon") // Xen instances
		}},
		{Name: "gce", EnvHost: "NM_CLOUD_SETUP_GCP_HOST", Base: "http://169.254.169.254", Match: func(d DMI) bool {
			return has(d.ProductName, "Google Compute Engine") || d.SysVendor == "Google" || d.BIOSVendor == "Google"
		}},
		{Name: "azure", EnvHost: "NM_CLOUD_SETUP_AZURE_HOST", Base: "http://169.254.169.254", Match: func(d DMI) bool {
			return d.ChassisAssetTag == azureAssetTag
		}},
		{Name: "aliyun", EnvHost: "NM_CLOUD_SETUP_ALIYUN_HOST", Base: "http://100.100.100.200", Match: func(d DMI) bool {
			return has(d.SysVendor, "Alibaba Cloud") || has(d.ProductName, "Alibaba Cloud ECS")
		}},
		{Name: "oci", EnvHost: "NM_CLOUD_SETUP_OCI_HOST", Base: "http://169.254.169.254", Match: func(d DMI) bool {
			return d.ChassisAssetTag == "OracleCloud.com"
		}},
	}
}

func has(s, sub string) bool { return strings.Contains(s, sub) }

// Detect returns the provider the DMI data names, or false off-cloud.
func Detect(d DMI) (Provider, bool) {
	for _, p := range Providers() {
		if p.Match(d) {
			return p, true
		}
	}
	return Provider{}, false
}

// Lookup returns the provider called name.
func Lookup(name string) (Provider, bool) {
	for _, p := range Providers() {
		if p.Name == name {
			return p, true
		}
	}
	return Provider{}, false
}

// BaseURL is the provider's metadata base URL, or the override from
// nm-cloud-setup's variable: a value without a scheme and without a '/'
// gets http:// in front, as nm-cloud-setup does. getenv is os.Getenv.
func (p Provider) BaseURL(getenv func(string) string) string {
	v := strings.TrimSpace(getenv(p.EnvHost))
	switch {
	case v == "":
		return p.Base
	case !strings.Contains(v, "://") && !strings.Contains(v, "/"):
		return "http://" + v
	}
	return strings.TrimRight(v, "/")
}
