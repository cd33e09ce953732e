package licensing

import (
	"strings"
	"testing"
	"time"

	"github.com/licensor/licensor/app/fields"
)

func (f *licFixture) verifyToken(a *Activation, tokenRef, client string, c Caller) *Failure {
	f.t.Helper()
	v, err := f.s.VerifyActivation(f.ctx, f.d.Bun, f.set, VerifyRequest{
		Product: f.product, ActivationID: a.ID, TokenProductRef: tokenRef, ClientName: client, Caller: c,
	})
	if err != nil {
		f.t.Fatal(err)
	}
	return v.Failure
}

func (f *licFixture) verifyCode(code, client string, c Caller) *Failure {
	f.t.Helper()
	v, err := f.s.VerifyCode(f.ctx, f.d.Bun, f.set, VerifyCodeRequest{Product: f.product, LicenseCode: code, ClientName: client, Caller: c})
	if err != nil {
		f.t.Fatal(err)
	}
	return v.Failure
}

func TestVerifyTokenPath(t *testing.T) {
	t.Parallel()
	f := newLicFixture(t)
	f.license("CODE", LicenseInput{CustomerID: fields.Some(strp("CUST-001"))})
	a := f.mustActivate("CODE", "CUST-001", caller("shop.example.com"))
	if fl := f.verifyToken(a, "acme", "", caller("shop.example.com")); fl != nil {
		t.Fatalf("verified activation failed: %+v", *fl)
	}
	if fl := f.verifyToken(a, "ACME", "cust-001", caller("shop.example.com")); fl != nil {
		t.Fatalf("client name compares ignoring case: %+v", *fl)
	}

	other := f.newProduct("OTHER", "Other")
	f.license("OTHER-CODE", LicenseInput{ProductReferenceID: fields.Some("OTHER")})
	f.product, other = other, f.product
	otherAct := f.mustActivate("OTHER-CODE", "", caller("shop.example.com"))
	f.product = other
	failedRow := &Activation{}
	if err := f.d.Bun.NewSelect().Model(failedRow).Where("NOT is_valid").Limit(1).Scan(f.ctx); err == nil {
		t.Fatal("no failed row expected yet")
	}
	f.activate("NO-SUCH", "", caller("shop.example.com"))
	if err := f.d.Bun.NewSelect().Model(failedRow).Where("NOT is_valid").Limit(1).Scan(f.ctx); err != nil {
		t.Fatal(err)
	}
	nobodyAct := f.mustActivate("CODE", "CUST-001", caller(""))

	cases := []struct {
		name   string
		a      *Activation
		ref    string
		client string
		c      Caller
	}{
		{"token for another product", a, "OTHER", "", caller("shop.example.com")},
		{"activation missing", &Activation{ID: 999999}, "ACME", "", caller("shop.example.com")},
		{"activation of another product", otherAct, "ACME", "", caller("shop.example.com")},
		{"failed attempt row", failedRow, "ACME", "", caller("shop.example.com")},
		{"client name differs", a, "ACME", "CUST-002", caller("shop.example.com")},
		{"host differs", a, "ACME", "", caller("evil.example.com")},
		{"no host, activation has one", a, "ACME", "", caller("")},
		{"host, activation has none", nobodyAct, "ACME", "", caller("shop.example.com")},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			wantFailure(t, f.verifyToken(c.a, c.ref, c.client, c.c), FailVerifyInvalid)
		})
	}
	if fl := f.verifyToken(nobodyAct, "ACME", "", caller("")); fl != nil {
		t.Fatalf("both hosts absent count as equal: %+v", *fl)
	}
	if FailVerifyInvalid.Message != "License is invalid or not assigned to you." || FailDeactivated.StatusCode != "LICENSE_DEACTIVATED" {
		t.Fatal("verify strings are a contract with deployed clients")
	}
}

func TestVerifyTokenStates(t *testing.T) {
	t.Parallel()
	f := newLicFixture(t)
	l := f.license("CODE", LicenseInput{})
	a := f.mustActivate("CODE", "", caller("shop.example.com"))

	// An activation without a client name never matches a sent name.
	wantFailure(t, f.verifyToken(a, "ACME", "someone", caller("shop.example.com")), FailVerifyInvalid)

	// Deactivated.
	if _, _, err := f.s.MarkActivationInactive(f.ctx, f.d.Bun, testAdmin, a.ID, ReasonAdmin); err != nil {
		t.Fatal(err)
	}
	wantFailure(t, f.verifyToken(a, "ACME", "", caller("shop.example.com")), FailDeactivated)

	// Blocking deactivates too, but reads as blocked: checked first.
	b := f.mustActivate("CODE", "", caller("shop.example.com"))
	if _, _, err := f.s.Block(f.ctx, f.d.Bun, testAdmin, l.ID); err != nil {
		t.Fatal(err)
	}
	wantFailure(t, f.verifyToken(b, "ACME", "", caller("shop.example.com")), FailBlocked)
	if _, _, err := f.s.Unblock(f.ctx, f.d.Bun, testAdmin, l.ID); err != nil {
		t.Fatal(err)
	}
	wantFailure(t, f.verifyToken(b, "ACME", "", caller("shop.example.com")), FailDeactivated)

	// Expired, before deactivated.
	c := f.mustActivate("CODE", "", caller("shop.example.com"))
	if _, err := f.s.UpdateLicense(f.ctx, f.d.Bun, testAdmin, f.set, l.ID, LicenseInput{ExpiresAt: fields.Some(timep(f.now.Add(time.Hour)))}); err != nil {
		t.Fatal(err)
	}
	if fl := f.verifyToken(c, "ACME", "", caller("shop.example.com")); fl != nil {
		t.Fatalf("%+v", *fl)
	}
	f.advance(time.Hour)
	wantFailure(t, f.verifyToken(c, "ACME", "", caller("shop.example.com")), FailExpired)
	wantFailure(t, f.verifyToken(a, "ACME", "", caller("shop.example.com")), FailExpired)
}

func TestVerifyIPPinning(t *testing.T) {
	t.Parallel()
	f := newLicFixture(t)
	f.license("CODE", LicenseInput{})
	a := f.mustActivate("CODE", "", caller("shop.example.com"))
	moved := caller("shop.example.com")
	moved.IP = "198.51.100.7"
	if fl := f.verifyToken(a, "ACME", "", moved); fl != nil {
		t.Fatal("pinning is off by default")
	}
	if fl := f.verifyCode("CODE", "", moved); fl != nil {
		t.Fatal("pinning is off by default (code path)")
	}
	f.set.VerifyLicenseIP = true
	wantFailure(t, f.verifyToken(a, "ACME", "", moved), FailVerifyInvalid)
	wantFailure(t, f.verifyCode("CODE", "", moved), FailVerifyInvalid)
	if fl := f.verifyToken(a, "ACME", "", caller("shop.example.com")); fl != nil {
		t.Fatal("same IP verifies")
	}
}

func TestVerifyCodePath(t *testing.T) {
	t.Parallel()
	f := newLicFixture(t)
	l := f.license("CODE", LicenseInput{CustomerID: fields.Some(strp("CUST-001"))})
	other := f.newProduct("OTHER", "Other")
	f.license("OTHER-CODE", LicenseInput{ProductReferenceID: fields.Some(other.ReferenceID)})

	wantFailure(t, f.verifyCode("NOPE", "", caller("shop.example.com")), FailVerifyInvalid)
	wantFailure(t, f.verifyCode("OTHER-CODE", "", caller("shop.example.com")), FailVerifyInvalid)
	wantFailure(t, f.verifyCode("CODE", "", caller("shop.example.com")), FailVerifyInvalid)
	a := f.mustActivate("CODE", "CUST-001", caller("shop.example.com"))
	if fl := f.verifyCode("code", "", caller("shop.example.com")); fl != nil {
		t.Fatalf("%+v", *fl)
	}
	if fl := f.verifyCode("CODE", "cust-001", caller("shop.example.com")); fl != nil {
		t.Fatalf("%+v", *fl)
	}
	wantFailure(t, f.verifyCode("CODE", "CUST-002", caller("shop.example.com")), FailVerifyInvalid)
	wantFailure(t, f.verifyCode("CODE", "", caller("elsewhere.example.com")), FailVerifyInvalid)

	if _, _, err := f.s.MarkActivationInactive(f.ctx, f.d.Bun, testAdmin, a.ID, ReasonAdmin); err != nil {
		t.Fatal(err)
	}
	wantFailure(t, f.verifyCode("CODE", "", caller("shop.example.com")), FailDeactivated)

	f.mustActivate("CODE", "CUST-001", caller("shop.example.com"))
	if _, _, err := f.s.Block(f.ctx, f.d.Bun, testAdmin, l.ID); err != nil {
		t.Fatal(err)
	}
	wantFailure(t, f.verifyCode("CODE", "", caller("shop.example.com")), FailBlocked)
	if _, err := f.s.UpdateLicense(f.ctx, f.d.Bun, testAdmin, f.set, l.ID, LicenseInput{
		IsValid: fields.Some(true), ExpiresAt: fields.Some(timep(f.now)),
	}); err != nil {
		t.Fatal(err)
	}
	wantFailure(t, f.verifyCode("CODE", "", caller("shop.example.com")), FailExpired)
}

func TestVerifyWritesNothingSynchronously(t *testing.T) {
	t.Parallel()
	f := newLicFixture(t)
	f.license("CODE", LicenseInput{})
	a := f.mustActivate("CODE", "", caller("shop.example.com"))
	if fl := f.verifyToken(a, "ACME", "", caller("shop.example.com")); fl != nil {
		t.Fatal(*fl)
	}
	if f.activation(a.ID).LastVerifiedAt != nil {
		t.Fatal("verify wrote last_verified_at on the request path")
	}
	if err := f.rec.Flush(f.ctx); err != nil {
		t.Fatal(err)
	}
	if got := f.activation(a.ID).LastVerifiedAt; got == nil || !got.Equal(f.now) {
		t.Fatalf("last_verified_at after flush: %v", got)
	}
}

// Verify by code plans the same with and without statistics (none right
// after a bulk import, or with autovacuum off): index lookups of the code
// and of the license's activations on the host, never a read of the
// product's activations, custom or generic plan alike. Its cost in index
// entries read does not grow with the table.
func TestVerifyCodePlanNeedsNoStatistics(t *testing.T) {
	t.Parallel()
	f := newLicFixture(t)
	const licenses, perLicense = 2000, 10
	if _, err := f.d.Bun.ExecContext(f.ctx, `INSERT INTO licenses (product_id, license_code)
		SELECT ?, 'BULK-' || i FROM generate_series(1, ?) AS i`, f.product.ID, licenses); err != nil {
		t.Fatal(err)
	}
	if _, err := f.d.Bun.ExecContext(f.ctx, `INSERT INTO activations (license_id, product_id, license_code, domain, client_name)
		SELECT l.id, l.product_id, l.license_code, 'host-' || j || '.example.com', 'Client'
		FROM licenses AS l, generate_series(1, ?) AS j`, perLicense); err != nil {
		t.Fatal(err)
	}
	conn, err := f.d.Bun.Conn(f.ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close() }()
	exec := func(q string) {
		t.Helper()
		if _, err := conn.ExecContext(f.ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	exec("PREPARE verify_code (citext, bigint, text, text) AS " + codeStateSQL)
	plan := func(mode string) string {
		t.Helper()
		exec("SET plan_cache_mode = " + mode)
		var lines []string
		if err := conn.NewRaw("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) EXECUTE verify_code('BULK-1000', ?, 'host-3.example.com', 'client')",
			f.product.ID).Scan(f.ctx, &lines); err != nil {
			t.Fatal(err)
		}
		return strings.Join(lines, "\n")
	}
	check := func(when string) {
		t.Helper()
		for _, mode := range []string{"force_custom_plan", "force_generic_plan"} {
			p := plan(mode)
			// The license by its code through the hash index (0150: one
			// hash of the lowercased probe, not a btree's ~10 comparisons,
			// each lowercasing both codes).
			if !strings.Contains(p, "Index Scan using licenses_license_code_hash_idx on licenses") ||
				!strings.Contains(p, "activations_license_host_idx") || strings.Contains(p, "activations_product_id_idx") ||
				strings.Contains(p, "Seq Scan") || !strings.Contains(p, "rows=1 ") {
				t.Fatalf("%s, %s:\n%s", when, mode, p)
			}
		}
	}
	check("no statistics")
	exec("ANALYZE licenses, activations")
	check("after ANALYZE")

	// The lookup itself answers as VerifyCode needs it.
	caller := Caller{Host: "host-3.example.com"}
	if v, err := f.s.VerifyCode(f.ctx, f.d.Bun, f.set, VerifyCodeRequest{Product: f.product, LicenseCode: "bulk-1000", ClientName: "CLIENT", Caller: caller}); err != nil || v.Failure != nil {
		t.Fatalf("verify: %v %+v", err, v.Failure)
	}
}
