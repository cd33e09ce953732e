package server_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v3"

	"github.com/licensor/licensor/app/audit"
	"github.com/licensor/licensor/app/config"
	"github.com/licensor/licensor/app/server/servertest"
	"github.com/licensor/licensor/app/web"
	"github.com/licensor/licensor/app/web/webtest"
	"github.com/licensor/licensor/plugins/host/hosttest"
)

// bombSize is what the compressed bodies below expand to.
const bombSize = 200 << 20

// gzipped compresses body, as a client sending Content-Encoding: gzip does.
func gzipped(t *testing.T, body []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	zw, err := gzip.NewWriterLevel(&out, gzip.BestCompression)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := zw.Write(body); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// gzipBomb is a gzip body that expands to head, size zero bytes and tail:
// one gzip member of a MiB of zeros repeated (a gzip body may hold several
// members, read one after the other), so it is built in an instant.
func gzipBomb(t *testing.T, head string, size int, tail string) []byte {
	t.Helper()
	mib := gzipped(t, make([]byte, 1<<20))
	out := gzipped(t, []byte(head))
	for range size >> 20 {
		out = append(out, mib...)
	}
	return append(out, gzipped(t, []byte(tail))...)
}

// TestEncodedRequestBodiesRefused: a request body with a Content-Encoding
// is refused with 415 on every route, before anything decodes it
// (docs/deploy.md#compressed-request-bodies). Before, a multipart form
// sent gzip-compressed was gunzipped in memory by fasthttp whole when any
// handler or middleware read a form value — the CSRF check of the
// portal's and the console's sign-in pages, before any sign-in — so about
// 200 KB (well under http.max_body_bytes) cost 200 MB; and Fiber's Body
// decodes every layer of "gzip, gzip" (10 KB → 200 MB) for a store
// webhook.
//
// Not parallel: the memory the process allocates while each request is
// answered is measured, and must be this test's alone.
func TestEncodedRequestBodiesRefused(t *testing.T) {
	plugins := t.TempDir()
	hosttest.Install(t, plugins, "orders-woocommerce")
	e := servertest.New(t, func(c *config.Config) { c.Plugins.Dir = plugins })
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
	base := "http://" + ln.Addr().String()

	// A sign-in form whose email field is 200 MB of zeros, and 200 MB of
	// zeros compressed twice.
	formBomb := gzipBomb(t, "--"+testBoundary+"\r\nContent-Disposition: form-data; name=\"email\"\r\n\r\n", bombSize, "\r\n--"+testBoundary+"--\r\n")
	jsonBomb := gzipped(t, gzipBomb(t, "", bombSize, ""))
	t.Logf("bombs: multipart %d bytes (gzip), body %d bytes (gzip, gzip), each expanding to %d MB", len(formBomb), len(jsonBomb), bombSize>>20)
	if len(formBomb) > e.Config.HTTP.MaxBodyBytes || len(jsonBomb) > 16<<10 {
		t.Fatalf("the bombs must fit within the body limit (%d bytes)", e.Config.HTTP.MaxBodyBytes)
	}

	// What anyone gets from the sign-in pages: a visitor's session and its
	// CSRF token, sent in the header as multipart forms do.
	portal := e.Client(t)
	portal.GetCSRF("/customer/login")
	console := e.Client(t)
	console.GetCSRF("/admin/login")
	// A store's webhook URL, as the store knows it.
	ctx := context.Background()
	svc := e.Nodes[0].Plugins
	if err := svc.SetEnabled(ctx, "orders-woocommerce", true, audit.Source{Actor: audit.System}); err != nil {
		t.Fatal(err)
	}
	secret, err := svc.WebhookSecret(ctx, "orders-woocommerce")
	if err != nil {
		t.Fatal(err)
	}

	multipart := "multipart/form-data; boundary=" + testBoundary
	client := &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	cases := []struct {
		name, path, contentType, encoding string
		body                              []byte
		api                               bool
		visitor                           *webtest.Client
	}{
		{"portal sign-in", "/customer/login", multipart, "gzip", formBomb, false, portal},
		{"console sign-in", "/admin/login", multipart, "gzip", formBomb, false, console},
		{"portal registration", "/customer/register", multipart, "x-gzip", formBomb, false, portal},
		{"store webhook", "/api/external/webhooks/woocommerce/" + secret, "application/json", "gzip, gzip", jsonBomb, true, nil},
		{"internal API", "/api/internal/customers", "application/json", "gzip, gzip", jsonBomb, true, nil},
		{"external API", "/api/activate_license", multipart, "gzip", formBomb, true, nil},
		{"brotli", "/customer/login", "application/x-www-form-urlencoded", "br", []byte("not really brotli"), false, portal},
	}
	for _, tc := range cases {
		do := func() (*http.Response, error) {
			req, err := http.NewRequest(http.MethodPost, base+tc.path, bytes.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", tc.contentType)
			req.Header.Set("Content-Encoding", tc.encoding)
			if tc.visitor != nil {
				req.Header.Set("Cookie", cookieHeader(tc.visitor))
				req.Header.Set("X-CSRF-Token", tc.visitor.CSRF)
			}
			return client.Do(req)
		}
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		// The server answers from the headers, then reads and throws away
		// the rest of the body before closing, so the client still sending
		// it reads the answer (docs/deploy.md#unread-request-bodies).
		res, err := do()
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		answer, _ := io.ReadAll(res.Body)
		_ = res.Body.Close()
		runtime.ReadMemStats(&after)
		allocated := after.TotalAlloc - before.TotalAlloc
		t.Logf("%s (%s): %d, %d MB allocated while answering", tc.name, tc.encoding, res.StatusCode, allocated>>20)
		if allocated > bombSize/4 {
			t.Errorf("%s: %d MB allocated for a %d-byte body: it was decoded", tc.name, allocated>>20, len(tc.body))
		}
		if res.StatusCode != http.StatusUnsupportedMediaType {
			t.Errorf("%s: status %d, want 415\n%.300s", tc.name, res.StatusCode, answer)
			continue
		}
		if tc.api {
			var env map[string]any
			if err := json.Unmarshal(answer, &env); err != nil || env["status"] != false || env["is_active"] != false || env["message"] != web.EncodedBodyMessage {
				t.Errorf("%s: answer %s, want the error envelope with %q", tc.name, answer, web.EncodedBodyMessage)
			}
			continue
		}
		if !strings.Contains(string(answer), "Compressed request bodies are not accepted") || !strings.Contains(res.Header.Get("Content-Type"), "text/html") {
			t.Errorf("%s: answer is not the error page saying why:\n%.500s", tc.name, answer)
		}
	}

	// A body sent as it is, or marked identity, is read as before.
	for _, enc := range []string{"", "identity"} {
		req, _ := http.NewRequest(http.MethodPost, base+"/api/activate_license", strings.NewReader(`{}`))
		req.Header.Set("Content-Type", "application/json")
		if enc != "" {
			req.Header.Set("Content-Encoding", enc)
		}
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = res.Body.Close()
		if res.StatusCode == http.StatusUnsupportedMediaType {
			t.Errorf("Content-Encoding %q: refused as compressed", enc)
		}
	}
}
