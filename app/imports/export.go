package imports

import (
	"context"
	"github.com/uptrace/bun"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/licensor/licensor/app/customers"
	"github.com/licensor/licensor/app/licensing"
)

// exportBatch is the rows an export reads per query.
const exportBatch = 1000

// CustomerExportFields are the columns of a customer export: the import's
// fields, with the password hash instead of a password, so an export
// imports again as the same accounts.
var CustomerExportFields = []string{"name", "email", "client_id", "password_hash", "confirmed"}

// ExportCustomers writes the customers matching f (the list's filters) to
// w in format, in id order, reading a batch at a time.
func (s *Service) ExportCustomers(ctx context.Context, w io.Writer, format Format, f customers.Filter) error {
	out := format.NewWriter(w, CustomerExportFields)
	err := customers.Each(ctx, s.exportDB(), f, exportBatch, func(list []customers.Customer) error {
		for i := range list {
			c := &list[i]
			row := map[string]string{
				"name": c.Name, "email": c.Email, "client_id": c.ClientID,
				"confirmed": strconv.FormatBool(c.Confirmed()),
			}
			if c.PasswordHash != nil {
				row["password_hash"] = *c.PasswordHash
			}
			if err := out.Write(row); err != nil {
				return err
			}
		}
		return out.Flush()
	})
	if err != nil {
		return err
	}
	return out.Flush()
}

// ExportLicenses writes the licenses matching f (statuses judged now) to w
// in format, in id order, with every field an import reads.
func (s *Service) ExportLicenses(ctx context.Context, w io.Writer, format Format, f licensing.LicenseFilter) error {
	out := format.NewWriter(w, LicenseFields)
	err := licensing.EachLicense(ctx, s.exportDB(), f, s.o.Now(), exportBatch, func(list []licensing.License) error {
		for i := range list {
			if err := out.Write(licenseRow(&list[i])); err != nil {
				return err
			}
		}
		return out.Flush()
	})
	if err != nil {
		return err
	}
	return out.Flush()
}

func licenseRow(l *licensing.License) map[string]string {
	str := func(p *string) string {
		if p == nil {
			return ""
		}
		return *p
	}
	num := func(p *int) string {
		if p == nil {
			return ""
		}
		return strconv.Itoa(*p)
	}
	date := func(t *time.Time) string {
		if t == nil {
			return ""
		}
		return t.UTC().Format(time.RFC3339Nano)
	}
	return map[string]string{
		"license_code": l.LicenseCode, "product_reference_id": l.ProductReferenceID,
		"customer_id": str(l.CustomerID), "email": str(l.Email), "type": str(l.Type),
		"uses": num(l.Uses), "parallel_uses": num(l.ParallelUses), "expiry_days": num(l.ExpiryDays),
		"expires_at": date(l.ExpiresAt), "updates_until": date(l.UpdatesUntil), "support_until": date(l.SupportUntil),
		"domains": strings.Join(l.Domains, ","), "ips": strings.Join(l.IPs, ","),
		"invoice": str(l.Invoice), "comments": str(l.Comments),
		"is_valid": strconv.FormatBool(l.IsValid), "is_envato": strconv.FormatBool(l.IsEnvato),
		"entitlements": strings.Join(l.Entitlements, ","),
		"expiry_start": l.ExpiryStart, "expiry_started_at": date(l.ExpiryStartedAt),
		"floating": strconv.FormatBool(l.Floating), "heartbeat_interval": num(l.HeartbeatInterval), "heartbeat_missed": str(l.HeartbeatMissed),
	}
}

// exportDB is what the exports read: the read replicas when there are any.
func (s *Service) exportDB() bun.IDB {
	if s.o.Reader != nil {
		return s.o.Reader
	}
	return s.o.DB
}
