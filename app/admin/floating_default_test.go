package admin_test

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/licensor/licensor/app/catalog"
	"github.com/licensor/licensor/app/server/servertest"
)

// The product form sets default_floating and the product page shows it;
// the license create form fills the floating select with the product's
// default (also when htmx refreshes it for a chosen product), a license
// posted without a choice takes the default and one posted "not floating"
// keeps its own; an edit without the field keeps the stored flag, and a
// value the select does not offer is a field error.
func TestConsoleProductDefaultFloating(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	c := e.SignIn(t)
	ctx := context.Background()

	r := c.PostForm("/admin/products", url.Values{"name": {"Seats"}, "reference_id": {"SEATS"}, "is_active": {"1"}, "default_floating": {"1"}})
	if r.StatusCode != 303 {
		t.Fatalf("create product: %d\n%s", r.StatusCode, r.Body)
	}
	p, err := catalog.ByRef(ctx, e.DB.Bun, "SEATS")
	if err != nil || !p.DefaultFloating {
		t.Fatalf("product %+v, %v", p, err)
	}
	productPath := fmt.Sprintf("/admin/products/%d", p.ID)
	if r := c.Get(productPath); !strings.Contains(r.Body, `id="product-default-floating">new licenses are <span class="badge badge-active">floating</span>`) {
		t.Fatalf("product page:\n%s", r.Body)
	}
	if r := c.Get(productPath + "/edit"); !strings.Contains(r.Body, `id="product-default_floating" type="checkbox" name="default_floating" value="1" checked`) {
		t.Fatalf("product edit form:\n%s", r.Body)
	}

	// The create form for the product shows its default chosen.
	if r := c.Get("/admin/licenses/new?product=SEATS"); !strings.Contains(r.Body, `<option value="1" selected>Floating`) || strings.Contains(r.Body, "The product&#39;s default</option>") {
		t.Fatalf("create form for the product:\n%s", r.Body)
	}
	if r := c.Get("/admin/licenses/new"); !strings.Contains(r.Body, `<option value="" selected>The product&#39;s default</option>`) {
		t.Fatalf("create form without a product:\n%s", r.Body)
	}
	c.GetCSRF("/admin/licenses/new")
	for code, floating := range map[string]string{"SEATS-DEFAULT": "", "SEATS-FIXED": "0"} {
		if r := c.PostForm("/admin/licenses", url.Values{"product": {"SEATS"}, "license_code": {code}, "is_valid": {"1"}, "floating": {floating}}); r.StatusCode != 303 {
			t.Fatalf("create %s: %d\n%s", code, r.StatusCode, r.Body)
		}
	}
	if !licenseByCode(t, e, "SEATS-DEFAULT").Floating || licenseByCode(t, e, "SEATS-FIXED").Floating {
		t.Fatal("the product's default was not taken, or overrode the form's choice")
	}
	l := licenseByCode(t, e, "SEATS-DEFAULT")
	path := fmt.Sprintf("/admin/licenses/%d", l.ID)
	if r := c.PostForm(path+"/edit", url.Values{"is_valid": {"1"}}); r.StatusCode != 303 || !licenseByCode(t, e, "SEATS-DEFAULT").Floating {
		t.Fatalf("an edit without the field: %d", r.StatusCode)
	}
	if r := c.PostForm(path+"/edit", url.Values{"is_valid": {"1"}, "floating": {"maybe"}}); r.StatusCode != 422 ||
		!strings.Contains(r.Body, `id="license-floating-error">The selected floating is invalid.`) {
		t.Fatalf("a bad choice: %d\n%s", r.StatusCode, r.Body)
	}
	if r := c.PostForm(path+"/edit", url.Values{"is_valid": {"1"}, "floating": {"0"}}); r.StatusCode != 303 || licenseByCode(t, e, "SEATS-DEFAULT").Floating {
		t.Fatalf("switched off: %d", r.StatusCode)
	}
}
