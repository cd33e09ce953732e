package imports

import (
	"context"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/licensor/licensor/app/catalog"
	"github.com/licensor/licensor/app/customers"
	"github.com/licensor/licensor/app/fields"
	"github.com/licensor/licensor/app/licensing"
	"github.com/licensor/licensor/app/settings"
)

// storable reports whether PostgreSQL can keep s in a text column (or
// jsonb): UTF-8 without NUL.
func storable(s string) bool { return utf8.ValidString(s) && !strings.ContainsRune(s, 0) }

// fuzzRecords reads content with format f as an upload does, maps every
// record to a customer and to a license as the import's rules do (the
// database parts left out: the product is known, nothing is stored yet),
// and checks that what the rules accept, and the problems they report, can
// be stored.
func fuzzRecords(t *testing.T, f Format, content []byte) {
	if f.Check != nil && f.Check(content) != nil {
		return
	}
	src, err := f.Open(content)
	if err != nil {
		if _, ok := err.(*FileError); !ok {
			t.Fatalf("Open: %v is not a FileError", err)
		}
		return
	}
	set := settings.Defaults()
	lr := &licenseRules{set: set, svc: licensing.NewService(licensing.Options{}), products: map[string]*catalog.Product{}}
	seen := map[string]int{}
	last, n := 0, 0
	for _, c := range ignoredColumns(Customers, src.Columns()) {
		if !storable(c) {
			t.Fatalf("ignored column %q cannot be stored", c)
		}
	}
	// The upload's own loop: batches screens every record.
	svc := New(Options{BatchSize: 7})
	_ = svc.batches(src, 0, func(rows []*row) error {
		for _, r := range rows {
			if n++; n > 10_000 {
				t.Fatal("more than 10,000 records from a fuzz input")
			}
			checkRow(t, set, lr, seen, r.Record, &last)
		}
		return nil
	})
}

// checkRow maps one record as the customer and license rules do.
func checkRow(t *testing.T, set *settings.Values, lr *licenseRules, seen map[string]int, rec Record, last *int) {
	if rec.Line < 1 || rec.Line < *last {
		t.Fatalf("record line %d after %d", rec.Line, *last)
	}
	*last = rec.Line
	// Customers: what customers.Check accepts is inserted as is.
	r := &row{Record: rec}
	if rec.Err != nil {
		r.fail("", capitalize(rec.Err.Error())+".")
	} else {
		r.customer = customers.CreateParams{Name: r.get("name"), Email: r.get("email"), ClientID: r.get("client_id"),
			Password: r.Fields["password"], PasswordHash: r.get("password_hash"), Confirmed: parseBool(r, "confirmed")}
		if err := r.failErr(customers.Check(r.customer, set)); err != nil {
			t.Fatal(err)
		}
		duplicateInFile(r, seen, "email", r.customer.Email)
		if !r.bad() {
			for _, v := range []string{r.customer.Name, r.customer.Email, r.customer.ClientID} {
				if !storable(v) {
					t.Fatalf("customer accepted with %q, which PostgreSQL refuses", v)
				}
			}
		}
	}
	// Licenses: the product the row names exists.
	l := &row{Record: rec}
	if rec.Err == nil {
		ref := l.get("product_reference_id")
		if ref != "" {
			lr.products[strings.ToLower(ref)] = &catalog.Product{ID: 1, Name: "Product", ReferenceID: ref, IsActive: true}
		}
		if err := lr.parse(context.Background(), nil, l); err != nil {
			t.Fatal(err)
		}
		if !l.bad() && l.built != nil {
			b := l.built
			vals := []string{b.LicenseCode}
			for _, p := range []*string{b.Type, b.CustomerID, b.Email, b.Invoice, b.Comments} {
				if p != nil {
					vals = append(vals, *p)
				}
			}
			vals = append(append(vals, b.Domains...), b.IPs...)
			for _, n := range []*int{b.Uses, b.ParallelUses} {
				if n != nil && *n > fields.MaxCount {
					t.Fatalf("license accepted with count %d, past a PostgreSQL integer", *n)
				}
			}
			if b.ExpiryDays != nil && *b.ExpiryDays > fields.MaxDays {
				t.Fatalf("license accepted with %d expiry days", *b.ExpiryDays)
			}
			for _, d := range []*time.Time{b.ExpiresAt, b.UpdatesUntil, b.SupportUntil} {
				if d != nil && !fields.DateInRange(*d) {
					t.Fatalf("license accepted with date %v", *d)
				}
			}
			for _, v := range vals {
				if !storable(v) {
					t.Fatalf("license accepted with %q, which PostgreSQL refuses", v)
				}
			}
		}
	}
	for _, p := range append(r.problems, l.problems...) {
		if !storable(p.Message) || !storable(p.Field) {
			t.Fatalf("problem %q cannot be stored", p.Message)
		}
	}
}

func FuzzCSV(f *testing.F) {
	for _, k := range []Kind{Customers, Licenses} {
		f.Add(CSV().Example(k))
	}
	f.Add([]byte("name,email\n\"Ann\",ann@example.com\n\"unterminated,x\n"))
	f.Add([]byte("\xef\xbb\xbfEmail , NAME\nann@example.com,Ann\n\n,\nbob@example.com\n"))
	f.Add([]byte("product_reference_id,license_code,uses,expires_at,domains,is_valid\np1,ABC-1,3,2030-01-02,\"a.com, b.com\",yes\n"))
	// Issue 15.8: counts past PostgreSQL's integer, day counts that wrap, years 0000 and 10000.
	f.Add([]byte("product_reference_id,license_code,uses,parallel_uses,expiry_days,expires_at,support_until\np1,ABC-2,2147483648,99999999999,106752,0000-01-01,9999-12-31T23:59:59-23:59\n"))
	f.Fuzz(func(t *testing.T, content []byte) { fuzzRecords(t, CSV(), content) })
}

func FuzzJSONLines(f *testing.F) {
	for _, k := range []Kind{Customers, Licenses} {
		f.Add(JSONLines().Example(k))
	}
	f.Add([]byte(`{"name":"Ann","email":"ann@example.com","confirmed":true}` + "\n" + `{"name":{"x":1}}` + "\n" + `[1,2]` + "\n" + `{"email":null,"domains":["a.com",3]}`))
	f.Add([]byte(`{"name":"A\u0000nn","email":"ann@example.com"}`))
	f.Add([]byte(`{"product_reference_id":"p1","license_code":"X\u0000Y","comments":"c\u0000","uses":1e400}`))
	f.Fuzz(func(t *testing.T, content []byte) { fuzzRecords(t, JSONLines(), content) })
}
