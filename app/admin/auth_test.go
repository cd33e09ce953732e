package admin_test

import (
	"strings"
	"testing"

	"github.com/licensor/licensor/app/server/servertest"
	"github.com/licensor/licensor/app/web/webtest"
)

func TestAnonymousRequestsGoToSignIn(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	c := e.Client(t)
	for path, want := range map[string]string{
		"/admin":                  "/admin/login?next=%2Fadmin",
		"/admin/customers?q=acme": "/admin/login?next=%2Fadmin%2Fcustomers%3Fq%3Dacme",
		"/admin/no-such-page":     "/admin/login?next=%2Fadmin%2Fno-such-page",
	} {
		r := c.Get(path)
		if r.StatusCode != 302 || r.Header.Get("Location") != want {
			t.Errorf("GET %s: %d %q, want 302 %q", path, r.StatusCode, r.Header.Get("Location"), want)
		}
	}

	// htmx gets 401 and HX-Redirect back to the page the browser shows.
	r := c.Get("/admin/customers", "HX-Request", "true", "HX-Current-URL", webtest.BaseURL+"/admin/licenses?page=3")
	if r.StatusCode != 401 || r.Header.Get("HX-Redirect") != "/admin/login?next=%2Fadmin%2Flicenses%3Fpage%3D3" {
		t.Errorf("htmx: %d HX-Redirect %q", r.StatusCode, r.Header.Get("HX-Redirect"))
	}

	// Anonymous POSTs are not remembered as the page to return to.
	c.GetCSRF("/admin/login")
	r = c.PostForm("/admin/logout", nil)
	if r.StatusCode != 302 || r.Header.Get("Location") != "/admin/login" {
		t.Errorf("anonymous POST /admin/logout: %d %q", r.StatusCode, r.Header.Get("Location"))
	}
}

func TestSignOut(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	c := e.SignIn(t)
	session := c.Cookie("licensor_admin_session")

	r := c.Get("/admin")
	if r.StatusCode != 200 {
		t.Fatalf("dashboard: %d", r.StatusCode)
	}
	r = c.PostForm("/admin/logout", nil)
	if r.StatusCode != 303 || r.Header.Get("Location") != "/admin/login" {
		t.Fatalf("sign out: %d %q\n%s", r.StatusCode, r.Header.Get("Location"), r.Body)
	}
	r = c.Get("/admin/login")
	if !strings.Contains(r.Body, "You have been signed out.") {
		t.Errorf("no sign-out flash:\n%s", r.Body)
	}
	// Flash messages show once.
	if r := c.Get("/admin/login"); strings.Contains(r.Body, "You have been signed out.") {
		t.Error("flash shown twice")
	}
	if r := c.Get("/admin"); r.StatusCode != 302 {
		t.Errorf("after sign-out /admin: %d", r.StatusCode)
	}
	// The old session is gone on the server, not just from the browser.
	replay := e.Client(t)
	replay.SetCookie("licensor_admin_session", session)
	if r := replay.Get("/admin"); r.StatusCode != 302 {
		t.Errorf("replayed session cookie after sign-out: %d", r.StatusCode)
	}
}

func TestSignOutNeedsCSRFToken(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	c := e.SignIn(t)
	c.CSRF = ""
	if r := c.PostForm("/admin/logout", nil); r.StatusCode != 403 {
		t.Errorf("logout without token: %d, want 403", r.StatusCode)
	}
	if r := c.Get("/admin"); r.StatusCode != 200 {
		t.Errorf("still signed in after refused logout? %d", r.StatusCode)
	}
}

func TestSessionWorksOnEveryNode(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	node1 := e.SignIn(t)
	node2 := webtest.New(t, e.NewApp(t), webtest.WithJar(node1.Jar))

	r := node2.Get("/admin")
	if r.StatusCode != 200 || !strings.Contains(r.Body, servertest.AdminName) {
		t.Fatalf("node 2 with node 1's session: %d", r.StatusCode)
	}
	// A form from node 1 posts to node 2: the CSRF token is shared too.
	node2.CSRF = node1.CSRF
	if r := node2.PostForm("/admin/logout", nil); r.StatusCode != 303 {
		t.Fatalf("logout on node 2: %d\n%s", r.StatusCode, r.Body)
	}
	if r := node1.Get("/admin"); r.StatusCode != 302 {
		t.Errorf("node 1 still signed in after logout on node 2: %d", r.StatusCode)
	}
}

func TestDeletedAdminIsSignedOut(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	c := e.SignIn(t)
	if _, err := e.DB.Bun.NewDelete().TableExpr("admins").Where("id = ?", e.Admin.ID).Exec(t.Context()); err != nil {
		t.Fatal(err)
	}
	if r := c.Get("/admin"); r.StatusCode != 302 {
		t.Errorf("deleted admin: %d, want 302", r.StatusCode)
	}
}

func TestConsolePages(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	c := e.SignIn(t)
	for _, p := range []struct{ path, text string }{
		{"/admin", "Welcome back, Ann Admin"},
		{"/admin/customers", "No customers yet"},
		{"/admin/products", "No products yet"},
		{"/admin/licenses", "No licenses yet"},
		{"/admin/activations", "No activations yet"},
		{"/admin/api-keys", "No API keys yet"},
		{"/admin/activity", "Activity log"},
		{"/admin/settings", `name="app_name"`},
		{"/admin/plugins", "No plugins installed"},
	} {
		r := c.Get(p.path)
		if r.StatusCode != 200 || !strings.Contains(r.Body, p.text) {
			t.Errorf("GET %s: %d, missing %q", p.path, r.StatusCode, p.text)
			continue
		}
		if !strings.Contains(r.Body, `href="`+p.path+`" aria-current="page"`) {
			t.Errorf("GET %s: sidebar does not mark the section current", p.path)
		}
	}
	// Unknown console pages are a 404 page for a signed-in admin.
	if r := c.Get("/admin/no-such-page"); r.StatusCode != 404 || !strings.Contains(r.Body, "Page not found") {
		t.Errorf("unknown page: %d", r.StatusCode)
	}
}
