package server_test

import (
	"bytes"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/licensor/licensor/app/server"
	"github.com/licensor/licensor/app/server/servertest"
	"github.com/licensor/licensor/app/web/webtest"
)

// lockedBuffer is a log sink requests may write concurrently.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestSecretsMaskedInRequestLog replays issue 15.15: password reset and
// email confirmation tokens, download links, admin invitations and the
// store webhook secret travel in URL paths, and the request log wrote them
// out for anyone reading the logs. Every such segment is logged masked,
// on every method and whatever the answer (Fiber's 404 text repeats the
// path, and is masked too); other paths are logged as they are.
func TestSecretsMaskedInRequestLog(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	var log lockedBuffer
	app := e.NewAppWith(t, func(d *server.Deps) { d.Logger = slog.New(slog.NewTextHandler(&log, nil)) })
	c := webtest.New(t, app)
	const secret = "Zq7SecretTokenValue0123456789abcdef"
	paths := []string{
		"/customer/password/reset/" + secret,
		"/customer/email/verify/" + secret,
		"/admin/password/reset/" + secret,
		"/admin/invitation/" + secret,
		"/admin/account/email/confirm/" + secret,
		"/api/download/" + secret,
		"/api/external/webhooks/woocommerce/" + secret,
		"/api/external/webhooks/gumroad/" + secret + "/extra",
	}
	for _, p := range paths {
		for _, method := range []string{http.MethodGet, http.MethodPost, http.MethodPut} {
			r, err := http.NewRequest(method, p, nil)
			if err != nil {
				t.Fatal(err)
			}
			c.Do(r)
		}
	}
	c.Get("/customer/login")
	out := log.String()
	if strings.Contains(out, secret) || strings.Contains(out, secret[:12]) {
		t.Fatalf("a secret reached the request log:\n%s", out)
	}
	for _, want := range []string{"path=/customer/password/reset/[masked]", "path=/api/download/[masked]",
		"path=/api/external/webhooks/woocommerce/[masked]", "path=/api/external/webhooks/gumroad/[masked]/extra",
		"path=/admin/invitation/[masked]", "path=/customer/login"} {
		if !strings.Contains(out, want) {
			t.Fatalf("no %q in the request log:\n%s", want, out)
		}
	}
}
