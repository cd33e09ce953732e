package portal_test

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/licensor/licensor/app/audit"
	"github.com/licensor/licensor/app/catalog"
	"github.com/licensor/licensor/app/customers"
	"github.com/licensor/licensor/app/fields"
	"github.com/licensor/licensor/app/licensing"
	"github.com/licensor/licensor/app/server/servertest"
	"github.com/licensor/licensor/app/signing"
	"github.com/licensor/licensor/app/web/webtest"
)

// shop is a product with licenses for two customers.
type shop struct {
	e                *servertest.Env
	product          *catalog.Product
	cora, otto       *customers.Customer
	coraLic, ottoLic *licensing.License
	coraAct, ottoAct int64
}

func newShop(t *testing.T) *shop {
	t.Helper()
	return newShopOn(t, servertest.New(t))
}

// newShopOn is newShop on the node(s) of e.
func newShopOn(t *testing.T, e *servertest.Env) *shop {
	t.Helper()
	ctx := context.Background()
	set, err := e.Nodes[0].Settings.Get(ctx)
	if err != nil {
		t.Fatal(err)
	}
	s := &shop{e: e}
	s.cora = newCustomer(t, e, "cora@example.com", true)
	s.otto = newCustomer(t, e, "otto@example.com", true)
	by := audit.Source{Actor: audit.System}
	s.product, err = catalog.NewService(time.Now).CreateProduct(ctx, e.DB.Bun, by, set, catalog.ProductInput{
		Name: fields.Some("Widget Pro"), ReferenceID: fields.Some("WIDGETPRO"),
	})
	if err != nil {
		t.Fatal(err)
	}
	lic := func(code string, cu *customers.Customer) *licensing.License {
		two, exp := 2, time.Now().AddDate(1, 0, 0)
		l, err := licensing.NewService(licensing.Options{}).CreateLicense(ctx, e.DB.Bun, by, set, licensing.LicenseInput{
			ProductReferenceID: fields.Some(s.product.ReferenceID), LicenseCode: fields.Some(code),
			Email: fields.Some(&cu.Email), ParallelUses: fields.Some(&two), ExpiresAt: fields.Some(&exp),
		})
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	s.coraLic = lic("CORA-1111-2222-3333-4444", s.cora)
	s.ottoLic = lic("OTTO-5555-6666-7777-8888", s.otto)
	act := func(l *licensing.License, domain string) int64 {
		var id int64
		err := e.DB.Bun.NewRaw(`INSERT INTO activations (license_id, product_id, license_code, domain, ip, is_valid, is_active)
			VALUES (?, ?, ?, ?, '203.0.113.7', true, true) RETURNING id`, l.ID, s.product.ID, l.LicenseCode, domain).Scan(ctx, &id)
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	s.coraAct = act(s.coraLic, "cora.example.com")
	s.ottoAct = act(s.ottoLic, "otto.example.com")
	return s
}

func TestLicensePages(t *testing.T) {
	t.Parallel()
	s := newShop(t)
	c := mustSignIn(t, s.e, "cora@example.com")

	r := c.Get("/customer/product-licenses")
	if r.StatusCode != 200 || !strings.Contains(r.Body, "Widget Pro") || !strings.Contains(r.Body, "CORA••••••••4444") ||
		!strings.Contains(r.Body, "1 of 2") || strings.Contains(r.Body, "OTTO") || !strings.Contains(r.Body, `data-copy-url="/customer/product-licenses/`) {
		t.Fatalf("licenses page: %d\n%s", r.StatusCode, r.Body)
	}
	if strings.Contains(r.Body, "CORA-1111-2222-3333-4444") {
		t.Error("list shows the full code")
	}
	if !strings.Contains(r.Body, `href="/customer/product-licenses"`) || !strings.Contains(r.Body, `href="/customer/settings"`) {
		t.Error("nav links missing")
	}

	own := fmt.Sprintf("/customer/product-licenses/%d", s.coraLic.ID)
	other := fmt.Sprintf("/customer/product-licenses/%d", s.ottoLic.ID)
	r = c.Get(own)
	if r.StatusCode != 200 || !strings.Contains(r.Body, "cora.example.com") || !strings.Contains(r.Body, own+"/file") ||
		!strings.Contains(r.Body, "Uses left") {
		t.Fatalf("license page: %d\n%s", r.StatusCode, r.Body)
	}
	r = c.Get(own+"/code", "HX-Request", "true")
	if r.StatusCode != 200 || !strings.Contains(r.Body, "CORA-1111-2222-3333-4444") || strings.Contains(r.Body, "<html") {
		t.Errorf("reveal: %d\n%s", r.StatusCode, r.Body)
	}
	for _, p := range []string{other, other + "/code", other + "/file", other + "/download", "/customer/product-licenses/999999", "/customer/product-licenses/x"} {
		if r := c.Get(p); r.StatusCode != 404 {
			t.Errorf("GET %s as another customer: %d", p, r.StatusCode)
		}
	}

	anon := s.e.Client(t)
	for _, p := range []string{"/customer/product-licenses", own, own + "/file", "/customer/product-activations", "/customer/settings"} {
		r := anon.Get(p)
		if r.StatusCode != 302 || !strings.HasPrefix(r.Header.Get("Location"), "/customer/login?next=") {
			t.Errorf("anonymous GET %s: %d %q", p, r.StatusCode, r.Header.Get("Location"))
		}
	}

	s.e.SetSettings(t, map[string]string{"customer_page_licenses": "false"})
	for _, p := range []string{"/customer/product-licenses", own, own + "/file"} {
		if r := c.Get(p); r.StatusCode != 404 {
			t.Errorf("GET %s with the licenses page off: %d", p, r.StatusCode)
		}
	}
	if r := c.Get("/customer/dashboard"); strings.Contains(r.Body, `href="/customer/product-licenses"`) {
		t.Error("nav links to licenses while the page is off")
	}
}

func TestLicenseFileDownload(t *testing.T) {
	t.Parallel()
	s := newShop(t)
	c := mustSignIn(t, s.e, "cora@example.com")
	r := c.Get(fmt.Sprintf("/customer/product-licenses/%d/file", s.coraLic.ID))
	if r.StatusCode != 200 {
		t.Fatalf("download: %d\n%s", r.StatusCode, r.Body)
	}
	want := `attachment; filename="WIDGETPRO_CORA-1111-2222-3333-4444.lic"`
	if got := r.Header.Get("Content-Disposition"); got != want {
		t.Errorf("Content-Disposition %q, want %q", got, want)
	}
	// Verify with the published public keys, as client software would.
	pub := s.e.Client(t).Get("/api/external/public-keys")
	var keys signing.PublicKeysJSON
	if err := json.Unmarshal([]byte(pub.Body), &keys); err != nil || len(keys.Data) == 0 {
		t.Fatalf("public keys: %v\n%s", err, pub.Body)
	}
	lookup := func(kid string) (ed25519.PublicKey, bool) {
		for _, k := range keys.Data {
			if k.KID == kid {
				b, err := base64.StdEncoding.DecodeString(k.PublicKey)
				return ed25519.PublicKey(b), err == nil
			}
		}
		return nil, false
	}
	lf, err := signing.VerifyLicenseFile([]byte(r.Body), lookup)
	if err != nil {
		t.Fatalf("verify license file: %v\n%s", err, r.Body)
	}
	if lf.LicenseCode != "CORA-1111-2222-3333-4444" || lf.ProductRef != "WIDGETPRO" || lf.ClientID == nil || *lf.ClientID != s.cora.ClientID {
		t.Errorf("license file: %+v", lf)
	}
}

func activeActivations(t *testing.T, s *shop, id int64) int {
	return countRows(t, s.e, "SELECT count(*) FROM activations WHERE license_id = ? AND is_active", id)
}

func TestActivationsPageAndDeactivate(t *testing.T) {
	t.Parallel()
	s := newShop(t)
	s.e.SetSettings(t, map[string]string{"allow_customer_deactivation": "false"})
	c := mustSignIn(t, s.e, "cora@example.com")

	r := c.Get("/customer/product-activations")
	if r.StatusCode != 200 || !strings.Contains(r.Body, "cora.example.com") || !strings.Contains(r.Body, "203.0.113.7") ||
		strings.Contains(r.Body, "otto.example.com") || strings.Contains(r.Body, "/deactivate") {
		t.Fatalf("activations page (deactivation off): %d\n%s", r.StatusCode, r.Body)
	}
	deact := func(id int64, csrf string) *webtest.Response {
		return c.PostForm(fmt.Sprintf("/customer/product-activations/%d/deactivate", id), url.Values{"_csrf": {csrf}})
	}
	token := c.GetCSRF("/customer/product-activations")
	if r := deact(s.coraAct, token); r.StatusCode != 403 {
		t.Errorf("deactivate with the setting off: %d", r.StatusCode)
	}

	s.e.SetSettings(t, map[string]string{"allow_customer_deactivation": "true"})
	r = c.Get("/customer/product-activations")
	action := fmt.Sprintf(`formaction="/customer/product-activations/%d/deactivate?next=/customer/product-activations"`, s.coraAct)
	if !strings.Contains(r.Body, action) || !strings.Contains(r.Body, "data-confirm=") {
		t.Fatalf("no deactivate button:\n%s", r.Body)
	}
	if r := deact(s.ottoAct, token); r.StatusCode != 404 {
		t.Errorf("deactivate another customer's activation: %d", r.StatusCode)
	}
	if r := deact(s.coraAct, "forged"); r.StatusCode != 403 {
		t.Errorf("forged CSRF: %d", r.StatusCode)
	}
	if n := activeActivations(t, s, s.coraLic.ID); n != 1 {
		t.Fatalf("active before: %d", n)
	}
	r = deact(s.coraAct, token)
	if r.StatusCode != 303 || r.Header.Get("Location") != "/customer/product-activations" {
		t.Fatalf("deactivate: %d %q\n%s", r.StatusCode, r.Header.Get("Location"), r.Body)
	}
	if n := activeActivations(t, s, s.coraLic.ID); n != 0 {
		t.Errorf("slot not freed: %d active", n)
	}
	if n := countRows(t, s.e, "SELECT count(*) FROM activations WHERE id = ? AND deactivation_reason = 'customer'", s.coraAct); n != 1 {
		t.Error("deactivation reason is not customer")
	}
	if n := activeActivations(t, s, s.ottoLic.ID); n != 1 {
		t.Error("other customer's activation changed")
	}
	if r := c.Get(fmt.Sprintf("/customer/product-licenses/%d", s.coraLic.ID)); !strings.Contains(r.Body, "0 of 2") {
		t.Errorf("license page after deactivation:\n%s", r.Body)
	}

	// The spec's DELETE route (htmx sends the token in X-CSRF-Token).
	req, _ := http.NewRequest(http.MethodDelete, fmt.Sprintf("/customer/activated-product-activations/%d", s.ottoAct), nil)
	req.Header.Set("X-CSRF-Token", token)
	if r := c.Do(req); r.StatusCode != 404 {
		t.Errorf("DELETE another customer's activation: %d", r.StatusCode)
	}

	s.e.SetSettings(t, map[string]string{"customer_page_activations": "false"})
	if r := c.Get("/customer/product-activations"); r.StatusCode != 404 {
		t.Errorf("activations page off: %d", r.StatusCode)
	}
	if r := c.Get("/customer/dashboard"); strings.Contains(r.Body, `href="/customer/product-activations"`) {
		t.Error("nav links to activations while the page is off")
	}
}

func TestSettingsPage(t *testing.T) {
	t.Parallel()
	s := newShop(t)
	other := mustSignIn(t, s.e, "cora@example.com")
	c := mustSignIn(t, s.e, "cora@example.com")
	r := c.Get("/customer/settings")
	if r.StatusCode != 200 || !strings.Contains(r.Body, "Recent sign-ins") || !strings.Contains(r.Body, "Signed in") {
		t.Fatalf("settings: %d\n%s", r.StatusCode, r.Body)
	}
	token := c.GetCSRF("/customer/settings")
	if r := c.PostForm("/customer/settings/profile", url.Values{"_csrf": {"forged"}, "name": {"X"}}); r.StatusCode != 403 {
		t.Errorf("forged CSRF on profile: %d", r.StatusCode)
	}
	if r := c.PostForm("/customer/settings/profile", url.Values{"_csrf": {token}, "name": {""}}); r.StatusCode != 422 {
		t.Errorf("empty name: %d", r.StatusCode)
	}
	if r := c.PostForm("/customer/settings/profile", url.Values{"_csrf": {token}, "name": {"Cora Renamed"}}); r.StatusCode != 303 {
		t.Fatalf("rename: %d\n%s", r.StatusCode, r.Body)
	}
	if cu, _ := customers.Get(context.Background(), s.e.DB.Bun, s.cora.ID); cu.Name != "Cora Renamed" {
		t.Errorf("name %q", cu.Name)
	}

	newPw := "another long passphrase here"
	form := func(current, pw, confirm string) url.Values {
		return url.Values{"_csrf": {token}, "current_password": {current}, "password": {pw}, "password_confirmation": {confirm}}
	}
	if r := c.PostForm("/customer/settings/password", form("wrong password!!", newPw, newPw)); r.StatusCode != 422 || !strings.Contains(r.Body, "current password is not correct") {
		t.Errorf("wrong current password: %d\n%s", r.StatusCode, r.Body)
	}
	if r := c.PostForm("/customer/settings/password", form("", newPw, newPw)); r.StatusCode != 422 {
		t.Errorf("no current password: %d", r.StatusCode)
	}
	if r := c.PostForm("/customer/settings/password", form(password, newPw, "mismatch")); r.StatusCode != 422 {
		t.Errorf("mismatched confirmation: %d", r.StatusCode)
	}
	if r := c.PostForm("/customer/settings/password", url.Values{"_csrf": {"forged"}, "current_password": {password}, "password": {newPw}, "password_confirmation": {newPw}}); r.StatusCode != 403 {
		t.Errorf("forged CSRF on password: %d", r.StatusCode)
	}
	r = c.PostForm("/customer/settings/password", form(password, newPw, newPw))
	if r.StatusCode != 303 || r.Header.Get("Location") != "/customer/settings" {
		t.Fatalf("change password: %d %q\n%s", r.StatusCode, r.Header.Get("Location"), r.Body)
	}
	if r := c.Get("/customer/settings"); r.StatusCode != 200 {
		t.Errorf("this session signed out after the change: %d", r.StatusCode)
	}
	if r := other.Get("/customer/dashboard"); r.StatusCode != 302 {
		t.Errorf("other session still signed in: %d", r.StatusCode)
	}
	if r := signIn(s.e.Client(t), "cora@example.com", newPw); r.StatusCode != 303 {
		t.Errorf("sign in with the new password: %d", r.StatusCode)
	}
}

// An expired license in its product's grace period says so and until when
// (docs/api/external.md#grace-period); past it, nothing is said. The page
// lists the license's entitlements (docs/licensing.md#entitlements).
func TestLicensePageGracePeriod(t *testing.T) {
	t.Parallel()
	s := newShop(t)
	c := mustSignIn(t, s.e, "cora@example.com")
	own := fmt.Sprintf("/customer/product-licenses/%d", s.coraLic.ID)
	if r := c.Get(own); strings.Contains(r.Body, `id="license-grace"`) {
		t.Fatal("a valid license shows a grace period")
	}
	ctx := context.Background()
	if _, err := s.e.DB.Bun.ExecContext(ctx, "UPDATE products SET grace_days = 7, entitlements = '{pro,sso}' WHERE id = ?", s.product.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.e.DB.Bun.ExecContext(ctx, "UPDATE licenses SET entitlements = '{pro,sso}' WHERE id = ?", s.coraLic.ID); err != nil {
		t.Fatal(err)
	}
	var until time.Time
	if err := s.e.DB.Bun.NewRaw("UPDATE licenses SET expires_at = now() - interval '2 days' WHERE id = ? RETURNING expires_at + interval '7 days'", s.coraLic.ID).
		Scan(ctx, &until); err != nil {
		t.Fatal(err)
	}
	r := c.Get(own)
	if !strings.Contains(r.Body, `id="license-grace"`) || !strings.Contains(r.Body, "in grace</span> until "+until.UTC().Format("2006-01-02")) ||
		!strings.Contains(r.Body, `<dd id="license-entitlements"><code>pro</code> <code>sso</code></dd>`) {
		t.Fatalf("license page in grace:\n%s", r.Body)
	}
	if _, err := s.e.DB.Bun.ExecContext(ctx, "UPDATE licenses SET expires_at = now() - interval '8 days' WHERE id = ?", s.coraLic.ID); err != nil {
		t.Fatal(err)
	}
	if r := c.Get(own); strings.Contains(r.Body, `id="license-grace"`) {
		t.Fatal("a license past its grace period shows one")
	}
}

// The portal's error pages are the portal's: its style, a way back to the
// customer's account, never a word of the console. Sign-in history names
// devices instead of printing user agents.
func TestPortalNotFoundAndDevices(t *testing.T) {
	t.Parallel()
	s := newShop(t)
	c := mustSignIn(t, s.e, "cora@example.com")
	for _, path := range []string{"/customer/product-licenses/999999", "/customer/no-such-page"} {
		r := c.Get(path)
		if r.StatusCode != 404 {
			t.Errorf("GET %s: %d", path, r.StatusCode)
		}
		if strings.Contains(strings.ToLower(r.Body), "the console") || strings.Contains(r.Body, `href="/admin`) {
			t.Errorf("the portal's 404 at %s mentions the console:\n%s", path, r.Body)
		}
		if !strings.Contains(r.Body, `href="/customer/dashboard" role="button">Go to your account`) {
			t.Errorf("the portal's 404 at %s has no way back:\n%s", path, r.Body)
		}
	}
	if r := s.e.Client(t).Get("/no-such-page"); r.StatusCode != 404 || strings.Contains(strings.ToLower(r.Body), "the console") || strings.Contains(r.Body, `href="/admin`) {
		t.Errorf("a stray 404 mentions the console: %d", r.StatusCode)
	}
	r := c.Get("/customer/settings")
	if strings.Contains(r.Body, "Go-http-client") || !strings.Contains(r.Body, "<th>Device</th>") {
		t.Errorf("sign-in history prints raw user agents:\n%s", r.Body)
	}
}

// The license page says when the expiry clock starts and whether it has
// (docs/licensing.md#expiry-clock); a license without one says nothing.
func TestLicensePageExpiryClock(t *testing.T) {
	t.Parallel()
	s := newShop(t)
	c := mustSignIn(t, s.e, "cora@example.com")
	own := fmt.Sprintf("/customer/product-licenses/%d", s.coraLic.ID)
	ctx := context.Background()
	if _, err := s.e.DB.Bun.ExecContext(ctx, "UPDATE licenses SET expires_at = NULL, expiry_days = 30, expiry_start = 'first_verify' WHERE id = ?", s.coraLic.ID); err != nil {
		t.Fatal(err)
	}
	r := c.Get(own)
	if !strings.Contains(r.Body, `<dd id="license-expiry-clock">30 days, starting at the first verify (not started yet)</dd>`) ||
		!strings.Contains(r.Body, "<dd>30 days after the clock starts</dd>") {
		t.Fatalf("waiting clock:\n%s", r.Body)
	}
	var started time.Time
	if err := s.e.DB.Bun.NewRaw("UPDATE licenses SET expiry_started_at = now(), expires_at = now() + interval '30 days' WHERE id = ? RETURNING expiry_started_at", s.coraLic.ID).
		Scan(ctx, &started); err != nil {
		t.Fatal(err)
	}
	if r := c.Get(own); !strings.Contains(r.Body, `<dd id="license-expiry-clock">30 days, started at the first verify on `+started.UTC().Format("2006-01-02")) {
		t.Fatalf("started clock:\n%s", r.Body)
	}
	if _, err := s.e.DB.Bun.ExecContext(ctx, "UPDATE licenses SET expiry_days = NULL WHERE id = ?", s.coraLic.ID); err != nil {
		t.Fatal(err)
	}
	if r := c.Get(own); strings.Contains(r.Body, `id="license-expiry-clock"`) {
		t.Fatal("a license without an expiry clock shows one")
	}
}
