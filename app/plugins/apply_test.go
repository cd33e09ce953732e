package plugins_test

import (
	"context"
	"testing"

	"github.com/licensor/licensor/app/audit"
)

// A node re-reads every plugin's stored state when its listener
// (re)connects, in a goroutine of its own, while an admin may be enabling
// or disabling a plugin through the same node. Whatever the interleaving,
// the host ends with the state stored last: a read taken before a change's
// commit must never be applied after it (the store-webhook test got 404
// from a plugin just enabled, disabled again by such a read).
func TestApplyAllNeverUndoesAChange(t *testing.T) {
	t.Parallel()
	_, _, svc := startPlugins(t, "import-xlsx")
	ctx := context.Background()
	by := audit.Source{Actor: audit.System}
	for i := range 60 {
		enabled := i%2 == 0
		done := make(chan error, 1)
		go func() { done <- svc.ApplyAll(ctx) }()
		if err := svc.SetEnabled(ctx, "import-xlsx", enabled, by); err != nil {
			t.Fatal(err)
		}
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if p, _ := svc.Host().Get("import-xlsx"); p.Enabled != enabled {
			t.Fatalf("round %d: stored enabled=%v, the host has %v", i, enabled, p.Enabled)
		}
	}
}
