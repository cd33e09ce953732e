package external_test

import (
	"context"
	"testing"

	"github.com/gofiber/fiber/v3"

	"github.com/licensor/licensor/app/licensing"
	"github.com/licensor/licensor/test/eventually"
)

// Verify is answered from each node's activation cache, and every change
// to what verify checks reaches every node's cache by the triggers'
// NOTIFY, whoever makes it (here plain SQL, which no Go code sees), and at
// once on the node that deactivates.
func TestVerifyCacheFollowsChangesOnEveryNode(t *testing.T) {
	t.Parallel()
	a := newAPIEnv(t)
	second := a.NewApp(t)
	nodeA, nodeB := a.Nodes[0], a.Nodes[1]
	const host = "https://cache.example.com"
	a.license(nil, "CACHED")
	r := a.do(a.App, req{path: modern.activate, headers: []string{"X-API-KEY", a.key, "X-API-URL", host},
		json: map[string]any{"product_id": "ACME", "license_code": "CACHED"}})
	if r.JSON["status"] != true {
		t.Fatalf("activate: %s", r.Body)
	}
	tok := r.str("lic_response")
	verifyOn := func(app *fiber.App) string {
		t.Helper()
		return a.do(app, req{path: modern.verify, headers: []string{"X-API-KEY", a.key, "X-API-URL", host},
			json: map[string]any{"product_id": "ACME", "license_data": tok}}).Body
	}
	exec := func(q string) {
		t.Helper()
		if _, err := a.DB.Bun.ExecContext(context.Background(), q); err != nil {
			t.Fatal(err)
		}
	}

	for _, app := range []*fiber.App{a.App, second} {
		if got := verifyOn(app); got != bodyVerified {
			t.Fatalf("verify: %s", got)
		}
	}
	if nodeA.Activations.Len() != 1 || nodeB.Activations.Len() != 1 {
		t.Fatalf("cached: %d and %d activations, want 1 each", nodeA.Activations.Len(), nodeB.Activations.Len())
	}

	// A change verify does not read keeps the entries. That both nodes
	// have had its notification is told by a later one (they come in
	// commit order): blocking another cached license drops its entry.
	a.license(nil, "MARKER")
	r = a.do(a.App, req{path: modern.activate, headers: []string{"X-API-KEY", a.key, "X-API-URL", host},
		json: map[string]any{"product_id": "ACME", "license_code": "MARKER"}})
	if r.JSON["status"] != true {
		t.Fatalf("activate the marker: %s", r.Body)
	}
	markerTok := r.str("lic_response")
	for _, app := range []*fiber.App{a.App, second} {
		if got := a.do(app, req{path: modern.verify, headers: []string{"X-API-KEY", a.key, "X-API-URL", host},
			json: map[string]any{"product_id": "ACME", "license_data": markerTok}}).Body; got != bodyVerified {
			t.Fatalf("verify the marker: %s", got)
		}
	}
	activation := func(code string) int64 {
		t.Helper()
		var id int64
		if err := a.DB.Bun.NewRaw("SELECT a.id FROM activations a JOIN licenses l ON l.id = a.license_id WHERE l.license_code = ?", code).
			Scan(context.Background(), &id); err != nil {
			t.Fatal(err)
		}
		return id
	}
	cached, marker := activation("CACHED"), activation("MARKER")
	exec("UPDATE licenses SET comments = 'noted' WHERE license_code = 'CACHED'")
	exec("UPDATE licenses SET is_valid = false WHERE license_code = 'MARKER'")
	for i, node := range []*licensing.ActivationCache{nodeA.Activations, nodeB.Activations} {
		eventually.True(t, notified, "the marker's change reaches the node", func() bool { return !node.Holds(marker) })
		if !node.Holds(cached) {
			t.Fatalf("node %d: an unrelated change dropped the cache", i+1)
		}
	}

	// Blocking in plain SQL reaches both nodes.
	exec("UPDATE licenses SET is_valid = false WHERE license_code = 'CACHED'")
	blocked := verifyFail("Your license is blocked.", "LICENSE_BLOCKED")
	for _, app := range []*fiber.App{a.App, second} {
		eventually.True(t, notified, "the other node learns of the change", func() bool { return verifyOn(app) == blocked })
	}
	exec("UPDATE licenses SET is_valid = true WHERE license_code = 'CACHED'")
	for _, app := range []*fiber.App{a.App, second} {
		eventually.True(t, notified, "the other node learns of the change", func() bool { return verifyOn(app) == bodyVerified })
	}

	// An expiry needs no notification: it is compared at each verify.
	exec("UPDATE licenses SET expires_at = now() + interval '1 second' WHERE license_code = 'CACHED'")
	eventually.True(t, notified, "the other node learns of the change", func() bool { return verifyOn(second) == verifyFail("Your license has expired.", "LICENSE_EXPIRED") })
	exec("UPDATE licenses SET expires_at = NULL WHERE license_code = 'CACHED'")
	eventually.True(t, notified, "the other node learns of the change", func() bool { return verifyOn(second) == bodyVerified })

	// The node that deactivates answers "deactivated" at once; the other
	// within the notification's milliseconds.
	expect(t, a.do(a.App, req{path: modern.deactivate, headers: []string{"X-API-KEY", a.key, "X-API-URL", host},
		json: map[string]any{"product_id": "ACME", "license_data": tok}}), 200, bodyDeactivated)
	deactivated := verifyFail(msgNotAssigned, "LICENSE_DEACTIVATED")
	if got := verifyOn(a.App); got != deactivated {
		t.Fatalf("verify right after deactivate on the same node: %s", got)
	}
	eventually.True(t, notified, "the other node learns of the change", func() bool { return verifyOn(second) == deactivated })

	// Deleting the activation (console, retention) drops it too.
	exec("DELETE FROM activations WHERE license_id = (SELECT id FROM licenses WHERE license_code = 'CACHED')")
	eventually.True(t, notified, "the other node learns of the change", func() bool {
		return nodeA.Activations.Len() == 0 && nodeB.Activations.Len() == 0 &&
			verifyOn(second) == verifyFail(msgNotAssigned, "LICENSE_INVALID")
	})
}
