package external_test

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v3"
	"github.com/jackc/pgx/v5"

	"github.com/licensor/licensor/app/apikeys"
	"github.com/licensor/licensor/app/config"
	"github.com/licensor/licensor/app/db"
	"github.com/licensor/licensor/app/db/dbtest"
	"github.com/licensor/licensor/app/licensing"
	"github.com/licensor/licensor/app/server/servertest"
	"github.com/licensor/licensor/app/web/webtest"
	"github.com/licensor/licensor/test/eventually"
)

// TestPgBouncerWithReplica runs the deployment docs/deploy.md#topologies
// calls "primary plus replicas with a pooler": every node's database.url
// is a real PgBouncer in transaction mode in front of the primary
// (database.prepared_statements false), database.listen_url the primary
// itself, and the streaming replica reached directly (not through the
// pooler, as docs/deploy.md#read-replicas says). Two nodes: A with the
// verify cache off, B with it on, each with pools of its own.
//
//   - Reads go to the replica: an uncached verify by token and verify by
//     code on both nodes are seen running on the replica (its
//     pg_stat_activity, the read pool's licensor-read connections); with
//     its replay paused, a license written on the primary since is missing
//     from an admin's console list.
//   - Writes go to the primary, and each node reads its own writes: with
//     the replica's replay paused, an activation made through either node
//     is on the primary and not on the replica, and verifies at once by
//     token and by code on both; a block and a deactivation are answered at
//     once by the node that made them; the admin who blocked a license sees
//     the primary's list while another admin sees the paused replica's.
//   - With the replica stopped, everything answers from the primary through
//     the pooler.
//
// No answer is a 5xx.
func TestPgBouncerWithReplica(t *testing.T) {
	if testing.Short() {
		t.Skip("starts two PostgreSQL clusters and a pgbouncer process")
	}
	t.Parallel()
	ctx := context.Background()
	pg := dbtest.StartReplicated(t)
	pooled := dbtest.PgBouncer(t, pg.PrimaryURL)
	configure := func(cache int) func(*config.Config) {
		return func(c *config.Config) {
			c.Database.PreparedStatements = false
			c.Database.ReplicaMaxLag = time.Minute
			c.API.VerifyCacheSize = cache
		}
	}
	dA := pg.OpenVia(pooled, time.Minute)
	a := &apiEnv{Env: servertest.NewOn(t, dA, configure(0)), t: t, lics: licensing.NewService(licensing.Options{})}
	a.key = a.newKey(apikeys.CreateParams{Name: "client", Type: apikeys.TypeExternal})
	a.product = a.newProduct("ACME", "Acme CMS")
	// Node B: its own pools through the same PgBouncer, the cache on.
	dB := pg.OpenVia(pooled, time.Minute)
	configure(config.Defaults().API.VerifyCacheSize)(a.Config)
	nodeA, nodeB := a.App, a.NewAppOn(t, dB)
	if a.Nodes[1].Activations == a.Nodes[0].Activations {
		t.Fatal("the two nodes share a verify cache")
	}
	writer, other := a.SignIn(t), a.SignIn(t)

	call := func(app *fiber.App, path string, body map[string]any, host string) resp {
		t.Helper()
		h := []string{modern.keyHeader, a.key}
		if host != "" {
			h = append(h, modern.urlHeader, host)
		}
		r := a.do(app, req{path: path, headers: h, json: body})
		if r.StatusCode >= 500 {
			t.Fatalf("%s: %d %s", path, r.StatusCode, r.Body)
		}
		return r
	}
	activate := func(app *fiber.App, code, host string) string {
		t.Helper()
		r := call(app, modern.activate, map[string]any{"product_id": "ACME", "license_code": code}, host)
		if r.JSON["status"] != true {
			t.Fatalf("activate %s: %d %s", code, r.StatusCode, r.Body)
		}
		return r.str("lic_response")
	}
	byToken := func(app *fiber.App, token, host string) resp {
		t.Helper()
		return call(app, modern.verify, map[string]any{"product_id": "ACME", "license_file": token}, host)
	}
	byCode := func(app *fiber.App, code, host string) resp {
		t.Helper()
		return call(app, modern.verify, map[string]any{"product_id": "ACME", "license_code": code}, host)
	}
	wantVerified := func(what string, r resp) {
		t.Helper()
		if r.JSON["status"] != true {
			t.Fatalf("%s: %d %s", what, r.StatusCode, r.Body)
		}
	}
	console := func(c *webtest.Client, path string) string {
		t.Helper()
		r := c.Get(path)
		if r.StatusCode != 200 {
			t.Fatalf("console %s: %d", path, r.StatusCode)
		}
		return r.Body
	}

	// The replica as a client of its own: what it holds, what it runs.
	replica, err := pgx.Connect(ctx, pg.ReplicaURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = replica.Close(context.Background()) })
	primary, err := pgx.Connect(ctx, pg.PrimaryURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = primary.Close(context.Background()) })
	// replicaNow is the replica's clock, which pg_stat_activity's times
	// are on.
	replicaNow := func() time.Time {
		t.Helper()
		var now time.Time
		if err := replica.QueryRow(ctx, "SELECT clock_timestamp()").Scan(&now); err != nil {
			t.Fatal(err)
		}
		return now
	}
	// ranOnReplica: a read-pool connection on the replica began a
	// statement starting with prefix since that moment (the nodes take
	// turns, so the one asking is the one that ran it).
	ranOnReplica := func(prefix string, since time.Time) bool {
		t.Helper()
		var n int
		if err := replica.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity
			WHERE application_name = $1 AND starts_with(ltrim(query), $2) AND query_start >= $3`, db.ReadAppName, prefix, since).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n > 0
	}
	activationsOn := func(conn *pgx.Conn, code string) int {
		t.Helper()
		var n int
		if err := conn.QueryRow(ctx, "SELECT count(*) FROM activations WHERE license_code = $1", code).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}

	// Activations through each node read their own writes at once.
	const host = "https://shop.example.com"
	for _, code := range []string{"PB-A", "PB-B", "PB-BLOCK", "PB-OTHER"} {
		a.license(nil, code, parallel(5))
	}
	tokA, tokB := activate(nodeA, "PB-A", host), activate(nodeB, "PB-B", host)
	blockTok := activate(nodeA, "PB-BLOCK", host)
	for _, app := range []*fiber.App{nodeA, nodeB} {
		wantVerified("verify by token right after activate", byToken(app, tokA, host))
		wantVerified("verify by token right after activate", byToken(app, tokB, host))
		wantVerified("verify by code right after activate", byCode(app, "PB-A", host))
		wantVerified("verify by code right after activate", byCode(app, "PB-B", host))
	}

	// Reads go to the replica. A node reads it for verify once it has
	// replayed the node's own writes (its batched counters write every
	// second while requests come): asked until one is seen there.
	since := replicaNow()
	eventually.True(t, 20*time.Second, "node A's uncached verify by token runs on the replica", func() bool {
		wantVerified("uncached verify by token", byToken(nodeA, tokA, host))
		return ranOnReplica("SELECT a.id, a.product_id, a.license_id", since)
	})
	for _, node := range []struct {
		name string
		app  *fiber.App
	}{{"A", nodeA}, {"B", nodeB}} {
		since := replicaNow()
		eventually.True(t, 20*time.Second, "node "+node.name+"'s verify by code runs on the replica", func() bool {
			wantVerified("verify by code", byCode(node.app, "PB-B", host))
			return ranOnReplica("SELECT l.id, l.is_valid, l.expires_at", since)
		})
	}
	if body := console(other, "/admin/licenses"); !strings.Contains(body, "PB-OTHER") {
		t.Fatal("console list misses a license")
	}

	// Replay paused: what the replica answers differs from the primary.
	pg.PauseReplay()
	if _, err := primary.Exec(ctx, `INSERT INTO licenses (product_id, license_code, entitlements) VALUES ($1, 'PB-LATE', '{}')`, a.product.ID); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(console(other, "/admin/licenses"), "PB-LATE") {
		t.Fatal("another admin's list is not the paused replica's")
	}
	// The admin who blocks a license reads the primary from then on.
	block, err := licensing.ByCode(ctx, a.DB.Bun, "PB-BLOCK")
	if err != nil {
		t.Fatal(err)
	}
	if r := writer.PostForm(fmt.Sprintf("/admin/licenses/%d/block", block.ID), url.Values{}); r.StatusCode != 303 {
		t.Fatalf("console block: %d\n%s", r.StatusCode, r.Body)
	}
	if !strings.Contains(console(writer, "/admin/licenses"), "PB-LATE") {
		t.Fatal("the admin who just blocked a license does not read the primary")
	}
	if r := byToken(nodeA, blockTok, host); r.str("status_code") != "LICENSE_BLOCKED" {
		t.Fatalf("verify right after the node's block: %s", r.Body)
	}
	if r := byCode(nodeA, "PB-BLOCK", host); r.str("status_code") != "LICENSE_BLOCKED" {
		t.Fatalf("verify by code right after the node's block: %s", r.Body)
	}
	// Writes go to the primary; each node verifies them at once.
	for i, app := range []*fiber.App{nodeA, nodeB} {
		code := fmt.Sprintf("PB-NEW-%d", i)
		a.license(nil, code, parallel(5))
		tok := activate(app, code, host)
		if on, off := activationsOn(primary, code), activationsOn(replica, code); on != 1 || off != 0 {
			t.Fatalf("activation of %s: %d on the primary, %d on the paused replica", code, on, off)
		}
		for _, reader := range []*fiber.App{nodeA, nodeB} {
			wantVerified("verify by token of an activation just made", byToken(reader, tok, host))
			wantVerified("verify by code of an activation just made", byCode(reader, code, host))
		}
		r := call(app, modern.deactivate, map[string]any{"product_id": "ACME", "license_file": tok}, host)
		if r.JSON["status"] != true {
			t.Fatalf("deactivate: %s", r.Body)
		}
		if r := byToken(app, tok, host); r.JSON["status"] == true {
			t.Fatalf("verify right after the node's deactivation: %s", r.Body)
		}
	}

	pg.ResumeReplay()
	eventually.True(t, 10*time.Second, "another admin sees the license once replayed", func() bool {
		return strings.Contains(console(other, "/admin/licenses"), "PB-LATE")
	})

	// The replica stopped: the read pool falls back to the primary through
	// the pooler.
	pg.StopReplica()
	for range 3 {
		for _, app := range []*fiber.App{nodeA, nodeB} {
			wantVerified("verify by token with the replica stopped", byToken(app, tokA, host))
			wantVerified("verify by code with the replica stopped", byCode(app, "PB-B", host))
		}
		if !strings.Contains(console(other, "/admin/licenses"), "PB-LATE") {
			t.Fatal("console list with the replica stopped misses a license")
		}
	}
	activate(nodeA, "PB-A", "https://later.example.com")
}
