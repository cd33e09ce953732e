// Package servertest builds the real Licensor app on a fresh test database
// for HTTP tests, with one admin account ready to sign in.
package servertest

import (
	"context"
	"io"
	"log/slog"
	"net/url"
	"testing"

	"github.com/gofiber/fiber/v3"

	"github.com/licensor/licensor/app/admins"
	"github.com/licensor/licensor/app/config"
	"github.com/licensor/licensor/app/db"
	"github.com/licensor/licensor/app/db/dbtest"
	"github.com/licensor/licensor/app/server"
	"github.com/licensor/licensor/app/web/webtest"
)

// The admin account every Env has.
const (
	AdminName     = "Ann Admin"
	AdminEmail    = "ann@example.com"
	AdminPassword = "correct horse battery"
)

// Env is one test's database and the app built on it.
type Env struct {
	App    *fiber.App
	DB     *db.DB
	Config *config.Config
	Admin  *admins.Admin
}

// New creates a migrated database with one admin and builds the app on it
// with the default configuration, changed by each of configure.
func New(t testing.TB, configure ...func(*config.Config)) *Env {
	t.Helper()
	d := dbtest.New(t)
	a, err := admins.Create(context.Background(), d.Bun, AdminName, AdminEmail, AdminPassword)
	if err != nil {
		t.Fatalf("servertest: create admin: %v", err)
	}
	cfg := config.Defaults()
	for _, f := range configure {
		f(&cfg)
	}
	e := &Env{DB: d, Config: &cfg, Admin: a}
	e.App = e.NewApp(t)
	return e
}

// NewApp builds another app on the same database and configuration: a
// second node behind the same load balancer.
func (e *Env) NewApp(t testing.TB) *fiber.App {
	t.Helper()
	app, err := server.New(server.Deps{Config: e.Config, DB: e.DB, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatalf("servertest: build app: %v", err)
	}
	return app
}

// CreateAdmin adds another admin account.
func CreateAdmin(d *db.DB, name, email, password string) (*admins.Admin, error) {
	return admins.Create(context.Background(), d.Bun, name, email, password)
}

// Client returns a fresh client of the app.
func (e *Env) Client(t testing.TB, opts ...webtest.Option) *webtest.Client {
	return webtest.New(t, e.App, opts...)
}

// SignIn returns a client signed in as the Env's admin.
func (e *Env) SignIn(t testing.TB) *webtest.Client {
	t.Helper()
	c := e.Client(t)
	c.GetCSRF("/admin/login")
	r := c.PostForm("/admin/login", url.Values{"email": {AdminEmail}, "password": {AdminPassword}})
	if r.StatusCode != fiber.StatusSeeOther {
		t.Fatalf("servertest: sign in: status %d, body %s", r.StatusCode, r.Body)
	}
	return c
}
