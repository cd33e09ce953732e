// Package audit writes and reads the activity log (every admin action and
// auditable API event, docs/features.md#logs-and-retention) and the customer activity stream
// (docs/features.md#customers). Writers take the caller's bun.IDB so an entry commits or
// rolls back with the change it describes.
package audit

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"
)

// Actor types, as the activity_log CHECK constraint allows them.
const (
	ActorAdmin    = "admin"
	ActorAPIKey   = "api_key"
	ActorCustomer = "customer"
	ActorSystem   = "system"
)

// Actor is who did something.
type Actor struct {
	Type string
	ID   *int64
	Name string
}

// System is the actor of scheduled jobs and start-up tasks.
var System = Actor{Type: ActorSystem, Name: "system"}

// Via says through which door an actor came, for log messages such as
// "License X created via API.".
func (a Actor) Via() string {
	switch a.Type {
	case ActorAPIKey:
		return "via API"
	case ActorAdmin:
		return "via console"
	case ActorCustomer:
		return "via portal"
	default:
		return "by the system"
	}
}

// Source is who asked for a change and from which IP. Every domain write
// takes one so that it can log itself.
type Source struct {
	Actor Actor
	IP    string
}

// Subject is the object an entry is about, so the console can link to it.
type Subject struct {
	Type string
	ID   int64
}

// Subject types.
const (
	SubjectLicense    = "license"
	SubjectActivation = "activation"
	SubjectProduct    = "product"
	SubjectVersion    = "version"
	SubjectCustomer   = "customer"
	SubjectSettings   = "settings"
	SubjectAdmin      = "admin"
)

// Entry is one activity-log line.
type Entry struct {
	Type    string
	Actor   Actor
	IP      string
	Subject *Subject
	Message string
	Data    map[string]any
	// At defaults to the database's now().
	At time.Time
}

// Activity is a stored activity-log entry.
type Activity struct {
	bun.BaseModel `bun:"table:activity_log,alias:al"`

	ID          int64          `bun:"id,pk,autoincrement"`
	Type        string         `bun:"type"`
	ActorType   string         `bun:"actor_type"`
	ActorID     *int64         `bun:"actor_id"`
	ActorName   string         `bun:"actor_name"`
	IP          *string        `bun:"ip"`
	SubjectType *string        `bun:"subject_type"`
	SubjectID   *int64         `bun:"subject_id"`
	Message     string         `bun:"message"`
	Data        map[string]any `bun:"data,type:jsonb"`
	CreatedAt   time.Time      `bun:"created_at,nullzero,notnull,default:current_timestamp"`
}

// Record writes e in idb.
func Record(ctx context.Context, idb bun.IDB, e Entry) error {
	if _, err := Insert(idb, e).Exec(ctx); err != nil {
		return fmt.Errorf("record activity %s: %w", e.Type, err)
	}
	return nil
}

// Insert returns the INSERT that records e, for a caller that joins it
// with other writes in one statement (a hot path saving round trips);
// Record is the usual way.
func Insert(idb bun.IDB, e Entry) *bun.InsertQuery {
	return idb.NewInsert().Model(NewActivity(e))
}

// NewActivity is the activity_log row that records e (created_at is left
// to the database when e.At is zero).
func NewActivity(e Entry) *Activity {
	actor := e.Actor
	if actor.Type == "" {
		actor = System
	}
	r := &Activity{
		Type:      e.Type,
		ActorType: actor.Type,
		ActorID:   actor.ID,
		ActorName: actor.Name,
		IP:        nullable(e.IP),
		Message:   e.Message,
		Data:      e.Data,
		CreatedAt: e.At,
	}
	if e.Subject != nil {
		r.SubjectType, r.SubjectID = &e.Subject.Type, &e.Subject.ID
	}
	return r
}

func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
