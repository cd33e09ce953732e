package bench_test

import (
	"context"
	"flag"
	"testing"
	"time"

	"github.com/licensor/licensor/app/audit"
	"github.com/licensor/licensor/app/catalog"
	"github.com/licensor/licensor/app/db/dbtest"
	"github.com/licensor/licensor/app/expiry"
	"github.com/licensor/licensor/app/fields"
	"github.com/licensor/licensor/app/jobqueue"
	"github.com/licensor/licensor/app/mail"
	"github.com/licensor/licensor/app/settings"
	"github.com/licensor/licensor/app/webhooks"
	"github.com/licensor/licensor/views"
)

// expiryLicenses is the number of licenses TestExpiryScanScale inserts. The
// default keeps `go test ./bench/...` fast; the product promise (a million
// licenses in minutes, docs/features.md#licenses) is checked with
//
//	go test ./bench/ -run TestExpiryScanScale -v -timeout 60m -expiry-licenses 1000000
var expiryLicenses = flag.Int("expiry-licenses", 2000, "licenses inserted by TestExpiryScanScale")

// TestExpiryScanScale inserts N licenses with generate_series, their
// expiry and updates dates spread evenly over 30 days either side of now
// (so about a quarter of them are in a scan window: within the 7-day
// warning threshold or expired in the 7-day lookback), then times a full
// scan with warnings and every expiry webhook on, and a second scan, which
// must find everything already claimed.
func TestExpiryScanScale(t *testing.T) {
	n := *expiryLicenses
	d := dbtest.New(t)
	ctx := context.Background()
	system := audit.Source{Actor: audit.System}
	now := time.Now()

	if _, err := settings.Set(ctx, d.Bun, system, map[string]string{
		"enable_webhooks": "true", "webhook_url": "https://hooks.example.com/in",
	}); err != nil {
		t.Fatal(err)
	}
	p, err := catalog.NewService(nil).CreateProduct(ctx, d.Bun, system, settings.Defaults(), catalog.ProductInput{Name: fields.Some("Acme CMS"), ReferenceID: fields.Some("ACME")})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = d.Bun.ExecContext(ctx, `INSERT INTO licenses (product_id, license_code, email, expires_at, updates_until, is_valid)
		SELECT ?, 'BENCH-' || g, CASE WHEN g % 2 = 0 THEN 'buyer' || g || '@example.com' END,
		       ?::timestamptz + (((g * 7919) % 86400) - 43200) * interval '60 seconds',
		       ?::timestamptz + (((g * 104729) % 86400) - 43200) * interval '60 seconds',
		       g % 50 <> 0
		FROM generate_series(1::bigint, ?) AS g`, p.ID, now, now, n)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Bun.ExecContext(ctx, "ANALYZE licenses"); err != nil {
		t.Fatal(err)
	}
	t.Logf("inserted %d licenses in %s", n, time.Since(start).Round(time.Millisecond))

	q, err := jobqueue.New(d.SQL)
	if err != nil {
		t.Fatal(err)
	}
	m, err := mail.NewMailer(mail.Options{Queue: q, Views: views.FS, BaseURL: "https://licenses.example.com"})
	if err != nil {
		t.Fatal(err)
	}
	store, err := settings.NewStore(d.Bun, nil)
	if err != nil {
		t.Fatal(err)
	}
	scanner := expiry.NewScanner(d.Bun, m, webhooks.NewEmitter(q, store, "https://licenses.example.com", nil), func() time.Time { return now })

	start = time.Now()
	res, err := scanner.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	t.Logf("first scan of %d licenses: %s (%.0f licenses/s): %+v", n, took.Round(time.Millisecond), float64(n)/took.Seconds(), res)
	if res.WarningsSent == 0 || res.ExpiredLogged == 0 || res.UpdatesExpired == 0 {
		t.Fatalf("the scan found nothing to do: %+v", res)
	}

	start = time.Now()
	again, err := scanner.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("second scan: %s: %+v", time.Since(start).Round(time.Millisecond), again)
	if again != (expiry.Result{}) {
		t.Fatalf("the second scan sent again: %+v", again)
	}
}
