// Package servertest builds the real Licensor app for HTTP tests: a node
// composed by app/node exactly as `licensor serve` composes it, on a fresh
// test database cloned from a template that already holds one admin, with
// helpers to sign in without paying for the sign-in form each time.
package servertest

import (
	"context"
	"io"
	"log/slog"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gofiber/fiber/v3"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"github.com/licensor/licensor/app/admin"
	"github.com/licensor/licensor/app/admins"
	"github.com/licensor/licensor/app/audit"
	"github.com/licensor/licensor/app/config"
	"github.com/licensor/licensor/app/db"
	"github.com/licensor/licensor/app/db/dbtest"
	"github.com/licensor/licensor/app/mail"
	"github.com/licensor/licensor/app/mail/mailtest"
	"github.com/licensor/licensor/app/node"
	"github.com/licensor/licensor/app/portal"
	"github.com/licensor/licensor/app/server"
	"github.com/licensor/licensor/app/settings"
	"github.com/licensor/licensor/app/web"
	"github.com/licensor/licensor/app/web/webtest"
	"github.com/licensor/licensor/jobs"
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

// Template is the database every Env starts from: migrated, with the
// admin above. Its version names what Seed writes: change it with Seed.
var Template = &dbtest.Template{
	Name:    "node",
	Version: "1 " + AdminName + " " + AdminEmail + " " + AdminPassword,
	Seed: func(ctx context.Context, d *db.DB) error {
		_, err := admins.Create(ctx, d.Bun, AdminName, AdminEmail, AdminPassword)
		return err
	},
}

// Env is one test's database and the app built on it.
type Env struct {
	App    *fiber.App
	DB     *db.DB
	Config *config.Config
	Admin  *admins.Admin
	// Nodes are the apps built on the database (App is Nodes[0].App), each
	// with its node's services.
	Nodes []*Node

	// sessions is the small app SignIn starts sessions on; starts are the
	// start functions of the sessions being started, by key.
	sessionsOnce sync.Once
	sessions     *fiber.App
	starts       *sync.Map
	lastStart    atomic.Int64
	// now is every node's clock (node.Options.Now); nil: the real one.
	now func() time.Time
}

// Node is one node as `licensor serve` composes it (app/node), minus the
// workers (tests that need jobs run start a River client with the
// node's JobDeps, e.g. StartMailWorker), and its app.
type Node struct {
	*node.Node
	App *fiber.App
}

// New creates a database from Template and builds the app on it with the
// default configuration, changed by each of configure.
func New(t testing.TB, configure ...func(*config.Config)) *Env {
	t.Helper()
	return NewWithClock(t, nil, configure...)
}

// NewWithClock is New with every node of the Env on the clock now
// (node.Options.Now, as serve's nodes are on time.Now): their services,
// rate limits, console, portal and API read it, not the wall clock. Use a
// Clock to move it.
func NewWithClock(t testing.TB, now func() time.Time, configure ...func(*config.Config)) *Env {
	t.Helper()
	d := dbtest.NewFrom(t, Template)
	var a admins.Admin
	if err := d.Bun.NewSelect().Model(&a).Where("email = ?", AdminEmail).Scan(context.Background()); err != nil {
		t.Fatalf("servertest: the template's admin: %v", err)
	}
	cfg := config.Defaults()
	// Uploaded files land in the test's own folder.
	cfg.DataDir = t.TempDir()
	for _, f := range configure {
		f(&cfg)
	}
	e := &Env{DB: d, Config: &cfg, Admin: &a, now: now}
	e.App = e.NewApp(t)
	return e
}

// Clock is a test's clock (NewWithClock): it stands still until the test
// moves it, and any goroutine may read it.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a clock standing at t.
func NewClock(t time.Time) *Clock { return &Clock{t: t} }

// Now is the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Add moves the clock by d.
func (c *Clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// NewOn builds the app on d, a migrated database the test made itself (on
// a cluster of its own, with replicas, say), creating servertest's admin
// in it; the test closes d.
func NewOn(t testing.TB, d *db.DB, configure ...func(*config.Config)) *Env {
	t.Helper()
	a, err := CreateAdmin(d, AdminName, AdminEmail, AdminPassword)
	if err != nil {
		t.Fatalf("servertest: create the admin: %v", err)
	}
	cfg := config.Defaults()
	cfg.DataDir = t.TempDir()
	for _, f := range configure {
		f(&cfg)
	}
	e := &Env{DB: d, Config: &cfg, Admin: a}
	e.App = e.NewApp(t)
	return e
}

// NewApp builds another node on the same database and configuration: a
// second node behind the same load balancer. Its listener, recorder,
// batchers and plugins stop when the test ends.
func (e *Env) NewApp(t testing.TB) *fiber.App {
	t.Helper()
	return e.NewAppWith(t, nil)
}

// NewAppWith is NewApp with the server's dependencies changed by tweak
// before the app is built (a shorter timeout, say).
func (e *Env) NewAppWith(t testing.TB, tweak func(*server.Deps)) *fiber.App {
	t.Helper()
	return e.newApp(t, e.DB, tweak)
}

// NewRemoteApp builds another node on the same database through pools of
// its own, as a node in another process is: it learns of changes made
// through the other nodes only by NOTIFY, since their write fence
// (pgnotify.Listener.FollowWrites) counts their own pools' writes.
func (e *Env) NewRemoteApp(t testing.TB) *fiber.App {
	t.Helper()
	d, err := db.Open(context.Background(), e.DB.DSN, db.PoolOptions{MaxOpenConns: 8, MaxIdleConns: 4, ConnMaxLifetime: time.Hour})
	if err != nil {
		t.Fatalf("servertest: open the remote node's pools: %v", err)
	}
	t.Cleanup(func() { _ = d.Close() })
	return e.newApp(t, d, nil)
}

// NewAppOn builds another node on pools the test opened (through a
// connection pooler, say); the test closes them.
func (e *Env) NewAppOn(t testing.TB, d *db.DB) *fiber.App {
	t.Helper()
	return e.newApp(t, d, nil)
}

// newApp builds a node on d.
func (e *Env) newApp(t testing.TB, d *db.DB, tweak func(*server.Deps)) *fiber.App {
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
	nd, err := node.Build(ctx, node.Options{Config: e.Config, DB: d, Secret: secret, Logger: logger, Now: e.now})
	fail("build node", err)
	t.Cleanup(func() {
		stop, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		nd.Close(stop)
	})
	fail("start node", nd.Start(ctx))

	// River's UI reads through a client of its own: the test's workers,
	// if any, are started by the test.
	uiClient, err := river.NewClient(riverpgxv5.New(d.Pool), &river.Config{Logger: logger})
	fail("river client", err)
	uiCtx, stopUI := context.WithCancel(ctx)
	t.Cleanup(stopUI)
	jobsUI, err := jobs.NewUI(uiCtx, uiClient, logger)
	fail("river ui", err)

	deps := nd.ServerDeps(jobsUI)
	if tweak != nil {
		tweak(&deps)
	}
	n := &Node{Node: nd}
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
	return e.SignInAs(t, e.Admin.ID)
}

// SignInAs returns a client signed in as admin id. The session is started
// directly, as the sign-in form starts it once the password checked out
// (admin.StartSession), which spares each test the password hash;
// TestLogin (app/admin) signs in through the form. The client holds the
// session's CSRF token, ready to post forms.
func (e *Env) SignInAs(t testing.TB, id int64) *webtest.Client {
	t.Helper()
	c := e.Client(t)
	e.startSession(t, c, "/admin", func(ctx fiber.Ctx) error {
		return admin.StartSession(ctx, e.DB.Bun, e.settings(t), id)
	})
	return c
}

// SignInForm signs in as the Env's admin through the sign-in form, as a
// person does.
func (e *Env) SignInForm(t testing.TB) *webtest.Client {
	t.Helper()
	c := e.Client(t)
	c.GetCSRF("/admin/login")
	r := c.PostForm("/admin/login", url.Values{"email": {AdminEmail}, "password": {AdminPassword}})
	if r.StatusCode != fiber.StatusSeeOther {
		t.Fatalf("servertest: sign in: status %d, body %s", r.StatusCode, r.Body)
	}
	return c
}

// SignInCustomer returns a client of the portal signed in as customer
// id, the session started directly as the portal's sign-in form starts it
// (portal.StartSession).
func (e *Env) SignInCustomer(t testing.TB, id int64) *webtest.Client {
	t.Helper()
	c := e.Client(t)
	e.startSession(t, c, "/customer", func(ctx fiber.Ctx) error {
		return portal.StartSession(ctx, e.DB.Bun, e.settings(t), id, false)
	})
	return c
}

// settings are the settings as the first node sees them.
func (e *Env) settings(t testing.TB) *settings.Values {
	t.Helper()
	set, err := e.Nodes[0].Settings.Get(context.Background())
	if err != nil {
		t.Fatalf("servertest: settings: %v", err)
	}
	return set
}

// startSession runs start in a request through the session and CSRF
// middleware of the console or the portal (group "/admin" or "/customer"),
// on a small app of its own sharing the session storage (PostgreSQL) with
// every node, and hands c the session's cookies and CSRF token.
func (e *Env) startSession(t testing.TB, c *webtest.Client, group string, start func(fiber.Ctx) error) {
	t.Helper()
	e.sessionsOnce.Do(func() {
		app := fiber.New()
		adminMW, err := server.AdminMiddleware(e.Config, e.DB)
		if err != nil {
			t.Fatalf("servertest: %v", err)
		}
		portalMW, err := server.PortalMiddleware(e.Config, e.DB)
		if err != nil {
			t.Fatalf("servertest: %v", err)
		}
		var starts sync.Map
		handler := func(c fiber.Ctx) error {
			f, _ := starts.Load(c.Query("start"))
			if err := f.(func(fiber.Ctx) error)(c); err != nil {
				return err
			}
			return c.SendString(web.CSRFToken(c))
		}
		app.Group("/admin", adminMW...).Get("/servertest-session", handler)
		app.Group("/customer", portalMW...).Get("/servertest-session", handler)
		e.sessions = app
		e.starts = &starts
	})
	key := strconv.FormatInt(e.lastStart.Add(1), 10)
	e.starts.Store(key, start)
	defer e.starts.Delete(key)
	r := webtest.New(t, e.sessions, webtest.WithJar(c.Jar)).Get(group + "/servertest-session?start=" + key)
	if r.StatusCode != fiber.StatusOK || r.Body == "" {
		t.Fatalf("servertest: start a session: %d %s", r.StatusCode, r.Body)
	}
	c.CSRF = r.Body
}

// StartMailWorker runs a River client with the node's send_mail worker,
// delivering to an in-process SMTP server, and its password_reset worker
// (which queues the reset emails of forgot-password and of registrations
// with a known address), until the test ends; it
// returns the server. It polls often, so an email arrives within a moment
// of being queued.
func (e *Env) StartMailWorker(t testing.TB) *mailtest.Server {
	t.Helper()
	smtp := mailtest.Start(t)
	transport, err := mail.ParseSMTPURL(smtp.URL())
	if err != nil {
		t.Fatalf("servertest: smtp url: %v", err)
	}
	all := e.Nodes[0].JobDeps(transport, slog.New(slog.NewTextHandler(io.Discard, nil)))
	e.StartWorkers(t, MailJobs(all))
	return smtp
}

// MailJobs are the workers of all (a node's JobDeps) whose jobs end in an
// email: send_mail and password_reset. StartMailWorker and the browser
// harness both run this one list, so a new job kind that sends mail is
// added here once.
func MailJobs(all jobs.Deps) jobs.Deps {
	return jobs.Deps{Logger: all.Logger, Mail: all.Mail, PasswordReset: all.PasswordReset}
}

// StartWorkers runs a River client with the workers of deps (take them
// from a node's JobDeps) until the test ends, polling often.
func (e *Env) StartWorkers(t testing.TB, deps jobs.Deps) {
	t.Helper()
	client, err := jobs.NewClient(e.DB.Pool, deps, jobs.Options{Workers: 4, FetchPoll: 20 * time.Millisecond})
	if err != nil {
		t.Fatalf("servertest: river client: %v", err)
	}
	// Their runs show on the first node's /metrics.
	e.Nodes[0].CountJobs(client)
	if err := client.Start(context.Background()); err != nil {
		t.Fatalf("servertest: start river: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = client.Stop(ctx)
	})
}
