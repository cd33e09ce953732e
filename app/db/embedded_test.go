package db_test

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/licensor/licensor/app/db"
)

func TestEmbeddedFindPostgresBinBogus(t *testing.T) {
	_, err := db.FindPostgresBin(filepath.Join(t.TempDir(), "no-such-bin"))
	if !errors.Is(err, db.ErrPostgresNotFound) {
		t.Fatalf("want ErrPostgresNotFound, got %v", err)
	}
	if !strings.Contains(err.Error(), "apt-get install -y postgresql") {
		t.Fatalf("the error must say what to install: %v", err)
	}
}

// TestEmbeddedSocket runs the whole life of a cluster in a short folder,
// where it listens on a unix socket only.
func TestEmbeddedSocket(t *testing.T) {
	requirePostgres(t)
	t.Parallel()
	dir, err := os.MkdirTemp("/tmp", "lic")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	lifecycle(t, filepath.Join(dir, "postgres"), true)
}

// TestEmbeddedTCPFallback uses a folder too deep for a unix socket path, so
// the cluster listens on 127.0.0.1 instead.
func TestEmbeddedTCPFallback(t *testing.T) {
	requirePostgres(t)
	t.Parallel()
	dir := filepath.Join(reachableTempDir(t), strings.Repeat("deep", 20), "postgres")
	if len(filepath.Join(dir, "run", ".s.PGSQL.5432")) <= 107 {
		t.Fatalf("test folder %s is not long enough", dir)
	}
	lifecycle(t, dir, false)
}

func lifecycle(t *testing.T, dir string, wantSocket bool) {
	ctx := context.Background()
	c := startEmbedded(t, dir)
	dsn := c.DSN()
	if got := strings.Contains(dsn, "host=%2F"); got != wantSocket {
		t.Fatalf("socket DSN: want %v, got %s", wantSocket, dsn)
	}
	if !wantSocket && !strings.Contains(dsn, "@127.0.0.1:") {
		t.Fatalf("want a TCP DSN, got %s", dsn)
	}
	fi, err := os.Stat(filepath.Join(dir, "password"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("password file: %v %v", fi, err)
	}
	checkPostmaster(t, dir)

	d, err := db.Open(ctx, dsn, db.PoolOptions{MaxOpenConns: 4})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Migrate(ctx, d); err != nil {
		t.Fatal(err)
	}
	requireTable(t, d, "admins")
	_ = d.Close()
	if err := c.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.Stop(ctx); err != nil {
		t.Fatalf("second Stop: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "data", "postmaster.pid")); !os.IsNotExist(err) {
		t.Fatalf("postmaster.pid after Stop: %v", err)
	}

	// Started again: same cluster, same password, data kept.
	c2 := startEmbedded(t, dir)
	if pw(t, c2.DSN()) != pw(t, dsn) {
		t.Fatal("password changed between starts")
	}
	d, err = db.Open(ctx, c2.DSN(), db.PoolOptions{MaxOpenConns: 4})
	if err != nil {
		t.Fatal(err)
	}
	requireTable(t, d, "admins")
	res, err := db.Migrate(ctx, d)
	if err != nil || len(res.Applied) != 0 {
		t.Fatalf("migrations on a reused cluster: %v %v", res, err)
	}
	_ = d.Close()
	if err := c2.Stop(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestEmbeddedReuseRunning starts a second Cluster on a folder whose server
// already runs: it connects to it and leaves it running on Stop, unless the
// process that started the server has exited.
func TestEmbeddedReuseRunning(t *testing.T) {
	requirePostgres(t)
	t.Parallel()
	ctx := context.Background()
	dir := filepath.Join(reachableTempDir(t), "postgres")
	c1 := startEmbedded(t, dir)
	c2 := startEmbedded(t, dir)
	if c1.DSN() != c2.DSN() {
		t.Fatalf("DSNs differ: %s vs %s", c1.DSN(), c2.DSN())
	}
	if err := c2.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	d, err := db.Open(ctx, c1.DSN(), db.PoolOptions{})
	if err != nil {
		t.Fatalf("Stop of the reusing cluster stopped the server: %v", err)
	}
	_ = d.Close()

	// The process that started it is gone (a killed Licensor, here still a
	// zombie nobody reaped): the next one adopts the server and stops it.
	killed := exec.Command("true")
	if err := killed.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = killed.Wait() }()
	// Polled: nothing tells when the exited process has become a zombie.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		stat, _ := os.ReadFile("/proc/" + strconv.Itoa(killed.Process.Pid) + "/stat")
		if strings.Contains(string(stat), ") Z") || time.Now().After(deadline) {
			break
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "owner"), []byte(strconv.Itoa(killed.Process.Pid)), 0o644); err != nil {
		t.Fatal(err)
	}
	c3 := startEmbedded(t, dir)
	if err := c3.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "data", "postmaster.pid")); !os.IsNotExist(err) {
		t.Fatalf("the adopting cluster did not stop the server: %v", err)
	}
	if err := c1.Stop(ctx); err != nil {
		t.Fatalf("Stop after another process stopped the server: %v", err)
	}
}

// TestEmbeddedStalePidFile starts over a postmaster.pid left by a crash:
// first naming a dead process, then a live process that is not postgres
// (a reused pid).
func TestEmbeddedStalePidFile(t *testing.T) {
	requirePostgres(t)
	t.Parallel()
	ctx := context.Background()
	dir := filepath.Join(reachableTempDir(t), "postgres")
	pidFile := filepath.Join(dir, "data", "postmaster.pid")

	c := startEmbedded(t, dir)
	stale, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	leave := func(content []byte) {
		t.Helper()
		if err := os.WriteFile(pidFile, content, 0o600); err != nil {
			t.Fatal(err)
		}
		if os.Geteuid() == 0 {
			u := postgresUser(t)
			if err := os.Chown(pidFile, int(u.Uid), int(u.Gid)); err != nil {
				t.Fatal(err)
			}
		}
	}

	// The recorded process has exited (postgres replaces such a file).
	gone := exec.Command("true")
	if err := gone.Run(); err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitN(string(stale), "\n", 2)
	leave([]byte(strconv.Itoa(gone.Process.Pid) + "\n" + lines[1]))
	c = startEmbedded(t, dir)
	if err := c.Stop(ctx); err != nil {
		t.Fatal(err)
	}

	// A live process of the same user as postgres holds the recorded pid.
	sleeper := exec.Command("sleep", "60")
	if os.Geteuid() == 0 {
		sleeper.SysProcAttr = &syscall.SysProcAttr{Credential: postgresUser(t)}
	}
	if err := sleeper.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sleeper.Process.Kill(); _ = sleeper.Wait() })
	leave([]byte(strconv.Itoa(sleeper.Process.Pid) + "\n" + lines[1]))
	c = startEmbedded(t, dir)
	if err := c.Stop(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestEmbeddedUnreachableAsRoot: as root, a folder the postgres user cannot
// reach is refused with a message saying what to do.
func TestEmbeddedUnreachableAsRoot(t *testing.T) {
	requirePostgres(t)
	if os.Geteuid() != 0 {
		t.Skip("only root hands the cluster to another user")
	}
	t.Parallel()
	locked := filepath.Join(t.TempDir(), "locked")
	if err := os.Mkdir(locked, 0o700); err != nil {
		t.Fatal(err)
	}
	_, err := db.StartEmbedded(context.Background(), db.EmbeddedOptions{Dir: filepath.Join(locked, "postgres")})
	if err == nil || !strings.Contains(err.Error(), "cannot reach") || !strings.Contains(err.Error(), "data_dir") {
		t.Fatalf("want a 'cannot reach' error, got %v", err)
	}
}

func requirePostgres(t *testing.T) {
	t.Helper()
	if _, err := db.FindPostgresBin(""); err != nil {
		t.Skipf("no PostgreSQL binaries on this machine: %v", err)
	}
}

// reachableTempDir is t.TempDir opened up so that the postgres user can
// traverse it when the tests run as root (t.TempDir folders are 0700).
func reachableTempDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, d := range []string{dir, filepath.Dir(dir)} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func startEmbedded(t *testing.T, dir string) *db.Cluster {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c, err := db.StartEmbedded(ctx, db.EmbeddedOptions{Dir: dir, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	// Never leave a server behind, even when the test fails.
	t.Cleanup(func() { _ = c.Stop(context.Background()) })
	return c
}

// checkPostmaster verifies the server runs in its own session (a Ctrl-C on
// Licensor's terminal does not reach it; Stop shuts it down) and, under
// root, as an unprivileged user.
func checkPostmaster(t *testing.T, dir string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "data", "postmaster.pid"))
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.SplitN(string(b), "\n", 2)[0])
	if err != nil {
		t.Fatal(err)
	}
	sid, err := unix.Getsid(pid)
	if err != nil {
		t.Fatal(err)
	}
	if own, _ := unix.Getsid(0); sid == own {
		t.Fatalf("postmaster %d shares the test's session %d", pid, sid)
	}
	var st syscall.Stat_t
	if err := syscall.Stat("/proc/"+strconv.Itoa(pid), &st); err == nil && st.Uid == 0 {
		t.Fatalf("postmaster %d runs as root", pid)
	}
}

func requireTable(t *testing.T, d *db.DB, table string) {
	t.Helper()
	var name *string
	if err := d.Bun.QueryRowContext(context.Background(), "SELECT to_regclass(?)::text", table).Scan(&name); err != nil {
		t.Fatal(err)
	}
	if name == nil {
		t.Fatalf("table %s is missing", table)
	}
}

func pw(t *testing.T, dsn string) string {
	t.Helper()
	_, rest, _ := strings.Cut(dsn, "://licensor:")
	p, _, ok := strings.Cut(rest, "@")
	if !ok || p == "" {
		t.Fatalf("no password in %s", dsn)
	}
	return p
}

func postgresUser(t *testing.T) *syscall.Credential {
	t.Helper()
	name := "postgres"
	u, err := user.Lookup(name)
	if err != nil {
		if u, err = user.Lookup("nobody"); err != nil {
			t.Fatal(err)
		}
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
}

// testLogger sends the cluster's log lines to the test log.
func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
}
