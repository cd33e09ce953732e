package apikeys

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/licensor/licensor/app/audit"
	"github.com/licensor/licensor/app/errkind"
	"github.com/licensor/licensor/app/listing"
)

// ErrNotFound is returned when no key has the given id.
var ErrNotFound = errkind.New(errkind.NotFound, "api key not found")

// SubjectAPIKey is the activity-log subject type of an API key.
const SubjectAPIKey = "api_key"

var keySorts = listing.Sorts{
	"name": "name", "type": "type", "created_at": "created_at",
	"last_used_at": "last_used_at", "expires_at": "expires_at",
}

// Key statuses a list filters by.
const (
	StatusActive  = "active"
	StatusRevoked = "revoked"
	StatusExpired = "expired"
)

// Filter narrows List. Zero fields do not filter.
type Filter struct {
	// Search matches the name or the key prefix, ignoring case.
	Search string
	Type   string
	// Status is active, revoked or expired, as of Now.
	Status string
	Now    time.Time
	// CreatedFrom is inclusive, CreatedTo exclusive.
	CreatedFrom, CreatedTo time.Time
}

// List returns one page of keys matching f, newest first unless sort says
// otherwise, and how many match.
func List(ctx context.Context, idb bun.IDB, f Filter, sort string, page listing.Page) ([]Key, int, error) {
	var out []Key
	q := idb.NewSelect().Model(&out)
	if f.Search != "" {
		p := listing.Contains(f.Search)
		q = q.Where("(name ILIKE ? OR key_hint ILIKE ?)", p, p)
	}
	if f.Type != "" {
		q = q.Where("type = ?", f.Type)
	}
	switch f.Status {
	case StatusRevoked:
		q = q.Where("revoked")
	case StatusExpired:
		q = q.Where("NOT revoked AND expires_at <= ?", f.Now)
	case StatusActive:
		q = q.Where("NOT revoked AND (expires_at IS NULL OR expires_at > ?)", f.Now)
	}
	if !f.CreatedFrom.IsZero() {
		q = q.Where("created_at >= ?", f.CreatedFrom)
	}
	if !f.CreatedTo.IsZero() {
		q = q.Where("created_at < ?", f.CreatedTo)
	}
	q = page.Apply(listing.Order(q, sort, keySorts, "created_at", "id"))
	total, err := q.ScanAndCount(ctx)
	if err != nil {
		return nil, 0, fmt.Errorf("list api keys: %w", err)
	}
	return out, int(total), nil
}

// Get returns key id.
func Get(ctx context.Context, idb bun.IDB, id int64) (*Key, error) {
	k := new(Key)
	if err := idb.NewSelect().Model(k).Where("id = ?", id).Scan(ctx); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, ErrNotFound
		}
		return nil, fmt.Errorf("get api key %d: %w", id, err)
	}
	return k, nil
}

// Revoke marks key id revoked; it stops authenticating at once on every
// node (the api_keys trigger notifies them). It is idempotent: changed is
// false when the key was already revoked, and then nothing is logged.
func Revoke(ctx context.Context, idb bun.IDB, by audit.Source, id int64, now time.Time) (k *Key, changed bool, err error) {
	k = new(Key)
	err = idb.NewUpdate().Model(k).Set("revoked = true").Set("updated_at = ?", now).
		Where("id = ?", id).Where("NOT revoked").Returning("*").Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		k, err = Get(ctx, idb, id)
		return k, false, err
	}
	if err != nil {
		return nil, false, fmt.Errorf("revoke api key %d: %w", id, err)
	}
	return k, true, audit.Record(ctx, idb, audit.Entry{
		Type: "api_key.revoked", Actor: by.Actor, IP: by.IP,
		Subject: &audit.Subject{Type: SubjectAPIKey, ID: k.ID},
		Message: fmt.Sprintf("API key %s (%s) revoked %s.", k.Name, k.Type, by.Actor.Via()),
	})
}

// Delete removes key id; it stops authenticating at once on every node.
func Delete(ctx context.Context, idb bun.IDB, by audit.Source, id int64) (*Key, error) {
	k := new(Key)
	if err := idb.NewDelete().Model(k).Where("id = ?", id).Returning("*").Scan(ctx); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, ErrNotFound
		}
		return nil, fmt.Errorf("delete api key %d: %w", id, err)
	}
	return k, audit.Record(ctx, idb, audit.Entry{
		Type: "api_key.deleted", Actor: by.Actor, IP: by.IP,
		Subject: &audit.Subject{Type: SubjectAPIKey, ID: k.ID},
		Message: fmt.Sprintf("API key %s (%s) deleted %s.", k.Name, k.Type, by.Actor.Via()),
	})
}

// ScopeGroup is the scopes of one area ("license", "products"…), in the
// order ExternalScopes / InternalScopes list them.
type ScopeGroup struct {
	Area   string
	Scopes []string
}

// GroupedScopes returns the scopes of keyType grouped by area (the part
// before the colon), or nil for an unknown type.
func GroupedScopes(keyType string) []ScopeGroup {
	var out []ScopeGroup
	index := map[string]int{}
	for _, s := range ScopesFor(keyType) {
		area, _, _ := strings.Cut(s, ":")
		i, ok := index[area]
		if !ok {
			i = len(out)
			index[area] = i
			out = append(out, ScopeGroup{Area: area})
		}
		out[i].Scopes = append(out[i].Scopes, s)
	}
	return out
}

// RecordCreated logs the creation of k in the activity log (the console
// and the CLI call it after Create, in the same transaction).
func RecordCreated(ctx context.Context, idb bun.IDB, by audit.Source, k *Key) error {
	special := ""
	if k.Special {
		special = ", special"
	}
	return audit.Record(ctx, idb, audit.Entry{
		Type: "api_key.created", Actor: by.Actor, IP: by.IP,
		Subject: &audit.Subject{Type: SubjectAPIKey, ID: k.ID},
		Message: fmt.Sprintf("API key %s (%s%s, %d scopes) created %s.", k.Name, k.Type, special, len(k.Scopes), by.Actor.Via()),
	})
}
