package web

import (
	"crypto/rand"
	"encoding/hex"
	"strconv"
	"sync/atomic"

	"github.com/gofiber/fiber/v3"
	"github.com/gofiber/fiber/v3/middleware/requestid"
)

// HeaderRequestID carries the request ID on every response (and is taken
// from the request when a proxy in front already assigned one).
const HeaderRequestID = "X-Request-Id"

// maxIncomingRequestID bounds a request ID supplied by the client, which
// ends up in every log line of the request.
const maxIncomingRequestID = 128

// RequestID assigns each request an ID, echoed in X-Request-Id.
func RequestID() fiber.Handler {
	assign := requestid.New(requestid.Config{Header: HeaderRequestID, Generator: requestIDs()})
	return func(c fiber.Ctx) error {
		if len(c.Get(HeaderRequestID)) > maxIncomingRequestID {
			c.Request().Header.Del(HeaderRequestID)
		}
		return assign(c)
	}
}

// RequestIDOf returns the request's ID ("" outside the RequestID middleware).
func RequestIDOf(c fiber.Ctx) string {
	return requestid.FromContext(c)
}

// requestIDs returns a generator of request IDs: a random prefix per
// process and a counter, unique across nodes and restarts without reading
// randomness per request (a request ID names a log line; it guards
// nothing).
func requestIDs() func() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	prefix := hex.EncodeToString(b[:]) + "-"
	var n atomic.Uint64
	return func() string {
		var buf [32]byte
		return string(strconv.AppendUint(append(buf[:0], prefix...), n.Add(1), 36))
	}
}
