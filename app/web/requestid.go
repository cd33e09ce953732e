package web

import (
	"crypto/rand"
	"encoding/hex"
	"strconv"
	"sync"

	"github.com/gofiber/fiber/v3"
)

// HeaderRequestID carries the request ID on every response (and is taken
// from the request when a proxy in front already assigned one).
const HeaderRequestID = "X-Request-Id"

// maxIncomingRequestID bounds a request ID supplied by the client, which
// ends up in every log line of the request.
const maxIncomingRequestID = 128

// headerRequestID is HeaderRequestID as bytes made once, canonical already.
var headerRequestID = []byte(HeaderRequestID)

var idBufs = sync.Pool{New: func() any { b := make([]byte, 0, 48); return &b }}

// RequestID assigns each request an ID, echoed in X-Request-Id. An
// incoming X-Request-Id of visible ASCII up to maxIncomingRequestID
// bytes is kept; otherwise the ID is a random prefix per process and
// fasthttp's request number (its connection's number and the request's
// on it), unique across nodes and restarts without reading randomness or
// allocating per request (a request ID names a log line; it guards
// nothing). The response header is where the ID lives: RequestIDOf
// reads it back, so a request whose ID no one logs never makes a string
// of it.
func RequestID() fiber.Handler {
	var b [6]byte
	_, _ = rand.Read(b[:])
	prefix := hex.EncodeToString(b[:]) + "-"
	return func(c fiber.Ctx) error {
		req, res := &c.Request().Header, &c.Response().Header
		if in := req.PeekBytes(headerRequestID); len(in) > 0 {
			if validRequestID(in) {
				res.SetCanonical(headerRequestID, in)
				return c.Next()
			}
			req.DelBytes(headerRequestID)
		}
		// fasthttp copies the value; the buffer it is made in comes from a
		// pool, as one on the stack would escape.
		bp := idBufs.Get().(*[]byte)
		*bp = strconv.AppendUint(append((*bp)[:0], prefix...), c.RequestCtx().ID(), 36)
		res.SetCanonical(headerRequestID, *bp)
		idBufs.Put(bp)
		return c.Next()
	}
}

// validRequestID reports whether an incoming request ID is kept: not
// too long, visible ASCII only (it is echoed in a header and logged).
func validRequestID(id []byte) bool {
	if len(id) > maxIncomingRequestID {
		return false
	}
	for _, ch := range id {
		if ch < 0x20 || ch > 0x7e {
			return false
		}
	}
	return true
}

// RequestIDOf returns the request's ID ("" outside the RequestID middleware).
func RequestIDOf(c fiber.Ctx) string {
	return string(c.Response().Header.PeekBytes(headerRequestID))
}
