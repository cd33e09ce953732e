package web

import (
	"errors"
	"fmt"
	"mime"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/gofiber/fiber/v3"
	"github.com/gofiber/fiber/v3/extractors"
	"github.com/gofiber/fiber/v3/middleware/csrf"
	"github.com/gofiber/fiber/v3/middleware/session"
)

// CSRFFormField and CSRFHeader carry the token: the hidden field in forms,
// the header on htmx requests (the layout sets hx-headers on <body>).
const (
	CSRFFormField = "_csrf"
	CSRFHeader    = "X-CSRF-Token"
)

// ErrFormExpired is what a request failing the CSRF check gets: the usual
// cause is a form left open past its session.
var ErrFormExpired = fiber.NewError(fiber.StatusForbidden,
	"This form has expired. Go back, reload the page and try again.")

// ErrSignInFirst answers an upload sent without a signed-in session: its
// body is refused unread (web.BodyLimit).
var ErrSignInFirst = fiber.NewError(fiber.StatusForbidden, "Sign in to upload files.")

// CSRFConfig configures CSRF protection for one session kind.
type CSRFConfig struct {
	// Sessions is the session store the token lives in; the Sessions
	// middleware must run before CSRF.
	Sessions    *session.Store
	CookieName  string
	Secure      bool
	IdleTimeout time.Duration
	// BaseURL is trusted as an origin besides the request's own host, for
	// deployments where the proxy rewrites Host.
	BaseURL string
	// JSONPaths are path prefixes whose unsafe requests come from a
	// same-origin script that cannot carry the token (River's UI under
	// /admin/jobs calls its API with fetch). Such a request passes without
	// the token when it is application/json, which no cross-site form can
	// send and a cross-site script can only send after a CORS preflight
	// this server never answers, and when its Origin is this site.
	JSONPaths []string
}

// CSRF protects unsafe methods (POST, PUT, PATCH, DELETE): they need the
// session's token in the _csrf form field or the X-CSRF-Token header, plus
// the matching cookie, and a same-origin Origin/Referer when present. A
// failure is ErrFormExpired (403).
func CSRF(cfg CSRFConfig) (fiber.Handler, error) {
	var trusted []string
	if cfg.BaseURL != "" {
		u, err := url.Parse(cfg.BaseURL)
		if err != nil || u.Scheme == "" || u.Host == "" {
			return nil, fmt.Errorf("csrf: base url %q is not absolute", cfg.BaseURL)
		}
		trusted = append(trusted, u.Scheme+"://"+u.Host)
	}
	return csrf.New(csrf.Config{
		Next:           func(c fiber.Ctx) bool { return sameOriginJSON(c, cfg.JSONPaths, trusted) },
		Session:        cfg.Sessions,
		CookieName:     cfg.CookieName,
		CookiePath:     "/",
		CookieSecure:   cfg.Secure,
		CookieHTTPOnly: true,
		CookieSameSite: fiber.CookieSameSiteLaxMode,
		IdleTimeout:    cfg.IdleTimeout,
		TrustedOrigins: trusted,
		Extractor:      csrfExtractor(),
		ErrorHandler: func(_ fiber.Ctx, err error) error {
			return errors.Join(ErrFormExpired, err)
		},
	}), nil
}

// csrfExtractor reads the token from the form field first: after a
// sign-out the header htmx sends may still hold the old session's token
// while the form has the new one. A multipart request's token is read from
// the header (the console's upload script) or the query (the action of a
// multipart form, for browsers without JavaScript), never from its body:
// an upload's body is read only once the session and the token are checked
// (docs/deploy.md#uploads-before-sign-in).
func csrfExtractor() extractors.Extractor {
	chain := extractors.Chain(extractors.FromForm(CSRFFormField), extractors.FromHeader(CSRFHeader))
	inner := chain.Extract
	beforeBody := extractors.Chain(extractors.FromHeader(CSRFHeader), extractors.FromQuery(CSRFFormField)).Extract
	chain.Extract = func(c fiber.Ctx) (string, error) {
		if IsMultipart(c) {
			return beforeBody(c)
		}
		return inner(c)
	}
	return chain
}

// IsMultipart reports whether c's body is multipart/form-data.
func IsMultipart(c fiber.Ctx) bool {
	mt, _, err := mime.ParseMediaType(c.Get(fiber.HeaderContentType))
	return err == nil && mt == "multipart/form-data"
}

// sameOriginJSON reports whether c is a JSON request under one of paths
// from this site's own pages.
func sameOriginJSON(c fiber.Ctx, paths, trusted []string) bool {
	under := false
	for _, p := range paths {
		if strings.HasPrefix(c.Path(), p) {
			under = true
			break
		}
	}
	if !under {
		return false
	}
	if mt, _, err := mime.ParseMediaType(c.Get(fiber.HeaderContentType)); err != nil || mt != fiber.MIMEApplicationJSON {
		return false
	}
	origin := c.Get(fiber.HeaderOrigin)
	if origin == "" {
		return c.Get("Sec-Fetch-Site") == "same-origin"
	}
	return origin == c.Scheme()+"://"+c.Host() || slices.Contains(trusted, origin)
}

// CSRFToken returns the token to put in forms ("" outside CSRF).
func CSRFToken(c fiber.Ctx) string {
	return csrf.TokenFromContext(c)
}
