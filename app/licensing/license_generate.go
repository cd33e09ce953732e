package licensing

import (
	"context"
	"errors"
	"fmt"

	"github.com/uptrace/bun"

	"github.com/licensor/licensor/app/audit"
	"github.com/licensor/licensor/app/fields"
	"github.com/licensor/licensor/app/settings"
)

// ErrCodesExhausted is returned when generated codes keep colliding with
// existing ones: the configured format has (almost) no free codes left.
var ErrCodesExhausted = errors.New("no free license code in the configured format; widen license_code_custom_format")

// Bounds of a bulk generation (docs/features.md#licenses: 2 to 500 codes at once).
const (
	GenerateMin = 2
	GenerateMax = 500
)

// GenerateLicenses creates count licenses of one product from the same
// input, each with a code generated in the configured format, in one
// transaction: all are created or none. in.LicenseCode must be empty;
// count must be within GenerateMin..GenerateMax (a "count" field error
// otherwise). Each license is logged and reported to the hooks as
// CreateLicense does.
func (s *Service) GenerateLicenses(ctx context.Context, idb bun.IDB, by audit.Source, set *settings.Values, in LicenseInput, count int) ([]*License, error) {
	if count < GenerateMin || count > GenerateMax {
		msg := fields.Min("count", GenerateMin)
		if count > GenerateMax {
			msg = fields.Max("count", GenerateMax)
		}
		return nil, fields.New("count", msg)
	}
	in.LicenseCode = fields.Optional[string]{}
	out := make([]*License, 0, count)
	err := idb.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		for range count {
			l, err := s.CreateLicense(ctx, tx, by, set, in)
			if errors.Is(err, ErrCodesExhausted) {
				return fields.New("count", fmt.Sprintf("Only %d free codes could be generated in the configured format. Generate fewer or widen the license code format.", len(out)))
			}
			if err != nil {
				return err
			}
			out = append(out, l)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	// Thousands of new rows at once: refresh the planner's statistics,
	// which autovacuum may never do (best effort; the licenses exist).
	_, _ = idb.ExecContext(ctx, "ANALYZE licenses")
	return out, nil
}
