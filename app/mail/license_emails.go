package mail

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/uptrace/bun"

	"github.com/licensor/licensor/app/licensing"
	"github.com/licensor/licensor/app/settings"
)

// ExpiryWarning is one license to warn: it expires in Days whole days
// (rounded up), within the warning threshold the scan claimed.
type ExpiryWarning struct {
	License *licensing.License
	Days    int
}

type expiryWarningData struct {
	AppName, Product, Code, ExpiresOn, DaysText, LicenseLink string
}

// ExpiryWarnings queues one expiry warning per entry to its license's
// email: subject "Your <product> license expires in <days> days" ("1 day"
// for one), linking to /customer/product-licenses/{id}. The expiry scan
// decides who is due and passes only licenses that have an email.
func (m *Mailer) ExpiryWarnings(ctx context.Context, idb bun.IDB, set *settings.Values, ws []ExpiryWarning) (int, error) {
	drafts := make([]draft, 0, len(ws))
	for _, w := range ws {
		l := w.License
		if l.Email == nil || *l.Email == "" {
			continue
		}
		days := plural(w.Days, "day")
		drafts = append(drafts, draft{
			kind: KindExpiryWarning, toAddress: *l.Email,
			subject: fmt.Sprintf("Your %s license expires in %s", l.ProductName, days),
			data: expiryWarningData{
				AppName: set.AppName, Product: l.ProductName, Code: l.LicenseCode, DaysText: days,
				ExpiresOn:   date(set, l.ExpiresAt, ""),
				LicenseLink: m.link(PathLicense, strconv.FormatInt(l.ID, 10)),
			},
			licenseID: ptr(l.ID),
		})
	}
	ids, err := m.send(ctx, idb, set, drafts)
	return len(ids), err
}

type licenseDetailsData struct {
	AppName, Product, Code, Type             string
	Expires, UpdatesUntil, SupportUntil      string
	Uses, ParallelUses, Domains, LicenseLink string
}

// LicenseDetails queues "send license details" for each license (single
// or bulk, from the console; and licenses issued by order sync): subject
// "Your <product> license details", with code, product, dates, limits and
// a link to /customer/product-licenses/{id}. Licenses without an email are
// skipped and returned.
func (m *Mailer) LicenseDetails(ctx context.Context, idb bun.IDB, set *settings.Values, ids ...int64) (queued int, noEmail []int64, err error) {
	drafts := make([]draft, 0, len(ids))
	for _, id := range ids {
		l, err := licensing.Get(ctx, idb, id)
		if err != nil {
			return 0, nil, err
		}
		if l.Email == nil || *l.Email == "" {
			noEmail = append(noEmail, id)
			continue
		}
		drafts = append(drafts, draft{
			kind: KindLicenseDetails, toAddress: *l.Email,
			subject: fmt.Sprintf("Your %s license details", l.ProductName),
			data: licenseDetailsData{
				AppName: set.AppName, Product: l.ProductName, Code: l.LicenseCode, Type: deref(l.Type),
				Expires:      date(set, l.ExpiresAt, "Lifetime"),
				UpdatesUntil: date(set, l.UpdatesUntil, "No limit"),
				SupportUntil: date(set, l.SupportUntil, "No limit"),
				Uses:         limit(l.Uses),
				ParallelUses: limit(l.ParallelUses),
				Domains:      strings.Join(l.Domains, ", "),
				LicenseLink:  m.link(PathLicense, strconv.FormatInt(l.ID, 10)),
			},
			licenseID: ptr(l.ID),
		})
	}
	sent, err := m.send(ctx, idb, set, drafts)
	return len(sent), noEmail, err
}

func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return strconv.Itoa(n) + " " + unit + "s"
}

func limit(n *int) string {
	if n == nil {
		return "Unlimited"
	}
	return strconv.Itoa(*n)
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
