package main

import (
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/licensor/licensor/app/licensing"
	"github.com/licensor/licensor/app/server/servertest"
	"github.com/licensor/licensor/app/testfactory"
)

// The whole way of issue 21's offline activation: a machine's request
// pasted in the portal yields a license file that `license verify`
// accepts for that machine, with the instance's published keys, and
// refuses for another.
func TestLicenseVerifyPortalFile(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	p := testfactory.Product(t, e.DB.Bun, nil)
	cu := testfactory.Customer(t, e.DB.Bun, nil)
	l := testfactory.License(t, e.DB.Bun, &testfactory.LicenseOpts{Product: p, Customer: cu})
	c := e.SignInCustomer(t, cu.ID)
	c.GetCSRF("/customer/offline-activation")
	req := licensing.OfflineRequest{ProductRef: p.ReferenceID, LicenseCode: l.LicenseCode, Fingerprint: "air-gapped-7", ClientName: cu.ClientID, RequestedAt: time.Now()}
	r := c.PostForm("/customer/offline-activation", url.Values{"request": {req.Code()}})
	if r.StatusCode != 200 || !strings.HasPrefix(r.Body, "-----BEGIN LICENSOR LICENSE-----") {
		t.Fatalf("portal: %d\n%s", r.StatusCode, r.Body)
	}
	dir := t.TempDir()
	file, keys := filepath.Join(dir, "offline.lic"), filepath.Join(dir, "public-keys.json")
	published, _ := json.Marshal(e.Nodes[0].Signing.PublicKeys())
	if os.WriteFile(file, []byte(r.Body), 0o600) != nil || os.WriteFile(keys, published, 0o600) != nil {
		t.Fatal("write the file and the keys")
	}
	if code, out, errOut := runCLI(t, nil, "license", "verify", file, "--key", keys, "--fingerprint", "air-gapped-7"); code != 0 || !strings.Contains(out, l.LicenseCode) {
		t.Fatalf("its machine: exit %d\n%s%s", code, out, errOut)
	}
	if code, out, _ := runCLI(t, nil, "license", "verify", file, "--key", keys, "--fingerprint", "air-gapped-8"); code != 1 || !strings.Contains(out, "REFUSED") {
		t.Fatalf("another machine: exit %d\n%s", code, out)
	}
}
