package customers

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/uptrace/bun"
)

// ClientIDImpact is what changing a customer's client ID does to which
// licenses are theirs (the linking rule): the licenses naming the old ID
// stop being the customer's, those naming the new ID become theirs.
// Licenses linked by email are not affected.
type ClientIDImpact struct {
	OldID, NewID string
	// Unlinked licenses name the old client ID; MoveLicenses in
	// UpdateParams moves them to the new one instead.
	Unlinked int
	// Relinked licenses name the new client ID (no other customer has it).
	Relinked int
}

// Changes reports whether the new client ID differs from the old one
// (client IDs compare ignoring case, as the linking rule does).
func (i ClientIDImpact) Changes() bool {
	return i.NewID != "" && !strings.EqualFold(i.OldID, i.NewID)
}

// ClientIDChange counts what setting c's client ID to newID would do,
// before it is saved.
func ClientIDChange(ctx context.Context, idb bun.IDB, c *Customer, newID string) (ClientIDImpact, error) {
	im := ClientIDImpact{OldID: c.ClientID, NewID: strings.TrimSpace(newID)}
	if !im.Changes() {
		return im, nil
	}
	err := idb.NewRaw(`SELECT count(*) FILTER (WHERE customer_id = ?) AS unlinked, count(*) FILTER (WHERE customer_id = ?) AS relinked
		FROM licenses WHERE customer_id IN (?, ?)`, im.OldID, im.NewID, im.OldID, im.NewID).Scan(ctx, &im.Unlinked, &im.Relinked)
	if err != nil {
		return im, fmt.Errorf("count licenses of client IDs: %w", err)
	}
	return im, nil
}

// moveLicenses points the licenses naming oldID at newID (the console's
// "move them to the new client ID"), in the caller's transaction.
func moveLicenses(ctx context.Context, idb bun.IDB, oldID, newID string, now time.Time) (int, error) {
	res, err := idb.NewRaw(`UPDATE licenses SET customer_id = ?, updated_at = ? WHERE customer_id = ?`, newID, now, oldID).Exec(ctx)
	if err != nil {
		return 0, fmt.Errorf("move licenses to the new client ID: %w", err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}
