package admin

import (
	"strconv"

	"github.com/gofiber/fiber/v3"

	"github.com/licensor/licensor/app/mail"
	"github.com/licensor/licensor/app/web"
)

// mailPreviewCSP confines a message's HTML, shown in a sandboxed iframe:
// no script, no request anywhere but inline styles and data/https images,
// framed only by the console itself.
const mailPreviewCSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data: https:; " +
	"font-src data:; sandbox; base-uri 'none'; form-action 'none'; frame-ancestors 'self'"

// mailColumns are the outbox's columns.
var mailColumns = []web.Column{
	{Key: "created", Label: "Created"},
	{Key: "to", Label: "To", Optional: true},
	{Key: "subject", Label: "Subject"},
	{Key: "kind", Label: "Kind", Optional: true, Hidden: true},
	{Key: "status", Label: "Status", Optional: true},
	{Key: "attempts", Label: "Attempts", Class: "num", Optional: true, Hidden: true},
}

// mailIndex lists the outbox: every email queued, sent, kept (no SMTP
// server) or failed, newest first, filtered by status, kind and a search
// of recipient and subject.
func (h *handlers) mailIndex(c fiber.Ctx) error {
	f := mail.Filter{Status: c.Query("status"), Kind: c.Query("kind"), Search: c.Query("q")}
	page := web.ListPage(c)
	msgs, total, err := mail.List(c.Context(), h.db, f, page)
	if err != nil {
		return err
	}
	statuses := []web.Option{{Value: "", Label: "Any status"}}
	for _, s := range []string{mail.StatusQueued, mail.StatusSent, mail.StatusOutbox, mail.StatusFailed} {
		statuses = append(statuses, web.Option{Value: s, Label: s})
	}
	kinds := []web.Option{{Value: "", Label: "Any kind"}}
	for _, k := range mail.Kinds {
		kinds = append(kinds, web.Option{Value: k, Label: k})
	}
	table := web.NewTable(c, h.allowed(currentAdmin(c), web.TableSpec{
		ID: "mail", Search: "Search recipient or subject", SearchValue: f.Search,
		Filters: []web.Filter{
			{Name: "status", Label: "Status", Type: "select", Options: statuses, Value: f.Status},
			{Name: "kind", Label: "Kind", Type: "select", Options: kinds, Value: f.Kind},
		},
		Columns: mailColumns,
	}), page, total)
	return web.Render(c, fiber.StatusOK, web.View{
		Page: "admin/mail/index", Layout: "layouts/admin", Fragment: "admin/mail/index/results",
		Data: fiber.Map{"Title": "Mail", "Section": "mail", "Messages": msgs, "Outbox": h.mailOutbox, "Table": table},
	})
}

// mailShow shows one message as it would look: the HTML part in a
// sandboxed iframe (mailHTML), the text part, and its delivery state.
func (h *handlers) mailShow(c fiber.Ctx) error {
	m, err := h.message(c)
	if err != nil {
		return err
	}
	return web.Render(c, fiber.StatusOK, web.View{
		Page: "admin/mail/show", Layout: "layouts/admin",
		Data: fiber.Map{"Title": "Mail: " + m.Subject, "Section": "mail", "Message": m, "MessageID": m.MessageID()},
	})
}

// mailHTML serves a message's HTML part alone, under a CSP that forbids
// scripts and outside requests, for the iframe of mailShow.
func (h *handlers) mailHTML(c fiber.Ctx) error {
	m, err := h.message(c)
	if err != nil {
		return err
	}
	c.Set("Content-Security-Policy", mailPreviewCSP)
	c.Set("X-Frame-Options", "SAMEORIGIN")
	c.Set(fiber.HeaderCacheControl, "no-store")
	c.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
	return c.SendString(m.HTMLBody)
}

func (h *handlers) message(c fiber.Ctx) (*mail.Message, error) {
	id, err := strconv.ParseInt(c.Params("id"), 10, 64)
	if err != nil {
		return nil, fiber.ErrNotFound
	}
	m, err := mail.Get(c.Context(), h.db, id)
	return m, err
}
