// Package orders processes normalised order events from order sync plugins
// (issue 7): a paid order finds or creates the customer by email, issues
// licenses for its mapped SKUs with the products' defaults and queues the
// license-details email; a refunded or cancelled order blocks that order's
// licenses. Each (plugin, order, status) is processed once, in one
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
}

// Check validates the shape of e; what it returns is logged as the order's
// error. An empty string means the event is well formed.
func (e Event) Check() string {
	// PostgreSQL keeps no NUL and no invalid UTF-8 in text: such an event
	// would fail its insert (and the job) instead of being logged.
	texts := []string{e.OrderID, e.CustomerName, e.CustomerEmail}
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
	case e.Status != StatusPaid && e.Status != StatusRefunded && e.Status != StatusCancelled:
		return fmt.Sprintf("unknown order status %q", e.Status)
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
	ProcessedAt   time.Time  `bun:"processed_at,nullzero,notnull,default:current_timestamp"`
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
		if e.Status == StatusPaid {
			err = p.paid(ctx, tx, set, plugin, e, row)
		} else {
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
		Set("purchased_at = EXCLUDED.purchased_at, processed_at = EXCLUDED.processed_at").
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
	if row.Status != StatusPaid && row.Status != StatusRefunded && row.Status != StatusCancelled {
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
