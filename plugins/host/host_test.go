package host_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/licensor/licensor/plugins/host"
	"github.com/licensor/licensor/plugins/host/hosttest"
	"github.com/licensor/licensor/plugins/sdk"
	"github.com/licensor/licensor/test/eventually"
)

// logSink collects slog records as text.
type logSink struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logSink) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logSink) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func newHost(t *testing.T, dir string, cfg host.Config) (*host.Host, *logSink) {
	t.Helper()
	logs := &logSink{}
	cfg.Dir = dir
	cfg.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	h := host.New(cfg)
	t.Cleanup(h.Close)
	if err := h.Discover(); err != nil {
		t.Fatal(err)
	}
	return h, logs
}

// verifyServer is a fake siteverify endpoint: token "good" passes with a
// high score, "low" passes with a low one, anything else fails; "hang"
// blocks until release is closed (at the latest when the test ends).
type verifyServer struct {
	*httptest.Server
	arrived chan string
	release chan struct{}
}

func newVerifyServer(t *testing.T) *verifyServer {
	v := &verifyServer{arrived: make(chan string, 10), release: make(chan struct{})}
	v.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil || r.PostForm.Get("secret") != "s3cret" {
			_ = json.NewEncoder(w).Encode(map[string]any{"success": false, "error-codes": []string{"invalid-input-secret"}})
			return
		}
		token := r.PostForm.Get("response")
		v.arrived <- token + " " + r.PostForm.Get("remoteip")
		switch token {
		case "hang":
			<-v.release
		}
		switch token {
		case "good", "hang":
			_ = json.NewEncoder(w).Encode(map[string]any{"success": true, "score": 0.9, "action": "login"})
		case "low":
			_ = json.NewEncoder(w).Encode(map[string]any{"success": true, "score": 0.1, "action": "login"})
		default:
			_ = json.NewEncoder(w).Encode(map[string]any{"success": false, "error-codes": []string{"invalid-input-response"}})
		}
	}))
	t.Cleanup(func() {
		select {
		case <-v.release:
		default:
			close(v.release)
		}
		v.Close()
	})
	return v
}

func captchaSettings(verifyURL string) map[string]string {
	return map[string]string{
		"site_key": "site-key-1", "secret_key": "s3cret", "version": "v3",
		"score_threshold": "0.5", "verify_url": verifyURL,
	}
}

func startCaptcha(t *testing.T, cfg host.Config) (*host.Host, *verifyServer, *logSink) {
	t.Helper()
	dir := t.TempDir()
	hosttest.Install(t, dir, "captcha-recaptcha")
	h, logs := newHost(t, dir, cfg)
	srv := newVerifyServer(t)
	if err := h.SetEnabled("captcha-recaptcha", true); err != nil {
		t.Fatal(err)
	}
	if err := h.Configure(context.Background(), "captcha-recaptcha", captchaSettings(srv.URL)); err != nil {
		t.Fatal(err)
	}
	return h, srv, logs
}

func TestCaptchaPluginVerifiesAgainstTheProvider(t *testing.T) {
	h, srv, logs := startCaptcha(t, host.Config{})
	c := h.Captcha("captcha-recaptcha")
	ctx := context.Background()

	v, err := c.Verify(ctx, sdk.VerifyRequest{Token: "good", RemoteIP: "203.0.113.7", Form: "login"})
	if err != nil || !v.OK || v.Score != 0.9 {
		t.Fatalf("good token: %+v, %v", v, err)
	}
	if got := <-srv.arrived; got != "good 203.0.113.7" {
		t.Fatalf("provider received %q", got)
	}
	v, err = c.Verify(ctx, sdk.VerifyRequest{Token: "forged", Form: "login"})
	if err != nil || v.OK || !strings.Contains(v.Reason, "invalid-input-response") {
		t.Fatalf("bad token: %+v, %v", v, err)
	}
	<-srv.arrived
	v, err = c.Verify(ctx, sdk.VerifyRequest{Token: "low", Form: "login"})
	if err != nil || v.OK || !strings.Contains(v.Reason, "below the threshold") {
		t.Fatalf("low score: %+v, %v", v, err)
	}
	<-srv.arrived

	w, err := c.Widget(ctx, sdk.WidgetRequest{Form: "login"})
	if err != nil || w.ResponseField != "g-recaptcha-response" || !strings.Contains(w.HTML, "site-key-1") ||
		len(w.ScriptURLs) != 1 || !strings.Contains(w.ScriptURLs[0], "render=site-key-1") ||
		strings.Join(w.Origins, " ") != "https://www.google.com https://www.gstatic.com" {
		t.Fatalf("widget: %+v, %v", w, err)
	}

	// Settings the plugin refuses come back field by field.
	bad := captchaSettings(srv.URL)
	bad["score_threshold"] = "7"
	err = h.Configure(ctx, "captcha-recaptcha", bad)
	var fe sdk.FieldErrors
	if !errors.As(err, &fe) || fe["score_threshold"] == "" {
		t.Fatalf("out-of-range threshold: %v", err)
	}

	p, _ := h.Get("captcha-recaptcha")
	if p.Status != host.StatusRunning || p.Pid == 0 || p.Manifest.Version != "1.0.0" {
		t.Fatalf("plugin: %+v", p)
	}
	// go-plugin's messages about the process reach slog, tagged.
	if !strings.Contains(logs.String(), "plugin=captcha-recaptcha") {
		t.Fatalf("no plugin log lines in slog:\n%s", logs)
	}
}

func TestPluginRunsWithAMinimalEnvironment(t *testing.T) {
	t.Setenv("LICENSOR_DATABASE_URL", "postgres://secret@db/licensor")
	h, _, _ := startCaptcha(t, host.Config{})
	p, _ := h.Get("captcha-recaptcha")
	raw, err := os.ReadFile("/proc/" + itoa(p.Pid) + "/environ")
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	env := strings.Split(string(raw), "\x00")
	for _, kv := range env {
		if strings.HasPrefix(kv, "LICENSOR_DATABASE_URL") {
			t.Fatalf("plugin inherited %s", kv)
		}
	}
	if !strings.Contains(string(raw), "PATH=/usr/local/bin:/usr/bin:/bin") || len(env) > 16 {
		t.Fatalf("plugin environment: %q", env)
	}
}

func TestDisabledPluginIsNotStarted(t *testing.T) {
	dir := t.TempDir()
	hosttest.Install(t, dir, "captcha-recaptcha")
	h, _ := newHost(t, dir, host.Config{})
	_, err := h.Captcha("captcha-recaptcha").Verify(context.Background(), sdk.VerifyRequest{Token: "good"})
	if !errors.Is(err, host.ErrDisabled) {
		t.Fatalf("disabled plugin: %v", err)
	}
	if p, _ := h.Get("captcha-recaptcha"); p.Status != host.StatusDisabled || p.Pid != 0 {
		t.Fatalf("plugin: %+v", p)
	}
	if _, err := h.ImportFormat("captcha-recaptcha").Parse(context.Background(), "a.xlsx", "customers", nil); !errors.Is(err, host.ErrWrongKind) {
		t.Fatalf("wrong kind: %v", err)
	}
}

func TestChecksumMismatchIsRefused(t *testing.T) {
	dir := t.TempDir()
	pdir := hosttest.Install(t, dir, "captcha-recaptcha")

	// A manifest whose checksum is not the executable's: found at discovery.
	mpath := filepath.Join(pdir, "manifest.json")
	orig, _ := os.ReadFile(mpath)
	var m map[string]any
	_ = json.Unmarshal(orig, &m)
	m["sha256"] = strings.Repeat("0", 64)
	forged, _ := json.Marshal(m)
	_ = os.WriteFile(mpath, forged, 0o644)
	h, _ := newHost(t, dir, host.Config{})
	_ = h.SetEnabled("captcha-recaptcha", true)
	if p, _ := h.Get("captcha-recaptcha"); p.Status != host.StatusChecksumMismatch {
		t.Fatalf("status %q, want checksum mismatch", p.Status)
	}
	_, err := h.Captcha("captcha-recaptcha").Verify(context.Background(), sdk.VerifyRequest{Token: "good"})
	if !errors.Is(err, host.ErrChecksumMismatch) {
		t.Fatalf("verify: %v", err)
	}

	// An executable swapped after discovery: refused at start by go-plugin's
	// SecureConfig.
	_ = os.WriteFile(mpath, orig, 0o644)
	if err := h.Discover(); err != nil {
		t.Fatal(err)
	}
	_ = h.SetEnabled("captcha-recaptcha", true)
	if p, _ := h.Get("captcha-recaptcha"); p.Status != host.StatusStopped {
		t.Fatalf("status %q after restoring the manifest", p.Status)
	}
	exe := filepath.Join(pdir, "captcha-recaptcha")
	data, _ := os.ReadFile(exe)
	_ = os.WriteFile(exe, append(data, 0), 0o755)
	_, err = h.Captcha("captcha-recaptcha").Verify(context.Background(), sdk.VerifyRequest{Token: "good"})
	if !errors.Is(err, host.ErrChecksumMismatch) {
		t.Fatalf("swapped executable: %v", err)
	}
	if p, _ := h.Get("captcha-recaptcha"); p.Status != host.StatusChecksumMismatch || p.Pid != 0 {
		t.Fatalf("plugin after refused start: %+v", p)
	}
}

func TestKilledPluginIsRestarted(t *testing.T) {
	h, srv, _ := startCaptcha(t, host.Config{HealthInterval: 50 * time.Millisecond})
	c := h.Captcha("captcha-recaptcha")
	before, _ := h.Get("captcha-recaptcha")

	errc := make(chan error, 1)
	go func() {
		_, err := c.Verify(context.Background(), sdk.VerifyRequest{Token: "hang", Form: "login"})
		errc <- err
	}()
	<-srv.arrived // the call is inside the plugin now
	if err := syscall.Kill(before.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-errc:
		if !errors.Is(err, host.ErrCrashed) {
			t.Fatalf("call during kill: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the call did not return after the plugin was killed")
	}
	close(srv.release)

	// The health loop restarts it after the backoff; the next call works.
	var p host.Plugin
	if !eventually.Within(10*time.Second, func() bool {
		p, _ = h.Get("captcha-recaptcha")
		return p.Status == host.StatusRunning && p.Pid != 0 && p.Pid != before.Pid
	}) {
		t.Fatalf("not restarted: %+v", p)
	}
	if p.Restarts < 1 || !strings.Contains(p.LastError, "died") {
		t.Fatalf("after restart: %+v", p)
	}
	v, err := c.Verify(context.Background(), sdk.VerifyRequest{Token: "good", Form: "login"})
	if err != nil || !v.OK {
		t.Fatalf("call after restart: %+v, %v", v, err)
	}
	if alive(before.Pid) {
		t.Fatalf("killed process %d still exists", before.Pid)
	}
}

// A call the plugin does not answer within CallTimeout fails with
// ErrTimeout, and the process stays. The provider never answers ("hang"),
// so the call ends either at the host's timeout or at the plugin's own
// 10 s one for the provider: the wait for it stops well before the latter.
// The timeout is also every other call's (start, Configure, the next
// Verify), which must succeed on a loaded machine: it is not made short.
func TestSlowPluginCallTimesOut(t *testing.T) {
	const timeout = time.Second
	h, _, _ := startCaptcha(t, host.Config{CallTimeout: timeout})
	c := h.Captcha("captcha-recaptcha")
	pid := func() int { p, _ := h.Get("captcha-recaptcha"); return p.Pid }
	before := pid()
	start := time.Now()
	errc := make(chan error, 1)
	go func() {
		_, err := c.Verify(context.Background(), sdk.VerifyRequest{Token: "hang", Form: "login"})
		errc <- err
	}()
	select {
	case err := <-errc:
		if !errors.Is(err, host.ErrTimeout) {
			t.Fatalf("unanswered call: %v", err)
		}
	case <-time.After(5 * timeout):
		t.Fatal("the unanswered call did not end at the call timeout")
	}
	if d := time.Since(start); d < timeout {
		t.Fatalf("timed out after %s, before the call timeout (%s)", d, timeout)
	}
	// The plugin itself is fine: the next call works on the same process
	// while the provider still holds the first.
	v, err := c.Verify(context.Background(), sdk.VerifyRequest{Token: "good", Form: "login"})
	if err != nil || !v.OK || pid() != before {
		t.Fatalf("after timeout: %+v, %v (pid %d → %d)", v, err, before, pid())
	}
}

func TestImportXLSXPlugin(t *testing.T) {
	dir := t.TempDir()
	hosttest.Install(t, dir, "import-xlsx")
	h, _ := newHost(t, dir, host.Config{})
	_ = h.SetEnabled("import-xlsx", true)

	content := workbook(t, [][]any{
		{"Name", "E-mail", "Client ID"},
		{"Ada Lovelace", "ada@example.com", "ada"},
		{},
		{"Bad Row", "bad@example.com", "", "stray"},
		{"Grace Hopper", "grace@example.com"},
	})
	got, err := h.ImportFormat("import-xlsx").Parse(context.Background(), "people.xlsx", "customers", content)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(got.Columns, ",") != "name,email,client_id" {
		t.Fatalf("columns %q", got.Columns)
	}
	if len(got.Records) != 3 {
		t.Fatalf("records %+v", got.Records)
	}
	r := got.Records
	if r[0].Line != 2 || r[0].Fields["email"] != "ada@example.com" || r[0].Fields["client_id"] != "ada" || r[0].Error != "" {
		t.Fatalf("row 2: %+v", r[0])
	}
	if r[1].Line != 4 || !strings.Contains(r[1].Error, "column D has a value but no header") {
		t.Fatalf("row 4: %+v", r[1])
	}
	if r[2].Line != 5 || r[2].Fields["name"] != "Grace Hopper" {
		t.Fatalf("row 5: %+v", r[2])
	}

	if _, err := h.ImportFormat("import-xlsx").Parse(context.Background(), "x.xlsx", "customers", []byte("not a zip")); err == nil ||
		!strings.Contains(err.Error(), "not an Excel workbook") {
		t.Fatalf("garbage file: %v", err)
	}
}

func TestNoPluginProcessLeftAfterClose(t *testing.T) {
	dir := t.TempDir()
	hosttest.Install(t, dir, "captcha-recaptcha")
	hosttest.Install(t, dir, "import-xlsx")
	h, _ := newHost(t, dir, host.Config{})
	ctx := context.Background()
	for _, name := range []string{"captcha-recaptcha", "import-xlsx"} {
		_ = h.SetEnabled(name, true)
		if err := h.Check(ctx, name); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	var pids []int
	for _, p := range h.List() {
		if p.Pid == 0 || !alive(p.Pid) {
			t.Fatalf("%s not running: %+v", p.Name, p)
		}
		pids = append(pids, p.Pid)
	}
	h.Close()
	for _, pid := range pids {
		if alive(pid) {
			t.Fatalf("plugin process %d still running after Close", pid)
		}
	}
	if _, err := h.Captcha("captcha-recaptcha").Verify(ctx, sdk.VerifyRequest{Token: "good"}); !errors.Is(err, host.ErrClosed) {
		t.Fatalf("call after Close: %v", err)
	}
}

func alive(pid int) bool {
	return syscall.Kill(pid, 0) == nil
}

func itoa(n int) string {
	return strconv.Itoa(n)
}

func workbook(t *testing.T, rows [][]any) []byte {
	t.Helper()
	f := excelize.NewFile()
	defer func() { _ = f.Close() }()
	for i, row := range rows {
		cell, _ := excelize.CoordinatesToCellName(1, i+1)
		if len(row) > 0 {
			if err := f.SetSheetRow("Sheet1", cell, &row); err != nil {
				t.Fatal(err)
			}
		}
	}
	var buf bytes.Buffer
	if err := f.Write(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// The README's example plugin, built from plugins/sdk/examples (a copy of
// the README's code), works through the host.
func TestReadmeExamplePlugin(t *testing.T) {
	dir := t.TempDir()
	hosttest.Install(t, dir, "sdk/examples/captcha-answer")
	h, _ := newHost(t, dir, host.Config{})
	_ = h.SetEnabled("captcha-answer", true)
	ctx := context.Background()
	var fe sdk.FieldErrors
	if err := h.Configure(ctx, "captcha-answer", map[string]string{}); !errors.As(err, &fe) || fe["answer"] != "Enter the answer." {
		t.Fatalf("missing answer: %v", err)
	}
	if err := h.Configure(ctx, "captcha-answer", map[string]string{"answer": "42"}); err != nil {
		t.Fatal(err)
	}
	c := h.Captcha("captcha-answer")
	w, err := c.Widget(ctx, sdk.WidgetRequest{Form: "login"})
	if err != nil || w.ResponseField != "captcha_answer" || !strings.Contains(w.HTML, "six times seven") {
		t.Fatalf("widget: %+v %v", w, err)
	}
	if v, err := c.Verify(ctx, sdk.VerifyRequest{Token: "42"}); err != nil || !v.OK {
		t.Fatalf("right answer: %+v %v", v, err)
	}
	if v, err := c.Verify(ctx, sdk.VerifyRequest{Token: "41"}); err != nil || v.OK || v.Reason != "wrong answer" {
		t.Fatalf("wrong answer: %+v %v", v, err)
	}
}
