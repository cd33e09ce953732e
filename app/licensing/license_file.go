package licensing

import (
	"time"

	"github.com/licensor/licensor/app/customers"
	"github.com/licensor/licensor/app/signing"
)

// LicenseFile builds and signs l's license file
// (docs/api/signing.md#license-files) with ring's active key, issued at
// now. It names cu, the customer the linking rule gives l (customers.LinkedTo;
// the portal's signed-in customer), or, with cu nil, the license's own
// customer ID and email. name is what the download is called:
// <reference>_<code>.lic.
func LicenseFile(ring *signing.KeyRing, l *License, cu *customers.Customer, now time.Time) (name string, file []byte, err error) {
	return licenseFile(ring, l, cu, now, nil)
}

func licenseFile(ring *signing.KeyRing, l *License, cu *customers.Customer, now time.Time, offline *signing.OfflineBinding) (name string, file []byte, err error) {
	clientID, email := l.CustomerID, l.Email
	if cu != nil {
		clientID, email = &cu.ClientID, &cu.Email
	}
	policy := filePolicy(l.Heartbeat())
	if offline != nil {
		// An offline activation sends no heartbeats and is never released
		// for want of them (docs/licensing.md#offline-activations-and-heartbeats):
		// its file asks for none.
		policy = nil
	}
	file, err = ring.SignLicenseFile(signing.LicenseFile{
		LicenseCode: l.LicenseCode, ProductRef: l.ProductReferenceID, ProductName: l.ProductName,
		ClientID: clientID, Email: email, Type: l.Type,
		ExpiresAt: l.ExpiresAt, UpdatesUntil: l.UpdatesUntil, SupportUntil: l.SupportUntil,
		ParallelUses: l.ParallelUses, Domains: l.Domains, IPs: l.IPs, Entitlements: l.Entitlements, IssuedAt: now,
		ExpiryStart: l.ExpiryStart, ExpiryDays: clockDays(l), ExpiryStartedAt: l.ExpiryStartedAt,
		Floating: l.Floating, Heartbeat: policy,
		Offline: offline,
	})
	if err != nil {
		return "", nil, err
	}
	return l.ProductReferenceID + "_" + l.LicenseCode + ".lic", file, nil
}

// clockDays is l's expiry days when it has an expiry clock, else nil.
func clockDays(l *License) *int {
	if l.ExpiryDays == nil || *l.ExpiryDays <= 0 {
		return nil
	}
	return l.ExpiryDays
}

// filePolicy is a license file's "heartbeat": nil when none is asked.
func filePolicy(p HeartbeatPolicy) *signing.HeartbeatPolicy {
	if !p.On() {
		return nil
	}
	return &signing.HeartbeatPolicy{Interval: p.Interval, Tolerance: p.Tolerance, Missed: p.Missed}
}
