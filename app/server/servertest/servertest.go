// Package servertest builds the real Licensor app on a fresh test database
// for HTTP tests, with one admin account ready to sign in, and the per-node
// state main wires (caches on a pgnotify listener, signing keys, the
// verify recorder, the pipeline's batchers) so the API works as deployed.
package servertest

import (
	"context"
	"io"
	"log/slog"
	"net/url"
	"testing"
	"time"

	"github.com/gofiber/fiber/v3"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"github.com/licensor/licensor/app/admins"
	"github.com/licensor/licensor/app/api/pipeline"
	"github.com/licensor/licensor/app/audit"
	"github.com/licensor/licensor/app/captcha"
	"github.com/licensor/licensor/app/catalog"
	"github.com/licensor/licensor/app/config"
	"github.com/licensor/licensor/app/db"
	"github.com/licensor/licensor/app/db/dbtest"
	"github.com/licensor/licensor/app/expiry"
	"github.com/licensor/licensor/app/extensions"
	"github.com/licensor/licensor/app/licensing"
	"github.com/licensor/licensor/app/notify"
	"github.com/licensor/licensor/app/pgnotify"
	"github.com/licensor/licensor/app/server"
	"github.com/licensor/licensor/app/settings"
	"github.com/licensor/licensor/app/signing"
	"github.com/licensor/licensor/app/web/webtest"
	"github.com/licensor/licensor/jobs"
	"github.com/licensor/licensor/plugins/host"
	"github.com/licensor/licensor/views"
)

// The admin account every Env has.
const (
	AdminName     = "Ann Admin"
	AdminEmail    = "ann@example.com"
	AdminPassword = "correct horse battery"
)

// InstanceSecret seals the test signing keys when the configuration has
// no instance secret.
const InstanceSecret = "servertest instance secret"

// Env is one test's database and the app built on it.
type Env struct {
	App    *fiber.App
	DB     *db.DB
	Config *config.Config
	Admin  *admins.Admin
	// Nodes are the apps built on the database (App is Nodes[0].App), each
	// with its per-node state.
	Nodes []*Node
}

// Node is one app and the per-node state main would give it.
type Node struct {
	App      *fiber.App
	Settings *settings.Store
	Products *catalog.Cache
	Signing  *signing.KeyRing
	Verifies *licensing.VerifyRecorder
	// Activations is verify's cache of activation states.
	Activations *licensing.ActivationCache
	Pipeline    *pipeline.Shared
	// Background work as main wires it, minus the workers: emails and
	// webhooks are queued (tests that need them sent start a River client
	// from package jobs); the manual cron's scanner; River's UI.
	Notify *notify.Notifier
	Expiry *expiry.Scanner
	// Plugins are the plugins of Config.Plugins.Dir (none unless a test
	// installs some there), killed when the test ends.
	Plugins *extensions.Service
	// Captcha is the node's CAPTCHA registry (built-in providers), where a
	// test can register a provider of its own.
	Captcha *captcha.Registry
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
	// Uploaded files land in the test's own folder.
	cfg.DataDir = t.TempDir()
	for _, f := range configure {
		f(&cfg)
	}
	e := &Env{DB: d, Config: &cfg, Admin: a}
	e.App = e.NewApp(t)
	return e
}

// NewApp builds another app on the same database and configuration: a
// second node behind the same load balancer. Its listener, recorder and
// batchers stop when the test ends.
func (e *Env) NewApp(t testing.TB) *fiber.App {
	t.Helper()
	return e.NewAppWith(t, nil)
}

// NewAppWith is NewApp with the server's dependencies changed by tweak
// before the app is built (a shorter timeout, say).
func (e *Env) NewAppWith(t testing.TB, tweak func(*server.Deps)) *fiber.App {
	t.Helper()
	ctx := context.Background()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	fail := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("servertest: %s: %v", what, err)
		}
	}
	secret := []byte(e.Config.InstanceSecret)
	if len(secret) == 0 {
		secret = []byte(InstanceSecret)
	}
	_, err := signing.EnsureKey(ctx, e.DB.Bun, secret, time.Now())
	fail("signing key", err)

	listener := pgnotify.New(e.DB.Pool, logger)
	n := &Node{Verifies: licensing.NewVerifyRecorder(e.DB.Bun, licensing.RecorderOptions{Logger: logger})}
	n.Settings, err = settings.NewStore(e.DB.Bun, listener)
	fail("settings", err)
	n.Products, err = catalog.NewCache(e.DB.Bun, listener)
	fail("product cache", err)
	n.Activations, err = licensing.NewActivationCache(listener, e.Config.API.VerifyCacheSize)
	fail("activation cache", err)
	n.Signing, err = signing.Load(ctx, e.DB.Bun, secret)
	fail("signing keys", err)
	fail("signing keys", n.Signing.Subscribe(listener, e.DB.Bun, logger))
	n.Pipeline, err = pipeline.NewShared(e.DB.Bun, listener, logger)
	fail("pipeline", err)
	n.Plugins = extensions.New(e.DB.Bun, host.New(host.Config{
		Dir: e.Config.Plugins.Dir, CallTimeout: e.Config.Plugins.CallTimeout, Logger: logger,
	}), secret, logger)
	t.Cleanup(n.Plugins.Host().Close)
	fail("plugins", n.Plugins.Subscribe(listener))
	fail("plugins", n.Plugins.Start(ctx))
	fail("listener", listener.Start(ctx))
	n.Verifies.Start(ctx)
	t.Cleanup(func() {
		_ = n.Verifies.Close(ctx)
		_ = n.Pipeline.Close(ctx)
		listener.Close()
	})

	n.Notify, err = notify.New(notify.Options{SQL: e.DB.SQL, Settings: n.Settings, Views: views.FS, BaseURL: e.Config.BaseURL})
	fail("notify", err)
	n.Captcha = captcha.NewRegistry(e.DB.Bun, nil)
	fail("captcha plugins", extensions.RegisterCaptchas(n.Captcha, n.Plugins))
	n.Expiry = expiry.NewScanner(e.DB.Bun, n.Notify.Mailer, n.Notify.Webhooks, nil)
	uiClient, err := river.NewClient(riverpgxv5.New(e.DB.Pool), &river.Config{Logger: logger})
	fail("river client", err)
	uiCtx, stopUI := context.WithCancel(ctx)
	t.Cleanup(stopUI)
	jobsUI, err := jobs.NewUI(uiCtx, uiClient, logger)
	fail("river ui", err)

	deps := server.Deps{
		Config: e.Config, DB: e.DB, Logger: logger,
		Settings: n.Settings, Products: n.Products, Signing: n.Signing, Verifies: n.Verifies, Activations: n.Activations, Pipeline: n.Pipeline,
		Notify: n.Notify, Expiry: n.Expiry, JobsUI: jobsUI, Plugins: n.Plugins, Captcha: n.Captcha,
	}
	if tweak != nil {
		tweak(&deps)
	}
	n.App, err = server.New(deps)
	fail("build app", err)
	e.Nodes = append(e.Nodes, n)
	return n.App
}

// SetSettings changes settings (key → value in text form, as the console
// sends them) and drops every node's cached snapshot, so the next request
// on any node sees the change without waiting for the notification.
func (e *Env) SetSettings(t testing.TB, changes map[string]string) {
	t.Helper()
	if _, err := settings.Set(context.Background(), e.DB.Bun, audit.Source{Actor: audit.System}, changes); err != nil {
		t.Fatalf("servertest: set settings: %v", err)
	}
	for _, n := range e.Nodes {
		n.Settings.Invalidate()
	}
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
