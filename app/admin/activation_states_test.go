package admin_test

import (
	"context"
	"strings"
	"testing"

	"github.com/licensor/licensor/app/server/servertest"
)

// The activation list's state filter takes the heartbeat states
// (released, checked in, missed and kept).
func TestConsoleActivationStates(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	c := e.SignIn(t)
	ctx := context.Background()
	seedLicense(t, e, "STATE-1", "", "")
	for _, d := range []string{"released.example.com", "checked.example.com", "missed.example.com"} {
		activate(t, e, "STATE-1", d)
	}
	exec := func(q, domain string) {
		t.Helper()
		if _, err := e.DB.Bun.ExecContext(ctx, q, domain); err != nil {
			t.Fatal(err)
		}
	}
	exec("UPDATE activations SET is_active = false, deactivated_at = now(), deactivation_reason = 'released' WHERE domain = ?", "released.example.com")
	exec("UPDATE activations SET is_active = false, deactivated_at = now(), deactivation_reason = 'checked_in' WHERE domain = ?", "checked.example.com")
	exec("UPDATE activations SET heartbeat_missed_at = now() WHERE domain = ?", "missed.example.com")
	for state, domain := range map[string]string{"released": "released.example.com", "checked_in": "checked.example.com", "heartbeat_missed": "missed.example.com"} {
		r := c.Get("/admin/activations?active=" + state)
		if r.StatusCode != 200 || !strings.Contains(r.Body, domain) || !strings.Contains(r.Body, `<option value="`+state+`" selected>`) {
			t.Errorf("?active=%s: %d\n%s", state, r.StatusCode, r.Body)
			continue
		}
		for _, other := range []string{"released.example.com", "checked.example.com", "missed.example.com"} {
			if other != domain && strings.Contains(r.Body, other) {
				t.Errorf("?active=%s lists %s", state, other)
			}
		}
	}
}
