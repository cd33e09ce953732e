package host_test

import (
	"context"
	"errors"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/licensor/licensor/plugins/host"
	"github.com/licensor/licensor/plugins/host/hosttest"
	"github.com/licensor/licensor/plugins/sdk"
	"github.com/licensor/licensor/test/eventually"
)

// verifyUntilRestarted kills the plugin's process and calls Verify until a
// new process answers, as a node under load does (the health loop is too
// slow to be the one restarting it). While the plugin is down a call may
// fail with the host's own errors; it must never reach a process that has
// no settings, which answers "not configured" (a *host.PluginError).
func verifyUntilRestarted(t *testing.T, h *host.Host, killPid int) sdk.Verdict {
	t.Helper()
	if err := syscall.Kill(killPid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	c := h.Captcha("captcha-recaptcha")
	var (
		v   sdk.Verdict
		err error
	)
	if !eventually.Within(10*time.Second, func() bool {
		v, err = c.Verify(context.Background(), sdk.VerifyRequest{Token: "good", Form: "login"})
		var perr *host.PluginError
		if errors.As(err, &perr) {
			t.Fatalf("a call reached the restarted plugin before its settings: %v", err)
		}
		return err == nil
	}) {
		t.Fatalf("no answer from a restarted plugin within 10 s: %v", err)
	}
	return v
}

// Settings the plugin refused are not what a restarted process gets: as
// the SDK promises, the plugin keeps its previous settings, and that holds
// across a crash. (Before, the host kept the refused values and sent them
// at the restart: the new process refused them and answered "not
// configured" until the next change of settings.)
func TestRestartedPluginKeepsTheSettingsItAccepted(t *testing.T) {
	t.Parallel()
	h, srv, _ := startCaptcha(t, host.Config{HealthInterval: time.Hour})
	go func() {
		for range srv.arrived {
		}
	}()
	ctx := context.Background()
	bad := captchaSettings(srv.URL)
	bad["score_threshold"] = "7"
	var fe sdk.FieldErrors
	if err := h.Configure(ctx, "captcha-recaptcha", bad); !errors.As(err, &fe) || fe["score_threshold"] == "" {
		t.Fatalf("refused settings: %v", err)
	}
	// The running process kept its settings.
	if v, err := h.Captcha("captcha-recaptcha").Verify(ctx, sdk.VerifyRequest{Token: "good", Form: "login"}); err != nil || !v.OK {
		t.Fatalf("after the refused settings: %+v %v", v, err)
	}

	before, _ := h.Get("captcha-recaptcha")
	if v := verifyUntilRestarted(t, h, before.Pid); !v.OK {
		t.Fatalf("restarted plugin refused a good token: %+v", v)
	}
	p, _ := h.Get("captcha-recaptcha")
	if p.Pid == before.Pid || p.Restarts != 1 || p.Status != host.StatusRunning {
		t.Fatalf("after the restart: %+v", p)
	}
	// The crash is what the page shows, not a note of the restart.
	if !strings.Contains(p.LastError, "exited") && !strings.Contains(p.LastError, "died") {
		t.Fatalf("last error %q does not name the crash", p.LastError)
	}
}

// A process that could not be given its settings takes no call: its start
// failed (and is retried after the backoff) rather than leaving a running
// plugin without settings that nothing would configure again. The
// settings here are larger than the host lets through the connection, so
// that their delivery fails while the process itself is fine — as a
// connection that is not ready, or a plugin too slow to answer, would.
func TestPluginThatDidNotGetItsSettingsTakesNoCalls(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	hosttest.Install(t, dir, "captcha-recaptcha")
	h, _ := newHost(t, dir, host.Config{MaxMessageBytes: 4 << 10, HealthInterval: time.Hour})
	srv := newVerifyServer(t)
	ctx := context.Background()
	settings := captchaSettings(srv.URL)
	settings["widget_class"] = strings.Repeat("w", 8<<10)
	if err := h.SetConfig(ctx, "captcha-recaptcha", settings); err != nil {
		t.Fatal(err)
	}
	if err := h.SetEnabled("captcha-recaptcha", true); err != nil {
		t.Fatal(err)
	}
	_, err := h.Captcha("captcha-recaptcha").Verify(ctx, sdk.VerifyRequest{Token: "good", Form: "login"})
	var perr *host.PluginError
	if !errors.Is(err, host.ErrUnavailable) || errors.As(err, &perr) {
		t.Fatalf("call to a plugin whose settings were not delivered: %v", err)
	}
	p, _ := h.Get("captcha-recaptcha")
	if p.Status != host.StatusCrashed || p.Pid != 0 || !strings.Contains(p.LastError, "settings not delivered") {
		t.Fatalf("plugin: %+v", p)
	}
}
