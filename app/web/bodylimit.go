package web

import (
	"io"

	"github.com/gofiber/fiber/v3"
)

// Streamed is the body limit of a route whose handler reads the body
// stream itself and bounds it.
const Streamed = -1

// BodyLimit bounds request bodies to limit(method, path) bytes: config
// http.max_body_bytes for most routes, more for the few that take files.
// The app runs with fasthttp's StreamRequestBody, so a body larger than the
// server's limit reaches the handler as an unread stream instead of being
// refused before routing: here it is read (at most max+1 bytes) into the
// request, or refused with 413, so no other handler ever reads an
// unbounded body. A limit of Streamed marks the requests whose handler
// reads the stream itself (version uploads, bounded by
// uploads.max_file_bytes); def is then what counts as an oversized body
// for keeping the connection.
func BodyLimit(def int, limit func(method, path string) int) fiber.Handler {
	return func(c fiber.Ctx) error {
		req := c.Request()
		if !req.IsBodyStream() {
			return c.Next()
		}
		cl := req.Header.ContentLength()
		max := limit(c.Method(), c.Path())
		if max == Streamed {
			max = def
			// A handler may answer without reading the whole body (a wrong
			// key, a 413); the unread rest must not be taken for the next
			// request on the connection.
			if cl < 0 || cl > max {
				c.Response().SetConnectionClose()
			}
			return c.Next()
		}
		if cl > max {
			c.Response().SetConnectionClose()
			return fiber.ErrRequestEntityTooLarge
		}
		body, err := io.ReadAll(io.LimitReader(req.BodyStream(), int64(max)+1))
		if err != nil {
			return fiber.ErrBadRequest
		}
		if len(body) > max {
			c.Response().SetConnectionClose()
			return fiber.ErrRequestEntityTooLarge
		}
		req.SetBodyRaw(body)
		return c.Next()
	}
}
