package customers

import (
	"context"
	"crypto/subtle"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/uptrace/bun"

	"github.com/licensor/licensor/app/audit"
	"github.com/licensor/licensor/app/fields"
	"github.com/licensor/licensor/app/passwords"
	"github.com/licensor/licensor/app/sessions"
	"github.com/licensor/licensor/app/settings"
)

// Field limits of docs/api/internal.md#customers and docs/features.md#customers.
const (
	nameMin, nameMax         = 2, 120
	clientIDMin, clientIDMax = 6, 60
	passwordMax              = 255
)

// Hooks are called inside the transaction of a change, with that
// transaction, so what they enqueue (the welcome email, the customer.created
// webhook) commits or rolls back with it. Nil hooks are skipped.
type Hooks struct {
	// Created runs after a customer is inserted by anyone but the customer
	// (admin, API, order sync). Bulk imports (app/imports) do not call it:
	// a file of thousands of accounts must not send thousands of welcome
	// emails; the import is logged once instead. hasPassword tells whether the
	// welcome email needs a set-password link.
	Created func(ctx context.Context, tx bun.IDB, c *Customer, hasPassword bool) error
	// NewDevice runs when c signs in (Authenticate) from a device and
	// network not seen in the last 90 days: it queues the new-device alert.
	NewDevice func(ctx context.Context, idb bun.IDB, set *settings.Values, c *Customer, ip, userAgent string, at time.Time) error
	// Registered runs after a customer registered themselves (Register):
	// they chose their password, so it tells the outside world
	// (customer.created) and sends no welcome email.
	Registered func(ctx context.Context, tx bun.IDB, c *Customer) error
	// ConfirmEmail queues the link that confirms c.Email (a registration
	// under email_verification_required).
	ConfirmEmail func(ctx context.Context, tx bun.IDB, set *settings.Values, c *Customer) error
	// ResetPassword queues a password reset link to c (an admin sending
	// it from the console: SendPasswordReset).
	ResetPassword func(ctx context.Context, idb bun.IDB, set *settings.Values, c *Customer) error
	// ResetRequested queues the sending of a password reset link to the
	// account of email, if there is one (a forgot-password request, a
	// registration with the email of an account): the caller does the same
	// work whether or not there is (docs/deploy.md#registration-and-forgotten-passwords).
	ResetRequested func(ctx context.Context, idb bun.IDB, email string) error
}

// Service changes customers. Reads are package functions; writes need the
// clock and the hooks.
type Service struct {
	now   func() time.Time
	hooks Hooks
}

// NewService returns a Service; now nil means time.Now.
func NewService(now func() time.Time, hooks Hooks) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{now: now, hooks: hooks}
}

// CreateParams is a new customer. ClientID empty generates a UUID;
// Password empty leaves the account without a usable password; Confirmed
// nil means confirmed (customers made by the vendor's systems need no
// confirmation, docs/api/internal.md#customers).
type CreateParams struct {
	Name     string
	Email    string
	ClientID string
	Password string
	// PasswordHash is an argon2id hash taken as it is (an import from an
	// export of this product); it excludes Password.
	PasswordHash string
	Confirmed    *bool
	// SelfRegistered is a registration's: its email is the registrant's
	// word, not proven until its confirmation link is followed. Every
	// other creator (admin, API, import, order) proves the email it sets.
	SelfRegistered bool
}

// UpdateParams changes the fields that are Set. A Set but empty Password
// keeps the current one (forms leave the field blank to mean "unchanged").
type UpdateParams struct {
	Name      fields.Optional[string]
	Email     fields.Optional[string]
	ClientID  fields.Optional[string]
	Password  fields.Optional[string]
	Confirmed fields.Optional[bool]
	// PasswordHash, Set and not empty, replaces the hash as it is (see
	// CreateParams.PasswordHash).
	PasswordHash fields.Optional[string]
	// KeepSession is the portal session (app/sessions) that stays signed
	// in when the password or email changes: the customer's own, when they
	// make the change. Every other session of the customer ends, whoever
	// makes the change (console, portal, API, import).
	KeepSession int64
	// ProveEmail marks the email proven: its confirmation link was
	// followed. A changed email, or an account an admin or the API
	// confirms, is proven too.
	ProveEmail bool
	// MoveLicenses, with a new ClientID, points the licenses naming the
	// old client ID at the new one in the same transaction, so the
	// customer keeps them (ClientIDChange counts them beforehand).
	MoveLicenses bool
}

// Create validates p, stores the customer and logs it; the Created hook
// follows (customer.created, the welcome email).
func (s *Service) Create(ctx context.Context, idb bun.IDB, by audit.Source, set *settings.Values, p CreateParams) (*Customer, error) {
	c, err := s.insert(ctx, idb, by, set, p)
	if err != nil {
		return nil, err
	}
	if s.hooks.Created != nil {
		if err := s.hooks.Created(ctx, idb, c, c.HasPassword()); err != nil {
			return nil, fmt.Errorf("customer created hook: %w", err)
		}
	}
	return c, nil
}

// insert validates p, stores the customer and logs it.
func (s *Service) insert(ctx context.Context, idb bun.IDB, by audit.Source, set *settings.Values, p CreateParams) (*Customer, error) {
	c, verr := prepare(p, set)
	if err := s.checkUnique(ctx, idb, verr, c, 0); err != nil {
		return nil, err
	}
	if err := verr.Err(); err != nil {
		return nil, err
	}
	if err := finish(c, p, s.now()); err != nil {
		return nil, err
	}
	if _, err := idb.NewInsert().Model(c).Returning("*").Exec(ctx); err != nil {
		return nil, uniqueOr(err, "create customer")
	}
	if err := s.log(ctx, idb, by, "customer.created", c, "created"); err != nil {
		return nil, err
	}
	return c, nil
}

// New checks p by the rules of Create except uniqueness (which needs the
// database) and returns the customer Create would insert: client ID
// generated when empty, password hashed, confirmed unless p says not, times
// set to now. Bulk imports build their rows with it and check uniqueness
// for a whole batch at once.
func New(p CreateParams, set *settings.Values, now time.Time) (*Customer, error) {
	c, verr := prepare(p, set)
	if err := verr.Err(); err != nil {
		return nil, err
	}
	if err := finish(c, p, now); err != nil {
		return nil, err
	}
	return c, nil
}

// Check reports what is wrong with p by the rules of Create except
// uniqueness, without hashing anything: an import's preview checks every
// row with it.
func Check(p CreateParams, set *settings.Values) error {
	_, verr := prepare(p, set)
	return verr.Err()
}

// prepare trims p into a customer and checks every rule but uniqueness.
func prepare(p CreateParams, set *settings.Values) (*Customer, *fields.Error) {
	c := &Customer{
		Name:     strings.TrimSpace(p.Name),
		Email:    strings.TrimSpace(p.Email),
		ClientID: strings.TrimSpace(p.ClientID),
	}
	verr := &fields.Error{}
	checkName(verr, c.Name, true)
	checkEmail(verr, c.Email, true)
	if c.ClientID != "" {
		checkClientID(verr, c.ClientID)
	}
	if p.Password != "" {
		checkPassword(verr, p.Password, set.PasswordMinLength, c)
	}
	if p.PasswordHash != "" {
		if p.Password != "" {
			verr.Add("password_hash", "Send either a password or a password hash, not both.")
		} else if !passwords.IsHash(p.PasswordHash) {
			verr.Add("password_hash", fields.Format("password_hash"))
		}
	}
	return c, verr
}

// finish fills what a valid new customer gets: a generated client ID when
// none, the confirmation, the password hash, the times.
func finish(c *Customer, p CreateParams, now time.Time) error {
	if c.ClientID == "" {
		c.ClientID = uuid.NewString()
	}
	if p.Confirmed == nil || *p.Confirmed {
		c.ConfirmedAt = &now
	}
	if !p.SelfRegistered {
		c.EmailProvenAt = &now
	}
	switch {
	case p.Password != "":
		h, err := passwords.Hash(p.Password)
		if err != nil {
			return err
		}
		c.PasswordHash = &h
	case p.PasswordHash != "":
		h := p.PasswordHash
		c.PasswordHash = &h
	}
	c.CreatedAt, c.UpdatedAt = now, now
	return nil
}

// Update changes the Set fields of customer id. Changing the client ID or
// the confirmation relinks licenses by itself: the linking rule reads them.
func (s *Service) Update(ctx context.Context, idb bun.IDB, by audit.Source, set *settings.Values, id int64, p UpdateParams) (*Customer, error) {
	c := new(Customer)
	if err := idb.NewSelect().Model(c).Where("c.id = ?", id).For("UPDATE").Scan(ctx); err != nil {
		return nil, notFoundOr(err, "update customer")
	}
	var verr fields.Error
	var cols []string
	oldEmail, oldClientID := c.Email, c.ClientID
	if p.Name.Set {
		c.Name = strings.TrimSpace(p.Name.Value)
		checkName(&verr, c.Name, true)
		cols = append(cols, "name")
	}
	if p.Email.Set {
		c.Email = strings.TrimSpace(p.Email.Value)
		checkEmail(&verr, c.Email, true)
		cols = append(cols, "email")
	}
	if p.ClientID.Set {
		// The client ID is never empty: clearing it would orphan the
		// licenses that name it, so an empty value is refused.
		c.ClientID = strings.TrimSpace(p.ClientID.Value)
		if c.ClientID == "" {
			verr.Add("client_id", fields.Required("client_id"))
		} else {
			checkClientID(&verr, c.ClientID)
		}
		cols = append(cols, "client_id")
	}
	if p.Password.Set && p.Password.Value != "" {
		checkPassword(&verr, p.Password.Value, set.PasswordMinLength, c)
	}
	newHash := p.PasswordHash.Set && p.PasswordHash.Value != "" && !(p.Password.Set && p.Password.Value != "")
	if newHash && !passwords.IsHash(p.PasswordHash.Value) {
		verr.Add("password_hash", fields.Format("password_hash"))
	}
	if err := s.checkUnique(ctx, idb, &verr, c, c.ID); err != nil {
		return nil, err
	}
	if err := verr.Err(); err != nil {
		return nil, err
	}
	now := s.now()
	// Signed-in sessions end when the password or the address changes (an
	// import re-sending the same values changes neither).
	endSessions := p.Email.Set && !strings.EqualFold(c.Email, oldEmail)
	if p.Password.Set && p.Password.Value != "" {
		h, err := passwords.Hash(p.Password.Value)
		if err != nil {
			return nil, err
		}
		c.PasswordHash = &h
		cols = append(cols, "password_hash")
		endSessions = true
	} else if newHash {
		if c.PasswordHash == nil || subtle.ConstantTimeCompare([]byte(*c.PasswordHash), []byte(p.PasswordHash.Value)) != 1 {
			endSessions = true
		}
		h := p.PasswordHash.Value
		c.PasswordHash = &h
		cols = append(cols, "password_hash")
	}
	if p.Confirmed.Set && p.Confirmed.Value != c.Confirmed() {
		c.ConfirmedAt = nil
		if p.Confirmed.Value {
			c.ConfirmedAt = &now
		}
		cols = append(cols, "confirmed_at")
	}
	emailChanged := p.Email.Set && !strings.EqualFold(c.Email, oldEmail)
	if !c.EmailProven() && (p.ProveEmail || emailChanged || (p.Confirmed.Set && p.Confirmed.Value)) {
		c.EmailProvenAt = &now
		cols = append(cols, "email_proven_at")
	}
	c.UpdatedAt = now
	cols = append(cols, "updated_at")
	if _, err := idb.NewUpdate().Model(c).Column(cols...).WherePK().Exec(ctx); err != nil {
		return nil, uniqueOr(err, "update customer")
	}
	if endSessions {
		if _, err := sessions.EndAll(ctx, idb, sessions.CustomerOwner(c.ID), p.KeepSession); err != nil {
			return nil, err
		}
	}
	if err := s.log(ctx, idb, by, "customer.updated", c, "updated"); err != nil {
		return nil, err
	}
	if p.MoveLicenses && p.ClientID.Set && !strings.EqualFold(oldClientID, c.ClientID) {
		n, err := moveLicenses(ctx, idb, oldClientID, c.ClientID, now)
		if err != nil {
			return nil, err
		}
		if n > 0 {
			if err := audit.Record(ctx, idb, audit.Entry{
				Type: "customer.updated", Actor: by.Actor, IP: by.IP,
				Subject: &audit.Subject{Type: audit.SubjectCustomer, ID: c.ID},
				Message: fmt.Sprintf("%d license(s) of client ID %s moved to the new client ID %s of customer %s %s.", n, oldClientID, c.ClientID, c.Email, by.Actor.Via()),
			}); err != nil {
				return nil, err
			}
		}
	}
	return c, nil
}

// Delete removes customer id with its activity (cascade) and keeps every
// license: they stay linkable by customer_id or email to a later account.
func (s *Service) Delete(ctx context.Context, idb bun.IDB, by audit.Source, id int64) error {
	c := new(Customer)
	if err := idb.NewDelete().Model(c).Where("id = ?", id).Returning("*").Scan(ctx); err != nil {
		return notFoundOr(err, "delete customer")
	}
	return s.log(ctx, idb, by, "customer.deleted", c, "deleted")
}

func (s *Service) log(ctx context.Context, idb bun.IDB, by audit.Source, typ string, c *Customer, verb string) error {
	return audit.Record(ctx, idb, audit.Entry{
		Type:    typ,
		Actor:   by.Actor,
		IP:      by.IP,
		Subject: &audit.Subject{Type: audit.SubjectCustomer, ID: c.ID},
		Message: fmt.Sprintf("Customer %s %s %s.", c.Email, verb, by.Actor.Via()),
	})
}

// checkUnique adds "already taken" for an email or client ID another
// customer (not self) has, ignoring case. The unique indexes remain the
// guard against a concurrent insert (uniqueOr).
func (s *Service) checkUnique(ctx context.Context, idb bun.IDB, verr *fields.Error, c *Customer, self int64) error {
	taken := func(col, val string) (bool, error) {
		return idb.NewSelect().Model((*Customer)(nil)).Where("? = ? AND c.id <> ?", bun.Ident("c."+col), val, self).Exists(ctx)
	}
	for _, f := range []struct{ col, val string }{{"email", c.Email}, {"client_id", c.ClientID}} {
		if f.val == "" || verr.Has(f.col) {
			continue
		}
		ok, err := taken(f.col, f.val)
		if err != nil {
			return fmt.Errorf("check customer %s: %w", f.col, err)
		}
		if ok {
			verr.Add(f.col, fields.Taken(f.col))
		}
	}
	return nil
}

func checkName(verr *fields.Error, name string, required bool) {
	if name == "" {
		if required {
			verr.Add("name", fields.Required("name"))
		}
		return
	}
	verr.CheckLen("name", name, nameMin, nameMax)
}

func checkEmail(verr *fields.Error, email string, required bool) {
	switch {
	case email == "":
		if required {
			verr.Add("email", fields.Required("email"))
		}
	case fields.Length(email) > fields.MaxEmailLen:
		verr.Add("email", fields.MaxLen("email", fields.MaxEmailLen))
	case !fields.IsEmail(email):
		verr.Add("email", fields.Email("email"))
	}
}

func checkClientID(verr *fields.Error, id string) {
	if strings.IndexFunc(id, unicode.IsSpace) >= 0 {
		verr.Add("client_id", fields.Format("client_id"))
		return
	}
	verr.CheckLen("client_id", id, clientIDMin, clientIDMax)
}

// checkPassword applies the password rules (docs/features.md#security): the length
// from password_min_length, then passwords.Weakness (common passwords,
// trivial patterns, the account's own email or name).
func checkPassword(verr *fields.Error, pw string, min int, c *Customer) {
	verr.CheckLen("password", pw, min, passwordMax)
	if !verr.Has("password") {
		if msg := passwords.Weakness(pw, c.Email, c.Name); msg != "" {
			verr.Add("password", msg)
		}
	}
}

// uniqueOr turns a unique violation that slipped past checkUnique (two
// requests at once) into the same validation error.
func uniqueOr(err error, what string) error {
	var pg *pgconn.PgError
	if errors.As(err, &pg) && pg.Code == "23505" {
		switch {
		case strings.Contains(pg.ConstraintName, "email"):
			return fields.New("email", fields.Taken("email"))
		case strings.Contains(pg.ConstraintName, "client_id"):
			return fields.New("client_id", fields.Taken("client_id"))
		}
	}
	return fmt.Errorf("%s: %w", what, err)
}

func notFoundOr(err error, what string) error {
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	}
	return fmt.Errorf("%s: %w", what, err)
}
