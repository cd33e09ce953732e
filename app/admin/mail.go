package admin

import (
	"errors"
	"strconv"

	"github.com/gofiber/fiber/v3"

	"github.com/licensor/licensor/app/mail"
	"github.com/licensor/licensor/app/web"
)

const mailPerPage = 25

// mailPreviewCSP confines a message's HTML, shown in a sandboxed iframe:
// no script, no request anywhere but inline styles and data/https images,
// framed only by the console itself.
const mailPreviewCSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data: https:; " +
	"font-src data:; sandbox; base-uri 'none'; form-action 'none'; frame-ancestors 'self'"

// mailIndex lists the outbox: every email queued, sent, kept (no SMTP
// server) or failed, newest first, filtered by status, kind and a search
// of recipient and subject.
func (h *handlers) mailIndex(c fiber.Ctx) error {
	f := mail.Filter{Status: c.Query("status"), Kind: c.Query("kind"), Search: c.Query("q")}
	page := web.PageOf(c, mailPerPage)
	msgs, total, err := mail.List(c.Context(), h.db, f, page)
	if err != nil {
		return err
	}
	return web.Render(c, fiber.StatusOK, web.View{
		Page: "admin/mail/index", Layout: "layouts/admin", Fragment: "admin/mail/index/results",
		Data: fiber.Map{
			"Title": "Mail", "Section": "mail", "Messages": msgs, "Filter": f, "Outbox": h.mailOutbox,
			"Statuses": []string{mail.StatusQueued, mail.StatusSent, mail.StatusOutbox, mail.StatusFailed},
			"Kinds":    mail.Kinds, "Pagination": web.Paginate(c, page, total),
		},
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
	if errors.Is(err, mail.ErrNotFound) {
		return nil, fiber.ErrNotFound
	}
	return m, err
}
