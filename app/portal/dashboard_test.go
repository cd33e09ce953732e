package portal_test

import (
	"strconv"
	"strings"
	"testing"
)

func TestDashboardRecentActivationsAndQuickActions(t *testing.T) {
	t.Parallel()
	s := newShop(t)
	c := mustSignIn(t, s.e, s.cora.Email)
	r := c.Get("/customer/dashboard")
	if r.StatusCode != 200 {
		t.Fatalf("dashboard: %d", r.StatusCode)
	}
	lic := strconv.FormatInt(s.coraLic.ID, 10)
	for _, want := range []string{
		`id="recent-activations"`,
		`<a href="/customer/product-licenses/` + lic + `">cora.example.com</a>`, // linked
		`href="/customer/product-licenses/` + lic + `/file"`,                    // quick download
		`id="activate-guide"`,
		`data-stat="total">1<`,
		`<p class="muted" data-joined>Joined on ` + s.cora.CreatedAt.Format("2006-01-02"), // greeting
		`<span class="avatar avatar-large" aria-hidden="true">`,
	} {
		if !strings.Contains(r.Body, want) {
			t.Errorf("dashboard lacks %s\n%s", want, r.Body)
		}
	}
	if strings.Contains(r.Body, "otto.example.com") || strings.Contains(r.Body, "/customer/product-licenses/"+strconv.FormatInt(s.ottoLic.ID, 10)) {
		t.Error("dashboard shows another customer's activation or license")
	}
	if strings.Contains(r.Body, "Get More Licenses") {
		t.Error("Get More Licenses shown without get_more_licenses_url")
	}
	s.e.SetSettings(t, map[string]string{"get_more_licenses_url": "https://shop.example.com/buy"})
	r = c.Get("/customer/dashboard")
	if !strings.Contains(r.Body, `href="https://shop.example.com/buy"`) || !strings.Contains(r.Body, "Get More Licenses") {
		t.Errorf("no Get More Licenses button:\n%s", r.Body)
	}
	// The quick download link works.
	if f := c.Get("/customer/product-licenses/" + lic + "/file"); f.StatusCode != 200 {
		t.Errorf("quick license-file download: %d", f.StatusCode)
	}
}
