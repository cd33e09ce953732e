package web

import "github.com/gofiber/fiber/v3"

// htmx request and response headers used here.
const (
	HeaderHXRequest        = "HX-Request"
	HeaderHXBoosted        = "HX-Boosted"
	HeaderHXHistoryRestore = "HX-History-Restore-Request"
	HeaderHXCurrentURL     = "HX-Current-URL"
	HeaderHXRedirect       = "HX-Redirect"
	HeaderHXRetarget       = "HX-Retarget"
	HeaderHXReswap         = "HX-Reswap"
)

// IsHTMX reports whether htmx sent the request (including boosted links and
// forms).
func IsHTMX(c fiber.Ctx) bool {
	return c.Get(HeaderHXRequest) == "true"
}

// wantsFragment reports whether the response should be a page's fragment
// only: an htmx request that is neither boosted navigation (which swaps the
// whole body, so it needs the full page) nor a history restore (which
// rebuilds the whole page from the response).
func wantsFragment(c fiber.Ctx) bool {
	return IsHTMX(c) && c.Get(HeaderHXBoosted) != "true" && c.Get(HeaderHXHistoryRestore) != "true"
}
