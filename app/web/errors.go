package web

import (
	"errors"
	"net/http"
	"strings"
	"syscall"

	"github.com/gofiber/fiber/v3"

	"github.com/licensor/licensor/app/db"
)

// IsAPIPath reports whether path belongs to the JSON API (modern and legacy
// paths), whose errors are JSON rather than pages.
func IsAPIPath(path string) bool {
	return path == "/api" || strings.HasPrefix(path, "/api/") || strings.HasPrefix(path, "/api_internal/")
}

// apiError is the API's error envelope (spec api.md §1.4).
type apiError struct {
	Status   bool   `json:"status"`
	IsActive bool   `json:"is_active"`
	Message  string `json:"message"`
}

// apiMessages are the API's fixed messages per status (api.md §1.4).
var apiMessages = map[int]string{
	fiber.StatusBadRequest:            "The request body could not be read.",
	fiber.StatusNotFound:              "Not found.",
	fiber.StatusMethodNotAllowed:      "Method not allowed.",
	fiber.StatusRequestEntityTooLarge: "The request body is too large.",
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

// ErrorHandler is the app's error handler: API paths get the JSON envelope,
// everything else an error page in the auth layout. A *fiber.Error keeps its
// status; an error meaning the database cannot be reached is a 503 with
// Retry-After (a restart or failover, not a bug); any other error is a 500
// whose details stay in the log (the request logger logs it with the
// request ID) and out of the response.
func ErrorHandler() fiber.ErrorHandler {
	return func(c fiber.Ctx, err error) error {
		code := fiber.StatusInternalServerError
		var fe *fiber.Error
		if errors.As(err, &fe) {
			code = fe.Code
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
		return Render(c, code, View{
			Page:   page.template,
			Layout: "layouts/auth",
			Data:   fiber.Map{"Title": page.title, "Message": page.message, "Status": code},
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
