package server_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/licensor/licensor/app/apikeys"
	"github.com/licensor/licensor/app/audit"
	"github.com/licensor/licensor/app/customers"
	"github.com/licensor/licensor/app/server/servertest"
	"github.com/licensor/licensor/app/web/webtest"
)

// The authorisation matrix: every route the app registers, asked by every
// kind of caller. The sets of public routes are spelled out here, so a new
// route is protected unless someone decides otherwise in this file.

// publicPages are the console and portal routes anyone may open.
var publicPages = []string{
	"GET /admin/login", "POST /admin/login", "GET /admin/login/two-factor", "POST /admin/login/two-factor",
	"GET /admin/password/forgot", "POST /admin/password/forgot",
	"GET /admin/password/reset/:token", "POST /admin/password/reset/:token",
	"GET /admin/invitation/:token", "POST /admin/invitation/:token",
	"GET /customer", "GET /customer/", "GET /customer/login", "POST /customer/login",
	"GET /customer/login/two-factor", "POST /customer/login/two-factor",
	"GET /customer/register", "POST /customer/register",
	"GET /customer/email/verify/:token", "GET /customer/email/resend", "POST /customer/email/resend",
	"GET /customer/email/change/:token",
	"GET /customer/password/forgot", "POST /customer/password/forgot",
	"GET /customer/password/reset/:token", "POST /customer/password/reset/:token",
	"GET /customer/captcha/:id.png",
}

// otherPublic are the routes outside the console, the portal and the API:
// redirects into an area, which then asks for its own sign-in.
var otherPublic = []string{"GET /", "GET /login", "GET /dashboard"}

// byAddress are the routes refused by the client's address instead of a
// sign-in (metrics.allow); app/api/external's TestMetrics shows a scrape
// from an address outside the list answered 404.
var byAddress = []string{"GET /metrics"}

// publicAPI are the API routes that need no key.
var publicAPI = []string{
	"GET /api/health-check", "GET /api/openapi.json", "GET /api/download/:token", "HEAD /api/download/:token",
	"GET /api/external/public-keys",
	// The store webhooks (docs/api/external.md#store-webhooks) carry their plugin's secret in the
	// path instead; the plugin's check answers.
	"POST /api/external/webhooks/:name/:secret",
}

// legacyExternal are the LicenseBox external paths (docs/api/external.md "Legacy
// aliases"): the external API's steps under other paths, keyed by
// LB-API-KEY as old clients send it.
var legacyExternal = []string{
	"GET /api/check_connection_ext", "POST /api/check_connection_ext",
	"POST /api/activate_license", "POST /api/verify_license", "POST /api/deactivate_license", "POST /api/check_license",
	"POST /api/check_update", "POST /api/latest_version",
	"POST /api/download_update/:type/:version_id", "POST /api/download_update/:version_id", "POST /api/download_update",
	"GET /api/get_update_size/:type/:version_id", "POST /api/get_update_size/:type/:version_id",
	"GET /api/get_update_size", "POST /api/get_update_size", "GET /api/get_update_size/:version_id",
}

// legacyInternal are the LicenseBox internal calls (docs/api/legacy.md), each
// served under /api/<name> and /api_internal/<name>.
var legacyInternal = []string{
	"check_connection_int", "add_product", "get_product", "get_products", "mark_product_active", "mark_product_inactive",
	"create_license", "edit_license", "get_license", "search_license", "delete_license",
	"block_license", "unblock_license", "deactivate_license_activations", "edit_or_create_version",
}

var paramRE = regexp.MustCompile(`:[A-Za-z_]+\??|\*`)

type route struct{ method, path string }

func (r route) String() string { return r.method + " " + r.path }

// concrete fills a route's parameters with a plausible value.
func (r route) concrete() string {
	return paramRE.ReplaceAllStringFunc(r.path, func(p string) string {
		if p == "*" {
			return "x"
		}
		return "1"
	})
}

func routesOf(t *testing.T, e *servertest.Env) []route {
	t.Helper()
	seen := map[string]bool{}
	var out []route
	for _, r := range e.App.GetRoutes(true) {
		switch r.Method {
		case http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
		default:
			continue
		}
		rt := route{r.Method, r.Path}
		if seen[rt.String()] {
			continue
		}
		seen[rt.String()] = true
		out = append(out, rt)
	}
	if len(out) < 50 {
		t.Fatalf("only %d routes found", len(out))
	}
	return out
}

func unsafe(method string) bool { return method != http.MethodGet && method != http.MethodHead }

func TestAuthorisationMatrixPages(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	ctx := context.Background()
	set, err := e.Nodes[0].Settings.Get(ctx)
	if err != nil {
		t.Fatal(err)
	}
	confirmed := true
	if _, err := customers.NewService(nil, customers.Hooks{}).Create(ctx, e.DB.Bun, audit.Source{Actor: audit.System}, set,
		customers.CreateParams{Name: "Cora", Email: "cora@example.com", Password: "matrix customer password", Confirmed: &confirmed}); err != nil {
		t.Fatal(err)
	}
	anon := e.Client(t)
	admin := e.SignIn(t)
	customer := e.Client(t)
	customer.GetCSRF("/customer/login")
	if r := customer.PostForm("/customer/login", url.Values{"email": {"cora@example.com"}, "password": {"matrix customer password"}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("customer sign-in: %d", r.StatusCode)
	}

	do := func(c *webtest.Client, r route, withCSRF bool) *webtest.Response {
		path := r.concrete()
		if !unsafe(r.method) {
			return c.Get(path)
		}
		form := url.Values{}
		if !withCSRF {
			form.Set("_csrf", "")
		}
		if r.method == http.MethodPost {
			return c.PostForm(path, form)
		}
		req, _ := http.NewRequest(r.method, path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if withCSRF {
			req.Header.Set("X-CSRF-Token", c.CSRF)
		}
		return c.Do(req)
	}
	// refused: sent to a sign-in page, or 401/403.
	refused := func(res *webtest.Response, signIn string) bool {
		switch res.StatusCode {
		case http.StatusUnauthorized, http.StatusForbidden:
			return true
		case http.StatusFound, http.StatusSeeOther:
			loc := res.Header.Get("Location")
			return strings.HasPrefix(loc, signIn) || res.Header.Get("HX-Redirect") != ""
		}
		return res.Header.Get("HX-Redirect") != "" && strings.HasPrefix(res.Header.Get("HX-Redirect"), signIn)
	}

	checked := 0
	for _, r := range routesOf(t, e) {
		var area, signIn string
		switch {
		case strings.HasPrefix(r.path, "/admin"):
			area, signIn = "admin", "/admin/login"
		case strings.HasPrefix(r.path, "/customer"):
			area, signIn = "customer", "/customer/login"
		case strings.HasPrefix(r.path, "/api/") || strings.HasPrefix(r.path, "/api_internal/"):
			continue // TestAuthorisationMatrixAPI
		case slices.Contains(byAddress, r.String()):
			continue
		default:
			if !slices.Contains(otherPublic, r.String()) {
				t.Errorf("%s is in no area of the authorisation matrix: put it under /admin, /customer or /api, or list it in otherPublic", r)
			} else if res := do(anon, r, true); res.StatusCode != http.StatusFound || !strings.HasPrefix(res.Header.Get("Location"), "/admin") && !strings.HasPrefix(res.Header.Get("Location"), "/customer/") {
				t.Errorf("anonymous %s: %d to %q, want a redirect into an area", r, res.StatusCode, res.Header.Get("Location"))
			}
			continue
		}
		if strings.HasPrefix(r.path, "/admin/jobs") || r.path == "/admin/logout" || r.path == "/customer/logout" {
			continue // River's UI mounts its own routes; logging out is checked elsewhere
		}
		checked++
		public := slices.Contains(publicPages, r.String())
		if !public {
			// Anonymous callers and the other area's signed-in users are sent
			// to sign in (or refused), never served.
			if res := do(anon, r, true); !refused(res, signIn) {
				t.Errorf("anonymous %s: %d (Location %q), want refused", r, res.StatusCode, res.Header.Get("Location"))
			}
			other := customer
			if area == "customer" {
				other = admin
			}
			if res := do(other, r, true); !refused(res, signIn) {
				t.Errorf("%s signed in to the other area: %d, want refused", r, res.StatusCode)
			}
			// The area's own users reach it (404 for the made-up id is fine).
			own := admin
			if area == "customer" {
				own = customer
			}
			if !unsafe(r.method) {
				if res := do(own, r, true); refused(res, signIn) || res.StatusCode >= 500 {
					t.Errorf("%s user %s: %d, want served", area, r, res.StatusCode)
				}
			}
			// Every unsafe request of a signed-in user needs the CSRF token.
			if unsafe(r.method) {
				if res := do(own, r, false); res.StatusCode != http.StatusForbidden {
					t.Errorf("%s user %s without the CSRF token: %d, want 403", area, r, res.StatusCode)
				}
			}
		} else if unsafe(r.method) {
			if res := do(anon, r, false); res.StatusCode != http.StatusForbidden {
				t.Errorf("anonymous %s without the CSRF token: %d, want 403", r, res.StatusCode)
			}
		}
	}
	t.Logf("%d console and portal routes checked", checked)
}

func TestAuthorisationMatrixAPI(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	ctx := context.Background()
	now := time.Now()
	mk := func(typ, name string) (string, *apikeys.Key) {
		plain, k, err := apikeys.Create(ctx, e.DB.Bun, apikeys.CreateParams{Name: name, Type: typ}, now)
		if err != nil {
			t.Fatal(err)
		}
		return plain, k
	}
	type keys struct{ own, other, revoked, expired, scopeless string }
	internal, external := keys{}, keys{}
	var ids = map[string]int64{}
	var k *apikeys.Key
	internal.own, _ = mk(apikeys.TypeInternal, "internal")
	external.own, _ = mk(apikeys.TypeExternal, "external")
	internal.other, external.other = external.own, internal.own
	internal.revoked, k = mk(apikeys.TypeInternal, "revoked")
	ids["revoked internal"] = k.ID
	external.revoked, k = mk(apikeys.TypeExternal, "revoked external")
	ids["revoked external"] = k.ID
	internal.expired, k = mk(apikeys.TypeInternal, "expired")
	ids["expired internal"] = k.ID
	external.expired, k = mk(apikeys.TypeExternal, "expired external")
	ids["expired external"] = k.ID
	internal.scopeless, k = mk(apikeys.TypeInternal, "no scope")
	ids["scopeless internal"] = k.ID
	external.scopeless, k = mk(apikeys.TypeExternal, "no scope external")
	ids["scopeless external"] = k.ID
	for name, q := range map[string]string{
		"revoked internal":   "UPDATE api_keys SET revoked = true WHERE id = ?",
		"revoked external":   "UPDATE api_keys SET revoked = true WHERE id = ?",
		"expired internal":   "UPDATE api_keys SET expires_at = now() - interval '1 day' WHERE id = ?",
		"expired external":   "UPDATE api_keys SET expires_at = now() - interval '1 day' WHERE id = ?",
		"scopeless internal": "UPDATE api_keys SET scopes = '{}' WHERE id = ?",
		"scopeless external": "UPDATE api_keys SET scopes = '{}' WHERE id = ?",
	} {
		if _, err := e.DB.Bun.NewRaw(q, ids[name]).Exec(ctx); err != nil {
			t.Fatal(err)
		}
	}
	// Signed-in console and portal users: a session is no API credential.
	set, err := e.Nodes[0].Settings.Get(ctx)
	if err != nil {
		t.Fatal(err)
	}
	confirmed := true
	for _, email := range []string{"ann@example.com", "bob@example.com"} {
		if _, err := customers.NewService(nil, customers.Hooks{}).Create(ctx, e.DB.Bun, audit.Source{Actor: audit.System}, set,
			customers.CreateParams{Name: email, Email: email, Password: "matrix customer password", Confirmed: &confirmed}); err != nil {
			t.Fatal(err)
		}
	}
	sessions := map[string]*webtest.Client{"admin": e.SignIn(t)}
	for name, email := range map[string]string{"customer A": "ann@example.com", "customer B": "bob@example.com"} {
		c := e.Client(t)
		c.GetCSRF("/customer/login")
		if r := c.PostForm("/customer/login", url.Values{"email": {email}, "password": {"matrix customer password"}}); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("%s sign-in: %d", name, r.StatusCode)
		}
		sessions[name] = c
	}

	anon := e.Client(t)
	call := func(c *webtest.Client, r route, header, key string) int {
		req, _ := http.NewRequest(r.method, r.concrete(), strings.NewReader("{}"))
		req.Header.Set("Content-Type", "application/json")
		if key != "" {
			req.Header.Set(header, key)
		}
		if c == nil {
			c = anon
		}
		return c.Do(req).StatusCode
	}
	seen := map[string]bool{}
	checked := 0
	for _, r := range routesOf(t, e) {
		if !strings.HasPrefix(r.path, "/api/") && !strings.HasPrefix(r.path, "/api_internal/") {
			continue
		}
		seen[r.String()] = true
		if slices.Contains(publicAPI, r.String()) {
			// Public: served (or 404 for the made-up token or plugin),
			// never asked for a key.
			if got := call(nil, r, "", ""); got == http.StatusBadRequest || got == http.StatusUnauthorized || got == http.StatusForbidden || got >= 500 {
				t.Errorf("public %s without a key: %d", r, got)
			}
			continue
		}
		name := strings.TrimPrefix(strings.TrimPrefix(r.path, "/api_internal/"), "/api/")
		var ks keys
		header := "X-API-KEY"
		switch {
		case strings.HasPrefix(r.path, "/api/internal/"):
			ks = internal
		case strings.HasPrefix(r.path, "/api/external/"):
			ks = external
		case r.method == http.MethodPost && slices.Contains(legacyInternal, name):
			ks, header = internal, "LB-API-KEY"
		case slices.Contains(legacyExternal, r.String()):
			ks, header = external, "LB-API-KEY"
		default:
			// A new route must be placed in this matrix before it ships.
			t.Errorf("%s is not in the authorisation matrix: add it to publicAPI, legacyExternal or legacyInternal, or give it an /api/internal/ or /api/external/ path", r)
			continue
		}
		checked++
		if got := call(nil, r, header, ""); got != http.StatusBadRequest {
			t.Errorf("%s without a key: %d, want 400", r, got)
		}
		for who, c := range sessions {
			if got := call(c, r, header, ""); got != http.StatusBadRequest {
				t.Errorf("%s signed in as %s without a key: %d, want 400", r, who, got)
			}
		}
		for what, key := range map[string]string{"a made-up key": "not-a-key", "the other type's key": ks.other, "a revoked key": ks.revoked, "an expired key": ks.expired} {
			if got := call(nil, r, header, key); got != http.StatusUnauthorized {
				t.Errorf("%s with %s: %d, want 401", r, what, got)
			}
		}
		if got := call(nil, r, header, ks.scopeless); got != http.StatusForbidden {
			t.Errorf("%s with a key without its scope: %d, want 403", r, got)
		}
		if got := call(nil, r, header, ks.own); got == http.StatusUnauthorized || got == http.StatusForbidden || got >= 500 {
			t.Errorf("%s with its own type's key: %d, want served", r, got)
		}
	}
	// The lists name only what exists, and every legacy internal call is
	// served under both prefixes.
	for _, want := range slices.Concat(publicAPI, legacyExternal) {
		if !seen[want] && !strings.HasPrefix(want, "HEAD ") {
			t.Errorf("%s is in the matrix but not registered", want)
		}
	}
	for _, name := range legacyInternal {
		for _, prefix := range []string{"/api/", "/api_internal/"} {
			if !seen["POST "+prefix+name] {
				t.Errorf("legacy internal call POST %s%s not registered", prefix, name)
			}
		}
	}
	if checked < 90 {
		t.Fatalf("only %d API routes checked", checked)
	}
	t.Logf("%d API routes checked", checked)
}
