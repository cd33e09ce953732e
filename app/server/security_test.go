package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/licensor/licensor/app/apikeys"
	"github.com/licensor/licensor/app/config"
	"github.com/licensor/licensor/app/server"
	"github.com/licensor/licensor/app/server/servertest"
	"github.com/licensor/licensor/app/web/webtest"
)

// xss is what an attacker types into every text field.
const xss = `<script>alert(1)</script><img src=x onerror=alert(2)>`

// rawXSS are the parts that must never reach a page or an email unescaped.
var rawXSS = []string{"<script>alert(1)", "<img src=x onerror"}

func internalCall(t *testing.T, c *webtest.Client, key, path string, body map[string]any) map[string]any {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(http.MethodPost, path, strings.NewReader(string(b)))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-API-Key", key)
	res := c.Do(req)
	if res.StatusCode >= 300 {
		t.Fatalf("POST %s: %d %s", path, res.StatusCode, res.Body)
	}
	var out map[string]any
	_ = json.Unmarshal([]byte(res.Body), &out)
	return out
}

// TestStoredXSSIsInert stores script in every text field a customer, a
// product and a license have, then reads every console page, portal page
// and email that shows them: the script only ever appears escaped.
func TestStoredXSSIsInert(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	ctx := context.Background()
	key, _, err := apikeys.Create(ctx, e.DB.Bun, apikeys.CreateParams{Name: "xss", Type: apikeys.TypeInternal, Special: true}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	api := e.Client(t)
	internalCall(t, api, key, "/api/internal/customers", map[string]any{"name": xss, "email": "xss@example.com", "password": "long enough password", "client_id": "XSS-CLIENT"})
	internalCall(t, api, key, "/api/internal/products", map[string]any{"name": "Prod " + xss, "reference_id": "XSSP", "description": xss})
	internalCall(t, api, key, "/api/internal/product-licenses", map[string]any{"product_reference_id": "XSSP", "license_code": "XSS-LIC-1", "customer_id": "XSS-CLIENT", "comments": xss, "invoice": xss})

	var customerID, productID, licenseID int64
	for q, dst := range map[string]*int64{
		"SELECT id FROM customers WHERE email = 'xss@example.com'": &customerID,
		"SELECT id FROM products WHERE reference_id = 'XSSP'":      &productID,
		"SELECT id FROM licenses WHERE license_code = 'XSS-LIC-1'": &licenseID,
	} {
		if err := e.DB.Bun.NewRaw(q).Scan(ctx, dst); err != nil {
			t.Fatal(err)
		}
	}
	check := func(where, body string) {
		t.Helper()
		for _, raw := range rawXSS {
			if strings.Contains(body, raw) {
				t.Errorf("%s shows %q unescaped", where, raw)
			}
		}
	}
	admin := e.SignIn(t)
	escapedSeen := false
	for _, p := range []string{
		"/admin", "/admin/customers", fmt.Sprintf("/admin/customers/%d", customerID), fmt.Sprintf("/admin/customers/%d/edit", customerID),
		"/admin/products", fmt.Sprintf("/admin/products/%d", productID), fmt.Sprintf("/admin/products/%d/edit", productID),
		"/admin/licenses", fmt.Sprintf("/admin/licenses/%d", licenseID), fmt.Sprintf("/admin/licenses/%d/edit", licenseID),
		"/admin/activity", "/admin/customers?q=" + url.QueryEscape(xss), "/admin/licenses?q=" + url.QueryEscape(xss),
	} {
		res := admin.Get(p)
		if res.StatusCode != http.StatusOK {
			t.Errorf("GET %s: %d", p, res.StatusCode)
			continue
		}
		check("console "+p, res.Body)
		escapedSeen = escapedSeen || strings.Contains(res.Body, "&lt;script&gt;alert(1)&lt;/script&gt;")
	}
	if !escapedSeen {
		t.Error("the console never showed the stored name, escaped")
	}

	customer := e.Client(t)
	customer.GetCSRF("/customer/login")
	if r := customer.PostForm("/customer/login", url.Values{"email": {"xss@example.com"}, "password": {"long enough password"}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("customer sign-in: %d", r.StatusCode)
	}
	for _, p := range []string{"/customer/dashboard", "/customer/product-licenses", fmt.Sprintf("/customer/product-licenses/%d", licenseID), "/customer/settings"} {
		res := customer.Get(p)
		if res.StatusCode != http.StatusOK {
			t.Errorf("GET %s: %d", p, res.StatusCode)
			continue
		}
		check("portal "+p, res.Body)
	}

	var mails []struct {
		Kind string `bun:"kind"`
		HTML string `bun:"html_body"`
	}
	if err := e.DB.Bun.NewRaw("SELECT kind, html_body FROM mail_messages").Scan(ctx, &mails); err != nil {
		t.Fatal(err)
	}
	if len(mails) == 0 {
		t.Fatal("no email was queued for the new customer")
	}
	for _, m := range mails {
		check("email "+m.Kind, m.HTML)
	}
}

// TestHostileQueryParameters sends SQL, huge numbers and junk in every
// query parameter the lists read, on every console and portal page: no
// 5xx, and the tables are all still there.
func TestHostileQueryParameters(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	admin := e.SignIn(t)
	hostile := url.Values{
		"q": {`' OR 1=1; DROP TABLE customers; --`}, "search": {`%_\' UNION SELECT password_hash FROM admins --`},
		"sort": {`name; DROP TABLE licenses`}, "dir": {"sideways"}, "page": {"-99999999999999999999"}, "per_page": {"1e9"},
		"status": {`'`}, "product": {"1 OR 1=1"}, "product_id": {"abc"}, "customer": {`"`}, "active": {"maybe"},
		"from": {"2026-13-45"}, "to": {"'; SELECT pg_sleep(10); --"}, "type": {"\x00"}, "days": {"NaN"},
	}
	checked := 0
	for _, r := range routesOf(t, e) {
		if r.method != http.MethodGet || !strings.HasPrefix(r.path, "/admin") || strings.Contains(r.path, ":") || strings.HasPrefix(r.path, "/admin/jobs") {
			continue
		}
		checked++
		start := time.Now()
		res := admin.Get(r.path + "?" + hostile.Encode())
		if res.StatusCode >= 500 {
			t.Errorf("GET %s with hostile parameters: %d", r.path, res.StatusCode)
		}
		if took := time.Since(start); took > 5*time.Second {
			t.Errorf("GET %s with hostile parameters took %s", r.path, took)
		}
	}
	if checked < 15 {
		t.Fatalf("only %d console pages checked", checked)
	}
	for _, table := range []string{"customers", "licenses", "admins", "products", "activations"} {
		var n int
		if err := e.DB.Bun.NewRaw("SELECT count(*) FROM "+table).Scan(context.Background(), &n); err != nil {
			t.Errorf("table %s: %v", table, err)
		}
	}
	t.Logf("%d console pages checked", checked)
}

// TestSessionCookies: the console's session cookie is HttpOnly, SameSite,
// Secure behind TLS (an https base_url), and replaced at sign-in so a
// session id planted before cannot be ridden (fixation).
func TestSessionCookies(t *testing.T) {
	t.Parallel()
	const site = "https://licenses.example.com"
	e := servertest.New(t, func(c *config.Config) { c.BaseURL = site })
	c := e.Client(t)
	// Absolute https URLs, so the jar keeps and sends the Secure cookies.
	getOn := func(c *webtest.Client, path string) *webtest.Response {
		req, _ := http.NewRequest(http.MethodGet, site+path, nil)
		return c.Do(req)
	}
	postOn := func(c *webtest.Client, path string, form url.Values) *webtest.Response {
		req, _ := http.NewRequest(http.MethodPost, site+path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		return c.Do(req)
	}
	get := func(path string) *webtest.Response { return getOn(c, path) }
	post := func(path string, form url.Values) *webtest.Response { return postOn(c, path, form) }
	sessionOf := func(res *webtest.Response) *http.Cookie {
		for _, ck := range res.Cookies() {
			if ck.Name == server.AdminSessionCookie {
				return ck
			}
		}
		return nil
	}
	page := get("/admin/login")
	var before string
	if ck := sessionOf(page); ck != nil {
		before = ck.Value
	}
	res := post("/admin/login", url.Values{"email": {servertest.AdminEmail}, "password": {servertest.AdminPassword}, "_csrf": {webtest.CSRFFromHTML(page.Body)}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign in: %d %s", res.StatusCode, res.Body)
	}
	session := sessionOf(res)
	if session == nil {
		t.Fatal("sign-in set no session cookie")
	}
	if !session.HttpOnly || !session.Secure || session.SameSite == http.SameSiteNoneMode || session.SameSite == http.SameSiteDefaultMode {
		t.Errorf("session cookie flags: HttpOnly %v, Secure %v, SameSite %v", session.HttpOnly, session.Secure, session.SameSite)
	}
	if before != "" && session.Value == before {
		t.Error("the session id was not replaced at sign-in")
	}
	if res := get("/admin/customers"); res.StatusCode != http.StatusOK {
		t.Errorf("signed in over https: %d", res.StatusCode)
	}

	// An open redirect through next is refused: the sign-in lands on a
	// local page.
	c2 := e.Client(t)
	page = getOn(c2, "/admin/login?next="+url.QueryEscape("https://evil.example/steal"))
	res = postOn(c2, "/admin/login", url.Values{"email": {servertest.AdminEmail}, "password": {servertest.AdminPassword}, "_csrf": {webtest.CSRFFromHTML(page.Body)}, "next": {"//evil.example/steal"}})
	if loc := res.Header.Get("Location"); !strings.HasPrefix(loc, "/") || strings.HasPrefix(loc, "//") {
		t.Errorf("sign-in with an outside next went to %q (status %d)", loc, res.StatusCode)
	}
}

// TestBadTextRefused: a NUL byte or invalid UTF-8 in a query parameter or
// a form field is a 400 with a message, never a query error.
func TestBadTextRefused(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	admin := e.SignIn(t)
	for _, p := range []string{"/admin/customers?q=%00", "/admin/activity?type=%ff%fe", "/admin/licenses?q=ok&sort=%00"} {
		if res := admin.Get(p); res.StatusCode != http.StatusBadRequest || !strings.Contains(res.Body, "characters that are not allowed") {
			t.Errorf("GET %s: %d", p, res.StatusCode)
		}
	}
	c := e.Client(t)
	c.GetCSRF("/customer/login")
	if res := c.PostForm("/customer/login", url.Values{"email": {"a\x00@example.com"}, "password": {"x"}}); res.StatusCode != http.StatusBadRequest {
		t.Errorf("portal sign-in with a NUL byte: %d", res.StatusCode)
	}
	if res := admin.Get("/admin/customers?q=caf%C3%A9"); res.StatusCode != http.StatusOK {
		t.Errorf("valid UTF-8 refused: %d", res.StatusCode)
	}
}
