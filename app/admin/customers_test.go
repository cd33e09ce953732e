package admin_test

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/licensor/licensor/app/audit"
	"github.com/licensor/licensor/app/catalog"
	"github.com/licensor/licensor/app/customers"
	"github.com/licensor/licensor/app/fields"
	"github.com/licensor/licensor/app/licensing"
	"github.com/licensor/licensor/app/server/servertest"
	"github.com/licensor/licensor/app/settings"
)

// seedCustomer creates a customer directly (no hooks); confirmed false
// leaves the email unconfirmed.
func seedCustomer(t *testing.T, e *servertest.Env, name, email, clientID string, confirmed bool) *customers.Customer {
	t.Helper()
	cu, err := customers.NewService(nil, customers.Hooks{}).Create(context.Background(), e.DB.Bun, system, settings.Defaults(),
		// Unconfirmed: as a registration that was never confirmed, whose
		// email is unproven (docs/deploy.md#licenses-linked-by-email).
		customers.CreateParams{Name: name, Email: email, ClientID: clientID, Confirmed: &confirmed, SelfRegistered: !confirmed})
	if err != nil {
		t.Fatal(err)
	}
	return cu
}

// seedLicense creates a license of product ACME (made on first use) with
// the given customer_id and email ("" for none).
func seedLicense(t *testing.T, e *servertest.Env, code, customerID, email string) {
	t.Helper()
	ctx := context.Background()
	if ok, _ := e.DB.Bun.NewSelect().TableExpr("products").Where("reference_id = 'ACME'").Exists(ctx); !ok {
		if _, err := catalog.NewService(nil).CreateProduct(ctx, e.DB.Bun, system, settings.Defaults(),
			catalog.ProductInput{Name: fields.Some("Acme CMS"), ReferenceID: fields.Some("ACME")}); err != nil {
			t.Fatal(err)
		}
	}
	in := licensing.LicenseInput{ProductReferenceID: fields.Some("ACME"), LicenseCode: fields.Some(code)}
	if customerID != "" {
		in.CustomerID = fields.Some(&customerID)
	}
	if email != "" {
		in.Email = fields.Some(&email)
	}
	if _, err := licensing.NewService(licensing.Options{}).CreateLicense(ctx, e.DB.Bun, system, settings.Defaults(), in); err != nil {
		t.Fatal(err)
	}
}

func countRows(t *testing.T, e *servertest.Env, table string) int {
	t.Helper()
	n, err := e.DB.Bun.NewSelect().TableExpr(table).Count(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return int(n)
}

func TestCustomerList(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	c := e.SignIn(t)
	if r := c.Get("/admin/customers"); r.StatusCode != 200 || !strings.Contains(r.Body, "No customers yet") {
		t.Fatalf("empty list: %d\n%s", r.StatusCode, r.Body)
	}
	alice := seedCustomer(t, e, "Alice Brown", "alice@example.com", "CUST-ALICE", true)
	seedCustomer(t, e, "Bob Wilson", "bob@example.com", "CUST-BOB", false)
	seedCustomer(t, e, "Carol Smith", "carol@example.com", "CUST-CAROL", true)
	seedLicense(t, e, "L-1", "cust-alice", "")
	seedLicense(t, e, "L-2", "", "ALICE@example.com")

	r := c.Get("/admin/customers")
	if r.StatusCode != 200 || !strings.Contains(r.Body, `<span class="avatar" aria-hidden="true">AB</span>`) ||
		!strings.Contains(r.Body, `data-copy="CUST-ALICE"`) || !strings.Contains(r.Body, `href="/admin/customers" aria-current="page"`) ||
		!strings.Contains(r.Body, `hx-trigger="input changed delay:300ms, search"`) {
		t.Fatalf("list: %d\n%s", r.StatusCode, r.Body)
	}
	// Alice has two licenses (client ID, confirmed email).
	if !strings.Contains(r.Body, fmt.Sprintf(`<a href="/admin/customers/%d" class="truncate" title="Alice Brown">Alice Brown</a>`, alice.ID)) ||
		!strings.Contains(r.Body, `<td data-col="licenses" data-label="Licenses" class="num"><a href="/admin/licenses?customer=CUST-ALICE">2</a></td>`) {
		t.Errorf("license count missing:\n%s", r.Body)
	}

	names := func(body string, want ...string) {
		t.Helper()
		last := -1
		for _, n := range want {
			i := strings.Index(body, ">"+n+"</a>")
			if i < 0 || i < last {
				t.Errorf("want %v in order, got\n%s", want, body)
				return
			}
			last = i
		}
		for _, n := range []string{"Alice Brown", "Bob Wilson", "Carol Smith"} {
			if !contains(want, n) && strings.Contains(body, ">"+n+"</a>") {
				t.Errorf("%s should not be listed", n)
			}
		}
	}
	// Search as you type answers with the results alone.
	r = c.Get("/admin/customers?q=cust-b", "HX-Request", "true")
	if r.StatusCode != 200 || strings.Contains(r.Body, "<html") {
		t.Fatalf("htmx search: %d\n%s", r.StatusCode, r.Body)
	}
	names(r.Body, "Bob Wilson")
	names(c.Get("/admin/customers?q=CAROL@").Body, "Carol Smith")
	names(c.Get("/admin/customers?sort=name").Body, "Alice Brown", "Bob Wilson", "Carol Smith")
	r = c.Get("/admin/customers?sort=-name")
	names(r.Body, "Carol Smith", "Bob Wilson", "Alice Brown")
	if !strings.Contains(r.Body, `aria-sort="descending"`) || !strings.Contains(r.Body, `href="/admin/customers?sort=name"`) {
		t.Errorf("sorted heading does not offer the other direction")
	}
	names(c.Get("/admin/customers?confirmed=no").Body, "Bob Wilson")
	names(c.Get("/admin/customers?confirmed=yes&sort=email").Body, "Alice Brown", "Carol Smith")
	names(c.Get("/admin/customers?licenses=yes").Body, "Alice Brown")
	names(c.Get("/admin/customers?licenses=no&sort=name").Body, "Bob Wilson", "Carol Smith")
	r = c.Get("/admin/customers?q=nobody")
	if !strings.Contains(r.Body, "No customers match") {
		t.Errorf("filtered empty state missing")
	}
	// Sorting keeps the search and filters in the URL.
	r = c.Get("/admin/customers?q=example&confirmed=yes")
	if !strings.Contains(r.Body, `href="/admin/customers?confirmed=yes&amp;q=example&amp;sort=email"`) {
		t.Errorf("sort link loses the filters:\n%s", r.Body)
	}

	// Pagination: 25 a page, links keep the query.
	for i := range 25 {
		seedCustomer(t, e, fmt.Sprintf("Zed %02d", i), fmt.Sprintf("zed%02d@example.com", i), fmt.Sprintf("ZED-%04d", i), true)
	}
	r = c.Get("/admin/customers?sort=name&q=example")
	if !strings.Contains(r.Body, "Showing 1–25 of 28") || !strings.Contains(r.Body, `href="/admin/customers?page=2&amp;q=example&amp;sort=name"`) ||
		strings.Contains(r.Body, ">Zed 24</a>") {
		t.Fatalf("page 1:\n%s", r.Body)
	}
	r = c.Get("/admin/customers?sort=name&q=example&page=2")
	if !strings.Contains(r.Body, "Showing 26–28 of 28") || !strings.Contains(r.Body, ">Zed 22</a>") || strings.Contains(r.Body, ">Alice Brown</a>") {
		t.Fatalf("page 2:\n%s", r.Body)
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func TestCustomerCreate(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	c := e.SignIn(t)
	r := c.Get("/admin/customers/new")
	if r.StatusCode != 200 || !strings.Contains(r.Body, `name="client_id"`) {
		t.Fatalf("form: %d\n%s", r.StatusCode, r.Body)
	}
	if !strings.Contains(r.Body, `name="password_confirm"`) {
		t.Error("the new customer form does not ask for the password twice")
	}
	r = c.PostForm("/admin/customers", url.Values{"name": {"Jane Smith"}, "email": {"jane@example.com"}, "password": {"long enough secret"}, "password_confirm": {"long enough secret"}})
	if r.StatusCode != 303 || !strings.HasPrefix(r.Header.Get("Location"), "/admin/customers/") {
		t.Fatalf("create: %d %q\n%s", r.StatusCode, r.Header.Get("Location"), r.Body)
	}
	jane, err := customers.ByEmail(context.Background(), e.DB.Bun, "jane@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if len(jane.ClientID) != 36 || !jane.HasPassword() || !jane.Confirmed() {
		t.Errorf("created: %+v", jane)
	}
	r = c.Get(r.Header.Get("Location"))
	if !strings.Contains(r.Body, "Customer Jane Smith created.") || !strings.Contains(r.Body, jane.ClientID) {
		t.Errorf("detail after create:\n%s", r.Body)
	}
	// The welcome email is queued through outbound's hooks (on by default).
	if n := countRows(t, e, "mail_messages"); n != 1 {
		t.Errorf("welcome emails: %d", n)
	}

	for _, tc := range []struct {
		name  string
		form  url.Values
		field string
		msg   string
	}{
		{"name required", url.Values{"email": {"x1@example.com"}}, "name", "The name field is required."},
		{"name too short", url.Values{"name": {"X"}, "email": {"x2@example.com"}}, "name", "The name field must be at least 2 characters."},
		{"email required", url.Values{"name": {"Typed Name"}}, "email", "The email field is required."},
		{"email invalid", url.Values{"name": {"Typed Name"}, "email": {"not-an-email"}}, "email", "The email field must be a valid email address."},
		{"email taken in another case", url.Values{"name": {"Typed Name"}, "email": {"JANE@Example.com"}}, "email", "The email has already been taken."},
		{"client id too short", url.Values{"name": {"Typed Name"}, "email": {"x3@example.com"}, "client_id": {"abc"}}, "client_id", "The client id field must be at least 6 characters."},
		{"client id with space", url.Values{"name": {"Typed Name"}, "email": {"x4@example.com"}, "client_id": {"abc def"}}, "client_id", "The client id field format is invalid."},
		{"client id taken", url.Values{"name": {"Typed Name"}, "email": {"x5@example.com"}, "client_id": {strings.ToUpper(jane.ClientID)}}, "client_id", "The client id has already been taken."},
		{"password too short", url.Values{"name": {"Typed Name"}, "email": {"x6@example.com"}, "password": {"short"}, "password_confirm": {"short"}}, "password", "The password field must be at least"},
		{"passwords differ", url.Values{"name": {"Typed Name"}, "email": {"x7@example.com"}, "password": {"long enough secret"}, "password_confirm": {"long enough secreT"}}, "password_confirm", "The two passwords do not match."},
		{"passwords differ, other errors too", url.Values{"name": {"Typed Name"}, "email": {"bad"}, "password": {"long enough secret"}}, "email", "The email field must be a valid email address."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := c.PostForm("/admin/customers", tc.form)
			if r.StatusCode != 422 {
				t.Fatalf("status %d\n%s", r.StatusCode, r.Body)
			}
			want := fmt.Sprintf(`<small class="field-error" id="customer-%s-error">%s`, tc.field, tc.msg)
			if !strings.Contains(r.Body, want) || !strings.Contains(r.Body, fmt.Sprintf(`aria-describedby="customer-%s-error"`, tc.field)) {
				t.Fatalf("no %q next to the field:\n%s", want, r.Body)
			}
			for _, key := range []string{"name", "email", "client_id"} {
				if v := tc.form.Get(key); v != "" && !strings.Contains(r.Body, `value="`+v+`"`) {
					t.Errorf("typed %s %q not kept", key, v)
				}
			}
			if tc.form.Get("password") != "" && tc.form.Get("password_confirm") != tc.form.Get("password") && !strings.Contains(r.Body, "The two passwords do not match.") {
				t.Error("a second password that differs is not refused")
			}
			if pw := tc.form.Get("password"); pw != "" && strings.Contains(r.Body, `value="`+pw+`"`) {
				t.Error("the password is echoed back")
			}
		})
	}
	// htmx posts get the form alone.
	r = c.PostForm("/admin/customers", url.Values{"name": {"Typed Name"}}, "HX-Request", "true")
	if r.StatusCode != 422 || strings.Contains(r.Body, "<html") || !strings.Contains(r.Body, "The email field is required.") {
		t.Fatalf("htmx invalid: %d\n%s", r.StatusCode, r.Body)
	}
	r = c.PostForm("/admin/customers", url.Values{"name": {"Client Named"}, "email": {"named@example.com"}, "client_id": {"CUST-NAMED"}}, "HX-Request", "true")
	if r.StatusCode != 200 || !strings.HasPrefix(r.Header.Get("HX-Redirect"), "/admin/customers/") {
		t.Fatalf("htmx create: %d %q", r.StatusCode, r.Header.Get("HX-Redirect"))
	}
	if n := countRows(t, e, "customers"); n != 2 {
		t.Errorf("customers: %d, want 2", n)
	}
}

func TestCustomerDetailShowsLinkedLicenses(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	c := e.SignIn(t)
	ann := seedCustomer(t, e, "Ann Lee", "ann.lee@example.com", "CUST-ANN", true)
	ben := seedCustomer(t, e, "Ben Ray", "ben@example.com", "CUST-BEN", false)
	seedLicense(t, e, "BY-CLIENT-ID", "cust-ann", "other@example.com")
	seedLicense(t, e, "BY-EMAIL", "", "Ann.Lee@example.com")
	seedLicense(t, e, "OTHER-CUSTOMER", "CUST-X", "ann.lee@example.com")
	seedLicense(t, e, "BEN-BY-EMAIL", "", "ben@example.com")

	r := c.Get(fmt.Sprintf("/admin/customers/%d", ann.ID))
	if r.StatusCode != 200 || !strings.Contains(r.Body, "BY-CLIENT-ID") || !strings.Contains(r.Body, "BY-EMAIL") ||
		strings.Contains(r.Body, "OTHER-CUSTOMER") || !strings.Contains(r.Body, "Licenses (2)") {
		t.Fatalf("Ann's page: %d\n%s", r.StatusCode, r.Body)
	}
	if !strings.Contains(r.Body, "Activation history") || !strings.Contains(r.Body, "Customer activity") ||
		!strings.Contains(r.Body, "Their licenses are kept") {
		t.Errorf("sections or delete warning missing")
	}
	// An unproven email links nothing.
	r = c.Get(fmt.Sprintf("/admin/customers/%d", ben.ID))
	if r.StatusCode != 200 || strings.Contains(r.Body, "BEN-BY-EMAIL") || !strings.Contains(r.Body, "Licenses (0)") {
		t.Fatalf("Ben's page: %d\n%s", r.StatusCode, r.Body)
	}
	for _, p := range []string{"/admin/customers/999999", "/admin/customers/abc", "/admin/customers/999999/edit"} {
		if r := c.Get(p); r.StatusCode != 404 {
			t.Errorf("GET %s: %d", p, r.StatusCode)
		}
	}
}

func TestCustomerEdit(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	c := e.SignIn(t)
	cu := seedCustomer(t, e, "Ann Lee", "ann@example.org", "CUST-OLD", true)
	seedLicense(t, e, "OLD-1", "CUST-OLD", "")
	seedLicense(t, e, "NEW-1", "CUST-NEW", "")
	seedLicense(t, e, "NEW-2", "cust-new", "")
	hash := func() string {
		got, err := customers.Get(context.Background(), e.DB.Bun, cu.ID)
		if err != nil {
			t.Fatal(err)
		}
		return *got.PasswordHash
	}
	// Seeded without a password; give one.
	edit := fmt.Sprintf("/admin/customers/%d/edit", cu.ID)
	r := c.Get(edit)
	if r.StatusCode != 200 || !strings.Contains(r.Body, `value="CUST-OLD"`) || !strings.Contains(r.Body, "1 license is linked to this customer now.") {
		t.Fatalf("edit form: %d\n%s", r.StatusCode, r.Body)
	}
	r = c.PostForm(edit, url.Values{"name": {"Ann Lee-Ray"}, "email": {"ann@example.org"}, "client_id": {"CUST-NEW"}, "password": {"a new long password"}, "confirmed": {"1"}})
	if r.StatusCode != 303 || r.Header.Get("Location") != fmt.Sprintf("/admin/customers/%d", cu.ID) {
		t.Fatalf("update: %d\n%s", r.StatusCode, r.Body)
	}
	r = c.Get(r.Header.Get("Location"))
	if !strings.Contains(r.Body, "Customer Ann Lee-Ray saved. 2 licenses linked now.") || !strings.Contains(r.Body, "NEW-2") || strings.Contains(r.Body, "OLD-1") {
		t.Fatalf("after relink:\n%s", r.Body)
	}
	before := hash()
	// An empty password keeps the current one.
	r = c.PostForm(edit, url.Values{"name": {"Ann Lee-Ray"}, "email": {"ann@example.org"}, "client_id": {"CUST-NEW"}, "password": {""}, "confirmed": {"1"}})
	if r.StatusCode != 303 || hash() != before {
		t.Fatalf("empty password changed the hash (%d)", r.StatusCode)
	}
	// Invalid: message next to the field, typed values kept.
	r = c.PostForm(edit, url.Values{"name": {"Ann Typed"}, "email": {"bad"}, "client_id": {""}})
	if r.StatusCode != 422 || !strings.Contains(r.Body, "The email field must be a valid email address.") ||
		!strings.Contains(r.Body, "The client id field is required.") || !strings.Contains(r.Body, `value="Ann Typed"`) {
		t.Fatalf("invalid update: %d\n%s", r.StatusCode, r.Body)
	}
}

func TestCustomerDeleteKeepsLicenses(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	c := e.SignIn(t)
	a := seedCustomer(t, e, "Ann Lee", "ann@example.org", "CUST-ANN", true)
	b := seedCustomer(t, e, "Ben Ray", "ben@example.org", "CUST-BEN", true)
	d := seedCustomer(t, e, "Dee Moe", "dee@example.org", "CUST-DEE", true)
	keep := seedCustomer(t, e, "Kim Kept", "kim@example.org", "CUST-KIM", true)
	seedLicense(t, e, "A-1", "CUST-ANN", "")
	seedLicense(t, e, "B-1", "CUST-BEN", "")

	c.Get("/admin/customers")
	r := c.PostForm(fmt.Sprintf("/admin/customers/%d/delete", a.ID), nil)
	if r.StatusCode != 303 || r.Header.Get("Location") != "/admin/customers" {
		t.Fatalf("delete: %d\n%s", r.StatusCode, r.Body)
	}
	if r := c.Get("/admin/customers"); !strings.Contains(r.Body, "Customer Ann Lee deleted. Their licenses are kept.") {
		t.Errorf("no flash:\n%s", r.Body)
	}
	if r := c.PostForm(fmt.Sprintf("/admin/customers/%d/delete", a.ID), nil); r.StatusCode != 404 {
		t.Errorf("delete again: %d", r.StatusCode)
	}

	r = c.PostForm("/admin/customers/bulk-delete", url.Values{"ids": {fmt.Sprint(b.ID), fmt.Sprint(d.ID)}, "back": {"/admin/customers?q=example"}})
	if r.StatusCode != 303 || r.Header.Get("Location") != "/admin/customers?q=example" {
		t.Fatalf("bulk delete: %d %q\n%s", r.StatusCode, r.Header.Get("Location"), r.Body)
	}
	r = c.Get("/admin/customers?q=example")
	if !strings.Contains(r.Body, "Deleted 2 customers. Their licenses are kept.") || !strings.Contains(r.Body, "Kim Kept") {
		t.Errorf("after bulk delete:\n%s", r.Body)
	}
	if n := countRows(t, e, "customers"); n != 1 {
		t.Errorf("customers left: %d", n)
	}
	if _, err := customers.Get(context.Background(), e.DB.Bun, keep.ID); err != nil {
		t.Errorf("unselected customer: %v", err)
	}
	if n := countRows(t, e, "licenses"); n != 2 {
		t.Errorf("licenses left: %d, want 2", n)
	}
	// An outside "back" is not followed.
	r = c.PostForm("/admin/customers/bulk-delete", url.Values{"ids": {fmt.Sprint(keep.ID)}, "back": {"https://evil.example/"}})
	if r.Header.Get("Location") != "/admin/customers" {
		t.Errorf("back to %q", r.Header.Get("Location"))
	}
}

func TestCustomerPagesNeedAdminAndCSRF(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	cu := seedCustomer(t, e, "Ann Lee", "ann@example.org", "CUST-ANN", true)
	anon := e.Client(t)
	for _, p := range []string{"/admin/customers", "/admin/customers/new", fmt.Sprintf("/admin/customers/%d", cu.ID), fmt.Sprintf("/admin/customers/%d/edit", cu.ID)} {
		if r := anon.Get(p); r.StatusCode != 302 || !strings.HasPrefix(r.Header.Get("Location"), "/admin/login?next=") {
			t.Errorf("anonymous GET %s: %d %q", p, r.StatusCode, r.Header.Get("Location"))
		}
	}
	anon.GetCSRF("/admin/login")
	for _, p := range []string{"/admin/customers", "/admin/customers/bulk-delete", fmt.Sprintf("/admin/customers/%d/delete", cu.ID)} {
		if r := anon.PostForm(p, url.Values{"ids": {fmt.Sprint(cu.ID)}, "name": {"X Y"}, "email": {"x@example.org"}}); r.StatusCode != 302 {
			t.Errorf("anonymous POST %s: %d", p, r.StatusCode)
		}
	}

	c := e.SignIn(t)
	c.CSRF = ""
	for _, p := range []string{"/admin/customers", "/admin/customers/bulk-delete", fmt.Sprintf("/admin/customers/%d/delete", cu.ID), fmt.Sprintf("/admin/customers/%d/edit", cu.ID)} {
		if r := c.PostForm(p, url.Values{"ids": {fmt.Sprint(cu.ID)}, "name": {"X Y"}, "email": {"x@example.org"}}); r.StatusCode != 403 {
			t.Errorf("POST %s without token: %d, want 403", p, r.StatusCode)
		}
	}
	if n := countRows(t, e, "customers"); n != 1 {
		t.Errorf("customers: %d, want 1", n)
	}
}

func TestCustomerDetailShowsActivationsAndActivity(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	c := e.SignIn(t)
	ctx := context.Background()
	cu := seedCustomer(t, e, "Ann Lee", "ann@example.org", "CUST-ANN", true)
	seedLicense(t, e, "ANN-1", "CUST-ANN", "")
	seedLicense(t, e, "SOMEONE-ELSE", "CUST-ZZZ", "")
	for _, code := range []string{"ANN-1", "SOMEONE-ELSE"} {
		if _, err := e.DB.Bun.ExecContext(ctx, `INSERT INTO activations (product_id, license_id, license_code, domain, ip, is_valid, is_active)
			SELECT product_id, id, license_code, lower(license_code) || '.example.net', '203.0.113.9', true, true FROM licenses WHERE license_code = ?`, code); err != nil {
			t.Fatal(err)
		}
	}
	if err := audit.RecordCustomer(ctx, e.DB.Bun, audit.CustomerActivity{CustomerID: cu.ID, Type: audit.CustomerLogin}); err != nil {
		t.Fatal(err)
	}
	r := c.Get(fmt.Sprintf("/admin/customers/%d", cu.ID))
	if r.StatusCode != 200 || !strings.Contains(r.Body, "Activation history (1)") || !strings.Contains(r.Body, "ann-1.example.net") ||
		strings.Contains(r.Body, "someone-else.example.net") || !strings.Contains(r.Body, "<td>login</td>") {
		t.Fatalf("detail: %d\n%s", r.StatusCode, r.Body)
	}
}

// The customer page and list show the customer's picture when there is
// one (served to admins at /admin/customers/{id}/avatar), else initials.
func TestCustomerAvatarInConsole(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	c := e.SignIn(t)
	ann := seedCustomer(t, e, "Ann Lee", "ann.lee@example.com", "CUST-ANN", true)
	img := fmt.Sprintf(`src="/admin/customers/%d/avatar"`, ann.ID)
	for _, p := range []string{fmt.Sprintf("/admin/customers/%d", ann.ID), "/admin/customers"} {
		if r := c.Get(p); r.StatusCode != 200 || strings.Contains(r.Body, img) || !strings.Contains(r.Body, `<span class="avatar" aria-hidden="true">AL</span>`) {
			t.Errorf("%s without a picture: %d, want initials", p, r.StatusCode)
		}
	}
	if _, err := e.DB.Bun.NewRaw("UPDATE customers SET avatar_path = 'avatars/x.png' WHERE id = ?", ann.ID).Exec(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{fmt.Sprintf("/admin/customers/%d", ann.ID), "/admin/customers"} {
		if r := c.Get(p); r.StatusCode != 200 || !strings.Contains(r.Body, img) {
			t.Errorf("%s with a picture: %d, want the image", p, r.StatusCode)
		}
	}
}

// Changing a client ID says first what it does to the linked licenses,
// and can move the licenses of the old ID to the new one.
func TestCustomerClientIDChangePreviewAndMove(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	c := e.SignIn(t)
	cu := seedCustomer(t, e, "Ann Lee", "ann@example.org", "CUST-OLD", true)
	seedLicense(t, e, "OLD-1", "CUST-OLD", "")
	seedLicense(t, e, "OLD-2", "cust-old", "")
	seedLicense(t, e, "NEW-1", "CUST-NEW", "")
	seedLicense(t, e, "BY-EMAIL", "", "ann@example.org")
	impact := fmt.Sprintf("/admin/customers/%d/client-id-impact", cu.ID)
	edit := fmt.Sprintf("/admin/customers/%d/edit", cu.ID)

	if r := c.Get(edit); !strings.Contains(r.Body, `hx-get="`+impact+`"`) || !strings.Contains(r.Body, `id="client-id-impact"`) {
		t.Fatalf("the edit form does not ask for the impact:\n%s", r.Body)
	}
	r := c.Get(impact+"?client_id=CUST-NEW", "HX-Request", "true")
	if r.StatusCode != 200 || !strings.Contains(r.Body, `data-unlinked="2"`) || !strings.Contains(r.Body, `data-relinked="1"`) ||
		!strings.Contains(r.Body, `name="move_licenses"`) {
		t.Fatalf("impact of CUST-NEW: %d\n%s", r.StatusCode, r.Body)
	}
	for _, same := range []string{"CUST-OLD", "cust-old", ""} {
		if r := c.Get(impact+"?client_id="+same, "HX-Request", "true"); strings.Contains(r.Body, "data-client-id-impact") {
			t.Errorf("client ID %q is no change, yet the form warns:\n%s", same, r.Body)
		}
	}
	if n := countRows(t, e, "licenses WHERE customer_id = 'CUST-NEW'"); n != 1 {
		t.Fatalf("the preview changed licenses: %d name CUST-NEW", n)
	}

	// Saved with "move": the old ID's licenses follow to the new one.
	r = c.PostForm(edit, url.Values{"name": {"Ann Lee"}, "email": {"ann@example.org"}, "client_id": {"CUST-NEW"}, "confirmed": {"1"}, "move_licenses": {"1"}})
	if r.StatusCode != 303 {
		t.Fatalf("update: %d\n%s", r.StatusCode, r.Body)
	}
	if r := c.Get(r.Header.Get("Location")); !strings.Contains(r.Body, "4 licenses linked now.") {
		t.Errorf("after moving:\n%s", r.Body)
	}
	if n := countRows(t, e, "licenses WHERE customer_id = 'CUST-NEW'"); n != 3 {
		t.Errorf("licenses naming CUST-NEW after the move: %d, want 3", n)
	}
	if n := countRows(t, e, "activity_log WHERE message LIKE '2 license(s) of client ID CUST-OLD moved%'"); n != 1 {
		t.Errorf("activity lines of the move: %d", n)
	}

	// Saved without "move": the new ID's licenses only.
	r = c.PostForm(edit, url.Values{"name": {"Ann Lee"}, "email": {"ann@example.org"}, "client_id": {"CUST-THIRD"}, "confirmed": {"1"}})
	if r.StatusCode != 303 {
		t.Fatalf("update: %d\n%s", r.StatusCode, r.Body)
	}
	if n := countRows(t, e, "licenses WHERE customer_id = 'CUST-NEW'"); n != 3 {
		t.Errorf("licenses moved without being asked: %d still name CUST-NEW, want 3", n)
	}
	if r := c.Get(fmt.Sprintf("/admin/customers/%d", cu.ID)); !strings.Contains(r.Body, "Licenses (1)") {
		t.Errorf("after a change without moving, the customer keeps only the email-linked license")
	}
}
