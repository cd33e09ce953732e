// Package sessions owns the signed-in sessions of admins and customers
// (table sessions). The browser's session (cookie and data, app/web) holds
// a row's id; the row is what makes it signed in. Deleting a row signs that
// browser out on every node at its next request; lifetimes are checked on
// every request against the database clock, with the durations the caller
// reads from the settings, so every node honours the same ones.
package sessions

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/licensor/licensor/app/settings"
)

// Kind says whose a session is.
type Kind int

// The kinds of account that sign in.
const (
	Admin Kind = iota + 1
	Customer
)

func (k Kind) column() string {
	if k == Customer {
		return "customer_id"
	}
	return "admin_id"
}

// Owner is the account a session belongs to.
type Owner struct {
	Kind Kind
	ID   int64
}

// AdminOwner and CustomerOwner name an account.
func AdminOwner(id int64) Owner    { return Owner{Admin, id} }
func CustomerOwner(id int64) Owner { return Owner{Customer, id} }

// Session is one signed-in browser.
type Session struct {
	bun.BaseModel `bun:"table:sessions,alias:s"`

	ID         int64     `bun:"id,pk,autoincrement"`
	AdminID    *int64    `bun:"admin_id"`
	CustomerID *int64    `bun:"customer_id"`
	Remember   bool      `bun:"remember"`
	IP         string    `bun:"ip"`
	UserAgent  string    `bun:"user_agent"`
	CreatedAt  time.Time `bun:"created_at,nullzero,notnull,default:current_timestamp"`
	LastSeenAt time.Time `bun:"last_seen_at,nullzero,notnull,default:current_timestamp"`
}

// Lifetimes bound a session: it ends Idle after its last request
// (RememberIdle for a session started with "remember me", Idle when that
// is zero), and Absolute after it started however active it is. Zero
// means no bound.
type Lifetimes struct {
	Idle, RememberIdle, Absolute time.Duration
}

func (lt Lifetimes) rememberIdle() time.Duration {
	if lt.RememberIdle == 0 {
		return lt.Idle
	}
	return lt.RememberIdle
}

// alive is the condition of a live session under lt, for a query whose
// sessions table is aliased as alias.
func (lt Lifetimes) alive(alias string) (string, []any) {
	return `(CASE WHEN ` + alias + `.remember THEN ?::bigint ELSE ?::bigint END = 0
			OR ` + alias + `.last_seen_at > now() - make_interval(secs => CASE WHEN ` + alias + `.remember THEN ?::bigint ELSE ?::bigint END))
		AND (?::bigint = 0 OR ` + alias + `.created_at > now() - make_interval(secs => ?::bigint))`,
		[]any{seconds(lt.rememberIdle()), seconds(lt.Idle), seconds(lt.rememberIdle()), seconds(lt.Idle), seconds(lt.Absolute), seconds(lt.Absolute)}
}

// ErrEnded is returned for a session that was ended, expired or belongs
// to another account.
var ErrEnded = errors.New("session ended")

const maxUserAgentLength = 512

// touchEvery: last_seen_at is written at most this often per session (or
// when the IP changes), so browsing is not a write per request.
const touchEvery = time.Minute

// Start records a new session of owner from ip with userAgent.
func Start(ctx context.Context, idb bun.IDB, owner Owner, ip, userAgent string, remember bool) (*Session, error) {
	s := &Session{IP: ip, UserAgent: clip(userAgent), Remember: remember}
	id := owner.ID
	if owner.Kind == Customer {
		s.CustomerID = &id
	} else {
		s.AdminID = &id
	}
	if _, err := idb.NewInsert().Model(s).Returning("*").Exec(ctx); err != nil {
		return nil, fmt.Errorf("start session: %w", err)
	}
	return s, nil
}

// Touch returns session id of owner when it is alive under lt, and marks
// it seen from ip with userAgent. A session that is gone, expired or
// someone else's is ErrEnded (an expired row is deleted).
func Touch(ctx context.Context, idb bun.IDB, owner Owner, id int64, lt Lifetimes, ip, userAgent string) (*Session, error) {
	userAgent = clip(userAgent)
	s := new(Session)
	// One round trip: read the row if alive, and write last_seen_at only
	// when it is a minute old or the address changed.
	cond, condArgs := lt.alive("s")
	args := append([]any{id, bun.Ident(owner.Kind.column()), owner.ID}, condArgs...)
	args = append(args, ip, userAgent, int64(touchEvery/time.Second), ip, userAgent)
	err := idb.NewRaw(`WITH live AS (
			SELECT s.* FROM sessions s
			WHERE s.id = ? AND s.? = ? AND `+cond+`
		), seen AS (
			UPDATE sessions SET last_seen_at = now(), ip = ?, user_agent = ?
			FROM live WHERE sessions.id = live.id
			  AND (live.last_seen_at < now() - make_interval(secs => ?::bigint) OR live.ip <> ? OR live.user_agent <> ?)
			RETURNING sessions.*
		)
		SELECT * FROM seen UNION ALL SELECT * FROM live WHERE NOT EXISTS (SELECT 1 FROM seen)`,
		args...).Scan(ctx, s)
	if errors.Is(err, sql.ErrNoRows) {
		// Expired or gone: make sure no row lingers to be listed.
		if _, err := idb.NewDelete().Model((*Session)(nil)).Where("id = ?", id).Where("? = ?", bun.Ident(owner.Kind.column()), owner.ID).Exec(ctx); err != nil {
			return nil, fmt.Errorf("end expired session: %w", err)
		}
		return nil, ErrEnded
	}
	if err != nil {
		return nil, fmt.Errorf("check session %d: %w", id, err)
	}
	return s, nil
}

// List returns owner's live sessions under lt, the most recently seen
// first.
func List(ctx context.Context, idb bun.IDB, owner Owner, lt Lifetimes) ([]Session, error) {
	var out []Session
	cond, args := lt.alive("s")
	q := idb.NewSelect().Model(&out).Where("? = ?", bun.Ident("s."+owner.Kind.column()), owner.ID).Where(cond, args...)
	if err := q.OrderExpr("s.last_seen_at DESC, s.id DESC").Limit(200).Scan(ctx); err != nil {
		return nil, fmt.Errorf("list sessions: %w", err)
	}
	return out, nil
}

// End ends owner's session id; ErrEnded when owner has no such session.
func End(ctx context.Context, idb bun.IDB, owner Owner, id int64) error {
	res, err := idb.NewDelete().Model((*Session)(nil)).Where("id = ?", id).Where("? = ?", bun.Ident(owner.Kind.column()), owner.ID).Exec(ctx)
	if err != nil {
		return fmt.Errorf("end session %d: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrEnded
	}
	return nil
}

// EndAll ends every session of owner but keep (0: all of them) and
// returns how many it ended. A password or email change, a disabled
// account and "sign out other sessions" all come here.
func EndAll(ctx context.Context, idb bun.IDB, owner Owner, keep int64) (int64, error) {
	res, err := idb.NewDelete().Model((*Session)(nil)).
		Where("? = ?", bun.Ident(owner.Kind.column()), owner.ID).
		Where("id <> ?", keep).Exec(ctx)
	if err != nil {
		return 0, fmt.Errorf("end sessions: %w", err)
	}
	return res.RowsAffected()
}

// Prune deletes the sessions of kind that expired under lt (a session's
// own request would delete it too; this clears the ones never seen again).
func Prune(ctx context.Context, idb bun.IDB, kind Kind, lt Lifetimes) (int64, error) {
	cond, args := lt.alive("s")
	res, err := idb.NewDelete().Model((*Session)(nil)).Where("? IS NOT NULL", bun.Ident("s."+kind.column())).
		Where("NOT ("+cond+")", args...).Exec(ctx)
	if err != nil {
		return 0, fmt.Errorf("prune sessions: %w", err)
	}
	return res.RowsAffected()
}

func seconds(d time.Duration) int64 { return int64(d / time.Second) }

func clip(ua string) string {
	if len(ua) > maxUserAgentLength {
		return ua[:maxUserAgentLength]
	}
	return ua
}

// Minutes builds Lifetimes from settings given in minutes.
func Minutes(idle, rememberIdle, absolute int) Lifetimes {
	return Lifetimes{
		Idle:         time.Duration(idle) * time.Minute,
		RememberIdle: time.Duration(rememberIdle) * time.Minute,
		Absolute:     time.Duration(absolute) * time.Minute,
	}
}

// NotRememberedIdle bounds, in minutes, the idle lifetime of a portal
// session whose customer did not ask to be remembered
// (customer_session_lifetime bounds both kinds).
const NotRememberedIdle = 120

// ForAdmins are the console's lifetimes: admin_session_lifetime idle,
// admin_session_absolute_lifetime.
func ForAdmins(set *settings.Values) Lifetimes {
	return Minutes(set.AdminSessionLifetime, 0, set.AdminSessionAbsolute)
}

// ForCustomers are the portal's lifetimes: customer_session_lifetime idle
// (at most NotRememberedIdle minutes for a session not remembered),
// customer_session_absolute_lifetime.
func ForCustomers(set *settings.Values) Lifetimes {
	return Minutes(min(NotRememberedIdle, set.CustomerSessionLifetime), set.CustomerSessionLifetime, set.CustomerSessionAbsolute)
}

// PruneExpired deletes every admin and customer session expired under the
// settings' lifetimes (the periodic clean-up).
func PruneExpired(ctx context.Context, idb bun.IDB, set *settings.Values) (int64, error) {
	a, err := Prune(ctx, idb, Admin, ForAdmins(set))
	if err != nil {
		return 0, err
	}
	c, err := Prune(ctx, idb, Customer, ForCustomers(set))
	return a + c, err
}
