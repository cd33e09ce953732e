package external_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/licensor/licensor/app/catalog"
	"github.com/licensor/licensor/app/fields"
	"github.com/licensor/licensor/app/licensing"
	"github.com/licensor/licensor/app/settings"
	"github.com/licensor/licensor/jobs"
	"github.com/licensor/licensor/test/eventually"
)

var heartbeatPath = "/api/external/license/heartbeat"

func floating(in *licensing.LicenseInput) { in.Floating = fields.Some(true) }

// An activation of a product with a 60-second heartbeat interval answers
// its policy in activate's data and token; heartbeats answer the next
// deadline; once it stops heartbeating, the release job frees its slot for
// another machine and its next heartbeat answers ACTIVATION_RELEASED,
// telling it to activate again. Legacy paths keep their answers.
func TestHeartbeatReleaseOverHTTP(t *testing.T) {
	t.Parallel()
	a := newAPIEnv(t)
	a.SetSettings(t, map[string]string{"enable_webhooks": "true", "webhook_url": "https://hooks.example.com/licensor"})
	sixty := 60
	p, err := catalog.NewService(nil).CreateProduct(context.Background(), a.DB.Bun, admin, settings.Defaults(), catalog.ProductInput{
		Name: fields.Some("Beating"), ReferenceID: fields.Some("BEAT"), HeartbeatInterval: fields.Some(&sixty),
	})
	if err != nil {
		t.Fatal(err)
	}
	a.license(p, "BEAT-1", parallel(1))
	r := a.call(modern, modern.activate, map[string]any{"product_id": "BEAT", "license_code": "BEAT-1"}, "https://one.example.com")
	data, _ := r.JSON["data"].(map[string]any)
	if r.JSON["status"] != true || data["heartbeat_interval"] != 60.0 || data["next_heartbeat_before"] == nil {
		t.Fatalf("activate: %s", r.Body)
	}
	tok := r.str("lic_response")
	claims, err := a.Nodes[0].Signing.VerifyToken(tok)
	if err != nil || claims.HeartbeatInterval != 60 || claims.Floating {
		t.Fatalf("token claims %+v %v", claims, err)
	}
	// The legacy activate's token and answer carry no policy.
	a.license(p, "BEAT-LEGACY")
	lr := a.call(legacy, legacy.activate, map[string]any{"product_id": "BEAT", "license_code": "BEAT-LEGACY"}, "https://one.example.com")
	if strings.Contains(lr.Body, "heartbeat") {
		t.Fatalf("legacy activate: %s", lr.Body)
	}
	if c, _ := a.Nodes[0].Signing.VerifyToken(lr.str("lic_response")); c.HeartbeatInterval != 0 {
		t.Fatalf("legacy token %+v", c)
	}

	body := map[string]any{"product_id": "BEAT", "license_data": tok}
	hb := a.call(modern, heartbeatPath, body, "https://one.example.com")
	hbData, _ := hb.JSON["data"].(map[string]any)
	if hb.StatusCode != 200 || hb.JSON["status"] != true || hb.str("message") != "Heartbeat received." || hbData["heartbeat_interval"] != 60.0 {
		t.Fatalf("heartbeat: %d %s", hb.StatusCode, hb.Body)
	}
	// Heartbeats have no legacy path.
	if r := a.call(legacy, "/api/heartbeat_license", body, "https://one.example.com"); r.StatusCode != 404 {
		t.Fatalf("legacy heartbeat path: %d", r.StatusCode)
	}
	// No token: the verify failure, in the heartbeat's shape.
	expect(t, a.call(modern, heartbeatPath, map[string]any{"product_id": "BEAT"}, "https://one.example.com"), 200,
		`{"status":false,"is_active":false,"message":"License data is required.","status_code":"LICENSE_INVALID","data":null}`)

	// Silence: its deadline passes (moved back on the database's clock,
	// which the job's follows), and the job releases it.
	if err := a.Nodes[0].Verifies.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	a.exec("UPDATE activations SET heartbeat_due_at = now() - interval '1 second' WHERE license_code = 'BEAT-1'")
	all := a.Nodes[0].JobDeps(nil, nil)
	a.StartWorkers(t, jobs.Deps{Logger: all.Logger, ReleaseOverdue: all.ReleaseOverdue, ReleaseEvery: 100 * time.Millisecond})
	eventually.True(t, notified, "the release job frees the slot", func() bool {
		var reason string
		_ = a.DB.Bun.NewRaw("SELECT coalesce(deactivation_reason, '') FROM activations WHERE license_code = 'BEAT-1'").Scan(context.Background(), &reason)
		return reason == "released"
	})
	var logged, hooked int
	if err := a.DB.Bun.NewRaw("SELECT count(*) FROM activity_log WHERE type = 'activation.released'").Scan(context.Background(), &logged); err != nil || logged != 1 {
		t.Fatalf("activity lines: %d %v", logged, err)
	}
	if err := a.DB.Bun.NewRaw("SELECT count(*) FROM webhook_deliveries WHERE event = 'activation.released' AND license_code = 'BEAT-1'").Scan(context.Background(), &hooked); err != nil || hooked != 1 {
		var events []string
		_ = a.DB.Bun.NewRaw("SELECT event || coalesce(license_code, '') FROM webhook_deliveries").Scan(context.Background(), &events)
		t.Fatalf("activation.released deliveries: %d %v (%v)", hooked, err, events)
	}
	released := `{"status":false,"is_active":false,"message":"Your activation was released because it missed its heartbeat. Please activate again.","status_code":"ACTIVATION_RELEASED","data":null}`
	eventually.True(t, notified, "the node's cache learns of the release", func() bool {
		return a.call(modern, heartbeatPath, body, "https://one.example.com").Body == released
	})
	expect(t, a.call(modern, modern.verify, body, "https://one.example.com"), 200, released)
	expect(t, a.call(legacy, legacy.verify, body, "https://one.example.com"), 200, verifyFail("License is invalid or not assigned to you.", "LICENSE_DEACTIVATED"))

	// Its slot is another machine's.
	r = a.call(modern, modern.activate, map[string]any{"product_id": "BEAT", "license_code": "BEAT-1"}, "https://two.example.com")
	if r.JSON["status"] != true {
		t.Fatalf("activate on the freed slot: %s", r.Body)
	}
}

// A floating license with 3 seats serves 3 sessions and refuses the 4th
// until one checks in; check-out of a license that is not floating, and
// check-in without a token, are refused.
func TestFloatingCheckoutCheckin(t *testing.T) {
	t.Parallel()
	a := newAPIEnv(t)
	a.license(nil, "FLOAT-3", parallel(3), floating)
	a.license(nil, "FIXED")
	out := func(code, host string) resp {
		return a.call(modern, "/api/external/license/checkout", map[string]any{"product_id": "ACME", "license_code": code}, "https://"+host)
	}
	tokens := map[string]string{}
	for _, h := range []string{"a.example.com", "b.example.com", "c.example.com"} {
		r := out("FLOAT-3", h)
		data, _ := r.JSON["data"].(map[string]any)
		if r.StatusCode != 200 || r.str("message") != "Seat checked out." || data["heartbeat_interval"] != 600.0 || data["next_heartbeat_before"] == nil {
			t.Fatalf("checkout from %s: %d %s", h, r.StatusCode, r.Body)
		}
		tokens[h] = r.str("lic_response")
	}
	full := out("FLOAT-3", "d.example.com")
	if full.StatusCode != 200 || full.JSON["status"] != false || full.str("status_code") != "ACTIVATED_MAXIMUM_ALLOWED_PRODUCT_INSTANCES" {
		t.Fatalf("4th checkout: %d %s", full.StatusCode, full.Body)
	}
	if r := out("FIXED", "a.example.com"); r.str("status_code") != "LICENSE_NOT_FLOATING" {
		t.Fatalf("checkout of a fixed license: %s", r.Body)
	}
	expect(t, a.call(modern, "/api/external/license/checkin", map[string]any{"product_id": "ACME"}, "https://a.example.com"), 200,
		`{"status":false,"is_active":false,"message":"License data is required.","status_code":"LICENSE_INVALID"}`)
	expect(t, a.call(modern, "/api/external/license/checkin", map[string]any{"product_id": "ACME", "license_data": tokens["b.example.com"]}, "https://b.example.com"), 200,
		`{"status":true,"is_active":true,"message":"Seat checked in."}`)
	if r := out("FLOAT-3", "d.example.com"); r.JSON["status"] != true {
		t.Fatalf("checkout after a check-in: %s", r.Body)
	}
	// The checked-in token is spent.
	expect(t, a.call(modern, "/api/external/license/checkin", map[string]any{"product_id": "ACME", "license_data": tokens["b.example.com"]}, "https://b.example.com"), 200,
		`{"status":false,"is_active":false,"message":"License is invalid or not assigned to you.","status_code":"LICENSE_DEACTIVATED"}`)
}

// 40 check-outs at once of a floating license with 5 seats, over real
// HTTP connections on two nodes of one database: exactly 5 succeed.
func TestConcurrentCheckoutsRespectSeats(t *testing.T) {
	t.Parallel()
	a := newAPIEnv(t)
	a.NewApp(t)
	a.license(nil, "FLOAT-RACE", parallel(5), floating)
	const n = 40
	ok, full, active := a.race("FLOAT-RACE", n, func(i int) req {
		return req{path: "/api/external/license/checkout", headers: []string{
			"X-API-KEY", a.key, "X-API-URL", "https://host-" + strconv.Itoa(i) + ".example.com",
		}, json: map[string]any{"product_id": "ACME", "license_code": "FLOAT-RACE"}}
	})
	if ok != 5 || full != n-5 || active != 5 {
		t.Fatalf("%d checked out, %d refused, %d active; want 5, %d, 5", ok, full, active, n-5)
	}
}
