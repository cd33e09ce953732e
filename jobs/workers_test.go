package jobs_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"github.com/uptrace/bun"

	"github.com/licensor/licensor/app/audit"
	"github.com/licensor/licensor/app/catalog"
	"github.com/licensor/licensor/app/db"
	"github.com/licensor/licensor/app/db/dbtest"
	"github.com/licensor/licensor/app/expiry"
	"github.com/licensor/licensor/app/fields"
	"github.com/licensor/licensor/app/jobqueue"
	"github.com/licensor/licensor/app/jobqueue/jobargs"
	"github.com/licensor/licensor/app/licensing"
	"github.com/licensor/licensor/app/mail"
	"github.com/licensor/licensor/app/mail/mailtest"
	"github.com/licensor/licensor/app/settings"
	"github.com/licensor/licensor/app/webhooks"
	"github.com/licensor/licensor/jobs"
	"github.com/licensor/licensor/test/eventually"
	"github.com/licensor/licensor/views"
)

var system = audit.Source{Actor: audit.System}

// quickRetry retries failed jobs after 50 ms instead of River's seconds.
type quickRetry struct{}

func (quickRetry) NextRetry(*rivertype.JobRow) time.Time {
	return time.Now().Add(50 * time.Millisecond)
}

// startClient starts a River worker client (a node) for the test.
func startClient(t *testing.T, d *db.DB, deps jobs.Deps, opts jobs.Options) *river.Client[pgx.Tx] {
	t.Helper()
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if opts.FetchPoll == 0 {
		opts.FetchPoll = 20 * time.Millisecond
	}
	if opts.RetryPolicy == nil {
		opts.RetryPolicy = quickRetry{}
	}
	client, err := jobs.NewClient(d.Pool, deps, opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := client.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = client.Stop(ctx)
	})
	return client
}

func count(t *testing.T, d *db.DB, query string, args ...any) int {
	t.Helper()
	var n int
	if err := d.Bun.NewRaw(query, args...).Scan(context.Background(), &n); err != nil {
		t.Fatal(err)
	}
	return n
}

func newMailer(t *testing.T, d *db.DB) *mail.Mailer {
	t.Helper()
	q, err := jobqueue.New(d.SQL)
	if err != nil {
		t.Fatal(err)
	}
	m, err := mail.NewMailer(mail.Options{Queue: q, Views: views.FS, BaseURL: "https://licenses.example.com"})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func newProduct(t *testing.T, d *db.DB) {
	t.Helper()
	if _, err := catalog.NewService(nil).CreateProduct(context.Background(), d.Bun, system, settings.Defaults(), catalog.ProductInput{Name: fields.Some("Acme CMS"), ReferenceID: fields.Some("ACME")}); err != nil {
		t.Fatal(err)
	}
}

// The SMTP server is down when the email is queued; River retries until
// it is up, and the email arrives exactly once.
func TestMailArrivesOnceAfterTheServerComesUp(t *testing.T) {
	t.Parallel()
	d := dbtest.New(t)
	ctx := context.Background()
	srv := mailtest.Reserve(t)
	smtp, err := mail.ParseSMTPURL(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	startClient(t, d, jobs.Deps{Mail: mail.NewSender(d.Bun, smtp, nil)}, jobs.Options{})

	m := newMailer(t, d)
	l := licenseWithEmail(t, d, "buyer@example.com")
	err = d.Bun.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		_, _, err := m.LicenseDetails(ctx, tx, settings.Defaults(), l.ID)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	eventually.True(t, 10*time.Second, "no failed attempt while the server is down", func() bool {
		return count(t, d, "SELECT attempts FROM mail_messages") >= 2
	})
	srv.Restart()
	got := srv.Wait(1, 10*time.Second)
	eventually.True(t, 10*time.Second, "the job did not complete", func() bool {
		return count(t, d, "SELECT count(*) FROM river_job WHERE kind = 'send_mail' AND state = 'completed'") == 1
	})
	// No wait for a wrong second send: the one job is completed and no
	// other is left to run, and the server records a message before it
	// acknowledges it, so a second copy sent before is already counted.
	if n := count(t, d, "SELECT count(*) FROM river_job WHERE kind = 'send_mail' AND state <> 'completed'"); n != 0 {
		t.Fatalf("%d email jobs left to run", n)
	}
	if n := len(srv.Messages()); n != 1 || got[0].Subject != "Your Acme CMS license details" || got[0].To[0] != "buyer@example.com" {
		t.Fatalf("%d messages: %+v", n, got)
	}
	if count(t, d, "SELECT count(*) FROM mail_messages WHERE status = 'sent'") != 1 {
		t.Fatal("message not marked sent")
	}
}

func licenseWithEmail(t *testing.T, d *db.DB, email string) *licensing.License {
	t.Helper()
	newProduct(t, d)
	l, err := licensing.NewService(licensing.Options{}).CreateLicense(context.Background(), d.Bun, system, settings.Defaults(),
		licensing.LicenseInput{ProductReferenceID: fields.Some("ACME"), Email: fields.Some(&email)})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// A webhook receiver on loopback answers 500, then 200: the event is
// delivered once, both attempts are logged, and the signature verifies.
func TestWebhookDeliveredAfterA500(t *testing.T) {
	t.Parallel()
	d := dbtest.New(t)
	ctx := context.Background()
	var mu sync.Mutex
	var bodies, sigs []string
	recv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		bodies, sigs = append(bodies, string(b)), append(sigs, r.Header.Get("X-Webhook-Signature"))
		if len(bodies) == 1 {
			w.WriteHeader(http.StatusInternalServerError)
		}
	}))
	defer recv.Close()
	if _, err := settings.Set(ctx, d.Bun, system, map[string]string{"enable_webhooks": "true", "webhook_url": recv.URL, "webhook_secret": "s3cret"}); err != nil {
		t.Fatal(err)
	}
	store, _ := settings.NewStore(d.Bun, nil)
	q, _ := jobqueue.New(d.SQL)
	emitter := webhooks.NewEmitter(q, store, "https://licenses.example.com", nil)
	startClient(t, d, jobs.Deps{
		Webhooks:       webhooks.NewDeliverer(d.Bun, recv.Client(), store, nil),
		WebhookBackoff: func(int) time.Duration { return 50 * time.Millisecond },
	}, jobs.Options{})

	newProduct(t, d)
	if _, err := licensing.NewService(licensing.Options{Hooks: emitter.LicensingHooks()}).CreateLicense(ctx, d.Bun, system, settings.Defaults(),
		licensing.LicenseInput{ProductReferenceID: fields.Some("ACME"), LicenseCode: fields.Some("HOOKED-1")}); err != nil {
		t.Fatal(err)
	}
	eventually.True(t, 10*time.Second, "delivery did not succeed", func() bool {
		return count(t, d, "SELECT count(*) FROM webhook_deliveries WHERE status = 'succeeded'") == 1
	})
	eventually.True(t, 5*time.Second, "job not completed", func() bool {
		return count(t, d, "SELECT count(*) FROM river_job WHERE kind = 'deliver_webhook' AND state = 'completed'") == 1
	})
	mu.Lock()
	defer mu.Unlock()
	if len(bodies) != 2 || bodies[0] != bodies[1] {
		t.Fatalf("%d requests", len(bodies))
	}
	mac := hmac.New(sha256.New, []byte("s3cret"))
	mac.Write([]byte(bodies[1]))
	if sigs[1] != hex.EncodeToString(mac.Sum(nil)) {
		t.Fatal("signature does not verify")
	}
	if n := count(t, d, "SELECT count(*) FROM webhook_delivery_attempts"); n != 2 {
		t.Fatalf("%d attempts logged", n)
	}
	if n := count(t, d, "SELECT count(*) FROM activity_log WHERE message = 'Webhook license.created succeeded for license HOOKED-1 (Acme CMS).'"); n != 1 {
		t.Fatalf("%d success lines", n)
	}
}

// The expiry scan run by two River clients (two nodes) at once sends each
// warning once.
func TestExpiryScanOnTwoNodes(t *testing.T) {
	t.Parallel()
	d := dbtest.New(t)
	ctx := context.Background()
	newProduct(t, d)
	now := time.Now()
	for i := range 120 {
		exp := now.Add(time.Duration(i%8)*24*time.Hour + time.Hour)
		email := fmt.Sprintf("c%d@example.com", i)
		if _, err := licensing.NewService(licensing.Options{}).CreateLicense(ctx, d.Bun, system, settings.Defaults(),
			licensing.LicenseInput{ProductReferenceID: fields.Some("ACME"), Email: fields.Some(&email), ExpiresAt: fields.Some(&exp)}); err != nil {
			t.Fatal(err)
		}
	}
	store, _ := settings.NewStore(d.Bun, nil)
	q, _ := jobqueue.New(d.SQL)
	node := func() *river.Client[pgx.Tx] {
		s := expiry.NewScanner(d.Bun, newMailer(t, d), webhooks.NewEmitter(q, store, "https://licenses.example.com", nil), nil)
		s.BatchSize = 10
		return startClient(t, d, jobs.Deps{Settings: store, Expiry: s}, jobs.Options{Workers: 4})
	}
	a, b := node(), node()
	// Besides the scheduler's own run on start, several runs at once: each
	// Day is its own unique job, so they all run, on both nodes.
	for i, c := range []*river.Client[pgx.Tx]{a, b, a, b} {
		if _, err := c.Insert(ctx, jobargs.ExpiryScan{Day: fmt.Sprintf("manual-%d", i)}, nil); err != nil {
			t.Fatal(err)
		}
	}
	eventually.True(t, 20*time.Second, "scans did not all complete", func() bool {
		return count(t, d, "SELECT count(*) FROM river_job WHERE kind = 'expiry_scan' AND state = 'completed'") >= 5
	})
	// Offsets 0..7 days (+1 h): days left 1..8; 8 is beyond the 7-day
	// threshold, so 7 of every 8 licenses get one warning.
	if n := count(t, d, "SELECT count(*) FROM mail_messages"); n != 105 {
		t.Fatalf("%d warnings, want 105", n)
	}
	if n := count(t, d, "SELECT count(*) FROM (SELECT to_address FROM mail_messages GROUP BY 1 HAVING count(*) > 1) x"); n != 0 {
		t.Fatalf("%d licenses warned twice", n)
	}
	if n := count(t, d, "SELECT count(DISTINCT attempted_by[1]) FROM river_job WHERE kind = 'expiry_scan'"); n != 2 {
		t.Logf("scans ran on %d node(s)", n)
	}
}

// A node killed mid-job leaves the job running in the table; the leader's
// rescuer hands it to a live node, which finishes it.
func TestKilledNodesJobIsRescued(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("waits for River's rescuer and scheduler ticks (about 6 s)")
	}
	d := dbtest.New(t)
	ctx := context.Background()
	srv := mailtest.Start(t)
	m := newMailer(t, d)
	l := licenseWithEmail(t, d, "rescued@example.com")
	if err := d.Bun.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		_, _, err := m.LicenseDetails(ctx, tx, settings.Defaults(), l.ID)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	// The dead node had fetched the job a while ago.
	if _, err := d.Bun.ExecContext(ctx, `UPDATE river_job SET state = 'running', attempt = 1,
		attempted_at = now() - interval '1 hour', attempted_by = '{dead-node}' WHERE kind = 'send_mail'`); err != nil {
		t.Fatal(err)
	}
	smtp, _ := mail.ParseSMTPURL(srv.URL())
	startClient(t, d, jobs.Deps{Mail: mail.NewSender(d.Bun, smtp, nil)}, jobs.Options{JobTimeout: time.Second, RescueAfter: 2 * time.Second})
	srv.Wait(1, 20*time.Second)
	eventually.True(t, 10*time.Second, "rescued job not completed", func() bool {
		return count(t, d, "SELECT count(*) FROM river_job WHERE kind = 'send_mail' AND state = 'completed' AND attempt = 2") == 1
	})
}
