package admin_test

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/licensor/licensor/app/apikeys"
	"github.com/licensor/licensor/app/catalog"
	"github.com/licensor/licensor/app/server/servertest"
)

func backdate(t *testing.T, e *servertest.Env, table, where string, at time.Time) {
	t.Helper()
	if _, err := e.DB.Bun.ExecContext(context.Background(), "UPDATE "+table+" SET created_at = ? WHERE "+where, at); err != nil {
		t.Fatal(err)
	}
}

func newAPIKey(t *testing.T, e *servertest.Env, name, typ string) *apikeys.Key {
	t.Helper()
	_, k, err := apikeys.Create(context.Background(), e.DB.Bun, apikeys.CreateParams{Name: name, Type: typ, Scopes: apikeys.ScopesFor(typ)}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// Every list filters by created date (from and to, whole days, both
// inclusive); a date that does not parse is ignored, never a 500.
func TestListsFilterByCreatedDate(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	c := e.SignIn(t)
	old := time.Date(2020, 1, 15, 12, 0, 0, 0, time.UTC)
	seedCustomer(t, e, "Old Customer", "old@example.org", "CUST-OLD", true)
	seedCustomer(t, e, "New Customer", "new@example.org", "CUST-NEW", true)
	backdate(t, e, "customers", "client_id = 'CUST-OLD'", old)
	seedLicense(t, e, "OLD-1", "", "")
	seedLicense(t, e, "NEW-2", "", "")
	backdate(t, e, "licenses", "license_code = 'OLD-1'", old)
	seedProduct(t, e, "Old Product", "OLDP", catalog.ProductInput{})
	backdate(t, e, "products", "reference_id = 'OLDP'", old)
	seedActivation(t, e, "OLD-1", "old.example.net", "", true, true, "")
	seedActivation(t, e, "NEW-2", "new.example.net", "", true, true, "")
	backdate(t, e, "activations", "domain = 'old.example.net'", old)
	newAPIKey(t, e, "Old key", apikeys.TypeExternal)
	newAPIKey(t, e, "New key", apikeys.TypeExternal)
	backdate(t, e, "api_keys", "name = 'Old key'", old)

	for _, tc := range []struct{ list, oldRow, newRow string }{
		{"/admin/customers", "Old Customer", "New Customer"},
		{"/admin/licenses", "OLD-1", "NEW-2"},
		{"/admin/products", "Old Product", "Acme CMS"},
		{"/admin/activations", "old.example.net", "new.example.net"},
		{"/admin/api-keys", "Old key", "New key"},
	} {
		r := c.Get(tc.list)
		if !strings.Contains(r.Body, `name="from"`) || !strings.Contains(r.Body, `name="to"`) || !strings.Contains(r.Body, `hx-push-url="true"`) {
			t.Errorf("%s: no created-date filter", tc.list)
		}
		for _, q := range []struct {
			query      string
			hasOld, ok bool
		}{
			{"from=2020-01-15&to=2020-01-15", true, false},
			{"from=2020-01-01&to=2020-01-14", false, false},
			{"from=2020-01-16", false, true},
			{"from=nonsense&to=2020-13-45", true, true},
		} {
			r := c.Get(tc.list+"?"+q.query, "HX-Request", "true")
			if r.StatusCode != 200 || strings.Contains(r.Body, tc.oldRow) != q.hasOld || strings.Contains(r.Body, tc.newRow) != q.ok {
				t.Errorf("%s?%s: %d, old %v new %v\n%s", tc.list, q.query, r.StatusCode,
					strings.Contains(r.Body, tc.oldRow), strings.Contains(r.Body, tc.newRow), r.Body)
			}
		}
	}
	// The full page keeps the dates in the form, so the view is bookmarkable.
	if r := c.Get("/admin/licenses?from=2020-01-15&to=2020-01-16"); !strings.Contains(r.Body, `name="from" value="2020-01-15"`) ||
		!strings.Contains(r.Body, `name="to" value="2020-01-16"`) {
		t.Error("dates not kept in the form")
	}
}

func TestActivationsFilterByCustomer(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	c := e.SignIn(t)
	seedCustomer(t, e, "Ann Lee", "ann@example.org", "CUST-ANN", true)
	seedLicense(t, e, "ANN-1", "CUST-ANN", "")
	seedLicense(t, e, "ANN-2", "", "ann@example.org") // linked by email
	seedLicense(t, e, "BOB-3", "CUST-BOB", "")        // no account
	seedActivation(t, e, "ANN-1", "one.example.net", "", true, true, "")
	seedActivation(t, e, "ANN-2", "two.example.net", "", true, true, "")
	seedActivation(t, e, "BOB-3", "bob.example.net", "", true, true, "")
	for _, tc := range []struct {
		customer string
		want     []string
	}{
		{"ann@example.org", []string{"one.example.net", "two.example.net"}},
		{"cust-ann", []string{"one.example.net", "two.example.net"}},
		{"CUST-BOB", []string{"bob.example.net"}},
		{"nobody", nil},
	} {
		r := c.Get("/admin/activations?customer="+url.QueryEscape(tc.customer), "HX-Request", "true")
		for _, d := range []string{"one.example.net", "two.example.net", "bob.example.net"} {
			if strings.Contains(r.Body, d) != contains(tc.want, d) {
				t.Errorf("customer %q: %s listed %v\n%s", tc.customer, d, !contains(tc.want, d), r.Body)
			}
		}
	}
	if r := c.Get("/admin/activations?customer=nobody"); !strings.Contains(r.Body, `name="customer" value="nobody"`) {
		t.Error("customer filter not kept in the form")
	}
}

func TestAPIKeyListFiltersAndBulk(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	c := e.SignIn(t)
	shop := newAPIKey(t, e, "Shop client", apikeys.TypeExternal)
	erp := newAPIKey(t, e, "ERP server", apikeys.TypeInternal)
	gone := newAPIKey(t, e, "Old client", apikeys.TypeExternal)
	if _, _, err := apikeys.Revoke(context.Background(), e.DB.Bun, system, gone.ID, time.Now()); err != nil {
		t.Fatal(err)
	}
	has := func(body string, want ...string) {
		t.Helper()
		for _, name := range []string{"Shop client", "ERP server", "Old client"} {
			if strings.Contains(body, name) != contains(want, name) {
				t.Errorf("want only %v listed\n%s", want, body)
				return
			}
		}
	}
	r := c.Get("/admin/api-keys")
	if !strings.Contains(r.Body, `hx-trigger="input changed delay:300ms, search"`) || !strings.Contains(r.Body, `<code>…`+shop.KeyHint+`</code>`) ||
		!strings.Contains(r.Body, `name="ids" value="`+fmt.Sprint(shop.ID)+`"`) {
		t.Fatalf("list lacks search, copy or selection:\n%s", r.Body)
	}
	has(c.Get("/admin/api-keys?q=shop", "HX-Request", "true").Body, "Shop client")
	has(c.Get("/admin/api-keys?q="+url.QueryEscape(erp.KeyHint)).Body, "ERP server")
	has(c.Get("/admin/api-keys?type=internal").Body, "ERP server")
	has(c.Get("/admin/api-keys?status=revoked").Body, "Old client")
	has(c.Get("/admin/api-keys?status=active").Body, "Shop client", "ERP server")
	if r := c.Get("/admin/api-keys?q=zzz"); !strings.Contains(r.Body, "No API keys match") {
		t.Errorf("no filtered empty state:\n%s", r.Body)
	}
	if r := c.Get("/admin/api-keys?sort=-name"); strings.Index(r.Body, "Shop client") > strings.Index(r.Body, "ERP server") {
		t.Error("not sorted by name descending")
	}

	ids := url.Values{"ids": {fmt.Sprint(shop.ID), fmt.Sprint(erp.ID), "999999"}, "back": {"/admin/api-keys?status=revoked"}}
	r = c.PostForm("/admin/api-keys/bulk-revoke", ids)
	if r.StatusCode != 303 || r.Header.Get("Location") != "/admin/api-keys?status=revoked" {
		t.Fatalf("bulk revoke: %d %s", r.StatusCode, r.Header.Get("Location"))
	}
	r = c.Get("/admin/api-keys?status=revoked")
	if !strings.Contains(r.Body, "Revoked 2 API keys.") {
		t.Errorf("no flash:\n%s", r.Body)
	}
	has(r.Body, "Shop client", "ERP server", "Old client")
	c.PostForm("/admin/api-keys/bulk-delete", url.Values{"ids": {fmt.Sprint(shop.ID), fmt.Sprint(gone.ID)}})
	if n := countRows(t, e, "api_keys"); n != 1 {
		t.Errorf("keys after bulk delete: %d", n)
	}

	anon := e.Client(t)
	anon.GetCSRF("/admin/login")
	c.CSRF = ""
	for _, p := range []string{"/admin/api-keys/bulk-revoke", "/admin/api-keys/bulk-delete"} {
		if r := anon.PostForm(p, url.Values{"ids": {fmt.Sprint(erp.ID)}}); r.StatusCode != 302 {
			t.Errorf("anonymous POST %s: %d", p, r.StatusCode)
		}
		if r := c.PostForm(p, url.Values{"ids": {fmt.Sprint(erp.ID)}}); r.StatusCode != 403 {
			t.Errorf("POST %s without token: %d", p, r.StatusCode)
		}
	}
	if n := countRows(t, e, "api_keys"); n != 1 {
		t.Errorf("keys after refused requests: %d", n)
	}
}
