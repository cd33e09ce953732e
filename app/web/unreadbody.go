package web

import (
	"io"
	"net"
	"time"

	"github.com/gofiber/fiber/v3"
	"github.com/valyala/fasthttp"
)

// What a connection closed over an unread request body may still cost
// once its answer is sent (CloseUnreadBodies): the time the client has to
// read the answer, how much of the rest of the body is read and thrown
// away meanwhile, and how many connections may linger so at once (past
// that, a connection is closed at once, as fasthttp does).
const (
	lingerTime  = time.Second
	lingerBytes = 1 << 20
	lingerConns = 256
)

var lingering = make(chan struct{}, lingerConns)

// CloseUnreadBodies makes app end every connection whose request body was
// not read to its end, and end it so that the client reads the answer.
// Call it once, on the app New built, before it serves.
//
// The app streams request bodies (fasthttp's StreamRequestBody), and some
// requests are answered from their headers alone, their body left unread:
// a compressed body (415), one declared over its route's limit (413), an
// anonymous or token-less upload (403), a version upload with a wrong key,
// a method Fiber does not know (501). What is left of such a body must
// never be parsed as the next request on the connection: a client (or a
// proxy's pooled connection) would otherwise have its body's bytes served
// as a request of their own. So the answer says Connection: close.
//
// Closed at once, with the client still sending, the connection would be
// reset and the client would often lose the answer it had not read yet
// (RFC 9112 section 9.6). So on a real connection the answer is written,
// the sending half closed, and the rest of the body read and thrown away
// until it ends, for at most lingerTime and lingerBytes — after the
// answer, never before it, and never kept, so an upload refused before
// its session is checked still costs nothing but the discarded bytes
// (docs/deploy.md#unread-request-bodies).
func CloseUnreadBodies(app *fiber.App) {
	srv := app.Server()
	next := srv.Handler
	srv.Handler = func(ctx *fasthttp.RequestCtx) {
		next(ctx)
		finishUnreadBody(ctx)
	}
}

// finishUnreadBody runs once the app has answered. A body read through
// BodyLimit or ReadBody is no longer a stream; one left as a stream was
// read by its handler only in part, if at all.
func finishUnreadBody(ctx *fasthttp.RequestCtx) {
	req := &ctx.Request
	if !req.IsBodyStream() || req.Header.ContentLength() == 0 {
		return
	}
	ctx.Response.SetConnectionClose()
	conn, ok := ctx.Conn().(interface{ CloseWrite() error })
	if !ok {
		// Not a TCP or TLS connection (app.Test's): nothing to reset.
		return
	}
	select {
	case lingering <- struct{}{}:
	default:
		return
	}
	// fasthttp skips a hijack over a Connection: close answer unless it
	// leaves the answer to the hijacker; it keeps ctx until the hijacker
	// returns, then closes the connection.
	ctx.HijackSetNoResponse(true)
	ctx.Hijack(func(c net.Conn) {
		defer func() { <-lingering }()
		lingerClose(ctx, c, conn.CloseWrite)
	})
}

// lingerClose writes ctx's answer to c, closes the sending half and reads
// the rest of the body until it ends, for at most lingerTime. Past
// lingerBytes it stops reading and waits out the time: the client's
// sending stalls, and whatever it still sends resets the connection only
// once the answer had its time to be read.
func lingerClose(ctx *fasthttp.RequestCtx, c net.Conn, closeWrite func() error) {
	deadline := time.Now().Add(lingerTime)
	if err := c.SetDeadline(deadline); err != nil {
		return
	}
	if _, err := ctx.Response.WriteTo(c); err != nil {
		return
	}
	_ = closeWrite()
	if _, err := io.CopyN(io.Discard, ctx.Request.BodyStream(), lingerBytes); err != nil {
		return // the body ended, or the client stopped or went away
	}
	wait := time.NewTimer(time.Until(deadline))
	defer wait.Stop()
	<-wait.C
}
