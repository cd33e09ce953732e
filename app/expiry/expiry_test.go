package expiry_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/licensor/licensor/app/audit"
	"github.com/licensor/licensor/app/catalog"
	"github.com/licensor/licensor/app/db"
	"github.com/licensor/licensor/app/db/dbtest"
	"github.com/licensor/licensor/app/expiry"
	"github.com/licensor/licensor/app/fields"
	"github.com/licensor/licensor/app/jobqueue"
	"github.com/licensor/licensor/app/licensing"
	"github.com/licensor/licensor/app/listing"
	"github.com/licensor/licensor/app/mail"
	"github.com/licensor/licensor/app/settings"
	"github.com/licensor/licensor/app/webhooks"
	"github.com/licensor/licensor/views"
)

var system = audit.Source{Actor: audit.System}

type env struct {
	t   *testing.T
	db  *db.DB
	now time.Time
	mu  sync.Mutex
	m   *mail.Mailer
	em  *webhooks.Emitter
}

func newEnv(t *testing.T, changes map[string]string) *env {
	t.Helper()
	d := dbtest.New(t)
	ctx := context.Background()
	e := &env{t: t, db: d, now: time.Date(2025, 6, 1, 1, 0, 0, 0, time.UTC)}
	q, err := jobqueue.New(d.SQL)
	if err != nil {
		t.Fatal(err)
	}
	e.m, err = mail.NewMailer(mail.Options{Queue: q, Views: views.FS, BaseURL: "https://licenses.example.com", Now: e.clock})
	if err != nil {
		t.Fatal(err)
	}
	store, err := settings.NewStore(d.Bun, nil)
	if err != nil {
		t.Fatal(err)
	}
	e.em = webhooks.NewEmitter(q, store, "https://licenses.example.com", e.clock)
	base := map[string]string{"enable_webhooks": "true", "webhook_url": "https://hooks.example.com/in"}
	for k, v := range changes {
		base[k] = v
	}
	if _, err := settings.Set(ctx, d.Bun, system, base); err != nil {
		t.Fatal(err)
	}
	if _, err := catalog.NewService(nil).CreateProduct(ctx, d.Bun, system, settings.Defaults(), catalog.ProductInput{Name: fields.Some("Acme CMS"), ReferenceID: fields.Some("ACME")}); err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *env) clock() time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.now
}

func (e *env) advance(d time.Duration) {
	e.mu.Lock()
	e.now = e.now.Add(d)
	e.mu.Unlock()
}

func (e *env) scanner() *expiry.Scanner { return expiry.NewScanner(e.db.Bun, e.m, e.em, e.clock) }

type lic struct {
	code    string
	email   string
	expires time.Duration // from now; 0 = none
	updates time.Duration // from now; 0 = none
	blocked bool
}

func (e *env) add(ls ...lic) map[string]*licensing.License {
	e.t.Helper()
	out := map[string]*licensing.License{}
	svc := licensing.NewService(licensing.Options{})
	for _, l := range ls {
		in := licensing.LicenseInput{ProductReferenceID: fields.Some("ACME"), LicenseCode: fields.Some(l.code), UpdatesUntil: fields.Some[*time.Time](nil)}
		if l.email != "" {
			in.Email = fields.Some(&l.email)
		}
		if l.expires != 0 {
			t := e.now.Add(l.expires)
			in.ExpiresAt = fields.Some(&t)
		}
		if l.updates != 0 {
			t := e.now.Add(l.updates)
			in.UpdatesUntil = fields.Some(&t)
		}
		if l.blocked {
			in.IsValid = fields.Some(false)
		}
		got, err := svc.CreateLicense(context.Background(), e.db.Bun, system, settings.Defaults(), in)
		if err != nil {
			e.t.Fatal(err)
		}
		out[l.code] = got
	}
	return out
}

func (e *env) scan() expiry.Result {
	e.t.Helper()
	res, err := e.scanner().Run(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	return res
}

// subjects lists the queued emails' subjects and recipients.
func (e *env) mails() []string {
	e.t.Helper()
	var out []string
	if err := e.db.Bun.NewRaw("SELECT subject || ' -> ' || to_address FROM mail_messages ORDER BY id").Scan(context.Background(), &out); err != nil {
		e.t.Fatal(err)
	}
	return out
}

func (e *env) events() []string {
	e.t.Helper()
	var out []string
	if err := e.db.Bun.NewRaw("SELECT event || ' ' || license_code FROM webhook_deliveries ORDER BY created_at, license_code, event").Scan(context.Background(), &out); err != nil {
		e.t.Fatal(err)
	}
	return out
}

const day = 24 * time.Hour

func TestScanOncePerLicenseAndThreshold(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	e.add(
		lic{code: "A-SIX-DAYS", email: "a@example.com", expires: 6*day + 12*time.Hour},
		lic{code: "B-HALF-DAY", email: "b@example.com", expires: 12 * time.Hour},
		lic{code: "C-TEN-DAYS", email: "c@example.com", expires: 10 * day},
		lic{code: "D-EXPIRED", email: "d@example.com", expires: -2 * day},
		lic{code: "E-BLOCKED", email: "e@example.com", expires: 3 * day, blocked: true},
		lic{code: "F-NO-EMAIL", expires: 5 * day},
		lic{code: "G-UPDATES", email: "g@example.com", updates: -day},
		lic{code: "H-LONG-AGO", email: "h@example.com", expires: -30 * day},
	)

	res := e.scan()
	if res != (expiry.Result{WarningsSent: 2, ExpiredLogged: 1, UpdatesExpired: 1, ExpiringEvents: 3}) {
		t.Fatalf("first scan %+v", res)
	}
	want := []string{
		"Your Acme CMS license expires in 7 days -> a@example.com",
		"Your Acme CMS license expires in 1 day -> b@example.com",
	}
	if got := e.mails(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("emails\n got %q\nwant %q", got, want)
	}
	wantEvents := []string{
		"license.expiring A-SIX-DAYS", "license.expiring B-HALF-DAY", "license.expired D-EXPIRED",
		"license.expiring F-NO-EMAIL", "license.update_support_expired G-UPDATES",
	}
	if got := e.events(); fmt.Sprint(got) != fmt.Sprint(wantEvents) {
		t.Fatalf("events\n got %q\nwant %q", got, wantEvents)
	}
	var logged []string
	_ = e.db.Bun.NewRaw("SELECT message FROM activity_log WHERE type IN ('license.expired', 'expiry.scan') ORDER BY id").Scan(context.Background(), &logged)
	if len(logged) != 2 || logged[0] != "License D-EXPIRED (Acme CMS) expired on 2025-05-30." ||
		logged[1] != "Expiry scan: 2 warnings sent, 1 expired licenses logged, 1 updates periods ended." {
		t.Fatalf("activity %q", logged)
	}

	// Again, the same day: nothing new.
	if res := e.scan(); res != (expiry.Result{}) {
		t.Fatalf("second scan %+v", res)
	}
	if n := len(e.mails()); n != 2 {
		t.Fatalf("%d emails after the second scan", n)
	}

	// Six days later A is within one day (its second threshold), C within
	// seven; B, E (blocked licenses expire too) and F have expired.
	e.advance(6 * day)
	res = e.scan()
	if res != (expiry.Result{WarningsSent: 2, ExpiredLogged: 3, ExpiringEvents: 2}) {
		t.Fatalf("six days later %+v", res)
	}
	got := e.mails()[2:]
	want = []string{
		"Your Acme CMS license expires in 1 day -> a@example.com",
		"Your Acme CMS license expires in 4 days -> c@example.com",
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("emails\n got %q\nwant %q", got, want)
	}

	// A renewal (a new expiry date) can expire, and warn, again.
	ls, _, err := licensing.ListLicenses(context.Background(), e.db.Bun, licensing.LicenseFilter{Code: "B-HALF-DAY"}, "", listAll, e.now)
	if err != nil || len(ls) != 1 {
		t.Fatal(err)
	}
	renewed := e.now.Add(-time.Hour)
	if _, err := licensing.NewService(licensing.Options{}).UpdateLicense(context.Background(), e.db.Bun, system, settings.Defaults(), ls[0].ID,
		licensing.LicenseInput{ExpiresAt: fields.Some(&renewed)}); err != nil {
		t.Fatal(err)
	}
	if res := e.scan(); res.ExpiredLogged != 1 {
		t.Fatalf("renewed license expiring again: %+v", res)
	}
}

func TestSettingsSwitchWarningsAndEvents(t *testing.T) {
	t.Parallel()
	e := newEnv(t, map[string]string{"send_expiration_warnings": "false", "expiration_warning_days": "30,14,3"})
	e.add(lic{code: "A", email: "a@example.com", expires: 20 * day}, lic{code: "B", email: "b@example.com", expires: 2 * day})
	res := e.scan()
	if res != (expiry.Result{ExpiringEvents: 2}) || len(e.mails()) != 0 {
		t.Fatalf("warnings off: %+v, %d emails", res, len(e.mails()))
	}
	// Turning warnings on later still warns at the current threshold: the
	// events' notices are separate from the emails'.
	if _, err := settings.Set(context.Background(), e.db.Bun, system, map[string]string{"send_expiration_warnings": "true", "enable_webhooks": "false"}); err != nil {
		t.Fatal(err)
	}
	res = e.scan()
	if res != (expiry.Result{WarningsSent: 2}) {
		t.Fatalf("warnings on, webhooks off: %+v", res)
	}
	want := []string{"Your Acme CMS license expires in 20 days -> a@example.com", "Your Acme CMS license expires in 2 days -> b@example.com"}
	if got := e.mails(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("emails %q", got)
	}
}

// Two scans at once (two nodes) send each warning and event once.
func TestConcurrentScansSendOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	var ls []lic
	for i := range 300 {
		ls = append(ls, lic{code: fmt.Sprintf("L-%03d", i), email: fmt.Sprintf("c%d@example.com", i), expires: time.Duration(i%10-3)*day + time.Hour})
	}
	e.add(ls...)
	var wg sync.WaitGroup
	results := make([]expiry.Result, 4)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := e.scanner()
			s.BatchSize = 25
			r, err := s.Run(context.Background())
			if err != nil {
				t.Error(err)
			}
			results[i] = r
		}()
	}
	wg.Wait()
	var total expiry.Result
	for _, r := range results {
		total.WarningsSent += r.WarningsSent
		total.ExpiredLogged += r.ExpiredLogged
		total.ExpiringEvents += r.ExpiringEvents
	}
	// Offsets -3..6 days (+1 h): -3..-1 expired (90), 0..6 expiring (210).
	if total.WarningsSent != 210 || total.ExpiringEvents != 210 || total.ExpiredLogged != 90 {
		t.Fatalf("four concurrent scans together: %+v (%+v)", total, results)
	}
	var dup int
	_ = e.db.Bun.NewRaw("SELECT count(*) FROM (SELECT to_address FROM mail_messages GROUP BY to_address HAVING count(*) > 1) d").Scan(context.Background(), &dup)
	if dup != 0 || len(e.mails()) != 210 {
		t.Fatalf("%d recipients got two warnings; %d emails", dup, len(e.mails()))
	}
}

var listAll = listing.Page{PerPage: 100}
