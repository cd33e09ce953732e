package server_test

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/licensor/licensor/app/apikeys"
	"github.com/licensor/licensor/app/audit"
	"github.com/licensor/licensor/app/customers"
	"github.com/licensor/licensor/app/server/servertest"
	"github.com/licensor/licensor/app/web/webtest"
)

const sessionCustomerPassword = "session customer password"

func sessionCustomer(t *testing.T, e *servertest.Env, email string) *customers.Customer {
	t.Helper()
	ctx := context.Background()
	set, err := e.Nodes[0].Settings.Get(ctx)
	if err != nil {
		t.Fatal(err)
	}
	yes := true
	cu, err := customers.NewService(nil, customers.Hooks{}).Create(ctx, e.DB.Bun, audit.Source{Actor: audit.System}, set,
		customers.CreateParams{Name: "Cora", Email: email, Password: sessionCustomerPassword, Confirmed: &yes})
	if err != nil {
		t.Fatal(err)
	}
	return cu
}

func portalSignIn(t *testing.T, e *servertest.Env, email string, opts ...webtest.Option) *webtest.Client {
	t.Helper()
	c := e.Client(t, opts...)
	c.GetCSRF("/customer/login")
	if r := c.PostForm("/customer/login", url.Values{"email": {email}, "password": {sessionCustomerPassword}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("portal sign-in: %d", r.StatusCode)
	}
	return c
}

// ageSessions moves every session's times back, as time passing would.
func ageSessions(t *testing.T, e *servertest.Env, idle, since time.Duration) {
	t.Helper()
	if _, err := e.DB.Bun.ExecContext(context.Background(),
		`UPDATE sessions SET last_seen_at = now() - make_interval(secs => ?), created_at = now() - make_interval(secs => ?)`,
		idle.Seconds(), since.Seconds()); err != nil {
		t.Fatal(err)
	}
}

func signedInAdmin(c *webtest.Client) bool {
	return c.Get("/admin/activity").StatusCode == http.StatusOK
}
func signedInCustomer(c *webtest.Client) bool {
	return c.Get("/customer/settings").StatusCode == http.StatusOK
}

// Issue 15 point 11: idle and absolute lifetimes come from the settings,
// for admins and customers, and every node honours them.
func TestSessionLifetimesFromSettings(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	node2 := e.NewApp(t)
	sessionCustomer(t, e, "cora@example.com")
	e.SetSettings(t, map[string]string{
		"admin_session_lifetime": "30", "admin_session_absolute_lifetime": "600",
		"customer_session_lifetime": "60", "customer_session_absolute_lifetime": "1440",
	})

	admin := e.SignIn(t)
	customer := portalSignIn(t, e, "cora@example.com")
	// Within both lifetimes, on the other node too (same cookies).
	ageSessions(t, e, 20*time.Minute, 5*time.Hour)
	admin2 := webtest.New(t, node2, webtest.WithJar(admin.Jar))
	if !signedInAdmin(admin2) || !signedInCustomer(customer) {
		t.Fatal("sessions within their lifetimes ended")
	}
	// Idle past admin_session_lifetime (30) but not the customer's (60).
	ageSessions(t, e, 35*time.Minute, 5*time.Hour)
	if signedInAdmin(admin2) {
		t.Error("an admin session idle 35 minutes lives with admin_session_lifetime 30")
	}
	if !signedInCustomer(customer) {
		t.Error("a customer session idle 35 minutes ended with customer_session_lifetime 60")
	}

	// The absolute lifetime ends an active session.
	admin = e.SignIn(t)
	ageSessions(t, e, time.Minute, 11*time.Hour)
	if signedInAdmin(admin) {
		t.Error("an admin session 11 hours old lives with admin_session_absolute_lifetime 600")
	}
	if !signedInCustomer(customer) {
		t.Error("a customer session 11 hours old ended with customer_session_absolute_lifetime 1440")
	}
	ageSessions(t, e, time.Minute, 25*time.Hour)
	if signedInCustomer(customer) {
		t.Error("a customer session 25 hours old lives with customer_session_absolute_lifetime 1440")
	}

	// A changed setting applies at once to existing sessions.
	admin = e.SignIn(t)
	ageSessions(t, e, 20*time.Minute, time.Hour)
	e.SetSettings(t, map[string]string{"admin_session_lifetime": "10"})
	if signedInAdmin(admin) {
		t.Error("admin_session_lifetime lowered to 10: a session idle 20 minutes lives")
	}
}

// Issue 15 point 12: a password or email change through the internal API
// (and the console) ends the customer's portal sessions, as the portal's
// own change does.
func TestCredentialChangeEndsPortalSessions(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	cu := sessionCustomer(t, e, "cora@example.com")
	key, _, err := apikeys.Create(context.Background(), e.DB.Bun, apikeys.CreateParams{Name: "internal", Type: apikeys.TypeInternal}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	api := func(body string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPatch, "/api/internal/customers/"+strconv.FormatInt(cu.ID, 10), strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-API-KEY", key)
		if r := e.Client(t).Do(req); r.StatusCode != http.StatusOK {
			t.Fatalf("PATCH customer %s: %d %s", body, r.StatusCode, r.Body)
		}
	}

	browser := portalSignIn(t, e, "cora@example.com")
	api(`{"name":"Cora Renamed"}`)
	if !signedInCustomer(browser) {
		t.Fatal("a name change ended the portal session")
	}
	api(`{"password":"a brand new password 42"}`)
	if signedInCustomer(browser) {
		t.Error("a password change through the internal API left the portal session signed in")
	}

	if _, err := e.DB.Bun.ExecContext(context.Background(), `UPDATE customers SET password_hash = (SELECT password_hash FROM admins LIMIT 1) WHERE id = ?`, cu.ID); err != nil {
		t.Fatal(err)
	}
	browser = e.Client(t)
	browser.GetCSRF("/customer/login")
	if r := browser.PostForm("/customer/login", url.Values{"email": {"cora@example.com"}, "password": {servertest.AdminPassword}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-in again: %d", r.StatusCode)
	}
	api(`{"email":"cora.new@example.com"}`)
	if signedInCustomer(browser) {
		t.Error("an email change through the internal API left the portal session signed in")
	}

	// The console's edit does the same.
	browser = e.Client(t)
	browser.GetCSRF("/customer/login")
	if r := browser.PostForm("/customer/login", url.Values{"email": {"cora.new@example.com"}, "password": {servertest.AdminPassword}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-in again: %d", r.StatusCode)
	}
	admin := e.SignIn(t)
	admin.GetCSRF("/admin/customers/" + strconv.FormatInt(cu.ID, 10) + "/edit")
	r := admin.PostForm("/admin/customers/"+strconv.FormatInt(cu.ID, 10)+"/edit", url.Values{
		"name": {"Cora"}, "email": {"cora.console@example.com"}, "client_id": {cu.ClientID},
	})
	if r.StatusCode != http.StatusSeeOther {
		t.Fatalf("console edit: %d %s", r.StatusCode, r.Body)
	}
	if signedInCustomer(browser) {
		t.Error("an email change in the console left the portal session signed in")
	}
}
