package external_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/licensor/licensor/app/apikeys"
	"github.com/licensor/licensor/app/config"
	"github.com/licensor/licensor/app/db/dbtest"
	"github.com/licensor/licensor/app/licensing"
	"github.com/licensor/licensor/app/server/servertest"
	"github.com/licensor/licensor/test/eventually"
)

// newReplicatedAPIEnv is newAPIEnv on pg's primary with its streaming
// replica as the read pool (docs/deploy.md#read-replicas), a lag bound the
// test's paused replay stays under.
func newReplicatedAPIEnv(t *testing.T, pg *dbtest.Replicated, configure ...func(*config.Config)) *apiEnv {
	t.Helper()
	d := pg.Open(time.Minute)
	configure = append([]func(*config.Config){func(c *config.Config) { c.Database.ReplicaMaxLag = time.Minute }}, configure...)
	a := &apiEnv{Env: servertest.NewOn(t, d, configure...), t: t, lics: licensing.NewService(licensing.Options{})}
	a.key = a.newKey(apikeys.CreateParams{Name: "client", Type: apikeys.TypeExternal})
	a.product = a.newProduct("ACME", "Acme CMS")
	return a
}

// TestUpdateChecksReadReplica: update check, latest version and download
// size read the replica (docs/deploy.md#read-replicas). With the
// replica's replay paused, a version published on the primary is not
// offered by them (the replica's answer) while its download, which checks
// and logs on the primary, is served; once replay resumes they offer it;
// with the replica stopped they answer from the primary, never a 5xx.
func TestUpdateChecksReadReplica(t *testing.T) {
	if testing.Short() {
		t.Skip("starts two PostgreSQL clusters")
	}
	t.Parallel()
	pg := dbtest.StartReplicated(t)
	a := newReplicatedAPIEnv(t, pg)
	a.setProduct(a.product, false, true)
	now := time.Now()
	old := a.addVersion(a.product, "1.0", now.Add(-48*time.Hour), true, false)

	check := func(p paths) resp {
		t.Helper()
		path := map[string]string{"modern": "/api/external/update/check", "legacy": "/api/check_update"}[p.name]
		return a.call(p, path, map[string]any{"product_id": "ACME", "current_version": "0.9"}, "")
	}
	latest := func() resp {
		t.Helper()
		return a.call(modern, "/api/external/update/latest", map[string]any{"product_id": "ACME"}, "")
	}
	size := func(vid string) int {
		t.Helper()
		return a.do(a.App, req{method: http.MethodGet, path: "/api/external/update/" + vid + "/download/main/size", headers: []string{"X-API-KEY", a.key}}).StatusCode
	}
	// The version and its file are separate writes: wait for both on the
	// replica before its replay is paused.
	eventually.True(t, 10*time.Second, "the replica offers version 1.0 and its file", func() bool {
		return check(modern).str("version") == "1.0" && size(old.versionID) == 200
	})

	pg.PauseReplay()
	rel := a.addVersion(a.product, "2.0", now.Add(-24*time.Hour), true, false)
	for _, p := range bothPaths {
		r := check(p)
		if r.StatusCode != 200 || r.str("version") != "1.0" {
			t.Fatalf("%s update check with replay paused: %d %s; want the replica's 1.0", p.name, r.StatusCode, r.Body)
		}
		// The API has no session: a POST opens no read-your-writes window.
		if c := r.Header.Get("Set-Cookie"); c != "" {
			t.Fatalf("%s update check set a cookie: %s", p.name, c)
		}
	}
	if r := latest(); r.StatusCode != 200 || r.str("latest_version") != "1.0" {
		t.Fatalf("latest with replay paused: %d %s; want the replica's 1.0", r.StatusCode, r.Body)
	}
	if s := size(rel.versionID); s != 404 {
		t.Fatalf("size of 2.0 with replay paused: %d; want the replica's 404", s)
	}
	if s := size(old.versionID); s != 200 {
		t.Fatalf("size of 1.0 with replay paused: %d", s)
	}
	if r := a.download(rel.versionID, "main", "", nil); r.StatusCode != 200 || r.Body != string(rel.main) {
		t.Fatalf("download of 2.0 (the primary's) with replay paused: %d", r.StatusCode)
	}

	pg.ResumeReplay()
	eventually.True(t, 10*time.Second, "the replica offers 2.0 once replayed", func() bool {
		return check(modern).str("version") == "2.0"
	})
	if r := latest(); r.str("latest_version") != "2.0" {
		t.Fatalf("latest once replayed: %s", r.Body)
	}

	pg.StopReplica()
	for range 5 {
		if r := check(modern); r.StatusCode != 200 || r.str("version") != "2.0" {
			t.Fatalf("update check with the replica stopped: %d %s", r.StatusCode, r.Body)
		}
		if r := latest(); r.StatusCode != 200 || r.str("latest_version") != "2.0" {
			t.Fatalf("latest with the replica stopped: %d %s", r.StatusCode, r.Body)
		}
		if s := size(rel.versionID); s != 200 {
			t.Fatalf("size with the replica stopped: %d", s)
		}
	}
}

// TestUncachedVerifyReadsReplica: with the verify cache off, verify (token
// and code paths) reads the replica once it has replayed the node's own
// writes (docs/deploy.md#read-replicas). With replay paused, a license
// blocked by another node (a connection of its own) still verifies — the
// replica's answer, at most replica_max_lag old —; a license and an
// activation another node has just made verify (the replica's refusal is
// asked of the primary again); a block through this node is answered at
// once (the replica has not replayed it, so the primary is read); with the
// replica stopped verify answers as before, never a 5xx.
func TestUncachedVerifyReadsReplica(t *testing.T) {
	if testing.Short() {
		t.Skip("starts two PostgreSQL clusters")
	}
	t.Parallel()
	pg := dbtest.StartReplicated(t)
	a := newReplicatedAPIEnv(t, pg, func(c *config.Config) { c.API.VerifyCacheSize = 0 })
	ctx := context.Background()
	a.license(nil, "RV-OTHER", parallel(5))
	a.license(nil, "RV-OWN", parallel(5))
	const host = "https://shop.example.com"
	other, own := a.activate(modern, "RV-OTHER", host), a.activate(modern, "RV-OWN", host)
	byToken := func(token, from string) resp {
		t.Helper()
		return a.call(modern, modern.verify, map[string]any{"product_id": "ACME", "license_file": token}, from)
	}
	byCode := func(code, from string) resp {
		t.Helper()
		return a.call(modern, modern.verify, map[string]any{"product_id": "ACME", "license_code": code}, from)
	}
	eventually.True(t, 10*time.Second, "the replica has this node's writes", func() bool {
		return a.DB.ReplicaAfterOwnWrites() != nil
	})
	// Another node: a connection of its own to the primary.
	node2, err := pgx.Connect(ctx, pg.PrimaryURL)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = node2.Close(ctx) }()
	exec2 := func(q string, args ...any) {
		t.Helper()
		if _, err := node2.Exec(ctx, q, args...); err != nil {
			t.Fatal(err)
		}
	}

	pg.PauseReplay()
	exec2(`UPDATE licenses SET is_valid = false WHERE license_code = 'RV-OTHER'`)
	if r := byToken(other, host); r.JSON["status"] != true {
		t.Fatalf("verify by token of a license another node blocked, replay paused: %s; want the replica's success", r.Body)
	}
	if r := byCode("RV-OTHER", host); r.JSON["status"] != true {
		t.Fatalf("verify by code of a license another node blocked, replay paused: %s; want the replica's success", r.Body)
	}
	var licID, actID int64
	if err := node2.QueryRow(ctx, `INSERT INTO licenses (product_id, license_code, entitlements) VALUES ($1, 'RV-NEW', '{}') RETURNING id`, a.product.ID).Scan(&licID); err != nil {
		t.Fatal(err)
	}
	if err := node2.QueryRow(ctx, `INSERT INTO activations (license_id, product_id, license_code, domain, is_valid, is_active)
		VALUES ($1, $2, 'RV-NEW', 'new.example.com', true, true) RETURNING id`, licID, a.product.ID).Scan(&actID); err != nil {
		t.Fatal(err)
	}
	token, err := a.Nodes[0].Signing.IssueToken(actID, "ACME", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if r := byToken(token, "https://new.example.com"); r.JSON["status"] != true {
		t.Fatalf("verify by token of an activation another node just made: %s; want the primary's success", r.Body)
	}
	if r := byCode("RV-NEW", "https://new.example.com"); r.JSON["status"] != true {
		t.Fatalf("verify by code of a license another node just made: %s; want the primary's success", r.Body)
	}
	a.exec(`UPDATE licenses SET is_valid = false WHERE license_code = 'RV-OWN'`)
	if r := byToken(own, host); r.str("status_code") != "LICENSE_BLOCKED" {
		t.Fatalf("verify right after this node's block: %s", r.Body)
	}
	if r := byCode("RV-OWN", host); r.str("status_code") != "LICENSE_BLOCKED" {
		t.Fatalf("verify by code right after this node's block: %s", r.Body)
	}

	pg.ResumeReplay()
	eventually.True(t, 10*time.Second, "the other node's block is verified once replayed", func() bool {
		return byToken(other, host).str("status_code") == "LICENSE_BLOCKED"
	})

	pg.StopReplica()
	for range 5 {
		if r := byToken(token, "https://new.example.com"); r.StatusCode != 200 || r.JSON["status"] != true {
			t.Fatalf("verify with the replica stopped: %d %s", r.StatusCode, r.Body)
		}
		if r := byCode("RV-OTHER", host); r.StatusCode != 200 || r.str("status_code") != "LICENSE_BLOCKED" {
			t.Fatalf("verify by code with the replica stopped: %d %s", r.StatusCode, r.Body)
		}
	}
}
