package web

import (
	"errors"
	"net/http"
	"strings"
	"syscall"

	"github.com/gofiber/fiber/v3"

	"github.com/licensor/licensor/app/db"
	"github.com/licensor/licensor/app/errkind"
)

// IsAPIPath reports whether path belongs to the JSON API (modern and legacy
// paths), whose errors are JSON rather than pages.
func IsAPIPath(path string) bool {
	return path == "/api" || strings.HasPrefix(path, "/api/") || strings.HasPrefix(path, "/api_internal/")
}

// apiError is the API's error envelope (docs/api/conventions.md#error-envelope).
type apiError struct {
	Status   bool   `json:"status"`
	IsActive bool   `json:"is_active"`
	Message  string `json:"message"`
}

// apiMessages are the API's fixed messages per status (docs/api/conventions.md#error-envelope).
var apiMessages = map[int]string{
	fiber.StatusBadRequest:            "The request body could not be read.",
	fiber.StatusNotFound:              "Not found.",
	fiber.StatusMethodNotAllowed:      "Method not allowed.",
	fiber.StatusRequestEntityTooLarge: "The request body is too large.",
	fiber.StatusUnsupportedMediaType:  EncodedBodyMessage,
	fiber.StatusTooManyRequests:       "Rate limit exceeded. Try again later.",
}

const apiServerErrorMessage = "Something went wrong. Please try again later."

// unavailableMessage answers while the database cannot be reached.
const unavailableMessage = "The service is temporarily unavailable. Please try again shortly."

// noSpaceMessage answers an upload that the disk could not hold.
const noSpaceMessage = "There is not enough disk space on the server to store this file."

// retryAfterSeconds is what a 503 asks clients to wait.
const retryAfterSeconds = "5"

// errorPage is what an HTML error response shows.
type errorPage struct {
	template, title, message string
}

// kindStatus answers a domain error by its kind (app/errkind): handlers
// return errors such as catalog.ErrNotFound as they are.
var kindStatus = map[errkind.Kind]int{
	errkind.NotFound:  fiber.StatusNotFound,
	errkind.Forbidden: fiber.StatusForbidden,
	errkind.Conflict:  fiber.StatusConflict,
	errkind.Invalid:   fiber.StatusUnprocessableEntity,
}

// ErrorHandler is the app's error handler: API paths get the JSON envelope,
// everything else an error page in the auth layout. A *fiber.Error keeps its
// status, a domain error gets its kind's; an error meaning the database cannot be reached is a 503 with
// Retry-After (a restart or failover, not a bug); any other error is a 500
// whose details stay in the log (the request logger logs it with the
// request ID) and out of the response.
func ErrorHandler() fiber.ErrorHandler {
	return func(c fiber.Ctx, err error) error {
		code := fiber.StatusInternalServerError
		var fe *fiber.Error
		if errors.As(err, &fe) {
			code = fe.Code
		} else if kind := kindStatus[errkind.Of(err)]; kind != 0 {
			code = kind
		}
		if code < 400 || code > 599 {
			code = fiber.StatusInternalServerError
		}
		unavailable := fe == nil && db.Unavailable(err)
		if unavailable {
			code = fiber.StatusServiceUnavailable
			c.Set(fiber.HeaderRetryAfter, retryAfterSeconds)
		}
		// A full disk (an upload bigger than the free space) is the
		// server's condition, said plainly: 507.
		noSpace := fe == nil && errors.Is(err, syscall.ENOSPC)
		if noSpace {
			code = fiber.StatusInsufficientStorage
		}
		// Whatever a handler had started to write is replaced.
		c.Response().ResetBody()

		if IsAPIPath(c.Path()) {
			msg := apiMessages[code]
			switch {
			case unavailable:
				msg = unavailableMessage
			case noSpace:
				msg = noSpaceMessage
			case code >= 500:
				msg = apiServerErrorMessage
			case msg == "":
				msg = http.StatusText(code) + "."
			}
			return c.Status(code).JSON(apiError{Message: msg})
		}

		page := htmlErrorPage(code, fe)
		if unavailable {
			page = errorPage{"errors/500", "Temporarily unavailable", unavailableMessage}
		}
		if noSpace {
			page = errorPage{"errors/500", "Not enough disk space", noSpaceMessage}
		}
		if IsHTMX(c) {
			// An htmx request would otherwise swap the error page into
			// whatever element it targeted.
			c.Set(HeaderHXRetarget, "body")
			c.Set(HeaderHXReswap, "innerHTML")
		}
		// The console's pages lead back to the console; every other page
		// (the portal, a mistyped address) is the portal's, in its style,
		// and never mentions the console.
		layout, home, homeLabel := "layouts/portal", "/customer/dashboard", "Go to your account"
		if p := c.Path(); p == "/admin" || strings.HasPrefix(p, "/admin/") {
			layout, home, homeLabel = "layouts/auth", "/admin", "Go to the console"
		}
		return Render(c, code, View{
			Page:   page.template,
			Layout: layout,
			Data:   fiber.Map{"Title": page.title, "Message": page.message, "Status": code, "Home": home, "HomeLabel": homeLabel},
		})
	}
}

func htmlErrorPage(code int, fe *fiber.Error) errorPage {
	switch {
	case code == fiber.StatusNotFound || code == fiber.StatusMethodNotAllowed:
		return errorPage{"errors/404", "Page not found", "The page you asked for does not exist or has moved."}
	case code == fiber.StatusForbidden:
		msg := "You are not allowed to do this."
		if fe != nil && fe.Message != "" && fe.Message != http.StatusText(code) {
			msg = fe.Message
		}
		return errorPage{"errors/403", "Access denied", msg}
	case code >= 500:
		return errorPage{"errors/500", "Something went wrong", "Something went wrong on our side. Please try again later."}
	}
	msg := http.StatusText(code) + "."
	if fe != nil && fe.Message != "" {
		msg = fe.Message
	}
	return errorPage{"errors/4xx", http.StatusText(code), msg}
}
