package db

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// ErrPostgresNotFound is returned (wrapped) when the PostgreSQL server
// binaries needed by the private cluster are missing.
var ErrPostgresNotFound = errors.New("PostgreSQL server binaries (initdb, pg_ctl, postgres) not found; " +
	"install them with: apt-get install -y postgresql (Debian/Ubuntu)")

const (
	embeddedUser     = "licensor"
	embeddedDatabase = "licensor"
	// socketPort is the port of the private unix socket: any value works,
	// since the socket folder belongs to this cluster alone.
	socketPort = 5432
	// maxSocketPath is the longest unix socket path Linux accepts
	// (sun_path is 108 bytes including the terminating NUL).
	maxSocketPath = 107
	// pgCtlTimeout is how long pg_ctl waits for start or stop, in seconds.
	pgCtlTimeout = "60"
)

// EmbeddedOptions configures StartEmbedded.
type EmbeddedOptions struct {
	Dir    string // cluster folder, e.g. <data_dir>/postgres (created if missing)
	BinDir string // folder with initdb/pg_ctl/postgres; "" = search PATH, then /usr/lib/postgresql/*/bin (newest version first)
	Logger *slog.Logger

	// freePort, when set, picks the TCP ports to try instead of freePort
	// (tests).
	freePort func() (int, error)
}

// Cluster is Licensor's private PostgreSQL cluster. Its folder holds data/
// (PGDATA), run/ (the unix socket), password, postgres.log and owner (the
// pid of the Licensor process responsible for stopping it).
type Cluster struct {
	dir      string
	dataDir  string
	bin      string
	password string
	host     string // socket folder (starts with /) or 127.0.0.1
	port     int
	cred     *syscall.Credential // nil: run the binaries as ourselves
	owned    bool                // false: another process started it; Stop leaves it running
	log      *slog.Logger
	freePort func() (int, error)

	mu      sync.Mutex
	stopped bool
}

// StartEmbedded starts the private cluster in o.Dir, creating it on first
// use (initdb with a generated password for the superuser "licensor", then
// the database "licensor"). When a server already runs on that folder it is
// reused, and Stop leaves it running unless the process that started it is
// gone.
//
// PostgreSQL refuses to run as root: when Licensor is root, the binaries run
// as the "postgres" system user (or "nobody"), which then owns o.Dir.
func StartEmbedded(ctx context.Context, o EmbeddedOptions) (*Cluster, error) {
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if o.Dir == "" {
		return nil, errors.New("postgres cluster: no folder given")
	}
	dir, err := filepath.Abs(o.Dir)
	if err != nil {
		return nil, fmt.Errorf("postgres cluster: %w", err)
	}
	// pg_ctl hands the data and log paths to /bin/sh inside double quotes.
	if strings.ContainsAny(dir, "\"$`\\\n") {
		return nil, fmt.Errorf("postgres cluster: folder %q must not contain any of \" $ ` \\ or a newline", dir)
	}
	c := &Cluster{dir: dir, dataDir: filepath.Join(dir, "data"), log: log, freePort: o.freePort}
	if c.freePort == nil {
		c.freePort = freePort
	}

	c.bin, err = c.findBin(o.BinDir)
	if err != nil {
		return nil, err
	}
	runAs, err := c.prepareDir()
	if err != nil {
		return nil, err
	}

	if !fileExists(filepath.Join(c.dataDir, "PG_VERSION")) {
		if err := c.initdb(ctx); err != nil {
			return nil, err
		}
		log.Info("postgres: initialized cluster", "dir", dir, "bin", c.bin, "user", runAs)
	}

	pid, running := c.runningPostmaster()
	if running {
		if err := c.reuse(ctx, pid); err != nil {
			return nil, err
		}
	} else {
		if err := c.start(ctx); err != nil {
			return nil, err
		}
	}
	if err := c.ensureDatabase(ctx); err != nil {
		if c.owned {
			_ = c.Stop(context.WithoutCancel(ctx))
		}
		return nil, err
	}
	if running {
		log.Info("postgres: reusing running cluster", "dir", dir, "addr", c.addr(), "pid", pid, "stop_on_exit", c.owned)
	} else {
		log.Info("postgres: started", "dir", dir, "addr", c.addr(), "bin", c.bin, "user", runAs)
	}
	return c, nil
}

// DSN is the URL of the database "licensor" as the user "licensor".
func (c *Cluster) DSN() string {
	return c.dsn(embeddedDatabase)
}

func (c *Cluster) dsn(database string) string {
	u := url.URL{
		Scheme: "postgres",
		User:   url.UserPassword(embeddedUser, c.password),
		Path:   "/" + database,
	}
	q := url.Values{"sslmode": {"disable"}}
	if strings.HasPrefix(c.host, "/") {
		q.Set("host", c.host)
		q.Set("port", strconv.Itoa(c.port))
	} else {
		u.Host = net.JoinHostPort(c.host, strconv.Itoa(c.port))
	}
	u.RawQuery = q.Encode()
	return u.String()
}

func (c *Cluster) addr() string {
	if strings.HasPrefix(c.host, "/") {
		return filepath.Join(c.host, ".s.PGSQL."+strconv.Itoa(c.port))
	}
	return net.JoinHostPort(c.host, strconv.Itoa(c.port))
}

// Stop shuts the cluster down (pg_ctl stop -m fast) if this process started
// it. Calling it again does nothing.
func (c *Cluster) Stop(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopped {
		return nil
	}
	if !c.owned {
		c.stopped = true
		c.log.Info("postgres: left running, another process started it", "dir", c.dir)
		return nil
	}
	if _, running := c.runningPostmaster(); running {
		out, err := c.run(ctx, "pg_ctl", "stop", "-D", c.dataDir, "-m", "fast", "-w", "-t", pgCtlTimeout)
		if err != nil {
			return fmt.Errorf("stop postgres in %s: %w: %s", c.dir, err, strings.TrimSpace(out))
		}
	}
	_ = os.Remove(c.ownerFile())
	c.stopped = true
	c.log.Info("postgres: stopped", "dir", c.dir)
	return nil
}

// FindPostgresBin returns the folder holding initdb, pg_ctl and postgres:
// binDir itself when given, else the folder of initdb on PATH, else the
// newest /usr/lib/postgresql/<version>/bin. The error wraps
// ErrPostgresNotFound when none has all three.
func FindPostgresBin(binDir string) (string, error) {
	if binDir != "" {
		abs, err := filepath.Abs(binDir)
		if err == nil && hasPostgresBinaries(abs) {
			return abs, nil
		}
		return "", fmt.Errorf("look for PostgreSQL in %s: %w", binDir, ErrPostgresNotFound)
	}
	var candidates []string
	if p, err := exec.LookPath("initdb"); err == nil {
		// Resolve symlinks (/usr/local/bin/initdb -> /usr/lib/postgresql/15/bin)
		// so that the folder also holds the matching pg_ctl and postgres.
		if real, err := filepath.EvalSymlinks(p); err == nil {
			candidates = append(candidates, filepath.Dir(real))
		}
		if abs, err := filepath.Abs(p); err == nil {
			candidates = append(candidates, filepath.Dir(abs))
		}
	}
	candidates = append(candidates, debianBinDirs()...)
	for _, d := range candidates {
		if hasPostgresBinaries(d) {
			return d, nil
		}
	}
	return "", fmt.Errorf("look for PostgreSQL on PATH and in /usr/lib/postgresql/*/bin: %w", ErrPostgresNotFound)
}

// debianBinDirs lists /usr/lib/postgresql/*/bin, newest version first.
func debianBinDirs() []string {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	version := func(d string) float64 {
		v, _ := strconv.ParseFloat(filepath.Base(filepath.Dir(d)), 64)
		return v
	}
	sort.SliceStable(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	return dirs
}

func hasPostgresBinaries(dir string) bool {
	for _, name := range []string{"initdb", "pg_ctl", "postgres"} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil || fi.IsDir() || fi.Mode().Perm()&0o111 == 0 {
			return false
		}
	}
	return true
}

// findBin prefers, for an existing cluster and no configured folder, the
// binaries of the version that created it: a newer major version cannot
// open it.
func (c *Cluster) findBin(binDir string) (string, error) {
	if binDir == "" {
		if v, err := os.ReadFile(filepath.Join(c.dataDir, "PG_VERSION")); err == nil {
			d := filepath.Join("/usr/lib/postgresql", strings.TrimSpace(string(v)), "bin")
			if hasPostgresBinaries(d) {
				return d, nil
			}
		}
	}
	return FindPostgresBin(binDir)
}

// prepareDir creates the cluster folder, its password file and socket
// folder, and, when running as root, picks the unprivileged user the
// binaries run as and hands the folder to it. It returns that user's name.
func (c *Cluster) prepareDir() (string, error) {
	if err := os.MkdirAll(filepath.Dir(c.dir), 0o755); err != nil {
		return "", fmt.Errorf("postgres cluster: create %s: %w", filepath.Dir(c.dir), err)
	}
	if err := os.Mkdir(c.dir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return "", fmt.Errorf("postgres cluster: create %s: %w", c.dir, err)
	}
	if err := os.Mkdir(c.socketDir(), 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return "", fmt.Errorf("postgres cluster: create %s: %w", c.socketDir(), err)
	}
	if err := c.ensurePassword(); err != nil {
		return "", err
	}

	if os.Geteuid() != 0 {
		u, err := user.Current()
		if err != nil {
			return strconv.Itoa(os.Geteuid()), nil
		}
		return u.Username, nil
	}
	u, cred, err := unprivilegedUser()
	if err != nil {
		return "", err
	}
	c.cred = cred
	if err := checkReachable(c.dir, u.Username, cred); err != nil {
		return "", err
	}
	if err := chownTree(c.dir, int(cred.Uid), int(cred.Gid)); err != nil {
		return "", fmt.Errorf("postgres cluster: hand %s to user %q: %w", c.dir, u.Username, err)
	}
	return u.Username, nil
}

// unprivilegedUser is the account PostgreSQL runs as when Licensor is root.
func unprivilegedUser() (*user.User, *syscall.Credential, error) {
	var u *user.User
	var err error
	for _, name := range []string{"postgres", "nobody"} {
		if u, err = user.Lookup(name); err == nil {
			break
		}
	}
	if err != nil {
		return nil, nil, fmt.Errorf("postgres cluster: PostgreSQL cannot run as root and neither user \"postgres\" nor \"nobody\" exists; " +
			"create one (useradd --system postgres) or run Licensor as an ordinary user")
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err1 != nil || err2 != nil {
		return nil, nil, fmt.Errorf("postgres cluster: user %q has a non-numeric uid or gid", u.Username)
	}
	cred := &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	if ids, err := u.GroupIds(); err == nil {
		for _, id := range ids {
			if g, err := strconv.ParseUint(id, 10, 32); err == nil {
				cred.Groups = append(cred.Groups, uint32(g))
			}
		}
	}
	return u, cred, nil
}

// checkReachable reports an error when the user cannot traverse every folder
// above dir (dir itself is handed to the user afterwards).
func checkReachable(dir, name string, cred *syscall.Credential) error {
	parent, err := filepath.EvalSymlinks(filepath.Dir(dir))
	if err != nil {
		return fmt.Errorf("postgres cluster: %w", err)
	}
	for p := parent; ; p = filepath.Dir(p) {
		fi, err := os.Stat(p)
		if err != nil {
			return fmt.Errorf("postgres cluster: %w", err)
		}
		if !canSearch(fi, cred) {
			return fmt.Errorf("postgres cluster: PostgreSQL cannot run as root, so Licensor runs it as user %q, "+
				"but that user cannot reach %s: folder %s is %s, owned by uid %d; "+
				"choose a data_dir that user can reach (e.g. /var/lib/licensor), allow it with `chmod o+x %s`, "+
				"or run Licensor as an ordinary user",
				name, dir, p, fi.Mode().Perm(), fi.Sys().(*syscall.Stat_t).Uid, p)
		}
		if p == filepath.Dir(p) {
			return nil
		}
	}
}

func canSearch(fi fs.FileInfo, cred *syscall.Credential) bool {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return true
	}
	perm := fi.Mode().Perm()
	if st.Uid == cred.Uid {
		return perm&0o100 != 0
	}
	inGroup := st.Gid == cred.Gid
	for _, g := range cred.Groups {
		inGroup = inGroup || st.Gid == g
	}
	if inGroup {
		return perm&0o010 != 0
	}
	return perm&0o001 != 0
}

// chownTree gives every entry under dir (symlinks themselves, not their
// targets) to uid:gid, touching only those owned by someone else.
func chownTree(dir string, uid, gid int) error {
	return filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil // a file postgres removed meanwhile
			}
			return err
		}
		if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) == uid && int(st.Gid) == gid {
			return nil
		}
		if err := os.Lchown(path, uid, gid); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		return nil
	})
}

func (c *Cluster) socketDir() string    { return filepath.Join(c.dir, "run") }
func (c *Cluster) passwordFile() string { return filepath.Join(c.dir, "password") }
func (c *Cluster) logFile() string      { return filepath.Join(c.dir, "postgres.log") }
func (c *Cluster) ownerFile() string    { return filepath.Join(c.dir, "owner") }
func (c *Cluster) pidFile() string      { return filepath.Join(c.dataDir, "postmaster.pid") }

// ensurePassword reads the superuser password, generating it on first use.
func (c *Cluster) ensurePassword() error {
	path := c.passwordFile()
	b, err := os.ReadFile(path)
	switch {
	case err == nil:
		c.password = strings.TrimSpace(string(b))
		if c.password == "" {
			return fmt.Errorf("postgres cluster: password file %s is empty", path)
		}
		return nil
	case !errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("postgres cluster: read password: %w", err)
	}
	if fileExists(filepath.Join(c.dataDir, "PG_VERSION")) {
		return fmt.Errorf("postgres cluster: %s exists but its password file %s is missing; "+
			"restore the file, or move the folder away to create a new, empty cluster", c.dataDir, path)
	}
	raw := make([]byte, 24)
	if _, err := rand.Read(raw); err != nil {
		return fmt.Errorf("postgres cluster: generate password: %w", err)
	}
	c.password = hex.EncodeToString(raw)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("postgres cluster: write password: %w", err)
	}
	if _, err := f.WriteString(c.password + "\n"); err != nil {
		f.Close()
		return fmt.Errorf("postgres cluster: write password: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("postgres cluster: write password: %w", err)
	}
	return nil
}

func (c *Cluster) initdb(ctx context.Context) error {
	out, err := c.run(ctx, "initdb",
		"-D", c.dataDir,
		"-U", embeddedUser,
		"--pwfile="+c.passwordFile(),
		"--auth=scram-sha-256",
		"--encoding=UTF8",
		"--locale=C",
	)
	if err != nil {
		return fmt.Errorf("postgres cluster: initdb %s: %w: %s", c.dataDir, err, tail(out, 2000))
	}
	return nil
}

// runningPostmaster reads postmaster.pid and tells whether the process it
// names is a live postmaster of this cluster. A stale file whose pid now
// belongs to another program (pids are reused, often after a container
// restart) is removed, since postgres refuses to start over it when that
// program runs as the same user; a stale file naming a dead process is left
// for postgres, which replaces it.
func (c *Cluster) runningPostmaster() (int, bool) {
	lines := c.pidFileLines()
	if len(lines) == 0 {
		return 0, false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(lines[0]))
	if err != nil || pid <= 0 {
		return 0, false
	}
	if !processAlive(pid) {
		return pid, false
	}
	// A postmaster works in its data directory.
	cwd, err := os.Readlink(fmt.Sprintf("/proc/%d/cwd", pid))
	if err != nil {
		if _, perr := os.Stat("/proc/self"); perr != nil {
			return pid, true // no /proc: trust the pid
		}
		// Not readable: another user's process, so not our postmaster
		// (it runs as us or as the user we run it as); or a zombie.
	} else if real, err := filepath.EvalSymlinks(c.dataDir); err == nil && cwd == real {
		return pid, true
	}
	c.log.Warn("postgres: removing stale postmaster.pid, its pid belongs to another process", "dir", c.dir, "pid", pid)
	_ = os.Remove(c.pidFile())
	return pid, false
}

func (c *Cluster) pidFileLines() []string {
	b, err := os.ReadFile(c.pidFile())
	if err != nil {
		return nil
	}
	return strings.Split(string(b), "\n")
}

// processAlive reports whether pid exists, zombies included.
func processAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// processExited reports whether pid is gone or a zombie: a Licensor killed
// while its parent has not reaped it yet has still exited.
func processExited(pid int) bool {
	if !processAlive(pid) {
		return true
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// pid (comm) state ...: comm may hold spaces and parentheses.
	if i := bytes.LastIndexByte(stat, ')'); i >= 0 && i+2 < len(stat) {
		return stat[i+2] == 'Z' || stat[i+2] == 'X'
	}
	return false
}

// start runs pg_ctl start, listening on a unix socket in run/ or, when that
// path would be too long for a socket, on a free port of 127.0.0.1.
func (c *Cluster) start(ctx context.Context) error {
	sock := c.socketDir()
	tcp := len(filepath.Join(sock, ".s.PGSQL.65535")) > maxSocketPath
	for attempt := 1; ; attempt++ {
		opts := []string{"-c", "shared_buffers=128MB", "-c", "max_connections=100"}
		if !tcp {
			c.host, c.port = sock, socketPort
			// Double quotes keep a folder with commas or spaces one list entry.
			opts = append(opts, "-p", strconv.Itoa(c.port), "-c", "listen_addresses=",
				"-c", `unix_socket_directories="`+sock+`"`)
		} else {
			port, err := c.freePort()
			if err != nil {
				return fmt.Errorf("postgres cluster: find a free port: %w", err)
			}
			c.host, c.port = "127.0.0.1", port
			opts = append(opts, "-p", strconv.Itoa(c.port), "-c", "listen_addresses=127.0.0.1",
				"-c", "unix_socket_directories=")
		}
		quoted := make([]string, len(opts))
		for i, o := range opts {
			quoted[i] = shellQuote(o)
		}

		logStart := fileSize(c.logFile())
		out, err := c.run(ctx, "pg_ctl", "start", "-w", "-t", pgCtlTimeout,
			"-D", c.dataDir, "-l", c.logFile(), "-o", strings.Join(quoted, " "))
		if err == nil {
			break
		}
		logged := c.logTail(logStart)
		// The port was free when picked, but a port of the ephemeral range
		// can become the local port of an outgoing connection (any client
		// on the machine) before the server binds it: pick another.
		if tcp && attempt < 3 && strings.Contains(logged, "Address already in use") {
			c.log.Warn("postgres: port taken before the server bound it; trying another", "port", c.port)
			continue
		}
		return fmt.Errorf("postgres cluster: start in %s: %w: %s\n%s:\n%s",
			c.dir, err, strings.TrimSpace(out), c.logFile(), logged)
	}
	c.owned = true
	c.writeOwner()
	return nil
}

// reuse connects to a server another process started on this folder, at the
// address its postmaster.pid announces. The cluster is adopted (Stop stops
// it) when the Licensor process that started it has exited.
func (c *Cluster) reuse(ctx context.Context, pid int) error {
	lines := c.pidFileLines()
	// postmaster.pid: pid, data dir, start time, port, socket dir, listen address, ...
	if len(lines) < 6 {
		return fmt.Errorf("postgres cluster: %s is incomplete; is the server (pid %d) still starting?", c.pidFile(), pid)
	}
	port, err := strconv.Atoi(strings.TrimSpace(lines[3]))
	if err != nil {
		return fmt.Errorf("postgres cluster: bad port in %s: %q", c.pidFile(), lines[3])
	}
	c.port = port
	switch sock, addr := strings.TrimSpace(lines[4]), strings.TrimSpace(lines[5]); {
	case sock != "":
		c.host = sock
	case addr == "*" || addr == "0.0.0.0":
		c.host = "127.0.0.1"
	case addr != "":
		c.host = addr
	default:
		return fmt.Errorf("postgres cluster: the server running on %s (pid %d) listens on neither a socket nor TCP", c.dir, pid)
	}

	// It may still be starting: give it a few seconds to answer.
	deadline := time.Now().Add(10 * time.Second)
	for {
		err = c.ping(ctx)
		if err == nil || time.Now().After(deadline) || ctx.Err() != nil {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if err != nil {
		return fmt.Errorf("postgres cluster: a server (pid %d) runs on %s but does not answer at %s: %w",
			pid, c.dir, c.addr(), err)
	}
	if owner := c.readOwner(); owner == 0 || (owner != os.Getpid() && processExited(owner)) {
		c.owned = true
		c.writeOwner()
	}
	return nil
}

func (c *Cluster) ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, c.dsn("postgres"))
	if err != nil {
		return err
	}
	return conn.Close(ctx)
}

// ensureDatabase creates the database "licensor" when it is missing.
func (c *Cluster) ensureDatabase(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, c.dsn("postgres"))
	if err != nil {
		return fmt.Errorf("postgres cluster: connect at %s: %w", c.addr(), err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", embeddedDatabase).Scan(&exists); err != nil {
		return fmt.Errorf("postgres cluster: look for database %s: %w", embeddedDatabase, err)
	}
	if exists {
		return nil
	}
	_, err = conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{embeddedDatabase}.Sanitize())
	var pgErr *pgconn.PgError
	if err != nil && !(errors.As(err, &pgErr) && pgErr.Code == "42P04") { // duplicate_database: another node won
		return fmt.Errorf("postgres cluster: create database %s: %w", embeddedDatabase, err)
	}
	return nil
}

func (c *Cluster) writeOwner() {
	if err := os.WriteFile(c.ownerFile(), []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
		c.log.Warn("postgres: cannot record the owning process", "file", c.ownerFile(), "err", err)
	}
}

func (c *Cluster) readOwner() int {
	b, err := os.ReadFile(c.ownerFile())
	if err != nil {
		return 0
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return pid
}

// run runs one of the PostgreSQL binaries, as the unprivileged user when
// Licensor is root, and returns its combined output.
func (c *Cluster) run(ctx context.Context, name string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, filepath.Join(c.bin, name), args...)
	// The binaries change to their own folder and back; they must be able to
	// enter the working directory as the unprivileged user.
	cmd.Dir = c.dir
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	if c.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.cred}
	}
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	err := cmd.Run()
	return out.String(), err
}

// logTail returns the end of postgres.log written since offset from.
func (c *Cluster) logTail(from int64) string {
	f, err := os.Open(c.logFile())
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	defer f.Close()
	if _, err := f.Seek(from, io.SeekStart); err != nil {
		return "(" + err.Error() + ")"
	}
	b, err := io.ReadAll(f)
	if err != nil {
		return "(" + err.Error() + ")"
	}
	return tail(string(b), 4000)
}

// tail returns the last n bytes of s, starting at a line.
func tail(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) <= n {
		return s
	}
	s = s[len(s)-n:]
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	return "…\n" + s
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

func fileSize(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Size()
}
