package dbtest

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/licensor/licensor/app/db"
)

// A seeded template is built once and every clone holds its rows; a
// different version is a different template.
func TestTemplateSeededOnce(t *testing.T) {
	t.Parallel()
	var seeds atomic.Int32
	tmpl := &Template{Name: "probe", Version: "1", Seed: func(ctx context.Context, d *db.DB) error {
		seeds.Add(1)
		_, err := d.Bun.ExecContext(ctx, `INSERT INTO kv_store (key, value) VALUES ('dbtest-probe', '\x01')`)
		return err
	}}
	for range 2 {
		d := NewFrom(t, tmpl)
		var n int
		if err := d.Bun.NewRaw(`SELECT count(*) FROM kv_store WHERE key = 'dbtest-probe'`).Scan(context.Background(), &n); err != nil || n != 1 {
			t.Fatalf("seeded rows %d %v", n, err)
		}
	}
	if n := seeds.Load(); n > 1 {
		t.Fatalf("seeded %d times", n)
	}
	a, _ := ensureTemplate(tmpl)
	b, _ := ensureTemplate(&Template{Name: "probe", Version: "2", Seed: tmpl.Seed})
	if a == b || !strings.HasPrefix(a, "licensor_tmpl_"+schemaID()+"_probe_") || len(b) > 63 {
		t.Fatalf("template names %q %q", a, b)
	}
	// A plain database has no seeded rows.
	var n int
	if err := New(t).Bun.NewRaw(`SELECT count(*) FROM kv_store`).Scan(context.Background(), &n); err != nil || n != 0 {
		t.Fatalf("plain database: %d rows %v", n, err)
	}
}

// The schema's identity covers River's migrations as this build links
// them, not a version string written by hand.
func TestSchemaIDCoversRiver(t *testing.T) {
	t.Parallel()
	ms := db.RiverMigrations()
	if len(ms) < 5 {
		t.Fatalf("river migrations: %d", len(ms))
	}
	for i, m := range ms {
		if m.Version != i+1 || strings.TrimSpace(m.SQLUp) == "" {
			t.Fatalf("river migration %d: version %d %q", i, m.Version, m.Name)
		}
	}
	if len(schemaID()) != 12 {
		t.Fatal(schemaID())
	}
}

// A test's database is made in ScratchTablespace when the server has it,
// else in the server's default; its template stays in the default.
func TestTestDatabasesInTheScratchTablespace(t *testing.T) {
	t.Parallel()
	d := New(t)
	ctx := context.Background()
	var has bool
	if err := d.Bun.NewRaw(`SELECT EXISTS (SELECT 1 FROM pg_tablespace WHERE spcname = ?)`, ScratchTablespace).Scan(ctx, &has); err != nil {
		t.Fatal(err)
	}
	want := "pg_default"
	if has {
		want = ScratchTablespace
	}
	var name string
	if err := d.Bun.NewRaw(`SELECT current_database()`).Scan(ctx, &name); err != nil {
		t.Fatal(err)
	}
	if got := databaseTablespace(t, d.Bun.DB, name); got != want {
		t.Fatalf("test database in tablespace %s, want %s", got, want)
	}
	tmpl, err := ensureTemplate(nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := databaseTablespace(t, d.Bun.DB, tmpl); got != "pg_default" {
		t.Fatalf("template in tablespace %s, want pg_default", got)
	}
}

// A scratch tablespace whose directory is gone (a tmpfs after a reboot)
// does not fail the tests: the database goes to the server's default
// tablespace, and so do the process's later ones.
func TestScratchTablespaceGoneFallsBackToTheDefault(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	admin, err := sql.Open("pgx", ServerURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = admin.Close() }) // after the drops below
	// The server's own user must own the tablespace's directory, so only a
	// root test process beside the server can make one.
	var dataDir string
	if err := admin.QueryRowContext(ctx, `SHOW data_directory`).Scan(&dataDir); err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(dataDir)
	if os.Geteuid() != 0 || err != nil {
		t.Skipf("needs root beside the server (data directory %s: %v)", dataDir, err)
	}
	st := info.Sys().(*syscall.Stat_t)
	dir, err := os.MkdirTemp("", "licensor-gone-tablespace-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	if err := os.Chown(dir, int(st.Uid), int(st.Gid)); err != nil {
		t.Fatal(err)
	}
	name := "licensor_gone_" + randomHex(4)
	if _, err := admin.ExecContext(ctx, fmt.Sprintf(`CREATE TABLESPACE %q LOCATION '%s'`, name, dir)); err != nil {
		t.Fatal(err)
	}
	var made []string
	t.Cleanup(func() {
		for _, db := range made {
			_, _ = admin.ExecContext(ctx, fmt.Sprintf(`DROP DATABASE IF EXISTS %q`, db))
		}
		_, _ = admin.ExecContext(ctx, fmt.Sprintf(`DROP TABLESPACE IF EXISTS %q`, name))
	})
	// What a reboot does to a tmpfs: the directory PostgreSQL made in the
	// tablespace is gone. (Taken before any database is made there: a live
	// database's files taken from under the server would fail its
	// checkpoints until they were back.)
	subs, err := os.ReadDir(dir)
	if err != nil || len(subs) != 1 {
		t.Fatalf("tablespace directory: %v %v", subs, err)
	}
	if err := os.RemoveAll(filepath.Join(dir, subs[0].Name())); err != nil {
		t.Fatal(err)
	}
	space := &scratchSpace{name: name}
	for range 2 {
		db := "licensor_e_" + randomHex(6)
		made = append(made, db)
		if err := space.create(ctx, admin, fmt.Sprintf(`CREATE DATABASE %q`, db)); err != nil {
			t.Fatalf("create %s: %v", db, err)
		}
		if ts := databaseTablespace(t, admin, db); ts != "pg_default" {
			t.Fatalf("database in %s after the directory went, want pg_default", ts)
		}
		if space.on.Load() {
			t.Fatal("the scratch tablespace is still on after it failed")
		}
	}
}

// databaseTablespace is the name of the tablespace database datname is in.
func databaseTablespace(t *testing.T, admin *sql.DB, datname string) string {
	t.Helper()
	var ts string
	if err := admin.QueryRowContext(context.Background(), `SELECT t.spcname FROM pg_database d JOIN pg_tablespace t ON t.oid = d.dattablespace WHERE d.datname = $1`, datname).Scan(&ts); err != nil {
		t.Fatal(err)
	}
	return ts
}

// Test databases are copied from their template file by file when the
// server has the choice and does not sync (the test server
// ensure-test-postgres.sh sets up), else the server's default way.
func TestTemplatesCopiedByFileOnAServerThatDoesNotSync(t *testing.T) {
	t.Parallel()
	d := New(t)
	var fileCopy bool
	if err := d.Bun.NewRaw(`SELECT current_setting('server_version_num')::int >= 150000 AND NOT current_setting('fsync')::bool`).Scan(context.Background(), &fileCopy); err != nil {
		t.Fatal(err)
	}
	want := ""
	if fileCopy {
		want = " STRATEGY FILE_COPY"
	}
	if scratch.strategy != want {
		t.Fatalf("strategy %q, want %q", scratch.strategy, want)
	}
}
