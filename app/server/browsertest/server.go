// Package browsertest runs Licensor's browser tests: a real node listening
// on a random port (built as servertest builds it, on a fresh PostgreSQL
// database), River workers delivering its email to an in-process SMTP
// server (mailtest), and a headless Chromium driven with chromedp, with
// helpers to sign in, fill forms, click, wait and take screenshots.
//
// Screenshots go to test-output/screenshots/<test>/NN-name.png at the
// repository root. Without Chromium the tests skip, unless the CI
// environment variable is set: then they fail, so CI cannot skip them
// silently.
package browsertest

import (
	"fmt"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/gofiber/fiber/v3"

	"github.com/licensor/licensor/app/config"
	"github.com/licensor/licensor/app/mail"
	"github.com/licensor/licensor/app/mail/mailtest"
	"github.com/licensor/licensor/app/server/servertest"
)

// Env is a running node of Licensor with its database, its mail server and
// its background workers.
type Env struct {
	*servertest.Env
	// URL is the node's origin, e.g. http://127.0.0.1:41234 (also its
	// base_url, so links in emails lead back to it).
	URL string
	// Mail receives every email the node sends.
	Mail *mailtest.Server
}

// New starts a node for t: servertest's app on a fresh database, served on
// a random loopback port, with River workers sending its email to a
// mailtest server. configure changes the configuration first. Everything
// stops when the test ends. It skips (or fails under CI) when Chromium is
// missing, before doing any work, and skips under -short (make test-short:
// the fast loop leaves the browser tests to make test).
func New(t *testing.T, configure ...func(*config.Config)) *Env {
	t.Helper()
	return NewWithClock(t, nil, configure...)
}

// NewWithClock is New with the node reading the time from now (a
// servertest.Clock's Now), for a flow that depends on it: a two-factor
// code is valid for its 30-second step, and a test that computed one from
// the wall clock failed when a loaded machine took the page past the
// step's end. nil: the wall clock.
func NewWithClock(t *testing.T, now func() time.Time, configure ...func(*config.Config)) *Env {
	t.Helper()
	if testing.Short() {
		t.Skip("browsertest: drives Chromium; skipped under -short (make test runs it)")
	}
	chromiumPath(t)
	requireAssets(t)
	smtp := mailtest.Start(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("browsertest: listen: %v", err)
	}
	origin := "http://" + ln.Addr().String()
	dataDir := t.TempDir()
	cfg := append([]func(*config.Config){func(c *config.Config) {
		c.BaseURL = origin
		c.Mail.SMTPURL = smtp.URL()
		// Uploads (avatars, version files) stay out of the source tree.
		c.DataDir = dataDir
	}}, configure...)
	se := servertest.NewWithClock(t, now, cfg...)
	e := &Env{Env: se, URL: origin, Mail: smtp}

	served := make(chan error, 1)
	go func() { served <- se.App.Listener(ln, fiber.ListenConfig{DisableStartupMessage: true}) }()
	t.Cleanup(func() {
		_ = se.App.ShutdownWithTimeout(5 * time.Second)
		if err := <-served; err != nil {
			t.Logf("browsertest: serve: %v", err)
		}
	})
	e.startWorkers(t)
	return e
}

// startWorkers runs a River client with the node's mail workers
// (servertest.MailJobs: send_mail, password_reset) and its import worker,
// polling often so an email arrives (or an import runs) within a
// moment of being queued.
func (e *Env) startWorkers(t *testing.T) {
	t.Helper()
	transport, err := mail.ParseSMTPURL(e.Mail.URL())
	if err != nil {
		t.Fatalf("browsertest: smtp url: %v", err)
	}
	all := e.Nodes[0].JobDeps(transport, slog.New(slog.NewTextHandler(io.Discard, nil)))
	deps := servertest.MailJobs(all)
	deps.Imports = all.Imports
	e.StartWorkers(t, deps)
}

// WaitMail waits until an email whose subject contains subject arrived
// for to, and returns it.
func (e *Env) WaitMail(t *testing.T, to, subject string, timeout time.Duration) mailtest.Received {
	t.Helper()
	m, ok := e.Mail.WaitMatch(timeout, func(m mailtest.Received) bool {
		return containsFold(m.To, to) && contains(m.Subject, subject)
	})
	if !ok {
		var got []string
		for _, m := range e.Mail.Messages() {
			got = append(got, fmt.Sprintf("%v %q", m.To, m.Subject))
		}
		t.Fatalf("browsertest: no email to %s about %q after %s; received %v", to, subject, timeout, got)
	}
	return m
}
