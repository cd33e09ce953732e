package server_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v3"

	"github.com/licensor/licensor/app/audit"
	"github.com/licensor/licensor/app/catalog"
	"github.com/licensor/licensor/app/fields"
	"github.com/licensor/licensor/app/server/servertest"
	"github.com/licensor/licensor/app/settings"
)

// serve runs e's app on a real TCP listener until the test ends and
// returns its address.
func serve(t *testing.T, e *servertest.Env) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- e.App.Listener(ln, fiber.ListenConfig{DisableStartupMessage: true}) }()
	t.Cleanup(func() {
		_ = e.App.ShutdownWithTimeout(5 * time.Second)
		if err := <-done; err != nil {
			t.Logf("listener: %v", err)
		}
	})
	return ln.Addr().String()
}

// TestRefusedUploadsAnswerReadably: a request refused from its headers
// while its client is still sending the body (an anonymous upload, 403; a
// body declared over the limit, 413) gets its answer read by the client,
// every time. The server answers, then reads and throws away the rest of
// the body for a bounded time before closing; closed at once, the client's
// connection was reset and a Go client most often got "connection reset
// by peer" or "broken pipe" instead of the answer
// (docs/deploy.md#unread-request-bodies). Run with -count=20 to see it is
// not flaky.
func TestRefusedUploadsAnswerReadably(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	base := "http://" + serve(t, e)
	p, err := catalog.NewService(nil).CreateProduct(context.Background(), e.DB.Bun, audit.Source{Actor: audit.System},
		settings.Defaults(), catalog.ProductInput{Name: fields.Some("Acme CMS"), ReferenceID: fields.Some("ACME")})
	if err != nil {
		t.Fatal(err)
	}
	const size = 300 << 20
	// What the sockets' buffers hold and the bounded read after the
	// answer: far from the body's 300 MB.
	const bounded = 32 << 20
	client := &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	cases := []struct {
		name, path, contentType string
		chunked                 bool
		want                    int
	}{
		{"anonymous import", "/admin/imports", "multipart/form-data; boundary=" + testBoundary, false, http.StatusForbidden},
		{"anonymous version upload, chunked", fmt.Sprintf("/admin/products/%d/versions", p.ID), "multipart/form-data; boundary=" + testBoundary, true, http.StatusForbidden},
		{"anonymous avatar", "/customer/settings/avatar", "multipart/form-data; boundary=" + testBoundary, false, http.StatusForbidden},
		{"API body over the limit", "/api/activate_license", "application/json", false, http.StatusRequestEntityTooLarge},
		{"API version upload without a key", "/api/internal/products/ACME/versions", "multipart/form-data; boundary=" + testBoundary, false, http.StatusBadRequest},
	}
	for range 3 {
		for _, tc := range cases {
			body := newHugeBody(size)
			req, err := http.NewRequest(http.MethodPost, base+tc.path, body)
			if err != nil {
				t.Fatal(err)
			}
			req.ContentLength = size
			if tc.chunked {
				req.ContentLength = -1
			}
			req.Header.Set("Content-Type", tc.contentType)
			res, err := client.Do(req)
			if err != nil {
				t.Fatalf("%s: no answer after %d bytes: %v", tc.name, body.read.Load(), err)
			}
			answer, err := io.ReadAll(res.Body)
			_ = res.Body.Close()
			if err != nil {
				t.Fatalf("%s: answer cut after %d bytes: %v", tc.name, len(answer), err)
			}
			if res.StatusCode != tc.want || !res.Close {
				t.Errorf("%s: %d, Connection: close %v; want %d, closed\n%.300s", tc.name, res.StatusCode, res.Close, tc.want, answer)
			}
			if read := body.read.Load(); read > bounded {
				t.Errorf("%s: %d bytes of the body were sent before the answer", tc.name, read)
			}
		}
	}
}

// TestUnreadBodyEndsTheConnection: what is left of a body the app did not
// read is never taken for the next request on the connection. Before, an
// anonymous upload of a few kilobytes (under http.max_body_bytes, so the
// connection was kept) carried a request after the 8 KiB fasthttp reads
// ahead, and that request was served as the connection's next one: a
// proxy pooling its connections to Licensor would have had it answered to
// another of its clients. A body the app reads keeps the connection.
func TestUnreadBodyEndsTheConnection(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	addr := serve(t, e)
	const smuggled = "GET /api/health-check HTTP/1.1\r\nHost: x\r\n\r\n"
	multipart := "Content-Type: multipart/form-data; boundary=" + testBoundary + "\r\n"
	cases := []struct{ name, method, path, headers string }{
		{"anonymous import", "POST", "/admin/imports", multipart},
		{"anonymous avatar", "POST", "/customer/settings/avatar", multipart},
		{"API version upload without a key", "POST", "/api/internal/products/ACME/versions", multipart},
		{"compressed body", "POST", "/api/activate_license", "Content-Type: application/json\r\nContent-Encoding: gzip\r\n"},
		{"unknown method", "BREW", "/", "Content-Type: text/plain\r\n"},
	}
	for _, tc := range cases {
		for _, pad := range []int{8 << 10, 100} {
			body := strings.Repeat("a", pad) + smuggled
			conn, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			_ = conn.SetDeadline(time.Now().Add(20 * time.Second))
			fmt.Fprintf(conn, "%s %s HTTP/1.1\r\nHost: x\r\n%sContent-Length: %d\r\n\r\n%s", tc.method, tc.path, tc.headers, len(body), body)
			br := bufio.NewReader(conn)
			res, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatalf("%s (%d bytes): no answer: %v", tc.name, len(body), err)
			}
			_, _ = io.Copy(io.Discard, res.Body)
			_ = res.Body.Close()
			if !res.Close {
				t.Errorf("%s (%d bytes): %d without Connection: close", tc.name, len(body), res.StatusCode)
			}
			if next, err := http.ReadResponse(br, nil); err == nil {
				t.Errorf("%s (%d bytes): the body's rest was served as a request: %d", tc.name, len(body), next.StatusCode)
			}
			_ = conn.Close()
		}
	}

	// A body read whole (here 20 KB of JSON) keeps the connection.
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close() }()
	_ = conn.SetDeadline(time.Now().Add(20 * time.Second))
	body := `{"license_key":"` + strings.Repeat("x", 20<<10) + `"}`
	fmt.Fprintf(conn, "POST /api/activate_license HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s%s", len(body), body, smuggled)
	br := bufio.NewReader(conn)
	for i := range 2 {
		res, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("read body, answer %d: %v", i+1, err)
		}
		answer, _ := io.ReadAll(res.Body)
		_ = res.Body.Close()
		if res.Close || (i == 1 && !bytes.Contains(answer, []byte(`"status":"ok"`))) {
			t.Errorf("read body, answer %d: %d, Connection: close %v: %.200s", i+1, res.StatusCode, res.Close, answer)
		}
	}
}
