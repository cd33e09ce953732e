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

// An admin pastes a machine's activation request for any license and gets
// its license file; the activation shows its machine, and the release
// proof pasted on the same page frees it.
func TestOfflineActivationConsole(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	c := e.SignIn(t)
	seedLicense(t, e, "OFF-CONSOLE-1", "client-9", "")
	if r := c.Get("/admin/activations"); !strings.Contains(r.Body, `href="/admin/offline-activation"`) {
		t.Fatal("the activations list does not lead to offline activation")
	}
	c.GetCSRF("/admin/offline-activation")
	req := licensing.OfflineRequest{ProductRef: "ACME", LicenseCode: "OFF-CONSOLE-1", Fingerprint: "lab-pc-3", ClientName: "client-9", RequestedAt: time.Now()}
	r := c.PostForm("/admin/offline-activation", url.Values{"request": {req.Code()}})
	if d := r.Header.Get("Content-Disposition"); !strings.Contains(d, "ACME_OFF-CONSOLE-1_offline_") {
		t.Fatalf("disposition %q", d)
	}
	lf, err := e.Nodes[0].Signing.VerifyLicenseFile([]byte(r.Body))
	if r.StatusCode != 200 || err != nil || lf.Offline == nil || lf.Offline.Fingerprint != "lab-pc-3" || *lf.ClientID != "client-9" {
		t.Fatalf("activate: %d %v\n%s", r.StatusCode, err, r.Body)
	}
	show := fmt.Sprintf("/admin/activations/%d", lf.Offline.ActivationID)
	if r := c.Get(show); !strings.Contains(r.Body, `<code id="offline-fingerprint">lab-pc-3</code>`) {
		t.Fatalf("activation page:\n%s", r.Body)
	}
	if r := c.Get("/admin/activations"); !strings.Contains(r.Body, "offline: lab-pc-3") {
		t.Fatalf("activation list:\n%s", r.Body)
	}
	// The client name must be the license's customer, as online.
	req.ClientName, req.Fingerprint = "someone", "lab-pc-4"
	c.GetCSRF("/admin/offline-activation")
	if r := c.PostForm("/admin/offline-activation", url.Values{"request": {string(req.JSON())}}); r.StatusCode != 422 || !strings.Contains(r.Body, "Your license code is invalid.") {
		t.Fatalf("another client name: %d\n%s", r.StatusCode, r.Body)
	}

	proof := licensing.SignRelease(lf.Offline.ReleaseKey, lf.Offline.ActivationID, lf.LicenseCode, "lab-pc-3", time.Now())
	r = c.PostForm("/admin/offline-activation/release", url.Values{"release": {proof.Code()}})
	if r.StatusCode != 303 || r.Header.Get("Location") != show {
		t.Fatalf("release: %d %q\n%s", r.StatusCode, r.Header.Get("Location"), r.Body)
	}
	a, err := licensing.GetActivation(context.Background(), e.DB.Bun, lf.Offline.ActivationID)
	if err != nil || a.IsActive || *a.DeactivationReason != licensing.ReasonClient {
		t.Fatalf("released: %+v, %v", a, err)
	}
	c.GetCSRF("/admin/offline-activation")
	if r := c.PostForm("/admin/offline-activation/release", url.Values{"release": {"ABCDE-FGHIJ"}}); r.StatusCode != 422 || !strings.Contains(r.Body, `<small class="field-error" id="offline-release-proof-error">`) {
		t.Fatalf("garbage proof: %d\n%s", r.StatusCode, r.Body)
	}
}
