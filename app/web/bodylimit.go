package web

import (
	"errors"
	"io"
	"slices"
	"strings"
	"sync"

	"github.com/gofiber/fiber/v3"
)

// Streamed is the body limit of a route whose handler reads the body
// stream itself and bounds it.
const Streamed = -1

// BodyRule is a route's request body rule (see BodyLimit).
type BodyRule struct {
	// Max is the largest body in bytes, or Streamed.
	Max int
	// SignedIn marks an upload route of the console or the portal: its
	// multipart body is left unread until the session is known to be
	// signed in and the CSRF token (header or query, never the body) is
	// checked; ReadBody then reads it, bounded by Max.
	SignedIn bool
}

type pendingBodyKey struct{}

// EncodedBodyMessage says why a request with a Content-Encoding is refused
// (docs/api/conventions.md#requests).
const EncodedBodyMessage = "Compressed request bodies are not accepted: send the body without a Content-Encoding."

// ErrEncodedBody answers a request whose body has a Content-Encoding: 415,
// as the API's JSON envelope or a page (ErrorHandler).
var ErrEncodedBody = fiber.NewError(fiber.StatusUnsupportedMediaType, EncodedBodyMessage)

// encoded reports whether a Content-Encoding header asks for the body to be
// decoded: any coding but identity.
func encoded(header []byte) bool {
	for coding := range strings.SplitSeq(string(header), ",") {
		if c := strings.TrimSpace(coding); c != "" && !strings.EqualFold(c, "identity") {
			return true
		}
	}
	return false
}

// BodyLimit bounds request bodies to rule(method, path).Max bytes: config
// http.max_body_bytes for most routes, more for the few that take files.
// The app runs with fasthttp's StreamRequestBody, so a body larger than 8
// KiB reaches the app as an unread stream: here it is read (at most max+1
// bytes) into the request, or refused with 413, so no other handler ever
// reads an unbounded body.
//
// Two kinds of route are not read here. A rule of Streamed marks the
// requests whose handler reads the stream itself (version uploads, bounded
// by uploads.max_file_bytes). A SignedIn rule leaves a multipart body
// unread (ReadBody reads it once the session is checked), so an anonymous
// upload costs the server nothing and is answered 403, whatever it
// declares (docs/deploy.md#uploads-before-sign-in).
//
// A request body with a Content-Encoding (gzip, deflate, br, zstd) is
// refused on every route, 415 with ErrEncodedBody, before anything reads
// it: fasthttp gunzips a multipart form and Fiber's Body decodes every
// encoding in memory without a bound, so a few kilobytes could become
// gigabytes before any check (docs/deploy.md#compressed-request-bodies).
// Browsers and API clients send bodies as they are.
//
// A body left unread, or read in part, ends its connection once answered
// (CloseUnreadBodies).
func BodyLimit(rule func(method, path string) BodyRule) fiber.Handler {
	return func(c fiber.Ctx) error {
		req := c.Request()
		if encoded(req.Header.ContentEncoding()) {
			return ErrEncodedBody
		}
		if !req.IsBodyStream() {
			return c.Next()
		}
		r := rule(c.Method(), c.Path())
		if r.SignedIn && IsMultipart(c) {
			c.Locals(pendingBodyKey{}, r.Max)
			return c.Next()
		}
		if r.Max == Streamed {
			return c.Next()
		}
		return readBoundedBody(c, r.Max)
	}
}

// BodyPending reports whether c's body was left unread by BodyLimit for
// ReadBody: an upload that must not be read before its session is checked.
func BodyPending(c fiber.Ctx) bool {
	_, ok := c.Locals(pendingBodyKey{}).(int)
	return ok
}

// ReadBody reads a body BodyLimit left unread, bounded by its route's
// limit (413 beyond it); a Streamed route's body is left to its handler.
// It runs after the middleware that checks the session is signed in.
func ReadBody(c fiber.Ctx) error {
	max, ok := c.Locals(pendingBodyKey{}).(int)
	if !ok {
		return c.Next()
	}
	c.Locals(pendingBodyKey{}, nil)
	if max == Streamed {
		return c.Next()
	}
	return readBoundedBody(c, max)
}

// bodyBufs are the buffers a body of known length is read into before it
// is copied into the request's own (pooled) body buffer: the usual API
// body costs no allocation. Buffers grown past maxPooledBody are dropped.
var bodyBufs = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

const maxPooledBody = 64 << 10

func readBoundedBody(c fiber.Ctx, max int) error {
	req := c.Request()
	n := req.Header.ContentLength()
	if n > max {
		return fiber.ErrRequestEntityTooLarge
	}
	if n >= 0 && n <= maxPooledBody {
		// The stream of a body of known length ends after n bytes (<= max),
		// so reading it to its end is bounded. Only small bodies: a larger
		// Content-Length is a claim, and a buffer of its size made before
		// the bytes arrive would let a client that never sends them hold
		// that memory; io.ReadAll below grows with what really arrives.
		return readKnownBody(c, n)
	}
	body, err := io.ReadAll(io.LimitReader(req.BodyStream(), int64(max)+1))
	if err != nil {
		return fiber.ErrBadRequest
	}
	if len(body) > max {
		return fiber.ErrRequestEntityTooLarge
	}
	req.SetBodyRaw(body)
	return c.Next()
}

// readKnownBody reads a stream of n bytes to its end, as io.ReadAll would
// (a stream ending early leaves the bytes that came), into a pooled
// buffer, and makes it the request's body.
func readKnownBody(c fiber.Ctx, n int) error {
	req := c.Request()
	bp := bodyBufs.Get().(*[]byte)
	buf := slices.Grow((*bp)[:0], n)[:n]
	got, err := io.ReadFull(req.BodyStream(), buf)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		putBodyBuf(bp, buf)
		return fiber.ErrBadRequest
	}
	req.SetBody(buf[:got])
	putBodyBuf(bp, buf)
	return c.Next()
}

func putBodyBuf(bp *[]byte, buf []byte) {
	if cap(buf) <= maxPooledBody {
		*bp = buf[:0]
		bodyBufs.Put(bp)
	}
}
