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
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver

	"github.com/licensor/licensor/app/db"
	"github.com/licensor/licensor/migrations"
)

// DefaultServerURL is used when LICENSOR_TEST_DATABASE_URL is not set.
const DefaultServerURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// templateLockKey serialises template creation across test processes.
const templateLockKey = 0x4c49435445535400

// Template is a database prepared once per server and content, which tests
// clone: the migrated schema, plus what Seed writes into it (the first
// admin and settings of a test node, say), so that every test starts from
// it without paying for it.
type Template struct {
	// Name tells templates apart in the database's name: a few lowercase
	// letters.
	Name string
	// Version names what Seed writes: change it (or anything it is derived
	// from) whenever Seed writes something else, so that a changed seed
	// gets a new template instead of a stale one.
	Version string
	// Seed writes the template's rows into a freshly migrated database.
	Seed func(ctx context.Context, d *db.DB) error
}

// templates holds each template's database name, built once per process.
var templates sync.Map // key string → *templateOnce

type templateOnce struct {
	once sync.Once
	name string
	err  error
}

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

// ScratchTablespace is the tablespace a test's own databases are created
// in when the server has it: scripts/ensure-test-postgres.sh makes it on a
// tmpfs on a server it administers. A database is hundreds of files, made
// when a test starts and deleted when it ends, and on a disk the file
// system's work for them (ext4 searching its inode bitmap past the inodes
// just freed) is waited for: one package's tests ran 15-35% faster with
// their databases on a tmpfs (docs/testing.md#how-long-it-takes). The
// templates stay in the server's default tablespace: they outlive a
// reboot, which empties a tmpfs.
const ScratchTablespace = "licensor_test"

// scratchSpace is a tablespace test databases are created in when the
// server has it: looked up once; off for good when it could not take a
// database.
type scratchSpace struct {
	name string
	once sync.Once
	on   atomic.Bool
	// strategy is how the server copies a template: FILE_COPY where it has
	// the choice (PostgreSQL 15 and later) and fsync is off. PostgreSQL
	// 15's default, WAL_LOG, reads the template block by block through the
	// shared buffers and writes each to the WAL: about 120 ms of the
	// server's CPU for an 11 MB test database on the slow machine, against
	// 13 ms to copy its files. FILE_COPY's checkpoint before the copy
	// costs little with fsync off, as scripts/ensure-test-postgres.sh
	// sets it; on a server that syncs, it would wait for the disk.
	strategy string
}

// scratch is this process's ScratchTablespace.
var scratch = &scratchSpace{name: ScratchTablespace}

// create runs create, a CREATE DATABASE of a test's own database, in the
// tablespace when the server has it, with the server's cheapest copy
// strategy. When the tablespace cannot take it
// (its directory gone with a reboot, until ensure-test-postgres.sh makes it
// again: SQLSTATE class 58; or dropped: 42704), the database is created in
// the server's default tablespace, as are the process's later ones.
func (s *scratchSpace) create(ctx context.Context, admin *sql.DB, create string) error {
	s.once.Do(func() {
		var ok, fileCopy bool
		err := admin.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM pg_tablespace WHERE spcname = $1),
			current_setting('server_version_num')::int >= 150000 AND NOT current_setting('fsync')::bool`, s.name).Scan(&ok, &fileCopy)
		s.on.Store(err == nil && ok)
		if err == nil && fileCopy {
			s.strategy = " STRATEGY FILE_COPY"
		}
	})
	create += s.strategy
	if s.on.Load() {
		_, err := admin.ExecContext(ctx, create+fmt.Sprintf(` TABLESPACE %q`, s.name))
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) || !(strings.HasPrefix(pgErr.Code, "58") || pgErr.Code == "42704") {
			return err
		}
		s.on.Store(false)
	}
	_, err := admin.ExecContext(ctx, create)
	return err
}

// NewDSN creates a fresh migrated database for t and returns its URL. The
// database is dropped when the test ends.
func NewDSN(t testing.TB) string {
	t.Helper()
	return NewDSNFrom(t, nil)
}

// NewDSNFrom is NewDSN cloning tmpl (nil: the migrated schema alone).
func NewDSNFrom(t testing.TB, tmpl *Template) string {
	t.Helper()
	source, err := ensureTemplate(tmpl)
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
		err = scratch.create(ctx, admin, fmt.Sprintf(`CREATE DATABASE %q TEMPLATE %q`, name, source))
		// Another process may still hold a connection to the template for a
		// moment after creating it; retry briefly.
		if err == nil || attempt > 50 || !strings.Contains(err.Error(), "being accessed by other users") {
			break
		}
		time.Sleep(100 * time.Millisecond) // nothing tells when the other connection goes
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
	// A test database need not survive a crash of the server: commits
	// return without waiting for the WAL to reach the disk, which under
	// many parallel tests is most of a commit's time. (Crash-safe all the
	// same: a crash loses the last commits, never consistency.)
	if _, err := admin.ExecContext(ctx, fmt.Sprintf(`ALTER DATABASE %q SET synchronous_commit = off`, name)); err != nil {
		t.Fatalf("dbtest: %v", err)
	}
	return WithDatabase(ServerURL(), name)
}

// New creates a fresh migrated database for t and opens it. Both are closed
// and dropped when the test ends.
func New(t testing.TB) *db.DB {
	t.Helper()
	return NewFrom(t, nil)
}

// NewFrom is New cloning tmpl (nil: the migrated schema alone).
func NewFrom(t testing.TB, tmpl *Template) *db.DB {
	t.Helper()
	dsn := NewDSNFrom(t, tmpl)
	d, err := db.Open(context.Background(), dsn, db.PoolOptions{MaxOpenConns: 10, MaxIdleConns: 2, ConnMaxLifetime: time.Hour})
	if err != nil {
		t.Fatalf("dbtest: open: %v", err)
	}
	// Registered after NewDSN's cleanup, so it runs first: close, then drop.
	t.Cleanup(func() { _ = d.Close() })
	return d
}

// ensureTemplate creates (once per server and content) the template
// database of tmpl and returns its name: the migrated schema alone for a
// nil tmpl, else cloned from that and seeded.
func ensureTemplate(tmpl *Template) (string, error) {
	name := "licensor_tmpl_" + schemaID()
	var seed func(context.Context, *db.DB) error
	from := ""
	if tmpl != nil {
		base, err := ensureTemplate(nil)
		if err != nil {
			return "", err
		}
		sum := sha256.Sum256([]byte(tmpl.Name + "\x00" + tmpl.Version))
		name, seed, from = base+"_"+tmpl.Name+"_"+hex.EncodeToString(sum[:])[:8], tmpl.Seed, base
	}
	v, _ := templates.LoadOrStore(name, &templateOnce{})
	o := v.(*templateOnce)
	o.once.Do(func() {
		o.name, o.err = createTemplate(name, from, seed)
	})
	return o.name, o.err
}

// createTemplate builds template name, unless it exists: migrated from
// scratch when from is empty, else cloned from from and seeded.
func createTemplate(name, from string, seed func(context.Context, *db.DB) error) (string, error) {
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
	// never leaves a half-built template behind under the real name.
	building := "licensor_building_" + randomHex(6)
	create := fmt.Sprintf(`CREATE DATABASE %q`, building)
	if from != "" {
		create += fmt.Sprintf(` TEMPLATE %q`, from)
	}
	if _, err := conn.ExecContext(ctx, create); err != nil {
		return "", fmt.Errorf("create template: %w", err)
	}
	d, err := db.Open(ctx, WithDatabase(ServerURL(), building), db.PoolOptions{MaxOpenConns: 4, MaxIdleConns: 1, ConnMaxLifetime: time.Minute})
	if err != nil {
		return "", err
	}
	if from == "" {
		_, err = db.Migrate(ctx, d)
	} else if seed != nil {
		err = seed(ctx, d)
	}
	_ = d.Close()
	if err != nil {
		_, _ = conn.ExecContext(context.Background(), fmt.Sprintf(`DROP DATABASE IF EXISTS %q WITH (FORCE)`, building))
		return "", fmt.Errorf("build template %s: %w", name, err)
	}
	if _, err := conn.ExecContext(ctx, fmt.Sprintf(`ALTER DATABASE %q RENAME TO %q`, building, name)); err != nil {
		return "", fmt.Errorf("rename template: %w", err)
	}
	return name, nil
}

var (
	schemaOnce sync.Once
	schema     string
)

// schemaID names the migrated schema after what builds it: Licensor's
// migration files and River's migrations as the River module resolved
// from go.mod carries them (their SQL, read from the migrator this build
// links), so a changed migration or a River upgrade gets a new template
// instead of a stale one.
func schemaID() string {
	schemaOnce.Do(func() {
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
			fmt.Fprintf(h, "licensor %s %d\n", n, len(b))
			h.Write(b)
		}
		for _, m := range db.RiverMigrations() {
			fmt.Fprintf(h, "river %d %s %d\n", m.Version, m.Name, len(m.SQLUp))
			h.Write([]byte(m.SQLUp))
		}
		schema = hex.EncodeToString(h.Sum(nil))[:12]
	})
	return schema
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
	if err := scratch.create(context.Background(), admin, fmt.Sprintf(`CREATE DATABASE %q`, name)); err != nil {
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
