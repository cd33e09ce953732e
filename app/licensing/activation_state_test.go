package licensing

import (
	"testing"
	"time"

	"github.com/licensor/licensor/app/catalog"
	"github.com/licensor/licensor/app/fields"
	"github.com/licensor/licensor/app/listing"
)

// The heartbeat states of ListActivations' State filter: released,
// checked in (a floating seat given back) and heartbeat missed (still
// active, kept by its policy).
func TestActivationStateFilter(t *testing.T) {
	t.Parallel()
	f := newLicFixture(t)
	f.heartbeatProduct(60, 0, catalog.HeartbeatKeep)
	f.license("ST-KEEP", LicenseInput{})
	f.license("ST-FLOAT", LicenseInput{ParallelUses: fields.Some(intp(5)), Floating: fields.Some(true)})
	kept := f.mustActivate("ST-KEEP", "", caller("kept.example.com"))
	fresh := f.mustActivate("ST-KEEP", "", caller("fresh.example.com"))
	released := f.mustActivate("ST-FLOAT", "", caller("released.example.com"))
	checkedIn := f.mustActivate("ST-FLOAT", "", caller("checked.example.com"))
	if fail, err := f.s.CheckIn(f.ctx, f.d.Bun, VerifyRequest{Product: f.product, ActivationID: checkedIn.ID, TokenProductRef: f.product.ReferenceID,
		Caller: caller("checked.example.com")}); err != nil || fail != nil {
		t.Fatalf("check-in %+v %v", fail, err)
	}
	f.advance(90 * time.Second)
	f.rec.Heartbeat(fresh.ID, f.clock())
	f.flush()
	if got := f.releaseOverdue(); got.Released != 1 || got.Kept != 1 {
		t.Fatalf("release: %+v", got)
	}
	for state, want := range map[string]int64{StateReleased: released.ID, StateCheckedIn: checkedIn.ID, StateHeartbeatMissed: kept.ID} {
		list, total, err := ListActivations(f.ctx, f.d.Bun, ActivationFilter{State: state}, "", listing.Page{PerPage: 10})
		if err != nil || total != 1 || len(list) != 1 || list[0].ID != want {
			t.Errorf("state %s: %d %+v, %v", state, total, list, err)
		}
	}
}
