package dbtest

import (
	"bytes"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/licensor/licensor/test/freeport"
)

// PgBouncer starts a PgBouncer process in transaction pooling mode in front
// of dsn's server, for t alone, and returns dsn pointing at it: every
// transaction may run on another server connection, and prepared statements
// and session state do not survive from one to the next (PgBouncer 1.18,
// Debian's). It is stopped when t ends. Without the pgbouncer binary the
// test is skipped, except under CI (.ci/run installs it), where it fails.
func PgBouncer(t testing.TB, dsn string) string {
	t.Helper()
	bin, err := exec.LookPath("pgbouncer")
	if err != nil {
		if _, statErr := os.Stat("/usr/sbin/pgbouncer"); statErr == nil {
			bin = "/usr/sbin/pgbouncer"
		} else if os.Getenv("CI") != "" {
			t.Fatal("dbtest: pgbouncer is not installed (apt-get install pgbouncer)")
		} else {
			t.Skip("pgbouncer is not installed")
		}
	}
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatalf("dbtest: %v", err)
	}
	host, port := u.Hostname(), u.Port()
	if port == "" {
		port = "5432"
	}
	dir := t.TempDir()
	// PgBouncer refuses to run as root: it drops to the postgres user.
	runAs := ""
	if os.Geteuid() == 0 {
		if _, err := user.Lookup("postgres"); err != nil {
			t.Skip("running as root with no postgres user for pgbouncer to run as")
		}
		runAs = "user = postgres\n"
		if err := os.Chmod(dir, 0o777); err != nil {
			t.Fatal(err)
		}
	}
	listen := freeport.Port(t)
	conf := fmt.Sprintf(`[databases]
* = host=%s port=%s user=%s
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = %d
unix_socket_dir =
auth_type = any
pool_mode = transaction
default_pool_size = 4
max_client_conn = 200
server_reset_query =
ignore_startup_parameters = extra_float_digits
%s`, host, port, u.User.Username(), listen, runAs)
	ini := filepath.Join(dir, "pgbouncer.ini")
	if err := os.WriteFile(ini, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	var logs syncBuffer
	cmd := exec.Command(bin, ini)
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatalf("dbtest: start pgbouncer: %v", err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	})
	addr := fmt.Sprintf("127.0.0.1:%d", listen)
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			_ = c.Close()
			break
		}
		select {
		case <-exited:
			t.Fatalf("dbtest: pgbouncer exited:\n%s", logs.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("dbtest: pgbouncer not listening on %s:\n%s", addr, logs.String())
		}
		time.Sleep(20 * time.Millisecond) // pgbouncer tells nothing when it listens: try again
	}
	u.Host = addr
	return u.String()
}

// syncBuffer is a bytes.Buffer a process writes while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.TrimSpace(s.b.String())
}
