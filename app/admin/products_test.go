package admin_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/licensor/licensor/app/catalog"
	"github.com/licensor/licensor/app/fields"
	"github.com/licensor/licensor/app/server/servertest"
	"github.com/licensor/licensor/app/settings"
)

// seedProduct creates a product directly.
func seedProduct(t *testing.T, e *servertest.Env, name, ref string, in catalog.ProductInput) *catalog.Product {
	t.Helper()
	in.Name, in.ReferenceID = fields.Some(name), fields.Some(ref)
	p, err := catalog.NewService(nil).CreateProduct(context.Background(), e.DB.Bun, system, settings.Defaults(), in)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestProductList(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	c := e.SignIn(t)
	if r := c.Get("/admin/products"); r.StatusCode != 200 || !strings.Contains(r.Body, "No products yet") {
		t.Fatalf("empty list: %d\n%s", r.StatusCode, r.Body)
	}
	acme := seedProduct(t, e, "Acme CMS", "ACME", catalog.ProductInput{})
	seedProduct(t, e, "Beta Shop", "BETA", catalog.ProductInput{IsActive: fields.Some(false)})
	seedProduct(t, e, "Cargo", "CARGO", catalog.ProductInput{})
	seedLicense(t, e, "L-1", "", "")
	seedLicense(t, e, "L-2", "", "")
	if _, err := e.DB.Bun.ExecContext(context.Background(),
		`INSERT INTO product_versions (product_id, version_id, version, released_at, is_active) VALUES (?, 'V1', '1.2.0', now(), true)`, acme.ID); err != nil {
		t.Fatal(err)
	}
	r := c.Get("/admin/products")
	if r.StatusCode != 200 || !strings.Contains(r.Body, `data-copy="ACME"`) || !strings.Contains(r.Body, ">1.2.0</a></td>") ||
		!strings.Contains(r.Body, `<td data-col="licenses" data-label="Licenses" class="num"><a href="/admin/licenses?product=ACME">2</a></td>`) ||
		!strings.Contains(r.Body, `href="/admin/products" aria-current="page"`) || !strings.Contains(r.Body, `data-col="released"`) {
		t.Fatalf("list: %d\n%s", r.StatusCode, r.Body)
	}
	order := func(body string, want ...string) {
		t.Helper()
		last := -1
		for _, n := range want {
			i := strings.Index(body, `title="`+n+`">`+n+"</a>")
			if i < 0 || i < last {
				t.Errorf("want %v in order, got\n%s", want, body)
				return
			}
			last = i
		}
		for _, n := range []string{"Acme CMS", "Beta Shop", "Cargo"} {
			if !contains(want, n) && strings.Contains(body, `title="`+n+`">`+n+"</a>") {
				t.Errorf("%s should not be listed", n)
			}
		}
	}
	r = c.Get("/admin/products?q=bet", "HX-Request", "true")
	if strings.Contains(r.Body, "<html") {
		t.Error("htmx search answered the full page")
	}
	order(r.Body, "Beta Shop")
	order(c.Get("/admin/products?active=no").Body, "Beta Shop")
	order(c.Get("/admin/products?active=yes&sort=name").Body, "Acme CMS", "Cargo")
	order(c.Get("/admin/products?sort=-reference_id").Body, "Cargo", "Beta Shop", "Acme CMS")
	if r := c.Get("/admin/products?q=zzz"); !strings.Contains(r.Body, "No products match") {
		t.Error("filtered empty state missing")
	}
}

func TestProductBulkActions(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	c := e.SignIn(t)
	a := seedProduct(t, e, "Acme CMS", "ACME", catalog.ProductInput{})
	b := seedProduct(t, e, "Beta Shop", "BETA", catalog.ProductInput{})
	k := seedProduct(t, e, "Kept", "KEPT", catalog.ProductInput{})
	seedLicense(t, e, "L-1", "", "")
	ids := url.Values{"ids": {fmt.Sprint(a.ID), fmt.Sprint(b.ID)}, "back": {"/admin/products?q=e"}}

	r := c.PostForm("/admin/products/bulk-deactivate", ids)
	if r.StatusCode != 303 || r.Header.Get("Location") != "/admin/products?q=e" {
		t.Fatalf("bulk deactivate: %d %q", r.StatusCode, r.Header.Get("Location"))
	}
	if r := c.Get("/admin/products"); !strings.Contains(r.Body, "Deactivated 2 products.") {
		t.Errorf("no flash:\n%s", r.Body)
	}
	active := func(id int64) bool {
		p, err := catalog.Get(context.Background(), e.DB.Bun, id)
		if err != nil {
			t.Fatal(err)
		}
		return p.IsActive
	}
	if active(a.ID) || active(b.ID) || !active(k.ID) {
		t.Error("deactivate touched the wrong products")
	}
	c.PostForm("/admin/products/bulk-activate", ids)
	if !active(a.ID) || !active(b.ID) {
		t.Error("bulk activate did not activate")
	}
	c.PostForm("/admin/products/bulk-delete", ids)
	if r := c.Get("/admin/products"); !strings.Contains(r.Body, "Deleted 2 products with their licenses and activations.") {
		t.Errorf("no delete flash:\n%s", r.Body)
	}
	if countRows(t, e, "products") != 1 || countRows(t, e, "licenses") != 0 {
		t.Errorf("products %d, licenses %d after bulk delete", countRows(t, e, "products"), countRows(t, e, "licenses"))
	}
	if r := c.PostForm("/admin/products/bulk-delete", url.Values{}); r.StatusCode != 303 {
		t.Errorf("nothing selected: %d", r.StatusCode)
	}
}

func TestProductCreate(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	c := e.SignIn(t)
	r := c.Get("/admin/products/new")
	if r.StatusCode != 200 || !strings.Contains(r.Body, `name="default_parallel_uses"`) || !strings.Contains(r.Body, `name="serve_latest_updates" value="1" checked`) {
		t.Fatalf("form: %d\n%s", r.StatusCode, r.Body)
	}
	r = c.PostForm("/admin/products", url.Values{
		"name": {"Flex Home"}, "envato_id": {"123"}, "description": {"Real estate"}, "is_active": {"1"}, "license_update": {"1"},
		"default_license_type": {"subscription"}, "default_uses": {"3"}, "default_parallel_uses": {"1"},
		"default_expiry_days": {"30"}, "default_updates_until_days": {"365"}, "default_support_until_days": {"180"}, "default_comments": {"From the shop"}, "grace_days": {"7"},
		"entitlements": {"pro, sso priority-support"}, "default_entitlements": {"PRO"},
	})
	if r.StatusCode != 303 || !strings.HasPrefix(r.Header.Get("Location"), "/admin/products/") {
		t.Fatalf("create: %d\n%s", r.StatusCode, r.Body)
	}
	var p catalog.Product
	if err := e.DB.Bun.NewSelect().Model(&p).Where("name = 'Flex Home'").Scan(context.Background()); err != nil {
		t.Fatal(err)
	}
	if p.ReferenceID == "" || !p.LicenseUpdate || p.ServeLatestUpdates || *p.DefaultUses != 3 || *p.DefaultSupportUntilDays != 180 || *p.DefaultLicenseType != "subscription" || p.GraceDays == nil || *p.GraceDays != 7 ||
		strings.Join(p.Entitlements, " ") != "pro sso priority-support" || strings.Join(p.DefaultEntitlements, " ") != "pro" {
		t.Errorf("stored: %+v", p)
	}
	r = c.Get(r.Header.Get("Location"))
	if !strings.Contains(r.Body, "Product Flex Home created with reference ID "+p.ReferenceID) || !strings.Contains(r.Body, "subscription") ||
		!strings.Contains(r.Body, "7 days after expiry") || !strings.Contains(r.Body, "<code>priority-support</code>") {
		t.Errorf("detail after create:\n%s", r.Body)
	}

	for _, tc := range []struct {
		name, field, msg string
		form             url.Values
	}{
		{"name required", "name", "The name field is required.", url.Values{"default_uses": {"4"}}},
		{"reference taken", "reference_id", "The reference id has already been taken.", url.Values{"name": {"Other"}, "reference_id": {strings.ToLower(p.ReferenceID)}}},
		{"reference format", "reference_id", "The reference id field format is invalid.", url.Values{"name": {"Other"}, "reference_id": {"has space"}}},
		{"uses not a number", "default_uses", "The default uses field must be an integer.", url.Values{"name": {"Other"}, "default_uses": {"many"}}},
		{"negative days", "default_expiry_days", "The default expiry days field must be at least 0.", url.Values{"name": {"Other"}, "default_expiry_days": {"-1"}}},
		// Issue 15.6 and 15.8: past the bounds, the field is named (a 500 or a wrapped date before).
		{"days wrap", "default_updates_until_days", "The default updates until days field must not be greater than 36500.", url.Values{"name": {"Other"}, "default_updates_until_days": {"106752"}}},
		{"uses past integer", "default_uses", "The default uses field must not be greater than 2147483647.", url.Values{"name": {"Other"}, "default_uses": {"2147483648"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := c.PostForm("/admin/products", tc.form)
			if r.StatusCode != 422 {
				t.Fatalf("status %d\n%s", r.StatusCode, r.Body)
			}
			want := fmt.Sprintf(`<small class="field-error" id="product-%s-error">%s`, tc.field, tc.msg)
			if !strings.Contains(r.Body, want) || !strings.Contains(r.Body, fmt.Sprintf(`aria-describedby="product-%s-error"`, tc.field)) {
				t.Fatalf("no %q next to the field:\n%s", want, r.Body)
			}
			for k, v := range tc.form {
				if !strings.Contains(r.Body, `value="`+v[0]+`"`) {
					t.Errorf("typed %s %q not kept", k, v[0])
				}
			}
		})
	}
	if r := c.PostForm("/admin/products", url.Values{}, "HX-Request", "true"); r.StatusCode != 422 || strings.Contains(r.Body, "<html") {
		t.Errorf("htmx invalid: %d", r.StatusCode)
	}
	if n := countRows(t, e, "products"); n != 1 {
		t.Errorf("products: %d", n)
	}
}

func TestProductDetailEditActivateDelete(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	c := e.SignIn(t)
	ctx := context.Background()
	p := seedProduct(t, e, "Acme CMS", "ACME", catalog.ProductInput{DefaultUses: fields.Some(intp(5)), DefaultUpdatesUntilDays: fields.Some(intp(10))})
	ann := seedCustomer(t, e, "Ann Lee", "ann@example.org", "CUST-ANN", true)
	seedLicense(t, e, "A-1", "CUST-ANN", "")
	seedLicense(t, e, "A-2", "CUST-ANN", "")
	seedLicense(t, e, "B-1", "", "bob@example.org")
	if _, err := e.DB.Bun.ExecContext(ctx, `UPDATE licenses SET is_valid = false WHERE license_code = 'B-1'`); err != nil {
		t.Fatal(err)
	}
	if _, err := e.DB.Bun.ExecContext(ctx, `INSERT INTO activations (product_id, license_id, license_code, domain, is_valid, is_active)
		SELECT product_id, id, license_code, 'a.example.net', true, true FROM licenses WHERE license_code = 'A-1'`); err != nil {
		t.Fatal(err)
	}
	path := fmt.Sprintf("/admin/products/%d", p.ID)
	r := c.Get(path)
	for _, want := range []string{
		`<dt>Licenses</dt><dd><a href="/admin/licenses?product=ACME">3</a></dd>`,
		`status=valid">2</a></dd>`, `<dt>Active activations</dt><dd>1</dd>`,
		fmt.Sprintf(`<a href="/admin/customers/%d">Ann Lee</a> <code>CUST-ANN</code></td>`, ann.ID), "bob@example.org",
		`hx-get="` + path + `/delete" hx-target="#dialog-root"`,
	} {
		if !strings.Contains(r.Body, want) {
			t.Errorf("detail lacks %q", want)
		}
	}
	if t.Failed() {
		t.Fatal(r.Body)
	}

	// Defaults for the license form.
	r = c.Get(path + "/defaults")
	var d map[string]string
	if err := json.Unmarshal([]byte(r.Body), &d); err != nil || d["uses"] != "5" || d["updates_until"] == "" || d["parallel_uses"] != "" {
		t.Errorf("defaults: %v %s", err, r.Body)
	}
	if r := c.Get("/admin/products/999999/defaults"); r.StatusCode != 404 {
		t.Errorf("unknown defaults: %d", r.StatusCode)
	}

	r = c.Get(path + "/edit")
	if r.StatusCode != 200 || !strings.Contains(r.Body, `value="ACME" readonly`) || !strings.Contains(r.Body, `name="default_uses" value="5"`) {
		t.Fatalf("edit form: %d\n%s", r.StatusCode, r.Body)
	}
	r = c.PostForm(path+"/edit", url.Values{"name": {""}, "default_uses": {"7"}})
	if r.StatusCode != 422 || !strings.Contains(r.Body, "The name field is required.") || !strings.Contains(r.Body, `value="7"`) {
		t.Errorf("invalid edit: %d\n%s", r.StatusCode, r.Body)
	}
	r = c.PostForm(path+"/edit", url.Values{"name": {"Acme CMS 2"}, "is_active": {"1"}, "default_uses": {"7"}, "reference_id": {"HACK"}})
	if r.StatusCode != 303 {
		t.Fatalf("edit: %d\n%s", r.StatusCode, r.Body)
	}
	got, _ := catalog.Get(ctx, e.DB.Bun, p.ID)
	if got.Name != "Acme CMS 2" || got.ReferenceID != "ACME" || *got.DefaultUses != 7 || got.DefaultUpdatesUntilDays != nil {
		t.Errorf("saved: %+v", got)
	}

	if r := c.PostForm(path+"/deactivate", nil); r.StatusCode != 303 {
		t.Fatalf("deactivate: %d", r.StatusCode)
	}
	if got, _ := catalog.Get(ctx, e.DB.Bun, p.ID); got.IsActive {
		t.Error("still active")
	}
	if r := c.Get(path); !strings.Contains(r.Body, "deactivated") || !strings.Contains(r.Body, `action="`+path+`/activate"`) {
		t.Errorf("after deactivate:\n%s", r.Body)
	}
	c.PostForm(path+"/activate", nil)
	if got, _ := catalog.Get(ctx, e.DB.Bun, p.ID); !got.IsActive {
		t.Error("not active again")
	}

	// The delete dialog names what goes with the product and asks for its
	// name; the server refuses a delete that does not give it.
	if r := c.Get(path+"/delete", "HX-Request", "true"); !strings.Contains(r.Body, "Delete product Acme CMS 2? This also deletes 0 versions, 3 licenses and 1 activation.") ||
		!strings.Contains(r.Body, `data-confirm-text="Acme CMS 2"`) {
		t.Fatalf("delete dialog:\n%s", r.Body)
	}
	if r := c.Get(path + "/delete"); r.StatusCode != 404 {
		t.Errorf("the dialog is no page: %d", r.StatusCode)
	}
	if r := c.PostForm(path+"/delete", nil); r.StatusCode != 303 || countRows(t, e, "licenses") != 3 {
		t.Fatalf("delete without the name: %d, %d licenses left", r.StatusCode, countRows(t, e, "licenses"))
	}
	r = c.PostForm(path+"/delete", url.Values{"confirm_name": {"Acme CMS 2"}})
	if r.StatusCode != 303 || r.Header.Get("Location") != "/admin/products" {
		t.Fatalf("delete: %d", r.StatusCode)
	}
	if r := c.Get("/admin/products"); !strings.Contains(r.Body, "Product Acme CMS 2 deleted with 0 versions, 3 licenses and 1 activation.") {
		t.Errorf("no flash:\n%s", r.Body)
	}
	if countRows(t, e, "licenses") != 0 || countRows(t, e, "activations") != 0 {
		t.Error("licenses or activations left")
	}
	for _, p := range []string{path, path + "/edit", "/admin/products/abc"} {
		if r := c.Get(p); r.StatusCode != 404 {
			t.Errorf("GET %s after delete: %d", p, r.StatusCode)
		}
	}
}

func TestProductPagesNeedAdminAndCSRF(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	p := seedProduct(t, e, "Acme CMS", "ACME", catalog.ProductInput{})
	anon := e.Client(t)
	base := fmt.Sprintf("/admin/products/%d", p.ID)
	for _, path := range []string{"/admin/products", "/admin/products/new", base, base + "/edit", base + "/defaults"} {
		if r := anon.Get(path); r.StatusCode != 302 || !strings.HasPrefix(r.Header.Get("Location"), "/admin/login?next=") {
			t.Errorf("anonymous GET %s: %d", path, r.StatusCode)
		}
	}
	posts := []string{"/admin/products", "/admin/products/bulk-activate", "/admin/products/bulk-deactivate", "/admin/products/bulk-delete",
		base + "/edit", base + "/activate", base + "/deactivate", base + "/delete"}
	anon.GetCSRF("/admin/login")
	for _, path := range posts {
		if r := anon.PostForm(path, url.Values{"ids": {fmt.Sprint(p.ID)}, "name": {"X"}}); r.StatusCode != 302 {
			t.Errorf("anonymous POST %s: %d", path, r.StatusCode)
		}
	}
	c := e.SignIn(t)
	c.CSRF = ""
	for _, path := range posts {
		if r := c.PostForm(path, url.Values{"ids": {fmt.Sprint(p.ID)}, "name": {"X"}}); r.StatusCode != 403 {
			t.Errorf("POST %s without token: %d, want 403", path, r.StatusCode)
		}
	}
	if got, err := catalog.Get(context.Background(), e.DB.Bun, p.ID); err != nil || got.Name != "Acme CMS" || !got.IsActive {
		t.Errorf("product changed: %+v %v", got, err)
	}
}

func intp(n int) *int { return &n }
