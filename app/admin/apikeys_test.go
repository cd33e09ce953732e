package admin_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/licensor/licensor/app/apikeys"
	"github.com/licensor/licensor/app/server/servertest"
	"github.com/licensor/licensor/test/eventually"
)

// apiStatus calls path on the app with the key in X-API-KEY.
func apiStatus(t *testing.T, e *servertest.Env, path, key string) int {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	req.Header.Set("X-API-KEY", key)
	resp, err := e.App.Test(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

var plainKey = regexp.MustCompile(`<code id="apikey-plain">([^<]+)</code>`)

func TestAPIKeyCreateRevokeDelete(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	c := e.SignIn(t)
	if r := c.Get("/admin/api-keys"); r.StatusCode != 200 || !strings.Contains(r.Body, "No API keys yet") || !strings.Contains(r.Body, `href="/admin/api-keys" aria-current="page"`) {
		t.Fatalf("empty list: %d\n%s", r.StatusCode, r.Body)
	}
	r := c.Get("/admin/api-keys/new")
	if r.StatusCode != 200 || !strings.Contains(r.Body, "must never be embedded in client software") ||
		strings.Count(r.Body, `name="scopes"`) != len(apikeys.ExternalScopes) || strings.Count(r.Body, `name="scopes"`)+1 != strings.Count(r.Body, " checked>") { // every scope and the type
		t.Fatalf("form: %d\n%s", r.StatusCode, r.Body)
	}
	if !strings.Contains(r.Body, "<strong>license</strong>") || !strings.Contains(r.Body, "<strong>update</strong>") {
		t.Error("scopes not grouped by area")
	}
	// Switching the type brings that type's scopes, all ticked.
	r = c.Get("/admin/api-keys/new?type=internal", "HX-Request", "true")
	if strings.Count(r.Body, `name="scopes"`) != len(apikeys.InternalScopes) || !strings.Contains(r.Body, "<strong>customers</strong>") {
		t.Errorf("internal scopes:\n%s", r.Body)
	}

	r = c.PostForm("/admin/api-keys", url.Values{"name": {"Shop client"}, "type": {"external"}, "scopes": {"connection:check", "license:activate"}})
	if r.StatusCode != 201 || r.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("create: %d\n%s", r.StatusCode, r.Body)
	}
	m := plainKey.FindStringSubmatch(r.Body)
	if m == nil || len(m[1]) != 40 || !strings.Contains(r.Body, `data-copy="`+m[1]+`"`) || !strings.Contains(r.Body, "never be shown again") {
		t.Fatalf("key not shown once with a copy button:\n%s", r.Body)
	}
	plain := m[1]
	r = c.Get("/admin/api-keys")
	if strings.Contains(r.Body, plain) || strings.Contains(r.Body, plain[:6]) || !strings.Contains(r.Body, "<code>…"+plain[36:]+"</code>") || !strings.Contains(r.Body, "Shop client") ||
		!strings.Contains(r.Body, `title="connection:check, license:activate">2</td>`) {
		t.Fatalf("list shows the key, its prefix, or lacks its hint:\n%s", r.Body)
	}
	k, err := apikeys.Lookup(context.Background(), e.DB.Bun, plain)
	if err != nil || k == nil || k.Type != apikeys.TypeExternal || len(k.Scopes) != 2 {
		t.Fatalf("stored: %+v, %v", k, err)
	}
	if s := apiStatus(t, e, "/api/external/connection-check", plain); s != 200 {
		t.Fatalf("new key on connection-check: %d", s)
	}

	// Revoke: the key stops working (the trigger drops it from the cache).
	r = c.PostForm(fmt.Sprintf("/admin/api-keys/%d/revoke", k.ID), nil)
	if r.StatusCode != 303 || r.Header.Get("Location") != "/admin/api-keys" {
		t.Fatalf("revoke: %d", r.StatusCode)
	}
	if r := c.Get("/admin/api-keys"); !strings.Contains(r.Body, "API key Shop client revoked.") || !strings.Contains(r.Body, "badge-blocked\">revoked") {
		t.Errorf("after revoke:\n%s", r.Body)
	}
	eventually.True(t, 5*time.Second, "the revoked key is refused", func() bool {
		return apiStatus(t, e, "/api/external/connection-check", plain) == 401
	})

	// Issue 15.16: a typed key shorter than 32 characters is refused (an
	// 8-character key was shown all but two characters).
	r = c.PostForm("/admin/api-keys", url.Values{"name": {"Back office"}, "type": {"internal"}, "scopes": {"connection:check"}, "key": {"legacy-key-123"}})
	if r.StatusCode != 422 || !strings.Contains(r.Body, "The key must be 32 to 100 characters without surrounding spaces.") {
		t.Fatalf("short typed key: %d\n%s", r.StatusCode, r.Body)
	}
	// An internal key with a typed key of 32 works on the internal API;
	// the list shows its last 4 characters only; delete removes it.
	const typed = "legacy-key-0123456789-abcdefWXYZ"
	r = c.PostForm("/admin/api-keys", url.Values{"name": {"Back office"}, "type": {"internal"}, "scopes": {"connection:check"}, "key": {typed},
		"special": {"1"}, "expires_at": {time.Now().AddDate(0, 6, 0).Format("2006-01-02")}})
	if r.StatusCode != 201 || !strings.Contains(r.Body, `<code id="apikey-plain">`+typed+`</code>`) || !strings.Contains(r.Body, "never in client software") {
		t.Fatalf("typed key: %d\n%s", r.StatusCode, r.Body)
	}
	if s := apiStatus(t, e, "/api/internal/connection-check", typed); s != 200 {
		t.Fatalf("internal key: %d", s)
	}
	k2, _ := apikeys.Lookup(context.Background(), e.DB.Bun, typed)
	if k2 == nil || !k2.Special || k2.ExpiresAt == nil || k2.KeyHint != "WXYZ" {
		t.Fatalf("stored: %+v", k2)
	}
	if body := c.Get("/admin/api-keys").Body; !strings.Contains(body, "<code>…WXYZ</code>") || strings.Contains(body, typed[:6]) {
		t.Fatalf("the list shows more than the last 4 characters:\n%s", body)
	}
	if r := c.PostForm(fmt.Sprintf("/admin/api-keys/%d/delete", k2.ID), nil); r.StatusCode != 303 {
		t.Fatalf("delete: %d", r.StatusCode)
	}
	if r := c.Get("/admin/api-keys"); !strings.Contains(r.Body, "API key Back office deleted.") || strings.Contains(r.Body, "<td>Back office</td>") {
		t.Errorf("after delete:\n%s", r.Body)
	}
	eventually.True(t, 5*time.Second, "the deleted key is refused", func() bool {
		return apiStatus(t, e, "/api/internal/connection-check", "legacy-key-123") == 401
	})
	if r := c.PostForm(fmt.Sprintf("/admin/api-keys/%d/delete", k2.ID), nil); r.StatusCode != 404 {
		t.Errorf("delete again: %d", r.StatusCode)
	}
	var n int
	if err := e.DB.Bun.NewRaw(`SELECT count(*) FROM activity_log WHERE subject_type = 'api_key' AND actor_type = 'admin'`).Scan(context.Background(), &n); err != nil || n != 4 {
		t.Errorf("admin activity entries: %d, %v; want 4 (2 created, revoked, deleted)", n, err)
	}
}

func TestAPIKeyCreateInvalid(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	c := e.SignIn(t)
	_, _, err := apikeys.Create(context.Background(), e.DB.Bun, apikeys.CreateParams{Name: "Old", Type: "external", Key: "taken-key-0123456789-abcdefghijklmnop"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	far := time.Now().AddDate(2, 0, 0).Format("2006-01-02")
	for _, tc := range []struct {
		name, field, msg string
		form             url.Values
	}{
		{"name required", "name", "The name field is required.", url.Values{"type": {"external"}, "scopes": {"license:verify"}, "key": {"kept-key-abcdefghijklmnop"}}},
		{"no scope", "scopes", "Choose at least one scope", url.Values{"name": {"Kept name"}, "type": {"external"}}},
		{"bad date", "expires_at", "must be a valid date", url.Values{"name": {"Kept name"}, "type": {"external"}, "scopes": {"license:verify"}, "expires_at": {"31/12/2030"}}},
		{"over a year", "expires_at", "at most one year ahead", url.Values{"name": {"Kept name"}, "type": {"external"}, "scopes": {"license:verify"}, "expires_at": {far}}},
		{"key taken", "key", "already in use", url.Values{"name": {"Kept name"}, "type": {"external"}, "scopes": {"license:verify"}, "key": {"taken-key-0123456789-abcdefghijklmnop"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := c.PostForm("/admin/api-keys", tc.form)
			if r.StatusCode != 422 {
				t.Fatalf("status %d\n%s", r.StatusCode, r.Body)
			}
			if !strings.Contains(r.Body, fmt.Sprintf(`<small class="field-error" id="apikey-%s-error">`, tc.field)) || !strings.Contains(r.Body, tc.msg) {
				t.Fatalf("no %q next to %s:\n%s", tc.msg, tc.field, r.Body)
			}
			if strings.Contains(r.Body, `id="apikey-plain"`) {
				t.Fatal("a key was shown")
			}
			for k, v := range tc.form {
				if k == "type" || k == "scopes" {
					continue
				}
				if !strings.Contains(r.Body, `value="`+v[0]+`"`) {
					t.Errorf("typed %s %q not kept", k, v[0])
				}
			}
			if tc.form.Get("scopes") != "" && strings.Count(r.Body, " checked>") != 2 { // the type radio and the one scope
				t.Errorf("ticked scopes not kept:\n%s", r.Body)
			}
		})
	}
	if n := countRows(t, e, "api_keys"); n != 1 {
		t.Errorf("api_keys: %d, want 1", n)
	}
}

func TestAPIKeyPagesNeedAdminAndCSRF(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	_, k, err := apikeys.Create(context.Background(), e.DB.Bun, apikeys.CreateParams{Name: "Keep", Type: "external"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	anon := e.Client(t)
	for _, p := range []string{"/admin/api-keys", "/admin/api-keys/new"} {
		if r := anon.Get(p); r.StatusCode != 302 || !strings.HasPrefix(r.Header.Get("Location"), "/admin/login?next=") {
			t.Errorf("anonymous GET %s: %d %q", p, r.StatusCode, r.Header.Get("Location"))
		}
	}
	posts := []string{"/admin/api-keys", fmt.Sprintf("/admin/api-keys/%d/revoke", k.ID), fmt.Sprintf("/admin/api-keys/%d/delete", k.ID)}
	form := url.Values{"name": {"Sneaky"}, "type": {"internal"}, "scopes": {"connection:check"}}
	anon.GetCSRF("/admin/login")
	for _, p := range posts {
		if r := anon.PostForm(p, form); r.StatusCode != 302 {
			t.Errorf("anonymous POST %s: %d", p, r.StatusCode)
		}
	}
	c := e.SignIn(t)
	c.CSRF = ""
	for _, p := range posts {
		if r := c.PostForm(p, form); r.StatusCode != 403 {
			t.Errorf("POST %s without token: %d, want 403", p, r.StatusCode)
		}
	}
	got, err := apikeys.Get(context.Background(), e.DB.Bun, k.ID)
	if err != nil || got.Revoked || countRows(t, e, "api_keys") != 1 {
		t.Errorf("keys changed: %+v, %v", got, err)
	}
}
