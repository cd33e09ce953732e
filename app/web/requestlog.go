package web

import (
	"errors"
	"log/slog"
	"strings"
	"time"

	"github.com/gofiber/fiber/v3"
)

// RequestLogger logs one line per request: method, path, status, duration,
// request ID and client IP. It runs the app's error handler itself, so the
// logged status is the one the client gets and the error is logged once,
// here, with the request ID. Quiet paths (health checks polled by load
// balancers) log at debug level. mask (may be nil) rewrites each logged
// path, and any error text repeating it, so that secrets carried in paths
// (reset and confirmation tokens, download links, store webhook secrets)
// never reach the log: see SecretPaths. The path is masked only for a
// line written and when LogPath asks (a refusal, a panic), not for every
// request: app is where LogPath finds mask.
func RequestLogger(app *fiber.App, logger *slog.Logger, mask func(string) string, quietPaths ...string) fiber.Handler {
	if mask == nil {
		mask = func(p string) string { return p }
	}
	app.State().Set(pathMaskKey, mask)
	quiet := make(map[string]bool, len(quietPaths))
	for _, p := range quietPaths {
		quiet[p] = true
	}
	return func(c fiber.Ctx) error {
		path := c.Path()
		err := c.Next()
		if err != nil && !isAnswered(err) {
			if herr := c.App().ErrorHandler(c, err); herr != nil {
				// The error page itself failed; answer plainly.
				_ = c.Status(fiber.StatusInternalServerError).SendString("Internal Server Error")
				err = herr
			}
		}
		status := c.Response().StatusCode()
		level := slog.LevelInfo
		switch {
		case status >= 500:
			level = slog.LevelError
		case quiet[c.Path()]:
			level = slog.LevelDebug
		}
		ctx := c.Context() // once: each call scans the request's user values
		if !logger.Enabled(ctx, level) {
			return nil
		}
		logged := mask(path)
		attrs := []slog.Attr{
			slog.String("method", c.Method()),
			slog.String("path", logged),
			slog.Int("status", status),
			slog.Duration("duration", time.Since(RequestTime(c))),
			slog.String("request_id", RequestIDOf(c)),
			slog.String("ip", ClientIP(c)),
		}
		if err != nil {
			msg := err.Error()
			if logged != path {
				// Fiber's own 404 and 405 messages repeat the path.
				msg = strings.ReplaceAll(msg, path, logged)
			}
			attrs = append(attrs, slog.String("error", msg))
		}
		logger.LogAttrs(ctx, level, "http request", attrs...)
		return nil
	}
}

// Answered marks err as already answered: a middleware that must see the
// final response (the external API's response signature covers error
// answers too) ran the app's error handler itself. RequestLogger logs the
// error without answering again.
func Answered(err error) error {
	if err == nil {
		return nil
	}
	return answeredError{err}
}

type answeredError struct{ error }

// isAnswered reports whether err is marked by Answered. Its own function:
// errors.As's target escapes, and declared where every request passes it
// would cost an allocation per request.
func isAnswered(err error) bool {
	var answered answeredError
	return errors.As(err, &answered)
}

func (e answeredError) Unwrap() error { return e.error }

// pathMaskKey holds RequestLogger's mask in its app's State, for LogPath.
const pathMaskKey = "licensor.web.pathMask"

// LogPath is the request's path as logs and the activity log may show it:
// its secret segments masked by RequestLogger's mask (the path as it is
// in an app without RequestLogger). Asked for by the few requests that
// log it, it masks the path itself rather than every request paying for
// a masked path kept for it.
func LogPath(c fiber.Ctx) string {
	if mask, ok := c.App().State().Get(pathMaskKey); ok {
		if mask, ok := mask.(func(string) string); ok {
			return mask(c.Path())
		}
	}
	return c.Path()
}

// Masked replaces a secret path segment in the request log.
const Masked = "[masked]"

// SecretPaths returns a mask for RequestLogger: each pattern is a path
// whose segments are literal, "*" (any one segment, kept) or "{secret}"
// (any one segment, logged as Masked). A path matching a pattern's
// segments, and maybe more after them, is logged with its secret
// segments masked (docs/deploy.md#secrets-in-urls).
func SecretPaths(patterns ...string) func(string) string {
	split := make([][]string, len(patterns))
	// prefixes are the patterns' literal segments up to the first
	// wildcard, with the slash after them: a path that starts with none of
	// them (in any case) matches no pattern, and is told so without
	// splitting it, as nearly every request is.
	prefixes := make([]string, len(patterns))
	for i, p := range patterns {
		split[i] = strings.Split(strings.Trim(p, "/"), "/")
		lit := "/"
		for _, seg := range split[i] {
			if seg == "*" || seg == "{secret}" {
				break
			}
			lit += seg + "/"
		}
		prefixes[i] = lit
	}
	return func(path string) string {
		candidate := false
		for _, lit := range prefixes {
			if len(path) >= len(lit) && strings.EqualFold(path[:len(lit)], lit) {
				candidate = true
				break
			}
		}
		if !candidate {
			return path
		}
		segs := strings.Split(strings.TrimPrefix(path, "/"), "/")
		for _, pat := range split {
			if len(segs) < len(pat) {
				continue
			}
			matched, secret := true, false
			for i, ps := range pat {
				switch {
				case ps == "{secret}":
					secret = secret || segs[i] != ""
				case ps == "*":
				case !strings.EqualFold(ps, segs[i]):
					matched = false
				}
				if !matched {
					break
				}
			}
			if !matched || !secret {
				continue
			}
			out := append([]string(nil), segs...)
			for i, ps := range pat {
				if ps == "{secret}" {
					out[i] = Masked
				}
			}
			return "/" + strings.Join(out, "/")
		}
		return path
	}
}
