package orders

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/licensor/licensor/app/audit"
	"github.com/licensor/licensor/app/catalog"
	"github.com/licensor/licensor/app/customers"
	"github.com/licensor/licensor/app/fields"
	"github.com/licensor/licensor/app/licensing"
	"github.com/licensor/licensor/app/settings"
	"github.com/licensor/licensor/plugins/sdk"
)

// Verdicts of a marketplace check (docs/api/external.md#activate step 4).
const (
	Accepted  = sdk.VerifyAccepted
	Refused   = sdk.VerifyRefused
	NotMapped = sdk.VerifyNotMapped
)

// Verdict is what the plugin serving a verify_type said of a code.
type Verdict struct {
	Outcome sdk.VerifyOutcome
	Sale    sdk.Sale
	// Reason is why it was refused, for the log.
	Reason string
}

// Marketplace verifies marketplace license codes (Gumroad keys, Envato
// purchase codes) with the order sync plugin serving their verify_type,
// and turns an accepted code into a local license.
// It is the licensing.Marketplace of activate's step 4.
type Marketplace struct {
	plugins   *Plugins
	customers *customers.Service
	licensing *licensing.Service
	timeout   time.Duration
}

var _ licensing.Marketplace = (*Marketplace)(nil)

// DefaultTimeout bounds one marketplace check (docs/api/external.md#activate
// step 4).
const DefaultTimeout = 10 * time.Second

// NewMarketplace returns the marketplace check over p, creating customers
// and licenses with cs and ls (and so their hooks).
func NewMarketplace(p *Plugins, cs *customers.Service, ls *licensing.Service) *Marketplace {
	return &Marketplace{plugins: p, customers: cs, licensing: ls, timeout: DefaultTimeout}
}

// WithTimeout returns a copy of m whose checks give up after d.
func (m *Marketplace) WithTimeout(d time.Duration) *Marketplace {
	c := *m
	c.timeout = d
	return &c
}

// Serving returns the enabled order sync plugin whose manifest serves
// verifyType (case-insensitively), and the marketplace's display name. A
// nil Marketplace (a node without plugins) serves none.
func (m *Marketplace) Serving(verifyType string) (plugin, marketplace string, ok bool) {
	if m == nil || verifyType == "" {
		return "", "", false
	}
	for _, pl := range m.plugins.ext.Host().List() {
		if pl.Enabled && pl.Manifest.Kind == sdk.KindOrderSync && strings.EqualFold(pl.Manifest.VerifyType, verifyType) {
			return pl.Name, pl.Manifest.MarketplaceName(), true
		}
	}
	return "", "", false
}

// maxProductIDs bounds the SKUs sent with one check.
const maxProductIDs = 50

// Verify asks plugin about code sold as product (nil: any product mapped
// for the plugin), within the marketplace's timeout. An error means the
// plugin could not answer (down, timed out, serves no verify_type).
func (m *Marketplace) Verify(ctx context.Context, idb bun.IDB, plugin string, product *catalog.Product, code, clientName string) (Verdict, error) {
	ctx, cancel := context.WithTimeout(ctx, m.timeout)
	defer cancel()
	q := idb.NewSelect().Table("order_sku_products").Column("sku").Where("plugin = ?", plugin).
		OrderExpr("sku").Limit(maxProductIDs)
	if product != nil {
		q = q.Where("product_id = ?", product.ID)
	}
	var skus []string
	if err := q.Scan(ctx, &skus); err != nil {
		return Verdict{}, fmt.Errorf("marketplace ids of %s: %w", plugin, err)
	}
	res, err := m.plugins.ext.Host().OrderSync(plugin).VerifyLicense(ctx, sdk.VerifyLicenseRequest{
		Code: code, ClientName: clientName, ProductIDs: skus,
	})
	if err != nil {
		return Verdict{}, err
	}
	return Verdict{Outcome: res.Outcome, Sale: res.Sale, Reason: res.Reason}, nil
}

// OutcomeOf is the licensing outcome of what Verify returned.
func OutcomeOf(v Verdict, err error) licensing.MarketplaceOutcome {
	switch {
	case err != nil:
		return licensing.MarketplaceUnavailable
	case v.Outcome == Accepted:
		return licensing.MarketplaceAccepted
	case v.Outcome == NotMapped:
		return licensing.MarketplaceNotMapped
	}
	return licensing.MarketplaceRefused
}

// Claim is activate's step 4 (licensing.Marketplace): Verify, then, for an
// accepted code, Issue. A sale that cannot be a license here (a code format
// Licensor does not store) is as good as no sale: refused.
func (m *Marketplace) Claim(ctx context.Context, idb bun.IDB, set *settings.Values, c licensing.MarketplaceClaim) (licensing.MarketplaceVerdict, error) {
	v, err := m.Verify(ctx, idb, c.Plugin, c.Product, c.LicenseCode, c.ClientName)
	out := licensing.MarketplaceVerdict{Outcome: OutcomeOf(v, err), Cause: err}
	if out.Outcome != licensing.MarketplaceAccepted {
		if out.Cause == nil && v.Reason != "" {
			out.Cause = errors.New(v.Reason)
		}
		return out, nil
	}
	err = m.Issue(ctx, idb, c.By, set, c.Product, c.LicenseCode, v.Sale)
	if _, invalid := fields.As(err); invalid {
		return licensing.MarketplaceVerdict{Outcome: licensing.MarketplaceRefused, Cause: fmt.Errorf("marketplace license not created: %w", err)}, nil
	}
	return out, err
}

// Issue creates the local license of an accepted code of product from its
// sale, unless a license with that code exists by now (a concurrent first
// activation made it): the code is locked for the transaction, so two
// activations of one new code create one license. The buyer is found or
// created by email, as for orders; the license is not tied to the
// customer's client ID, so the activating client_name is accepted, and it
// links to the customer by email. A sale whose email is not valid gets a
// license without customer.
func (m *Marketplace) Issue(ctx context.Context, idb bun.IDB, by audit.Source, set *settings.Values, product *catalog.Product, code string, sale sdk.Sale) error {
	return idb.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock(hashtextextended('license code ' || lower(?), 0))", code); err != nil {
			return err
		}
		_, err := licensing.ByCode(ctx, tx, code)
		if err == nil {
			return nil
		}
		if !errors.Is(err, licensing.ErrNotFound) {
			return err
		}
		in := licensing.LicenseInput{
			ProductReferenceID: fields.Some(product.ReferenceID),
			LicenseCode:        fields.Some(code),
		}
		if email := strings.TrimSpace(sale.Customer.Email); validEmail(email) {
			c, err := findOrCreateCustomer(ctx, tx, m.customers, by, set, sale.Customer.Name, email)
			if err != nil {
				return err
			}
			in.Email = fields.Some(&c.Email)
		}
		if id := strings.TrimSpace(sale.ID); id != "" {
			in.Invoice = fields.Some(&id)
		}
		if t := strings.TrimSpace(sale.LicenseType); t != "" {
			in.Type = fields.Some(&t)
		}
		if sale.Uses != nil {
			in.Uses = fields.Some(sale.Uses)
		}
		if sale.ParallelUses != nil {
			in.ParallelUses = fields.Some(sale.ParallelUses)
		}
		if !sale.ExpiresAt.IsZero() {
			t := sale.ExpiresAt.UTC().Truncate(time.Microsecond)
			in.ExpiresAt = fields.Some(&t)
		}
		_, err = m.licensing.CreateLicense(ctx, tx, by, set, in)
		return err
	})
}

func validEmail(s string) bool {
	_, err := mail.ParseAddress(s)
	return err == nil && s != "" && !strings.ContainsAny(s, "<> ")
}
