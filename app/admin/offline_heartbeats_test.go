package admin_test

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/licensor/licensor/app/licensing"
	"github.com/licensor/licensor/app/server/servertest"
)

// An offline activation's rows and page say it asks for no heartbeats
// (docs/licensing.md#offline-activations-and-heartbeats), its file carries
// no heartbeat policy, and a floating license refuses one.
func TestConsoleOfflineActivationHeartbeats(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	c := e.SignIn(t)
	ctx := context.Background()
	seedLicense(t, e, "STATE-OFF", "", "")
	if _, err := e.DB.Bun.ExecContext(ctx, "UPDATE products SET heartbeat_interval = 60 WHERE reference_id = 'ACME'"); err != nil {
		t.Fatal(err)
	}
	c.GetCSRF("/admin/offline-activation")
	req := licensing.OfflineRequest{ProductRef: "ACME", LicenseCode: "STATE-OFF", Fingerprint: "lab-pc-9", RequestedAt: time.Now()}
	r := c.PostForm("/admin/offline-activation", url.Values{"request": {req.Code()}})
	lf, err := e.Nodes[0].Signing.VerifyLicenseFile([]byte(r.Body))
	if r.StatusCode != 200 || err != nil || lf.Offline == nil || lf.Heartbeat != nil {
		t.Fatalf("offline activation: %d %v %+v\n%s", r.StatusCode, err, lf, r.Body)
	}
	if r := c.Get(fmt.Sprintf("/admin/activations/%d", lf.Offline.ActivationID)); !strings.Contains(r.Body, `id="activation-heartbeat">none asked: an offline activation sends no heartbeats`) {
		t.Fatalf("activation page:\n%s", r.Body)
	}
	if r := c.Get("/admin/activations"); !strings.Contains(r.Body, "offline: none asked") {
		t.Fatalf("activation list:\n%s", r.Body)
	}
	if r := c.Get(fmt.Sprintf("/admin/licenses/%d", licenseByCode(t, e, "STATE-OFF").ID)); !strings.Contains(r.Body, "offline: none asked") {
		t.Fatalf("license page:\n%s", r.Body)
	}

	// A floating license refuses an offline activation, with its reason.
	seedLicense(t, e, "STATE-FLOAT", "", "")
	if _, err := e.DB.Bun.ExecContext(ctx, "UPDATE licenses SET floating = true WHERE license_code = 'STATE-FLOAT'"); err != nil {
		t.Fatal(err)
	}
	c.GetCSRF("/admin/offline-activation")
	req.LicenseCode, req.Fingerprint = "STATE-FLOAT", "lab-pc-10"
	if r := c.PostForm("/admin/offline-activation", url.Values{"request": {req.Code()}}); r.StatusCode != 422 || !strings.Contains(r.Body, "A floating license cannot be activated offline") {
		t.Fatalf("floating offline: %d\n%s", r.StatusCode, r.Body)
	}
}
