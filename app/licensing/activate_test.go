package licensing

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/licensor/licensor/app/audit"
	"github.com/licensor/licensor/app/customers"
	"github.com/licensor/licensor/app/db"
	"github.com/licensor/licensor/app/db/dbtest"
	"github.com/licensor/licensor/app/fields"
	"github.com/licensor/licensor/app/settings"
)

func TestActivateSuccess(t *testing.T) {
	t.Parallel()
	f := newLicFixture(t)
	l := f.license("CODE-1", LicenseInput{ParallelUses: fields.Some(intp(2)), Uses: fields.Some(intp(10))})
	a := f.mustActivate("code-1", "", caller("shop.example.com"))

	if a.ID == 0 || a.LicenseCode != "CODE-1" || *a.Domain != "shop.example.com" || *a.URL != "https://shop.example.com" ||
		*a.IP != "203.0.113.9" || *a.UserAgent != "test-client/1.0" || !a.IsActive || !a.IsValid || !a.ActivatedAt.Equal(f.now) ||
		a.ClientName != nil || a.ProductReferenceID != "ACME" {
		t.Fatalf("%+v", a)
	}
	got := f.reload(l.ID)
	if got.TotalActivations != 1 || got.ActiveActivations != 1 || *got.UsesLeft() != 9 || *got.ParallelUsesLeft() != 1 {
		t.Fatalf("counters %+v", got)
	}
	if m := f.lastMessage(); m != "License CODE-1 activated via API for product Acme CMS from shop.example.com (IP: 203.0.113.9)." {
		t.Fatal(m)
	}
	if h := f.takeHooks(); !slices.Equal(h, []string{"activation.created CODE-1"}) {
		t.Fatal(h)
	}
	// The id drawn with the lock is the stored row's, and the log names it.
	if n := f.count(fmt.Sprintf("SELECT count(*) FROM activations WHERE id = %d AND license_id = %d AND is_active", a.ID, l.ID)); n != 1 {
		t.Fatalf("activation %d stored %d times", a.ID, n)
	}
	if n := f.count(fmt.Sprintf("SELECT count(*) FROM activity_log WHERE type = 'license.activated' AND subject_id = %d AND (data->>'activation_id')::bigint = %d", l.ID, a.ID)); n != 1 {
		t.Fatalf("activity log entries naming activation %d: %d", a.ID, n)
	}
	if n := f.count("SELECT count(*) FROM customer_activity"); n != 0 {
		t.Fatal("no customer is linked, so no customer activity")
	}
}

func TestActivateRecordsCustomerActivityWhenLinked(t *testing.T) {
	t.Parallel()
	f := newLicFixture(t)
	c, err := customers.NewService(f.clock, customers.Hooks{}).Create(f.ctx, f.d.Bun, testAdmin, f.set,
		customers.CreateParams{Name: "Ann", Email: "ann@example.com", ClientID: "CUST-001"})
	if err != nil {
		t.Fatal(err)
	}
	f.license("BY-ID", LicenseInput{CustomerID: fields.Some(strp("cust-001"))})
	f.license("BY-EMAIL", LicenseInput{Email: fields.Some(strp("ANN@example.com"))})
	f.mustActivate("BY-ID", " Cust-001 ", caller("a.example.com"))
	f.mustActivate("BY-EMAIL", "", caller("b.example.com"))
	acts, err := audit.CustomerActivities(f.ctx, f.d.Bun, c.ID, 10)
	if err != nil || len(acts) != 2 || acts[0].Type != audit.CustomerLicenseActivated || acts[0].Data["license_code"] != "BY-EMAIL" {
		t.Fatalf("%v %+v", err, acts)
	}
}

// Rows a–g of docs/api/external.md#activate step 5, each with the exact message and code.
func TestActivateFailures(t *testing.T) {
	t.Parallel()
	f := newLicFixture(t)
	other := f.newProduct("OTHER", "Other")
	f.license("OTHER-PRODUCT", LicenseInput{ProductReferenceID: fields.Some(other.ReferenceID)})
	f.license("ISSUED", LicenseInput{CustomerID: fields.Some(strp("CUST-001"))})
	f.license("BLOCKED", LicenseInput{IsValid: fields.Some(false), ExpiresAt: fields.Some(timep(f.now.Add(-time.Hour)))})
	f.license("EXPIRES-NOW", LicenseInput{ExpiresAt: fields.Some(timep(f.now))})
	f.license("USED-UP", LicenseInput{Uses: fields.Some(intp(1)), ParallelUses: fields.Some(intp(0))})
	f.license("NO-SLOTS", LicenseInput{ParallelUses: fields.Some(intp(0))})
	f.license("ONE-SLOT", LicenseInput{ParallelUses: fields.Some(intp(1))})
	f.license("DOMAINS", LicenseInput{Domains: fields.Some([]string{"https://www.Example.com/path", "*.example.org"})})
	f.license("IPS", LicenseInput{IPs: fields.Some([]string{"10.0.0.0/8", "2001:db8::1"})})

	// USED-UP's one use is spent; ONE-SLOT's slot is taken.
	if _, err := f.d.Bun.ExecContext(f.ctx, "UPDATE licenses SET total_activations = 1 WHERE license_code = 'USED-UP'"); err != nil {
		t.Fatal(err)
	}
	f.mustActivate("ONE-SLOT", "", caller("first.example.com"))

	ipCaller := caller("x.example.com")
	ipCaller.IP = "192.168.1.1"
	cases := []struct {
		name, code, client string
		c                  Caller
		want               Failure
	}{
		{"a: no license", "NOPE", "", caller("x.example.com"), FailActivateInvalid},
		{"a: another product's license", "OTHER-PRODUCT", "", caller("x.example.com"), FailActivateInvalid},
		{"a: issued to a customer, no client name", "ISSUED", "", caller("x.example.com"), FailActivateInvalid},
		{"a: issued to a customer, other client name", "ISSUED", "CUST-002", caller("x.example.com"), FailActivateInvalid},
		{"b: blocked (before expired)", "BLOCKED", "", caller("x.example.com"), FailBlocked},
		{"c: expires_at = now", "EXPIRES-NOW", "", caller("x.example.com"), FailExpired},
		{"d: uses exhausted (before parallel uses)", "USED-UP", "", caller("x.example.com"), FailUsesExhausted},
		{"e: parallel uses 0", "NO-SLOTS", "", caller("x.example.com"), FailParallelExhausted},
		{"e: parallel uses full", "ONE-SLOT", "", caller("x.example.com"), FailParallelExhausted},
		{"f: domain not licensed", "DOMAINS", "", caller("example.net"), FailDomainNotAllowed([]string{"example.com", "*.example.org"})},
		{"f: wildcard does not match its apex", "DOMAINS", "", caller("example.org"), FailDomainNotAllowed([]string{"example.com", "*.example.org"})},
		{"f: no caller host", "DOMAINS", "", caller(""), FailDomainNotAllowed([]string{"example.com", "*.example.org"})},
		{"g: IP outside the ranges", "IPS", "", ipCaller, FailIPNotAllowed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := f.activate(c.code, c.client, c.c)
			wantFailure(t, res.Failure, c.want)
		})
	}
	if FailParallelExhausted.StatusCode != "ACTIVATED_MAXIMUM_ALLOWED_PRODUCT_INSTANCES" ||
		FailParallelExhausted.Message != "Your license has reached the maximum number of parallel uses." {
		t.Fatal("row e's code and message are a contract with deployed clients")
	}
	if m := FailDomainNotAllowed([]string{"example.com", "*.example.org"}).Message; m != "This license can only be used for the following domain(s): example.com, *.example.org." {
		t.Fatal(m)
	}

	// The same licenses succeed when the rule is met.
	f.mustActivate("ISSUED", "  cust-001 ", caller("x.example.com"))
	f.mustActivate("DOMAINS", "", caller("example.com"))
	f.mustActivate("DOMAINS", "", caller("a.b.example.org"))
	ok := caller("x.example.com")
	ok.IP = "10.20.30.40"
	f.mustActivate("IPS", "", ok)
	ok.IP = "2001:db8::1"
	f.mustActivate("IPS", "", ok)
	// Unlimited parallel uses (null) never runs out.
	f.license("UNLIMITED", LicenseInput{})
	for range 5 {
		f.mustActivate("UNLIMITED", "", caller("x.example.com"))
	}
}

func TestFailedAttemptRows(t *testing.T) {
	t.Parallel()
	f := newLicFixture(t)
	l := f.license("BLOCKED", LicenseInput{IsValid: fields.Some(false)})
	other := f.newProduct("OTHER", "Other")
	f.license("OTHER-PRODUCT", LicenseInput{ProductReferenceID: fields.Some(other.ReferenceID)})

	f.activate("blocked", "Buyer", caller("evil.example.com"))
	f.activate("UNKNOWN-CODE", "", caller("evil.example.com"))
	f.activate("OTHER-PRODUCT", "", caller("evil.example.com"))
	var rows []Activation
	if err := f.d.Bun.NewSelect().Model(&rows).OrderExpr("id").Scan(f.ctx); err != nil {
		t.Fatal(err)
	}
	if len(rows) != 3 {
		t.Fatalf("%d rows", len(rows))
	}
	r := rows[0]
	if r.IsValid || r.IsActive || *r.FailureReason != CodeLicenseBlocked || r.LicenseID == nil || *r.LicenseID != l.ID ||
		r.LicenseCode != "blocked" || *r.ClientName != "Buyer" || *r.Domain != "evil.example.com" || *r.IP != "203.0.113.9" ||
		r.ProductID != f.product.ID || r.DeactivationReason != nil {
		t.Fatalf("%+v", r)
	}
	if rows[1].LicenseID != nil || *rows[1].FailureReason != CodeLicenseInvalid {
		t.Fatalf("unknown code: %+v", rows[1])
	}
	if rows[2].LicenseID != nil {
		t.Fatal("a license of another product is not linked to this product's failed row")
	}
	// Failed attempts count nothing and log nothing.
	if got := f.reload(l.ID); got.TotalActivations != 0 {
		t.Fatal(got.TotalActivations)
	}
	if n := f.count("SELECT count(*) FROM activity_log WHERE type = 'license.activated'"); n != 0 {
		t.Fatal(n)
	}

	f.set.AddEntriesForFailedActivationAttempts = false
	f.activate("BLOCKED", "", caller("evil.example.com"))
	if n := f.count("SELECT count(*) FROM activations"); n != 3 {
		t.Fatalf("setting off still recorded a row: %d", n)
	}
}

func TestDeactivateOldActivations(t *testing.T) {
	t.Parallel()
	f := newLicFixture(t)
	f.set.DeactivateOldActivationsOnNewActivation = true
	l := f.license("TWO", LicenseInput{ParallelUses: fields.Some(intp(2))})
	first := f.mustActivate("TWO", "", caller("one.example.com"))
	f.advance(time.Minute)
	second := f.mustActivate("TWO", "", caller("two.example.com"))
	f.advance(time.Minute)
	f.takeHooks()
	third := f.mustActivate("TWO", "", caller("three.example.com"))

	old := f.activation(first.ID)
	if old.IsActive || *old.DeactivationReason != ReasonReplaced || !old.DeactivatedAt.Equal(f.now) {
		t.Fatalf("oldest not replaced: %+v", old)
	}
	if !f.activation(second.ID).IsActive || !f.activation(third.ID).IsActive {
		t.Fatal("the newer ones keep their slots")
	}
	if got := f.reload(l.ID); got.ActiveActivations != 2 || got.TotalActivations != 3 {
		t.Fatalf("%+v", got)
	}
	if h := f.takeHooks(); !slices.Equal(h, []string{"activation.deactivated TWO replaced", "activation.created TWO"}) {
		t.Fatal(h)
	}

	// If the limit was lowered below the active count, enough are freed.
	if _, err := f.d.Bun.ExecContext(f.ctx, "UPDATE licenses SET parallel_uses = 1 WHERE id = ?", l.ID); err != nil {
		t.Fatal(err)
	}
	f.mustActivate("TWO", "", caller("four.example.com"))
	if got := f.reload(l.ID); got.ActiveActivations != 1 {
		t.Fatalf("active %d", got.ActiveActivations)
	}

	// parallel_uses 0 allows nothing, even with the setting on.
	f.license("ZERO", LicenseInput{ParallelUses: fields.Some(intp(0))})
	wantFailure(t, f.activate("ZERO", "", caller("x.example.com")).Failure, FailParallelExhausted)
}

func TestFirstDomainBecomesLicensedDomain(t *testing.T) {
	t.Parallel()
	f := newLicFixture(t)
	l := f.license("LOCK", LicenseInput{})
	f.mustActivate("LOCK", "", caller("first.example.com"))
	if got := f.reload(l.ID); len(got.Domains) != 0 {
		t.Fatal("setting off: domains untouched")
	}

	f.set.AddDomainOfFirstActivationAsLicensedDomain = true
	// The license already has an active activation: not its first.
	f.mustActivate("LOCK", "", caller("second.example.com"))
	if got := f.reload(l.ID); len(got.Domains) != 0 {
		t.Fatal("only the first activation sets the domain")
	}

	l2 := f.license("LOCK2", LicenseInput{})
	f.mustActivate("LOCK2", "", caller("first.example.com"))
	got := f.reload(l2.ID)
	if !slices.Equal(got.Domains, []string{"first.example.com"}) {
		t.Fatalf("domains %v", got.Domains)
	}
	if h := f.takeHooks(); !slices.Contains(h, "license.updated LOCK2 domains") {
		t.Fatal(h)
	}
	wantFailure(t, f.activate("LOCK2", "", caller("other.example.com")).Failure, FailDomainNotAllowed([]string{"first.example.com"}))
	f.mustActivate("LOCK2", "", caller("first.example.com"))

	// No caller host: nothing to lock to.
	l3 := f.license("LOCK3", LicenseInput{})
	f.mustActivate("LOCK3", "", caller(""))
	if got := f.reload(l3.ID); len(got.Domains) != 0 {
		t.Fatal(got.Domains)
	}
}

func TestExpiryClockStartsAtFirstActivation(t *testing.T) {
	t.Parallel()
	f := newLicFixture(t)
	l := f.license("TRIAL", LicenseInput{ExpiryDays: fields.Some(intp(30))})
	if l.ExpiresAt != nil {
		t.Fatal("the clock starts at activation, not creation")
	}
	f.advance(48 * time.Hour)
	start := f.now
	f.mustActivate("TRIAL", "", caller("a.example.com"))
	got := f.reload(l.ID)
	if got.ExpiresAt == nil || !got.ExpiresAt.Equal(start.Add(30*24*time.Hour)) {
		t.Fatalf("expires_at %v", got.ExpiresAt)
	}
	if h := f.takeHooks(); !slices.Contains(h, "license.updated TRIAL expires_at,expiry_started_at") {
		t.Fatal(h)
	}
	f.advance(10 * 24 * time.Hour)
	f.mustActivate("TRIAL", "", caller("b.example.com"))
	if again := f.reload(l.ID); !again.ExpiresAt.Equal(*got.ExpiresAt) {
		t.Fatal("a later activation must not restart the clock")
	}
	f.advance(20 * 24 * time.Hour)
	wantFailure(t, f.activate("TRIAL", "", caller("c.example.com")).Failure, FailExpired)

	// expiry_days 0 never starts a clock.
	z := f.license("ZERO-DAYS", LicenseInput{ExpiryDays: fields.Some(intp(0))})
	f.mustActivate("ZERO-DAYS", "", caller("a.example.com"))
	if f.reload(z.ID).ExpiresAt != nil {
		t.Fatal("expiry_days 0 set an expiry")
	}
}

func TestUsesCountSuccessfulActivationsEver(t *testing.T) {
	t.Parallel()
	f := newLicFixture(t)
	l := f.license("TWICE", LicenseInput{Uses: fields.Some(intp(2))})
	a := f.mustActivate("TWICE", "", caller("a.example.com"))
	if _, _, err := f.s.MarkActivationInactive(f.ctx, f.d.Bun, testAdmin, a.ID, ReasonAdmin); err != nil {
		t.Fatal(err)
	}
	f.mustActivate("TWICE", "", caller("a.example.com"))
	wantFailure(t, f.activate("TWICE", "", caller("a.example.com")).Failure, FailUsesExhausted)
	if got := f.reload(l.ID); got.TotalActivations != 2 || *got.UsesLeft() != 0 {
		t.Fatalf("%+v", got)
	}
}

// Fifty installations activate one license at the same moment, each on its
// own connection: the row lock lets exactly as many through as the limit.
func TestConcurrentActivationsNeverExceedTheLimits(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		in    LicenseInput
		want  Failure
		check func(*License) bool
	}{
		{"parallel uses", LicenseInput{ParallelUses: fields.Some(intp(5))}, FailParallelExhausted,
			func(l *License) bool { return l.ActiveActivations == 5 && l.TotalActivations == 5 }},
		{"uses", LicenseInput{Uses: fields.Some(intp(5))}, FailUsesExhausted,
			func(l *License) bool { return l.TotalActivations == 5 }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newLicFixture(t)
			f.set.AddEntriesForFailedActivationAttempts = true
			l := f.license("HOT", c.in)
			const n = 50
			var wg sync.WaitGroup
			results := make([]*ActivateResult, n)
			errs := make([]error, n)
			start := make(chan struct{})
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					results[i], errs[i] = f.s.Activate(f.ctx, f.d.Bun, f.set, ActivateRequest{
						ProductRef: f.product.ReferenceID, LicenseCode: "HOT", Caller: caller("node.example.com"),
					})
				}()
			}
			close(start)
			wg.Wait()
			ok, refused := 0, 0
			for i := range n {
				switch {
				case errs[i] != nil:
					t.Fatal(errs[i])
				case results[i].Failure == nil:
					ok++
				case *results[i].Failure == c.want:
					refused++
				default:
					t.Fatalf("unexpected failure %+v", *results[i].Failure)
				}
			}
			if ok != 5 || refused != 45 {
				t.Fatalf("%d succeeded and %d were refused, want 5 and 45", ok, refused)
			}
			if got := f.reload(l.ID); !c.check(got) {
				t.Fatalf("license after the burst: %+v", got)
			}
			if n := f.count("SELECT count(*) FROM activations WHERE NOT is_valid AND failure_reason = ?", c.want.StatusCode); n != 45 {
				t.Fatalf("%d failed rows, want 45", n)
			}
		})
	}
}

// Steps 1, 2 and 4 of docs/api/external.md#activate, before any license is
// read: blacklists are field errors, a missing or inactive product is a
// NotFound failure, and neither is recorded as a failed attempt.
func TestActivateBeforeTheLicense(t *testing.T) {
	t.Parallel()
	f := newLicFixture(t)
	f.license("GOOD-1", LicenseInput{})
	inactive := f.newProduct("ASLEEP", "Asleep")
	if _, err := f.d.Bun.ExecContext(f.ctx, "UPDATE products SET is_active = false WHERE id = ?", inactive.ID); err != nil {
		t.Fatal(err)
	}
	set := *f.set
	set.BlacklistedLicenseCodes = []string{"*BAD*"}
	set.BlacklistedBuyerNames = []string{"mallory"}
	activate := func(ref, code, client string) (*ActivateResult, error) {
		return f.s.Activate(f.ctx, f.d.Bun, &set, ActivateRequest{ProductRef: ref, LicenseCode: code, ClientName: client, Caller: caller("x.example.com")})
	}

	_, err := activate("ACME", "a-bad-code", " Mallory ")
	fe, ok := fields.As(err)
	if !ok || !slices.Equal(fe.Fields(), []fields.FieldError{
		{Field: "license_code", Message: "The license code is blacklisted."},
		{Field: "client_name", Message: "The client name is blacklisted."},
	}) {
		t.Fatalf("blacklists: %v", err)
	}
	for _, ref := range []string{"NOPE", "ASLEEP"} {
		res, err := activate(ref, "GOOD-1", "")
		if err != nil || res.Failure == nil || *res.Failure != FailProductNotFound || res.Failure.Kind != NotFound {
			t.Fatalf("%s: %v %+v", ref, err, res)
		}
	}
	// Without a marketplace a verify_type changes nothing: step 5 answers.
	res, err := f.s.Activate(f.ctx, f.d.Bun, &set, ActivateRequest{ProductRef: "ACME", LicenseCode: "NO-SUCH", VerifyType: "gumroad", Caller: caller("x.example.com")})
	if err != nil || res.Failure == nil || *res.Failure != FailActivateInvalid || res.Failure.Kind != Declined {
		t.Fatalf("no marketplace: %v %+v", err, res)
	}
	if n := f.count("SELECT count(*) FROM activations WHERE NOT is_valid"); n != 1 {
		t.Fatalf("%d failed attempts recorded, want only step 5's", n)
	}
}

// The failures of a marketplace's verdict and the kind each is answered as.
func TestMarketplaceFailure(t *testing.T) {
	t.Parallel()
	if f := MarketplaceFailure(MarketplaceAccepted, "Gumroad", FailActivateInvalid); f != nil {
		t.Fatalf("accepted: %+v", f)
	}
	for outcome, want := range map[MarketplaceOutcome]Failure{
		MarketplaceRefused:     {Message: "Your license code is invalid.", StatusCode: CodeLicenseInvalid, Kind: Refused},
		MarketplaceNotMapped:   {Message: "This product is not configured for Gumroad verification.", StatusCode: CodeLicenseInvalid, Kind: Refused},
		MarketplaceUnavailable: {Message: "The license could not be checked with the marketplace. Please try again later.", StatusCode: CodeLicenseInvalid, Kind: Unavailable},
	} {
		if f := MarketplaceFailure(outcome, "Gumroad", FailActivateInvalid); f == nil || *f != want {
			t.Errorf("%d: %+v", outcome, f)
		}
	}
	if FailActivateInvalid.Kind != Declined {
		t.Fatal("the package's own failure was changed")
	}
}

// A license linked to a customer records the customer's activity with one
// statement that finds the customer itself: an activate of it sends BEGIN
// with the lock, the customer's activity, and the activation with COMMIT
// (db.RunPipelined), where reading the customer first took a round trip
// more and BEGIN and COMMIT one each.
func TestLinkedActivateRecordsCustomerActivityInOneRoundTrip(t *testing.T) {
	t.Parallel()
	f := newLicFixture(t)
	c, err := customers.NewService(f.clock, customers.Hooks{}).Create(f.ctx, f.d.Bun, testAdmin, f.set,
		customers.CreateParams{Name: "Ann", Email: "ann@example.com", ClientID: "CUST-001"})
	if err != nil {
		t.Fatal(err)
	}
	f.license("LINKED", LicenseInput{Email: fields.Some(strp("ANN@example.com"))})
	tap := dbtest.StartTap(t, f.d.DSN)
	d, err := db.Open(f.ctx, tap.URL, db.PoolOptions{MaxOpenConns: 1, MaxIdleConns: 1, ConnMaxLifetime: time.Hour, DirectURL: f.d.DSN})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close() })
	activate := func(host string) []string {
		t.Helper()
		tap.Take()
		res, err := f.s.Activate(f.ctx, d.Bun, f.set, ActivateRequest{ProductRef: f.product.ReferenceID, LicenseCode: "LINKED", Caller: caller(host)})
		if err != nil || res.Failure != nil {
			t.Fatalf("activate: %v %+v", err, res)
		}
		var kinds []string
		for _, trip := range tap.Take() {
			var kind []string
			for _, text := range trip.Statements {
				q := strings.ToUpper(strings.Join(strings.Fields(text), " "))
				switch {
				case strings.Contains(q, `FROM "PRODUCTS"`):
					// The product, which a node's product cache answers.
				case q == "BEGIN" || q == "COMMIT":
					kind = append(kind, strings.ToLower(q))
				case strings.HasPrefix(q, "UPDATE LICENSES AS L SET TOTAL_ACTIVATIONS"):
					kind = append(kind, "lock")
				case strings.Contains(q, "INSERT INTO ACTIVATIONS"):
					kind = append(kind, "activation")
				case strings.Contains(q, "CUSTOMER_ACTIVITY"):
					kind = append(kind, "customer activity")
				default:
					kind = append(kind, text)
				}
			}
			if len(kind) > 0 {
				kinds = append(kinds, strings.Join(kind, " + "))
			}
		}
		return kinds
	}
	activate("one.example.com") // the first may start the clock
	got := activate("two.example.com")
	if want := []string{"begin + lock", "customer activity", "activation + commit"}; !slices.Equal(got, want) {
		t.Errorf("a linked license's activate sent %q, want %q", got, want)
	}
	acts, err := audit.CustomerActivities(f.ctx, f.d.Bun, c.ID, 10)
	if err != nil || len(acts) != 2 || acts[0].Type != audit.CustomerLicenseActivated || acts[0].Data["domain"] != "two.example.com" {
		t.Fatalf("%v %+v", err, acts)
	}
}

// Hooks that write (a node with a webhook of activate's enabled) get a
// database/sql transaction, as River's enqueue needs one: when they say so
// (Hooks.Quiet false) activate runs in one from the start; when they said
// they would not and write all the same (the settings changed between the
// two readings), the pipelined attempt fails in the hook, is rolled back,
// and the activate runs again in one: one activation, its hook's write
// committed once, the counters right (checked at the fixture's end).
func TestActivateGivesWritingHooksATransaction(t *testing.T) {
	t.Parallel()
	for _, quiet := range []bool{false, true} {
		t.Run(fmt.Sprintf("quiet=%v", quiet), func(t *testing.T) {
			t.Parallel()
			f := newLicFixture(t)
			calls := 0
			hooks := f.recordingHooks()
			hooks.Quiet = func(*settings.Values) bool { return quiet }
			hooks.ActivationCreated = func(ctx context.Context, tx bun.IDB, a *Activation, l *License) error {
				calls++
				// As jobqueue.Add: only a transaction of database/sql's.
				if _, ok := tx.(bun.Tx); !ok {
					return fmt.Errorf("cannot enqueue through a %T", tx)
				}
				return audit.Record(ctx, tx, audit.Entry{Type: "hook.wrote", Actor: audit.System, Message: fmt.Sprintf("activation %d", a.ID)})
			}
			f.s = NewService(Options{Now: f.clock, Hooks: hooks, Recorder: f.rec})
			l := f.license("HOOKED", LicenseInput{ParallelUses: fields.Some(intp(1)), Uses: fields.Some(intp(10))})
			a := f.mustActivate("HOOKED", "", caller("one.example.com"))
			if want := map[bool]int{false: 1, true: 2}[quiet]; calls != want {
				t.Errorf("the hook ran %d times, want %d", calls, want)
			}
			if n := f.count("SELECT count(*) FROM activity_log WHERE type = 'hook.wrote' AND message = ?", fmt.Sprintf("activation %d", a.ID)); n != 1 {
				t.Fatalf("the hook's row committed %d times, want once", n)
			}
			if n := f.count("SELECT count(*) FROM activations WHERE license_id = ?", l.ID); n != 1 {
				t.Fatalf("%d activations, want 1", n)
			}
			if got := f.reload(l.ID); got.TotalActivations != 1 || got.ActiveActivations != 1 {
				t.Fatalf("counters %d/%d, want 1/1", got.TotalActivations, got.ActiveActivations)
			}
		})
	}
}
