// Package host runs Licensor's plugins: it discovers them in the plugin
// directory (one folder per plugin with its manifest.json), refuses an
// executable whose SHA-256 differs from its manifest (go-plugin's
// SecureConfig), starts each enabled plugin on first use, health-checks it,
// restarts it with backoff after a crash, applies a timeout to every call,
// bounds what a plugin may send back, runs it with a minimal environment,
// logs its output through slog, and kills every plugin process on Close.
//
// A plugin failing never fails the host: a call returns an error and the
// caller decides (the portal falls back, an import reports the error).
// Nothing here imports Licensor's app packages; app code adapts these types.
package host

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/licensor/licensor/plugins/sdk"
)

// Config tunes the host. Zero values take the defaults noted.
type Config struct {
	// Dir is the plugin directory: <Dir>/<name>/manifest.json.
	Dir string
	// CallTimeout bounds every call but Parse (default 10s).
	CallTimeout time.Duration
	// ParseTimeout bounds an import format's Parse (default 2m).
	ParseTimeout time.Duration
	// StartTimeout bounds a plugin's start and handshake (default 10s).
	StartTimeout time.Duration
	// HealthInterval is how often running plugins are pinged and crashed
	// ones restarted (default 15s).
	HealthInterval time.Duration
	// MaxBackoff caps the wait before restarting a plugin that keeps
	// crashing (default 1m; the first restart waits 100ms).
	MaxBackoff time.Duration
	// MaxMessageBytes bounds each message a plugin sends (default 4 MiB).
	MaxMessageBytes int
	// MaxRecords bounds the records of one parsed import file (default
	// 1,000,000).
	MaxRecords int
	// Logger receives the plugins' own log lines and the host's messages.
	Logger *slog.Logger
}

func (c *Config) defaults() {
	if c.CallTimeout <= 0 {
		c.CallTimeout = 10 * time.Second
	}
	if c.ParseTimeout <= 0 {
		c.ParseTimeout = 2 * time.Minute
	}
	if c.StartTimeout <= 0 {
		c.StartTimeout = 10 * time.Second
	}
	if c.HealthInterval <= 0 {
		c.HealthInterval = 15 * time.Second
	}
	if c.MaxBackoff <= 0 {
		c.MaxBackoff = time.Minute
	}
	if c.MaxMessageBytes <= 0 {
		c.MaxMessageBytes = 4 << 20
	}
	if c.MaxRecords <= 0 {
		c.MaxRecords = 1_000_000
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

// Status is where a plugin stands.
type Status string

// The statuses of a plugin.
const (
	// StatusStopped: enabled, not started yet (plugins start on first use).
	StatusStopped Status = "stopped"
	// StatusRunning: its process is up and answered.
	StatusRunning Status = "running"
	// StatusDisabled: an admin turned it off; it is never started.
	StatusDisabled Status = "disabled"
	// StatusCrashed: its process died or stopped answering; it is
	// restarted after a backoff.
	StatusCrashed Status = "crashed"
	// StatusChecksumMismatch: the executable's SHA-256 is not the
	// manifest's; it is never started.
	StatusChecksumMismatch Status = "checksum mismatch"
	// StatusInvalid: the manifest cannot be read or is wrong.
	StatusInvalid Status = "invalid manifest"
)

// Errors calls return; test them with errors.Is.
var (
	ErrNotFound         = errors.New("no such plugin")
	ErrWrongKind        = errors.New("plugin is of another kind")
	ErrDisabled         = errors.New("plugin is disabled")
	ErrChecksumMismatch = errors.New("plugin executable does not match its manifest's sha256")
	ErrInvalid          = errors.New("plugin manifest is invalid")
	ErrUnavailable      = errors.New("plugin crashed and is waiting to be restarted")
	ErrTimeout          = errors.New("plugin call timed out")
	ErrCrashed          = errors.New("plugin process died during the call")
	ErrBadOutput        = errors.New("plugin sent an invalid answer")
	ErrClosed           = errors.New("plugin host is shut down")
)

// Plugin is a snapshot of one discovered plugin.
type Plugin struct {
	// Name is the plugin's directory name (the manifest's name when valid).
	Name     string
	Dir      string
	Manifest sdk.Manifest
	Enabled  bool
	Status   Status
	// LastError is the most recent failure (start, call, crash), if any.
	LastError   string
	LastErrorAt time.Time
	// Pid is the running process's ID, 0 when not running.
	Pid int
	// Restarts counts the restarts after crashes since discovery.
	Restarts int
	// Calls counts the calls made to the plugin since discovery, Errors
	// those that failed (not started, timed out, crashed, the plugin's
	// own error).
	Calls, Errors uint64
}

// Host manages the plugins of one directory.
type Host struct {
	cfg    Config
	mu     sync.Mutex
	byName map[string]*managed
	closed bool
	stop   chan struct{}
	done   chan struct{}
}

// New returns a host for cfg.Dir; call Discover to find the plugins and
// Close to stop them.
func New(cfg Config) *Host {
	cfg.defaults()
	h := &Host{cfg: cfg, byName: map[string]*managed{}, stop: make(chan struct{}), done: make(chan struct{})}
	go h.healthLoop()
	return h
}

// managed is one plugin and its process.
type managed struct {
	name     string
	dir      string
	path     string
	sum      []byte
	manifest sdk.Manifest

	mu        sync.Mutex
	enabled   bool
	config    map[string]string
	status    Status
	lastErr   string
	lastErrAt time.Time
	client    *plugin.Client
	rpc       *plugin.GRPCClient
	raw       any
	pid       int
	startedAt time.Time
	failures  int
	nextStart time.Time
	restarts  int
	// calls and errors count the calls (Plugin.Calls, Plugin.Errors)
	// without taking mu.
	calls, errors atomic.Uint64
	// startConfigErr is what the plugin said of its settings at start.
	startConfigErr error
}

// Discover scans the plugin directory. Plugins already known and unchanged
// keep their process and settings; changed or removed ones are stopped.
// Newly found plugins start disabled until SetEnabled.
func (h *Host) Discover() error {
	entries, err := os.ReadDir(h.cfg.Dir)
	if errors.Is(err, os.ErrNotExist) {
		entries = nil
	} else if err != nil {
		return fmt.Errorf("plugins: read %s: %w", h.cfg.Dir, err)
	}
	found := map[string]*managed{}
	for _, e := range entries {
		if !e.IsDir() || e.Name()[0] == '.' {
			continue
		}
		found[e.Name()] = h.inspect(filepath.Join(h.cfg.Dir, e.Name()))
	}

	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return ErrClosed
	}
	for name, old := range h.byName {
		nw, ok := found[name]
		if ok && nw.status == old.status && nw.path == old.path && string(nw.sum) == string(old.sum) && nw.manifest.Version == old.manifest.Version {
			found[name] = old
			continue
		}
		if ok {
			old.mu.Lock()
			nw.enabled, nw.config = old.enabled, old.config
			old.mu.Unlock()
		}
		old.shutdown()
	}
	h.byName = found
	return nil
}

// inspect reads one plugin directory: manifest, executable, checksum.
func (h *Host) inspect(dir string) *managed {
	abs, err := filepath.Abs(dir)
	if err == nil {
		dir = abs
	}
	m := &managed{name: filepath.Base(dir), dir: dir, status: StatusStopped, config: map[string]string{}}
	man, err := sdk.ReadManifest(dir)
	m.manifest = man
	if err == nil && man.Name != m.name {
		err = fmt.Errorf("manifest: name %q differs from the directory's name %q", man.Name, m.name)
	}
	if err != nil {
		m.status, m.lastErr, m.lastErrAt = StatusInvalid, err.Error(), time.Now()
		return m
	}
	m.path = filepath.Join(dir, man.Executable)
	m.sum, _ = hex.DecodeString(man.SHA256)
	got, err := sdk.FileSHA256(m.path)
	switch {
	case err != nil:
		m.status, m.lastErr = StatusInvalid, fmt.Sprintf("executable: %v", err)
		m.lastErrAt = time.Now()
	case got != man.SHA256:
		m.status, m.lastErr = StatusChecksumMismatch, fmt.Sprintf("%v: file has %s, manifest says %s", ErrChecksumMismatch, got, man.SHA256)
		m.lastErrAt = time.Now()
	}
	return m
}

// List returns every discovered plugin, by name.
func (h *Host) List() []Plugin {
	h.mu.Lock()
	names := slices.Sorted(maps.Keys(h.byName))
	ms := make([]*managed, len(names))
	for i, n := range names {
		ms[i] = h.byName[n]
	}
	h.mu.Unlock()
	out := make([]Plugin, len(ms))
	for i, m := range ms {
		out[i] = m.snapshot()
	}
	return out
}

// Get returns the plugin called name.
func (h *Host) Get(name string) (Plugin, bool) {
	m, err := h.lookup(name, "")
	if err != nil {
		return Plugin{}, false
	}
	return m.snapshot(), true
}

func (m *managed) snapshot() Plugin {
	m.mu.Lock()
	defer m.mu.Unlock()
	st := m.status
	if !m.enabled && (st == StatusStopped || st == StatusRunning || st == StatusCrashed) {
		st = StatusDisabled
	}
	return Plugin{
		Name: m.name, Dir: m.dir, Manifest: m.manifest, Enabled: m.enabled, Status: st,
		LastError: m.lastErr, LastErrorAt: m.lastErrAt, Pid: m.pid, Restarts: m.restarts,
		Calls: m.calls.Load(), Errors: m.errors.Load(),
	}
}

func (h *Host) lookup(name string, kind sdk.Kind) (*managed, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, ErrClosed
	}
	m, ok := h.byName[name]
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrNotFound, name)
	}
	if kind != "" && m.manifest.Kind != kind {
		return nil, fmt.Errorf("%w: %s is %q, not %q", ErrWrongKind, name, m.manifest.Kind, kind)
	}
	return m, nil
}

// SetEnabled turns a plugin on or off. Turning it off stops its process;
// turning it on starts nothing until the first call.
func (h *Host) SetEnabled(name string, enabled bool) error {
	m, err := h.lookup(name, "")
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.enabled = enabled
	if !enabled {
		m.stopLocked()
		if m.status == StatusRunning || m.status == StatusCrashed {
			m.status = StatusStopped
		}
		m.failures, m.nextStart = 0, time.Time{}
	}
	return nil
}

// Configure offers a plugin new settings (config field → value, secrets
// in clear): when it is enabled they are sent to it, starting it if
// needed, and become its settings only if it accepts them. Values it
// refuses come back as sdk.FieldErrors and are not kept: as the SDK
// promises, the plugin keeps its previous settings, and a process started
// later (after a crash) gets those, not the refused ones. A disabled
// plugin's settings are stored unchecked for its next start.
func (h *Host) Configure(ctx context.Context, name string, values map[string]string) error {
	m, err := h.lookup(name, "")
	if err != nil {
		return err
	}
	m.mu.Lock()
	enabled := m.enabled
	running := m.client != nil && !m.client.Exited()
	// A plugin without settings yet starts with these; one that has some
	// starts with its own and is then offered these.
	first := !running && len(m.config) == 0
	if !enabled || first {
		m.config = maps.Clone(values)
	}
	m.mu.Unlock()
	if !enabled {
		return nil
	}
	if first {
		if _, _, err := h.acquire(m); err != nil {
			return err
		}
		if err := m.configError(); err != nil {
			var fe sdk.FieldErrors
			if errors.As(err, &fe) {
				m.mu.Lock()
				m.config = map[string]string{}
				m.mu.Unlock()
			}
			return err
		}
		return nil
	}
	err = h.call(ctx, m, h.cfg.CallTimeout, func(ctx context.Context, raw any) error {
		return raw.(sdk.Configurable).Configure(ctx, sdk.Config(maps.Clone(values)))
	})
	var fe sdk.FieldErrors
	if errors.As(err, &fe) {
		return err
	}
	// Accepted, or not checked (the plugin is down): its next start
	// sends them.
	m.mu.Lock()
	m.config = maps.Clone(values)
	m.mu.Unlock()
	return err
}

// SetConfig stores a plugin's settings for its next start and sends them
// now if it is running; it never starts the plugin.
func (h *Host) SetConfig(ctx context.Context, name string, values map[string]string) error {
	m, err := h.lookup(name, "")
	if err != nil {
		return err
	}
	m.mu.Lock()
	m.config = maps.Clone(values)
	running := m.enabled && m.client != nil && !m.client.Exited()
	m.mu.Unlock()
	if !running {
		return nil
	}
	return h.call(ctx, m, h.cfg.CallTimeout, func(ctx context.Context, raw any) error {
		return raw.(sdk.Configurable).Configure(ctx, sdk.Config(maps.Clone(values)))
	})
}

// configError returns the field errors the plugin gave its settings at its
// last start, if any.
func (m *managed) configError() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.startConfigErr
}

// Check starts the plugin if needed and checks that it answers; for
// "licensor plugins list" and the console.
func (h *Host) Check(ctx context.Context, name string) error {
	m, err := h.lookup(name, "")
	if err != nil {
		return err
	}
	_, client, err := h.acquire(m)
	if err != nil {
		return err
	}
	m.mu.Lock()
	rpc := m.rpc
	m.mu.Unlock()
	if rpc == nil {
		return ErrUnavailable
	}
	if err := ping(ctx, rpc, h.cfg.CallTimeout); err != nil {
		m.mu.Lock()
		if m.client == client {
			m.crashedLocked(h, healthFailure(client, err))
		}
		m.mu.Unlock()
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	return nil
}

func ping(ctx context.Context, rpc *plugin.GRPCClient, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	_, err := healthpb.NewHealthClient(rpc.Conn).Check(ctx, &healthpb.HealthCheckRequest{Service: plugin.GRPCServiceName})
	return err
}

// call runs fn against the plugin's client under a timeout and turns
// failures into the host's errors, marking the plugin crashed when its
// process died.
func (h *Host) call(ctx context.Context, m *managed, timeout time.Duration, fn func(context.Context, any) error) error {
	m.calls.Add(1)
	raw, client, err := h.acquire(m)
	if err != nil {
		m.errors.Add(1)
		return err
	}
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	err = fn(cctx, raw)
	if err == nil {
		return nil
	}
	m.errors.Add(1)
	var fe sdk.FieldErrors
	if errors.As(err, &fe) {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	switch {
	case ctx.Err() != nil:
		return ctx.Err()
	case m.client != client:
		// The process this call went to is gone and was recorded so (a
		// crash, a restart, a stop) by whoever noticed first. Its error
		// says nothing of the process running now: marking that one
		// crashed would kill a healthy, configured process, and noting
		// the error would hide the crash on the plugin's page.
		return fmt.Errorf("plugin %s: %w: %v", m.name, ErrCrashed, err)
	case cctx.Err() != nil || status.Code(err) == codes.DeadlineExceeded:
		err = fmt.Errorf("plugin %s: %w after %s", m.name, ErrTimeout, timeout)
		m.noteLocked(err.Error())
		return err
	case m.client.Exited() || status.Code(err) == codes.Unavailable:
		m.crashedLocked(h, fmt.Sprintf("process died during a call: %v", err))
		return fmt.Errorf("plugin %s: %w: %v", m.name, ErrCrashed, err)
	}
	msg := err.Error()
	if st, ok := status.FromError(err); ok {
		msg = st.Message()
	}
	perr := &PluginError{Plugin: m.name, Message: msg}
	m.noteLocked(perr.Error())
	return perr
}

// PluginError is an error the plugin itself returned (a provider down, a
// file it cannot read): Message is its own words.
type PluginError struct {
	Plugin  string
	Message string
}

func (e *PluginError) Error() string { return "plugin " + e.Plugin + ": " + e.Message }

func (m *managed) noteLocked(msg string) {
	m.lastErr, m.lastErrAt = msg, time.Now()
}

// acquire returns the plugin's client and the process it belongs to,
// starting the process if it is not running and its backoff has passed.
func (h *Host) acquire(m *managed) (any, *plugin.Client, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	switch m.status {
	case StatusInvalid:
		return nil, nil, fmt.Errorf("plugin %s: %w: %s", m.name, ErrInvalid, m.lastErr)
	case StatusChecksumMismatch:
		return nil, nil, fmt.Errorf("plugin %s: %w", m.name, ErrChecksumMismatch)
	}
	if !m.enabled {
		return nil, nil, fmt.Errorf("plugin %s: %w", m.name, ErrDisabled)
	}
	if m.client != nil {
		if !m.client.Exited() {
			return m.raw, m.client, nil
		}
		m.crashedLocked(h, "process exited")
	}
	if wait := time.Until(m.nextStart); wait > 0 {
		return nil, nil, fmt.Errorf("plugin %s: %w (in %s)", m.name, ErrUnavailable, wait.Round(time.Millisecond))
	}
	h.mu.Lock()
	closed := h.closed
	h.mu.Unlock()
	if closed {
		return nil, nil, ErrClosed
	}
	if err := h.startLocked(m); err != nil {
		return nil, nil, err
	}
	return m.raw, m.client, nil
}
