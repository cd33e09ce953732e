package admin_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/licensor/licensor/app/admins"
	"github.com/licensor/licensor/app/server/servertest"
)

// The global search finds customers, licenses (by part of a code),
// products and activations, links each to its page, and shows only the
// kinds the admin's role may view.
func TestGlobalSearch(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	cu := seedCustomer(t, e, "Quentin Blake", "quentin@example.org", "CLIENT-QB", true)
	seedLicense(t, e, "ZX81-QUUX-7777", "CLIENT-QB", "")
	seedLicense(t, e, "OTHER-0000-1111", "", "nobody@example.org")
	activate(t, e, "ZX81-QUUX-7777", "quux.example.net")
	c := e.SignIn(t)

	r := c.Get("/admin/search?q=quux", "HX-Request", "true")
	if r.StatusCode != 200 || strings.Contains(r.Body, "<html") {
		t.Fatalf("search fragment: %d\n%s", r.StatusCode, r.Body)
	}
	l := licenseByCode(t, e, "ZX81-QUUX-7777")
	for _, want := range []string{"<code>ZX81-QUUX-7777</code>", `href="/admin/licenses/` + fmt.Sprint(l.ID) + `"`, "quux.example.net", "Activations"} {
		if !strings.Contains(r.Body, want) {
			t.Errorf("search for quux lacks %s\n%s", want, r.Body)
		}
	}
	if strings.Contains(r.Body, "OTHER-0000-1111") {
		t.Error("search for quux lists a license not matching it")
	}
	r = c.Get("/admin/search?q=quentin@", "HX-Request", "true")
	if !strings.Contains(r.Body, "Quentin Blake") || !strings.Contains(r.Body, `href="/admin/customers/`+fmt.Sprint(cu.ID)+`"`) {
		t.Errorf("search by email does not find the customer\n%s", r.Body)
	}
	if r := c.Get("/admin/search?q=acme", "HX-Request", "true"); !strings.Contains(r.Body, "Acme CMS") {
		t.Errorf("search by product name:\n%s", r.Body)
	}
	if r := c.Get("/admin/search?q=no-such-thing-anywhere", "HX-Request", "true"); !strings.Contains(r.Body, "Nothing matches") {
		t.Errorf("empty search:\n%s", r.Body)
	}
	// Without JavaScript it is a page; the header offers it everywhere.
	page := c.Get("/admin/search?q=quux")
	if !strings.Contains(page.Body, "<html") || !strings.Contains(page.Body, "ZX81-QUUX-7777") || !strings.Contains(page.Body, `data-open-search`) {
		t.Errorf("search page:\n%s", page.Body)
	}

	// A role that sees customers only finds customers only.
	role, err := admins.CreateRole(context.Background(), e.DB.Bun, system, admins.RoleParams{Name: "Customers desk", Permissions: []string{string(admins.CustomersView)}})
	if err != nil {
		t.Fatal(err)
	}
	desk, err := admins.CreateWithRole(context.Background(), e.DB.Bun, "Desk", "desk@example.org", "role test password 1", role.ID)
	if err != nil {
		t.Fatal(err)
	}
	d := e.SignInAs(t, desk.ID)
	r = d.Get("/admin/search?q=q", "HX-Request", "true")
	if r.StatusCode != 200 || !strings.Contains(r.Body, "Quentin Blake") || strings.Contains(r.Body, "ZX81") || strings.Contains(r.Body, "quux.example.net") {
		t.Errorf("customers-only role's search:\n%s", r.Body)
	}
}
