package api_test

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/licensor/licensor/app/config"
	"github.com/licensor/licensor/app/db"
	"github.com/licensor/licensor/app/db/dbtest"
	"github.com/licensor/licensor/app/node"
	"github.com/licensor/licensor/app/server/servertest"
	"github.com/licensor/licensor/app/web/webtest"
)

func TestHealthCheckUp(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	c := e.Client(t)
	for _, path := range []string{"/api/health-check", "/api/health-check/"} {
		r := c.Get(path)
		if r.StatusCode != 200 || r.Body != `{"status":"ok","message":"Platform up & running!"}` {
			t.Errorf("GET %s: %d %s", path, r.StatusCode, r.Body)
		}
		if ct := r.Header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
			t.Errorf("GET %s: Content-Type %q", path, ct)
		}
	}
}

func TestHealthCheckDatabaseDown(t *testing.T) {
	t.Parallel()
	dsn := dbtest.NewDSN(t)
	d, err := db.Open(context.Background(), dsn, db.PoolOptions{MaxOpenConns: 4, MaxIdleConns: 2, ConnMaxLifetime: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close() })
	cfg := config.Defaults()
	cfg.DataDir = t.TempDir()
	n, err := node.Build(context.Background(), node.Options{Config: &cfg, DB: d, Secret: []byte(servertest.InstanceSecret)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close(context.Background()) })
	app, err := n.App(nil)
	if err != nil {
		t.Fatal(err)
	}
	c := webtest.New(t, app)
	if r := c.Get("/api/health-check"); r.StatusCode != 200 {
		t.Fatalf("before the outage: %d %s", r.StatusCode, r.Body)
	}

	// Take the database away under the open handles.
	u, _ := url.Parse(dsn)
	admin, err := sql.Open("pgx", dbtest.ServerURL())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = admin.Close() }()
	if _, err := admin.Exec(fmt.Sprintf(`DROP DATABASE %q WITH (FORCE)`, strings.TrimPrefix(u.Path, "/"))); err != nil {
		t.Fatal(err)
	}

	start := time.Now()
	r := c.Get("/api/health-check")
	if r.StatusCode != 503 || r.Body != `{"status":"unavailable","message":"Database unavailable."}` {
		t.Errorf("database down: %d %s", r.StatusCode, r.Body)
	}
	if time.Since(start) > 5*time.Second {
		t.Errorf("health check took %s with the database down", time.Since(start))
	}
}

func TestAPIErrorsAreJSON(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	c := e.Client(t)
	tests := []struct {
		method, path string
		status       int
		body         string
	}{
		{"GET", "/api/no-such-endpoint", 404, `{"status":false,"is_active":false,"message":"Not found."}`},
		{"GET", "/api", 404, `{"status":false,"is_active":false,"message":"Not found."}`},
		{"POST", "/api/health-check", 405, `{"status":false,"is_active":false,"message":"Method not allowed."}`},
	}
	for _, tt := range tests {
		var r *webtest.Response
		if tt.method == "POST" {
			r = c.PostForm(tt.path, nil)
		} else {
			r = c.Get(tt.path)
		}
		if r.StatusCode != tt.status || r.Body != tt.body {
			t.Errorf("%s %s: %d %s, want %d %s", tt.method, tt.path, r.StatusCode, r.Body, tt.status, tt.body)
		}
		if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
			t.Errorf("%s %s: Content-Type %q", tt.method, tt.path, r.Header.Get("Content-Type"))
		}
	}
}
