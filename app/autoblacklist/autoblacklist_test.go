package autoblacklist_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/licensor/licensor/app/audit"
	"github.com/licensor/licensor/app/autoblacklist"
	"github.com/licensor/licensor/app/catalog"
	"github.com/licensor/licensor/app/db"
	"github.com/licensor/licensor/app/db/dbtest"
	"github.com/licensor/licensor/app/fields"
	"github.com/licensor/licensor/app/settings"
)

var system = audit.Source{Actor: audit.System}

var now = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

// dns is the test's address book: each domain's addresses, as a resolver
// would give them.
var dns = map[string][]string{
	"bad.example":       {"198.51.100.7", "198.51.100.8"},
	"old.example":       {"198.51.100.9"},
	"few.example":       {"198.51.100.10"},
	"spam.shop.example": {"198.51.100.31", "198.51.100.32"},
	"dl.example":        {"198.51.100.21", "198.51.100.22"},
	"victim.example":    {"192.0.2.50"},
}

func run(ctx context.Context, d *db.DB, at time.Time) (autoblacklist.Result, error) {
	return autoblacklist.RunWith(ctx, d.Bun, at, autoblacklist.Options{
		Resolve: func(_ context.Context, host string) ([]string, error) {
			if addrs, ok := dns[host]; ok {
				return addrs, nil
			}
			return nil, fmt.Errorf("no such host %s", host)
		},
	})
}

func setup(t *testing.T, changes map[string]string) *db.DB {
	t.Helper()
	d := dbtest.New(t)
	ctx := context.Background()
	p, err := catalog.NewService(nil).CreateProduct(ctx, d.Bun, system, settings.Defaults(), catalog.ProductInput{Name: fields.Some("Acme CMS"), ReferenceID: fields.Some("ACME")})
	if err != nil {
		t.Fatal(err)
	}
	if len(changes) > 0 {
		if _, err := settings.Set(ctx, d.Bun, system, changes); err != nil {
			t.Fatal(err)
		}
	}
	// Failed attempts: n rows per (domain, ip) at the given age.
	// A failed activation claiming domain and ip (X-API-URL, X-API-IP)
	// from the connection address peer.
	fail := func(domain, ip, peer string, n int, age time.Duration) {
		for range n {
			_, err := d.Bun.ExecContext(ctx, `INSERT INTO activations (product_id, license_code, domain, ip, peer_ip, is_valid, is_active, failure_reason, created_at)
				VALUES (?, 'NOPE', NULLIF(?, ''), NULLIF(?, ''), NULLIF(?, ''), false, false, 'LICENSE_INVALID', ?)`, p.ID, domain, ip, peer, now.Add(-age))
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	fail("bad.example", "198.51.100.7", "198.51.100.7", 5, time.Hour)       // over both thresholds
	fail("bad.example", "198.51.100.8", "198.51.100.8", 1, 2*24*time.Hour)  // counts for the domain
	fail("old.example", "198.51.100.9", "198.51.100.9", 9, 40*24*time.Hour) // outside the 30-day window
	fail("few.example", "198.51.100.10", "198.51.100.10", 2, time.Hour)     // under the threshold
	fail("spam.shop.example", "", "198.51.100.31", 3, time.Hour)            // already covered by a wildcard entry
	fail("spam.shop.example", "", "198.51.100.32", 3, time.Hour)
	fail("", "2001:db8::1", "2001:db8::1", 4, time.Hour)
	// Refused downloads count with failed activations: 3 + 2 reach 5.
	fail("dl.example", "", "198.51.100.21", 3, time.Hour)
	for i, valid := range []bool{false, false, true, true, true} {
		_, err := d.Bun.ExecContext(ctx, `INSERT INTO download_logs (download_id, source, product_id, type, domain, peer_ip, is_valid, downloaded_at)
			VALUES (?, 'api', ?, 'main', 'dl.example', '198.51.100.22', ?, ?)`, fmt.Sprint("D", i), p.ID, valid, now.Add(-time.Hour))
		if err != nil {
			t.Fatal(err)
		}
	}
	// Successful activations never count.
	for range 10 {
		_, _ = d.Bun.ExecContext(ctx, `INSERT INTO activations (product_id, license_code, domain, ip) VALUES (?, 'OK', 'good.example', '192.0.2.1')`, p.ID)
	}
	return d
}

func TestAutoBlacklist(t *testing.T) {
	d := setup(t, map[string]string{
		"blacklist_domain_after_failed_attempts": "5",
		"blacklist_ip_after_failed_attempts":     "4",
		"blacklisted_domains":                    "*.shop.example",
	})
	ctx := context.Background()
	res, err := run(ctx, d, now)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(res.Domains) != "[bad.example dl.example]" || fmt.Sprint(res.IPs) != "[198.51.100.7 2001:db8::1]" {
		t.Fatalf("%+v", res)
	}
	set, err := settings.Load(ctx, d.Bun)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(set.BlacklistedDomains) != "[*.shop.example bad.example dl.example]" || fmt.Sprint(set.BlacklistedIPs) != "[198.51.100.7 2001:db8::1]" {
		t.Fatalf("settings %q %q", set.BlacklistedDomains, set.BlacklistedIPs)
	}
	var msgs []string
	_ = d.Bun.NewRaw("SELECT message FROM activity_log WHERE type = 'blacklist.auto' ORDER BY id").Scan(ctx, &msgs)
	want := "[Domain bad.example was blacklisted as it exceeded 5 failed attempts. Domain dl.example was blacklisted as it exceeded 5 failed attempts. IP 198.51.100.7 was blacklisted as it exceeded 4 failed attempts. IP 2001:db8::1 was blacklisted as it exceeded 4 failed attempts.]"
	if fmt.Sprint(msgs) != want {
		t.Fatalf("activity %q", msgs)
	}

	// Already blacklisted: nothing more.
	res, err = run(ctx, d, now.Add(time.Hour))
	if err != nil || len(res.Domains)+len(res.IPs) != 0 {
		t.Fatalf("second run: %+v %v", res, err)
	}
}

func TestAutoBlacklistOffByDefault(t *testing.T) {
	d := setup(t, nil)
	res, err := run(context.Background(), d, now)
	if err != nil || len(res.Domains)+len(res.IPs) != 0 {
		t.Fatalf("thresholds 0: %+v %v", res, err)
	}
}

// Two nodes at once add and log each entry once.
func TestAutoBlacklistConcurrent(t *testing.T) {
	d := setup(t, map[string]string{"blacklist_domain_after_failed_attempts": "5", "blacklist_ip_after_failed_attempts": "4"})
	var wg sync.WaitGroup
	total := make([]int, 4)
	for i := range total {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := run(context.Background(), d, now)
			if err != nil {
				t.Error(err)
			}
			total[i] = len(res.Domains) + len(res.IPs)
		}()
	}
	wg.Wait()
	// bad.example, dl.example, spam.shop.example (no wildcard entry here) and two IPs.
	if total[0]+total[1]+total[2]+total[3] != 5 {
		t.Fatalf("entries added per run: %v", total)
	}
	var n int
	_ = d.Bun.NewRaw("SELECT count(*) FROM activity_log WHERE type = 'blacklist.auto'").Scan(context.Background(), &n)
	if n != 5 {
		t.Fatalf("%d log lines", n)
	}
}

// TestAutoBlacklistIgnoresWhatTheClientAsserts is issue 15.7: anyone with
// the external key can claim any X-API-URL and X-API-IP. Five failed
// (here six) activations claiming a customer's domain and address from the attacker's
// own connection blacklist neither, only the attacker's address; the same
// failures from the domain's own address do blacklist it.
func TestAutoBlacklistIgnoresWhatTheClientAsserts(t *testing.T) {
	d := setup(t, map[string]string{"blacklist_domain_after_failed_attempts": "6", "blacklist_ip_after_failed_attempts": "6"})
	ctx := context.Background()
	var productID int64
	if err := d.Bun.NewRaw("SELECT id FROM products LIMIT 1").Scan(ctx, &productID); err != nil {
		t.Fatal(err)
	}
	fail := func(domain, ip, peer string, n int) {
		for range n {
			if _, err := d.Bun.ExecContext(ctx, `INSERT INTO activations (product_id, license_code, domain, ip, peer_ip, is_valid, is_active, failure_reason, created_at)
				VALUES (?, 'NOPE', ?, ?, ?, false, false, 'LICENSE_INVALID', ?)`, productID, domain, ip, peer, now.Add(-time.Minute)); err != nil {
				t.Fatal(err)
			}
		}
	}
	fail("victim.example", "192.0.2.50", "203.0.113.66", 6)
	res, err := run(ctx, d, now)
	if err != nil {
		t.Fatal(err)
	}
	for _, dom := range res.Domains {
		if dom == "victim.example" {
			t.Error("claimed failures blacklisted the victim's domain")
		}
	}
	if fmt.Sprint(res.IPs) != "[203.0.113.66]" {
		t.Errorf("IPs blacklisted %v, want the attacker's own address only", res.IPs)
	}
	fail("victim.example", "192.0.2.50", "192.0.2.50", 6)
	res, err = run(ctx, d, now)
	if err != nil || fmt.Sprint(res.Domains) != "[victim.example]" || fmt.Sprint(res.IPs) != "[192.0.2.50]" {
		t.Errorf("failures from the domain's own address: %+v %v", res, err)
	}
}
