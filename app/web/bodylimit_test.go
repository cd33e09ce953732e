package web

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v3"
)

// TestBodyLimitReadsStreamedBodies: with fasthttp's StreamRequestBody (as
// the app runs) BodyLimit reads every body into the request, each request
// on a keep-alive connection its own (the buffers it reads into are
// pooled and reused), a body larger than its pooled buffers and one
// without a length (chunked) included, and refuses one over the limit.
func TestBodyLimitReadsStreamedBodies(t *testing.T) {
	t.Parallel()
	const limit = 200 << 10
	app := fiber.New(fiber.Config{StreamRequestBody: true, BodyLimit: limit})
	app.Use(BodyLimit(func(string, string) BodyRule { return BodyRule{Max: limit} }))
	app.Post("/", func(c fiber.Ctx) error {
		return c.SendString(fmt.Sprintf("%d:%s", len(c.Body()), c.Body()))
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = app.Listener(ln, fiber.ListenConfig{DisableStartupMessage: true}) }()
	t.Cleanup(func() { _ = app.ShutdownWithTimeout(5 * time.Second) })

	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close() }()
	r := bufio.NewReader(conn)
	roundTrip := func(req string) (status int, body string) {
		t.Helper()
		if _, err := conn.Write([]byte(req)); err != nil {
			t.Fatal(err)
		}
		var proto string
		if _, err := fmt.Fscanf(r, "%s %d", &proto, &status); err != nil {
			t.Fatal(err)
		}
		length := 0
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				t.Fatal(err)
			}
			if line == "\r\n" {
				break
			}
			if k, v, ok := strings.Cut(line, ":"); ok && strings.EqualFold(k, "Content-Length") {
				_, _ = fmt.Sscan(strings.TrimSpace(v), &length)
			}
		}
		b := make([]byte, length)
		if _, err := io.ReadFull(r, b); err != nil {
			t.Fatal(err)
		}
		return status, string(b)
	}
	post := func(body string) string {
		return fmt.Sprintf("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
	}
	for _, body := range []string{"first body, the longer one", "second", "", strings.Repeat("x", 100<<10), "after the large one"} {
		if status, got := roundTrip(post(body)); status != 200 || got != fmt.Sprintf("%d:%s", len(body), body) {
			t.Fatalf("body of %d bytes: %d %.40q", len(body), status, got)
		}
	}
	chunked := "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
	if status, got := roundTrip(chunked); status != 200 || got != "11:hello world" {
		t.Fatalf("chunked body: %d %q", status, got)
	}
	if status, _ := roundTrip(post(strings.Repeat("y", limit+1))); status != fiber.StatusRequestEntityTooLarge {
		t.Fatalf("body over the limit: %d", status)
	}
}
