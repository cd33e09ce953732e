package host

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"time"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/licensor/licensor/plugins/sdk"
)

// passedEnv are the only variables of Licensor's environment a plugin
// sees, besides PATH, HOME, TMPDIR, LANG and the handshake: proxies and CA
// locations, so outgoing HTTPS works as it does for Licensor.
var passedEnv = []string{
	"SSL_CERT_FILE", "SSL_CERT_DIR",
	"HTTPS_PROXY", "HTTP_PROXY", "NO_PROXY", "https_proxy", "http_proxy", "no_proxy",
}

func (h *Host) env(m *managed) []string {
	env := []string{
		"PATH=/usr/local/bin:/usr/bin:/bin",
		"HOME=" + m.dir,
		"TMPDIR=" + os.TempDir(),
		"LANG=C.UTF-8",
	}
	for _, k := range passedEnv {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	return env
}

// startLocked starts m's process, dispenses its client and sends its
// settings. m.mu is held.
func (h *Host) startLocked(m *managed) error {
	restart := m.status == StatusCrashed
	cmd := exec.Command(m.path)
	cmd.Dir = m.dir
	cmd.Env = h.env(m)
	client := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  sdk.Handshake,
		Plugins:          sdk.ClientPlugins(),
		Cmd:              cmd,
		SecureConfig:     &plugin.SecureConfig{Checksum: m.sum, Hash: sha256.New()},
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		SkipHostEnv:      true,
		StartTimeout:     h.cfg.StartTimeout,
		Logger:           newLogBridge(h.cfg.Logger, m.name),
		GRPCDialOptions: []grpc.DialOption{grpc.WithDefaultCallOptions(
			grpc.MaxCallRecvMsgSize(h.cfg.MaxMessageBytes),
			grpc.MaxCallSendMsgSize(h.cfg.MaxMessageBytes),
		)},
	})
	proto, err := client.Client()
	if err != nil {
		client.Kill()
		if errors.Is(err, plugin.ErrChecksumsDoNotMatch) {
			m.status = StatusChecksumMismatch
			m.noteLocked(fmt.Sprintf("%v: refused to start %s", ErrChecksumMismatch, m.path))
			h.cfg.Logger.Error("plugin refused: checksum mismatch", "plugin", m.name, "path", m.path)
			return fmt.Errorf("plugin %s: %w", m.name, ErrChecksumMismatch)
		}
		m.crashedLocked(h, fmt.Sprintf("start: %v", err))
		return fmt.Errorf("plugin %s: %w: start: %v", m.name, ErrUnavailable, err)
	}
	raw, err := proto.Dispense(string(m.manifest.Kind))
	rpc, _ := proto.(*plugin.GRPCClient)
	if err == nil && rpc == nil {
		err = errors.New("not a gRPC plugin")
	}
	if err != nil {
		client.Kill()
		m.crashedLocked(h, fmt.Sprintf("dispense %s: %v", m.manifest.Kind, err))
		return fmt.Errorf("plugin %s: %w: %v", m.name, ErrUnavailable, err)
	}
	pid := 0
	if rc := client.ReattachConfig(); rc != nil {
		pid = rc.Pid
	}

	// The process becomes m's only once it has its settings: until then
	// no call can reach it (m.mu is held, and m.client is not set), so a
	// restarted plugin never answers "not configured". Settings that could
	// not be delivered (the connection failed, the plugin did not answer
	// in time) make this a failed start, retried after the backoff, rather
	// than a running plugin without settings that nothing would ever
	// configure again. Settings the plugin refuses field by field are its
	// answer: it runs, and says so.
	err = h.configureNew(client, rpc, raw, m.config)
	if fe := (sdk.FieldErrors{}); err != nil && !errors.As(err, &fe) {
		client.Kill()
		m.crashedLocked(h, fmt.Sprintf("start: settings not delivered: %v", err))
		return fmt.Errorf("plugin %s: %w: settings not delivered: %v", m.name, ErrUnavailable, err)
	}
	m.startConfigErr = err
	m.client, m.rpc, m.raw, m.pid = client, rpc, raw, pid
	m.startedAt = time.Now()
	m.status = StatusRunning
	if restart {
		m.restarts++
	}
	h.cfg.Logger.Info("plugin started", "plugin", m.name, "pid", m.pid, "version", m.manifest.Version)
	if m.startConfigErr != nil {
		m.noteLocked(fmt.Sprintf("settings refused: %v", m.startConfigErr))
	}
	return nil
}

// configureNew sends settings to a process just started: first it waits
// until the process's connection is ready (a call on a connection still
// being set up fails at once instead of waiting), at most StartTimeout and
// no longer than the process lives; then Configure, within CallTimeout.
func (h *Host) configureNew(client *plugin.Client, rpc *plugin.GRPCClient, raw any, settings map[string]string) error {
	ctx, cancel := context.WithTimeout(context.Background(), h.cfg.StartTimeout)
	defer cancel()
	go func() {
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				if client.Exited() {
					cancel()
					return
				}
			}
		}
	}()
	_, err := healthpb.NewHealthClient(rpc.Conn).Check(ctx,
		&healthpb.HealthCheckRequest{Service: plugin.GRPCServiceName}, grpc.WaitForReady(true))
	if err != nil {
		if client.Exited() {
			return errors.New("the process exited")
		}
		return fmt.Errorf("not ready: %w", err)
	}
	cctx, ccancel := context.WithTimeout(context.Background(), h.cfg.CallTimeout)
	defer ccancel()
	return raw.(sdk.Configurable).Configure(cctx, sdk.Config(maps.Clone(settings)))
}

// stopLocked kills m's process, if any. m.mu is held.
func (m *managed) stopLocked() {
	if m.client != nil {
		m.client.Kill()
	}
	m.client, m.rpc, m.raw, m.pid = nil, nil, nil, 0
}

// crashedLocked records a crash, makes sure the process is gone and sets
// when the next start may happen: 100ms after the first crash, doubling
// with each crash in a row, at most MaxBackoff. A plugin that ran for a
// minute before crashing starts the count again. m.mu is held.
func (m *managed) crashedLocked(h *Host, reason string) {
	wasRunning := m.client != nil
	m.stopLocked()
	m.status = StatusCrashed
	m.noteLocked(reason)
	if wasRunning && time.Since(m.startedAt) > time.Minute {
		m.failures = 0
	}
	m.failures++
	backoff := 100 * time.Millisecond << min(m.failures-1, 20)
	m.nextStart = time.Now().Add(min(backoff, h.cfg.MaxBackoff))
	h.cfg.Logger.Warn("plugin crashed", "plugin", m.name, "reason", reason, "restart_in", min(backoff, h.cfg.MaxBackoff))
}

// shutdown kills the process of a plugin that is going away.
func (m *managed) shutdown() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.stopLocked()
	if m.status == StatusRunning || m.status == StatusCrashed {
		m.status = StatusStopped
	}
}

// healthLoop pings running plugins and restarts crashed ones whose backoff
// has passed, until Close.
func (h *Host) healthLoop() {
	defer close(h.done)
	t := time.NewTicker(h.cfg.HealthInterval)
	defer t.Stop()
	for {
		select {
		case <-h.stop:
			return
		case <-t.C:
		}
		h.mu.Lock()
		ms := make([]*managed, 0, len(h.byName))
		for _, m := range h.byName {
			ms = append(ms, m)
		}
		h.mu.Unlock()
		for _, m := range ms {
			h.checkHealth(m)
		}
	}
}

func (h *Host) checkHealth(m *managed) {
	m.mu.Lock()
	client, rpc, enabled, st, next := m.client, m.rpc, m.enabled, m.status, m.nextStart
	m.mu.Unlock()
	switch {
	case client != nil:
		err := ping(context.Background(), rpc, h.cfg.CallTimeout)
		if err == nil && !client.Exited() {
			return
		}
		m.mu.Lock()
		if m.client == client {
			m.crashedLocked(h, healthFailure(client, err))
		}
		m.mu.Unlock()
	case enabled && st == StatusCrashed && !time.Now().Before(next):
		if _, _, err := h.acquire(m); err != nil {
			h.cfg.Logger.Warn("plugin restart failed", "plugin", m.name, "error", err)
		}
	}
}

// healthFailure says why a health check found the process unusable: its
// connection broken or the process gone is the process dying (as a call
// would have said); anything else (no answer in time) is the check failing.
func healthFailure(client *plugin.Client, err error) string {
	if client.Exited() || status.Code(err) == codes.Unavailable {
		return fmt.Sprintf("process died (health check: %v)", err)
	}
	return fmt.Sprintf("health check failed: %v", err)
}

// Close stops the health checks and kills every plugin process; calls
// afterwards return ErrClosed.
func (h *Host) Close() {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return
	}
	h.closed = true
	ms := make([]*managed, 0, len(h.byName))
	for _, m := range h.byName {
		ms = append(ms, m)
	}
	h.mu.Unlock()
	close(h.stop)
	<-h.done
	for _, m := range ms {
		m.shutdown()
	}
}
