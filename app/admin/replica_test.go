package admin_test

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/licensor/licensor/app/config"
	"github.com/licensor/licensor/app/db"
	"github.com/licensor/licensor/app/db/dbtest"
	"github.com/licensor/licensor/app/server/servertest"
	"github.com/licensor/licensor/test/eventually"
)

// TestConsoleReadsFromReplica runs the console on a private primary with
// a real streaming replica (docs/deploy.md#read-replicas): with the
// replica's replay paused, a customer created by one admin is on that
// admin's list at once (read-your-writes: the primary) and missing from
// another admin's (served by the replica) and from the export until replay
// resumes; with the
// replica stopped, the lists and the dashboard still answer 200.
func TestConsoleReadsFromReplica(t *testing.T) {
	if testing.Short() {
		t.Skip("starts two PostgreSQL clusters")
	}
	t.Parallel()
	pg := dbtest.StartReplicated(t)
	ctx := context.Background()
	d, err := db.Open(ctx, pg.PrimaryURL, db.PoolOptions{
		MaxOpenConns: 8, MaxIdleConns: 8, ConnMaxLifetime: time.Hour,
		// A lag bound the paused replay stays under for the test's length.
		Replicas: db.ReplicaOptions{URLs: []string{pg.ReplicaURL}, MaxLag: time.Minute, Every: 50 * time.Millisecond},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close() })
	if _, err := db.Migrate(ctx, d); err != nil {
		t.Fatal(err)
	}
	e := servertest.NewOn(t, d, func(c *config.Config) { c.Database.ReplicaMaxLag = time.Minute })
	eventually.True(t, 20*time.Second, "the replica has the admin", func() bool {
		var n int
		_ = d.Reader().NewRaw("SELECT count(*) FROM admins").Scan(ctx, &n)
		return n == 1 && d.Replicas.Status()[0].Healthy
	})
	writer, other := e.SignIn(t), e.SignIn(t)

	replica, err := db.Open(ctx, pg.ReplicaURL, db.PoolOptions{MaxOpenConns: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = replica.Close() }()
	if _, err := replica.Bun.ExecContext(ctx, "SELECT pg_wal_replay_pause()"); err != nil {
		t.Fatal(err)
	}
	writer.GetCSRF("/admin/customers/new")
	r := writer.PostForm("/admin/customers", url.Values{"name": {"Rita Replica"}, "email": {"rita@example.com"}, "password": {"long enough secret"}, "password_confirm": {"long enough secret"}})
	if r.StatusCode != 303 {
		t.Fatalf("create: %d\n%s", r.StatusCode, r.Body)
	}
	if r := writer.Get("/admin/customers"); r.StatusCode != 200 || !strings.Contains(r.Body, "rita@example.com") {
		t.Fatalf("the admin who created the customer does not see it: %d", r.StatusCode)
	}
	if r := other.Get("/admin/customers"); r.StatusCode != 200 || strings.Contains(r.Body, "rita@example.com") {
		t.Fatalf("another admin's list is not the paused replica's: %d (shows the new customer: %v)", r.StatusCode, strings.Contains(r.Body, "rita@example.com"))
	}
	// Exports read the replica whoever asks.
	if r := writer.Get("/admin/customers/export?format=csv"); r.StatusCode != 200 || strings.Contains(r.Body, "rita@example.com") || !strings.Contains(r.Body, "email") {
		t.Fatalf("the export is not the paused replica's: %d\n%s", r.StatusCode, r.Body)
	}
	if _, err := replica.Bun.ExecContext(ctx, "SELECT pg_wal_replay_resume()"); err != nil {
		t.Fatal(err)
	}
	eventually.True(t, 10*time.Second, "the other admin sees the customer once replayed", func() bool {
		return strings.Contains(other.Get("/admin/customers").Body, "rita@example.com")
	})

	_ = replica.Close()
	pg.StopReplica()
	for range 5 {
		for _, path := range []string{"/admin/customers", "/admin/licenses", "/admin/products", "/admin/activations", "/admin"} {
			if r := other.Get(path); r.StatusCode != 200 {
				t.Fatalf("%s with the replica stopped: %d", path, r.StatusCode)
			}
		}
	}
	if !strings.Contains(other.Get("/admin/customers").Body, "rita@example.com") {
		t.Fatal("the list without the replica misses the customer")
	}
}
