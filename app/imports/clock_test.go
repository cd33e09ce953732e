package imports_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/licensor/licensor/app/imports"
	"github.com/licensor/licensor/app/licensing"
)

// The expiry clock's columns (docs/licensing.md#expiry-clock): imported
// (an unknown start is a bad row; a start time is kept beside an
// expires_at), exported in CSV, and carried through a round trip.
func TestExpiryClockColumns(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 1000)
	ctx := context.Background()
	newProduct(t, e.d, "ACME")
	file := "license_code,product_reference_id,expiry_days,expiry_start,expires_at,expiry_started_at\n" +
		"WAIT-1,ACME,30,first_verify,,\n" +
		"RAN-1,ACME,30,first_activation,2099-02-01T00:00:00Z,2099-01-02T00:00:00Z\n" +
		"BAD-1,ACME,30,someday,,\n"
	im := e.upload(imports.Licenses, "clock.csv", file)
	if im.GoodRows != 2 || im.BadRows != 1 || len(im.Problems) != 1 || im.Problems[0].Field != "expiry_start" {
		t.Fatalf("upload %+v %+v", im, im.Problems)
	}
	if done := e.run(im, imports.Skip); done.Inserted != 2 {
		t.Fatalf("report %+v", done)
	}
	wait, err := licensing.ByCode(ctx, e.d.Bun, "WAIT-1")
	if err != nil || wait.ExpiryStart != "first_verify" || !wait.ClockPending() || wait.ExpiryStartedAt != nil {
		t.Fatalf("waiting: %+v %v", wait, err)
	}
	ran, err := licensing.ByCode(ctx, e.d.Bun, "RAN-1")
	if err != nil || ran.ExpiryStartedAt == nil || ran.ExpiryStartedAt.Year() != 2099 || ran.ExpiryStartedAt.Day() != 2 {
		t.Fatalf("started: %+v %v", ran, err)
	}

	csv, _ := e.svc.Formats().Get("csv")
	var out bytes.Buffer
	if err := e.svc.ExportLicenses(ctx, &out, csv, licensing.LicenseFilter{}); err != nil {
		t.Fatal(err)
	}
	if head, _, _ := strings.Cut(out.String(), "\n"); !strings.HasSuffix(strings.TrimSpace(head), ",expiry_start,expiry_started_at") {
		t.Fatalf("export header %q", head)
	}
	if !strings.Contains(out.String(), ",first_verify,\n") && !strings.Contains(out.String(), ",first_verify,\r\n") {
		t.Fatalf("export:\n%s", out.String())
	}

	fresh := newEnv(t, 1000)
	newProduct(t, fresh.d, "ACME")
	if done := fresh.run(fresh.upload(imports.Licenses, "l.csv", out.String()), imports.Skip); done.Inserted != 2 {
		t.Fatalf("round trip %+v %+v", done, done.Problems)
	}
	snapshot := func(e *env) string {
		var rows []string
		if err := e.d.Bun.NewRaw(`SELECT concat_ws('|', license_code, expiry_start, expiry_days, expires_at, expiry_started_at) FROM licenses ORDER BY 1`).
			Scan(ctx, &rows); err != nil {
			t.Fatal(err)
		}
		return strings.Join(rows, "\n")
	}
	if got, want := snapshot(fresh), snapshot(e); got != want {
		t.Fatalf("round trip differs:\n%s\nwant\n%s", got, want)
	}
}
