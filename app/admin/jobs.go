package admin

import (
	"net/http"
	"regexp"
	"strings"

	"github.com/gofiber/fiber/v3"
	"github.com/gofiber/fiber/v3/middleware/adaptor"
)

// jobsUICSP is the console's policy loosened for River's UI, a React app
// whose components insert style elements: inline styles are allowed there;
// scripts still come from this site only.
const jobsUICSP = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; " +
	"img-src 'self' data:; font-src 'self' data:; connect-src 'self'; object-src 'none'; " +
	"base-uri 'self'; form-action 'self'; frame-ancestors 'none'"

// jobsUI serves River's web UI (queues, jobs, failed jobs, retry) under
// /admin/jobs, behind the admin sign-in. Without one wired, the section
// says it is not available.
func (h *handlers) jobsUI(ui http.Handler) fiber.Handler {
	if ui == nil {
		return h.section("jobs", "Jobs")
	}
	serve := adaptor.HTTPHandler(ui)
	return func(c fiber.Ctx) error {
		c.Set("Content-Security-Policy", jobsUICSP)
		if err := serve(c); err != nil {
			return err
		}
		addLicensorBar(c)
		return nil
	}
}

// licensorBar is the header River's pages get at the top, so the job
// console keeps a way back to Licensor: its logo and a link to the
// dashboard, and the console's background pages beside it. Its styles
// are inline (River's page allows inline styles, not scripts).
const licensorBar = `<nav id="licensor-bar" aria-label="Licensor" style="display:flex;align-items:center;gap:1.25rem;padding:0.5rem 1rem;` +
	`background:#111827;color:#cbd5e1;font:14px/1.4 system-ui,sans-serif">` +
	`<a href="/admin" style="color:#fff;font-weight:600;text-decoration:none">&larr; Licensor console</a>` +
	`<a href="/admin/tools/cron" style="color:#cbd5e1">Cron</a>` +
	`<a href="/admin/mail" style="color:#cbd5e1">Mail</a>` +
	`<a href="/admin/webhooks" style="color:#cbd5e1">Webhooks</a>` +
	`<span style="margin-left:auto;opacity:0.8">Jobs (River)</span></nav>`

var bodyTag = regexp.MustCompile(`(?i)<body[^>]*>`)

// addLicensorBar puts licensorBar after the <body> tag of an HTML answer
// of River's UI (its page; assets and API answers are left alone).
func addLicensorBar(c fiber.Ctx) {
	resp := c.Response()
	if resp.StatusCode() != fiber.StatusOK || !strings.HasPrefix(string(resp.Header.ContentType()), "text/html") ||
		len(resp.Header.Peek(fiber.HeaderContentEncoding)) > 0 {
		return
	}
	body := resp.Body()
	loc := bodyTag.FindIndex(body)
	if loc == nil {
		return
	}
	out := make([]byte, 0, len(body)+len(licensorBar))
	out = append(out, body[:loc[1]]...)
	out = append(out, licensorBar...)
	out = append(out, body[loc[1]:]...)
	resp.SetBodyRaw(out)
}
