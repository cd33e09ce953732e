package licensing

import (
	"testing"

	"github.com/licensor/licensor/app/catalog"
	"github.com/licensor/licensor/app/fields"
)

// A product's default_floating is a new license's floating flag
// (docs/licensing.md#floating-licenses), as its other license defaults
// are: taken on create (CreateLicense, and NewLicense for imports) unless
// floating is sent, and copied, so a later change of the product leaves
// its licenses as they are.
func TestProductDefaultFloating(t *testing.T) {
	t.Parallel()
	f := newLicFixture(t)
	setDefault := func(on bool) {
		t.Helper()
		p, err := catalog.NewService(f.clock).UpdateProduct(f.ctx, f.d.Bun, testAdmin, f.product.ID, catalog.ProductInput{DefaultFloating: fields.Some(on)})
		if err != nil || p.DefaultFloating != on {
			t.Fatalf("product %+v, %v", p, err)
		}
		f.product = p
	}
	if f.product.DefaultFloating {
		t.Fatal("a new product's licenses are floating")
	}
	setDefault(true)
	inherited := f.license("FD-1", LicenseInput{})
	overridden := f.license("FD-2", LicenseInput{Floating: fields.Some(false)})
	if !inherited.Floating || overridden.Floating {
		t.Fatalf("floating: inherited %v, overridden %v", inherited.Floating, overridden.Floating)
	}
	imported, err := f.s.NewLicense(f.product, LicenseInput{ProductReferenceID: fields.Some("ACME")}, f.set)
	if err != nil || !imported.Floating {
		t.Fatalf("NewLicense %+v, %v", imported, err)
	}
	// The floating license's seats follow heartbeats (600 s without an
	// interval).
	if p := f.reload(inherited.ID).Heartbeat(); p.Interval != FloatingIntervalDefault || p.Missed != catalog.HeartbeatRelease {
		t.Fatalf("policy %+v", p)
	}
	setDefault(false)
	if !f.reload(inherited.ID).Floating {
		t.Fatal("the product's change reached an existing license")
	}
	if f.license("FD-3", LicenseInput{}).Floating {
		t.Fatal("the default switched off still made a floating license")
	}
}
