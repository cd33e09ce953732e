package dbtest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/licensor/licensor/app/db"
	"github.com/licensor/licensor/test/eventually"
	"github.com/licensor/licensor/test/freeport"
)

// Replicated is a private PostgreSQL primary with one streaming replica,
// started for one test (initdb and pg_basebackup -R into t.TempDir(), on
// free ports) and stopped when it ends.
type Replicated struct {
	// PrimaryURL and ReplicaURL name database "licensor" on each.
	PrimaryURL, ReplicaURL string

	t       testing.TB
	bin     string
	cred    *syscall.Credential
	replica string // the replica's data folder
}

// StartReplicated starts the primary and its replica. It is slow (two
// clusters): callers skip it under testing.Short.
func StartReplicated(t testing.TB) *Replicated {
	t.Helper()
	bin, err := db.FindPostgresBin("")
	if err != nil {
		t.Skipf("no PostgreSQL binaries: %v", err)
	}
	r := &Replicated{t: t, bin: bin}
	base := t.TempDir()
	if os.Geteuid() == 0 {
		// PostgreSQL refuses root: run it as postgres, through folders it
		// may enter.
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Skip("running as root with no postgres user")
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		r.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		for d := base; d != "/" && d != os.TempDir(); d = filepath.Dir(d) {
			if err := os.Chmod(d, 0o755); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.Chown(base, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	primary := filepath.Join(base, "primary")
	r.replica = filepath.Join(base, "replica")
	pport, rport := freeport.Port(t), freeport.Port(t)

	r.run("initdb", "-D", primary, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")
	conf := fmt.Sprintf("\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = ''\nwal_level = replica\n"+
		"max_wal_senders = 4\nfsync = off\nsynchronous_commit = off\nshared_buffers = 16MB\nmax_connections = 60\n"+
		"hot_standby = on\nport = %d\n", pport)
	appendFile(t, filepath.Join(primary, "postgresql.conf"), conf)
	appendFile(t, filepath.Join(primary, "pg_hba.conf"), "\nhost replication all 127.0.0.1/32 trust\n")
	r.run("pg_ctl", "-D", primary, "-l", filepath.Join(base, "primary.log"), "-w", "start")
	t.Cleanup(func() { r.stop(primary) })
	r.PrimaryURL = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/licensor?sslmode=disable", pport)
	admin := fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", pport)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		t.Fatalf("dbtest: connect to the primary: %v", err)
	}
	_, err = conn.Exec(ctx, "CREATE DATABASE licensor")
	_ = conn.Close(ctx)
	if err != nil {
		t.Fatal(err)
	}

	r.run("pg_basebackup", "-h", "127.0.0.1", "-p", strconv.Itoa(pport), "-U", "postgres", "-D", r.replica, "-R", "-X", "stream", "-c", "fast", "--no-sync")
	appendFile(t, filepath.Join(r.replica, "postgresql.conf"), fmt.Sprintf("\nport = %d\n", rport))
	r.StartReplica()
	t.Cleanup(func() { r.stop(r.replica) })
	r.ReplicaURL = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/licensor?sslmode=disable", rport)
	return r
}

// StartReplica starts the replica (again).
func (r *Replicated) StartReplica() {
	r.t.Helper()
	r.run("pg_ctl", "-D", r.replica, "-l", filepath.Join(filepath.Dir(r.replica), "replica.log"), "-w", "start")
}

// StopReplica stops the replica at once, as a crash or a failed machine
// would (immediate mode: its connections are cut).
func (r *Replicated) StopReplica() {
	r.t.Helper()
	r.run("pg_ctl", "-D", r.replica, "-m", "immediate", "-w", "stop")
}

func (r *Replicated) stop(dir string) {
	cmd := exec.Command(filepath.Join(r.bin, "pg_ctl"), "-D", dir, "-m", "immediate", "-w", "stop")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: r.cred}
	_ = cmd.Run() // already stopped is fine
}

func (r *Replicated) run(name string, args ...string) {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(r.bin, name), args...)
	if r.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: r.cred}
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		r.t.Fatalf("dbtest: %s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
}

func appendFile(t testing.TB, path, text string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	if _, err := f.WriteString(text); err != nil {
		t.Fatal(err)
	}
}

// Open opens the primary with the replica as its read pool (maxLag its
// database.replica_max_lag, the lag asked every 50 ms), migrated, and
// waits until the replica has replayed the migrations and is in use. The
// handle is closed when the test ends.
func (r *Replicated) Open(maxLag time.Duration) *db.DB {
	r.t.Helper()
	return r.OpenVia(r.PrimaryURL, maxLag)
}

// OpenVia is Open with the primary's pools reached at url — a PgBouncer
// in front of PrimaryURL, say (docs/deploy.md#connection-poolers) — and
// the direct pool (listener, River, the migrations' lock) on PrimaryURL;
// the replica is reached directly, as docs/deploy.md#topologies says.
func (r *Replicated) OpenVia(url string, maxLag time.Duration) *db.DB {
	r.t.Helper()
	ctx := context.Background()
	d, err := db.Open(ctx, url, db.PoolOptions{
		MaxOpenConns: 8, MaxIdleConns: 8, ConnMaxLifetime: time.Hour, DirectURL: r.PrimaryURL,
		Replicas: db.ReplicaOptions{URLs: []string{r.ReplicaURL}, MaxLag: maxLag, Every: 50 * time.Millisecond},
	})
	if err != nil {
		r.t.Fatal(err)
	}
	r.t.Cleanup(func() { _ = d.Close() })
	if _, err := db.Migrate(ctx, d); err != nil {
		r.t.Fatal(err)
	}
	// The replica has every migration once it has replayed them; the
	// watcher then finds it healthy within 50 ms.
	eventually.True(r.t, 30*time.Second, "the replica has the migrations and is in use", func() bool {
		if !d.Replicas.Status()[0].Healthy {
			return false
		}
		var onReplica, onPrimary int
		q := "SELECT count(*) FROM licensor_migrations WHERE migrated_at IS NOT NULL AND pg_is_in_recovery() = ?"
		if d.Reader().NewRaw(q, true).Scan(ctx, &onReplica) != nil || d.Bun.NewRaw(q, false).Scan(ctx, &onPrimary) != nil {
			return false
		}
		return onReplica == onPrimary
	})
	return d
}

// PauseReplay stops the replica's replay (pg_wal_replay_pause): it keeps
// answering reads from the moment of the pause, so a row written since
// is on the primary only, which is how a test tells where a read went.
func (r *Replicated) PauseReplay() { r.replay("pause") }

// ResumeReplay resumes the replica's replay.
func (r *Replicated) ResumeReplay() { r.replay("resume") }

func (r *Replicated) replay(what string) {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, r.ReplicaURL)
	if err != nil {
		r.t.Fatalf("dbtest: connect to the replica: %v", err)
	}
	defer func() { _ = conn.Close(ctx) }()
	if _, err := conn.Exec(ctx, "SELECT pg_wal_replay_"+what+"()"); err != nil {
		r.t.Fatalf("dbtest: replay %s: %v", what, err)
	}
}
