package admin_test

import (
	"bytes"
	"context"
	"image"
	"image/png"
	"mime/multipart"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/licensor/licensor/app/admins"
	"github.com/licensor/licensor/app/server/servertest"
	"github.com/licensor/licensor/app/web/webtest"
)

// The lead's check: "sign out other sessions" ends a second browser's
// session; ending one session by its row works too.
func TestSignOutOtherSessions(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	first, second, third := e.SignIn(t), e.SignIn(t), e.SignIn(t)
	page := first.Get("/admin/account")
	if page.StatusCode != http.StatusOK || strings.Count(page.Body, `id="session-`) != 3 || !strings.Contains(page.Body, "this session") {
		t.Fatalf("account page does not list the 3 sessions:\n%s", page.Body)
	}
	first.GetCSRF("/admin/account")
	if r := first.PostForm("/admin/account/sessions/end-others", nil); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("end others: %d", r.StatusCode)
	}
	if r := second.Get("/admin"); r.StatusCode != http.StatusFound {
		t.Errorf("second browser still signed in: %d", r.StatusCode)
	}
	if r := third.Get("/admin"); r.StatusCode != http.StatusFound {
		t.Errorf("third browser still signed in: %d", r.StatusCode)
	}
	if r := first.Get("/admin"); r.StatusCode != http.StatusOK {
		t.Errorf("the browser that asked was signed out: %d", r.StatusCode)
	}
	// One session by its id; another admin's session id is 404.
	fourth := e.SignIn(t)
	var id int64
	if err := e.DB.Bun.NewRaw(`SELECT max(id) FROM sessions`).Scan(context.Background(), &id); err != nil {
		t.Fatal(err)
	}
	_, other := adminAs(t, e, admins.RoleOwner, "olga@example.com")
	other.GetCSRF("/admin/account")
	if r := other.PostForm("/admin/account/sessions/"+strconv.FormatInt(id, 10)+"/end", nil); r.StatusCode != http.StatusNotFound {
		t.Errorf("ending another admin's session: %d, want 404", r.StatusCode)
	}
	if r := first.PostForm("/admin/account/sessions/"+strconv.FormatInt(id, 10)+"/end", nil); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("end one: %d", r.StatusCode)
	}
	if r := fourth.Get("/admin"); r.StatusCode != http.StatusFound {
		t.Errorf("ended session still signed in: %d", r.StatusCode)
	}
}

// The lead's check: an admin reset link works once, with the portal's
// generic answer; the new password ends every session.
func TestAdminPasswordReset(t *testing.T) {
	t.Parallel()
	// The form's per-IP limit counts in 15-minute windows of the node's
	// clock: it stands at the start of one, so the test's eleven requests
	// share it however long they take.
	e := servertest.NewWithClock(t, servertest.NewClock(time.Now().Truncate(15*time.Minute)).Now)
	old := e.SignIn(t)
	c := e.Client(t)
	if r := c.Get("/admin/login"); !strings.Contains(r.Body, `href="/admin/password/forgot"`) {
		t.Error("no Forgot password link on the sign-in page")
	}
	c.GetCSRF("/admin/password/forgot")
	known := c.PostForm("/admin/password/forgot", url.Values{"email": {servertest.AdminEmail}})
	unknown := c.PostForm("/admin/password/forgot", url.Values{"email": {"nobody@example.com"}})
	if known.StatusCode != http.StatusSeeOther || unknown.StatusCode != known.StatusCode || known.Header.Get("Location") != unknown.Header.Get("Location") {
		t.Fatalf("forgot answers differ: %d %q vs %d %q", known.StatusCode, known.Header.Get("Location"), unknown.StatusCode, unknown.Header.Get("Location"))
	}
	if n := countRows(t, e, "mail_messages"); n != 1 {
		t.Errorf("%d mails, want 1 (none for the unknown address)", n)
	}
	link := lastMailLink(t, e, "admin-password-reset", servertest.AdminEmail, "/admin/password/reset")
	if r := c.Get(link); r.StatusCode != http.StatusOK {
		t.Fatalf("reset page: %d", r.StatusCode)
	}
	c.GetCSRF(link)
	if r := c.PostForm(link, url.Values{"password": {"password123"}, "password_confirmation": {"password123"}}); r.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("a common password: %d, want 422", r.StatusCode)
	}
	const pw = "a fresh admin passphrase 12"
	if r := c.PostForm(link, url.Values{"password": {pw}, "password_confirmation": {pw}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("reset: %d", r.StatusCode)
	}
	if r := c.PostForm(link, url.Values{"password": {pw + "x"}, "password_confirmation": {pw + "x"}}); r.StatusCode != http.StatusBadRequest {
		t.Errorf("reset link used twice: %d, want 400", r.StatusCode)
	}
	if r := c.Get(link); r.StatusCode != http.StatusBadRequest {
		t.Errorf("used reset link page: %d, want 400", r.StatusCode)
	}
	if r := old.Get("/admin"); r.StatusCode != http.StatusFound {
		t.Errorf("a session from before the reset lives: %d", r.StatusCode)
	}
	n := e.Client(t)
	n.GetCSRF("/admin/login")
	if r := n.PostForm("/admin/login", signInForm(servertest.AdminEmail, pw)); r.StatusCode != http.StatusSeeOther {
		t.Errorf("sign in with the new password: %d", r.StatusCode)
	}
	// The per-IP limit of the form: 10 in 15 minutes.
	for range 8 {
		c.PostForm("/admin/password/forgot", url.Values{"email": {"x@example.com"}})
	}
	if r := c.PostForm("/admin/password/forgot", url.Values{"email": {"x@example.com"}}); r.StatusCode != http.StatusTooManyRequests {
		t.Errorf("11th forgot request from one IP: %d, want 429", r.StatusCode)
	}
}

// The own account page: a password change needs the current one and ends
// every other session; an email change waits for the link sent to the new
// address.
func TestAccountPasswordAndEmail(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	c, other := e.SignIn(t), e.SignIn(t)
	c.GetCSRF("/admin/account")
	const pw = "my next admin passphrase 13"
	if r := c.PostForm("/admin/account/password", url.Values{"current_password": {"wrong one"}, "password": {pw}, "password_confirmation": {pw}}); r.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(r.Body, "The current password is not correct.") {
		t.Fatalf("wrong current password: %d", r.StatusCode)
	}
	if r := c.PostForm("/admin/account/password", url.Values{"current_password": {servertest.AdminPassword}, "password": {pw}, "password_confirmation": {pw}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("password change: %d", r.StatusCode)
	}
	if r := other.Get("/admin"); r.StatusCode != http.StatusFound {
		t.Errorf("another session lives after the password change: %d", r.StatusCode)
	}
	if r := c.Get("/admin"); r.StatusCode != http.StatusOK {
		t.Fatalf("the changing session was signed out: %d", r.StatusCode)
	}

	c.GetCSRF("/admin/account")
	if r := c.PostForm("/admin/account/email", url.Values{"email": {"ann.new@example.com"}, "current_password": {pw}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("email change: %d", r.StatusCode)
	}
	if a, _ := admins.Get(context.Background(), e.DB.Bun, e.Admin.ID); a.Email != servertest.AdminEmail {
		t.Fatalf("the email changed before the link: %s", a.Email)
	}
	link := lastMailLink(t, e, "admin-email-confirmation", "ann.new@example.com", "/admin/account/email/confirm")
	if r := c.Get(link); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("confirm: %d", r.StatusCode)
	}
	if a, _ := admins.Get(context.Background(), e.DB.Bun, e.Admin.ID); a.Email != "ann.new@example.com" {
		t.Errorf("email after the link: %s", a.Email)
	}
	if r := c.Get(link); r.StatusCode != http.StatusBadRequest {
		t.Errorf("email link used twice: %d", r.StatusCode)
	}
	if n := countRows(t, e, "mail_messages WHERE kind = 'email-changed' AND to_address = 'ann@example.com'"); n != 1 {
		t.Errorf("the old address was told %d times, want once", n)
	}
}

// Disabling signs an admin out everywhere; the last owner cannot be
// demoted, disabled or deleted; a deleted admin's activity keeps their
// name.
func TestUsersDisableDeleteLastOwner(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	owner := e.SignIn(t)
	bob, bobClient := adminAs(t, e, admins.RoleAdministrator, "bob@example.com")
	bobID := strconv.FormatInt(bob.ID, 10)
	bobClient.GetCSRF("/admin/customers/new")
	bobClient.PostForm("/admin/customers", url.Values{"name": {"Made By Bob"}, "email": {"made@example.com"}})

	owner.GetCSRF("/admin/users")
	if r := owner.PostForm("/admin/users/"+bobID+"/disable", nil); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("disable: %d", r.StatusCode)
	}
	if r := bobClient.Get("/admin"); r.StatusCode != http.StatusFound {
		t.Errorf("a disabled admin is still signed in: %d", r.StatusCode)
	}
	again := e.Client(t)
	again.GetCSRF("/admin/login")
	if r := again.PostForm("/admin/login", signInForm("bob@example.com", "role test password 1")); r.StatusCode != http.StatusForbidden {
		t.Errorf("a disabled admin signs in: %d", r.StatusCode)
	}

	// The only owner: not demoted, disabled or deleted (by themselves or
	// anyone).
	me := strconv.FormatInt(e.Admin.ID, 10)
	if r := owner.PostForm("/admin/users/"+me+"/edit", url.Values{"name": {servertest.AdminName}, "email": {servertest.AdminEmail}, "role_id": {strconv.FormatInt(roleID(t, e, admins.RoleSupport), 10)}}); r.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("demoting the last owner: %d, want 422", r.StatusCode)
	}
	if _, err := admins.Delete(context.Background(), e.DB.Bun, auditSystem(), e.Admin.ID); err != admins.ErrLastOwner {
		t.Errorf("deleting the last owner: %v", err)
	}
	owner.PostForm("/admin/users/"+me+"/delete", nil)
	if a, err := admins.Get(context.Background(), e.DB.Bun, e.Admin.ID); err != nil || a.Status() != admins.StatusActive {
		t.Errorf("the last owner was deleted or disabled from the users page: %v", err)
	}

	if r := owner.PostForm("/admin/users/"+bobID+"/delete", nil); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("delete: %d", r.StatusCode)
	}
	if _, err := admins.Get(context.Background(), e.DB.Bun, bob.ID); err != admins.ErrNotFound {
		t.Errorf("deleted admin still there: %v", err)
	}
	var actor string
	if err := e.DB.Bun.NewRaw(`SELECT actor_name FROM activity_log WHERE type = 'customer.created' ORDER BY id DESC LIMIT 1`).Scan(context.Background(), &actor); err != nil || actor != bob.Name {
		t.Errorf("activity of a deleted admin names %q (%v), want %q", actor, err, bob.Name)
	}
}

// A custom role picks its permissions; its admins get exactly those.
func TestCustomRole(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	owner := e.SignIn(t)
	owner.GetCSRF("/admin/roles/new")
	if r := owner.PostForm("/admin/roles", url.Values{"name": {"Bookkeeper"}}); r.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(r.Body, "Choose at least one permission.") {
		t.Fatalf("role without permissions: %d", r.StatusCode)
	}
	if r := owner.PostForm("/admin/roles", url.Values{"name": {"Bookkeeper"}, "permissions": {"licenses.view", "licenses.export", "reports.view"}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("create role: %d", r.StatusCode)
	}
	role, err := admins.RoleByName(context.Background(), e.DB.Bun, "bookkeeper")
	if err != nil {
		t.Fatal(err)
	}
	const pw = "bookkeeper passphrase 14"
	if _, err := admins.CreateWithRole(context.Background(), e.DB.Bun, "Bea", "bea@example.com", pw, role.ID); err != nil {
		t.Fatal(err)
	}
	bea := e.Client(t)
	bea.GetCSRF("/admin/login")
	bea.PostForm("/admin/login", signInForm("bea@example.com", pw))
	for path, want := range map[string]int{"/admin/licenses": 200, "/admin/licenses/export": 200, "/admin/reports/top-customers": 200, "/admin/customers": 403, "/admin/licenses/new": 403} {
		if r := bea.Get(path); r.StatusCode != want {
			t.Errorf("Bookkeeper %s: %d, want %d", path, r.StatusCode, want)
		}
	}
	// In use: not deleted; built-in roles are not changed.
	owner.GetCSRF("/admin/roles")
	owner.PostForm("/admin/roles/"+strconv.FormatInt(role.ID, 10)+"/delete", nil)
	if _, err := admins.GetRole(context.Background(), e.DB.Bun, role.ID); err != nil {
		t.Errorf("a role in use was deleted: %v", err)
	}
	if r := owner.PostForm("/admin/roles/"+strconv.FormatInt(roleID(t, e, admins.RoleSupport), 10)+"/edit", url.Values{"name": {"Support"}, "permissions": {"settings.general"}}); r.StatusCode != http.StatusForbidden {
		t.Errorf("editing a built-in role: %d, want 403", r.StatusCode)
	}
}

// The own account's picture: a PNG is checked, made a thumbnail and shown
// in the header; a text file is refused next to the field; it can be
// removed.
func TestAccountAvatar(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	c := e.SignIn(t)
	post := func(name string, file []byte) *webtest.Response {
		c.GetCSRF("/admin/account")
		var body bytes.Buffer
		w := multipart.NewWriter(&body)
		part, _ := w.CreateFormFile("avatar", name)
		_, _ = part.Write(file)
		_ = w.Close()
		req, _ := http.NewRequest(http.MethodPost, "/admin/account/avatar?_csrf="+url.QueryEscape(c.CSRF), &body)
		req.Header.Set("Content-Type", w.FormDataContentType())
		return c.Do(req)
	}
	if r := post("notes.png", []byte("not a picture at all")); r.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(r.Body, `id="account-avatar-error"`) {
		t.Fatalf("a text file as the picture: %d", r.StatusCode)
	}
	img := image.NewRGBA(image.Rect(0, 0, 300, 200))
	var png1 bytes.Buffer
	if err := png.Encode(&png1, img); err != nil {
		t.Fatal(err)
	}
	if r := post("me.png", png1.Bytes()); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("upload: %d", r.StatusCode)
	}
	page := c.Get("/admin/account")
	if !strings.Contains(page.Body, `src="/admin/account/avatar?v=`) {
		t.Fatal("the header does not show the picture")
	}
	r := c.Get("/admin/account/avatar")
	if r.StatusCode != http.StatusOK || r.Header.Get("Content-Type") != "image/png" {
		t.Fatalf("picture: %d %s", r.StatusCode, r.Header.Get("Content-Type"))
	}
	if thumb, err := png.Decode(strings.NewReader(r.Body)); err != nil || thumb.Bounds().Dx() != 256 {
		t.Errorf("thumbnail: %v", err)
	}
	c.GetCSRF("/admin/account")
	if r := c.PostForm("/admin/account/avatar/delete", nil); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("remove: %d", r.StatusCode)
	}
	if r := c.Get("/admin/account/avatar"); r.StatusCode != http.StatusNotFound {
		t.Errorf("picture after removal: %d", r.StatusCode)
	}
}
