package server_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gofiber/fiber/v3"

	"github.com/licensor/licensor/app/audit"
	"github.com/licensor/licensor/app/catalog"
	"github.com/licensor/licensor/app/config"
	"github.com/licensor/licensor/app/fields"
	"github.com/licensor/licensor/app/imports"
	"github.com/licensor/licensor/app/server/servertest"
	"github.com/licensor/licensor/app/settings"
	"github.com/licensor/licensor/app/web/webtest"
)

// hugeBody is a multipart body of size bytes that is never held anywhere:
// a file part of zeros, counting how much of it was read.
type hugeBody struct {
	head []byte
	left int64
	read atomic.Int64
}

const testBoundary = "licensor-test-boundary"

func newHugeBody(size int64) *hugeBody {
	head := []byte("--" + testBoundary + "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.zip\"\r\n" +
		"Content-Type: application/zip\r\n\r\n")
	return &hugeBody{head: head, left: size - int64(len(head))}
}

func (b *hugeBody) Read(p []byte) (int, error) {
	n := 0
	if len(b.head) > 0 {
		n = copy(p, b.head)
		b.head = b.head[n:]
	} else {
		if b.left <= 0 {
			return 0, io.EOF
		}
		n = len(p)
		if int64(n) > b.left {
			n = int(b.left)
		}
		clear(p[:n])
		b.left -= int64(n)
	}
	b.read.Add(int64(n))
	return n, nil
}

// rawUpload posts a 300 MB multipart body to path over a real connection
// and returns the answer's status, how many bytes of the body the server
// took before it answered, and how long that took. chunked sends it without
// a Content-Length. headers are name, value pairs.
func rawUpload(t *testing.T, addr, path string, chunked bool, headers ...string) (status int, read int64, took time.Duration) {
	t.Helper()
	const size = 300 << 20
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close() }()
	var head strings.Builder
	fmt.Fprintf(&head, "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: multipart/form-data; boundary=%s\r\n", path, addr, testBoundary)
	if chunked {
		head.WriteString("Transfer-Encoding: chunked\r\n")
	} else {
		fmt.Fprintf(&head, "Content-Length: %d\r\n", size)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		fmt.Fprintf(&head, "%s: %s\r\n", headers[i], headers[i+1])
	}
	head.WriteString("\r\n")
	start := time.Now()
	if _, err := io.WriteString(conn, head.String()); err != nil {
		t.Fatal(err)
	}
	body := newHugeBody(size)
	go func() {
		// Ends with an error once the server closes the connection.
		var w io.Writer = conn
		if chunked {
			cw := httputil.NewChunkedWriter(conn)
			defer func() { _ = cw.Close() }()
			w = cw
		}
		_, _ = io.Copy(w, body)
	}()
	_ = conn.SetReadDeadline(time.Now().Add(60 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("POST %s: no answer after %d bytes: %v", path, body.read.Load(), err)
	}
	took = time.Since(start)
	_ = resp.Body.Close()
	return resp.StatusCode, body.read.Load(), took
}

// cookieHeader is the Cookie header c's jar sends.
func cookieHeader(c *webtest.Client) string {
	u, _ := url.Parse(webtest.BaseURL)
	var parts []string
	for _, ck := range c.Jar.Cookies(u) {
		parts = append(parts, ck.Name+"="+ck.Value)
	}
	return strings.Join(parts, "; ")
}

// TestUploadsRefusedBeforeTheirBody is issue 15.1: an upload to the
// console or the portal is read only once its session is signed in and,
// multipart, its CSRF token came in the header or the query. An anonymous
// or token-less 300 MB upload is answered 403 at once, having cost the
// server a few kilobytes and nothing in the temp folder; a signed-in
// upload still stops at its route's limit while streaming
// (docs/deploy.md#uploads-before-sign-in).
//
// Not parallel: TMPDIR (where multipart bodies spill) is the test's own
// folder, so its growth is the upload's alone.
func TestUploadsRefusedBeforeTheirBody(t *testing.T) {
	e := servertest.New(t, func(cfg *config.Config) { cfg.Uploads.MaxFileBytes = 1 << 20 })
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
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
	addr := ln.Addr().String()
	p, err := catalog.NewService(nil).CreateProduct(context.Background(), e.DB.Bun, audit.Source{Actor: audit.System},
		settings.Defaults(), catalog.ProductInput{Name: fields.Some("Acme CMS"), ReferenceID: fields.Some("ACME")})
	if err != nil {
		t.Fatal(err)
	}
	versions := fmt.Sprintf("/admin/products/%d/versions", p.ID)

	// A visitor's session with its token, from the sign-in pages.
	anonAdmin := e.Client(t)
	anonAdmin.GetCSRF("/admin/login")
	anonPortal := e.Client(t)
	anonPortal.GetCSRF("/customer/login")
	admin := e.SignIn(t)
	admin.GetCSRF("/admin/imports")

	// At most what fasthttp reads ahead (8 KiB) and what the two sockets'
	// buffers hold while the answer is on its way: far from 300 MB.
	const bounded = 16 << 20
	uploads := []string{versions, versions + "/1/edit", "/admin/imports", "/admin/account/avatar", "/customer/settings/avatar", "/admin/offline-activation", "/customer/offline-activation/release"}
	for _, path := range uploads {
		portal := strings.HasPrefix(path, "/customer/")
		visitor := anonAdmin
		if portal {
			visitor = anonPortal
		}
		cases := []struct {
			name    string
			headers []string
		}{
			{"anonymous", nil},
			{"anonymous with a visitor's token", []string{"Cookie", cookieHeader(visitor), "X-CSRF-Token", visitor.CSRF}},
			{"anonymous with a visitor's token in the query", []string{"Cookie", cookieHeader(visitor)}},
		}
		if !portal {
			cases = append(cases, struct {
				name    string
				headers []string
			}{"signed in without a token", []string{"Cookie", cookieHeader(admin)}})
		}
		for _, tc := range cases {
			for _, chunked := range []bool{false, true} {
				target := path
				if strings.HasSuffix(tc.name, "in the query") {
					target += "?_csrf=" + url.QueryEscape(visitor.CSRF)
				}
				status, read, took := rawUpload(t, addr, target, chunked, tc.headers...)
				t.Logf("%s %s chunked=%v: %d after %d bytes in %s", tc.name, path, chunked, status, read, took)
				if status != http.StatusForbidden {
					t.Errorf("%s upload to %s (chunked %v): status %d, want 403", tc.name, path, chunked, status)
				}
				if read > bounded {
					t.Errorf("%s upload to %s (chunked %v): the server read %d bytes before answering", tc.name, path, chunked, read)
				}
				if took > 10*time.Second {
					t.Errorf("%s upload to %s (chunked %v): answered after %s", tc.name, path, chunked, took)
				}
			}
		}
	}

	// Signed in with the token, each route stops at its own limit while
	// the body streams, and the temp folder keeps nothing.
	caps := map[string]int{
		versions:         2*int(e.Config.Uploads.MaxFileBytes) + e.Config.HTTP.MaxBodyBytes,
		"/admin/imports": imports.DefaultMaxBytes + 64<<10,
	}
	for path, limit := range caps {
		status, read, _ := rawUpload(t, addr, path, true, "Cookie", cookieHeader(admin), "X-CSRF-Token", admin.CSRF)
		if status != http.StatusRequestEntityTooLarge || read > int64(limit)+bounded {
			t.Errorf("signed-in 300 MB upload to %s: %d after %d bytes, want 413 within its %d-byte limit", path, status, read, limit)
		}
	}

	left, err := os.ReadDir(tmp)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range left {
		t.Errorf("left in the temp folder: %s", f.Name())
	}
}
