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

// Verdicts of a marketplace check (api.md §4.3 step 4).
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
type Marketplace struct {
	plugins   *Plugins
	customers *customers.Service
	licensing *licensing.Service
}

// NewMarketplace returns the marketplace check over p, creating customers
// and licenses with cs and ls (and so their hooks).
func NewMarketplace(p *Plugins, cs *customers.Service, ls *licensing.Service) *Marketplace {
	return &Marketplace{plugins: p, customers: cs, licensing: ls}
}

// Serving returns the enabled order sync plugin whose manifest serves
// verifyType (case-insensitively), and the marketplace's display name.
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
// for the plugin). An error means the plugin could not answer (down, timed
// out, serves no verify_type).
func (m *Marketplace) Verify(ctx context.Context, idb bun.IDB, plugin string, product *catalog.Product, code, clientName string) (Verdict, error) {
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
