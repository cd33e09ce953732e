package admin_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/licensor/licensor/app/admins"
	"github.com/licensor/licensor/app/audit"
	"github.com/licensor/licensor/app/customers"
	"github.com/licensor/licensor/app/server/servertest"
	"github.com/licensor/licensor/app/web/webtest"
)

// lastMailLink returns the link to path prefix in the newest mail of kind
// to address (the outbox: the tests have no SMTP server).
func lastMailLink(t *testing.T, e *servertest.Env, kind, to, prefix string) string {
	t.Helper()
	var body string
	err := e.DB.Bun.NewRaw(`SELECT text_body FROM mail_messages WHERE kind = ? AND to_address = ? ORDER BY id DESC LIMIT 1`, kind, to).
		Scan(context.Background(), &body)
	if err != nil {
		t.Fatalf("no %s mail to %s: %v", kind, to, err)
	}
	m := regexp.MustCompile(`https?://[^/\s]+(` + regexp.QuoteMeta(prefix) + `/[A-Za-z0-9_-]+)`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no %s link in the %s mail:\n%s", prefix, kind, body)
	}
	return m[1]
}

func roleID(t *testing.T, e *servertest.Env, key string) int64 {
	t.Helper()
	r, err := admins.BuiltinRole(context.Background(), e.DB.Bun, key)
	if err != nil {
		t.Fatal(err)
	}
	return r.ID
}

// adminAs creates an admin with a built-in role (password "role test
// password 1") and a signed-in client of theirs.
func adminAs(t *testing.T, e *servertest.Env, key, email string) (*admins.Admin, *webtest.Client) {
	t.Helper()
	const pw = "role test password 1"
	a, err := admins.CreateWithRole(context.Background(), e.DB.Bun, key, email, pw, roleID(t, e, key))
	if err != nil {
		t.Fatal(err)
	}
	return a, e.SignInAs(t, a.ID)
}

func makeCustomer(t *testing.T, e *servertest.Env) *customers.Customer {
	t.Helper()
	set, err := e.Nodes[0].Settings.Get(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	cu, err := customers.NewService(nil, customers.Hooks{}).Create(context.Background(), e.DB.Bun, audit.Source{Actor: audit.System}, set,
		customers.CreateParams{Name: "Cora Customer", Email: "cora@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	return cu
}

// The lead's check: an owner invites a Support admin; the invitation
// mail's link sets a password (once); Support signs in, sees no Settings,
// API keys, Plugins or Delete buttons, and is refused (403) the settings,
// a customer delete and the job console.
func TestInviteSupportAdmin(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	cu := makeCustomer(t, e)
	owner := e.SignIn(t)
	owner.GetCSRF("/admin/users/invite")
	r := owner.PostForm("/admin/users/invite", url.Values{
		"name": {"Sam Support"}, "email": {"sam@example.com"}, "role_id": {strconv.FormatInt(roleID(t, e, admins.RoleSupport), 10)},
	})
	if r.StatusCode != http.StatusSeeOther {
		t.Fatalf("invite: %d\n%s", r.StatusCode, r.Body)
	}
	list := owner.Get("/admin/users")
	if !strings.Contains(list.Body, "sam@example.com") || !strings.Contains(list.Body, "invited") || !strings.Contains(list.Body, "Support") {
		t.Fatalf("users list lacks the invited Support admin:\n%s", list.Body)
	}
	// Invited, not yet able to sign in.
	anon := e.Client(t)
	anon.GetCSRF("/admin/login")
	if r := anon.PostForm("/admin/login", signInForm("sam@example.com", "")); r.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("invited admin without a password signs in: %d", r.StatusCode)
	}

	link := lastMailLink(t, e, "admin-invitation", "sam@example.com", "/admin/invitation")
	invitee := e.Client(t)
	if r := invitee.Get(link); r.StatusCode != http.StatusOK || !strings.Contains(r.Body, `name="password_confirmation"`) {
		t.Fatalf("invitation page: %d", r.StatusCode)
	}
	invitee.GetCSRF(link)
	const pw = "sam's own passphrase 9"
	r = invitee.PostForm(link, url.Values{"password": {pw}, "password_confirmation": {pw}})
	if r.StatusCode != http.StatusSeeOther || !strings.HasPrefix(r.Header.Get("Location"), "/admin/login") {
		t.Fatalf("set password: %d %q\n%s", r.StatusCode, r.Header.Get("Location"), r.Body)
	}
	if r := invitee.PostForm(link, url.Values{"password": {"another passphrase 10"}, "password_confirmation": {"another passphrase 10"}}); r.StatusCode != http.StatusBadRequest {
		t.Errorf("invitation link used twice: %d", r.StatusCode)
	}

	support := e.Client(t)
	support.GetCSRF("/admin/login")
	if r := support.PostForm("/admin/login", signInForm("sam@example.com", pw)); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("Support sign-in: %d", r.StatusCode)
	}
	for _, page := range []string{"/admin", "/admin/customers", "/admin/customers/" + strconv.FormatInt(cu.ID, 10), "/admin/licenses"} {
		r := support.Get(page)
		if r.StatusCode != http.StatusOK {
			t.Fatalf("Support %s: %d", page, r.StatusCode)
		}
		for _, hidden := range []string{`href="/admin/settings"`, `href="/admin/api-keys"`, `href="/admin/plugins"`, `href="/admin/jobs"`, `href="/admin/users"`, ">Delete<", "Delete selected", "/delete"} {
			if strings.Contains(r.Body, hidden) {
				t.Errorf("Support sees %s on %s", hidden, page)
			}
		}
	}
	// Support may edit customers, so that button shows.
	if r := support.Get("/admin/customers/" + strconv.FormatInt(cu.ID, 10)); !strings.Contains(r.Body, "/edit") {
		t.Error("Support does not see the customer's Edit button")
	}
	for _, path := range []string{"/admin/settings", "/admin/jobs", "/admin/api-keys", "/admin/plugins"} {
		if r := support.Get(path); r.StatusCode != http.StatusForbidden {
			t.Errorf("Support GET %s: %d, want 403", path, r.StatusCode)
		}
	}
	support.GetCSRF("/admin/customers")
	if r := support.PostForm("/admin/customers/"+strconv.FormatInt(cu.ID, 10)+"/delete", nil); r.StatusCode != http.StatusForbidden {
		t.Errorf("Support customer delete: %d, want 403", r.StatusCode)
	}
	if _, err := customers.Get(context.Background(), e.DB.Bun, cu.ID); err != nil {
		t.Errorf("the customer is gone after a refused delete: %v", err)
	}
	// The refusals are logged.
	var refused int
	if err := e.DB.Bun.NewRaw(`SELECT count(*) FROM activity_log WHERE type = 'access.denied' AND actor_name = 'Sam Support'`).Scan(context.Background(), &refused); err != nil {
		t.Fatal(err)
	}
	if refused != 5 {
		t.Errorf("%d refused requests in the activity log, want 5", refused)
	}
}

// A Read-only admin opens the lists, and every unsafe request of theirs
// is refused (their own account and signing out aside).
func TestReadOnlyAdmin(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	cu := makeCustomer(t, e)
	_, ro := adminAs(t, e, admins.RoleReadOnly, "rita@example.com")
	for _, page := range []string{"/admin/customers", "/admin/licenses", "/admin/products", "/admin/activations", "/admin/api-keys", "/admin/activity", "/admin/webhooks", "/admin/downloads", "/admin/jobs/", "/admin/tools/cron"} {
		r := ro.Get(page)
		if r.StatusCode != http.StatusOK {
			t.Errorf("Read-only %s: %d", page, r.StatusCode)
		}
		for _, action := range []string{`formaction="`, `/delete"`, "data-bulk-bar", ">Delete</button>", ">Revoke</button>", ">Edit</a>", ">New customer<", ">New license<", ">New product<", ">New API key<", ">Send test event<", ">Run expiry scan now<", ">Generate<"} {
			if strings.Contains(r.Body, action) {
				t.Errorf("Read-only sees %s on %s", action, page)
			}
		}
	}
	for _, page := range []string{"/admin/mail", "/admin/settings", "/admin/plugins", "/admin/users"} {
		if r := ro.Get(page); r.StatusCode != http.StatusForbidden {
			t.Errorf("Read-only %s (secret): %d, want 403", page, r.StatusCode)
		}
	}
	ro.GetCSRF("/admin/customers")
	id := strconv.FormatInt(cu.ID, 10)
	for _, path := range []string{"/admin/customers", "/admin/customers/" + id + "/edit", "/admin/customers/" + id + "/delete", "/admin/customers/bulk-delete",
		"/admin/licenses", "/admin/products", "/admin/api-keys", "/admin/webhooks/test", "/admin/tools/cron/expiry-scan", "/admin/imports"} {
		if r := ro.PostForm(path, url.Values{"name": {"x"}, "email": {"x@example.com"}, "ids": {id}}); r.StatusCode != http.StatusForbidden {
			t.Errorf("Read-only POST %s: %d, want 403", path, r.StatusCode)
		}
	}
	if got, _ := customers.Get(context.Background(), e.DB.Bun, cu.ID); got == nil || got.Name != "Cora Customer" {
		t.Errorf("a refused request changed the customer: %+v", got)
	}
}

func auditSystem() audit.Source { return audit.Source{Actor: audit.System} }
