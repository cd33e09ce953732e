package external_test

import (
	"net/http"
	"testing"
)

// A failed activation keeps the address its connection came from beside
// the X-API-IP and X-API-URL the client claimed (issue 15.7): the
// auto-blacklist counts that address, never the claims
// (docs/deploy.md#auto-blacklist).
func TestFailedActivationKeepsPeerAddress(t *testing.T) {
	t.Parallel()
	a := newAPIEnv(t)
	r := a.call(modern, modern.activate, map[string]any{"product_id": a.product.ReferenceID, "license_code": "NO-SUCH-CODE"},
		"https://victim.example", modern.ipHeader, "192.0.2.50")
	if r.StatusCode == http.StatusOK && r.JSON["status"] == true {
		t.Fatalf("a made-up code activated: %s", r.Body)
	}
	var ip, peer, domain string
	if err := a.DB.Bun.NewRaw("SELECT coalesce(ip, ''), coalesce(peer_ip, ''), coalesce(domain, '') FROM activations WHERE NOT is_valid").
		Scan(t.Context(), &ip, &peer, &domain); err != nil {
		t.Fatal(err)
	}
	if ip != "192.0.2.50" || domain != "victim.example" || peer == "" || peer == ip {
		t.Errorf("failed activation: ip %q, domain %q, peer %q; want the claims kept and the connection's own address beside them", ip, domain, peer)
	}
}
