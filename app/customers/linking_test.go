package customers

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/licensor/licensor/app/db/dbtest"
	"github.com/licensor/licensor/app/fields"
	"github.com/licensor/licensor/app/settings"
)

func TestLinkingRule(t *testing.T) {
	t.Parallel()
	d := dbtest.New(t)
	ctx := context.Background()
	s := newService()
	set := settings.Defaults()
	no := false
	ann, _ := s.Create(ctx, d.Bun, api, set, CreateParams{Name: "Ann", Email: "ann@example.com", ClientID: "CUST-001"})
	// Uma registered herself: her email is unproven.
	uma, _ := s.Create(ctx, d.Bun, api, set, CreateParams{Name: "Uma", Email: "uma@example.com", ClientID: "CUST-002", Confirmed: &no, SelfRegistered: true})

	p := insertProduct(t, d.Bun)
	insertLicense(t, d.Bun, p, "BY-ID-UPPER", ptr("CUST-001"), nil)
	insertLicense(t, d.Bun, p, "BY-ID-LOWER", ptr("cust-001"), ptr("someone@else.com"))
	insertLicense(t, d.Bun, p, "BY-EMAIL", nil, ptr("ANN@example.com"))
	// A customer_id wins over the email: this one is the other customer's
	// even though its email is Ann's.
	insertLicense(t, d.Bun, p, "OTHER-ID-ANN-EMAIL", ptr("CUST-002"), ptr("ann@example.com"))
	// Uma has not proven her email, so it does not link.
	insertLicense(t, d.Bun, p, "UMA-EMAIL", nil, ptr("uma@example.com"))
	insertLicense(t, d.Bun, p, "NOBODY", ptr("buyer-name"), nil)

	want := map[int64][]string{
		ann.ID: {"BY-EMAIL", "BY-ID-LOWER", "BY-ID-UPPER"},
		uma.ID: {"OTHER-ID-ANN-EMAIL"},
	}
	for _, c := range []*Customer{ann, uma} {
		if got := linkedCodes(t, d.Bun, c); !slices.Equal(got, want[c.ID]) {
			t.Errorf("%s: WhereLinked %v, want %v", c.Name, got, want[c.ID])
		}
		if got := joinedCodes(t, d.Bun, c); !slices.Equal(got, want[c.ID]) {
			t.Errorf("%s: LinkCondition %v, want %v", c.Name, got, want[c.ID])
		}
		if got := pairedCodes(t, d.Bun, c); !slices.Equal(got, want[c.ID]) {
			t.Errorf("%s: LinkedPairs %v, want %v", c.Name, got, want[c.ID])
		}
	}
	counts, err := LicenseCounts(ctx, d.Bun, []int64{ann.ID, uma.ID})
	if err != nil || counts[ann.ID] != 3 || counts[uma.ID] != 1 {
		t.Fatalf("counts %v %v", counts, err)
	}

	for _, c := range []struct {
		customerID, email *string
		want              string
	}{
		{ptr("cust-001"), nil, "Ann"},
		{ptr("CUST-002"), ptr("ann@example.com"), "Uma"},
		{nil, ptr("Ann@Example.com"), "Ann"},
		{nil, ptr("uma@example.com"), ""},
		{ptr("buyer-name"), nil, ""},
		{nil, nil, ""},
	} {
		got, err := LinkedTo(ctx, d.Bun, c.customerID, c.email)
		if err != nil {
			t.Fatal(err)
		}
		name := ""
		if got != nil {
			name = got.Name
		}
		if name != c.want {
			t.Errorf("LinkedTo(%v, %v) = %q, want %q", deref(c.customerID), deref(c.email), name, c.want)
		}
	}

	// Confirming Uma's email links her unlinked license by email.
	yes := true
	uma, err = s.Update(ctx, d.Bun, api, set, uma.ID, UpdateParams{Confirmed: fields.Some(yes)})
	if err != nil {
		t.Fatal(err)
	}
	if got := linkedCodes(t, d.Bun, uma); !slices.Equal(got, []string{"OTHER-ID-ANN-EMAIL", "UMA-EMAIL"}) {
		t.Fatalf("after confirming: %v", got)
	}
}

func TestLinkedQueryUsesThePartialIndexes(t *testing.T) {
	t.Parallel()
	d := dbtest.New(t)
	ctx := context.Background()
	now := time.Now()
	c := &Customer{ClientID: "CUST-001", Email: "ann@example.com", ConfirmedAt: &now, EmailProvenAt: &now}
	query := WhereLinked(d.Bun.NewSelect().TableExpr("licenses AS l").Column("l.id"), "l", c).String()
	var plan []string
	// The test table is tiny, so forbid sequential scans to see which
	// indexes the planner can use.
	err := d.Bun.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.ExecContext(ctx, "SET LOCAL enable_seqscan = off"); err != nil {
			return err
		}
		return tx.NewRaw("EXPLAIN "+query).Scan(ctx, &plan)
	})
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Join(plan, "\n")
	for _, idx := range []string{"licenses_customer_id_idx", "licenses_email_unlinked_idx"} {
		if !strings.Contains(text, idx) {
			t.Errorf("plan does not use %s:\n%s", idx, text)
		}
	}
}

func linkedCodes(t *testing.T, idb bun.IDB, c *Customer) []string {
	t.Helper()
	var codes []string
	q := idb.NewSelect().TableExpr("licenses AS l").Column("l.license_code").OrderExpr("l.license_code")
	if err := WhereLinked(q, "l", c).Scan(context.Background(), &codes); err != nil {
		t.Fatal(err)
	}
	return codes
}

func joinedCodes(t *testing.T, idb bun.IDB, c *Customer) []string {
	t.Helper()
	var codes []string
	err := idb.NewRaw("SELECT l.license_code FROM licenses l JOIN customers c ON "+LinkCondition("l", "c")+
		" WHERE c.id = ? ORDER BY l.license_code", c.ID).Scan(context.Background(), &codes)
	if err != nil {
		t.Fatal(err)
	}
	return codes
}

func pairedCodes(t *testing.T, idb bun.IDB, c *Customer) []string {
	t.Helper()
	var codes []string
	err := idb.NewRaw("SELECT p.license_code FROM ("+LinkedPairs("license_code")+") p"+
		" WHERE p.customer_id = ? ORDER BY p.license_code", c.ID).Scan(context.Background(), &codes)
	if err != nil {
		t.Fatal(err)
	}
	return codes
}

func insertProduct(t *testing.T, idb bun.IDB) int64 {
	t.Helper()
	var id int64
	if err := idb.NewRaw("INSERT INTO products (name, reference_id) VALUES ('Acme', 'ACME') RETURNING id").Scan(context.Background(), &id); err != nil {
		t.Fatal(err)
	}
	return id
}

func insertLicense(t *testing.T, idb bun.IDB, productID int64, code string, customerID, email *string) {
	t.Helper()
	if _, err := idb.NewRaw("INSERT INTO licenses (product_id, license_code, customer_id, email) VALUES (?, ?, ?, ?)",
		productID, code, customerID, email).Exec(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func ptr(s string) *string { return &s }

func deref(s *string) string {
	if s == nil {
		return "<nil>"
	}
	return *s
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// TestFiltering: a list filtered by customer finds the account by email or
// client ID, else stands for the licenses naming what was typed.
func TestFiltering(t *testing.T) {
	t.Parallel()
	d := dbtest.New(t)
	ctx := context.Background()
	var id int64
	if err := d.Bun.NewRaw(`INSERT INTO customers (name, email, client_id) VALUES ('Ann', 'ann@example.com', 'CUST-ANN') RETURNING id`).Scan(ctx, &id); err != nil {
		t.Fatal(err)
	}
	for _, typed := range []string{"ann@example.com", "CUST-ANN"} {
		if c, err := Filtering(ctx, d.Bun, typed); err != nil || c.ID != id {
			t.Errorf("Filtering(%q) = %+v, %v; want the account %d", typed, c, err, id)
		}
	}
	if c, err := Filtering(ctx, d.Bun, "CUST-NOBODY"); err != nil || c.ID != 0 || c.ClientID != "CUST-NOBODY" {
		t.Errorf("Filtering of an unknown client ID = %+v, %v", c, err)
	}
}

// TestEmailProof is issue 15.4: an email set by an admin, the API or an
// import is proven; a self-registration's is not, whatever
// email_verification_required says, until its confirmation link
// (UpdateParams.ProveEmail), an admin's confirmation or a new address set
// for it; an edit leaving the address as it was proves nothing.
func TestEmailProof(t *testing.T) {
	t.Parallel()
	d := dbtest.New(t)
	ctx := context.Background()
	s := newService()
	set := settings.Defaults()
	yes := true
	byAdmin, err := s.Create(ctx, d.Bun, api, set, CreateParams{Name: "Ann", Email: "ann@example.com"})
	if err != nil || !byAdmin.EmailProven() {
		t.Fatalf("created by an admin: proven %v, %v", byAdmin.EmailProven(), err)
	}
	reg := func(email string) *Customer {
		cu, err := s.Create(ctx, d.Bun, api, set, CreateParams{Name: "Mal", Email: email, Confirmed: &yes, SelfRegistered: true})
		if err != nil || cu.EmailProven() {
			t.Fatalf("self-registered and confirmed: proven %v, %v", cu.EmailProven(), err)
		}
		return cu
	}
	for _, tc := range []struct {
		name   string
		p      UpdateParams
		proven bool
	}{
		{"name edited", UpdateParams{Name: fields.Some("Mallory")}, false},
		{"same address saved", UpdateParams{Email: fields.Some("MAL1@example.com")}, false},
		{"confirmation link", UpdateParams{ProveEmail: true}, true},
		{"new address set", UpdateParams{Email: fields.Some("other@example.com")}, true},
		{"confirmed by an admin", UpdateParams{Confirmed: fields.Some(true)}, true},
	} {
		cu := reg(strings.ToLower(strings.ReplaceAll(tc.name, " ", "")) + "@example.com")
		if tc.name == "same address saved" {
			cu = reg("mal1@example.com")
		}
		if tc.name == "confirmed by an admin" {
			no := false
			cu, _ = s.Update(ctx, d.Bun, api, set, cu.ID, UpdateParams{Confirmed: fields.Some(no)})
		}
		got, err := s.Update(ctx, d.Bun, api, set, cu.ID, tc.p)
		if err != nil || got.EmailProven() != tc.proven {
			t.Errorf("%s: proven %v (%v), want %v", tc.name, got.EmailProven(), err, tc.proven)
		}
	}
}
