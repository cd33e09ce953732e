package licensing

import (
	"context"
	"errors"
	"fmt"

	"github.com/uptrace/bun"

	"github.com/licensor/licensor/app/audit"
	"github.com/licensor/licensor/app/catalog"
	"github.com/licensor/licensor/app/settings"
)

// Marketplace is step 4 of docs/api/external.md#activate: a code with no
// local license, sent with a verify_type an enabled order-sync plugin
// serves, is checked with that plugin's marketplace and, accepted, becomes
// a local license. The node's is *orders.Marketplace: order sync sits
// above the licensing core, which knows it only by this interface.
type Marketplace interface {
	// Serving returns the enabled plugin serving verifyType and its
	// marketplace's display name ("Gumroad"); ok false: none does.
	Serving(verifyType string) (plugin, marketplace string, ok bool)
	// Claim asks plugin whether code was sold as product and, accepted,
	// creates code's local license (unless one exists by now). An error
	// is unexpected; what the marketplace said, or why it could not be
	// asked, is the verdict.
	Claim(ctx context.Context, idb bun.IDB, set *settings.Values, c MarketplaceClaim) (MarketplaceVerdict, error)
}

// MarketplaceClaim is a code a marketplace is asked about.
type MarketplaceClaim struct {
	Plugin      string
	Product     *catalog.Product
	LicenseCode string
	ClientName  string
	// By is who creates the license when the code is accepted.
	By audit.Source
}

// MarketplaceOutcome is what a marketplace said of a code.
type MarketplaceOutcome int

const (
	// MarketplaceAccepted: sold as the product; its license now exists.
	MarketplaceAccepted MarketplaceOutcome = iota + 1
	// MarketplaceRefused: not sold as the product (refunded, unknown), or
	// the sale cannot be a license here.
	MarketplaceRefused
	// MarketplaceNotMapped: the product has no marketplace id in the plugin.
	MarketplaceNotMapped
	// MarketplaceUnavailable: the plugin could not answer (down, timed out).
	MarketplaceUnavailable
)

// MarketplaceVerdict is a marketplace's answer; Cause says, for the log,
// why a code was refused or the plugin could not answer.
type MarketplaceVerdict struct {
	Outcome MarketplaceOutcome
	Cause   error
}

// MarketplaceFailure is the failure answering outcome (nil when accepted);
// refused is the endpoint's own (activate: its invalid code; the license
// check: FailCheckInvalid), answered as Refused.
func MarketplaceFailure(outcome MarketplaceOutcome, marketplace string, refused Failure) *Failure {
	switch outcome {
	case MarketplaceAccepted:
		return nil
	case MarketplaceUnavailable:
		return failed(FailMarketplaceUnavailable)
	case MarketplaceNotMapped:
		return failed(FailMarketplaceNotConfigured(marketplace))
	}
	refused.Kind = Refused
	return &refused
}

// fromMarketplace is step 4: it returns the result to answer with (a
// failure), or nil to go on at step 5 (no plugin serves the verify_type, a
// local license exists, or the marketplace accepted the code and made one).
func fromMarketplace(ctx context.Context, idb bun.IDB, set *settings.Values, product *catalog.Product, req ActivateRequest) (*ActivateResult, error) {
	if req.Marketplace == nil {
		return nil, nil
	}
	plugin, marketplace, ok := req.Marketplace.Serving(req.VerifyType)
	if !ok {
		return nil, nil
	}
	if _, err := ByCode(ctx, idb, req.LicenseCode); !errors.Is(err, ErrNotFound) {
		return nil, err
	}
	v, err := req.Marketplace.Claim(ctx, idb, set, MarketplaceClaim{
		Plugin: plugin, Product: product, LicenseCode: req.LicenseCode, ClientName: req.ClientName,
		By: audit.Source{Actor: req.Caller.Key, IP: req.Caller.IP},
	})
	if err != nil {
		return nil, fmt.Errorf("marketplace %s: %w", plugin, err)
	}
	if f := MarketplaceFailure(v.Outcome, marketplace, FailActivateInvalid); f != nil {
		return &ActivateResult{Failure: f, Cause: v.Cause}, nil
	}
	return nil, nil
}
