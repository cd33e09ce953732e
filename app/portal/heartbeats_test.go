package portal_test

import (
	"context"
	"strings"
	"testing"
)

// The portal's activations show the last heartbeat, and an activation
// released for want of heartbeats as "released (no heartbeat since …)"
// (docs/licensing.md#heartbeats-and-automatic-release), on the activations
// page and the license page.
func TestPortalReleasedActivation(t *testing.T) {
	t.Parallel()
	s := newShop(t)
	c := mustSignIn(t, s.e, "cora@example.com")
	exec := func(q string) {
		t.Helper()
		if _, err := s.e.DB.Bun.ExecContext(context.Background(), q, s.coraAct); err != nil {
			t.Fatal(err)
		}
	}
	exec("UPDATE activations SET last_heartbeat_at = now() - interval '1 minute' WHERE id = ?")
	if r := c.Get("/customer/product-activations"); !strings.Contains(r.Body, "last heartbeat ") {
		t.Fatalf("activations page:\n%s", r.Body)
	}
	exec("UPDATE activations SET is_active = false, deactivation_reason = 'released', deactivated_at = now() WHERE id = ?")
	for _, path := range []string{"/customer/product-activations", "/customer/product-licenses/" + itoa(s.coraLic.ID)} {
		r := c.Get(path)
		if !strings.Contains(r.Body, "badge-released\">released</span>") || !strings.Contains(r.Body, "released (no heartbeat since ") {
			t.Fatalf("%s:\n%s", path, r.Body)
		}
	}
}
