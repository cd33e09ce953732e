package imports

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/licensor/licensor/app/audit"
	"github.com/licensor/licensor/app/catalog"
	"github.com/licensor/licensor/app/customers"
	"github.com/licensor/licensor/app/fields"
	"github.com/licensor/licensor/app/licensing"
	"github.com/licensor/licensor/app/settings"
)

// Problem is why one row is bad.
type Problem struct {
	Line    int    `json:"line"`
	Field   string `json:"field,omitempty"`
	Message string `json:"message"`
}

// row is one record on its way through the pipeline.
type row struct {
	Record
	problems []Problem
	// existing is the id of the stored record the row duplicates; 0 when
	// the row is new.
	existing int64

	customer customers.CreateParams
	license  licensing.LicenseInput
	product  *catalog.Product
	built    *licensing.License
}

func (r *row) bad() bool { return len(r.problems) > 0 }

func (r *row) fail(field, message string) {
	r.problems = append(r.problems, Problem{Line: r.Line, Field: field, Message: message})
}

// failErr records err: a validation error field by field, else its text.
func (r *row) failErr(err error) error {
	if fe, ok := fields.As(err); ok {
		for _, f := range fe.Fields() {
			r.fail(f.Field, f.Message)
		}
		return nil
	}
	return err
}

// get is a field's value, trimmed; empty is absent.
func (r *row) get(name string) string { return strings.TrimSpace(r.Fields[name]) }

// rules are what differs between the kinds: reading and checking a batch
// of rows, and writing the good ones.
type rules interface {
	// check parses rows and checks them against the rules, the rows before
	// them in the file (seen: key → line) and the stored records.
	check(ctx context.Context, idb bun.IDB, rows []*row, seen map[string]int) error
	// apply writes the good rows of a batch inside tx.
	apply(ctx context.Context, tx bun.IDB, rows []*row, update bool) (inserted, updated, skipped int, err error)
}

// duplicateInFile marks r bad when key was on an earlier line.
func duplicateInFile(r *row, seen map[string]int, field, value string) {
	if value == "" {
		return
	}
	key := field + "\x00" + strings.ToLower(value)
	if line, ok := seen[key]; ok && line != r.Line {
		r.fail(field, fmt.Sprintf("The %s %s is also on line %d.", fields.Label(field), value, line))
		return
	}
	seen[key] = r.Line
}

func parseBool(r *row, name string) *bool {
	v := r.get(name)
	if v == "" {
		return nil
	}
	var b bool
	switch strings.ToLower(v) {
	case "1", "true", "yes", "y", "on":
		b = true
	case "0", "false", "no", "n", "off":
	default:
		r.fail(name, fields.Boolean(name))
		return nil
	}
	return &b
}

// customerRules import customers: duplicates are matched by email or
// client ID, ignoring case.
type customerRules struct {
	set *settings.Values
	svc *customers.Service
	by  audit.Source
	now time.Time
}

func (c *customerRules) check(ctx context.Context, idb bun.IDB, rows []*row, seen map[string]int) error {
	var emails, ids []string
	for _, r := range rows {
		if r.Err != nil {
			r.fail("", capitalize(r.Err.Error())+".")
			continue
		}
		r.customer = customers.CreateParams{
			Name: r.get("name"), Email: r.get("email"), ClientID: r.get("client_id"),
			Password: r.Fields["password"], PasswordHash: r.get("password_hash"),
			Confirmed: parseBool(r, "confirmed"),
		}
		if err := r.failErr(customers.Check(r.customer, c.set)); err != nil {
			return err
		}
		duplicateInFile(r, seen, "email", r.customer.Email)
		duplicateInFile(r, seen, "client_id", r.customer.ClientID)
		if !r.bad() {
			emails = append(emails, r.customer.Email)
			if r.customer.ClientID != "" {
				ids = append(ids, r.customer.ClientID)
			}
		}
	}
	stored, err := customers.Matching(ctx, idb, emails, ids)
	if err != nil {
		return err
	}
	byEmail := make(map[string]int64, len(stored))
	byID := make(map[string]int64, len(stored))
	for _, s := range stored {
		byEmail[strings.ToLower(s.Email)] = s.ID
		byID[strings.ToLower(s.ClientID)] = s.ID
	}
	for _, r := range rows {
		if r.bad() {
			continue
		}
		e := byEmail[strings.ToLower(r.customer.Email)]
		i := byID[strings.ToLower(r.customer.ClientID)]
		switch {
		case e != 0 && i != 0 && e != i:
			r.fail("client_id", fields.Taken("client_id"))
		case e != 0:
			r.existing = e
		default:
			r.existing = i
		}
	}
	return nil
}

func (c *customerRules) apply(ctx context.Context, tx bun.IDB, rows []*row, update bool) (ins, upd, skip int, err error) {
	var fresh []*customers.Customer
	for _, r := range rows {
		switch {
		case r.bad():
			skip++
		case r.existing == 0:
			cu, err := customers.New(r.customer, c.set, c.now)
			if err != nil {
				return 0, 0, 0, fmt.Errorf("line %d: %w", r.Line, err)
			}
			fresh = append(fresh, cu)
		case !update:
			skip++
		default:
			p := customers.UpdateParams{Name: fields.Some(r.customer.Name), Email: fields.Some(r.customer.Email)}
			if r.customer.ClientID != "" {
				p.ClientID = fields.Some(r.customer.ClientID)
			}
			if r.customer.Password != "" {
				p.Password = fields.Some(r.customer.Password)
			}
			if r.customer.PasswordHash != "" {
				p.PasswordHash = fields.Some(r.customer.PasswordHash)
			}
			if r.customer.Confirmed != nil {
				p.Confirmed = fields.Some(*r.customer.Confirmed)
			}
			if _, err := c.svc.Update(ctx, tx, c.by, c.set, r.existing, p); err != nil {
				return 0, 0, 0, fmt.Errorf("line %d: %w", r.Line, err)
			}
			upd++
		}
	}
	n, err := customers.InsertMany(ctx, tx, fresh)
	if err != nil {
		return 0, 0, 0, err
	}
	// A row whose email was taken between the check and the insert (by
	// another writer) is left out: count it as skipped.
	return n, upd, skip + len(fresh) - n, nil
}

// licenseRules import licenses: duplicates are matched by license code,
// ignoring case; products by reference id.
type licenseRules struct {
	set      *settings.Values
	svc      *licensing.Service
	by       audit.Source
	products map[string]*catalog.Product
}

func (l *licenseRules) product(ctx context.Context, idb bun.IDB, ref string) (*catalog.Product, error) {
	key := strings.ToLower(ref)
	if p, ok := l.products[key]; ok {
		return p, nil
	}
	p, err := catalog.ByRef(ctx, idb, ref)
	// An unknown reference is cached as nil: NewLicense refuses each row
	// naming it, without another query per row.
	if err != nil && !errors.Is(err, catalog.ErrNotFound) {
		return nil, err
	}
	l.products[key] = p
	return p, nil
}

func (l *licenseRules) parse(ctx context.Context, idb bun.IDB, r *row) error {
	in := licensing.LicenseInput{}
	text := func(name string) fields.Optional[*string] {
		if v := r.get(name); v != "" {
			return fields.Some(&v)
		}
		return fields.Optional[*string]{}
	}
	number := func(name string) fields.Optional[*int] {
		v := r.get(name)
		if v == "" {
			return fields.Optional[*int]{}
		}
		n, err := strconv.Atoi(v)
		if err != nil {
			r.fail(name, fields.Integer(name))
			return fields.Optional[*int]{}
		}
		return fields.Some(&n)
	}
	date := func(name string) fields.Optional[*time.Time] {
		v := r.get(name)
		if v == "" {
			return fields.Optional[*time.Time]{}
		}
		t, ok := parseDate(v, l.set.Location())
		if !ok {
			r.fail(name, fields.Date(name))
			return fields.Optional[*time.Time]{}
		}
		return fields.Some(&t)
	}
	flag := func(name string) fields.Optional[bool] {
		if b := parseBool(r, name); b != nil {
			return fields.Some(*b)
		}
		return fields.Optional[bool]{}
	}
	list := func(name string) fields.Optional[[]string] {
		if v := r.get(name); v != "" {
			return fields.Some(splitList(v))
		}
		return fields.Optional[[]string]{}
	}
	ref := r.get("product_reference_id")
	in.ProductReferenceID = fields.Some(ref)
	if code := r.get("license_code"); code != "" {
		in.LicenseCode = fields.Some(code)
	}
	in.Type, in.CustomerID, in.Email = text("type"), text("customer_id"), text("email")
	in.Invoice, in.Comments = text("invoice"), text("comments")
	in.Uses, in.ParallelUses, in.ExpiryDays = number("uses"), number("parallel_uses"), number("expiry_days")
	in.ExpiresAt, in.UpdatesUntil, in.SupportUntil = date("expires_at"), date("updates_until"), date("support_until")
	in.Domains, in.IPs, in.Entitlements = list("domains"), list("ips"), list("entitlements")
	in.IsValid, in.IsEnvato = flag("is_valid"), flag("is_envato")
	if v := r.get("expiry_start"); v != "" {
		in.ExpiryStart = fields.Some(v)
	}
	// When the clock started, from the system the rows come from: kept
	// beside an expires_at only (docs/licensing.md#expiry-clock).
	startedAt := date("expiry_started_at")
	in.Floating, in.HeartbeatInterval, in.HeartbeatMissed = flag("floating"), number("heartbeat_interval"), text("heartbeat_missed")
	r.license = in
	if ref != "" {
		p, err := l.product(ctx, idb, ref)
		if err != nil {
			return err
		}
		r.product = p
	}
	built, err := l.svc.NewLicense(r.product, in, l.set)
	if err != nil {
		return r.failErr(err)
	}
	if startedAt.Value != nil && built.ExpiresAt != nil && built.ExpiryStartedAt == nil {
		built.ExpiryStartedAt = startedAt.Value
	}
	r.built = built
	return nil
}

func (l *licenseRules) check(ctx context.Context, idb bun.IDB, rows []*row, seen map[string]int) error {
	var codes []string
	for _, r := range rows {
		if r.Err != nil {
			r.fail("", capitalize(r.Err.Error())+".")
			continue
		}
		if err := l.parse(ctx, idb, r); err != nil {
			return err
		}
		if code := r.get("license_code"); code != "" {
			duplicateInFile(r, seen, "license_code", code)
			if !r.bad() {
				codes = append(codes, code)
			}
		}
	}
	stored, err := licensing.ByCodes(ctx, idb, codes)
	if err != nil {
		return err
	}
	byCode := make(map[string]*licensing.License, len(stored))
	for i := range stored {
		byCode[strings.ToLower(stored[i].LicenseCode)] = &stored[i]
	}
	for _, r := range rows {
		if r.bad() {
			continue
		}
		s := byCode[strings.ToLower(r.get("license_code"))]
		if s == nil {
			continue
		}
		if s.ProductID != r.product.ID {
			r.fail("product_reference_id", fmt.Sprintf("License %s belongs to product %s; its product cannot change.", s.LicenseCode, s.ProductReferenceID))
			continue
		}
		r.existing = s.ID
	}
	return nil
}

func (l *licenseRules) apply(ctx context.Context, tx bun.IDB, rows []*row, update bool) (ins, upd, skip int, err error) {
	var fresh []*licensing.License
	for _, r := range rows {
		switch {
		case r.bad():
			skip++
		case r.existing == 0:
			fresh = append(fresh, r.built)
		case !update:
			skip++
		default:
			if _, err := l.svc.UpdateLicense(ctx, tx, l.by, l.set, r.existing, r.license); err != nil {
				return 0, 0, 0, fmt.Errorf("line %d: %w", r.Line, err)
			}
			upd++
		}
	}
	n, err := licensing.InsertLicenses(ctx, tx, fresh)
	if err != nil {
		return 0, 0, 0, err
	}
	return n, upd, skip + len(fresh) - n, nil
}

// parseDate reads a date as the API does (docs/api/conventions.md#requests): "Y-m-d" (start of
// that day) or "Y-m-d H:i:s" in the timezone setting, or RFC 3339 (what
// exports write).
func parseDate(s string, loc *time.Location) (time.Time, bool) {
	for _, layout := range []string{time.DateOnly, time.DateTime} {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			return t, true
		}
	}
	t, err := time.Parse(time.RFC3339, s)
	return t, err == nil
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
