// Package dbtest hands each test a freshly migrated PostgreSQL database,
// cloned from a template database so that a test pays for CREATE DATABASE,
// not for running every migration.
//
// The server is LICENSOR_TEST_DATABASE_URL, by default the machine's local
// PostgreSQL (postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable).
package dbtest

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver

	"github.com/licensor/licensor/app/db"
	"github.com/licensor/licensor/migrations"
)

// DefaultServerURL is used when LICENSOR_TEST_DATABASE_URL is not set.
const DefaultServerURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// templateLockKey serialises template creation across test processes.
const templateLockKey = 0x4c49435445535400

var (
	templateOnce sync.Once
	templateName string
	templateErr  error
)

// ServerURL is the maintenance database URL tests connect to.
func ServerURL() string {
	if u := os.Getenv("LICENSOR_TEST_DATABASE_URL"); u != "" {
		return u
	}
	return DefaultServerURL
}

// WithDatabase returns u with its database name replaced.
func WithDatabase(u, name string) string {
	parsed, err := url.Parse(u)
	if err != nil {
		panic(fmt.Sprintf("dbtest: bad server url %q: %v", u, err))
	}
	parsed.Path = "/" + name
	return parsed.String()
}

// NewDSN creates a fresh migrated database for t and returns its URL. The
// database is dropped when the test ends.
func NewDSN(t testing.TB) string {
	t.Helper()
	tmpl, err := ensureTemplate()
	if err != nil {
		t.Fatalf("dbtest: prepare template: %v", err)
	}
	admin, err := sql.Open("pgx", ServerURL())
	if err != nil {
		t.Fatalf("dbtest: %v", err)
	}
	defer admin.Close()

	name := "licensor_t_" + randomHex(6)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for attempt := 0; ; attempt++ {
		_, err = admin.ExecContext(ctx, fmt.Sprintf(`CREATE DATABASE %q TEMPLATE %q`, name, tmpl))
		// Another process may still hold a connection to the template for a
		// moment after creating it; retry briefly.
		if err == nil || attempt > 50 || !strings.Contains(err.Error(), "being accessed by other users") {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("dbtest: create database: %v", err)
	}
	t.Cleanup(func() {
		a, err := sql.Open("pgx", ServerURL())
		if err != nil {
			return
		}
		defer a.Close()
		_, _ = a.Exec(fmt.Sprintf(`DROP DATABASE IF EXISTS %q WITH (FORCE)`, name))
	})
	return WithDatabase(ServerURL(), name)
}

// New creates a fresh migrated database for t and opens it. Both are closed
// and dropped when the test ends.
func New(t testing.TB) *db.DB {
	t.Helper()
	dsn := NewDSN(t)
	d, err := db.Open(context.Background(), dsn, db.PoolOptions{MaxOpenConns: 20, MaxIdleConns: 5, ConnMaxLifetime: time.Hour})
	if err != nil {
		t.Fatalf("dbtest: open: %v", err)
	}
	// Registered after NewDSN's cleanup, so it runs first: close, then drop.
	t.Cleanup(func() { _ = d.Close() })
	return d
}

// ensureTemplate creates (once per server and migration set) a migrated
// template database and returns its name.
func ensureTemplate() (string, error) {
	templateOnce.Do(func() {
		templateName, templateErr = createTemplate()
	})
	return templateName, templateErr
}

func createTemplate() (string, error) {
	name := "licensor_tmpl_" + migrationsHash()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	admin, err := sql.Open("pgx", ServerURL())
	if err != nil {
		return "", err
	}
	defer admin.Close()
	conn, err := admin.Conn(ctx)
	if err != nil {
		return "", fmt.Errorf("connect to %s: %w", ServerURL(), err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock($1)", templateLockKey); err != nil {
		return "", err
	}
	defer conn.ExecContext(context.Background(), "SELECT pg_advisory_unlock($1)", templateLockKey) //nolint:errcheck

	var exists bool
	if err := conn.QueryRowContext(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		return "", err
	}
	if exists {
		return name, nil
	}
	// Build under a temporary name and rename at the end, so a crash halfway
	// never leaves a half-migrated template behind under the real name.
	building := name + "_building"
	if _, err := conn.ExecContext(ctx, fmt.Sprintf(`DROP DATABASE IF EXISTS %q WITH (FORCE)`, building)); err != nil {
		return "", err
	}
	if _, err := conn.ExecContext(ctx, fmt.Sprintf(`CREATE DATABASE %q`, building)); err != nil {
		return "", fmt.Errorf("create template: %w", err)
	}
	d, err := db.Open(ctx, WithDatabase(ServerURL(), building), db.PoolOptions{MaxOpenConns: 4, MaxIdleConns: 1, ConnMaxLifetime: time.Minute})
	if err != nil {
		return "", err
	}
	_, merr := db.Migrate(ctx, d)
	_ = d.Close()
	if merr != nil {
		return "", fmt.Errorf("migrate template: %w", merr)
	}
	if _, err := conn.ExecContext(ctx, fmt.Sprintf(`ALTER DATABASE %q RENAME TO %q`, building, name)); err != nil {
		return "", fmt.Errorf("rename template: %w", err)
	}
	return name, nil
}

// migrationsHash names the template after the migration files, so a changed
// migration gets a new template instead of a stale one.
func migrationsHash() string {
	h := sha256.New()
	var names []string
	_ = fs.WalkDir(migrations.FS, ".", func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			names = append(names, path)
		}
		return nil
	})
	sort.Strings(names)
	for _, n := range names {
		b, _ := fs.ReadFile(migrations.FS, n)
		h.Write([]byte(n))
		h.Write(b)
	}
	// River's schema version is part of the template too.
	h.Write([]byte("river-v0.51.2"))
	return hex.EncodeToString(h.Sum(nil))[:12]
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// NewEmptyDSN creates an empty (unmigrated) database for t and returns its
// URL, for tests of the migrator itself. It is dropped when the test ends.
func NewEmptyDSN(t testing.TB) string {
	t.Helper()
	admin, err := sql.Open("pgx", ServerURL())
	if err != nil {
		t.Fatalf("dbtest: %v", err)
	}
	defer admin.Close()
	name := "licensor_e_" + randomHex(6)
	if _, err := admin.Exec(fmt.Sprintf(`CREATE DATABASE %q`, name)); err != nil {
		t.Fatalf("dbtest: create empty database: %v", err)
	}
	t.Cleanup(func() {
		a, err := sql.Open("pgx", ServerURL())
		if err != nil {
			return
		}
		defer a.Close()
		_, _ = a.Exec(fmt.Sprintf(`DROP DATABASE IF EXISTS %q WITH (FORCE)`, name))
	})
	return WithDatabase(ServerURL(), name)
}
