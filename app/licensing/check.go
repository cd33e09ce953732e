package licensing

import (
	"context"
	"errors"
	"time"

	"github.com/uptrace/bun"

	"github.com/licensor/licensor/app/catalog"
)

// CheckResult is the local part of the license check (docs/api/external.md#license-check).
type CheckResult struct {
	// License is the local license with its product's reference id and
	// name and its active activations; nil when there is none (the handler
	// then asks an order-sync plugin, or answers FailCheckInvalid).
	License *License
	// Failure is FailBlocked or FailExpired for a license that exists but
	// is not usable; the answer still carries the license's data.
	Failure *Failure
}

// Check looks up a license code, within product when one was sent, and
// tells whether it is usable at now. It writes nothing.
func Check(ctx context.Context, idb bun.IDB, code string, product *catalog.Product, now time.Time) (*CheckResult, error) {
	l, err := ByCode(ctx, idb, code)
	if errors.Is(err, ErrNotFound) || (err == nil && product != nil && l.ProductID != product.ID) {
		return &CheckResult{}, nil
	}
	if err != nil {
		return nil, err
	}
	res := &CheckResult{License: l}
	switch l.Status(now) {
	case StatusBlocked:
		res.Failure = failed(FailBlocked)
	case StatusExpired:
		res.Failure = failed(FailExpired)
	}
	return res, nil
}
