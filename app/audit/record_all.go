package audit

import (
	"context"
	"fmt"

	"github.com/uptrace/bun"
)

// RecordAll writes entries in idb in one statement, for jobs that log many
// lines at once (the expiry scan).
func RecordAll(ctx context.Context, idb bun.IDB, entries []Entry) error {
	if len(entries) == 0 {
		return nil
	}
	rows := make([]Activity, len(entries))
	for i, e := range entries {
		actor := e.Actor
		if actor.Type == "" {
			actor = System
		}
		rows[i] = Activity{
			Type: e.Type, ActorType: actor.Type, ActorID: actor.ID, ActorName: actor.Name,
			IP: nullable(e.IP), Message: e.Message, Data: e.Data, CreatedAt: e.At,
		}
		if e.Subject != nil {
			rows[i].SubjectType, rows[i].SubjectID = &e.Subject.Type, &e.Subject.ID
		}
	}
	if _, err := idb.NewInsert().Model(&rows).Exec(ctx); err != nil {
		return fmt.Errorf("record %d activities: %w", len(rows), err)
	}
	return nil
}
