package admin_test

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/licensor/licensor/app/catalog"
	"github.com/licensor/licensor/app/licensing"
	"github.com/licensor/licensor/app/server/servertest"
	"github.com/licensor/licensor/app/testfactory"
)

// seedActivation adds an activation of license code (testfactory); valid
// false makes it a recorded failed attempt with reason.
func seedActivation(t *testing.T, e *servertest.Env, code, domain, ip string, valid, active bool, reason string) *licensing.Activation {
	t.Helper()
	lic, err := licensing.ByCode(context.Background(), e.DB.Bun, code)
	if err != nil {
		t.Fatal(err)
	}
	var why *string
	if reason != "" {
		why = &reason
	}
	return testfactory.Activation(t, e.DB.Bun, &testfactory.ActivationOpts{License: lic, ClientName: testfactory.Ptr("Client " + code),
		Domain: &domain, IP: &ip, IsValid: &valid, IsActive: &active, FailureReason: why})
}

func TestActivationList(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	c := e.SignIn(t)
	if r := c.Get("/admin/activations"); r.StatusCode != 200 || !strings.Contains(r.Body, "No activations yet") {
		t.Fatalf("empty list: %d\n%s", r.StatusCode, r.Body)
	}
	seedLicense(t, e, "AAA-1", "", "")
	seedLicense(t, e, "BBB-2", "", "")
	seedProduct(t, e, "Other", "OTHER", catalog.ProductInput{})
	seedActivation(t, e, "AAA-1", "one.example.net", "203.0.113.1", true, true, "")
	seedActivation(t, e, "AAA-1", "two.example.net", "203.0.113.2", true, false, "")
	seedActivation(t, e, "BBB-2", "bad.example.net", "198.51.100.7", false, false, "license_limit_reached")

	r := c.Get("/admin/activations")
	for _, want := range []string{"one.example.net", "two.example.net", "bad.example.net", "203.0.113.1", "Client AAA-1", "Acme CMS",
		`<span class="badge badge-failed" title="license_limit_reached">failed</span><span class="cell-sub truncate" title="license_limit_reached">license_limit_reached</span>`,
		`data-copy="AAA-1"`, "never", `formaction="/admin/activations/bulk-deactivate"`, `aria-label="Deactivate activation `} {
		if !strings.Contains(r.Body, want) {
			t.Fatalf("list lacks %q:\n%s", want, r.Body)
		}
	}
	has := func(body string, want ...string) {
		t.Helper()
		for _, d := range []string{"one.example.net", "two.example.net", "bad.example.net"} {
			if strings.Contains(body, d) != contains(want, d) {
				t.Errorf("want only %v listed\n%s", want, body)
				return
			}
		}
	}
	has(c.Get("/admin/activations?q=198.51", "HX-Request", "true").Body, "bad.example.net")
	has(c.Get("/admin/activations?q=aaa").Body, "one.example.net", "two.example.net")
	has(c.Get("/admin/activations?q=two.example").Body, "two.example.net")
	has(c.Get("/admin/activations?active=yes").Body, "one.example.net")
	has(c.Get("/admin/activations?active=no").Body, "two.example.net", "bad.example.net")
	has(c.Get("/admin/activations?outcome=failed").Body, "bad.example.net")
	has(c.Get("/admin/activations?outcome=valid").Body, "one.example.net", "two.example.net")
	has(c.Get("/admin/activations?product=OTHER").Body)
	if r := c.Get("/admin/activations?product=OTHER"); !strings.Contains(r.Body, "No activations match") {
		t.Error("no filtered empty state")
	}
	if r := c.Get("/admin/activations?sort=domain"); strings.Index(r.Body, "bad.example.net") > strings.Index(r.Body, "one.example.net") ||
		strings.Index(r.Body, "one.example.net") > strings.Index(r.Body, "two.example.net") {
		t.Error("not sorted by domain")
	}
	if r := c.Get("/admin/activations?sort=-domain"); strings.Index(r.Body, "two.example.net") > strings.Index(r.Body, "bad.example.net") {
		t.Error("not sorted by domain descending")
	}
	if r := c.Get("/admin/activations", "HX-Request", "true"); strings.Contains(r.Body, "<html") {
		t.Error("htmx should get the results alone")
	}
}

func TestActivationDetailAndActions(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	c := e.SignIn(t)
	seedLicense(t, e, "AAA-1", "", "")
	ok := seedActivation(t, e, "AAA-1", "one.example.net", "203.0.113.1", true, true, "")
	failed := seedActivation(t, e, "AAA-1", "bad.example.net", "198.51.100.7", false, false, "license_blocked")
	path := fmt.Sprintf("/admin/activations/%d", ok.ID)

	r := c.Get(path)
	if r.StatusCode != 200 || !strings.Contains(r.Body, "one.example.net") || !strings.Contains(r.Body, "Mark inactive") ||
		!strings.Contains(r.Body, fmt.Sprintf(`/admin/licenses/%d`, *ok.LicenseID)) || !strings.Contains(r.Body, "data-confirm=") {
		t.Fatalf("detail: %d\n%s", r.StatusCode, r.Body)
	}
	if r := c.Get("/admin/activations/999999"); r.StatusCode != 404 {
		t.Errorf("missing: %d", r.StatusCode)
	}

	r = c.PostForm(path+"/deactivate", nil)
	if r.StatusCode != 303 || r.Header.Get("Location") != path || licenseByCode(t, e, "AAA-1").ActiveActivations != 0 {
		t.Fatalf("deactivate: %d %q", r.StatusCode, r.Header.Get("Location"))
	}
	if r := c.Get(path); !strings.Contains(r.Body, "marked inactive") || !strings.Contains(r.Body, "Mark active") {
		t.Errorf("after deactivate:\n%s", r.Body)
	}
	r = c.PostForm(path+"/activate", nil)
	if r.StatusCode != 303 || licenseByCode(t, e, "AAA-1").ActiveActivations != 1 {
		t.Fatalf("mark active: %d", r.StatusCode)
	}
	if r := c.Get(path); !strings.Contains(r.Body, "limits were not checked") {
		t.Errorf("after mark active:\n%s", r.Body)
	}

	// A failed attempt cannot be marked active: refused with its message.
	r = c.PostForm(fmt.Sprintf("/admin/activations/%d/activate", failed.ID), nil)
	if r.StatusCode != 422 || !strings.Contains(r.Body, "Failed activation attempts cannot be activated.") || !strings.Contains(r.Body, "license_blocked") {
		t.Fatalf("mark active of a failed attempt: %d\n%s", r.StatusCode, r.Body)
	}
	if a, _ := licensing.GetActivation(context.Background(), e.DB.Bun, failed.ID); a.IsActive {
		t.Error("failed attempt became active")
	}

	r = c.PostForm(path+"/delete", nil)
	if r.StatusCode != 303 || r.Header.Get("Location") != "/admin/activations" || countRows(t, e, "activations") != 1 {
		t.Fatalf("delete: %d", r.StatusCode)
	}
	if r := c.PostForm(path+"/delete", nil); r.StatusCode != 404 {
		t.Errorf("delete again: %d", r.StatusCode)
	}
	var n int
	if err := e.DB.Bun.NewRaw(`SELECT count(*) FROM activity_log WHERE subject_type = 'activation' AND actor_type = 'admin'`).Scan(context.Background(), &n); err != nil || n < 3 {
		t.Errorf("admin activity entries: %d, %v", n, err)
	}
}

func TestActivationBulk(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	c := e.SignIn(t)
	seedLicense(t, e, "AAA-1", "", "")
	a := seedActivation(t, e, "AAA-1", "one.example.net", "203.0.113.1", true, true, "")
	b := seedActivation(t, e, "AAA-1", "two.example.net", "203.0.113.2", true, true, "")
	keep := seedActivation(t, e, "AAA-1", "three.example.net", "203.0.113.3", true, true, "")
	ids := url.Values{"ids": {fmt.Sprint(a.ID), fmt.Sprint(b.ID), "999999"}, "back": {"/admin/activations?active=no"}}

	if r := c.PostForm("/admin/activations/bulk-deactivate", url.Values{"back": {"/admin/activations"}}); r.StatusCode != 303 ||
		!strings.Contains(c.Get("/admin/activations").Body, "Select the activations first.") {
		t.Errorf("bulk without selection: %d", r.StatusCode)
	}
	r := c.PostForm("/admin/activations/bulk-deactivate", ids)
	if r.StatusCode != 303 || r.Header.Get("Location") != "/admin/activations?active=no" {
		t.Fatalf("bulk deactivate: %d %q", r.StatusCode, r.Header.Get("Location"))
	}
	if r := c.Get("/admin/activations?active=no"); !strings.Contains(r.Body, "Deactivated 2 activations.") {
		t.Errorf("no flash:\n%s", r.Body)
	}
	if n := licenseByCode(t, e, "AAA-1").ActiveActivations; n != 1 {
		t.Errorf("active after bulk deactivate: %d", n)
	}
	c.PostForm("/admin/activations/bulk-delete", ids)
	if n := countRows(t, e, "activations"); n != 1 {
		t.Errorf("activations after bulk delete: %d", n)
	}
	if _, err := licensing.GetActivation(context.Background(), e.DB.Bun, keep.ID); err != nil {
		t.Errorf("unselected activation gone: %v", err)
	}
	if r := c.PostForm("/admin/activations/bulk-delete", url.Values{"ids": {fmt.Sprint(keep.ID)}, "back": {"https://evil.example/"}}); r.Header.Get("Location") != "/admin/activations" {
		t.Errorf("back to %q", r.Header.Get("Location"))
	}
}

func TestActivationPagesNeedAdminAndCSRF(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	seedLicense(t, e, "AAA-1", "", "")
	a := seedActivation(t, e, "AAA-1", "one.example.net", "203.0.113.1", true, true, "")
	anon := e.Client(t)
	for _, p := range []string{"/admin/activations", fmt.Sprintf("/admin/activations/%d", a.ID)} {
		if r := anon.Get(p); r.StatusCode != 302 || !strings.HasPrefix(r.Header.Get("Location"), "/admin/login?next=") {
			t.Errorf("anonymous GET %s: %d %q", p, r.StatusCode, r.Header.Get("Location"))
		}
	}
	posts := []string{"/admin/activations/bulk-deactivate", "/admin/activations/bulk-delete",
		fmt.Sprintf("/admin/activations/%d/deactivate", a.ID), fmt.Sprintf("/admin/activations/%d/activate", a.ID), fmt.Sprintf("/admin/activations/%d/delete", a.ID)}
	anon.GetCSRF("/admin/login")
	for _, p := range posts {
		if r := anon.PostForm(p, url.Values{"ids": {fmt.Sprint(a.ID)}}); r.StatusCode != 302 {
			t.Errorf("anonymous POST %s: %d", p, r.StatusCode)
		}
	}
	c := e.SignIn(t)
	c.CSRF = ""
	for _, p := range posts {
		if r := c.PostForm(p, url.Values{"ids": {fmt.Sprint(a.ID)}}); r.StatusCode != 403 {
			t.Errorf("POST %s without token: %d, want 403", p, r.StatusCode)
		}
	}
	if got, err := licensing.GetActivation(context.Background(), e.DB.Bun, a.ID); err != nil || !got.IsActive {
		t.Errorf("activation changed: %+v, %v", got, err)
	}
}
