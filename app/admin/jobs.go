package admin

import (
	"net/http"

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
		return serve(c)
	}
}
