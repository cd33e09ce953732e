// Package orders processes normalised order events from order sync plugins
// (issue 7): a paid order finds or creates the customer by email, issues
// licenses for its mapped SKUs with the products' defaults and queues the
// license-details email; a refunded or cancelled order blocks that order's
// licenses; a subscription's renewal renews the licenses of its first paid
// order on the same keys (docs/licensing.md#renewals). Each (plugin, order, status) is processed once, in one
// transaction, and logged in processed_orders. It knows nothing of HTTP or
// of plugin processes: the webhook handler and the poll job hand it events.
package orders

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/uptrace/bun"

	"github.com/licensor/licensor/app/audit"
	"github.com/licensor/licensor/app/catalog"
	"github.com/licensor/licensor/app/customers"
	"github.com/licensor/licensor/app/fields"
	"github.com/licensor/licensor/app/licensing"
	lmail "github.com/licensor/licensor/app/mail"
	"github.com/licensor/licensor/app/settings"
)

// Statuses of an order event.
const (
	StatusPaid      = "paid"
	StatusRefunded  = "refunded"
	StatusCancelled = "cancelled"
	// StatusRenewed is a subscription's recurring charge.
	StatusRenewed = "renewed"
)

// Outcomes of a processed event.
const (
	OutcomeDone  = "done"
	OutcomeError = "error"
)

// Limits on what a plugin may hand over (its data is input like any other).
const (
	MaxItems       = 100
	MaxQuantity    = 100
	MaxLicenses    = 500
	maxOrderIDLen  = 200
	maxSKULen      = 200
	maxErrorLength = 1000
)

// Item is one order line.
type Item struct {
	SKU      string `json:"sku"`
	Quantity int    `json:"quantity"`
	Name     string `json:"name,omitempty"`
}

// Event is one order in one status, as a plugin reported it.
type Event struct {
	OrderID       string    `json:"order_id"`
	Status        string    `json:"status"`
	CustomerName  string    `json:"customer_name"`
	CustomerEmail string    `json:"customer_email"`
	Items         []Item    `json:"items"`
	PurchasedAt   time.Time `json:"purchased_at"`
	// SubscriptionID is the store's subscription the order belongs to
	// (its first order and its renewals); RenewsOrderID, on a renewal, the
	// subscription's first order when the store names it.
	SubscriptionID string `json:"subscription_id,omitempty"`
	RenewsOrderID  string `json:"renews_order_id,omitempty"`
}

// Check validates the shape of e; what it returns is logged as the order's
// error. An empty string means the event is well formed.
func (e Event) Check() string {
	// PostgreSQL keeps no NUL and no invalid UTF-8 in text: such an event
	// would fail its insert (and the job) instead of being logged.
	texts := []string{e.OrderID, e.CustomerName, e.CustomerEmail, e.SubscriptionID, e.RenewsOrderID}
	for _, it := range e.Items {
		texts = append(texts, it.SKU, it.Name)
	}
	for _, s := range texts {
		if !utf8.ValidString(s) || strings.ContainsRune(s, 0) {
			return "the order holds a NUL character or text that is not UTF-8"
		}
	}
	switch {
	case strings.TrimSpace(e.OrderID) == "" || len(e.OrderID) > maxOrderIDLen:
		return "order ID is empty or too long"
	case !knownStatus(e.Status):
		return fmt.Sprintf("unknown order status %q", e.Status)
	case len(e.SubscriptionID) > maxOrderIDLen || len(e.RenewsOrderID) > maxOrderIDLen:
		return "subscription or renewed order ID is too long"
	case e.Status == StatusRenewed && strings.TrimSpace(e.SubscriptionID) == "" && strings.TrimSpace(e.RenewsOrderID) == "":
		return "a renewal names neither its subscription nor the order it renews"
	}
	if e.Status != StatusPaid {
		return ""
	}
	if _, err := mail.ParseAddress(e.CustomerEmail); err != nil || strings.ContainsAny(e.CustomerEmail, "<> ") {
		return fmt.Sprintf("customer email %q is not valid", e.CustomerEmail)
	}
	if len(e.Items) == 0 || len(e.Items) > MaxItems {
		return fmt.Sprintf("an order needs 1 to %d items", MaxItems)
	}
	total := 0
	for _, it := range e.Items {
		if strings.TrimSpace(it.SKU) == "" || len(it.SKU) > maxSKULen {
			return "an item has no SKU"
		}
		if it.Quantity < 1 || it.Quantity > MaxQuantity {
			return fmt.Sprintf("item %q: quantity %d is not within 1 to %d", it.SKU, it.Quantity, MaxQuantity)
		}
		total += it.Quantity
	}
	if total > MaxLicenses {
		return fmt.Sprintf("an order may issue at most %d licenses", MaxLicenses)
	}
	return ""
}

func knownStatus(s string) bool {
	return s == StatusPaid || s == StatusRefunded || s == StatusCancelled || s == StatusRenewed
}

// Processed is one row of the order log.
type Processed struct {
	bun.BaseModel `bun:"table:processed_orders,alias:po"`

	ID            int64      `bun:"id,pk,autoincrement"`
	Plugin        string     `bun:"plugin"`
	OrderID       string     `bun:"order_id"`
	Status        string     `bun:"status"`
	Outcome       string     `bun:"outcome"`
	Error         *string    `bun:"error"`
	CustomerEmail *string    `bun:"customer_email"`
	CustomerID    *int64     `bun:"customer_id"`
	LicenseIDs    []int64    `bun:"license_ids,array"`
	PurchasedAt   *time.Time `bun:"purchased_at"`
	// SubscriptionID is the store's subscription of a paid order, by
	// which its renewals find its licenses.
	SubscriptionID *string   `bun:"subscription_id"`
	ProcessedAt    time.Time `bun:"processed_at,nullzero,notnull,default:current_timestamp"`
}

// Processor applies order events.
type Processor struct {
	db        bun.IDB
	customers *customers.Service
	licensing *licensing.Service
	mailer    *lmail.Mailer
	settings  *settings.Store
	now       func() time.Time
}

// NewProcessor returns a Processor; mailer nil issues licenses without
// emailing them, now nil means time.Now.
func NewProcessor(db bun.IDB, cs *customers.Service, ls *licensing.Service, m *lmail.Mailer, set *settings.Store, now func() time.Time) *Processor {
	if now == nil {
		now = time.Now
	}
	return &Processor{db: db, customers: cs, licensing: ls, mailer: m, settings: set, now: now}
}

var system = audit.Source{Actor: audit.System}

// errRefused is an event that cannot be applied: it is logged as an
// error and the transaction that tried it is rolled back.
type errRefused struct{ msg string }

func (e *errRefused) Error() string { return e.msg }

func refused(format string, args ...any) error { return &errRefused{msg: fmt.Sprintf(format, args...)} }

// Process applies e for plugin once. It returns the log row: outcome done
// (now or earlier), or error with the reason (nothing of the event was
// applied). A returned error is a failure worth retrying (the database).
func (p *Processor) Process(ctx context.Context, plugin string, e Event) (*Processed, error) {
	e.OrderID = strings.TrimSpace(e.OrderID)
	e.CustomerEmail = strings.TrimSpace(e.CustomerEmail)
	e.CustomerName = strings.TrimSpace(e.CustomerName)
	e.SubscriptionID, e.RenewsOrderID = strings.TrimSpace(e.SubscriptionID), strings.TrimSpace(e.RenewsOrderID)
	set, err := p.settings.Get(ctx)
	if err != nil {
		return nil, err
	}
	row := &Processed{Plugin: plugin, OrderID: e.OrderID, Status: e.Status}
	if e.CustomerEmail != "" {
		row.CustomerEmail = &e.CustomerEmail
	}
	if !e.PurchasedAt.IsZero() {
		t := e.PurchasedAt
		row.PurchasedAt = &t
	}
	if e.SubscriptionID != "" {
		row.SubscriptionID = &e.SubscriptionID
	}
	if msg := e.Check(); msg != "" {
		return p.logError(ctx, row, msg)
	}
	var done *Processed
	err = p.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		// Serialise the events of one order across nodes and retries.
		if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock(hashtextextended(?, 0))", plugin+"/"+e.OrderID); err != nil {
			return err
		}
		prev := new(Processed)
		err := tx.NewSelect().Model(prev).
			Where("plugin = ? AND order_id = ? AND status = ?", plugin, e.OrderID, e.Status).Scan(ctx)
		switch {
		case err == nil && prev.Outcome == OutcomeDone:
			done = prev
			return nil
		case err != nil && !errors.Is(err, sql.ErrNoRows):
			return err
		}
		switch e.Status {
		case StatusPaid:
			err = p.paid(ctx, tx, set, plugin, e, row)
		case StatusRenewed:
			err = p.renewed(ctx, tx, plugin, e, row)
		default:
			err = p.revoked(ctx, tx, plugin, e, row)
		}
		if err != nil {
			return err
		}
		row.Outcome = OutcomeDone
		row.ProcessedAt = p.now()
		return upsert(ctx, tx, row)
	})
	var ref *errRefused
	var verr *fields.Error
	switch {
	case errors.As(err, &ref):
		return p.logError(ctx, row, ref.msg)
	case errors.As(err, &verr):
		return p.logError(ctx, row, verr.Error())
	case err != nil:
		return nil, err
	case done != nil:
		return done, nil
	}
	return row, nil
}

func upsert(ctx context.Context, idb bun.IDB, row *Processed) error {
	if row.LicenseIDs == nil {
		row.LicenseIDs = []int64{}
	}
	_, err := idb.NewInsert().Model(row).
		On("CONFLICT (plugin, order_id, status) DO UPDATE").
		Set("outcome = EXCLUDED.outcome, error = EXCLUDED.error, customer_email = EXCLUDED.customer_email").
		Set("customer_id = EXCLUDED.customer_id, license_ids = EXCLUDED.license_ids").
		Set("purchased_at = EXCLUDED.purchased_at, processed_at = EXCLUDED.processed_at, subscription_id = EXCLUDED.subscription_id").
		Where("po.outcome <> 'done'").
		Returning("id").Exec(ctx)
	return err
}

// logError records that the event was refused, unless it was done already.
func (p *Processor) logError(ctx context.Context, row *Processed, msg string) (*Processed, error) {
	if len(msg) > maxErrorLength {
		msg = msg[:maxErrorLength]
	}
	msg = strings.ToValidUTF8(msg, "?")
	row.Outcome, row.Error, row.ProcessedAt = OutcomeError, &msg, p.now()
	row.CustomerID, row.LicenseIDs = nil, nil
	if len(row.OrderID) > maxOrderIDLen {
		row.OrderID = row.OrderID[:maxOrderIDLen]
	}
	if !knownStatus(row.Status) {
		// The log keeps only known statuses; the reason names the bad one.
		return row, nil
	}
	if row.OrderID == "" {
		return row, nil
	}
	if err := upsert(ctx, p.db, row); err != nil {
		return nil, err
	}
	return row, nil
}

// paid issues the order's licenses to the customer with the order's email.
func (p *Processor) paid(ctx context.Context, tx bun.Tx, set *settings.Values, plugin string, e Event, row *Processed) error {
	products := make([]*catalog.Product, len(e.Items))
	var unknown []string
	for i, it := range e.Items {
		pr, err := MappedProduct(ctx, tx, plugin, it.SKU)
		if errors.Is(err, ErrNotMapped) {
			unknown = append(unknown, it.SKU)
			continue
		}
		if err != nil {
			return err
		}
		products[i] = pr
	}
	if len(unknown) > 0 {
		return refused("SKU not mapped to a product: %s", strings.Join(unknown, ", "))
	}
	c, err := findOrCreateCustomer(ctx, tx, p.customers, system, set, e.CustomerName, e.CustomerEmail)
	if err != nil {
		return err
	}
	row.CustomerID = &c.ID
	invoice := e.OrderID
	for i, it := range e.Items {
		for range it.Quantity {
			l, err := p.licensing.CreateLicense(ctx, tx, system, set, licensing.LicenseInput{
				ProductReferenceID: fields.Some(products[i].ReferenceID),
				CustomerID:         fields.Some(&c.ClientID),
				Email:              fields.Some(&c.Email),
				Invoice:            fields.Some(&invoice),
			})
			if err != nil {
				return err
			}
			row.LicenseIDs = append(row.LicenseIDs, l.ID)
		}
	}
	if p.mailer != nil {
		if _, _, err := p.mailer.LicenseDetails(ctx, tx, set, row.LicenseIDs...); err != nil {
			return err
		}
	}
	return nil
}

// findOrCreateCustomer returns the customer with email, creating one named
// name (the email's local part when name is too short) when there is none.
func findOrCreateCustomer(ctx context.Context, tx bun.IDB, cs *customers.Service, by audit.Source, set *settings.Values, name, email string) (*customers.Customer, error) {
	c, err := customers.ByEmail(ctx, tx, email)
	if !errors.Is(err, customers.ErrNotFound) {
		return c, err
	}
	name = strings.TrimSpace(name)
	if len([]rune(name)) < 2 {
		name = strings.SplitN(email, "@", 2)[0]
		if len([]rune(name)) < 2 {
			name = email
		}
	}
	if r := []rune(name); len(r) > 120 {
		name = string(r[:120])
	}
	return cs.Create(ctx, tx, by, set, customers.CreateParams{Name: name, Email: email})
}

// revoked blocks the licenses the order's paid event issued (blocking
// frees their activations). An order never seen paid blocks nothing.
func (p *Processor) revoked(ctx context.Context, tx bun.Tx, plugin string, e Event, row *Processed) error {
	paid := new(Processed)
	err := tx.NewSelect().Model(paid).
		Where("plugin = ? AND order_id = ? AND status = ? AND outcome = ?", plugin, e.OrderID, StatusPaid, OutcomeDone).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return err
	}
	row.CustomerID = paid.CustomerID
	for _, id := range paid.LicenseIDs {
		_, _, err := p.licensing.Block(ctx, tx, system, id)
		if errors.Is(err, licensing.ErrNotFound) {
			continue // deleted by an admin meanwhile
		}
		if err != nil {
			return err
		}
		row.LicenseIDs = append(row.LicenseIDs, id)
	}
	return nil
}

// renewed renews, on the same keys, the licenses the subscription's first
// paid order issued (docs/licensing.md#renewals): by the products' renewal
// period (default expiry days), from the later of now and each license's
// expiry. That order is the one the store names (RenewsOrderID), else the
// first paid order of the subscription. When none has been processed (its
// event may come later), the renewal is refused and logged, and applied
// when it comes again.
func (p *Processor) renewed(ctx context.Context, tx bun.Tx, plugin string, e Event, row *Processed) error {
	first := new(Processed)
	q := tx.NewSelect().Model(first).Where("plugin = ? AND status = ? AND outcome = ?", plugin, StatusPaid, OutcomeDone)
	what := "order " + e.RenewsOrderID
	if e.RenewsOrderID != "" {
		q = q.Where("order_id = ?", e.RenewsOrderID)
	} else {
		q = q.Where("subscription_id = ?", e.SubscriptionID)
		what = "subscription " + e.SubscriptionID
	}
	err := q.OrderExpr("id").Limit(1).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return refused("no paid order of %s to renew: its licenses are renewed once that order is processed and this renewal comes again", what)
	}
	if err != nil {
		return err
	}
	row.CustomerID = first.CustomerID
	if row.SubscriptionID == nil {
		row.SubscriptionID = first.SubscriptionID
	}
	for _, id := range first.LicenseIDs {
		_, _, err := p.licensing.RenewLicense(ctx, tx, system, id, nil)
		if errors.Is(err, licensing.ErrNotFound) {
			continue // deleted by an admin meanwhile
		}
		var verr *fields.Error
		if errors.As(err, &verr) {
			return refused("license %d of %s cannot be renewed: %s", id, what, verr.First())
		}
		if err != nil {
			return err
		}
		row.LicenseIDs = append(row.LicenseIDs, id)
	}
	return nil
}
