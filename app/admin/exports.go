package admin

import (
	"bufio"
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/gofiber/fiber/v3"

	"github.com/licensor/licensor/app/customers"
	"github.com/licensor/licensor/app/imports"
	"github.com/licensor/licensor/app/licensing"
	"github.com/licensor/licensor/app/web"
)

// customersExport streams the customers of the list's current filters
// (the same query parameters as /admin/customers) as CSV or JSON Lines.
func (h *handlers) customersExport(c fiber.Ctx) error {
	_, f, err := h.customersFilterOf(c)
	if err != nil {
		return err
	}
	// The stream's goroutine can outlive the request (a client gone
	// mid-export), and the query's strings are the request's buffer,
	// which fasthttp reuses (Fiber runs without Immutable): its own copies.
	f.Search = strings.Clone(f.Search)
	return h.stream(c, "customers", func(ctx context.Context, w *bufio.Writer, format imports.Format) error {
		return h.imports.ExportCustomers(ctx, w, format, f)
	})
}

// licensesExport streams the licenses of the list's current filters.
func (h *handlers) licensesExport(c fiber.Ctx) error {
	q, err := h.licensesFilterOf(c)
	if err != nil {
		return err
	}
	f := q.domain()
	// As customersExport: copies the stream's goroutine may keep.
	for _, s := range []*string{&f.Search, &f.Code, &f.ProductReferenceID, &f.CustomerID, &f.Email, &f.Type, &f.Status, &f.Entitlement} {
		*s = strings.Clone(*s)
	}
	if f.Customer != nil {
		cu := *f.Customer
		cu.ClientID, cu.Email = strings.Clone(cu.ClientID), strings.Clone(cu.Email)
		f.Customer = &cu
	}
	return h.stream(c, "licenses", func(ctx context.Context, w *bufio.Writer, format imports.Format) error {
		return h.imports.ExportLicenses(ctx, w, format, f)
	})
}

// stream answers with an attachment written by write as rows are read. An
// error once the body has started can only end it early; it is logged.
func (h *handlers) stream(c fiber.Ctx, name string, write func(context.Context, *bufio.Writer, imports.Format) error) error {
	format, ok := h.imports.Formats().Get(c.Query("format", "csv"))
	if !ok || format.NewWriter == nil {
		return fiber.ErrNotFound
	}
	ext := ""
	if len(format.Extensions) > 0 {
		ext = format.Extensions[0]
	}
	// Attachment sets a Content-Type from the extension; the format's own,
	// set after it, replaces it (both before gave "charset=utf-8" twice).
	c.Attachment(fmt.Sprintf("%s-%s%s", name, h.now().UTC().Format("20060102-150405"), ext))
	c.Set(fiber.HeaderContentType, format.ContentType)
	// The request context ends with the handler; the stream runs after it.
	ctx := context.WithoutCancel(c.Context())
	logger := h.logger
	return c.SendStreamWriter(func(w *bufio.Writer) {
		ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
		defer cancel()
		if err := write(ctx, w, format); err != nil {
			logger.Error("export", "what", name, "err", err)
		}
		_ = w.Flush()
	})
}

// customersFilterOf reads the customer list's query: the list page and the
// export share it.
func (h *handlers) customersFilterOf(c fiber.Ctx) (customersFilter, customers.Filter, error) {
	q := customersFilter{
		Search:      trimmed(c.Query("q")),
		Confirmed:   c.Query("confirmed"),
		HasLicenses: c.Query("licenses"),
		Sort:        c.Query("sort"),
	}
	var err error
	if q.createdRange, err = h.createdRangeOf(c); err != nil {
		return q, customers.Filter{}, err
	}
	if !web.IsSort(q.Sort, customerColumns) {
		q.Sort = ""
	}
	return q, customers.Filter{Search: q.Search, Confirmed: yesNo(q.Confirmed), HasLicenses: yesNo(q.HasLicenses),
		CreatedFrom: q.fromAt, CreatedTo: q.beforeAt}, nil
}

// licensesFilterOf reads the license list's query: the list page and the
// export share it.
func (h *handlers) licensesFilterOf(c fiber.Ctx) (licensesFilter, error) {
	q := licensesFilter{Search: trimmed(c.Query("q")), Product: c.Query("product"), Status: c.Query("status"),
		Customer: trimmed(c.Query("customer")), Entitlement: trimmed(c.Query("entitlement")), Sort: c.Query("sort")}
	if q.Customer != "" {
		cu, err := customers.Filtering(c.Context(), h.db, q.Customer)
		if err != nil {
			return q, err
		}
		q.customer = cu
	}
	switch q.Status {
	case licensing.StatusValid, licensing.StatusExpired, licensing.StatusBlocked, licensing.FilterInGrace, licensing.FilterClockPending:
	default:
		q.Status = ""
	}
	if !web.IsSort(q.Sort, licenseColumns) {
		q.Sort = ""
	}
	var err error
	q.createdRange, err = h.createdRangeOf(c)
	return q, err
}
