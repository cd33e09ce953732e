package licensing

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"

	"github.com/licensor/licensor/app/catalog"
	"github.com/licensor/licensor/app/customers"
	"github.com/licensor/licensor/app/fields"
	"github.com/licensor/licensor/test/eventually"
)

// checkCounters fails the test when a license's active_activations is not
// the count of its active activations (migration 0110's triggers). Every
// licFixture runs it once its test is over, so every path the package's
// tests take is checked too.
func (f *licFixture) checkCounters(after string) {
	f.t.Helper()
	var wrong []struct {
		Code    string `bun:"license_code"`
		Counter int    `bun:"active_activations"`
		Count   int    `bun:"counted"`
	}
	if err := f.d.Bun.NewRaw(`SELECT l.license_code, l.active_activations, c.counted FROM licenses AS l,
		LATERAL (SELECT count(*) AS counted FROM activations AS a WHERE a.license_id = l.id AND a.is_active) AS c
		WHERE l.active_activations <> c.counted ORDER BY l.license_code`).Scan(f.ctx, &wrong); err != nil {
		f.t.Fatal(err)
	}
	for _, w := range wrong {
		f.t.Errorf("after %s: license %s counts %d active activations, has %d", after, w.Code, w.Counter, w.Count)
	}
	if len(wrong) > 0 {
		f.t.FailNow()
	}
}

// licenseVersion is the license row's xmin: it changes with every write of
// the row, so a read that must not write can be checked.
func (f *licFixture) licenseVersion(id int64) string {
	f.t.Helper()
	var x string
	if err := f.d.Bun.NewRaw("SELECT xmin::text FROM licenses WHERE id = ?", id).Scan(f.ctx, &x); err != nil {
		f.t.Fatal(err)
	}
	return x
}

func (f *licFixture) exec(query string, args ...any) {
	f.t.Helper()
	if _, err := f.d.Bun.NewRaw(query, args...).Exec(f.ctx); err != nil {
		f.t.Fatal(err)
	}
}

// Every kind of change to a license's activations keeps its
// active_activations equal to the count of its active rows, in the same
// transaction: the API's, the console's and the jobs', cascades, and plain
// SQL touching many rows of many licenses at once. Verify's batched
// writes change no license.
func TestActiveActivationsCounterFollowsEveryChange(t *testing.T) {
	t.Parallel()
	f := newLicFixture(t)
	f.set.DeactivateOldActivationsOnNewActivation = true
	f.set.AddEntriesForFailedActivationAttempts = true
	by := testAdmin

	// Activate, deactivate-old (replaced), a failed attempt.
	l := f.license("CNT-1", LicenseInput{ParallelUses: fields.Some(intp(2))})
	a1 := f.mustActivate("CNT-1", "", caller("one.example.com"))
	a2 := f.mustActivate("CNT-1", "", caller("two.example.com"))
	f.checkCounters("activate")
	res := f.activate("CNT-1", "", caller("three.example.com"))
	if res.Failure != nil || res.License.ActiveActivations != 2 || f.activation(a1.ID).IsActive {
		t.Fatalf("deactivate-old: %+v", res)
	}
	a3 := res.Activation
	f.checkCounters("deactivate-old")
	wantFailure(t, f.activate("CNT-NONE", "", caller("four.example.com")).Failure, FailActivateInvalid)
	if _, _, err := f.s.Block(f.ctx, f.d.Bun, by, f.license("CNT-BLOCKED", LicenseInput{}).ID); err != nil {
		t.Fatal(err)
	}
	wantFailure(t, f.activate("CNT-BLOCKED", "", caller("four.example.com")).Failure, FailBlocked)
	f.checkCounters("failed attempts")

	// Verify and heartbeats are written in batches that change no license.
	before := f.licenseVersion(l.ID)
	if v := f.verifyModern(a2, caller("two.example.com")); v.Failure != nil {
		t.Fatalf("verify: %+v", v.Failure)
	}
	f.flush()
	if n := f.count("SELECT count(*) FROM activations WHERE id = ? AND last_verified_at IS NOT NULL", a2.ID); n != 1 {
		t.Fatal("the verify was not written")
	}
	if after := f.licenseVersion(l.ID); after != before {
		t.Fatalf("verify's batch wrote the license (xmin %s → %s)", before, after)
	}

	// The client deactivates by token and by code.
	if fl := f.deactivateToken(a2, "", caller("two.example.com")); fl != nil {
		t.Fatal(*fl)
	}
	f.checkCounters("deactivate by token")
	if fl, err := f.s.DeactivateCode(f.ctx, f.d.Bun, VerifyCodeRequest{Product: f.product, LicenseCode: "CNT-1", Caller: caller("three.example.com")}); err != nil || fl != nil {
		t.Fatalf("deactivate by code: %v %+v", err, fl)
	}
	f.checkCounters("deactivate by code")

	// The console and the internal API: mark active, inactive, delete,
	// deactivate all, block.
	if _, _, err := f.s.MarkActivationActive(f.ctx, f.d.Bun, by, a3.ID); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.s.MarkActivationActive(f.ctx, f.d.Bun, by, a1.ID); err != nil {
		t.Fatal(err)
	}
	f.checkCounters("mark active")
	if _, _, err := f.s.MarkActivationInactive(f.ctx, f.d.Bun, by, a3.ID, ReasonCustomer); err != nil {
		t.Fatal(err)
	}
	f.checkCounters("mark inactive")
	if err := f.s.DeleteActivation(f.ctx, f.d.Bun, by, a1.ID); err != nil {
		t.Fatal(err)
	}
	f.checkCounters("delete an active activation")
	f.mustActivate("CNT-1", "", caller("five.example.com"))
	f.mustActivate("CNT-1", "", caller("six.example.com"))
	if n, err := f.s.DeactivateLicenseActivations(f.ctx, f.d.Bun, by, l.ID); err != nil || n != 2 {
		t.Fatalf("deactivate all: %d, %v", n, err)
	}
	f.checkCounters("deactivate all")
	f.mustActivate("CNT-1", "", caller("seven.example.com"))
	if _, _, err := f.s.Block(f.ctx, f.d.Bun, by, l.ID); err != nil {
		t.Fatal(err)
	}
	f.checkCounters("block")
	if got := f.reload(l.ID); got.ActiveActivations != 0 {
		t.Fatalf("blocked license counts %d", got.ActiveActivations)
	}
	if _, _, err := f.s.Unblock(f.ctx, f.d.Bun, by, l.ID); err != nil {
		t.Fatal(err)
	}

	// Released for want of heartbeats, by the job and by a check-out.
	f.heartbeatProduct(60, 30, catalog.HeartbeatRelease)
	f.license("CNT-HB", LicenseInput{})
	hb := f.mustActivate("CNT-HB", "", caller("hb.example.com"))
	f.license("CNT-FLOAT", LicenseInput{ParallelUses: fields.Some(intp(2)), Floating: fields.Some(true)})
	checkout := func(host string) *ActivateResult {
		t.Helper()
		res, err := f.s.Activate(f.ctx, f.d.Bun, f.set, ActivateRequest{ProductRef: f.product.ReferenceID, LicenseCode: "CNT-FLOAT", Caller: caller(host), CheckOut: true})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	s1, s2 := checkout("s1.example.com"), checkout("s2.example.com")
	if s1.Failure != nil || s2.Failure != nil || s2.License.ActiveActivations != 2 {
		t.Fatalf("check-outs: %+v %+v", s1, s2)
	}
	f.checkCounters("check-out")
	if fl, err := f.s.CheckIn(f.ctx, f.d.Bun, VerifyRequest{Product: f.product, ActivationID: s1.Activation.ID, TokenProductRef: f.product.ReferenceID, Caller: caller("s1.example.com")}); err != nil || fl != nil {
		t.Fatalf("check-in: %v %+v", err, fl)
	}
	f.checkCounters("check-in")
	f.advance(time.Hour)
	s3 := checkout("s3.example.com")
	if s3.Failure != nil || s3.License.ActiveActivations != 1 || !f.activation(s2.Activation.ID).Released() {
		t.Fatalf("check-out over a dead session: %+v", s3)
	}
	f.checkCounters("check-out releasing a dead session")
	f.releaseOverdue()
	if !f.activation(hb.ID).Released() {
		t.Fatal("the overdue activation was not released")
	}
	f.checkCounters("heartbeat release")

	// Plain SQL: many rows of several licenses in one statement, moved
	// between licenses, switched off and on, deleted.
	other := f.license("CNT-2", LicenseInput{})
	f.exec(`INSERT INTO activations (license_id, product_id, license_code, domain, is_active)
		SELECT CASE WHEN g % 3 = 0 THEN ?0 ELSE ?1 END, ?2, 'x', 'bulk-' || g, g % 4 <> 0 FROM generate_series(1, 40) AS g`,
		l.ID, other.ID, f.product.ID)
	f.checkCounters("a bulk insert")
	f.exec("UPDATE activations SET license_id = CASE WHEN license_id = ?0 THEN ?1 ELSE ?0 END WHERE domain LIKE 'bulk-%' AND id % 2 = 0", l.ID, other.ID)
	f.checkCounters("a bulk move between licenses")
	f.exec("UPDATE activations SET is_active = NOT is_active WHERE domain LIKE 'bulk-%'")
	f.checkCounters("a bulk switch")
	f.exec("UPDATE activations SET license_id = NULL WHERE domain LIKE 'bulk-%' AND id % 5 = 0")
	f.checkCounters("activations taken from their license")
	f.exec("DELETE FROM activations WHERE domain LIKE 'bulk-%' AND id % 3 <> 0")
	f.checkCounters("a bulk delete")
	f.exec("UPDATE activations SET last_verified_at = ?", f.clock())
	f.checkCounters("an update of no counted column")

	// Retention deletes failed attempts; deleting a customer touches no
	// license; deleting a license or a product takes its activations.
	if _, err := DeleteFailedAttemptsBefore(f.ctx, f.d.Bun, f.clock().Add(48*time.Hour)); err != nil {
		t.Fatal(err)
	}
	f.checkCounters("retention")
	cs := customers.NewService(f.clock, customers.Hooks{})
	cu, err := cs.Create(f.ctx, f.d.Bun, by, f.set, customers.CreateParams{Name: "Ann", Email: "ann@example.com", ClientID: "CUST-CNT"})
	if err != nil {
		t.Fatal(err)
	}
	f.license("CNT-CUST", LicenseInput{CustomerID: fields.Some(strp("CUST-CNT"))})
	f.mustActivate("CNT-CUST", "CUST-CNT", caller("cust.example.com"))
	if err := cs.Delete(f.ctx, f.d.Bun, by, cu.ID); err != nil {
		t.Fatal(err)
	}
	f.checkCounters("delete a customer")
	if err := f.s.DeleteLicense(f.ctx, f.d.Bun, by, other.ID); err != nil {
		t.Fatal(err)
	}
	f.checkCounters("delete a license")
	second := f.newProduct("CNT-P", "Second")
	f.license("CNT-P1", LicenseInput{ProductReferenceID: fields.Some("CNT-P")})
	if res, err := f.s.Activate(f.ctx, f.d.Bun, f.set, ActivateRequest{ProductRef: "CNT-P", LicenseCode: "CNT-P1", Caller: caller("p.example.com")}); err != nil || res.Failure != nil {
		t.Fatalf("activate the second product: %v %+v", err, res)
	}
	if err := catalog.NewService(f.clock).DeleteProduct(f.ctx, f.d.Bun, by, second.ID); err != nil {
		t.Fatal(err)
	}
	f.checkCounters("delete a product")
}

// Activations and deactivations of one license at once, on their own
// connections, leave its counter exact, and the limit holds.
func TestActiveActivationsCounterUnderConcurrency(t *testing.T) {
	t.Parallel()
	f := newLicFixture(t)
	f.set.DeactivateOldActivationsOnNewActivation = true
	l := f.license("CNT-RACE", LicenseInput{ParallelUses: fields.Some(intp(5))})
	var first []*Activation
	for i := range 5 {
		first = append(first, f.mustActivate("CNT-RACE", "", caller("first-"+itoa(int64(i))+".example.com")))
	}
	var wg sync.WaitGroup
	for i := range 30 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var err error
			switch {
			case i < len(first):
				// Races deactivate-old for the same rows.
				_, _, err = f.s.MarkActivationInactive(f.ctx, f.d.Bun, testAdmin, first[i].ID, ReasonAdmin)
			default:
				_, err = f.s.Activate(f.ctx, f.d.Bun, f.set, ActivateRequest{ProductRef: f.product.ReferenceID, LicenseCode: "CNT-RACE", Caller: caller("race-" + itoa(int64(i)) + ".example.com")})
			}
			if err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	f.checkCounters("the race")
	if got := f.reload(l.ID); got.ActiveActivations != 5 {
		t.Fatalf("%d active after the race, want the limit, 5", got.ActiveActivations)
	}
}

// Whatever changes a license's activations locks the license before them
// (docs/architecture.md#counting-active-activations). Here a transaction
// holds a license's row, as activate does, then updates one of its
// activations, as deactivate-old does, while another change of that
// activation runs: that change must wait for the license without holding
// the activation (or, the release job, skip it), else each waits on the
// other and PostgreSQL ends the deadlock by failing one.
func TestChangesLockTheLicenseBeforeItsActivations(t *testing.T) {
	t.Parallel()
	f := newLicFixture(t)
	l := f.license("CNT-LOCK", LicenseInput{})
	activation := func(host string) *Activation { return f.mustActivate("CNT-LOCK", "", caller(host)) }
	cases := []struct {
		name   string
		host   string
		change func(a *Activation) error
	}{
		{"mark inactive", "inactive.example.com", func(a *Activation) error {
			_, _, err := f.s.MarkActivationInactive(f.ctx, f.d.Bun, testAdmin, a.ID, ReasonAdmin)
			return err
		}},
		{"mark active", "active.example.com", func(a *Activation) error {
			_, _, err := f.s.MarkActivationActive(f.ctx, f.d.Bun, testAdmin, a.ID)
			return err
		}},
		{"delete", "delete.example.com", func(a *Activation) error {
			return f.s.DeleteActivation(f.ctx, f.d.Bun, testAdmin, a.ID)
		}},
		{"deactivate by token", "token.example.com", func(a *Activation) error {
			_, err := f.s.DeactivateActivation(f.ctx, f.d.Bun, VerifyRequest{Product: f.product, ActivationID: a.ID, TokenProductRef: f.product.ReferenceID, Caller: caller("token.example.com")})
			return err
		}},
		{"deactivate by code", "code.example.com", func(*Activation) error {
			_, err := f.s.DeactivateCode(f.ctx, f.d.Bun, VerifyCodeRequest{Product: f.product, LicenseCode: "CNT-LOCK", Caller: caller("code.example.com")})
			return err
		}},
		{"release job", "release.example.com", func(*Activation) error {
			_, err := f.s.ReleaseOverdue(f.ctx, f.d.Bun)
			return err
		}},
	}
	for _, c := range cases {
		a := activation(c.host)
		switch c.name {
		case "mark active":
			if _, _, err := f.s.MarkActivationInactive(f.ctx, f.d.Bun, testAdmin, a.ID, ReasonAdmin); err != nil {
				t.Fatal(err)
			}
		case "release job":
			f.exec("UPDATE activations SET heartbeat_due_at = ? WHERE id = ?", f.clock().Add(-time.Minute), a.ID)
		}
		tx, err := f.d.Bun.BeginTx(f.ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.ExecContext(f.ctx, "SELECT 1 FROM licenses WHERE id = ? FOR UPDATE", l.ID); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- c.change(a) }()
		var changeErr error
		finished := false
		eventually.True(t, 10*time.Second, c.name+" waits for the license or ends", func() bool {
			select {
			case changeErr = <-done:
				finished = true
				return true
			default:
			}
			return f.count("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'") > 0
		})
		if _, err := tx.ExecContext(f.ctx, "UPDATE activations SET updated_at = updated_at WHERE id = ?", a.ID); err != nil {
			t.Fatalf("%s: the license's holder could not update the activation: %v", c.name, err)
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		if !finished {
			changeErr = <-done
		}
		if changeErr != nil {
			t.Fatalf("%s: %v", c.name, changeErr)
		}
		f.checkCounters(c.name)
	}
	// The job skipped the held license; now it releases the activation.
	if r := f.releaseOverdue(); r.Released != 1 {
		t.Fatalf("released %d, want 1", r.Released)
	}
	f.checkCounters("the release")
}

// Activate writes its license once (migration 0135): its statement adds
// the new activation to total_activations and active_activations in one
// update, and the insert trigger leaves that row out instead of updating
// the license a second time. Counted in the transaction itself
// (pg_stat_xact_user_tables), where the trigger's updates show too: 2
// before 0135.
func TestActivateWritesItsLicenseOnce(t *testing.T) {
	t.Parallel()
	f := newLicFixture(t)
	l := f.license("CNT-ONCE", LicenseInput{})
	// Not the first activation: that one may also set the license's first
	// domain or start its expiry clock.
	f.mustActivate("CNT-ONCE", "", caller("first.example.com"))
	tx, err := f.d.Bun.BeginTx(f.ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback() }()
	// The connection's counts not yet reported from its earlier
	// transactions show too: the difference is this one's.
	updates := func() int {
		t.Helper()
		var n int
		if err := tx.NewRaw("SELECT n_tup_upd FROM pg_stat_xact_user_tables WHERE relname = 'licenses'").Scan(f.ctx, &n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	before := updates()
	res, _, err := f.s.activate(f.ctx, tx, f.set, f.product, ActivateRequest{ProductRef: f.product.ReferenceID, LicenseCode: "CNT-ONCE", Caller: caller("once.example.com")})
	if err != nil || res.Failure != nil {
		t.Fatalf("activate: %v %+v", err, res)
	}
	if n := updates() - before; n != 1 {
		t.Errorf("activate updated the license %d times, want once", n)
	}
	var active, total int
	if err := tx.NewRaw("SELECT active_activations, total_activations FROM licenses WHERE id = ?", l.ID).Scan(f.ctx, &active, &total); err != nil {
		t.Fatal(err)
	}
	if active != 2 || total != 2 || res.License.ActiveActivations != 2 {
		t.Errorf("after the second activate: active %d (answered %d), total %d; want 2, 2, 2", active, res.License.ActiveActivations, total)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	f.checkCounters("activate")
}

// The row activate names in licensor.counted_activation is the only one
// the insert trigger leaves out: another row inserted later in the same
// transaction, alone or in bulk, is counted.
func TestCountedActivationLeavesOutOnlyItsRow(t *testing.T) {
	t.Parallel()
	f := newLicFixture(t)
	l := f.license("CNT-NAMED", LicenseInput{})
	tx, err := f.d.Bun.BeginTx(f.ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback() }()
	res, _, err := f.s.activate(f.ctx, tx, f.set, f.product, ActivateRequest{ProductRef: f.product.ReferenceID, LicenseCode: "CNT-NAMED", Caller: caller("named.example.com")})
	if err != nil || res.Failure != nil {
		t.Fatalf("activate: %v %+v", err, res)
	}
	var named string
	if err := tx.NewRaw("SELECT current_setting('licensor.counted_activation')").Scan(f.ctx, &named); err != nil {
		t.Fatal(err)
	}
	if named != itoa(res.Activation.ID) {
		t.Fatalf("licensor.counted_activation = %q, want the activation's id %d", named, res.Activation.ID)
	}
	for _, q := range []string{
		`INSERT INTO activations (license_id, product_id, license_code) VALUES (?0, ?1, 'CNT-NAMED')`,
		`INSERT INTO activations (license_id, product_id, license_code) SELECT ?0, ?1, 'CNT-NAMED' FROM generate_series(1, 3)`,
	} {
		if _, err := tx.NewRaw(q, l.ID, f.product.ID).Exec(f.ctx); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if got := f.reload(l.ID).ActiveActivations; got != 5 {
		t.Errorf("%d active activations, want 5", got)
	}
	f.checkCounters("activate and inserts after it")
}

// Activate's lock statement counts the activation to come in the license
// (lockLicenseSQL). Deactivate-old and a floating license's release read
// the license back for their hooks, whose license (the webhooks' payload)
// must be the license without the activation not yet made: activate takes
// its count back first, and the activation's statement adds it again.
func TestReplacedAndReleasedHooksSeeTheLicenseBeforeTheActivation(t *testing.T) {
	t.Parallel()
	f := newLicFixture(t)
	f.set.DeactivateOldActivationsOnNewActivation = true
	type seen struct {
		event, code   string
		active, total int
	}
	var mu sync.Mutex
	var got []seen
	record := func(event string, l *License) {
		mu.Lock()
		got = append(got, seen{event, l.LicenseCode, l.ActiveActivations, l.TotalActivations})
		mu.Unlock()
	}
	f.s = NewService(Options{Now: f.clock, Recorder: f.rec, Hooks: Hooks{
		ActivationDeactivated: func(_ context.Context, _ bun.IDB, _ *Activation, l *License, reason string) error {
			record("deactivated "+reason, l)
			return nil
		},
		ActivationReleased: func(_ context.Context, _ bun.IDB, _ *Activation, l *License) error {
			record("released", l)
			return nil
		},
	}})
	f.license("CNT-REPLACE", LicenseInput{ParallelUses: fields.Some(intp(1))})
	f.mustActivate("CNT-REPLACE", "", caller("one.example.com"))
	f.mustActivate("CNT-REPLACE", "", caller("two.example.com"))

	f.license("CNT-FLOAT", LicenseInput{ParallelUses: fields.Some(intp(1)), Floating: fields.Some(true)})
	checkout := func(host string) *ActivateResult {
		t.Helper()
		res, err := f.s.Activate(f.ctx, f.d.Bun, f.set, ActivateRequest{ProductRef: f.product.ReferenceID, LicenseCode: "CNT-FLOAT", Caller: caller(host), CheckOut: true})
		if err != nil || res.Failure != nil {
			t.Fatalf("check-out from %s: %v %+v", host, err, res)
		}
		return res
	}
	dead := checkout("dead.example.com")
	f.exec("UPDATE activations SET heartbeat_due_at = ? WHERE id = ?", f.clock().Add(-time.Minute), dead.Activation.ID)
	checkout("live.example.com")

	// Each hook's license: its activation gone, the new one not yet made.
	want := []seen{{"deactivated replaced", "CNT-REPLACE", 0, 1}, {"released", "CNT-FLOAT", 0, 1}}
	if !slices.Equal(got, want) {
		t.Errorf("hooks saw %+v, want %+v", got, want)
	}
	for _, code := range []string{"CNT-REPLACE", "CNT-FLOAT"} {
		var active, total int
		if err := f.d.Bun.NewRaw("SELECT active_activations, total_activations FROM licenses WHERE license_code = ?", code).Scan(f.ctx, &active, &total); err != nil {
			t.Fatal(err)
		}
		if active != 1 || total != 2 {
			t.Errorf("%s: active %d, total %d; want 1, 2", code, active, total)
		}
	}
}

// The counting trigger returns before its aggregate when an insert's rows
// are only the one activate counted itself (migration 0155): auto_explain,
// logging the trigger's nested statements to this connection, sees no
// GROUP BY over the transition table for activate's statement, and sees it
// for a plain insert after it in the same transaction, which is counted.
func TestCountingTriggerPassesOverActivatesRowAtOnce(t *testing.T) {
	t.Parallel()
	f := newLicFixture(t)
	l := f.license("CNT-FAST", LicenseInput{})
	cfg, err := pgx.ParseConfig(f.d.DSN)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var logged []string
	cfg.OnNotice = func(_ *pgconn.PgConn, n *pgconn.Notice) {
		mu.Lock()
		logged = append(logged, n.Message)
		mu.Unlock()
	}
	// taken is what auto_explain logged since the last call.
	taken := func() []string {
		mu.Lock()
		defer mu.Unlock()
		out := logged
		logged = nil
		return out
	}
	sqldb := stdlib.OpenDB(*cfg)
	sqldb.SetMaxOpenConns(1) // LOAD and SET hold for the session
	bdb := bun.NewDB(sqldb, pgdialect.New())
	defer func() { _ = bdb.Close() }()
	for _, q := range []string{"LOAD 'auto_explain'", "SET auto_explain.log_min_duration = 0",
		"SET auto_explain.log_nested_statements = on", "SET client_min_messages = log"} {
		if _, err := bdb.ExecContext(f.ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	tx, err := bdb.BeginTx(f.ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback() }()
	aggregates := func(what string) bool {
		t.Helper()
		seen := taken()
		if len(seen) == 0 {
			t.Fatalf("%s: auto_explain logged nothing", what)
		}
		return slices.ContainsFunc(seen, func(m string) bool { return strings.Contains(m, "GROUP BY license_id") })
	}
	taken()
	res, _, err := f.s.activate(f.ctx, tx, f.set, f.product, ActivateRequest{ProductRef: f.product.ReferenceID, LicenseCode: "CNT-FAST", Caller: caller("fast.example.com")})
	if err != nil || res.Failure != nil {
		t.Fatalf("activate: %v %+v", err, res)
	}
	if aggregates("activate") {
		t.Error("the counting trigger aggregated activate's own counted row")
	}
	if _, err := tx.NewRaw(`INSERT INTO activations (license_id, product_id, license_code) VALUES (?0, ?1, 'CNT-FAST')`, l.ID, f.product.ID).Exec(f.ctx); err != nil {
		t.Fatal(err)
	}
	if !aggregates("a plain insert") {
		t.Error("the counting trigger did not aggregate a plain insert after activate's")
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if got := f.reload(l.ID).ActiveActivations; got != 2 {
		t.Errorf("%d active activations, want 2", got)
	}
}
