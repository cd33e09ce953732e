package external_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/licensor/licensor/app/config"
	"github.com/licensor/licensor/app/db"
	"github.com/licensor/licensor/app/db/dbtest"
	"github.com/licensor/licensor/app/mail"
	"github.com/licensor/licensor/app/mail/mailtest"
	"github.com/licensor/licensor/jobs"
)

// TestThroughPgBouncer runs the external API's hot paths and a job on a node
// whose queries go through a real PgBouncer in transaction mode
// (docs/deploy.md#connection-poolers): database.prepared_statements off,
// the listener and River on the direct database.listen_url. Forty
// concurrent activations of a five-seat license end with five; verifies by
// token (cache off: every one reads the database, many at once in
// batches) and by code, deactivate,
// the license check and an email sent by the send_mail job all answer as
// they do on a direct connection.
func TestThroughPgBouncer(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a pgbouncer process")
	}
	t.Parallel()
	a := newAPIEnv(t, func(c *config.Config) {
		c.Database.PreparedStatements = false
		c.API.VerifyCacheSize = 0
	})
	pooled := dbtest.PgBouncer(t, a.DB.DSN)
	d, err := db.Open(context.Background(), pooled, db.PoolOptions{MaxOpenConns: 8, MaxIdleConns: 4, ConnMaxLifetime: time.Hour, DirectURL: a.DB.DSN})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close() })
	// Migrations through the pooler: the lock is taken on the direct pool.
	if _, err := db.Migrate(context.Background(), d); err != nil {
		t.Fatalf("migrate through pgbouncer: %v", err)
	}
	app := a.NewAppOn(t, d)
	n := a.Nodes[len(a.Nodes)-1]
	call := func(path string, body map[string]any, host string) resp {
		t.Helper()
		return a.do(app, req{path: path, headers: []string{"X-API-KEY", a.key, "X-API-URL", host}, json: body})
	}
	a.license(a.product, "BOUNCE-1", parallel(5))
	product := a.product.ReferenceID

	// The 40 → 5 race: each activation locks the license in its own
	// transaction, through whichever server connection PgBouncer gives it.
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		tokens []string
		hosts  []string
	)
	for i := range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			host := fmt.Sprintf("https://site%d.example", i)
			r := call(modern.activate, map[string]any{"product_id": product, "license_code": "BOUNCE-1"}, host)
			if r.StatusCode >= 500 {
				t.Errorf("activate through pgbouncer: %d %s", r.StatusCode, r.Body)
			}
			if r.JSON["status"] == true {
				mu.Lock()
				tokens = append(tokens, r.str("lic_response"))
				hosts = append(hosts, host)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	var active int
	if err := a.DB.Bun.NewRaw("SELECT count(*) FROM activations a JOIN licenses l ON l.id = a.license_id WHERE l.license_code = 'BOUNCE-1' AND a.is_active").Scan(context.Background(), &active); err != nil {
		t.Fatal(err)
	}
	if len(tokens) != 5 || active != 5 {
		t.Fatalf("40 activations of a 5-seat license: %d succeeded, %d active; want 5", len(tokens), active)
	}

	// Verifies at once: their reads go in batches (one unprepared
	// statement for many), each answered from its own activation.
	for i, tok := range tokens {
		for range 4 {
			wg.Go(func() {
				for range 5 {
					if r := call(modern.verify, map[string]any{"product_id": product, "license_file": tok}, hosts[i]); r.JSON["status"] != true {
						t.Errorf("verify through pgbouncer: %d %s", r.StatusCode, r.Body)
					}
				}
			})
		}
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	if r := call(modern.verify, map[string]any{"product_id": product, "license_code": "BOUNCE-1"}, ""); r.StatusCode != 200 {
		t.Fatalf("verify by code: %d %s", r.StatusCode, r.Body)
	}
	if r := call(modern.chk, map[string]any{"product_id": product, "license_code": "BOUNCE-1"}, ""); r.JSON["status"] != true {
		t.Fatalf("license check: %d %s", r.StatusCode, r.Body)
	}
	for i, tok := range tokens[:2] {
		if r := call(modern.deactivate, map[string]any{"product_id": product, "license_file": tok}, hosts[i]); r.JSON["status"] != true {
			t.Fatalf("deactivate: %d %s", r.StatusCode, r.Body)
		}
	}
	if r := call(modern.activate, map[string]any{"product_id": product, "license_code": "BOUNCE-1"}, "https://later.example"); r.JSON["status"] != true {
		t.Fatalf("activate after deactivations: %d %s", r.StatusCode, r.Body)
	}

	// A job through the pooler: queued in the change's transaction by the
	// pooled node, worked by River on the direct pool, its outbox row
	// updated through the pooler.
	smtp := mailtest.Start(t)
	transport, err := mail.ParseSMTPURL(smtp.URL())
	if err != nil {
		t.Fatal(err)
	}
	deps := n.JobDeps(transport, slog.New(slog.NewTextHandler(io.Discard, nil)))
	client, err := jobs.NewClient(d.Pool, jobs.Deps{Logger: deps.Logger, Mail: deps.Mail}, jobs.Options{Workers: 2, FetchPoll: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := client.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = client.Stop(ctx)
	})
	set, err := n.Settings.Get(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Outbound.Mailer.AdminPasswordReset(context.Background(), d.Bun, set, a.Admin); err != nil {
		t.Fatal(err)
	}
	if got := smtp.Wait(1, 15*time.Second); len(got) != 1 {
		t.Fatalf("the send_mail job through pgbouncer delivered %d emails, want 1", len(got))
	}
}
