package audit

import (
	"context"
	"testing"
	"time"

	"github.com/licensor/licensor/app/db/dbtest"
	"github.com/licensor/licensor/app/listing"
)

func TestRecordAndList(t *testing.T) {
	t.Parallel()
	d := dbtest.New(t)
	ctx := context.Background()
	keyID := int64(7)
	base := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	entries := []Entry{
		{Type: "license.created", Actor: Actor{Type: ActorAPIKey, ID: &keyID, Name: "shop"}, IP: "203.0.113.9",
			Subject: &Subject{Type: SubjectLicense, ID: 42}, Message: "License ABC created via API.", At: base},
		{Type: "license.activated", Actor: Actor{Type: ActorAPIKey, ID: &keyID, Name: "shop"},
			Message: "License ABC activated via API for product Acme from a.example (IP: 1.2.3.4).",
			Data:    map[string]any{"activation_id": 1}, At: base.Add(time.Hour)},
		{Type: "settings.updated", Message: "Settings changed: app_name.", At: base.Add(2 * time.Hour)},
	}
	for _, e := range entries {
		if err := Record(ctx, d.Bun, e); err != nil {
			t.Fatal(err)
		}
	}

	all, total, err := List(ctx, d.Bun, Filter{}, "", listing.Page{})
	if err != nil || total != 3 || len(all) != 3 {
		t.Fatalf("list: %v %d %d", err, total, len(all))
	}
	if all[0].Type != "settings.updated" || all[0].ActorType != ActorSystem || all[0].IP != nil {
		t.Fatalf("newest first, system actor by default: %+v", all[0])
	}
	if all[1].Data["activation_id"] != float64(1) {
		t.Fatalf("data: %v", all[1].Data)
	}

	cases := []struct {
		name string
		f    Filter
		want int
	}{
		{"type", Filter{Types: []string{"license.created", "license.activated"}}, 2},
		{"actor type", Filter{ActorType: ActorAPIKey}, 2},
		{"actor id", Filter{ActorID: &keyID}, 2},
		{"subject", Filter{Subject: &Subject{Type: SubjectLicense, ID: 42}}, 1},
		{"range", Filter{From: base.Add(30 * time.Minute), To: base.Add(2 * time.Hour)}, 1},
		{"search", Filter{Search: "(ip: 1.2"}, 1},
		{"search is literal", Filter{Search: "%"}, 0},
	}
	for _, c := range cases {
		_, n, err := List(ctx, d.Bun, c.f, "", listing.Page{})
		if err != nil || n != c.want {
			t.Errorf("%s: %d entries (err %v), want %d", c.name, n, err, c.want)
		}
	}

	// Keyset paging walks the same order as offset paging.
	first, err := After(ctx, d.Bun, Filter{}, nil, 2)
	if err != nil || len(first) != 2 {
		t.Fatal(err, len(first))
	}
	last := first[1]
	rest, err := After(ctx, d.Bun, Filter{}, &Cursor{CreatedAt: last.CreatedAt, ID: last.ID}, 2)
	if err != nil || len(rest) != 1 || rest[0].ID != all[2].ID {
		t.Fatalf("keyset: %v %+v", err, rest)
	}

	adminID := int64(3)
	by := Source{Actor: Actor{Type: ActorAdmin, ID: &adminID, Name: "Ann"}, IP: "192.0.2.7"}
	if n, err := Delete(ctx, d.Bun, by, []int64{all[0].ID}); err != nil || n != 1 {
		t.Fatal(err, n)
	}
	// Deleting leaves a trace of its own, naming who deleted.
	trace, _, err := List(ctx, d.Bun, Filter{}, "", listing.Page{})
	if err != nil || len(trace) != 3 || trace[0].Type != "activity.deleted" || trace[0].ActorName != "Ann" ||
		trace[0].Message != "1 entry deleted from the activity log via console." {
		t.Fatalf("after Delete: %v %+v", err, trace)
	}
	if n, err := Delete(ctx, d.Bun, by, []int64{all[0].ID}); err != nil || n != 0 {
		t.Fatal("deleting nothing", err, n)
	}
	if n, err := DeleteBefore(ctx, d.Bun, base.Add(time.Minute)); err != nil || n != 1 {
		t.Fatal(err, n)
	}
}

func TestCustomerActivity(t *testing.T) {
	t.Parallel()
	d := dbtest.New(t)
	ctx := context.Background()
	var id int64
	if err := d.Bun.NewRaw(`INSERT INTO customers (name, email, client_id) VALUES ('Ann', 'ann@example.com', 'CUST-001') RETURNING id`).Scan(ctx, &id); err != nil {
		t.Fatal(err)
	}
	ip := "198.51.100.1"
	for _, typ := range []string{CustomerLogin, CustomerLicenseActivated} {
		if err := RecordCustomer(ctx, d.Bun, CustomerActivity{CustomerID: id, Type: typ, IP: &ip, Data: map[string]any{"license_code": "X"}}); err != nil {
			t.Fatal(err)
		}
	}
	got, err := CustomerActivities(ctx, d.Bun, id, 10)
	if err != nil || len(got) != 2 || got[0].Type != CustomerLicenseActivated || *got[0].IP != ip {
		t.Fatalf("%v %+v", err, got)
	}
}
